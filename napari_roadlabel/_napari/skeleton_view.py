"""Skeletons on the current frame: edges as lines, points as markers coloured by side and visibility.

Two read-only layers, "Skeleton edges" (a path per edge whose both points are
placed) and "Skeleton points" (a marker per placed point), handed to the
display like every other view, so the frame overlay draws them with the rest.
Made active, the points layer is where skeletons are selected and their points
dragged (skeleton_editing): each row carries its track and its point's index.
A point on the left side (its name starts with ``left``) is blue, on the right
orange, in the middle green; an occluded point is faded, an absent one not
drawn.  The edges take the class's colour.
"""

from __future__ import annotations

import numpy as np

from ..core import FrameObject, GeometryKind
from ..core.geometry import ABSENT, OCCLUDED
from .adapter import LayerData, to_napari, to_xy
from .display import add_quietly
from .overlay import LayerContent
from .skeleton_editing import SkeletonEditing
from .style import class_color, hex_to_rgba

EDGES_NAME, POINTS_NAME = "Skeleton edges", "Skeleton points"
SIDE_COLORS = {"left": "#3080ff", "right": "#ff8020", "centre": "#30d060"}
OCCLUDED_ALPHA = 0.35
EDGE_WIDTH = 2.0
EDGE_COLUMNS = ("track_id",)
POINT_COLUMNS = ("track_id", "point", "name")  # napari's status bar names the point under the pointer


def side_of(point_name: str) -> str:
    """'left', 'right' or 'centre', from a point's name (COCO's left_shoulder, right_knee, nose ...)."""
    return next((side for side in ("left", "right") if point_name.lower().startswith(side)), "centre")


def point_color(point_name: str, visibility: int) -> np.ndarray:
    return hex_to_rgba(SIDE_COLORS[side_of(point_name)], OCCLUDED_ALPHA if visibility == OCCLUDED else 1.0)


def skeleton_contents(objects: list[FrameObject], taxonomy) -> tuple[LayerData, LayerData]:
    """The edges' and the points' layer data of every skeleton state among ``objects``."""
    edges, points = LayerData(features={"track_id": []}), LayerData(features={column: [] for column in POINT_COLUMNS})
    for obj in objects:
        geometry, spec = obj.state.geometry, taxonomy[obj.track.class_name]
        if geometry.kind is not GeometryKind.SKELETON or spec.skeleton is None:
            continue
        placed = geometry.visibility != ABSENT
        rows = to_napari(geometry.points)
        _add_edges(edges, obj, geometry.points, taxonomy)
        for index in np.flatnonzero(placed):
            points.add(rows[index], "point", point_color(spec.skeleton.points[index], geometry.visibility[index]),
                       track_id=obj.track.id, point=int(index), name=spec.skeleton.points[index])
    return edges, points


def _add_edges(edges: LayerData, obj: FrameObject, points_xy: np.ndarray, taxonomy) -> None:
    """A path per edge of ``obj``'s skeleton between two placed points of ``points_xy`` (NaN: absent)."""
    placed, rows = ~np.isnan(points_xy).any(axis=1), to_napari(points_xy)
    color = hex_to_rgba(class_color(taxonomy, obj.track.class_name))
    for a, b in taxonomy[obj.track.class_name].skeleton.edge_indices():
        if placed[a] and placed[b]:
            edges.add(rows[[a, b]], "path", color, edge_width=EDGE_WIDTH, track_id=obj.track.id)


class SkeletonView:
    def __init__(self, workspace):
        self.workspace = workspace
        self.edges_layer = None
        self.points_layer = None
        self.editing = SkeletonEditing(workspace)
        workspace.frame_shown.connect(self.show)

    def show(self, frame: int | None = None) -> None:
        edges, points = skeleton_contents(self.workspace.shown_objects, self.workspace.project.taxonomy)
        if not len(points) and self.points_layer is None:
            return
        self._make_layers()
        display = self.workspace.display
        display.show(self.edges_layer, LayerContent("shapes", edges, EDGE_COLUMNS))
        display.show(self.points_layer, LayerContent("points", points, POINT_COLUMNS))
        self.editing.select(self.workspace.selected_track)  # the fill cleared what was picked

    def layers(self) -> list:
        return [self.edges_layer, self.points_layer]

    def _follow_drag(self, event=None) -> None:
        """napari redraws the points while they are dragged: the edges follow before the store is written."""
        layer = self.points_layer
        shown = np.asarray(self.workspace.display.content(layer).data.data, dtype=float).reshape(-1, 2)
        if not self.editing.editable() or np.array_equal(layer.data, shown):
            return  # napari refreshed the layer for another reason (a selection): the edges shown still fit
        moved, ids, indices = to_xy(layer.data), layer.features["track_id"].to_numpy(), layer.features["point"]
        edges = LayerData(features={"track_id": []})
        for obj in self.workspace.shown_objects:
            mine = ids == obj.track.id
            if mine.any():
                points = obj.state.geometry.points.copy()
                points[indices.to_numpy()[mine].astype(int)] = moved[mine]
                _add_edges(edges, obj, points, self.workspace.project.taxonomy)
        self.workspace.display.show(self.edges_layer, LayerContent("shapes", edges, EDGE_COLUMNS))

    def _make_layers(self) -> None:
        if self.points_layer is not None:
            return
        viewer = self.workspace.viewer
        self.edges_layer = add_quietly(viewer, lambda viewer: viewer.add_shapes(
            ndim=2, name=EDGES_NAME, face_color="transparent",
            features=LayerData(features={"track_id": []}).feature_table(EDGE_COLUMNS)))
        self.edges_layer.editable = False  # drawn from the points
        self.points_layer = add_quietly(viewer, lambda viewer: viewer.add_points(
            ndim=2, name=POINTS_NAME, size=7, border_width=0.15, border_color="white",
            features=LayerData(features={column: [] for column in POINT_COLUMNS}).feature_table(POINT_COLUMNS)))
        self.points_layer.mode = "select"
        self.workspace.display.register(self.edges_layer, "shapes", EDGE_COLUMNS)
        self.workspace.display.register(self.points_layer, "points", POINT_COLUMNS)
        self.editing.watch(self.points_layer)
        self.points_layer.events.set_data.connect(self._follow_drag)
