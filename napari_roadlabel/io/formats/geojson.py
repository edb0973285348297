"""GeoJSON: the portable save format of a project.

One FeatureCollection per sequence and one Feature per object per frame, in
image pixels ([x, y], y down).  Geometry by kind:

    polyline   LineString (a lane line's points exactly as placed)
    polygon    Polygon
    box        Polygon of the four corners, properties.shape = "box"
    point      Point
    keypoints  MultiPoint
    mask       Polygon of the mask's bounding box, properties.shape = "mask",
               properties.mask = {"size": [h, w], "counts": [...]}: run lengths of
               the row-major mask, starting with a run of zeros
    tag        no geometry (null); properties.frame .. properties.frame_end

Properties: ``frame`` (0-based), ``track_id``, ``class``, ``attributes``
(track-level and per-frame together), ``source`` and ``confidence`` where
known.  Import reads the same; manual features become keyframes.  The file is
written to a temporary name and renamed, so a failed export leaves nothing.
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
    GeometryKind,
    Project,
    RoadlabelError,
    Source,
    Track,
    check_inside_image,
    make_geometry,
    make_mask,
)
from ..atomic import atomic_write
from .json_files import load_json
from .lane_frames import check_frames

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
    for obj in project.store.iter_objects(frames):
        yield object_feature(obj)


def object_feature(obj: FrameObject) -> dict:
    state = obj.state
    properties: dict[str, Any] = {"frame": state.frame, "track_id": obj.track.id, "class": obj.track.class_name,
                                  "attributes": obj.attributes, "source": state.source.value}
    if state.confidence is not None:
        properties["confidence"] = state.confidence
    geometry = _geometry_to_geojson(state.geometry, properties)
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def tag_feature(tag: FrameRangeTag) -> dict:
    properties = {"frame": tag.start, "frame_end": tag.end, "track_id": tag.id, "class": tag.class_name,
                  "attributes": dict(tag.attributes), "source": tag.source.value}
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


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ParsedFeature:
    """One feature read from a file, before it meets a project."""

    place: str  # "feature 12" for error messages
    frame: int
    track_id: int
    class_name: str
    attributes: dict
    source: Source
    confidence: float | None
    geometry: Geometry | None  # None for a frame-range tag
    frame_end: int | None = None


def read_geojson(path: str | Path) -> tuple[dict, list[ParsedFeature]]:
    """Parse and check a GeoJSON file: returns the collection's ``roadlabel`` info and its features."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FormatError(path, "not a GeoJSON FeatureCollection (\"type\" must be \"FeatureCollection\")")
    features = data.get("features")
    if not isinstance(features, list):
        raise FormatError(path, "\"features\" must be a list")
    parsed = [_parse_feature(feature, f"feature {index}", path) for index, feature in enumerate(features)]
    return data.get("roadlabel") or {}, parsed


def _parse_feature(feature: Any, place: str, path: Path) -> ParsedFeature:
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
    except ValueError:
        raise FormatError(path, f"unknown source {properties.get('source')!r} "
                                f"(known: {[s.value for s in Source]})", place) from None
    confidence = properties.get("confidence")
    if confidence is not None and (not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1):
        raise FormatError(path, f"confidence must be a number from 0 to 1, got {confidence!r}", place)
    common = dict(place=place, frame=frame, track_id=track_id, class_name=class_name, attributes=attributes,
                  source=source, confidence=confidence)
    if feature.get("geometry") is None:
        return ParsedFeature(**common, geometry=None, frame_end=_integer(properties, "frame_end", place, path))
    return ParsedFeature(**common, geometry=_geometry_from_geojson(feature["geometry"], properties, place, path))


def _integer(properties: dict, name: str, place: str, path: Path) -> int:
    value = properties.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FormatError(path, f"property {name!r} must be a non-negative integer, got {value!r}", place)
    return value


_GEOJSON_KINDS = {"LineString": GeometryKind.POLYLINE, "Point": GeometryKind.POINT,
                  "MultiPoint": GeometryKind.KEYPOINTS}


def _geometry_from_geojson(geometry: Any, properties: dict, place: str, path: Path) -> Geometry:
    if not isinstance(geometry, dict):
        raise FormatError(path, "\"geometry\" must be an object or null", place)
    kind_name = geometry.get("type")
    coordinates = geometry.get("coordinates")
    try:
        if kind_name == "Polygon":
            return _polygon(coordinates, properties, place, path)
        if kind_name not in _GEOJSON_KINDS:
            raise FormatError(path, f"unsupported geometry type {kind_name!r}", place)
        return make_geometry(_GEOJSON_KINDS[kind_name], coordinates, where=place)
    except RoadlabelError as error:
        raise FormatError(path, error.reason, place) from None


def _polygon(coordinates: Any, properties: dict, place: str, path: Path) -> Geometry:
    if not isinstance(coordinates, list) or len(coordinates) != 1 or not isinstance(coordinates[0], list):
        raise FormatError(path, "a Polygon must have exactly one ring (no holes)", place)
    ring = coordinates[0]
    if len(ring) < 4 or ring[0] != ring[-1]:
        raise FormatError(path, "a Polygon ring must be closed (first point repeated last) with 3+ corners", place)
    shape = properties.get("shape", "polygon")
    if shape == "box":
        return make_geometry(GeometryKind.BOX, [ring[0], ring[2]], where=place)
    if shape == "mask":
        return _mask(ring, properties.get("mask"), place, path)
    if shape != "polygon":
        raise FormatError(path, f"unknown shape {shape!r} (known: box, mask, polygon)", place)
    return make_geometry(GeometryKind.POLYGON, ring[:-1], where=place)


def _mask(ring: list, mask: Any, place: str, path: Path) -> Geometry:
    try:
        height, width = mask["size"]
        counts = [int(c) for c in mask["counts"]]
    except (TypeError, KeyError, ValueError):
        raise FormatError(path, "a mask needs properties.mask with \"size\" [h, w] and \"counts\"", place) from None
    if sum(counts) != height * width or min(counts, default=0) < 0:
        raise FormatError(path, f"mask run lengths add up to {sum(counts)}, not {height}x{width}", place)
    return make_mask(_mask_from_run_lengths(counts, [height, width]), ring[0], where=place)


def feature_objects(features: list[ParsedFeature]) -> list[FrameObject]:
    """The features that have a geometry, as objects (all attributes on the state: no taxonomy needed)."""
    return [
        FrameObject(Track(f.track_id, f.class_name),
                    FrameState(f.track_id, f.frame, f.geometry, f.attributes, f.source, f.confidence))
        for f in features if f.geometry is not None
    ]


# ---------------------------------------------------------------- into a project


def import_geojson(project: Project, path: str | Path, *, source: Source | None = None) -> int:
    """Add a GeoJSON file's annotations to ``project`` in one undo step; returns the number of features.

    Everything is checked first (classes, attributes, frames, image bounds,
    track consistency); on any error nothing is imported.  Track ids are kept
    when the project has never used them, otherwise every imported track gets
    a fresh id.  ``source`` overrides the file's sources (e.g. suggested).
    """
    path = Path(path)
    _, features = read_geojson(path)
    for feature in features:
        _check_against_project(project, feature, path)
    track_attributes = _track_attributes(project, features, path)
    wanted_ids = _id_map(project, features)
    created: dict[int, int] = {}  # file's track id -> the project's, once created
    with project.group(f"import {path.name}"):
        for feature in sorted(features, key=lambda f: (f.track_id, f.frame)):  # kept ids are allocated in order
            _add_feature(project, feature, track_attributes, wanted_ids, created, source)
    return len(features)


def _check_against_project(project: Project, feature: ParsedFeature, path: Path) -> None:
    sequence = project.sequence
    if feature.class_name not in project.taxonomy:
        raise FormatError(path, f"unknown class {feature.class_name!r} "
                                f"(the project's taxonomy has {sorted(project.taxonomy.classes)})", feature.place)
    spec = project.taxonomy[feature.class_name]
    last = feature.frame if feature.frame_end is None else feature.frame_end
    if last >= sequence.frame_count:
        raise FormatError(path, f"frame {last} does not exist (the sequence has {sequence.frame_count})",
                          feature.place)
    if (feature.geometry is None) != spec.is_tag:
        raise FormatError(path, f"class {spec.name!r} {'needs no' if spec.is_tag else 'needs a'} geometry",
                          feature.place)
    try:
        spec.split_attributes(feature.attributes, feature.place)
        if feature.geometry is not None:
            if feature.geometry.kind not in spec.geometry:
                raise FormatError(path, f"class {spec.name!r} takes {[k.value for k in spec.geometry]}, "
                                        f"not {feature.geometry.kind.value}", feature.place)
            check_inside_image(feature.geometry, sequence.width, sequence.height, where=feature.place)
    except FormatError:
        raise
    except RoadlabelError as error:
        raise FormatError(path, error.reason, feature.place) from None


def _track_attributes(project: Project, features: list[ParsedFeature], path: Path) -> dict[int, dict]:
    """Each track's track-level attributes; features of one track must agree on them and on the class."""
    found: dict[int, tuple[str, dict, str]] = {}
    for feature in features:
        if feature.geometry is None:
            continue
        track_level, _ = project.taxonomy[feature.class_name].split_attributes(feature.attributes)
        first = found.setdefault(feature.track_id, (feature.class_name, track_level, feature.place))
        if first[:2] != (feature.class_name, track_level):
            raise FormatError(path, f"track {feature.track_id} has class/track attributes {first[:2]} in "
                                    f"{first[2]} but {(feature.class_name, track_level)} here", feature.place)
    return {track_id: value[1] for track_id, value in found.items()}


def _id_map(project: Project, features: list[ParsedFeature]) -> dict[int, int | None]:
    """Old id -> wanted id: the same ids when the project never used them, else fresh ones (None)."""
    ids = {feature.track_id for feature in features}
    keep = not ids or min(ids) >= project.store.next_id()
    return {old: (old if keep else None) for old in ids}


def _add_feature(project: Project, feature: ParsedFeature, track_attributes: dict, wanted_ids: dict,
                 created: dict, source: Source | None) -> None:
    chosen_source = source or feature.source
    if feature.geometry is None:
        project.add_tag(feature.class_name, feature.frame, feature.frame_end, feature.attributes,
                        source=chosen_source, tag_id=wanted_ids[feature.track_id])
        return
    if feature.track_id not in created:
        track = project.add_track(feature.class_name, track_attributes[feature.track_id],
                                  track_id=wanted_ids[feature.track_id])
        created[feature.track_id] = track.id
    _, frame_attributes = project.taxonomy[feature.class_name].split_attributes(feature.attributes)
    project.set_state(created[feature.track_id], feature.frame, feature.geometry, frame_attributes,
                      source=chosen_source, confidence=feature.confidence)
