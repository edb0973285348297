"""napari writer: shapes and points layers (with a frame axis, as the reader makes them) to GeoJSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core import FrameObject, FrameState, GeometryKind, Source, Track, make_geometry
from ..io.formats.geojson import object_feature, write_feature_collection
from .adapter import shapes_to_objects, to_xy


def write_geojson(path: str, layer_data: list[tuple[Any, dict, str]]) -> list[str]:
    """Write every shapes and points layer as one FeatureCollection; returns the path written."""
    objects: list[FrameObject] = []
    for data, meta, layer_type in layer_data:
        features = _feature_columns(meta.get("features"))
        if layer_type == "shapes":
            objects += shapes_to_objects(list(data), list(meta.get("shape_type", [])), features)
        elif layer_type == "points":
            objects += _points_to_objects(np.asarray(data), features)
    objects.sort(key=lambda obj: (obj.state.frame, obj.track.id))
    write_feature_collection(path, (object_feature(obj) for obj in objects), overwrite=True)
    return [str(Path(path))]


def _feature_columns(features) -> dict[str, list]:
    if features is None:
        return {}
    return features.to_dict("list") if hasattr(features, "to_dict") else dict(features)


def _points_to_objects(data: np.ndarray, features: dict[str, list]) -> list[FrameObject]:
    objects = []
    for index, coordinates in enumerate(data):
        row = {column: values[index] for column, values in features.items() if index < len(values)}
        frame = int(round(coordinates[0])) if len(coordinates) > 2 else int(row.get("frame", 0))
        track_id = int(row.get("track_id", index + 1))
        geometry = make_geometry(GeometryKind.POINT, to_xy(coordinates.reshape(1, -1)), where=f"point {index}")
        attributes = row.get("attributes") if isinstance(row.get("attributes"), dict) else {}
        state = FrameState(track_id, frame, geometry, attributes, Source(row.get("source", Source.MANUAL.value)))
        objects.append(FrameObject(Track(track_id, str(row.get("class", "custom"))), state))
    return objects
