"""Writing the annotator's edits in napari layers back to the store.

After any edit in an element layer (drawn, moved, reshaped, pasted, deleted,
painted) the layer's contents are compared with what was put in it for this
frame, and the differences are written as manual keyframes in one undo step.
Comparing contents instead of trusting each napari event's indices covers
every way napari changes a layer (paste, for one, raises no data event).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from napari.utils.events import Event

from ..core import AnnotationError, Geometry, GeometryKind, RoadlabelError, Track
from .adapter import LayerData, labels_to_masks, points_to_geometry, shape_to_geometry
from .layers import ElementLayer, classes_of

EDIT_ACTIONS = {"added", "changed", "removed"}
NEW_MASK_LABEL = 2**31 - 1  # the label a new mask is painted with until it becomes a track
TOLERANCE = 1e-3  # napari keeps coordinates as float32: smaller differences are not edits


def same_geometry(shown: Geometry | None, edited: Geometry) -> bool:
    if shown is None or shown.kind is not edited.kind or shown.points.shape != edited.points.shape:
        return False
    if shown.mask is not None:
        return np.array_equal(shown.points, edited.points) and np.array_equal(shown.mask, edited.mask)
    return bool(np.allclose(shown.points, edited.points, atol=TOLERANCE))


class LayerSync:
    """Keeps, per element layer, what was shown on this frame, and writes the annotator's changes."""

    def __init__(self, workspace):
        self.workspace = workspace
        self.project = workspace.project
        self._shown: dict[ElementLayer, dict[int, Geometry]] = {}
        self._open_keypoints: int | None = None  # new keypoints join this track until a new object is started
        self._frame = -1

    def watch(self, layer, element: ElementLayer) -> None:
        self._shown.setdefault(element, {})
        if element.layer_type == "labels":
            layer.events.paint.connect(lambda event: self.sync(layer, element))
            return
        layer.events.data.connect(partial(self._on_data, layer, element))
        layer.events.features.connect(lambda event: self.sync(layer, element))  # napari's paste raises only this
        layer.selected_data.events.items_changed.connect(lambda *args: self.workspace.on_layer_selection())

    def remember(self, frame: int, by_layer: dict[ElementLayer, LayerData]) -> None:
        """The layers now show ``frame``; this is what each holds."""
        if frame != self._frame:
            self._open_keypoints = None
        self._frame = frame
        for element in self._shown:
            shown = by_layer.get(element, LayerData())
            self._shown[element] = {track_id: geometry for track_id, geometry in shown.geometries}

    def shown_ids(self, element: ElementLayer) -> set[int]:
        return set(self._shown.get(element, ()))

    def start_new_object(self) -> None:
        self._open_keypoints = None

    @staticmethod
    def fresh_label() -> int:
        return NEW_MASK_LABEL

    # ---------------------------------------------------------- events

    def _on_data(self, layer, element: ElementLayer, event: Event) -> None:
        if str(getattr(event, "action", "")) in EDIT_ACTIONS:
            self.sync(layer, element)

    def sync(self, layer, element: ElementLayer) -> None:
        """Write what changed in ``layer`` on the shown frame; refused edits are reported and undone."""
        workspace = self.workspace
        if (workspace.filling or workspace.shown_frame != workspace.current_frame
                or not workspace.display.is_live(layer)):
            return  # our own fill, a frame about to be refilled, or a layer the overlay draws (it holds nothing)
        frame = workspace.shown_frame
        write = {"labels": self._write_masks, "points": self._write_points}.get(element.layer_type,
                                                                                self._write_shapes)
        try:
            with self.project.group(f"edit {element.name} on frame {frame}"):
                changes = write(layer, element, frame)
        except RoadlabelError as error:
            workspace.report(error)
            return
        if changes:
            workspace.viewer.status = f"{element.name}: {changes} change(s) saved on frame {frame}"
            workspace.refresh_later()
            workspace.edited.emit(f"edited {element.name} on frame {frame}")

    # ---------------------------------------------------------- shapes and points

    def _write_shapes(self, layer, element: ElementLayer, frame: int) -> int:
        size = self._image_size()
        geometries: dict[int, Geometry] = {}
        for index, (coordinates, shape_type) in enumerate(zip(layer.data, layer.shape_type, strict=True)):
            track_id = self._track_of_row(layer, element, index, geometries)
            geometries[track_id] = shape_to_geometry(coordinates, shape_type, image_size=size,
                                                     where=f"{element.name}, shape {index}")
        return self._write_states(element, frame, geometries)

    def _write_points(self, layer, element: ElementLayer, frame: int) -> int:
        indices_of: dict[int, list[int]] = {}
        for index in range(len(layer.data)):
            track_id = self._track_of_row(layer, element, index, indices_of, joins_keypoints=True)
            indices_of.setdefault(track_id, []).append(index)
        geometries = {}
        for track_id, indices in indices_of.items():
            kind = self._point_kind(track_id, element, len(indices))
            geometries[track_id] = points_to_geometry(layer.data[indices], kind, image_size=self._image_size(),
                                                      where=f"{element.name}, track {track_id}")
        return self._write_states(element, frame, geometries)

    def _point_kind(self, track_id: int, element: ElementLayer, count: int) -> GeometryKind:
        shown = self._shown[element].get(track_id)
        if shown is not None:
            return shown.kind
        kinds = self.project.taxonomy[self.project.track(track_id).class_name].geometry
        return GeometryKind.POINT if count == 1 and GeometryKind.POINT in kinds else GeometryKind.KEYPOINTS

    def _track_of_row(self, layer, element: ElementLayer, index: int, taken, *, joins_keypoints=False) -> int:
        """The track a layer row belongs to, making a new track for a newly drawn (or duplicated) object.

        napari gives a new row the features of the selected one, so a row may
        repeat a track id: for keypoints that adds a point to that object, for
        anything else it is a new object like the selected one.
        """
        features = layer.features
        track_id = int(features["track_id"].iloc[index])
        template = self.project.track(track_id) if self.project.has_track(track_id) else None
        if template is not None and track_id not in taken:
            return track_id  # shown here, or pasted from another frame: the same track continues
        joined = self._keypoints_to_join(template) if joins_keypoints else None
        track = (self.project.track(joined) if joined is not None
                 else self._new_track(element, str(features["class"].iloc[index]), template))
        if joins_keypoints and self._draws_keypoints(track.class_name):
            self._open_keypoints = track.id
        features.at[features.index[index], "track_id"] = track.id
        return track.id

    def _keypoints_to_join(self, template: Track | None) -> int | None:
        if template is not None:
            return template.id if self._draws_keypoints(template.class_name) else None
        return self._open_keypoints

    def _draws_keypoints(self, class_name: str) -> bool:
        """Clicks for this class add points to one object (keypoints) rather than one object each."""
        kinds = self.project.taxonomy[class_name].geometry
        return GeometryKind.KEYPOINTS in kinds and GeometryKind.POINT not in kinds

    def _new_track(self, element: ElementLayer, row_class: str, template: Track | None) -> Track:
        if template is not None:  # a copy of a shown object: a new track like it
            return self.project.add_track(template.class_name, template.attributes)
        classes = classes_of(element, self.project.taxonomy)
        active = self.workspace.active_class
        class_name = active if active in classes else row_class if row_class in classes else None
        if class_name is None:
            raise AnnotationError(None, f"no class of the taxonomy is drawn in the {element.name} layer")
        return self.project.add_track(class_name)

    def _takes_masks(self, track_id: int) -> bool:
        """A label shown on this frame is that track's mask only when its class has masks."""
        if not self.project.has_track(track_id):
            return False
        return GeometryKind.MASK in self.project.taxonomy[self.project.track(track_id).class_name].geometry

    # ---------------------------------------------------------- masks

    def _write_masks(self, layer, element: ElementLayer, frame: int) -> int:
        labels = layer.data
        painted = {int(value) for value in np.unique(labels)} - {0}
        for value in sorted(painted):
            if value == NEW_MASK_LABEL or value not in self._shown[element] or not self._takes_masks(value):
                track = self._new_track(element, self.workspace.active_class, None)
                labels[labels == value] = track.id
                painted = painted - {value} | {track.id}
                layer.selected_label = track.id
        masks = labels_to_masks(labels, painted | set(self._shown[element]))
        return self._write_states(element, frame, {track_id: mask for track_id, mask in masks.items() if mask})

    # ---------------------------------------------------------- the store

    def _write_states(self, element: ElementLayer, frame: int, geometries: dict[int, Geometry]) -> int:
        """Put each changed geometry on ``frame``; tracks no longer in the layer leave this frame."""
        shown = self._shown[element]
        changes = 0
        for track_id, geometry in geometries.items():
            if not same_geometry(shown.get(track_id), geometry):
                self.project.set_state(track_id, frame, geometry)
                shown[track_id] = geometry
                changes += 1
        for track_id in set(shown) - set(geometries):
            self.project.delete_state(track_id, frame)
            del shown[track_id]
            changes += 1
        return changes

    def _image_size(self) -> tuple[int, int]:
        return self.project.sequence.width, self.project.sequence.height
