"""Editing skeletons on the canvas: selecting one, dragging its points, hiding or removing a point.

The "Skeleton points" layer is drawn by the overlay like every read-only view,
until it is made active (by clicking it in the layer list, or by selecting a
skeleton in the object list): then it is live, in napari's select mode, and
its rows carry their track and their point's index in the skeleton.

- Clicking a point selects its skeleton (the object list follows); selecting a
  skeleton selects all its points, so a drag moves it whole, while a click on
  one point then drags that point alone.  This is how a template dropped into
  a box is fitted to the person.
- While a point is dragged its edges follow (skeleton_view), before anything
  is written.
- Each drag, each removal (Delete: the point becomes absent) and each
  Alt-Shift-O (the selected points turn occluded, or visible again) is written
  as a manual keyframe of every skeleton it changed, in one undo step.
- Points are not added here: that is the skeleton tool's job, so a point added
  in the layer's add mode is refused and taken away.
"""

from __future__ import annotations

import numpy as np

from ..core import AnnotationError, Geometry, GeometryKind, RoadlabelError, make_skeleton
from ..core.geometry import ABSENT, OCCLUDED, VISIBLE
from .adapter import clip_to_image, to_xy

EDIT_ACTIONS = {"added", "changed", "removed"}


def skeletons_as_edited(shown: dict[int, Geometry], rows_xy: np.ndarray, track_ids: np.ndarray,
                        point_indices: np.ndarray) -> dict[int, Geometry | None]:
    """Each shown skeleton as the layer's rows now place it (None once none of its points is left).

    A row moves its point; a point whose row is gone is absent; the others keep their visibility.  Rows of a
    track not shown, or two rows for one point, are points added in the layer: AnnotationError.
    """
    unknown = sorted(set(track_ids.tolist()) - set(shown))
    if unknown:
        raise AnnotationError(None, f"skeleton points are placed with the skeleton tool (choose the class as "
                                    f"'skeleton'), not added in the layer (track {unknown[0]})")
    edited = {}
    for track_id, geometry in shown.items():
        mine = track_ids == track_id
        indices = point_indices[mine]
        if len(set(indices.tolist())) < len(indices):
            raise AnnotationError(None, f"skeleton of track {track_id}: a point was added in the layer; skeleton "
                                        "points are placed with the skeleton tool")
        points = np.full(geometry.points.shape, np.nan)
        visibility = np.full(len(points), ABSENT, np.uint8)
        points[indices] = rows_xy[mine]
        visibility[indices] = np.where(geometry.visibility[indices] == OCCLUDED, OCCLUDED, VISIBLE)
        edited[track_id] = make_skeleton(points, visibility, where=f"skeleton of track {track_id}") \
            if len(indices) else None
    return edited


def toggled_occlusion(geometry: Geometry, indices: list[int]) -> Geometry:
    """``geometry`` with its placed points ``indices`` occluded, or all visible again when they all were."""
    visibility = geometry.visibility.copy()
    placed = [index for index in indices if visibility[index] != ABSENT]
    visibility[placed] = VISIBLE if (visibility[placed] == OCCLUDED).all() else OCCLUDED
    return make_skeleton(geometry.points, visibility)


class SkeletonEditing:
    """Writes the annotator's edits in the live "Skeleton points" layer to the store."""

    def __init__(self, workspace):
        self.workspace = workspace
        self.layer = None
        self._picked: set[tuple[int, int]] = set()  # (track, point) of the points the annotator selected

    def watch(self, layer) -> None:
        self.layer = layer
        layer.events.data.connect(self._on_data)
        layer.selected_data.events.items_changed.connect(self._on_selection)

    def selected_tracks(self) -> list[int]:
        if not self.editable():
            return []
        ids = self.layer.features["track_id"]
        return list(dict.fromkeys(int(ids.iloc[index]) for index in sorted(self.layer.selected_data)))

    def select(self, track_id: int | None) -> bool:
        """Select every point of ``track_id``'s skeleton (making the layer live); whether it is shown here."""
        if self.layer is None:
            return False
        holds = track_id is not None and track_id in self.workspace.display.content(self.layer).track_ids()
        if holds:
            self.workspace.viewer.layers.selection.active = self.layer
        if self.editable():
            indices = self._rows_to_select(track_id) if holds else set()
            if set(self.layer.selected_data) != indices:
                with self.layer.selected_data.events.items_changed.blocked():  # the workspace is selecting
                    self.layer.selected_data = indices
                self.layer.refresh()
        return holds

    def _rows_to_select(self, track_id: int) -> set[int]:
        """The rows of the points last picked on ``track_id`` (kept across edits and frames), else all of its."""
        features = self.layer.features
        rows = np.flatnonzero(features["track_id"].to_numpy() == track_id)
        picked = {int(row) for row in rows if (track_id, int(features["point"].iloc[row])) in self._picked}
        return picked or set(rows.tolist())

    def _on_selection(self, *args) -> None:
        if not self.editable():
            return  # our own fill clears the selection: what was picked stays picked
        features = self.layer.features
        self._picked = {(int(features["track_id"].iloc[row]), int(features["point"].iloc[row]))
                        for row in self.layer.selected_data}
        self.workspace.on_layer_selection()

    def toggle_occluded(self) -> int:
        """The selected points turn occluded (visible again when they all were); how many skeletons changed."""
        if not self.editable() or not self.layer.selected_data:
            return 0
        rows = sorted(self.layer.selected_data)
        features = self.layer.features
        by_track: dict[int, list[int]] = {}
        for row in rows:
            by_track.setdefault(int(features["track_id"].iloc[row]), []).append(int(features["point"].iloc[row]))
        shown = self._shown()
        return self._write({track_id: toggled_occlusion(shown[track_id], indices)
                            for track_id, indices in by_track.items()}, "occlusion")

    # ---------------------------------------------------------- edits

    def _on_data(self, event) -> None:
        if str(getattr(event, "action", "")) not in EDIT_ACTIONS or not self.editable():
            return
        layer, sequence = self.layer, self.workspace.project.sequence
        rows_xy = clip_to_image(to_xy(layer.data), sequence.width, sequence.height)
        try:
            edited = skeletons_as_edited(self._shown(), rows_xy, layer.features["track_id"].to_numpy(),
                                         layer.features["point"].to_numpy())
        except RoadlabelError as error:
            self.workspace.report(error)
            return
        self._write(edited, "points")

    def _write(self, edited: dict[int, Geometry | None], what: str) -> int:
        """Write the skeletons that changed as manual keyframes, in one undo step; how many did."""
        project, frame, shown = self.workspace.project, self.workspace.current_frame, self._shown()
        changed = {track_id: geometry for track_id, geometry in edited.items() if geometry != shown[track_id]}
        if not changed:
            return 0
        tracks = ", ".join(str(track_id) for track_id in changed)
        try:
            with project.group(f"edit skeleton {what} (track {tracks}) on frame {frame}"):
                for track_id, geometry in changed.items():
                    if geometry is None:
                        project.delete_state(track_id, frame)
                    else:
                        project.set_state(track_id, frame, geometry)
        except RoadlabelError as error:
            self.workspace.report(error)
            return 0
        message = f"skeleton {what} of track {tracks} saved on frame {frame}"
        self.workspace.viewer.status = message
        self.workspace.refresh_later()  # napari may still be inside the drag or the removal
        self.workspace.edited.emit(message)
        return len(changed)

    def _shown(self) -> dict[int, Geometry]:
        """The store's skeletons of those the layer shows on this frame (read again: an edit just written may not
        be shown yet)."""
        project, frame = self.workspace.project, self.workspace.current_frame
        states = {track_id: project.state(track_id, frame)
                  for track_id in self.workspace.display.content(self.layer).track_ids()}
        return {track_id: state.geometry for track_id, state in states.items()
                if state is not None and state.geometry.kind is GeometryKind.SKELETON}

    def editable(self) -> bool:
        """The layer holds this frame's skeletons as napari data (not our own fill, not drawn by the overlay)."""
        workspace = self.workspace
        return (self.layer is not None and not workspace.filling and workspace.display.is_live(self.layer)
                and workspace.shown_frame == workspace.current_frame)
