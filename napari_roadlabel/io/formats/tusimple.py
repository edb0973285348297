"""TuSimple lane JSON lines: one JSON object per frame, each lane as its x at fixed image rows.

    {"raw_file": "clip/000017.jpg", "lanes": [[-2, -2, 632, 625, ...], ...], "h_samples": [160, 170, ..., 710]}

Export samples every lane line's fitted curve at the rows (``h_samples``;
default: TuSimple's 160..710 step 10, scaled to the image height), rounds x to
whole pixels as TuSimple does, writes -2 where a lane does not reach a row, and
orders the lanes left to right.  ``raw_file`` names the frame (see
``lane_frames.frame_files``).  TuSimple holds nothing but lane lines: every
other object and every lane attribute is counted in the mapping report.

Import reads every line first and checks it (JSON, keys, lengths, numbers,
frames, image bounds); then each lane of each frame becomes a lane-line track
(TuSimple has no identity across frames) through its points, in one undo step.
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
from .lane_frames import (
    add_lanes,
    find_frame,
    frame_files,
    frame_lookup,
    frames_to_export,
    lanes_by_frame,
    text_lines,
)
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


def import_tusimple(project: Project, path: str | Path, *, source: Source = Source.IMPORTED) -> int:
    """Add every lane of the file as a lane-line track; returns the number of lanes.  All or nothing."""
    path = Path(path)
    lookup = frame_lookup(project)
    lanes = []
    for number, line in enumerate(text_lines(path, "the file"), start=1):
        lanes += _lanes_of(line, number, path, lookup, project)
    return add_lanes(project, lanes, f"import TuSimple {path.name}", source)


def _lanes_of(line: str, number: int, path: Path, lookup: dict[str, int],
              project: Project) -> list[tuple[int, np.ndarray]]:
    place = f"line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise FormatError(path, f"not JSON ({error.msg} at column {error.colno})", place=place) from error
    if not isinstance(record, dict) or not {"raw_file", "lanes", "h_samples"} <= record.keys():
        raise FormatError(path, "a TuSimple line needs raw_file, lanes and h_samples", place=place)
    frame = find_frame(lookup, str(record["raw_file"]))
    if frame is None:
        raise FormatError(path, f"raw_file {record['raw_file']!r} is not a frame of this project", place=place)
    rows = _numbers(record["h_samples"], path, f"{place}, h_samples")
    lanes = []
    for index, xs in enumerate(record["lanes"] if isinstance(record["lanes"], list) else [None]):
        where = f"{place}, lane {index}"
        xs = _numbers(xs, path, where)
        if len(xs) != len(rows):
            raise FormatError(path, f"{len(xs)} x values for {len(rows)} h_samples", place=where)
        points = np.column_stack([xs, rows])[xs >= 0]
        if len(points) < 2:
            raise FormatError(path, "a lane needs at least 2 points (x >= 0)", place=where)
        width, height = project.sequence.width, project.sequence.height
        if (points > [width, height]).any():
            raise FormatError(path, f"points outside the {width}x{height} image", place=where)
        lanes.append((frame, points))
    return lanes


def _numbers(values, path: Path, place: str) -> np.ndarray:
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                               for v in values):
        raise FormatError(path, "expected a list of numbers", place=place)
    array = np.asarray(values, dtype=float)
    if not np.isfinite(array).all():
        raise FormatError(path, "numbers must be finite", place=place)
    return array
