"""What an export could not carry, counted: written next to every export, so nothing is dropped silently.

``out.json`` gets ``out.mapping.json``:

    {"format": "tusimple", "frames": 90,
     "written": {"lane-line": 450},
     "dropped": {"traffic-light": {"TuSimple holds lane lines only": 90}},
     "attributes_not_carried": {"lane-line": {"style": 450, "color": 450}}}
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_folder, atomic_write


@dataclass
class MappingReport:
    format: str
    frames: int = 0
    written: Counter = field(default_factory=Counter)  # class -> objects written
    dropped: defaultdict = field(default_factory=lambda: defaultdict(Counter))  # class -> reason -> objects
    attributes_not_carried: defaultdict = field(default_factory=lambda: defaultdict(Counter))  # class -> name -> n
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

    def as_dict(self) -> dict:
        return {"format": self.format, "frames": self.frames, "written": dict(self.written),
                "dropped": {name: dict(reasons) for name, reasons in self.dropped.items()},
                "attributes_not_carried": {name: dict(counts) for name, counts in self.attributes_not_carried.items()}}

    def summary(self) -> str:
        """One line: what was written, and how many objects and attribute values were not."""
        dropped = sum(sum(reasons.values()) for reasons in self.dropped.values())
        lost = sum(sum(counts.values()) for counts in self.attributes_not_carried.values())
        return (f"{self.format}: {sum(self.written.values())} objects on {self.frames} frames written; "
                f"{dropped} objects and {lost} attribute values the format cannot carry (see the mapping report)")

    def write_beside(self, exported: Path, *, overwrite: bool) -> Path:
        path = report_path(exported)
        with atomic_write(path, overwrite=overwrite) as handle:
            json.dump(self.as_dict(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        return path


def report_path(exported: str | Path) -> Path:
    """``out.json`` -> ``out.mapping.json``; a folder ``out`` -> ``out.mapping.json``."""
    exported = Path(exported)
    return exported.with_name(f"{exported.stem if exported.suffix else exported.name}.mapping.json")


def export_into_folder(fmt: str, folder: str | Path, write: Callable[[Path, MappingReport], MappingReport], *,
                       overwrite: bool, progress: Callable[[int], None] | None) -> MappingReport:
    """A folder export: ``write(staging, report)`` fills a folder built beside ``folder``, which is renamed into
    place when it is whole; then the mapping report is written beside it."""
    with atomic_folder(folder, overwrite=overwrite) as staging:
        report = write(staging, MappingReport(fmt, progress=progress))
    report.write_beside(Path(folder), overwrite=True)
    return report
