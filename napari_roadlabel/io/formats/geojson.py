"""GeoJSON: the portable save format of a project.

One FeatureCollection per sequence and one Feature per object per frame, in
image pixels ([x, y], y down).  Geometry by kind:

    polyline   LineString (a lane line's points exactly as placed)
    polygon    Polygon
    box        Polygon of the four corners, properties.shape = "box"
    point      Point
    keypoints  MultiPoint
    skeleton   MultiPoint of the class's skeleton points in order, an absent point as null
               (RFC 7946 has no null position: the one deviation, as the issue asks),
               properties.skeleton = {"points": [names], "visibility": [0|1|2, ...]}
               (COCO's 0 absent, 1 occluded, 2 visible).  On import the names, when
               given, may come in any order or leave points out (absent)
    mask       Polygon of the mask's bounding box, properties.shape = "mask",
               properties.mask = {"size": [h, w], "counts": [...]}: run lengths of
               the row-major mask, starting with a run of zeros
    tag        no geometry (null); properties.frame .. properties.frame_end

Properties: ``frame`` (0-based), ``track_id``, ``class``, ``attributes``
(track-level and per-frame together), ``source`` and ``confidence`` where
known, ``model`` (``name@version``) on what an assistant proposed (kept once a
person accepted it), and ``suggested`` = {"attributes": {...}, "confidence": x,
"model": "name@version"} on an object with attribute values an assistant
proposes and no person has accepted yet (the most confident one, when several
assistants propose).  Import reads the same; manual features become keyframes.  The file is
written to a temporary name and renamed, so a failed export leaves nothing.

Import refuses (naming the file and the feature) what is not geometry: strings,
booleans or NaN as coordinates, a "box" ring that is not 4 corners of an
axis-aligned rectangle (a rotated box is a polygon), a self-crossing polygon, a
mask larger than the project's image or whose runs are not whole non-negative
numbers covering it (checked before a pixel is made), a tag that ends before it
starts, and two features for one track on one frame (which would keep one of
them).  Geometry at or past the image border is clipped or skipped and counted
(``import_report``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...core import (
    FormatError,
    FrameObject,
    FrameRangeTag,
    FrameState,
    Geometry,
    GeometryError,
    GeometryKind,
    Project,
    RoadlabelError,
    Source,
    Track,
    make_geometry,
    make_mask,
    make_skeleton,
)
from ...core.annotations import AttributeSuggestion
from ...core.geometry import ABSENT, VISIBLE, as_points
from ...core.suggestions import assistant_of
from ...core.taxonomy import ClassSpec
from ..atomic import atomic_write
from .import_report import ImportReport, fit_mask_to_image, fit_skeleton_to_image, fit_to_image, keeps_file_ids
from .json_files import is_confidence, is_whole, load_json
from .lane_frames import check_frames

PENDING_BLOCK = 1000  # frames whose pending attribute suggestions the export holds at once

# ---------------------------------------------------------------- export


def export_geojson(project: Project, path: str | Path, *, frames: range | None = None,
                   overwrite: bool = False) -> int:
    """Write the project's annotations (optionally only ``frames``) as one FeatureCollection; returns the count.

    An existing file is kept unless ``overwrite``; the file appears whole or not at all.
    """
    check_frames(project, frames)
    return write_feature_collection(path, _features(project, frames), _collection_info(project), overwrite=overwrite)


def write_feature_collection(path: str | Path, features: Iterable[dict], info: dict | None = None, *,
                             overwrite: bool = False) -> int:
    """Stream ``features`` into a FeatureCollection file (``info`` as its "roadlabel" member); returns the count."""
    count = 0
    header = {"type": "FeatureCollection", "roadlabel": info or {}}
    with atomic_write(path, overwrite=overwrite) as out:
        out.write(json.dumps(header)[:-1] + ', "features": [\n')
        for feature in features:
            out.write((",\n" if count else "") + json.dumps(feature))
            count += 1
        out.write("\n]}\n")
    return count


def _collection_info(project: Project) -> dict:
    sequence = project.sequence
    return {"source": sequence.source, "frame_count": sequence.frame_count, "width": sequence.width,
            "height": sequence.height, "fps": sequence.fps, "taxonomy": project.taxonomy.name}


def _features(project: Project, frames: range | None) -> Iterator[dict]:
    for tag in project.tags():
        if frames is None or (tag.start <= frames[-1] and tag.end >= frames[0]):
            yield tag_feature(tag)
    pending = _PendingAttributes(project.store)
    names = {spec.name: spec.skeleton.points for spec in project.taxonomy if spec.skeleton is not None}
    for obj in project.store.iter_objects(frames):
        yield object_feature(obj, pending.on(obj.track.id, obj.state.frame), names.get(obj.track.class_name))


class _PendingAttributes:
    """Pending attribute suggestions, read a block of frames at a time as the export walks the frames."""

    def __init__(self, store):
        self.store, self.block, self.rows = store, range(0), {}

    def on(self, track_id: int, frame: int) -> AttributeSuggestion | None:
        if frame not in self.block:
            self.block = range(frame, frame + PENDING_BLOCK)
            self.rows = {}
            for row in self.store.attribute_suggestions(frames=self.block):  # the most confident one stays
                kept = self.rows.get((row.track_id, row.frame))
                if kept is None or row.confidence > kept.confidence:
                    self.rows[(row.track_id, row.frame)] = row
        return self.rows.get((track_id, frame))


def object_feature(obj: FrameObject, suggested: AttributeSuggestion | None = None,
                   point_names: tuple[str, ...] | None = None) -> dict:
    """One object's Feature; ``point_names``, the class's skeleton points, name a skeleton's points."""
    state = obj.state
    properties: dict[str, Any] = {"frame": state.frame, "track_id": obj.track.id, "class": obj.track.class_name,
                                  "attributes": obj.attributes, "source": state.source.value}
    if state.confidence is not None:
        properties["confidence"] = state.confidence
    if state.model:
        properties["model"] = state.model
    if suggested is not None:
        properties["suggested"] = {"attributes": dict(suggested.attributes), "confidence": suggested.confidence,
                                   "model": suggested.model}
    geometry = _geometry_to_geojson(state.geometry, properties)
    if state.geometry.kind is GeometryKind.SKELETON:
        properties["skeleton"] = {**({"points": list(point_names)} if point_names else {}),
                                  "visibility": state.geometry.visibility.tolist()}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def tag_feature(tag: FrameRangeTag) -> dict:
    properties = {"frame": tag.start, "frame_end": tag.end, "track_id": tag.id, "class": tag.class_name,
                  "attributes": dict(tag.attributes), "source": tag.source.value}
    if tag.confidence is not None:
        properties["confidence"] = tag.confidence
    if tag.model:
        properties["model"] = tag.model
    return {"type": "Feature", "geometry": None, "properties": properties}


def _geometry_to_geojson(geometry: Geometry, properties: dict) -> dict:
    """The GeoJSON geometry, as plain dicts: the geojson package's objects would round each coordinate
    (to keep every float it needs precision=17, and the rounding pass dominates a long export)."""
    points = geometry.points.tolist()
    kind = geometry.kind
    if kind is GeometryKind.POLYLINE:
        return {"type": "LineString", "coordinates": points}
    if kind is GeometryKind.POLYGON:
        return {"type": "Polygon", "coordinates": [points + points[:1]]}
    if kind is GeometryKind.POINT:
        return {"type": "Point", "coordinates": points[0]}
    if kind is GeometryKind.KEYPOINTS:
        return {"type": "MultiPoint", "coordinates": points}
    if kind is GeometryKind.SKELETON:
        placed = (geometry.visibility != ABSENT).tolist()
        return {"type": "MultiPoint", "coordinates": [point if here else None
                                                      for point, here in zip(points, placed, strict=True)]}
    xmin, ymin, xmax, ymax = geometry.bounds()
    properties["shape"] = kind.value  # box or mask: the ring below is their outline
    if kind is GeometryKind.MASK:
        properties["mask"] = {"size": list(geometry.mask.shape), "counts": _run_lengths(geometry.mask)}
    corners = [[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax], [xmin, ymin]]
    return {"type": "Polygon", "coordinates": [corners]}


def _run_lengths(mask: np.ndarray) -> list[int]:
    flat = mask.ravel()
    edges = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1, [flat.size]])
    runs = np.diff(edges).tolist()
    return [0] + runs if flat[0] else runs  # the first run counts zeros


def _mask_from_run_lengths(counts: list[int], size: list[int]) -> np.ndarray:
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape(size)


def check_run_lengths(counts: Any, height: int, width: int) -> list[int]:
    """Run lengths as ints, checked to cover a ``height`` x ``width`` mask exactly, before any pixel is made;
    ValueError saying which run is wrong."""
    if not isinstance(counts, list):
        raise ValueError(f"counts must be a list of run lengths, got {type(counts).__name__}")
    for index, count in enumerate(counts):
        if isinstance(count, bool) or not isinstance(count, (int, float)) or not float(count).is_integer():
            raise ValueError(f"run {index} is {count!r}: a run length is a whole number")
        if count < 0:
            raise ValueError(f"run {index} is negative ({count!r})")
    runs = [int(count) for count in counts]
    if sum(runs) != height * width:
        raise ValueError(f"the run lengths add up to {sum(runs)}, not {height}x{width} = {height * width}")
    return runs


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ParsedFeature:
    """One feature read from a file, before it meets a project (and its image)."""

    place: str  # "feature 12" for error messages
    frame: int
    track_id: int
    class_name: str
    attributes: dict
    source: Source
    confidence: float | None
    kind: GeometryKind | None  # None: no geometry (a frame-range tag)
    points: np.ndarray | None = None  # (N, 2) as the file gives them (a box: two opposite corners); not for masks
    mask: Geometry | None = None  # a mask's geometry; None for a mask of no pixels
    frame_end: int | None = None
    model: str = ""  # the assistant that proposed it
    suggested: dict | None = None  # pending attribute values: {"attributes", "confidence", "model"}
    visibility: np.ndarray | None = None  # a skeleton's, one per point (its points NaN where absent)
    point_names: tuple[str, ...] | None = None  # a skeleton's point names, when the file gives them

    @property
    def geometry(self) -> Geometry | None:
        """The geometry as the file gives it, not fitted to any image; None for a tag or an empty mask."""
        if self.kind is None or self.kind is GeometryKind.MASK:
            return self.mask
        if self.kind is GeometryKind.SKELETON:
            return make_skeleton(self.points, self.visibility, where=self.place)
        return make_geometry(self.kind, self.points, where=self.place)


def read_geojson(path: str | Path, image: tuple[int, int] | None = None) -> tuple[dict, list[ParsedFeature]]:
    """Parse and check a GeoJSON file: returns the collection's ``roadlabel`` info and its features.

    ``image`` (width, height) bounds a mask's size (default: the file's own ``roadlabel`` width and height), so
    that no mask takes more memory than a frame's.
    """
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FormatError(path, "not a GeoJSON FeatureCollection (\"type\" must be \"FeatureCollection\")")
    features = data.get("features")
    if not isinstance(features, list):
        raise FormatError(path, "\"features\" must be a list")
    info = data.get("roadlabel") if isinstance(data.get("roadlabel"), dict) else {}
    image = image or _image_of(info)
    parsed = [_parse_feature(feature, f"feature {index}", path, image) for index, feature in enumerate(features)]
    return info, parsed


def _image_of(info: dict) -> tuple[int, int] | None:
    size = info.get("width"), info.get("height")
    return size if all(is_whole(value) and value > 0 for value in size) else None  # type: ignore[return-value]


def _parse_feature(feature: Any, place: str, path: Path, image: tuple[int, int] | None) -> ParsedFeature:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise FormatError(path, "not a GeoJSON Feature", place)
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise FormatError(path, "has no \"properties\" object", place)
    frame = _integer(properties, "frame", place, path)
    track_id = _integer(properties, "track_id", place, path)
    class_name = properties.get("class")
    if not isinstance(class_name, str):
        raise FormatError(path, "property \"class\" must be a class name", place)
    attributes = properties.get("attributes", {})
    if not isinstance(attributes, dict):
        raise FormatError(path, "property \"attributes\" must be an object", place)
    try:
        source = Source(properties.get("source", Source.IMPORTED.value))
    except (TypeError, ValueError):
        raise FormatError(path, f"unknown source {properties.get('source')!r} "
                                f"(known: {[s.value for s in Source]})", place) from None
    confidence = properties.get("confidence")
    if confidence is not None and not is_confidence(confidence):
        raise FormatError(path, f"confidence must be a number from 0 to 1, got {confidence!r}", place)
    common = dict(place=place, frame=frame, track_id=track_id, class_name=class_name, attributes=attributes,
                  source=source, confidence=confidence, model=_model(properties.get("model", ""), place, path),
                  suggested=_suggested(properties.get("suggested"), place, path))
    if feature.get("geometry") is None:  # a tag; whether the class is one is checked against the taxonomy
        frame_end = _integer(properties, "frame_end", place, path) if "frame_end" in properties else None
        return ParsedFeature(**common, kind=None, frame_end=frame_end)
    if "skeleton" in properties:
        skeleton, names = _skeleton(feature["geometry"], properties["skeleton"], place, path)
        return ParsedFeature(**common, kind=GeometryKind.SKELETON, points=skeleton.points,
                             visibility=skeleton.visibility, point_names=names)
    kind, points, mask = _shape_from_geojson(feature["geometry"], properties, place, path, image)
    return ParsedFeature(**common, kind=kind, points=points, mask=mask)


def _model(model: Any, place: str, path: Path) -> str:
    if not isinstance(model, str):
        raise FormatError(path, f"property \"model\" must be text (name@version), got {model!r}", place)
    return model


def _suggested(suggested: Any, place: str, path: Path) -> dict | None:
    """properties.suggested, checked: {"attributes": {...}, "confidence": 0..1, "model": "name@version"}."""
    if suggested is None:
        return None
    confidence = suggested.get("confidence") if isinstance(suggested, dict) else None
    if not (isinstance(suggested, dict) and isinstance(suggested.get("attributes"), dict)
            and is_confidence(confidence) and isinstance(suggested.get("model"), str) and "@" in suggested["model"]):
        raise FormatError(path, "property \"suggested\" must be {\"attributes\": {...}, \"confidence\": 0..1, "
                                f"\"model\": \"name@version\"}}, got {json.dumps(suggested)[:80]}", place)
    return suggested


def _integer(properties: dict, name: str, place: str, path: Path) -> int:
    value = properties.get(name)
    if not is_whole(value) or value < 0:
        raise FormatError(path, f"property {name!r} must be a non-negative integer, got {value!r}", place)
    return value


_GEOJSON_KINDS = {"LineString": GeometryKind.POLYLINE, "Point": GeometryKind.POINT,
                  "MultiPoint": GeometryKind.KEYPOINTS}


def _shape_from_geojson(geometry: Any, properties: dict, place: str, path: Path,
                        image: tuple[int, int] | None) -> tuple[GeometryKind, np.ndarray | None, Geometry | None]:
    """(kind, points, mask) of a feature's geometry, checked for form; not yet fitted to an image."""
    if not isinstance(geometry, dict):
        raise FormatError(path, "\"geometry\" must be an object or null", place)
    kind_name = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind_name == "Polygon":
        return _polygon(coordinates, properties, place, path, image)
    if kind_name not in _GEOJSON_KINDS:
        raise FormatError(path, f"unsupported geometry type {kind_name!r}", place)
    kind = _GEOJSON_KINDS[kind_name]
    return kind, _points(kind, coordinates, place, path), None


def _skeleton(geometry: Any, skeleton: Any, place: str, path: Path) -> tuple[Geometry, tuple[str, ...] | None]:
    """A skeleton feature's geometry (a MultiPoint, null for an absent point) and its point names, if given."""
    if not isinstance(geometry, dict) or geometry.get("type") != "MultiPoint" or \
            not isinstance(geometry.get("coordinates"), list):
        raise FormatError(path, "a skeleton's geometry must be a MultiPoint", place)
    if not isinstance(skeleton, dict) or not set(skeleton) <= {"points", "visibility"}:
        raise FormatError(path, "property \"skeleton\" must be {\"points\": [names], \"visibility\": [0|1|2]}",
                          place)
    coordinates = geometry["coordinates"]
    visibility = skeleton.get("visibility", [ABSENT if point is None else VISIBLE for point in coordinates])
    names = skeleton.get("points")
    if names is not None and (not isinstance(names, list) or len(names) != len(coordinates)
                              or not all(isinstance(name, str) for name in names) or len(set(names)) != len(names)):
        raise FormatError(path, f"skeleton points must name each of the {len(coordinates)} positions once, got "
                                f"{json.dumps(names)[:80]}", place)
    if not isinstance(visibility, list) or any(type(value) is not int for value in visibility):
        raise FormatError(path, f"skeleton visibility must be a list of 0, 1 or 2, got {json.dumps(visibility)[:80]}",
                          place)
    rows = [None if point is None else _points(GeometryKind.SKELETON, point, place, path)[0] for point in coordinates]
    try:
        return make_skeleton(rows, visibility, where=place), None if names is None else tuple(names)
    except GeometryError as error:
        raise FormatError(path, error.reason, place) from None


def _points(kind: GeometryKind, coordinates: Any, place: str, path: Path) -> np.ndarray:
    try:
        return as_points(kind, coordinates, where=place)
    except GeometryError as error:
        raise FormatError(path, error.reason, place) from None


def _polygon(coordinates: Any, properties: dict, place: str, path: Path,
             image: tuple[int, int] | None) -> tuple[GeometryKind, np.ndarray | None, Geometry | None]:
    if not isinstance(coordinates, list) or len(coordinates) != 1 or not isinstance(coordinates[0], list):
        raise FormatError(path, "a Polygon must have exactly one ring (no holes)", place)
    ring = _points(GeometryKind.POLYGON, coordinates[0], place, path)
    if len(ring) < 4 or (ring[0] != ring[-1]).any():
        raise FormatError(path, "a Polygon ring must be closed (first point repeated last) with 3+ corners", place)
    shape = properties.get("shape", "polygon")
    if shape == "box":
        return GeometryKind.BOX, _box_corners(ring[:-1], place, path), None
    if shape == "mask":
        return GeometryKind.MASK, None, _mask(ring[0], properties.get("mask"), place, path, image)
    if shape != "polygon":
        raise FormatError(path, f"unknown shape {shape!r} (known: box, mask, polygon)", place)
    return GeometryKind.POLYGON, ring[:-1], None


def _box_corners(corners: np.ndarray, place: str, path: Path) -> np.ndarray:
    """Two opposite corners of a box's ring, which must be an axis-aligned rectangle (a box is nothing else)."""
    if len(corners) != 4:
        raise FormatError(path, f"a box is a ring of 4 corners and the closing point, got {len(corners)} corners",
                          place)
    kept = corners == np.roll(corners, -1, axis=0)  # (4, 2): the coordinate each edge keeps
    if not ((kept[[0, 2], 1].all() and kept[[1, 3], 0].all()) or (kept[[0, 2], 0].all() and kept[[1, 3], 1].all())):
        raise FormatError(path, f"a box's corners must make an axis-aligned rectangle, got {corners.tolist()} "
                                "(a rotated box is a polygon: shape \"polygon\")", place)
    return corners[[0, 2]]


def _mask(offset: np.ndarray, mask: Any, place: str, path: Path, image: tuple[int, int] | None) -> Geometry | None:
    """The mask of properties.mask, its size and runs checked before a pixel is made; None when no pixel is set."""
    if not isinstance(mask, dict) or not {"size", "counts"} <= mask.keys():
        raise FormatError(path, "a mask needs properties.mask with \"size\" [h, w] and \"counts\"", place)
    size = mask["size"]
    if not isinstance(size, list) or len(size) != 2 or not all(is_whole(value) and value > 0 for value in size):
        raise FormatError(path, f"mask size must be [height, width] in whole pixels, got {repr(size)[:60]}", place)
    height, width = size
    if image is not None and (width > image[0] or height > image[1]):
        raise FormatError(path, f"the mask is {width}x{height}, larger than the {image[0]}x{image[1]} image",
                          place)
    try:
        runs = check_run_lengths(mask["counts"], height, width)
    except ValueError as error:
        raise FormatError(path, f"mask counts: {error}", place) from None
    pixels = _mask_from_run_lengths(runs, [height, width])
    return make_mask(pixels, offset, where=place) if pixels.any() else None


def feature_objects(features: list[ParsedFeature]) -> list[FrameObject]:
    """The features that have a geometry, as objects (all attributes on the state: no taxonomy needed)."""
    objects = []
    for f in features:
        geometry = f.geometry
        if geometry is not None:
            objects.append(FrameObject(Track(f.track_id, f.class_name),
                                       FrameState(f.track_id, f.frame, geometry, f.attributes, f.source, f.confidence)))
    return objects


# ---------------------------------------------------------------- into a project


def import_geojson(project: Project, path: str | Path, *, source: Source | None = None,
                   strict: bool = False) -> ImportReport:
    """Add a GeoJSON file's annotations to ``project`` in one undo step; returns the import's report.

    Everything is checked first (classes, attributes, frames, one state per track and frame, track
    consistency); on any error nothing is imported.  Geometry at or past the image border is fitted to it
    by the import policy (``import_report``), and each clip or skip counted.  Track ids are kept when the
    project has never used them, otherwise every imported track gets a fresh id.  ``source`` overrides the
    file's sources (e.g. suggested).
    """
    path = Path(path)
    report = ImportReport("geojson", str(path), strict=strict)
    _, features = read_geojson(path, image=(project.sequence.width, project.sequence.height))
    for feature in features:
        _check_against_project(project, feature, path)
    _refuse_twice(features, path)
    track_attributes = _track_attributes(project, features, path)
    planned = []
    for feature in features:
        geometry = None if feature.kind is None else _fitted(project, feature, path, report)
        if feature.kind is None or geometry is not None:
            planned.append((feature, geometry))
    wanted_ids = _id_map(project, features)
    created: dict[int, int] = {}  # file's track id -> the project's, once created
    with project.group(f"import {path.name}"):
        for feature, geometry in sorted(planned, key=lambda pair: (pair[0].track_id, pair[0].frame)):
            _add_feature(project, feature, geometry, track_attributes, wanted_ids, created, source)  # ids in order
            report.added(feature.class_name, GeometryKind.TAG if geometry is None else geometry.kind)
    report.write_into(project)
    return report


def _check_against_project(project: Project, feature: ParsedFeature, path: Path) -> None:
    sequence = project.sequence
    if feature.class_name not in project.taxonomy:
        raise FormatError(path, f"unknown class {feature.class_name!r} "
                                f"(the project's taxonomy has {sorted(project.taxonomy.classes)})", feature.place)
    spec = project.taxonomy[feature.class_name]
    if (feature.kind is None) != spec.is_tag:
        needs = "is a frame-range class: its geometry must be null" if spec.is_tag else "needs a geometry"
        raise FormatError(path, f"class {spec.name!r} {needs}", feature.place)
    if spec.is_tag:
        if feature.frame_end is None:
            raise FormatError(path, "a frame-range tag needs property 'frame_end'", feature.place)
        if feature.frame_end < feature.frame:
            raise FormatError(path, f"frame_end {feature.frame_end} is before frame {feature.frame}", feature.place)
    last = feature.frame if feature.frame_end is None else feature.frame_end
    if last >= sequence.frame_count:
        raise FormatError(path, f"frame {last} does not exist (the sequence has {sequence.frame_count})",
                          feature.place)
    if feature.kind is not None and feature.kind not in spec.geometry:
        raise FormatError(path, f"class {spec.name!r} takes {[k.value for k in spec.geometry]}, "
                                f"not {feature.kind.value}", feature.place)
    if feature.kind is GeometryKind.SKELETON:
        _in_class_order(feature, spec, path)
    try:
        spec.split_attributes(feature.attributes, feature.place)
    except RoadlabelError as error:
        raise FormatError(path, error.reason, feature.place) from None


def _refuse_twice(features: list[ParsedFeature], path: Path) -> None:
    """One feature per track and frame, and a tag's id its own: a second would replace the first, or fail
    half-way, and data would be lost without a word."""
    first_with_id: dict[int, ParsedFeature] = {}
    on_frame: dict[tuple[int, int], ParsedFeature] = {}
    for feature in features:
        first = first_with_id.setdefault(feature.track_id, feature)
        if first is not feature and (first.kind is None or feature.kind is None):
            raise FormatError(path, f"{first.place} and {feature.place} both have id {feature.track_id}, and a "
                                    "frame-range tag's id is its own", feature.place)
        if feature.kind is not None:
            other = on_frame.setdefault((feature.track_id, feature.frame), feature)
            if other is not feature:
                raise FormatError(path, f"{other.place} and {feature.place} are both track {feature.track_id} on "
                                        f"frame {feature.frame}: a track has one state a frame", feature.place)


def _fitted(project: Project, feature: ParsedFeature, path: Path, report: ImportReport) -> Geometry | None:
    """The feature's geometry fitted to the image (import_report's policy); None when skipped."""
    if feature.kind is GeometryKind.SKELETON:
        skeleton = _in_class_order(feature, project.taxonomy[feature.class_name], path)
        return fit_skeleton_to_image(skeleton, project, report, path, feature.place)
    if feature.kind is not GeometryKind.MASK:
        return fit_to_image(feature.kind, feature.points, project, report, path, feature.place)
    if feature.mask is None:
        report.skip(path, "a mask of no pixels", feature.place)
        return None
    return fit_mask_to_image(feature.mask, project, report, path, feature.place)


def _in_class_order(feature: ParsedFeature, spec: ClassSpec, path: Path) -> Geometry:
    """A skeleton feature in its class's point order (see Skeleton.state_from)."""
    try:
        return spec.skeleton.state_from(feature.points, feature.visibility, feature.point_names)
    except GeometryError as error:
        raise FormatError(path, f"class {spec.name!r}: {error.reason}", feature.place) from None


def _track_attributes(project: Project, features: list[ParsedFeature], path: Path) -> dict[int, dict]:
    """Each track's track-level attributes; features of one track must agree on them and on the class."""
    found: dict[int, tuple[str, dict, str]] = {}
    for feature in features:
        if feature.kind is None:
            continue
        track_level, _ = project.taxonomy[feature.class_name].split_attributes(feature.attributes)
        first = found.setdefault(feature.track_id, (feature.class_name, track_level, feature.place))
        if first[:2] != (feature.class_name, track_level):
            raise FormatError(path, f"track {feature.track_id} has class/track attributes {first[:2]} in "
                                    f"{first[2]} but {(feature.class_name, track_level)} here", feature.place)
    return {track_id: value[1] for track_id, value in found.items()}


def _id_map(project: Project, features: list[ParsedFeature]) -> dict[int, int | None]:
    """Old id -> wanted id: the same ids when ``keeps_file_ids``, else fresh ones (None)."""
    ids = {feature.track_id for feature in features}
    keep = keeps_file_ids(project, ids)
    return {old: (old if keep else None) for old in ids}


def _add_feature(project: Project, feature: ParsedFeature, geometry: Geometry | None, track_attributes: dict,
                 wanted_ids: dict, created: dict, source: Source | None) -> None:
    chosen_source = source or feature.source
    if geometry is None:
        project.add_tag(feature.class_name, feature.frame, feature.frame_end, feature.attributes,
                        source=chosen_source, tag_id=wanted_ids[feature.track_id], confidence=feature.confidence,
                        model=feature.model)
        return
    if feature.track_id not in created:
        track = project.add_track(feature.class_name, track_attributes[feature.track_id],
                                  track_id=wanted_ids[feature.track_id])
        created[feature.track_id] = track.id
    _, frame_attributes = project.taxonomy[feature.class_name].split_attributes(feature.attributes)
    project.set_state(created[feature.track_id], feature.frame, geometry, frame_attributes,
                      source=chosen_source, confidence=feature.confidence, model=feature.model)
    if feature.suggested is not None:
        suggested = feature.suggested
        project.taxonomy[feature.class_name].split_attributes(suggested["attributes"], feature.place)
        project.store.put_attribute_suggestion(AttributeSuggestion(
            created[feature.track_id], feature.frame, assistant_of(suggested["model"]), suggested["attributes"],
            float(suggested["confidence"]), suggested["model"]))
