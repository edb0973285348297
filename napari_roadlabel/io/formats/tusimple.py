"""TuSimple lane JSON lines: one JSON object per frame, each lane as its x at fixed image rows.

    {"raw_file": "clip/000017.jpg", "lanes": [[-2, -2, 632, 625, ...], ...], "h_samples": [160, 170, ..., 710]}

Export samples every lane line's fitted curve at the rows (``h_samples``;
default: TuSimple's 160..710 step 10, scaled to the image height), rounds x to
whole pixels as TuSimple does, writes -2 where a lane does not reach a row, and
orders the lanes left to right.  ``raw_file`` names the frame (see
``lane_frames.frame_files``).  TuSimple holds nothing but lane lines: every
other object and every lane attribute is counted in the mapping report.

Import reads every line first and checks its form (JSON, keys, lengths,
numbers); the lines for this project's frames (``frame_match``: one TuSimple
file covers thousands of clips) become one lane-line track per lane (TuSimple
has no identity across frames) through its points, fitted to the image
(``import_report``: a lane that is all -2 is skipped and counted), in one undo
step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from ...core import FormatError, GeometryError, Project, Source
from ...core.lanes import MISSING, CurveSet
from ...core.lanes import tusimple_rows as default_rows
from .frame_match import Entry, frame_files
from .import_report import ImportReport
from .json_files import finite_numbers, parse_json
from .lane_frames import ImportedLane, frames_to_export, import_lanes, lanes_by_frame, text_lines
from .report import MappingReport, export_file

NOT_A_LANE = "TuSimple holds lane lines only"


def export_tusimple(project: Project, path: str | Path, *, frames: range | None = None, every: int = 1,
                    rows: list[int] | None = None, overwrite: bool = False,
                    progress: Callable[[int], None] | None = None) -> MappingReport:
    """Write one line per frame (every ``every``-th of ``frames``) and the mapping report beside the file."""
    path = Path(path)
    rows = rows or default_rows(project.sequence.height)
    if any(not 0 <= row < project.sequence.height for row in rows):
        raise GeometryError(None, f"h_samples rows must lie in the image (0..{project.sequence.height - 1})")
    names = frame_files(project)
    report = MappingReport("tusimple", progress=progress)
    report.drop_relations(project.relations(), frames_to_export(project, frames, every))
    with export_file(path, report, overwrite=overwrite) as handle:
        for frame, found in lanes_by_frame(project, frames_to_export(project, frames, every), report, NOT_A_LANE,
                                           partial(_xs_at, rows=rows)):
            lanes = []
            for lane in found:
                if lane.samples is None:
                    report.drop(lane.obj.track.class_name, "no point on the h_samples rows")
                    continue
                lanes.append(lane.samples.tolist())
                report.wrote(lane.obj.track.class_name, lane.obj.attributes)
            handle.write(json.dumps({"raw_file": names[frame], "lanes": lanes, "h_samples": list(rows)}) + "\n")
            report.frame_done()
    return report


def _xs_at(curves: CurveSet, rows: list[int]) -> list[np.ndarray | None]:
    """Each curve's x at the rows, rounded to whole pixels, -2 where it misses a row; None where it misses them all."""
    table = curves.sample_rows(rows)
    missing = table == MISSING
    xs = np.where(missing, -2, np.round(table)).astype(int)
    return [None if none else lane for lane, none in zip(xs, missing.all(axis=1).tolist(), strict=True)]


def import_tusimple(project: Project, path: str | Path, *, source: Source = Source.IMPORTED,
                    strict: bool = False) -> ImportReport:
    """Add every lane of the file's entries for this project as a lane-line track; all or nothing."""
    return import_lanes(project, read_tusimple(path), ImportReport("tusimple", str(path), strict=strict), source)


def read_tusimple(path: str | Path) -> list[Entry]:
    """Every line of a TuSimple file (or of every ``*.json`` in a folder) as an entry, checked for its form."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    return [_entry(line, number, file) for file in files for number, line in text_lines(file, "the file")]


def _entry(line: str, number: int, path: Path) -> Entry:
    place = f"line {number}"
    record = parse_json(line, path, place)
    if not isinstance(record, dict) or not {"raw_file", "lanes", "h_samples"} <= record.keys():
        raise FormatError(path, "a TuSimple line needs raw_file, lanes and h_samples", place=place)
    if not isinstance(record["raw_file"], str) or not isinstance(record["lanes"], list):
        raise FormatError(path, "raw_file must be a path and lanes a list", place=place)
    rows = finite_numbers(record["h_samples"], path, place, "h_samples")
    lanes = []
    for index, xs in enumerate(record["lanes"]):
        where = f"{place}, lane {index}"
        xs = finite_numbers(xs, path, where, "a lane")
        if len(xs) != len(rows):
            raise FormatError(path, f"{len(xs)} x values for {len(rows)} h_samples", place=where)
        lanes.append(ImportedLane(where, np.column_stack([xs, rows])[xs >= 0]))  # x < 0 (-2): no point there
    return Entry(record["raw_file"], path, place, lanes)
