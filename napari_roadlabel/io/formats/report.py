"""What an export could not carry, counted: written next to every export, so nothing is dropped silently.

An export and its report are checked before anything is written and appear together (``staged_export``).

``out.json`` gets ``out.mapping.json``:

    {"format": "tusimple", "frames": 90,
     "written": {"lane-line": 450},
     "dropped": {"traffic-light": {"TuSimple holds lane lines only": 90}},
     "attributes_not_carried": {"lane-line": {"style": 450, "color": 450}},
     "relations_dropped": {"governs": 2}, "notes": []}

``relations_dropped`` counts, by type, the relations on the exported frames the
format has no place for; ``notes`` says what the format cannot hold at all.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ...core.annotations import Relation
from ..atomic import AtomicOutputs, check_target, open_staged


@dataclass
class MappingReport:
    format: str
    frames: int = 0
    written: Counter = field(default_factory=Counter)  # class -> objects written
    dropped: defaultdict = field(default_factory=lambda: defaultdict(Counter))  # class -> reason -> objects
    attributes_not_carried: defaultdict = field(default_factory=lambda: defaultdict(Counter))  # class -> name -> n
    relations_dropped: Counter = field(default_factory=Counter)  # relation type -> relations not carried
    notes: list[str] = field(default_factory=list)  # what the format cannot hold at all
    progress: Callable[[int], None] | None = field(default=None, repr=False)  # told of each frame done

    def frame_done(self, count: int = 1) -> None:
        self.frames += count
        if self.progress is not None:
            self.progress(count)

    def wrote(self, class_name: str, attributes: dict[str, Any], carried: frozenset[str] = frozenset()) -> None:
        """One object written; its attributes with a value that the format has no place for are counted."""
        self.written[class_name] += 1
        for name, value in attributes.items():
            if name not in carried and value not in (None, "", False):
                self.attributes_not_carried[class_name][name] += 1

    def drop(self, class_name: str, reason: str) -> None:
        self.dropped[class_name][reason] += 1

    def drop_relations(self, relations: Iterable[Relation], frames: range) -> None:
        """Count the relations that hold on some of the exported ``frames``, which the format cannot carry."""
        for relation in relations:
            if _meets(frames, relation.start, relation.end):
                self.relations_dropped[relation.type] += 1

    def as_dict(self) -> dict:
        return {"format": self.format, "frames": self.frames, "written": dict(self.written),
                "dropped": {name: dict(reasons) for name, reasons in self.dropped.items()},
                "attributes_not_carried": {name: dict(counts) for name, counts in self.attributes_not_carried.items()},
                "relations_dropped": dict(self.relations_dropped), "notes": list(self.notes)}

    def summary(self) -> str:
        """One line: what was written, and how many objects and attribute values were not."""
        dropped = sum(sum(reasons.values()) for reasons in self.dropped.values())
        lost = sum(sum(counts.values()) for counts in self.attributes_not_carried.values())
        relations = sum(self.relations_dropped.values())
        also = f", {relations} relations" if relations else ""
        return (f"{self.format}: {sum(self.written.values())} objects on {self.frames} frames written; "
                f"{dropped} objects{also} and {lost} attribute values the format cannot carry (see the mapping "
                "report)")

    def write(self, path: Path) -> None:
        with open_staged(path) as handle:
            json.dump(self.as_dict(), handle, indent=2, sort_keys=True)
            handle.write("\n")


def _meets(frames: range, start: int, end: int) -> bool:
    """Whether any of ``frames`` (a range with a positive step) is in ``start``..``end``."""
    first = max(start, frames.start)
    first = frames.start + -(-(first - frames.start) // frames.step) * frames.step  # the next exported frame
    return first <= end and first < frames.stop


def report_path(exported: str | Path) -> Path:
    """``out.json`` -> ``out.mapping.json``; a folder ``out`` -> ``out.mapping.json``."""
    exported = Path(exported)
    return exported.with_name(f"{exported.stem if exported.suffix else exported.name}.mapping.json")


def check_export(out: str | Path, *, folder: bool, overwrite: bool) -> None:
    """Refuse at once, before any work, an export that could not be written over ``out`` or its report."""
    check_target(out, folder=folder, overwrite=overwrite)
    check_target(report_path(out), folder=False, overwrite=overwrite)


@contextlib.contextmanager
def staged_export(out: str | Path, report: MappingReport, *, folder: bool, overwrite: bool) -> Iterator[Path]:
    """Where to write an export (a file, or a folder to fill) while ``report`` is filled in; when the block
    succeeds, the export and its mapping report beside it are published together.  Both are checked first:
    neither may exist unless ``overwrite`` (see ``AtomicOutputs``)."""
    with AtomicOutputs(overwrite=overwrite) as outputs:
        staging = outputs.folder(out) if folder else outputs.file(out)
        mapping = outputs.file(report_path(out))
        yield staging
        report.write(mapping)


@contextlib.contextmanager
def export_file(path: str | Path, report: MappingReport, *, overwrite: bool, binary: bool = False) -> Iterator[IO]:
    """A one-file export open for writing, published with its mapping report (see ``staged_export``)."""
    with staged_export(path, report, folder=False, overwrite=overwrite) as staging, \
            open_staged(staging, binary=binary) as handle:
        yield handle


def export_into_folder(fmt: str, folder: str | Path, write: Callable[[Path, MappingReport], MappingReport], *,
                       overwrite: bool, progress: Callable[[int], None] | None) -> MappingReport:
    """A folder export: ``write(staging, report)`` fills a folder built beside ``folder``, which is published with
    the mapping report (see ``staged_export``)."""
    report = MappingReport(fmt, progress=progress)
    with staged_export(folder, report, folder=True, overwrite=overwrite) as staging:
        write(staging, report)
    return report
