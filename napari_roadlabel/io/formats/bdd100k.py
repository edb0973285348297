"""BDD100K / Scalabel JSON: one list of frames, each with its labels (boxes and poly2d shapes).

    [{"name": "clip/000017.jpg", "videoName": "clip", "frameIndex": 17,
      "labels": [{"id": "4", "category": "lane/single yellow",
                  "attributes": {"laneDirection": "parallel", "laneStyle": "dashed"},
                  "poly2d": [{"vertices": [[10.0, 89.0], [60.0, 30.0]], "types": "LL", "closed": false}]},
                 {"id": "7", "category": "traffic light", "attributes": {"trafficLightColor": "R"},
                  "box2d": {"x1": 100.0, "y1": 5.0, "x2": 109.0, "y2": 29.0}}]}, ...]

``name`` is the frame's file (see ``lane_frames.frame_files``), ``videoName``
the video (or image folder), ``frameIndex`` our 0-based frame.  ``id`` is our
track id, the same on every frame.  Boxes are ``box2d`` with Scalabel's
inclusive corners (``x2 = our right edge - 1``, as ``scalabel.label.transforms``
has it); polylines and polygons are one ``poly2d`` with straight segments
(``types`` all ``"L"``; ``closed`` for polygons); a lane line is its control
points, so BDD100K tools draw it as straight segments between them.

Classes, ours -> BDD100K ``category`` (``MAPPING_TABLE`` below holds the
same in Markdown for the docs):

* lane-line: ``lane/road curb`` (kind curb or road-edge) or
  ``lane/{single|double} {white|yellow|other}`` from style and colour, with
  ``laneDirection: parallel`` and ``laneStyle`` solid or dashed
  (solid-dashed and dashed-solid are written ``solid``, botts' dots ``dashed``);
* stop-line: ``lane/single white`` with ``laneDirection: vertical``;
* crosswalk: ``lane/crosswalk``, a closed poly2d, ``laneDirection: vertical``;
* traffic-light: ``traffic light`` with ``trafficLightColor`` G / Y / R / NA;
* traffic-sign: ``traffic sign``; vehicle: its type (car, truck, bus,
  motorcycle, trailer, other vehicle), pedestrian: ``pedestrian``, cyclist:
  ``rider``, with ``occluded`` / ``truncated``; custom: its label when that is
  a BDD100K category we have no class for (bicycle, train, other person).

What BDD100K cannot hold is counted in the mapping report: school zones,
traffic directions, frame-range tags, points, keypoints and masks, and the
attribute values no category or attribute says (sign type and value, lane
split/merge, the light's face and flashing, ...).

Import reads the whole file (a list of frames, or a Scalabel dataset
``{"frames": [...]}``) and checks every frame and label first: the frame
(by name, else by ``videoName`` and ``frameIndex``), the category, the shape
(``"C"`` vertices are Bezier control points, flattened), finite coordinates
inside the image, one class per id.  Then each ``id`` becomes one track, in
one undo step.  BDD100K's own aliases (person, motor, bike, van, caravan) and
long light colours (green, yellow, red, none) are read too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...core import (
    AnnotationError,
    FormatError,
    FrameObject,
    Geometry,
    GeometryKind,
    Project,
    Scope,
    Source,
)
from .frame_match import Entry, frame_files, match_entries, sequence_name
from .import_report import ImportReport, fit_to_image
from .json_files import JSONArray, is_whole, load_json, write_export
from .lane_frames import frames_to_export
from .report import MappingReport

# ---------------------------------------------------------------- the mapping

LANE_STYLES = {  # our lane style -> (single or double, laneStyle)
    "solid": ("single", "solid"), "dashed": ("single", "dashed"), "botts-dots": ("single", "dashed"),
    "double-solid": ("double", "solid"), "double-dashed": ("double", "dashed"),
    "solid-dashed": ("double", "solid"), "dashed-solid": ("double", "solid"),
}
STYLES_BACK = {("single", "solid"): "solid", ("single", "dashed"): "dashed",
               ("double", "solid"): "double-solid", ("double", "dashed"): "double-dashed"}
LANE_COLORS = ("white", "yellow", "other")
ROAD_CURB, CROSSWALK = "lane/road curb", "lane/crosswalk"
STOP_LINE_CATEGORY = "lane/single white"
LIGHT_COLORS = {"green": "G", "yellow": "Y", "red": "R", "unknown": "NA"}  # "off", "red-yellow" -> NA, not carried
LIGHT_STATES = {"G": "green", "Y": "yellow", "R": "red", "NA": "unknown",
                "green": "green", "yellow": "yellow", "red": "red", "none": "unknown"}
VEHICLE_TYPES = {"car": "car", "truck": "truck", "bus": "bus", "motorcycle": "motorcycle", "trailer": "trailer",
                 "other": "other vehicle"}
PLAIN = {"traffic-light": "traffic light", "traffic-sign": "traffic sign", "pedestrian": "pedestrian",
         "cyclist": "rider"}
FOREIGN = ("bicycle", "train", "other person")  # BDD100K categories without a class of ours: custom, by label
ALIASES = {"person": "pedestrian", "motor": "motorcycle", "bike": "bicycle", "van": "car", "caravan": "car"}
OCCLUSION = ("occluded", "truncated")  # BDD100K boolean attributes, same names as ours

MAPPING_TABLE = """\
| napari-roadlabel | BDD100K `category` | BDD100K attributes | not carried (mapping report) |
|---|---|---|---|
| lane-line, kind lane-marking | `lane/single white\\|yellow\\|other` (style solid, dashed, botts-dots); \
`lane/double white\\|yellow\\|other` (double-solid, double-dashed, solid-dashed, dashed-solid) | \
`laneDirection: parallel`, `laneStyle: solid\\|dashed` | style botts-dots (read back as dashed), solid-dashed and \
dashed-solid (read back as double-solid); split-merge split/merge |
| lane-line, kind curb | `lane/road curb` | `laneDirection: parallel`, `laneStyle` | colour; split-merge |
| lane-line, kind road-edge | `lane/road curb` | as above | kind (read back as curb); colour; split-merge |
| stop-line | `lane/single white` | `laneDirection: vertical`, `laneStyle: solid` | - |
| crosswalk (polygon) | `lane/crosswalk` (closed poly2d) | `laneDirection: vertical`, `laneStyle: solid` | - |
| traffic-light (box) | `traffic light` | `trafficLightColor: G\\|Y\\|R\\|NA` (green, yellow, red, unknown) | \
state off and red-yellow (written NA, read back unknown); flashing; face; orientation |
| traffic-sign (box) | `traffic sign` | - | type; value; unit; point geometries |
| vehicle | `car`, `truck`, `bus`, `motorcycle`, `trailer`, `other vehicle` (by type) | `occluded`, `truncated` | \
keypoints; masks |
| pedestrian | `pedestrian` | `occluded` | keypoints; masks |
| cyclist | `rider` | `occluded` | keypoints; masks |
| custom, label bicycle / train / other person | that label | - | other labels; points; keypoints; masks |
| school-zone, traffic-direction | - | - | the whole object |
| school-zone-active, scene (frame-range tags) | - | - | the whole tag, counted on every exported frame |
"""


@dataclass
class _Label:
    """One imported label, checked: where it goes and what it becomes."""

    frame: int
    key: object  # the BDD100K id (one track per id), or the label's place when it has none
    class_name: str
    geometry: Geometry
    track_attributes: dict = field(default_factory=dict)
    frame_attributes: dict = field(default_factory=dict)


class _Dropped(Exception):
    """This object has no place in BDD100K: the reason goes in the mapping report."""


# ---------------------------------------------------------------- export

def export_bdd100k(project: Project, path: str | Path, *, frames: range | None = None, every: int = 1,
                   overwrite: bool = False, progress: Callable[[int], None] | None = None) -> MappingReport:
    """Write one JSON list of frames (every ``every``-th of ``frames``) and the mapping report beside it."""
    names = frame_files(project)
    video = sequence_name(project)
    tags = project.tags()
    report = MappingReport("bdd100k", progress=progress)
    report.drop_relations(project.relations(), frames_to_export(project, frames, every))
    labels = _Labels(report)
    records = JSONArray()
    for frame in frames_to_export(project, frames, every):  # a frame at a time, encoded at once: see JSONArray
        records.extend([{"name": names[frame], "videoName": video, "frameIndex": frame,
                         "labels": labels.of(project.objects_on(frame))}])
        for tag in tags:
            if tag.covers(frame):
                report.drop(tag.class_name, "BDD100K has no frame-range tags")
        report.frame_done()
    return write_export(path, records, report, overwrite=overwrite)


class _Labels:
    """Objects to BDD100K labels, each counted in the mapping report.  A category is worked out once per class and
    attribute values: a long export has few of those, and hundreds of thousands of objects."""

    def __init__(self, report: MappingReport):
        self.report = report
        self.categories: dict[tuple, tuple[str, dict, frozenset[str]] | str] = {}  # or the reason it is dropped

    def of(self, objects: list[FrameObject]) -> list[dict]:
        """The labels of one frame's objects (in track id order)."""
        labels = []
        for obj in objects:
            class_name, values = obj.track.class_name, obj.attributes
            try:
                category, attributes, carried = self._category(class_name, values)
                shape = _shape(obj.state.geometry)
            except _Dropped as dropped:
                self.report.drop(class_name, str(dropped))
                continue
            label = {"id": str(obj.track.id), "category": category}
            if attributes:
                label["attributes"] = attributes  # one dict shared by every label with these values
            label.update(shape)
            labels.append(label)
            self.report.wrote(class_name, values, carried)
        return labels

    def _category(self, class_name: str, values: dict) -> tuple[str, dict, frozenset[str]]:
        key = (class_name, *values.items())
        if key not in self.categories:
            try:
                self.categories[key] = _category(class_name, values)
            except _Dropped as dropped:
                self.categories[key] = str(dropped)
        found = self.categories[key]
        if isinstance(found, str):
            raise _Dropped(found)
        return found


def _category(name: str, values: dict) -> tuple[str, dict, frozenset[str]]:
    """The BDD100K category and attributes of an object, and the names of our attributes they carry."""
    occlusion = {key: bool(values[key]) for key in OCCLUSION if key in values}
    if name == "lane-line":
        return _lane_category(values)
    if name == "stop-line":
        return STOP_LINE_CATEGORY, {"laneDirection": "vertical", "laneStyle": "solid"}, frozenset()
    if name == "crosswalk":
        return CROSSWALK, {"laneDirection": "vertical", "laneStyle": "solid"}, frozenset()
    if name == "traffic-light":
        state = values.get("state", "unknown")
        carried = {"state"} if state in LIGHT_COLORS else set()
        return PLAIN[name], {"trafficLightColor": LIGHT_COLORS.get(state, "NA")}, frozenset(carried)
    if name == "vehicle":
        category = VEHICLE_TYPES.get(values.get("type", "car"))
        if category is None:
            raise _Dropped(f"vehicle type {values.get('type')!r} has no BDD100K category")
        return category, occlusion, frozenset({"type", *occlusion})
    if name in PLAIN:
        return PLAIN[name], occlusion, frozenset(occlusion)
    if name == "custom":
        label = values.get("label", "")
        if label not in FOREIGN:
            raise _Dropped(f"custom label {label!r} is not a BDD100K category (only {', '.join(FOREIGN)})")
        return label, {}, frozenset({"label"})
    raise _Dropped("BDD100K has no category for this class")


def _lane_category(values: dict) -> tuple[str, dict, frozenset[str]]:
    style = values.get("style", "solid")
    multiplicity, lane_style = LANE_STYLES.get(style, ("single", "solid"))
    attributes = {"laneDirection": "parallel", "laneStyle": lane_style}
    carried = {"style"} if STYLES_BACK.get((multiplicity, lane_style)) == style else set()
    if values.get("split-merge", "none") == "none":
        carried.add("split-merge")  # nothing to carry
    kind = values.get("kind", "lane-marking")
    if kind in ("curb", "road-edge"):
        carried |= {"kind"} if kind == "curb" else set()
        if style in ("solid", "dashed"):
            carried.add("style")
        return ROAD_CURB, attributes, frozenset(carried)
    color = values.get("color", "white")
    carried |= {"kind", "color"} if color in LANE_COLORS else {"kind"}
    category = f"lane/{multiplicity} {color if color in LANE_COLORS else 'other'}"
    return category, attributes, frozenset(carried)


def _shape(geometry: Geometry) -> dict:
    points = geometry.points
    if geometry.kind is GeometryKind.BOX:
        (x0, y0), (x1, y1) = points
        # Scalabel's x2, y2 are the last pixel inside the box: our right and bottom edges minus one.
        return {"box2d": {"x1": float(x0), "y1": float(y0), "x2": float(max(x0, x1 - 1)),
                          "y2": float(max(y0, y1 - 1))}}
    if geometry.kind in (GeometryKind.POLYLINE, GeometryKind.POLYGON):
        return {"poly2d": [{"vertices": points.tolist(), "types": "L" * len(points),
                            "closed": geometry.kind is GeometryKind.POLYGON}]}
    raise _Dropped(f"BDD100K JSON holds box2d and poly2d, not {geometry.kind.value} geometries")


# ---------------------------------------------------------------- import

def import_bdd100k(project: Project, path: str | Path, *, source: Source = Source.IMPORTED,
                   strict: bool = False) -> ImportReport:
    """Add every label of the file's frames of this project (one track per BDD100K id); all or nothing."""
    report = ImportReport("bdd100k", str(path), strict=strict)
    return add_entries(project, read_bdd100k(path), report, source)


def read_bdd100k(path: str | Path) -> list[Entry]:
    """The frames of a BDD100K file (a list of frames, or a Scalabel dataset), or of every ``*.json`` in a folder
    (BDD100K's tracking labels are a file per video), as entries checked for their form."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    return [entry for file in files for entry in _entries(file)]


def _entries(path: Path) -> list[Entry]:
    data = load_json(path)
    if isinstance(data, dict) and isinstance(data.get("frames"), list):
        data = data["frames"]  # a Scalabel dataset
    if not isinstance(data, list):
        raise FormatError(path, "expected a JSON list of frames (or a Scalabel dataset with \"frames\")")
    return [_entry(record, index, path) for index, record in enumerate(data)]


def _entry(record: Any, index: int, path: Path) -> Entry:
    if not isinstance(record, dict) or not isinstance(record.get("name"), str):
        raise FormatError(path, "a frame needs a name", place=f"frame {index}")
    place = f"frame {index} ({record['name']!r})"
    labels = record.get("labels") or []
    if not isinstance(labels, list):
        raise FormatError(path, "labels must be a list", place=place)
    video, position = record.get("videoName"), record.get("frameIndex")
    if video is not None and not isinstance(video, str):
        raise FormatError(path, f"videoName must be text, got {video!r}", place=place)
    if position is not None and (not is_whole(position) or position < 0):
        raise FormatError(path, f"frameIndex must be a whole number from 0, got {position!r}", place=place)
    return Entry(record["name"], path, place, labels, sequence=video or None,
                 frame_index=position if video else None)


def add_entries(project: Project, entries: list[Entry], report: ImportReport, source: Source) -> ImportReport:
    """Add the labels of the entries for ``project`` (``frame_match``), each checked and fitted to the image
    before the first is added, in one undo step; ``report`` is returned and written into the project."""
    labels = _labels(project, match_entries(project, entries, report), report)
    tracks: dict[object, int] = {}
    with project.group(f"import BDD100K {Path(report.source).name}"):
        for label in labels:
            if label.key not in tracks:
                tracks[label.key] = project.add_track(label.class_name, label.track_attributes).id
            project.set_state(tracks[label.key], label.frame, label.geometry, label.frame_attributes, source=source)
            report.added(label.class_name, label.geometry.kind)
    report.write_into(project)
    return report


def _labels(project: Project, matched: list[tuple[int, Entry]], report: ImportReport) -> list[_Label]:
    labels: list[_Label] = []
    seen: dict[object, tuple[str, dict, str]] = {}  # id -> (class, track attributes, where first seen)
    for frame, entry in matched:
        ids_here: set[str] = set()
        for number, raw in enumerate(entry.labels):
            where = f"{entry.place}, label {number}"
            label = _read_label(raw, frame, where, entry.file, project, report)
            if label is None:
                continue
            if raw.get("id") is not None:
                label.key = _track_key(raw["id"], label, f"{entry.place}, label {number}", entry.file, ids_here, seen)
            labels.append(label)
    return labels


def _read_label(raw: Any, frame: int, where: str, path: Path, project: Project,
                report: ImportReport) -> _Label | None:
    if not isinstance(raw, dict):
        raise FormatError(path, "a label must be a JSON object", place=where)
    category = raw.get("category")
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise FormatError(path, "attributes must be a JSON object", place=where)
    try:
        class_name, track_attributes, frame_attributes = _class_of(category, attributes)
    except KeyError:
        raise FormatError(path, f"unknown category {category!r}", place=where) from None
    if class_name not in project.taxonomy:
        raise FormatError(path, f"category {category!r} needs class {class_name!r}, which this project's taxonomy "
                                "does not have", place=where)
    spec = project.taxonomy[class_name]
    track_attributes = {k: v for k, v in track_attributes.items() if k in spec.attributes_of(Scope.TRACK)}
    frame_attributes = {k: v for k, v in frame_attributes.items() if k in spec.attributes_of(Scope.FRAME)}
    try:
        spec.check_attributes(track_attributes, Scope.TRACK, where)
        spec.check_attributes(frame_attributes, Scope.FRAME, where)
    except AnnotationError as error:
        raise FormatError(path, error.reason, place=where) from None
    geometry = _geometry(raw, spec.geometry, category, where, path, project, report)
    if geometry is None:
        return None
    return _Label(frame, where, class_name, geometry, track_attributes, frame_attributes)


def _track_key(raw_id: Any, label: _Label, where: str, path: Path, ids_here: set[str],
               seen: dict[str, tuple[str, dict, str]]) -> str:
    """The label's track: its id, once on a frame, and of one class and track attributes on every frame."""
    if not isinstance(raw_id, str) and not is_whole(raw_id):
        raise FormatError(path, f"id must be text or a whole number, got {raw_id!r}", place=where)
    key = str(raw_id)
    where = f"{where} (id {key!r})"
    if key in ids_here:
        raise FormatError(path, f"id {key!r} twice on one frame", place=where)
    ids_here.add(key)
    first = seen.setdefault(key, (label.class_name, label.track_attributes, where))
    if first[:2] != (label.class_name, label.track_attributes):
        raise FormatError(path, f"id {key!r} is a {label.class_name} {label.track_attributes} here but a "
                                f"{first[0]} {first[1]} at {first[2]}", place=where)
    return key


def _class_of(category: Any, attributes: dict) -> tuple[str, dict, dict]:
    """(class, track attributes, frame attributes) for a BDD100K category; KeyError when it has none."""
    if not isinstance(category, str):
        raise KeyError(category)
    category = ALIASES.get(category, category)
    occlusion = {key: attributes[key] for key in OCCLUSION if key in attributes}
    if category == "traffic light":
        color = attributes.get("trafficLightColor", "NA")
        return "traffic-light", {}, {"state": LIGHT_STATES.get(color, color)}
    if category == "traffic sign":
        return "traffic-sign", {}, {}
    if category in ("pedestrian", "rider"):
        return "pedestrian" if category == "pedestrian" else "cyclist", {}, occlusion
    vehicles = {bdd: ours for ours, bdd in VEHICLE_TYPES.items()}
    if category in vehicles:
        return "vehicle", {"type": vehicles[category]}, occlusion
    if category in FOREIGN:
        return "custom", {"label": category}, {}
    if category == CROSSWALK:
        return "crosswalk", {}, {}
    lane_style = attributes.get("laneStyle", "solid")
    if category == ROAD_CURB:
        return "lane-line", {"kind": "curb"}, {"style": STYLES_BACK.get(("single", lane_style), lane_style)}
    parts = category.removeprefix("lane/").split(" ") if category.startswith("lane/") else []
    if len(parts) != 2 or parts[0] not in ("single", "double") or parts[1] not in LANE_COLORS:
        raise KeyError(category)
    if attributes.get("laneDirection") == "vertical":
        return "stop-line", {}, {}
    style = STYLES_BACK.get((parts[0], lane_style), lane_style)
    return "lane-line", {"kind": "lane-marking", "color": parts[1]}, {"style": style}


def _geometry(raw: dict, kinds: tuple[GeometryKind, ...], category: str, where: str, path: Path,
              project: Project, report: ImportReport) -> Geometry | None:
    """The label's shape as one geometry its class takes (poly2d first, else box2d), fitted to the image (None:
    skipped)."""
    poly2d, box2d = raw.get("poly2d"), raw.get("box2d")
    if poly2d is not None:
        points, closed = _poly2d(poly2d, where, path)
        kind = GeometryKind.POLYGON if closed else GeometryKind.POLYLINE
        if kind not in kinds and not (box2d is not None and GeometryKind.BOX in kinds):
            raise FormatError(path, f"{category!r} as a {'closed' if closed else 'open'} poly2d: its class takes "
                                    f"{', '.join(taken.value for taken in kinds)}", place=where)
        if kind in kinds:
            return fit_to_image(kind, points, project, report, path, where)
    if box2d is not None:
        if GeometryKind.BOX not in kinds:
            raise FormatError(path, f"{category!r} as a box2d: its class takes "
                                    f"{', '.join(taken.value for taken in kinds)}", place=where)
        return fit_to_image(GeometryKind.BOX, _box2d(box2d, where, path), project, report, path, where)
    raise FormatError(path, "a label needs box2d or poly2d", place=where)


def _box2d(box2d: Any, where: str, path: Path) -> np.ndarray:
    if not isinstance(box2d, dict) or not {"x1", "y1", "x2", "y2"} <= box2d.keys():
        raise FormatError(path, "box2d needs x1, y1, x2, y2", place=where)
    x1, y1, x2, y2 = (_number(box2d[key], f"{where}, box2d.{key}", path) for key in ("x1", "y1", "x2", "y2"))
    if x2 < x1 or y2 < y1:
        raise FormatError(path, f"box2d has x2 < x1 or y2 < y1: {[x1, y1, x2, y2]}", place=where)
    return np.array([[x1, y1], [x2 + 1, y2 + 1]])  # x2, y2 are the last pixel inside: our edges are one further


def _poly2d(poly2d: Any, where: str, path: Path) -> tuple[np.ndarray, bool]:
    if not isinstance(poly2d, list) or len(poly2d) != 1 or not isinstance(poly2d[0], dict):
        count = len(poly2d) if isinstance(poly2d, list) else "no list of"
        raise FormatError(path, f"poly2d must be a list of one shape (napari-roadlabel keeps one shape an object), "
                                f"got {count} shapes", place=where)
    shape = poly2d[0]
    vertices, closed = shape.get("vertices"), shape.get("closed", False)
    if not isinstance(closed, bool):
        raise FormatError(path, "poly2d closed must be true or false", place=where)
    if not isinstance(vertices, list) or not all(isinstance(vertex, list) and len(vertex) == 2 for vertex in vertices):
        raise FormatError(path, "poly2d vertices must be a list of [x, y]", place=where)
    points = np.array([[_number(value, f"{where}, poly2d vertex {index}", path) for value in vertex]
                       for index, vertex in enumerate(vertices)], dtype=float).reshape(-1, 2)
    types = shape.get("types", "L" * len(points))
    if not isinstance(types, str) or len(types) != len(points) or set(types) - {"L", "C"}:
        raise FormatError(path, f"poly2d types must be one 'L' or 'C' per vertex ({len(points)}), got {types!r}",
                          place=where)
    return _flatten(points, types, closed, where, path), closed


def _flatten(points: np.ndarray, types: str, closed: bool, where: str, path: Path,
             samples: int = 8) -> np.ndarray:
    """Vertices with each Bezier run (``L C C L``: two control points) replaced by points on the curve."""
    if "C" not in types:
        return points
    count = len(points)
    out = [points[0]]
    index = 0
    while index < count - (0 if closed else 1):
        if types[(index + 1) % count] == "C":
            if types[(index + 2) % count] != "C" or (not closed and index + 3 >= count):
                raise FormatError(path, "poly2d 'C' vertices come in pairs between two 'L' vertices", place=where)
            p0, c1, c2, p3 = (points[(index + step) % count] for step in range(4))
            t = np.linspace(0, 1, samples + 1)[1:, None]
            out.extend((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t ** 2 * c2 + t ** 3 * p3)
            index += 3
        else:
            out.append(points[(index + 1) % count])
            index += 1
    flat = np.array(out)
    return flat[:-1] if closed and len(flat) > 1 and np.allclose(flat[-1], flat[0]) else flat


def _number(value: Any, where: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FormatError(path, f"expected a finite number, got {value!r}", place=where)
    return float(value)
