"""The one place that converts between core objects and napari layer data.

napari orders coordinates (row, col) = (y, x); the core and every file format
use (x, y).  Nothing else in the package reads or writes layer coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import FrameObject, FrameState, Geometry, GeometryKind, Source, Taxonomy, Track, make_geometry

SHAPE_TYPES = {
    GeometryKind.POLYLINE: "path",
    GeometryKind.POLYGON: "polygon",
    GeometryKind.BOX: "rectangle",
    GeometryKind.MASK: "rectangle",  # shown by its outline until masks get a Labels layer
}
POINT_KINDS = (GeometryKind.POINT, GeometryKind.KEYPOINTS)
FEATURE_COLUMNS = ("track_id", "class", "frame", "source", "label", "attributes")


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


def object_label(obj: FrameObject) -> str:
    """Short text shown next to an object: its class, and a sign's type and value."""
    attributes = obj.attributes
    if obj.track.class_name == "traffic-sign":
        value = attributes.get("value")
        return f"{attributes.get('type', 'sign')}{f' {value:g}' if isinstance(value, (int, float)) else ''}"
    if obj.track.class_name == "traffic-light":
        return f"light {attributes.get('state', '')}"
    return f"{obj.track.class_name} {obj.track.id}"


@dataclass
class LayerData:
    """What one layer shows: coordinates (y, x, optionally with leading axes), colours and features."""

    data: list[np.ndarray] = field(default_factory=list)
    shape_types: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    features: dict[str, list] = field(default_factory=lambda: {column: [] for column in FEATURE_COLUMNS})

    def append(self, coordinates: np.ndarray, shape_type: str, color: str, obj: FrameObject) -> None:
        self.data.append(coordinates)
        self.shape_types.append(shape_type)
        self.colors.append(color)
        values = (obj.track.id, obj.track.class_name, obj.state.frame, obj.state.source.value, object_label(obj),
                  obj.attributes)
        for column, value in zip(FEATURE_COLUMNS, values, strict=True):
            self.features[column].append(value)


def objects_to_layers(objects: list[FrameObject], taxonomy: Taxonomy, *, with_frame_axis: bool = False
                      ) -> tuple[LayerData, LayerData]:
    """(shapes, points) layer data for ``objects``; ``with_frame_axis`` prepends each object's frame as t."""
    shapes, points = LayerData(), LayerData()
    for obj in objects:
        geometry = obj.state.geometry
        color = taxonomy[obj.track.class_name].color if obj.track.class_name in taxonomy else "#c0c0c0"
        corners = box_corners(geometry) if geometry.kind in (GeometryKind.BOX, GeometryKind.MASK) else geometry.points
        coordinates = to_napari(corners)
        if with_frame_axis:
            coordinates = np.column_stack([np.full(len(coordinates), obj.state.frame), coordinates])
        if geometry.kind in POINT_KINDS:
            for point in coordinates:
                points.append(point, "point", color, obj)
        else:
            shapes.append(coordinates, SHAPE_TYPES[geometry.kind], color, obj)
    return shapes, points


_KIND_OF_SHAPE = {"path": GeometryKind.POLYLINE, "line": GeometryKind.POLYLINE, "polygon": GeometryKind.POLYGON,
                  "rectangle": GeometryKind.BOX, "ellipse": GeometryKind.POLYGON}


def shape_to_geometry(coordinates: np.ndarray, shape_type: str, *, where: str | None = None) -> Geometry:
    """A napari shape (vertices in napari order, leading axes allowed) as a core geometry."""
    points = to_xy(coordinates)
    kind = _KIND_OF_SHAPE[shape_type]
    if kind is GeometryKind.BOX:
        points = np.array([points.min(axis=0), points.max(axis=0)])
    return make_geometry(kind, points, where=where)


def shapes_to_objects(data: list[np.ndarray], shape_types: list[str], features: dict[str, list],
                      default_class: str = "custom") -> list[FrameObject]:
    """Shapes with a leading frame axis (as the GeoJSON reader makes them) back to objects.

    The frame is the first coordinate of each shape; ``features`` may carry
    track_id, class, source and attributes columns (missing ones get defaults).
    """
    objects = []
    for index, (coordinates, shape_type) in enumerate(zip(data, shape_types, strict=True)):
        row = {column: values[index] for column, values in features.items() if index < len(values)}
        frame = int(round(coordinates[0, 0])) if coordinates.shape[1] > 2 else int(row.get("frame", 0))
        track_id = int(row.get("track_id", index + 1))
        geometry = shape_to_geometry(coordinates, shape_type, where=f"shape {index}")
        track = Track(track_id, str(row.get("class", default_class)))
        attributes = row.get("attributes")
        state = FrameState(track_id, frame, geometry, attributes if isinstance(attributes, dict) else {},
                           source=Source(row.get("source", Source.MANUAL.value)))
        objects.append(FrameObject(track, state))
    return objects
