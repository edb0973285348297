"""napari writer: shapes and points layers (with a frame axis, as the reader makes them) to GeoJSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core import FrameObject
from ..io.formats.geojson import object_feature, write_feature_collection
from .adapter import points_to_objects, shapes_to_objects


def write_geojson(path: str, layer_data: list[tuple[Any, dict, str]]) -> list[str]:
    """Write every shapes and points layer as one FeatureCollection; returns the path written."""
    objects: list[FrameObject] = []
    for data, meta, layer_type in layer_data:
        features = _feature_columns(meta.get("features"))
        if layer_type == "shapes":
            objects += shapes_to_objects(list(data), list(meta.get("shape_type", [])), features)
        elif layer_type == "points":
            objects += points_to_objects(np.asarray(data), features)
    objects.sort(key=lambda obj: (obj.state.frame, obj.track.id))
    write_feature_collection(path, (object_feature(obj) for obj in objects), overwrite=True)
    return [str(Path(path))]


def _feature_columns(features) -> dict[str, list]:
    if features is None:
        return {}
    return features.to_dict("list") if hasattr(features, "to_dict") else dict(features)
