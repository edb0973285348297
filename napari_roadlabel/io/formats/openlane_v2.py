"""OpenLane-V2 style topology, in the image: one JSON file per frame, lanes, traffic elements and their relations.

    OUT/clip/000017.json
    {"file_path": "clip/000017.jpg",
     "lane_centerline": [{"id": 0, "lane_lines": [1, 2], "points": [[x, y], ...]}, ...],
     "traffic_element": [{"id": 4, "category": "traffic-light", "attribute": "red",
                          "points": [[x0, y0], [x1, y1]]}, ...],
     "topology_lclc": [[0, 1], [0, 0]],
     "topology_lcte": [[1], [0]]}

A lane is the space between two adjacent lane lines (core/relations.py); its
centreline is derived from the two fitted curves, a 2D polyline in pixels from
the bottom of the image upwards, and ``lane_lines`` names the lines (track ids)
so a lane is the same lane from frame to frame; its ``id`` is its place in the
list, left to right.  Traffic elements are the boxes of traffic lights and
signs, with the track id, the class and its attribute (a light's ``state``, a
sign's ``type``).  ``topology_lclc[i][j]`` is 1 when lane j follows lane i (i
leads into j, as in OpenLane-V2); ``topology_lcte[i][k]`` is 1 when traffic
element k is related to lane i on the frame (``governs``, ``applies-to``: any
relation from a light or sign to a lane).  A relation whose end is absent on a
frame is not written on it (the QA check ``relation-absent-end`` lists it).

The mapping report counts what is not carried: lane lines themselves (only the
centrelines between them are), every class but lane lines, lights and signs, a
sign drawn as a point, the lights' and signs' other attributes, and the
relations of other kinds (a school zone's).  There is no 3D: no camera, no
depth, no ego pose; the report's notes say so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np

from ...core import FrameObject, GeometryKind, Project
from ...core.annotations import Relation
from ...core.frame_objects import objects_by_frame
from ...core.lanes import is_lane_class
from ...core.relations import FOLLOWS, lanes_of
from .frame_match import frame_files
from .lane_frames import frames_to_export
from .report import MappingReport, export_into_folder

ELEMENT_ATTRIBUTES = {"traffic-light": "state", "traffic-sign": "type"}  # a traffic element's class: its attribute
NO_3D = ("OpenLane-V2 lanes and traffic elements are 3D in the camera's frame; this export is 2D in image pixels: "
         "no 3D points, intrinsics, extrinsics or ego pose")
NOT_CARRIED = "OpenLane-V2 holds lanes, traffic lights and signs only"
LINES_AS_LANES = "written as the centrelines of the lanes between neighbouring lines, not as lines"
NOT_A_BOX = "a traffic element is a box, not a point"
NO_CENTRELINE = "two neighbouring lines that share no image rows have no centreline"
DECIMALS = 3


def export_openlane_v2(project: Project, folder: str | Path, *, frames: range | None = None, every: int = 1,
                       overwrite: bool = False, progress: Callable[[int], None] | None = None) -> MappingReport:
    """Write one JSON file per frame into a new folder (built beside it, renamed into place), and the report."""
    return export_into_folder("openlane-v2", folder, partial(_write_frames, project, frames=frames, every=every),
                              overwrite=overwrite, progress=progress)


def _write_frames(project: Project, staging: Path, report: MappingReport, *, frames: range | None,
                  every: int) -> MappingReport:
    chosen = frames_to_export(project, frames, every)
    names = frame_files(project)
    report.notes.append(NO_3D)
    relations = project.relations()
    carried = [relation for relation in relations if _carried(project, relation)]
    report.drop_relations([relation for relation in relations if relation not in carried], chosen)
    for by_frame in objects_by_frame(project, chosen):
        for frame, objects in by_frame.items():
            record = frame_record(objects, [relation for relation in carried if relation.covers(frame)],
                                  project.sequence.height, report)
            target = staging / PurePosixPath(names[frame]).with_suffix(".json")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps({"file_path": names[frame], **record}), encoding="utf-8")
            report.frame_done()
    return report


def _carried(project: Project, relation: Relation) -> bool:
    """A ``follows`` between two lanes, or any relation from a light or sign to a lane."""
    if not relation.target.is_lane:
        return False
    if relation.type == FOLLOWS:
        return relation.source.is_lane
    return not relation.source.is_lane and project.track(relation.source.track).class_name in ELEMENT_ATTRIBUTES


def frame_record(objects: list[FrameObject], relations: list[Relation], height: int, report: MappingReport) -> dict:
    """One frame's lanes, traffic elements and topology matrices; what they cannot hold counted in ``report``."""
    lanes = []
    for lane in lanes_of(objects, height):
        if lane.centreline is None:
            report.drop("lane", NO_CENTRELINE)
        else:
            lanes.append(lane)
            report.wrote("lane", {})
    elements = []
    for obj in objects:
        name = obj.track.class_name
        if is_lane_class(name):
            report.drop(name, LINES_AS_LANES)
        elif name not in ELEMENT_ATTRIBUTES:
            report.drop(name, NOT_CARRIED)
        elif obj.state.geometry.kind is not GeometryKind.BOX:
            report.drop(name, NOT_A_BOX)
        else:
            elements.append(obj)
            report.wrote(name, obj.attributes, frozenset({ELEMENT_ATTRIBUTES[name]}))
    lane_index = {lane.end: index for index, lane in enumerate(lanes)}
    element_index = {obj.track.id: index for index, obj in enumerate(elements)}
    lclc = np.zeros((len(lanes), len(lanes)), dtype=int)
    lcte = np.zeros((len(lanes), len(elements)), dtype=int)
    for relation in relations:
        if relation.target not in lane_index:
            continue
        if relation.type == FOLLOWS and relation.source in lane_index:  # the source follows: the target leads
            lclc[lane_index[relation.target], lane_index[relation.source]] = 1
        elif relation.type != FOLLOWS and relation.source.track in element_index:
            lcte[lane_index[relation.target], element_index[relation.source.track]] = 1
    return {"lane_centerline": [{"id": index, "lane_lines": [lane.left, lane.right],
                                 "points": lane.centreline.round(DECIMALS).tolist()}
                                for index, lane in enumerate(lanes)],
            "traffic_element": [_element(obj) for obj in elements],
            "topology_lclc": lclc.tolist(), "topology_lcte": lcte.tolist()}


def _element(obj: FrameObject) -> dict:
    x0, y0, x1, y1 = obj.state.geometry.bounds()
    return {"id": obj.track.id, "category": obj.track.class_name,
            "attribute": obj.attributes.get(ELEMENT_ATTRIBUTES[obj.track.class_name]),
            "points": [[x0, y0], [x1, y1]]}
