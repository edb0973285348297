"""Bring a dataset in: one project per sequence, with its labels imported, to review and clean with the QA tools.

A sequence is a TuSimple clip folder (``clips/0313-1/6040``), a CULane video
folder (``driver_23_30frame/05151649_0422.MP4``), an OpenLane segment
(``validation/segment-...``) or a BDD100K ``videoName``: the folder of the
entries' image paths, or BDD100K's video name.  Its frames are that folder
under the images root (BDD100K: ``ROOT/<videoName>`` when the names have no
folder), its project ``OUT/<the same folder>``.  A sequence that fails (no
images, a bad entry) is reported and left out, and the others go on: its
half-made project is removed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..core import RoadlabelError, Source, Taxonomy
from .formats.bdd100k import add_entries as add_bdd100k
from .formats.bdd100k import read_bdd100k
from .formats.culane import add_entries as add_culane
from .formats.culane import read_culane
from .formats.frame_match import Entry
from .formats.import_report import ImportReport
from .formats.lane_frames import import_lanes
from .formats.openlane import read_openlane
from .formats.tusimple import read_tusimple
from .projects import create_project

INGEST_FORMATS = {  # format: (read a label file or folder, given the images root; add entries to a project)
    "tusimple": (lambda labels, _: read_tusimple(labels), import_lanes),
    "culane": (read_culane, add_culane),
    "openlane": (lambda labels, _: read_openlane(labels), import_lanes),
    "bdd100k": (lambda labels, _: read_bdd100k(labels), add_bdd100k),
}


@dataclass
class Ingested:
    """What became of one sequence: its project and import report, or the error that stopped it."""

    sequence: str
    project: Path
    report: ImportReport | None = None
    error: RoadlabelError | None = None


def read_dataset(fmt: str, labels: str | Path, images: str | Path) -> dict[str, list[Entry]]:
    """The label file's (or folder's) entries by sequence, in sequence order."""
    read, _ = INGEST_FORMATS[fmt]
    entries = read(labels, Path(images))
    sequences: dict[str, list[Entry]] = {}
    for entry in entries:
        sequences.setdefault(sequence_of(entry), []).append(entry)
    return dict(sorted(sequences.items()))


def sequence_of(entry: Entry) -> str:
    """The sequence an entry is for: the folder of its image path, or BDD100K's videoName when it has none."""
    folders = entry.parts[:-1]
    if folders:
        return str(PurePosixPath(*folders))
    return entry.sequence or ""


def ingest_sequence(fmt: str, sequence: str, entries: list[Entry], images: Path, out: Path, *,
                    taxonomy: Taxonomy | None = None, annotator: str = "", strict: bool = False) -> Ingested:
    """One project for ``sequence`` under ``out``, its entries imported as ``imported``."""
    folder = out / (sequence or "frames")
    result = Ingested(sequence, folder)
    if folder.exists():
        result.error = RoadlabelError(folder, "exists already: ingest makes new projects only")
        return result
    try:
        with create_project(folder, images / sequence, taxonomy=taxonomy, annotator=annotator) as project:
            report = ImportReport(fmt, str(entries[0].file), strict=strict)
            _, add = INGEST_FORMATS[fmt]
            result.report = add(project, entries, report, Source.IMPORTED)
    except RoadlabelError as error:
        shutil.rmtree(folder, ignore_errors=True)  # made here, a moment ago: nothing of the user's is in it
        result.error = error
    return result
