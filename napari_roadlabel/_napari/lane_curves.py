"""The "Lane curves" layer: each lane line of the current frame drawn as its fitted curve.

The Lanes layer holds a lane's control points as placed (a thin line you edit);
this read-only layer shows the smooth curve through them, styled by the lane's
attributes and named by its place relative to the car (left, right, ...).  It
follows the store on every frame and the Lanes layer while a point is dragged.
"""

from __future__ import annotations

import numpy as np

from ..core.lane_order import order_lanes, order_name
from ..core.lanes import fit_lanes_leniently, is_lane_class
from .adapter import LayerData, to_napari, to_xy
from .display import add_quietly
from .layers import LANES
from .overlay import LayerContent
from .style import edge_color, lane_width

LAYER_NAME = "Lane curves"
CURVE_STEP = 8.0  # pixels of arc between the points drawn (more makes each step slower, not smoother)
DRAFT_STYLE = (np.array([1.0, 1.0, 1.0, 1.0]), 2.0)  # a lane being drawn, not in the store yet
TEXT = {"string": "{label}", "size": 9, "color": "white", "anchor": "center"}  # mid-lane


class LaneCurveView:
    def __init__(self, workspace):
        self.workspace = workspace
        self.layer = None
        self._styles: dict[int, tuple[np.ndarray, float]] = {}
        self.order: dict[int, int] = {}  # track id -> place relative to the car (-1 left, 1 right, ...)
        workspace.frame_shown.connect(self.show_store)
        workspace.layer_created.connect(self._watch)

    def show_store(self, frame: int | None = None) -> None:
        """The lanes of the shown frame, from the store."""
        taxonomy = self.workspace.project.taxonomy
        lanes = [obj for obj in self.workspace.shown_objects if is_lane_class(obj.track.class_name)]
        self._styles = {obj.track.id: (edge_color(obj, taxonomy), lane_width(obj)) for obj in lanes}
        self._show({obj.track.id: obj.state.geometry.points for obj in lanes})

    def _watch(self, layer) -> None:
        if layer is self.workspace.layers.get(LANES):
            layer.events.set_data.connect(self._follow_drag)

    def _follow_drag(self, event=None) -> None:
        """napari redraws the Lanes layer while a point moves: redraw the curves with it."""
        if self.workspace.filling:
            return
        lanes = self.workspace.layers[LANES]
        features = lanes.features
        controls = {int(track_id): to_xy(vertices)
                    for vertices, track_id, class_name in zip(lanes.data, features["track_id"], features["class"],
                                                              strict=True)
                    if is_lane_class(class_name)}
        self._show(controls)

    def _show(self, controls: dict[int, np.ndarray]) -> None:
        if not controls and self.layer is None:
            return
        curves = fit_lanes_leniently(controls)
        sequence = self.workspace.project.sequence
        self.order = order_lanes(curves, sequence.width, sequence.height)
        self.workspace.display.show(self._layer(), LayerContent("shapes", self._layer_data(curves), ("label",)))

    def _layer_data(self, curves: dict) -> LayerData:
        data = LayerData(features={"label": []})
        for track_id, curve in curves.items():
            color, width = self._styles.get(track_id, DRAFT_STYLE)
            data.add(to_napari(curve.polyline(CURVE_STEP)), "path", color, edge_width=width,
                     label=order_name(self.order[track_id]))
        return data

    def _layer(self):
        if self.layer is None:
            viewer = self.workspace.viewer
            self.layer = add_quietly(viewer, lambda viewer: viewer.add_shapes(
                ndim=2, name=LAYER_NAME, face_color="transparent", text=TEXT,
                features=LayerData().feature_table(("label",))))
            self.layer.editable = False  # derived from the Lanes layer: edit the control points there
            lanes = self.workspace.layers.get(LANES)
            if lanes is not None:  # just under the control points
                viewer.layers.move(viewer.layers.index(self.layer), viewer.layers.index(lanes))
            self.workspace.display.register(self.layer, "shapes", ("label",))
        return self.layer
