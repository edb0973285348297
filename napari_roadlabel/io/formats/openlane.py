"""OpenLane 2D lanes: one JSON file per frame, as OpenLane's ``lane3d`` annotations without the 3D part.

    OUT/clip/000017.json
    {"file_path": "clip/000017.jpg",
     "lane_lines": [{"category": 2, "attribute": 2, "track_id": 4, "uv": [[u...], [v...]],
                     "visibility": [1.0, ...]}, ...]}

``uv`` is the lane's fitted curve, a point every ``UV_STEP`` px of arc;
``track_id`` is ours, stable across frames; ``attribute`` is the lane's place
from the car (1 left-left, 2 left, 3 right, 4 right-right, 0 further out);
``category`` comes from the lane's style and colour (curbs: left or right
curbside by side).  What has no category (botts' dots, road edges, other
colours: 0 "unknown") and every other class goes in the mapping report.  There
are no intrinsics, extrinsics or 3D points: the project has none.

Import reads every ``*.json`` under a folder (or one file) and checks them
all; the frames of this project (``frame_match``: a folder holds many
segments) add one lane-line track per OpenLane ``track_id`` (a track of its
own without one) with its style, colour and kind from the category, fitted to
the image (``import_report``: real ``uv`` runs onto and past the border), in
one undo step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np

from ...core import FormatError, Project, Source
from ...core.lanes import CurveSet
from .frame_match import Entry, frame_files
from .import_report import ImportReport
from .json_files import is_whole, load_json
from .lane_frames import ImportedLane, frames_to_export, import_lanes, lanes_by_frame
from .report import MappingReport, export_into_folder

UV_STEP = 10.0
NOT_A_LANE = "OpenLane 2D holds lane lines only"
CATEGORIES = {  # OpenLane category code: (style, color); 20 and 21 are curbs
    1: ("dashed", "white"), 2: ("solid", "white"), 3: ("double-dashed", "white"), 4: ("double-solid", "white"),
    5: ("dashed-solid", "white"), 6: ("solid-dashed", "white"), 7: ("dashed", "yellow"), 8: ("solid", "yellow"),
    9: ("double-dashed", "yellow"), 10: ("double-solid", "yellow"), 11: ("dashed-solid", "yellow"),
    12: ("solid-dashed", "yellow"),
}
CODES = {look: code for code, look in CATEGORIES.items()}
LEFT_CURB, RIGHT_CURB, UNKNOWN = 20, 21, 0
PLACES = {-2: 1, -1: 2, 1: 3, 2: 4}  # our lane order -> OpenLane's attribute
CARRIED = frozenset({"style", "color", "kind"})  # lane attributes the category says


def export_openlane(project: Project, folder: str | Path, *, frames: range | None = None, every: int = 1,
                    overwrite: bool = False, progress: Callable[[int], None] | None = None) -> MappingReport:
    """Write one JSON file per frame into a new folder (built beside it, renamed into place), and the report."""
    return export_into_folder("openlane", folder, partial(_write_frames, project, frames=frames, every=every),
                              overwrite=overwrite, progress=progress)


def _write_frames(project: Project, staging: Path, report: MappingReport, *, frames: range | None,
                  every: int) -> MappingReport:
    names = frame_files(project)
    report.drop_relations(project.relations(), frames_to_export(project, frames, every))
    for frame, lanes in lanes_by_frame(project, frames_to_export(project, frames, every), report, NOT_A_LANE, _uv_of):
        lane_lines = []
        for lane in lanes:
            obj, attributes = lane.obj, lane.obj.attributes
            category = _category(attributes, lane.place)
            if category == UNKNOWN:
                report.drop(obj.track.class_name, "no OpenLane category for its style and colour: exported as 0")
            lane_lines.append({"category": category, "attribute": PLACES.get(lane.place, 0), "track_id": obj.track.id,
                               "uv": lane.samples.T.tolist(), "visibility": [1.0] * len(lane.samples)})
            report.wrote(obj.track.class_name, attributes, CARRIED)
        target = staging / PurePosixPath(names[frame]).with_suffix(".json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"file_path": names[frame], "lane_lines": lane_lines}), encoding="utf-8")
        report.frame_done()
    return report


def _uv_of(curves: CurveSet) -> list[np.ndarray]:
    """Each curve's (N, 2) u, v: a point every ``UV_STEP`` px of arc, to 3 decimals (rounded for all at once)."""
    polylines = curves.polylines(UV_STEP)
    if not polylines:
        return []
    rounded = np.concatenate(polylines).round(3)
    ends = np.cumsum([len(polyline) for polyline in polylines]).tolist()
    return [rounded[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def _category(attributes: dict, place: int) -> int:
    if attributes.get("kind") == "curb":
        return LEFT_CURB if place < 0 else RIGHT_CURB
    if attributes.get("kind") == "road-edge":
        return UNKNOWN
    return CODES.get((attributes.get("style"), attributes.get("color")), UNKNOWN)


def _attributes_of(category: int) -> tuple[dict, dict]:
    """(track attributes, frame attributes) an OpenLane category says."""
    if category in (LEFT_CURB, RIGHT_CURB):
        return {"kind": "curb"}, {}
    if category in CATEGORIES:
        style, color = CATEGORIES[category]
        return {"kind": "lane-marking", "color": color}, {"style": style}
    return {}, {}


def import_openlane(project: Project, path: str | Path, *, source: Source = Source.IMPORTED,
                    strict: bool = False) -> ImportReport:
    """Add the lanes of every frame file for this project as lane-line tracks (one per OpenLane track_id)."""
    return import_lanes(project, read_openlane(path), ImportReport("openlane", str(path), strict=strict), source)


def read_openlane(path: str | Path) -> list[Entry]:
    """Every frame file under a folder (or one file) as an entry, checked for its form."""
    path = Path(path)
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    return [_entry(file) for file in files if not file.name.endswith(".mapping.json")]


def _entry(file: Path) -> Entry:
    record = load_json(file)
    if not isinstance(record, dict) or not isinstance(record.get("file_path"), str) or \
            not isinstance(record.get("lane_lines"), list):
        raise FormatError(file, "an OpenLane frame needs a file_path and a lane_lines list")
    return Entry(record["file_path"], file, "", [_lane(lane, index, file) for index, lane in
                                                   enumerate(record["lane_lines"])])


def _lane(lane, index: int, file: Path) -> ImportedLane:
    place = f"lane_lines[{index}]"
    if not isinstance(lane, dict) or "uv" not in lane:
        raise FormatError(file, "a lane needs uv", place=place)
    uv = lane["uv"]
    if not isinstance(uv, list) or len(uv) != 2 or not all(isinstance(row, list) for row in uv) or \
            len(uv[0]) != len(uv[1]):
        raise FormatError(file, "uv must be [[u...], [v...]], two lists of one length", place=place)
    category = lane.get("category", UNKNOWN)
    if not is_whole(category) or (category not in CATEGORIES and category not in (UNKNOWN, LEFT_CURB, RIGHT_CURB)):
        raise FormatError(file, f"unknown category {category!r}", place=place)
    track = lane.get("track_id")
    if track is not None and not is_whole(track):
        raise FormatError(file, f"track_id must be a whole number, got {track!r}", place=place)
    track_attributes, frame_attributes = _attributes_of(category)
    return ImportedLane(place, list(zip(*uv, strict=True)), track, track_attributes, frame_attributes, file=file)
