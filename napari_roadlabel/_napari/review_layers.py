"""What review mode draws over the frame: the checks' findings and the reviewers' point comments.

"QA findings" outlines where each finding on the current frame points (red
for errors, orange for warnings), labelled with the check's name.  "Review
comments" pins comments made on a point of the current frame (magenta while
open, grey once resolved); it is also where a reviewer clicks to place a new
point comment.  Both hold the current frame only, like the element layers.
"""

from __future__ import annotations

import numpy as np
from napari.layers.base._base_constants import ActionType

from ..core import RoadlabelError
from ..qa.findings import Finding, Severity
from .adapter import LayerData
from .display import add_quietly
from .overlay import LayerContent
from .style import hex_to_rgba

FINDINGS_LAYER = "QA findings"
COMMENTS_LAYER = "Review comments"
SEVERITY_COLORS = {Severity.ERROR: "#ff3030", Severity.WARNING: "#ffa500", Severity.INFO: "#40c0ff"}
OPEN_COLOR, RESOLVED_COLOR = "#ff40ff", "#909090"
POINT_PAD = 10.0  # px around a finding that points at one spot
MAX_LABEL = 40  # characters of a comment shown beside its pin
FINDING_WIDTH = 2.0
TEXT = {"color": "white", "size": 9, "anchor": "upper_left"}


class FindingsView:
    def __init__(self, workspace, review_mode):
        self.workspace = workspace
        self.review_mode = review_mode
        self.layer = None
        workspace.frame_shown.connect(lambda frame: self.show())
        review_mode.findings_changed.connect(lambda findings: self.show())

    def show(self) -> None:
        frame = self.workspace.current_frame
        boxes = [(box, finding) for finding in self.review_mode.findings if finding.frame == frame
                 for box in [self._box_of(finding)] if box is not None]
        if not boxes and self.layer is None:
            return
        data = LayerData(features={"check": []})
        for box, finding in boxes:
            data.add(_rectangle(box), "rectangle", hex_to_rgba(SEVERITY_COLORS[finding.severity]),
                     edge_width=FINDING_WIDTH, check=finding.check)
        self.workspace.display.show(self._layer(), LayerContent("shapes", data, columns=("check",)))

    def _box_of(self, finding: Finding) -> tuple[float, float, float, float] | None:
        """The finding's region, else the bounds of its first object on this frame."""
        if finding.region is not None:
            x0, y0, x1, y1 = finding.region
            pad = POINT_PAD if x1 - x0 < 2 * POINT_PAD and y1 - y0 < 2 * POINT_PAD else 0.0
            return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        for track_id in finding.track_ids:
            state = self.workspace.project.state(track_id, finding.frame)
            if state is not None:
                return state.geometry.bounds()
        return None

    def _layer(self):
        if self.layer is None:
            self.layer = add_quietly(self.workspace.viewer, lambda viewer: viewer.add_shapes(
                ndim=2, name=FINDINGS_LAYER, edge_width=FINDING_WIDTH, face_color="transparent",
                features=LayerData(features={"check": []}).feature_table(("check",)),
                text={"string": "{check}", **TEXT}))
            self.workspace.display.register(self.layer, "shapes", ("check",))
        return self.layer


class CommentPins:
    def __init__(self, workspace, review_mode):
        self.workspace = workspace
        self.review_mode = review_mode
        self.layer = None
        self.placing = False  # the next point added to the layer becomes a comment
        workspace.frame_shown.connect(lambda frame: self.show())
        review_mode.changed.connect(self.show)

    def show(self) -> None:
        frame = self.workspace.current_frame
        pinned = [comment for comment in self.review_mode.review.comments()
                  if comment.point is not None and comment.frame == frame]
        if not pinned and self.layer is None:
            return
        data = LayerData(features={"text": []})
        for comment in pinned:
            data.add(np.array([comment.point[1], comment.point[0]]), "point",
                     hex_to_rgba(RESOLVED_COLOR if comment.resolved else OPEN_COLOR), text=_short(comment.text))
        self.workspace.display.show(self._layer(), LayerContent("points", data, columns=("text",)))

    def start_placing(self) -> None:
        """The reviewer's next click on the frame places a comment with the panel's text there."""
        if not self.review_mode.reason.strip():
            raise RoadlabelError(None, "type the comment first, then click where it belongs")
        layer = self._layer()
        self.placing = True
        self.workspace.viewer.layers.selection.active = layer
        layer.mode = "add"
        self.workspace.viewer.status = "click on the frame where the comment belongs"

    def _on_data(self, event) -> None:
        if self.workspace.filling or not self.placing or getattr(event, "action", None) is not ActionType.ADDED:
            return
        self.placing = False
        self.layer.mode = "pan_zoom"
        row, column = self.layer.data[-1]
        try:
            self.review_mode.comment(point=(float(column), float(row)))
        except RoadlabelError as error:
            self.workspace.report(error)
            self.show()

    def _layer(self):
        if self.layer is None:
            self.layer = add_quietly(self.workspace.viewer, lambda viewer: viewer.add_points(
                ndim=2, name=COMMENTS_LAYER, size=14, symbol="disc", border_color="white", border_width=0.15,
                features=LayerData(features={"text": []}).feature_table(("text",)), text={"string": "{text}", **TEXT}))
            self.layer.events.data.connect(self._on_data)
            self.workspace.display.register(self.layer, "points", ("text",))
        return self.layer


def _rectangle(box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]])


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"
