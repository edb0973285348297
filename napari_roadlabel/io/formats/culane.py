"""CULane: a ``.lines.txt`` beside each frame's image name, one lane a line (``x y x y ...``), and a list file.

Export writes, into a new folder ``OUT``:

    OUT/list.txt                       /clip/000017.jpg (one frame a line)
    OUT/clip/000017.lines.txt          532.41 359 529.87 349 ... (one lane a line)

Each lane line's fitted curve is sampled every ``CULANE_ROW_STEP`` rows from the bottom
row up, x with 3 decimals as CULane writes them; lanes left to right.  The
folder is built beside ``OUT`` and renamed into place, so a failed export
leaves nothing.  CULane holds lane lines only: the rest goes in the mapping
report.

Import takes the list file (or the folder holding it); the listed frames of
this project (``frame_match``: a list covers many videos) get the lanes of
their ``.lines.txt`` (beside the list's image path, or beside the project's
frame; a frame without one has no lanes), fitted to the image
(``import_report``: real CULane lanes start at x < 0).  Everything is checked
before anything is added; each lane becomes a lane-line track.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np

from ...core import FormatError, Project, Source
from ...core.lanes import CULANE_ROW_STEP, MISSING, CurveSet, culane_rows
from .frame_match import Entry, frame_files
from .import_report import ImportReport
from .lane_frames import ImportedLane, frames_to_export, import_lanes, lanes_by_frame, text_lines
from .report import MappingReport, export_into_folder

LIST_NAME = "list.txt"
LINES_SUFFIX = ".lines.txt"
NOT_A_LANE = "CULane holds lane lines only"


def export_culane(project: Project, folder: str | Path, *, frames: range | None = None, every: int = 1,
                  overwrite: bool = False, progress: Callable[[int], None] | None = None) -> MappingReport:
    """Write the folder described above and the mapping report beside it."""
    return export_into_folder("culane", folder, partial(_write_folder, project, frames=frames, every=every),
                              overwrite=overwrite, progress=progress)


def _write_folder(project: Project, staging: Path, report: MappingReport, *, frames: range | None,
                  every: int) -> MappingReport:
    names = frame_files(project)
    rows = culane_rows(project.sequence.height)
    listed = []
    report.drop_relations(project.relations(), frames_to_export(project, frames, every))
    for frame, found in lanes_by_frame(project, frames_to_export(project, frames, every), report, NOT_A_LANE,
                                       partial(_lines_of, rows=rows)):
        lines = []
        for lane in found:
            if lane.samples is None:
                report.drop(lane.obj.track.class_name, f"fewer than 2 points on rows {CULANE_ROW_STEP} px apart")
                continue
            lines.append(lane.samples)
            report.wrote(lane.obj.track.class_name, lane.obj.attributes)
        lines_file = staging / _lines_name(names[frame])
        lines_file.parent.mkdir(parents=True, exist_ok=True)
        lines_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        listed.append("/" + names[frame])
        report.frame_done()
    (staging / LIST_NAME).write_text("".join(name + "\n" for name in listed), encoding="utf-8")
    return report


def _lines_of(curves: CurveSet, rows: np.ndarray) -> list[str | None]:
    """Each curve as its line, ``x y x y ...`` at the rows it reaches (x to 3 decimals); None below 2 points."""
    xs = curves.sample_rows(rows)
    reached = xs != MISSING
    values, counts = xs[reached].tolist(), reached.sum(axis=1).tolist()
    # Lanes reach the same rows again and again: the row numbers go into a format made once for each set
    # of rows, and only the x values are formatted lane by lane.
    formats: dict[bytes, str] = {}
    lines: list[str | None] = []
    start = 0
    for mask, count in zip(reached, counts, strict=True):
        key = mask.tobytes()
        if key not in formats:
            formats[key] = " ".join(f"%.3f {int(row)}" for row in rows[mask])
        lines.append(formats[key] % tuple(values[start:start + count]) if count >= 2 else None)
        start += count
    return lines


def _lines_name(image: str) -> str:
    path = PurePosixPath(image)
    return str(path.with_name(path.stem + LINES_SUFFIX))


def import_culane(project: Project, path: str | Path, *, source: Source = Source.IMPORTED,
                  strict: bool = False) -> ImportReport:
    """Add the lanes of every listed frame of this project as lane-line tracks; all or nothing."""
    return add_entries(project, read_culane(path), ImportReport("culane", str(path), strict=strict), source)


def add_entries(project: Project, entries: list[Entry], report: ImportReport, source: Source) -> ImportReport:
    """Add the lanes of the entries for ``project`` (see ``lane_frames.import_lanes``)."""
    return import_lanes(project, entries, report, source, partial(_lanes, frames_folder=project.source_path()))


def read_culane(path: str | Path, images: Path | None = None) -> list[Entry]:
    """The list file's entries (``path``, or ``path/list.txt``); each entry's labels are the ``.lines.txt``
    files it may be in: beside the list's copy of the image path, or beside the image under ``images``."""
    path = Path(path)
    listing = path / LIST_NAME if path.is_dir() else path
    entries = []
    for number, line in text_lines(listing, "the list file"):
        image = line.split()[0]  # CULane's train lists add the mask and lane flags
        relative = _lines_name(image.lstrip("/"))
        candidates = [listing.parent / relative] + ([images / relative] if images is not None else [])
        entries.append(Entry(image, listing, f"line {number}", candidates))
    return entries


def _lanes(entry: Entry, frames_folder: Path) -> list[ImportedLane]:
    """The lanes of the entry's ``.lines.txt``, wherever it is (also beside the project's own frame); none when
    there is no such file (CULane writes none for a frame without lanes)."""
    candidates = [*entry.labels, frames_folder / PurePosixPath(entry.labels[0]).name]
    lines_file = next((candidate for candidate in candidates if candidate.is_file()), None)
    return [] if lines_file is None else _read_lanes(lines_file)


def _read_lanes(lines_file: Path) -> list[ImportedLane]:
    lanes = []
    for number, line in text_lines(lines_file, "the lanes file"):
        place = f"line {number}"
        try:
            values = np.array([float(value) for value in line.split()])
        except ValueError as error:
            raise FormatError(lines_file, f"expected numbers 'x y x y ...' ({error})", place=place) from error
        if len(values) % 2 or not np.isfinite(values).all():
            raise FormatError(lines_file, "a lane is finite numbers in pairs 'x y x y ...'", place=place)
        lanes.append(ImportedLane(place, values.reshape(-1, 2), file=lines_file))
    return lanes
