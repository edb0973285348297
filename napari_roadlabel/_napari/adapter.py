"""The one place that converts between core objects and napari layer data.

napari orders coordinates (row, col) = (y, x); the core and every file format
use (x, y).  Nothing else in the package reads or writes layer coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core import FrameObject, FrameState, Geometry, GeometryKind, Source, Taxonomy, Track, make_geometry
from ..core.geometry import mask_from_image
from .layers import ElementLayer, has_layer, layer_for
from .style import edge_color, edge_width, face_color, object_label

SHAPE_TYPES = {
    GeometryKind.POLYLINE: "path",
    GeometryKind.POLYGON: "polygon",
    GeometryKind.BOX: "rectangle",
    GeometryKind.MASK: "rectangle",  # outside a Labels layer a mask shows as its outline
}
POINT_KINDS = (GeometryKind.POINT, GeometryKind.KEYPOINTS)
FEATURE_COLUMNS = ("track_id", "class", "frame", "source", "label", "attributes")
FEATURE_TYPES = {"track_id": "int64", "frame": "int64", "point": "int64"}  # the others hold text or dicts
EDITING_COLUMNS = ("track_id", "class", "label")  # what the workspace's layers need (the store has the rest)
NEW_OBJECT = -1  # track_id of a shape drawn in napari and not yet in the store
TRANSPARENT = np.zeros(4)


def to_napari(points_xy: np.ndarray) -> np.ndarray:
    """(N, 2) x, y -> (N, 2) row, col."""
    return np.asarray(points_xy, dtype=float)[:, ::-1]


def to_xy(points_yx: np.ndarray) -> np.ndarray:
    """(N, 2+) napari coordinates (leading axes such as time first) -> (N, 2) x, y."""
    return np.asarray(points_yx, dtype=float)[:, -1:-3:-1]


def box_corners(geometry: Geometry) -> np.ndarray:
    """The four corners of a box or a mask's extent, as x, y."""
    xmin, ymin, xmax, ymax = geometry.bounds()
    return np.array([[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax]])


@dataclass
class LayerData:
    """What one layer shows: coordinates in napari order, per-item style and features."""

    data: list[np.ndarray] = field(default_factory=list)
    shape_types: list[str] = field(default_factory=list)
    edge_colors: list[np.ndarray] = field(default_factory=list)
    face_colors: list[np.ndarray] = field(default_factory=list)
    edge_widths: list[float] = field(default_factory=list)
    features: dict[str, list] = field(default_factory=lambda: {column: [] for column in FEATURE_COLUMNS})
    masks: list[tuple[int, Geometry]] = field(default_factory=list)  # for a Labels layer: (track id, mask)
    geometries: list[tuple[int, Geometry]] = field(default_factory=list)  # each object once: (track id, geometry)

    def append(self, coordinates: np.ndarray, shape_type: str, obj: FrameObject, taxonomy: Taxonomy) -> None:
        values = (obj.track.id, obj.track.class_name, obj.state.frame, obj.state.source.value, object_label(obj),
                  obj.attributes)
        self.add(coordinates, shape_type, edge_color(obj, taxonomy), face_color=face_color(obj, taxonomy),
                 edge_width=edge_width(obj), **dict(zip(FEATURE_COLUMNS, values, strict=True)))

    def add(self, coordinates: np.ndarray, shape_type: str, edge_rgba: np.ndarray, *,
            face_color: np.ndarray = TRANSPARENT, edge_width: float = 1.0, **features) -> None:
        """One item with its style and feature values (an object of the store, a lane curve, an outline ...)."""
        self.data.append(coordinates)
        self.shape_types.append(shape_type)
        self.edge_colors.append(edge_rgba)
        self.face_colors.append(face_color)
        self.edge_widths.append(edge_width)
        for column, value in features.items():
            self.features.setdefault(column, []).append(value)

    def __len__(self) -> int:
        return len(self.data) + len(self.masks)

    def feature_table(self, columns: tuple[str, ...] = FEATURE_COLUMNS) -> pd.DataFrame:
        """The features as a table with fixed column types, also when empty (napari infers float otherwise)."""
        return pd.DataFrame({column: pd.Series(self.features[column], dtype=FEATURE_TYPES.get(column, object))
                             for column in columns})


def objects_by_layer(objects: list[FrameObject], taxonomy: Taxonomy, *, with_frame_axis: bool = False,
                     masks_as_labels: bool = True) -> dict[ElementLayer, LayerData]:
    """Each element layer's data for ``objects``; ``with_frame_axis`` prepends each object's frame as t."""
    layers: dict[ElementLayer, LayerData] = {}
    for obj in objects:
        geometry = obj.state.geometry
        if not has_layer(obj.track.class_name, geometry.kind):
            continue
        layer = layers.setdefault(layer_for(obj.track.class_name, geometry.kind), LayerData())
        layer.geometries.append((obj.track.id, geometry))
        if geometry.kind is GeometryKind.MASK and masks_as_labels:
            layer.masks.append((obj.track.id, geometry))
            continue
        corners = box_corners(geometry) if geometry.kind in (GeometryKind.BOX, GeometryKind.MASK) else geometry.points
        coordinates = to_napari(corners)
        if with_frame_axis:
            coordinates = np.column_stack([np.full(len(coordinates), obj.state.frame), coordinates])
        if geometry.kind in POINT_KINDS:
            for point in coordinates:
                layer.append(point, "point", obj, taxonomy)
        else:
            layer.append(coordinates, SHAPE_TYPES[geometry.kind], obj, taxonomy)
    return layers


def clip_to_image(points_xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Points drawn past the image edge are pulled back onto it."""
    return np.clip(points_xy, 0, [width, height])


_KIND_OF_SHAPE = {"path": GeometryKind.POLYLINE, "line": GeometryKind.POLYLINE, "polygon": GeometryKind.POLYGON,
                  "rectangle": GeometryKind.BOX, "ellipse": GeometryKind.POLYGON}


def shape_to_geometry(coordinates: np.ndarray, shape_type: str, *, image_size: tuple[int, int] | None = None,
                      where: str | None = None) -> Geometry:
    """A napari shape (vertices in napari order, leading axes allowed) as a core geometry.

    With ``image_size`` (width, height) the points are clipped to the image first.
    """
    points = to_xy(coordinates)
    if image_size is not None:
        points = clip_to_image(points, *image_size)
    kind = _KIND_OF_SHAPE[shape_type]
    if kind is GeometryKind.BOX:
        points = np.array([points.min(axis=0), points.max(axis=0)])
    return make_geometry(kind, points, where=where)


def points_to_geometry(coordinates: np.ndarray, kind: GeometryKind, *, image_size: tuple[int, int] | None = None,
                       where: str | None = None) -> Geometry:
    """Rows of a Points layer (napari order) as one point or keypoints geometry."""
    points = to_xy(np.asarray(coordinates).reshape(len(coordinates), -1))
    if image_size is not None:
        points = clip_to_image(points, *image_size)
    return make_geometry(kind, points, where=where)


def labels_to_masks(labels: np.ndarray, track_ids: set[int]) -> dict[int, Geometry | None]:
    """Each track id's mask in a label image (cropped to its extent), or None where it has no pixel left."""
    masks: dict[int, Geometry | None] = {}
    for track_id in track_ids:
        masks[track_id] = mask_from_image(labels == track_id, where=f"mask of track {track_id}")
    return masks


def paint_masks(labels: np.ndarray, masks: list[tuple[int, Geometry]]) -> np.ndarray:
    """Fill a label image in place with each track's mask, using the track id as the label value."""
    labels[:] = 0
    height, width = labels.shape
    for track_id, mask in masks:
        x0, y0 = int(mask.points[0, 0]), int(mask.points[0, 1])
        pixels = mask.mask[: max(0, height - y0), : max(0, width - x0)]
        region = labels[y0:y0 + pixels.shape[0], x0:x0 + pixels.shape[1]]
        region[pixels] = track_id
    return labels


def shapes_to_objects(data: list[np.ndarray], shape_types: list[str], features: dict[str, list],
                      default_class: str = "custom") -> list[FrameObject]:
    """Shapes with a leading frame axis (as the GeoJSON reader makes them) back to objects.

    The frame is the first coordinate of each shape; ``features`` may carry
    track_id, class, source and attributes columns (missing ones get defaults).
    """
    objects = []
    for index, (coordinates, shape_type) in enumerate(zip(data, shape_types, strict=True)):
        row = _feature_row(features, index)
        frame = int(round(coordinates[0, 0])) if coordinates.shape[1] > 2 else int(row.get("frame", 0))
        track_id = int(row.get("track_id", index + 1))
        geometry = shape_to_geometry(coordinates, shape_type, where=f"shape {index}")
        track = Track(track_id, str(row.get("class", default_class)))
        attributes = row.get("attributes")
        state = FrameState(track_id, frame, geometry, attributes if isinstance(attributes, dict) else {},
                           source=Source(row.get("source", Source.MANUAL.value)))
        objects.append(FrameObject(track, state))
    return objects


def points_to_objects(data: np.ndarray, features: dict[str, list]) -> list[FrameObject]:
    """Rows of a points layer back to objects: the rows of one track on one frame are its keypoints."""
    rows_of: dict[tuple[int, int], list[int]] = {}
    for index, coordinates in enumerate(data):
        row = _feature_row(features, index)
        frame = int(round(coordinates[0])) if len(coordinates) > 2 else int(row.get("frame", 0))
        rows_of.setdefault((frame, int(row.get("track_id", index + 1))), []).append(index)
    objects = []
    for (frame, track_id), indices in rows_of.items():
        row = _feature_row(features, indices[0])
        kind = GeometryKind.KEYPOINTS if len(indices) > 1 else GeometryKind.POINT
        geometry = make_geometry(kind, to_xy(data[indices]), where=f"points of track {track_id} on frame {frame}")
        attributes = row.get("attributes") if isinstance(row.get("attributes"), dict) else {}
        state = FrameState(track_id, frame, geometry, attributes, Source(row.get("source", Source.MANUAL.value)))
        objects.append(FrameObject(Track(track_id, str(row.get("class", "custom"))), state))
    return objects


def _feature_row(features: dict[str, list], index: int) -> dict[str, Any]:
    return {column: values[index] for column, values in features.items() if index < len(values)}
