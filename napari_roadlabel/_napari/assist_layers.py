"""What assist mode draws over the frame: the suggestions waiting for a person, unlike anything they drew.

"Suggestions (dotted)" lays dots along each suggested geometry's outline, in its class's colour (a mask's or
a point's is its bounding box).  "Suggestion confidence" puts a small diamond at each suggestion with its
text: "traffic-light? 0.61" at a proposed object's top-left corner, "state: green? 0.83" at the bottom-left
of an object whose attributes are suggested.  Both are read-only and hold the current frame only, refilled
with the element layers (the workspace's ``frame_shown``), so they show what the store holds.
"""

from __future__ import annotations

import numpy as np

from ..core import FrameObject, Source
from ..core.suggestions import GEOMETRY, TAGS
from .adapter import LayerData, box_corners, to_napari
from .derived_outlines import dashes, outline, vectors_content
from .display import add_quietly
from .overlay import LayerContent
from .style import class_color, hex_to_rgba

DOTS_LAYER = "Suggestions (dotted)"
TEXT_LAYER = "Suggestion confidence"
DOT_PX, DOT_GAP_PX = 1.5, 4.0
DOT_WIDTH = 3.0
POINT_PAD = 6.0  # px around a suggested point: its outline is a small square
TEXT_STYLE = {"string": "{text}", "size": 9, "color": "white", "anchor": "lower_left"}


def suggestion_outline(obj: FrameObject) -> np.ndarray:
    """The x, y points the dots follow: the object's outline, or its bounding box (masks, points)."""
    points = outline(obj)
    if points is not None and len(points) >= 2:
        return points
    x0, y0, x1, y1 = obj.state.geometry.bounds()
    pad = POINT_PAD if x1 - x0 < 1 and y1 - y0 < 1 else 0.0
    corners = box_corners(obj.state.geometry) + np.array([[-pad, -pad], [pad, -pad], [pad, pad], [-pad, pad]])
    return np.vstack([corners, corners[:1]])


class SuggestionView:
    def __init__(self, workspace, assist):
        self.workspace = workspace
        self.assist = assist
        self.dots = None
        self.labels = None
        self._showing = False  # whether the layers hold anything: empty ones are not emptied again each step
        workspace.frame_shown.connect(lambda frame: self.show())

    def show(self) -> None:
        taxonomy = self.workspace.project.taxonomy
        objects = {obj.track.id: obj for obj in self.workspace.shown_objects}
        pending = [item for item in self.assist.here if item.kind != TAGS and item.target in objects]
        vectors, colors, anchors, texts, anchor_colors = [], [], [], [], []
        for item in pending:
            obj = objects[item.target]
            color = hex_to_rgba(class_color(taxonomy, obj.track.class_name))
            x0, y0, x1, y1 = obj.state.geometry.bounds()
            if item.kind == GEOMETRY and obj.state.source is Source.SUGGESTED:
                found = dashes(suggestion_outline(obj), DOT_PX, DOT_GAP_PX)
                vectors.append(found)
                colors += [color] * len(found)
                anchors.append((x0, y0))
            else:
                anchors.append((x0, y1))
            texts.append(self.assist.describe(item))
            anchor_colors.append(color)
        if pending or self._showing:
            self._show_dots(vectors_content(vectors, colors))
            self._show_labels(anchors, texts, anchor_colors)
        self._showing = bool(pending)

    def _show_dots(self, content: LayerContent) -> None:
        if self.dots is None:
            self.dots = add_quietly(self.workspace.viewer, lambda viewer: viewer.add_vectors(
                np.zeros((0, 2, 2)), name=DOTS_LAYER, edge_width=DOT_WIDTH, length=1.0, vector_style="line"))
            self.workspace.display.register(self.dots, "vectors")
        self.workspace.display.show(self.dots, content)

    def _show_labels(self, anchors: list, texts: list[str], colors: list) -> None:
        if self.labels is None:
            self.labels = add_quietly(self.workspace.viewer, lambda viewer: viewer.add_points(
                ndim=2, name=TEXT_LAYER, size=7, symbol="diamond", border_width=0,
                features=LayerData(features={"text": []}).feature_table(("text",)), text=TEXT_STYLE))
            self.workspace.display.register(self.labels, "points", ("text",))
        data = LayerData(features={"text": []})
        for anchor, text, color in zip(anchors, texts, colors, strict=True):
            data.add(to_napari(np.array([anchor], dtype=float))[0], "point", color, text=text)
        self.workspace.display.show(self.labels, LayerContent("points", data, columns=("text",)))

    def layers(self) -> list:
        return [layer for layer in (self.dots, self.labels) if layer is not None]
