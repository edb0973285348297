"""Placing a skeleton by clicking its points in order, in a Points layer of its own.

Choosing a class "as skeleton" makes the "Skeleton placing" layer active in
napari's add mode.  Each click there places the next point of the class's
skeleton (the panel names it, ``next_point``); Alt-Shift-S skips it (absent)
and Alt-Shift-O marks the next point occluded.  After the last point the
points become one skeleton state of a new track on the current frame, in one
undo step, and the layer empties for the next one.  Going to another frame
starts over.  ``place_in_box`` instead puts a standing person
(core.skeletons.template_in_box) into the selected box, as a new object.
"""

from __future__ import annotations

import numpy as np
from psygnal import Signal

from ..core import Geometry, GeometryKind, RoadlabelError, make_skeleton
from ..core.geometry import ABSENT, OCCLUDED, VISIBLE
from ..core.skeletons import template_in_box
from .adapter import clip_to_image, to_xy
from .skeleton_view import point_color

LAYER_NAME = "Skeleton placing"


class SkeletonTool:
    progress = Signal(str)  # what the panel shows: the next point, or that placing is over

    def __init__(self, workspace):
        self.workspace = workspace
        self.layer = None
        self.class_name: str | None = None  # the class being placed; None when the tool is off
        self.frame = -1
        self.points: list[np.ndarray] = []  # the points placed or skipped so far, x, y (NaN when skipped)
        self.visibility: list[int] = []
        self.next_occluded = False
        workspace.frame_shown.connect(self._on_frame)

    @property
    def skeleton(self):
        return self.workspace.project.taxonomy[self.class_name].skeleton

    @property
    def next_point(self) -> str | None:
        """The name of the point the next click places (None when the tool is off)."""
        return None if self.class_name is None else self.skeleton.points[len(self.points)]

    def start(self, class_name: str) -> None:
        """Place skeletons of ``class_name`` from its first point, in the active placing layer."""
        self.class_name = class_name
        self._restart()
        layer = self._layer()
        self.workspace.viewer.layers.selection.active = layer
        layer.mode = "add"

    def stop(self) -> None:
        if self.class_name is not None:
            self.class_name = None
            self._empty_layer()
            self.progress.emit("")

    def skip(self) -> None:
        """The next point is not in the picture (absent)."""
        if self.class_name is not None:
            self._place(np.full(2, np.nan), ABSENT)

    def toggle_occluded(self) -> None:
        """The next point is hidden behind something (placed where it would be) or, again, visible."""
        if self.class_name is not None:
            self.next_occluded = not self.next_occluded
            self._announce()

    def place_in_box(self) -> None:
        """A skeleton of the selected box's class, a standing person scaled into the box, as a new object on this
        frame (one undo step)."""
        workspace, frame = self.workspace, self.workspace.current_frame
        track_id = workspace.selected_track
        state = workspace.project.state(track_id, frame) if track_id is not None else None
        if state is None or state.geometry.kind is not GeometryKind.BOX:
            raise RoadlabelError(None, "select a box on this frame to place a skeleton in")
        class_name = workspace.project.track(track_id).class_name
        skeleton = workspace.project.taxonomy[class_name].skeleton
        if skeleton is None:
            raise RoadlabelError(None, f"class {class_name!r} has no skeleton")
        geometry = template_in_box(skeleton, state.geometry.bounds(), where=f"skeleton in the box of track {track_id}")
        self._add_object(class_name, geometry, frame)

    def layers(self) -> list:
        return [self.layer]

    # ---------------------------------------------------------- placing

    def _on_click(self, event) -> None:
        if str(getattr(event, "action", "")) != "added" or self.class_name is None or self.workspace.filling:
            return
        sequence = self.workspace.project.sequence
        xy = clip_to_image(to_xy(self.layer.data[-1:]), sequence.width, sequence.height)[0]
        visibility = OCCLUDED if self.next_occluded else VISIBLE
        colors = self.layer.face_color.copy()
        colors[-1] = point_color(self.next_point, visibility)  # napari's add ignores current_face_color
        self.layer.face_color = colors
        self._place(xy, visibility)

    def _place(self, xy: np.ndarray, visibility: int) -> None:
        self.points.append(xy)
        self.visibility.append(visibility)
        self.next_occluded = False
        if len(self.points) == len(self.skeleton.points):
            self._write()
        else:
            self._announce()

    def _write(self) -> None:
        frame = self.workspace.current_frame
        points, visibility = np.array(self.points), np.array(self.visibility, np.uint8)
        self._restart()
        try:
            self._add_object(self.class_name, make_skeleton(points, visibility,
                                                            where=f"skeleton placed on frame {frame}"), frame)
        except RoadlabelError as error:
            self.workspace.report(error)

    def _add_object(self, class_name: str, geometry: Geometry, frame: int) -> None:
        """A new track of ``class_name`` with the skeleton ``geometry`` on ``frame``, in one undo step."""
        project = self.workspace.project
        with project.group(f"place a {class_name} skeleton on frame {frame}"):
            track = project.add_track(class_name)
            project.set_state(track.id, frame, geometry)
        self.workspace.after_edit(f"placed a {class_name} skeleton (track {track.id}) on frame {frame}")

    def _restart(self) -> None:
        self.frame = self.workspace.current_frame
        self.points, self.visibility, self.next_occluded = [], [], False
        self._empty_layer()
        self._announce()

    def _announce(self) -> None:
        name = self.next_point
        occluded = " (occluded)" if self.next_occluded else ""
        self.progress.emit(f"next: {name}{occluded}  [{len(self.points) + 1}/{len(self.skeleton.points)}]")

    def _on_frame(self, frame: int) -> None:
        if self.class_name is not None and frame != self.frame:
            self._restart()

    def _empty_layer(self) -> None:
        if self.layer is not None and len(self.layer.data):
            with self.layer.events.data.blocker():
                self.layer.selected_data = set()
                self.layer.data = np.zeros((0, 2))

    def _layer(self):
        if self.layer is None:
            self.layer = self.workspace.viewer.add_points(ndim=2, name=LAYER_NAME, size=7, border_width=0.15,
                                                          border_color="white")
            self.layer.events.data.connect(self._on_click)
            self.workspace.layer_created.emit(self.layer)  # the key bindings work on it too
            self._announce()
        return self.layer
