"""The "Not drawn by you" layer: dashed outlines over the current frame's objects that are not keyframes.

Interpolated, propagated and imported states are drawn faint in their own
layers; napari draws no dashed edges, so this read-only Vectors layer lays
short dashes along their outlines, in the object's colour, or in orange where a
propagated state's confidence is under the review threshold.  Keyframes stay
solid: the annotator sees at a glance what is theirs.  Suggested states get
dots instead (assist_layers.py).
"""

from __future__ import annotations

import numpy as np

from ..core import FrameObject, GeometryError, GeometryKind, Source
from ..core.lanes import fit_lane, is_lane_class
from ..temporal.propagation import needs_review
from .adapter import box_corners, to_napari
from .display import add_quietly
from .overlay import LayerContent
from .style import edge_color, hex_to_rgba

LAYER_NAME = "Not drawn by you (dashed)"
DASH_PX = 6.0
GAP_PX = 5.0
DASH_WIDTH = 2.0
FLAGGED_COLOR = hex_to_rgba("#ff8c00")
CURVE_STEP = 4.0  # px between the points of a lane curve the dashes follow


def outline(obj: FrameObject) -> np.ndarray | None:
    """The object's outline as x, y points (closed outlines end where they start); None for points and masks."""
    geometry = obj.state.geometry
    if geometry.kind is GeometryKind.BOX:
        corners = box_corners(geometry)
        return np.vstack([corners, corners[:1]])
    if geometry.kind is GeometryKind.POLYGON:
        return np.vstack([geometry.points, geometry.points[:1]])
    if geometry.kind is GeometryKind.POLYLINE:
        if is_lane_class(obj.track.class_name):
            try:
                return fit_lane(geometry.points).polyline(CURVE_STEP)
            except GeometryError:
                return geometry.points
        return geometry.points
    return None


def dashes(points: np.ndarray, dash: float = DASH_PX, gap: float = GAP_PX) -> np.ndarray:
    """(N, 2, 2) dashes along a polyline of x, y points: each a start and its offset to the end."""
    steps = np.diff(points, axis=0)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*steps.T))])
    if arc[-1] <= 0:
        return np.zeros((0, 2, 2))
    starts = np.arange(0.0, arc[-1], dash + gap)
    ends = np.minimum(starts + dash, arc[-1])
    at = np.column_stack([np.interp(starts, arc, points[:, axis]) for axis in (0, 1)])
    to = np.column_stack([np.interp(ends, arc, points[:, axis]) for axis in (0, 1)])
    return np.stack([at, to - at], axis=1)


def drawn_vectors_layer(workspace, name: str, width: float):
    """A read-only vectors layer the overlay draws (made when first needed; the active layer stays active)."""
    layer = add_quietly(workspace.viewer, lambda viewer: viewer.add_vectors(
        np.zeros((0, 2, 2)), name=name, edge_width=width, length=1.0, vector_style="line"))
    workspace.display.register(layer, "vectors")
    return layer


def vectors_content(dash_groups: list[np.ndarray], colors: list) -> LayerContent:
    """Groups of (N, 2, 2) x, y dashes and a colour per dash, as a Vectors layer's content (napari order)."""
    data = np.concatenate(dash_groups) if dash_groups else np.zeros((0, 2, 2))
    vectors = np.stack([to_napari(data[:, 0]), to_napari(data[:, 1])], axis=1) if len(data) else data
    return LayerContent("vectors", vectors=vectors, vector_colors=np.array(colors).reshape(-1, 4))


class DerivedOutlineView:
    def __init__(self, workspace):
        self.workspace = workspace
        self.layer = None
        workspace.frame_shown.connect(self.show)

    def show(self, frame: int | None = None) -> None:
        taxonomy = self.workspace.project.taxonomy
        vectors, colors = [], []
        for obj in self.workspace.shown_objects:
            if obj.state.is_keyframe or obj.state.source is Source.SUGGESTED:  # suggestions: assist_layers.py
                continue
            points = outline(obj)
            if points is None or len(points) < 2:
                continue
            found = dashes(points)
            color = FLAGGED_COLOR if needs_review(obj.state) else edge_color(obj, taxonomy)[:3].tolist() + [1.0]
            vectors.append(found)
            colors += [color] * len(found)
        if not vectors and self.layer is None:
            return
        self.workspace.display.show(self._layer(), vectors_content(vectors, colors))

    def _layer(self):
        if self.layer is None:
            self.layer = drawn_vectors_layer(self.workspace, LAYER_NAME, DASH_WIDTH)
        return self.layer
