"""A project shown in a napari viewer: the frames, and the current frame's annotations as editable layers.

The store is the truth.  Each element layer (Lanes, Traffic lights, ...) holds
the current frame's objects only and is refilled when the frame changes, so a
step costs time in proportion to the objects on that frame, whatever the length
of the sequence.  An edit in a layer is written to the store at once as a
manual keyframe (`LayerSync`); undo and redo go through the store too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from napari.utils.notifications import show_error
from psygnal import Signal
from qtpy.QtCore import QTimer

from ..core import FrameObject, GeometryKind, Project, RoadlabelError, make_geometry
from ..core.lanes import fit_lane, is_lane_class
from ..core.snap import snap_to_paint
from ..io.frames import FrameSource
from ..temporal.propagation import FLAG_BELOW, needs_review
from .adapter import EDITING_COLUMNS, NEW_OBJECT, LayerData, clip_to_image, objects_by_layer
from .assist_layers import SuggestionView
from .assist_mode import AssistMode
from .derived_outlines import DerivedOutlineView
from .display import OVERLAY, Display, add_quietly
from .filling import fill_layer
from .lane_curves import LaneCurveView
from .layers import ALL_LAYERS, MASKS, ElementLayer, classes_of, drawable_classes, drawn_kinds, layer_for
from .mask_tool import MaskTool
from .overlay import LayerContent
from .propagation import PropagationRunner
from .relating import Relating
from .review_layers import CommentPins, FindingsView
from .review_mode import ReviewMode
from .skeleton_tool import SkeletonTool
from .skeleton_view import SkeletonView
from .style import hex_to_rgba
from .sync import LayerSync
from .vispy_fixes import install as install_vispy_fixes

PROJECT_KEY = "roadlabel_project"  # image layer metadata: the project folder it shows
GHOST_NAME = "Previous frame"
TEXT_STYLE = {"string": "{label}", "size": 9, "color": "white", "anchor": "upper_left"}
SNAP_MAX_SHIFT = 8.0  # px: how far snapping may move a lane, unless the annotator says otherwise
SNAP_SPACING = 25.0  # px of arc between the snapped points that become the lane's new points
GHOST_COLOR = hex_to_rgba("#00e5ff", 0.9)  # cyan: visible on white paint and grey asphalt alike
GHOST_WIDTH = 2.0


class Workspace:
    """Binds one project and its frames to a viewer until ``close()``."""

    frame_shown = Signal(int)  # the layers now show this frame
    selection_changed = Signal(object)  # the selected track id, or None
    edited = Signal(str)  # the store changed (an edit, undo or redo); the text says what
    class_chosen = Signal(str, str)  # the class new objects get, and the geometry kind they are drawn as
    ghost_shown = Signal(bool)  # the previous frame's outlines were shown or hidden
    layer_created = Signal(object)  # a new layer the annotator draws in (element layers, skeleton placing)
    detached = Signal()  # the frames layer is leaving the viewer (the viewer closes, or the user removed it)

    def __init__(self, viewer, project: Project, frames: FrameSource, *, display: str = OVERLAY):
        install_vispy_fixes()  # meshes keep their GL programs across refills (vispy #2568)
        self.viewer = viewer
        self.project = project
        self.frames = frames
        self.image_layer = viewer.add_image(frames.as_array(), name=project.folder.name, rgb=True,
                                            metadata={PROJECT_KEY: str(project.folder)})
        self.layers: dict[ElementLayer, object] = {}
        self.ghost_layer = None
        self.shown_frame = -1
        self.shown_objects: list[FrameObject] = []  # what the layers show: read once per frame, used by all
        self.selected_track: int | None = None  # the last object selected; kept across frames
        self.active_class = drawable_classes(project.taxonomy)[0]
        self.snap_max_shift = SNAP_MAX_SHIFT  # the annotator sets it in the panel
        self._filling = False
        self._refill_pending = False
        self._pending_step: int | None = None  # frames asked for by step_soon, not gone yet
        self._attached = True
        self.display = Display(viewer, self.image_layer, self._filling_layers, display)
        self._sync = LayerSync(self)
        self.lane_curves = LaneCurveView(self)
        self.derived_outlines = DerivedOutlineView(self)
        self.skeleton_view = SkeletonView(self)
        self.skeleton_tool = SkeletonTool(self)
        self.propagation = PropagationRunner(self)
        self.review = ReviewMode(self)
        self.findings_view = FindingsView(self, self.review)
        self.comment_pins = CommentPins(self, self.review)
        self.assist = AssistMode(self)
        self.suggestion_view = SuggestionView(self, self.assist)
        self.mask_tool = MaskTool(self)
        self.relating = Relating(self)
        viewer.dims.events.current_step.connect(self._on_step)
        viewer.layers.events.removing.connect(self._on_layer_removing)
        viewer.dims.set_current_step(0, 0)  # napari would start in the middle of the clip
        if self.shown_frame != 0:  # the step above showed it, unless napari was on frame 0 already
            self.show_frame(0)

    # ---------------------------------------------------------- showing

    @property
    def current_frame(self) -> int:
        return int(self.viewer.dims.current_step[0])

    @property
    def frame_count(self) -> int:
        return self.project.sequence.frame_count

    def show_frame(self, frame: int) -> None:
        """Fill the element layers with the objects on ``frame`` (kept in ``shown_objects`` for the panel)."""
        self.shown_objects = self.project.objects_on(frame)
        self.assist.read_frame(frame)
        by_layer = objects_by_layer(self.shown_objects, self.project.taxonomy)
        with self.display.batch():
            for element in [element for element in ALL_LAYERS if element in self.layers or element in by_layer]:
                self._show_element(element, by_layer.get(element, LayerData()))
            if self.ghost_layer is not None:
                self._fill_ghost(frame - 1)
            self.shown_frame = frame
            self._sync.remember(frame, by_layer)
            self._restore_selection()
            self.frame_shown.emit(frame)

    def _show_element(self, element: ElementLayer, data: LayerData) -> None:
        layer = self.layer(element)
        if element.layer_type == "labels":  # a Labels layer is an image: always live
            with self._filling_layers():
                fill_layer(layer, "labels", data)
        else:
            self.display.show(layer, LayerContent(element.layer_type, data, EDITING_COLUMNS))

    def refresh(self) -> None:
        """Show the current frame again from the store (after an edit, undo or redo)."""
        self._refill_pending = False
        self.show_frame(self.current_frame)

    def refresh_later(self) -> None:
        """Refresh once control is back in the event loop: napari may still be inside the edit that led here."""
        if not self._refill_pending:
            self._refill_pending = True
            QTimer.singleShot(0, self._refresh_if_pending)

    def _refresh_if_pending(self) -> None:
        if self._refill_pending and self._attached:
            self.refresh()

    @contextlib.contextmanager
    def _filling_layers(self) -> Iterator[None]:
        """Layer events raised while we fill the layers are ours, not the annotator's edits."""
        was_filling, self._filling = self._filling, True
        try:
            yield
        finally:
            self._filling = was_filling

    @property
    def filling(self) -> bool:
        return self._filling

    def _on_step(self, event=None) -> None:
        if self._attached and self.current_frame != self.shown_frame:
            self.show_frame(self.current_frame)

    # ---------------------------------------------------------- layers

    def layer(self, element: ElementLayer):
        """The napari layer of ``element``, created the first time it is needed."""
        if element not in self.layers:
            editing = self.viewer.layers.selection.active
            with self._filling_layers():
                self.layers[element] = self._create_layer(element)
            if editing is not None:  # a new layer never takes you off the one you were on (choose_class does)
                self.viewer.layers.selection.active = editing
            self._sync.watch(self.layers[element], element)
            self.layer_created.emit(self.layers[element])
        return self.layers[element]

    def layer_named(self, name: str):
        """The element layer called ``name`` ("Lanes", "Traffic lights", ...), or None when not made yet."""
        return next((layer for element, layer in self.layers.items() if element.name == name), None)

    def _create_layer(self, element: ElementLayer):
        if element.layer_type == "labels":
            labels = np.zeros((self.project.sequence.height, self.project.sequence.width), dtype=np.int32)
            layer = self.viewer.add_labels(labels, name=element.name, opacity=0.5)
            layer.selected_label = self._sync.fresh_label()
            return layer
        classes = classes_of(element, self.project.taxonomy) or [self.active_class]
        features = LayerData().feature_table(EDITING_COLUMNS)
        text = TEXT_STYLE if element.shows_text else None  # text costs a redraw even when empty
        if element.layer_type == "points":
            layer = self.viewer.add_points(ndim=2, name=element.name, size=10, border_width=0.15,
                                           features=features, text=text)
        else:
            layer = self.viewer.add_shapes(ndim=2, name=element.name, edge_width=3, face_color="transparent",
                                           features=features, text=text)
        self._set_defaults(layer, classes[0])
        self.display.register(layer, element.layer_type, EDITING_COLUMNS)
        return layer

    def _set_defaults(self, layer, class_name: str) -> None:
        """What a newly drawn object in ``layer`` starts as: a new track of ``class_name``."""
        layer.feature_defaults = {"track_id": NEW_OBJECT, "class": class_name, "label": ""}
        color = hex_to_rgba(self.project.taxonomy[class_name].color)
        if hasattr(layer, "current_edge_color"):
            layer.current_edge_color = color
        else:
            layer.current_face_color = color

    # ---------------------------------------------------------- ghost of the previous frame

    @property
    def show_ghost(self) -> bool:
        return self.ghost_layer is not None

    @show_ghost.setter
    def show_ghost(self, show: bool) -> None:
        if show and self.ghost_layer is None:
            with self._filling_layers():  # keep drawing where you were: showing the ghost does not make it live
                self.ghost_layer = add_quietly(self.viewer, lambda viewer: viewer.add_shapes(
                    ndim=2, name=GHOST_NAME, opacity=0.8, edge_width=GHOST_WIDTH, face_color="transparent"))
                self.display.register(self.ghost_layer, "shapes")
                self.viewer.layers.move(self.viewer.layers.index(self.ghost_layer), 1)  # just above the frames
                self._fill_ghost(self.current_frame - 1)
        elif not show and self.ghost_layer is not None:
            self.viewer.layers.remove(self.ghost_layer)
            self.ghost_layer = None
        self.ghost_shown.emit(self.show_ghost)

    def toggle_ghost(self) -> None:
        self.show_ghost = not self.show_ghost

    def _fill_ghost(self, frame: int) -> None:
        """Outlines of the previous frame's objects, to see how far things moved."""
        objects = self.project.objects_on(frame) if frame >= 0 else []
        ghost = LayerData(features={})
        for layer_data in objects_by_layer(objects, self.project.taxonomy, masks_as_labels=False).values():
            for data, kind in zip(layer_data.data, layer_data.shape_types, strict=True):
                if kind != "point":
                    ghost.add(data, kind, GHOST_COLOR, edge_width=GHOST_WIDTH)
        self.display.show(self.ghost_layer, LayerContent("shapes", ghost, columns=()))

    # ---------------------------------------------------------- selection

    def selected_tracks(self) -> list[int]:
        """Track ids selected in the element layers (shapes or points), in layer order."""
        selected = []
        for element, layer in self.layers.items():
            if element.layer_type == "labels":
                continue
            ids = layer.features["track_id"]
            selected += [int(ids.iloc[index]) for index in sorted(layer.selected_data)
                         if int(ids.iloc[index]) != NEW_OBJECT]
        return list(dict.fromkeys(selected + self.skeleton_view.editing.selected_tracks()))

    def select_track(self, track_id: int | None) -> None:
        """Select the object of ``track_id`` in its layer (and make that layer active, and so live)."""
        holder = self.display.layer_holding(track_id) if track_id is not None else None
        if holder is not None and holder in self.layers.values():
            self.viewer.layers.selection.active = holder
        for element, layer in self.layers.items():
            if element.layer_type == "labels":
                if track_id is not None and track_id in self._sync.shown_ids(element):
                    layer.selected_label = track_id
                    self.viewer.layers.selection.active = layer
                continue
            ids = layer.features["track_id"].to_numpy()
            indices = set(np.flatnonzero(ids == track_id).tolist()) if track_id is not None else set()
            if set(layer.selected_data) != indices:
                layer.selected_data = indices
                layer.refresh()
            if indices:
                self.viewer.layers.selection.active = layer
        self.skeleton_view.editing.select(track_id)
        self._set_selected(track_id)

    def _set_selected(self, track_id: int | None) -> None:
        if track_id is not None:
            self.selected_track = track_id
        self.selection_changed.emit(track_id)

    def on_layer_selection(self) -> None:
        """The annotator selected objects in a layer."""
        if self._filling:
            return
        selected = self.selected_tracks()
        self._set_selected(selected[0] if selected else None)

    def _restore_selection(self) -> None:
        """Keep the object selected across frames when it is there."""
        if self.selected_track is not None and self.project.state(self.selected_track, self.shown_frame):
            self.select_track(self.selected_track)
        else:
            self.selection_changed.emit(None)

    # ---------------------------------------------------------- actions (the keymap calls these)

    def go_to(self, frame: int) -> None:
        self.viewer.dims.set_current_step(0, int(np.clip(frame, 0, self.frame_count - 1)))

    def step(self, delta: int) -> None:
        self.go_to(self.current_frame + delta)

    def step_soon(self, delta: int) -> None:
        """Step by ``delta`` once control is back in the event loop, in one go with every other step asked for
        until then: the repeats of a held arrow key queued behind a slow step add up into one step."""
        if self._pending_step is None:
            self._pending_step = 0
            QTimer.singleShot(0, self._step_pending)
        self._pending_step += delta

    def _step_pending(self) -> None:
        delta, self._pending_step = self._pending_step, None
        if self._attached:
            self.step(delta)

    def jump_to_keyframe(self, *, forward: bool) -> int | None:
        """Go to the next (or previous) frame holding a keyframe; returns it, or None when there is none."""
        frame = self.project.nearest_keyframe(self.current_frame, before=not forward)
        if frame is not None:
            self.go_to(frame)
        return frame

    def jump_to_check(self, *, forward: bool) -> int | None:
        """Go to the next (or previous) frame with a propagated state flagged for review and select that object;
        None when none is left."""
        frame = self.project.nearest_to_check(self.current_frame, FLAG_BELOW, before=not forward)
        if frame is None:
            self.viewer.status = f"no propagated state to check {'after' if forward else 'before'} this frame"
        else:
            self.go_to(frame)
            flagged = [obj.track.id for obj in self.shown_objects if needs_review(obj.state)]
            self.select_track(flagged[0])
        return frame

    def choose_class(self, class_name: str, kind: GeometryKind | str | None = None) -> None:
        """Draw ``class_name`` next (as ``kind``, default its first geometry kind): its layer becomes active,
        in drawing mode, with the class as what new objects get."""
        if class_name not in drawable_classes(self.project.taxonomy):
            raise RoadlabelError(None, f"no drawable class {class_name!r} in the taxonomy")
        kinds = drawn_kinds(self.project.taxonomy, class_name)
        kind = GeometryKind(kind) if kind is not None else kinds[0]
        if kind not in kinds:
            raise RoadlabelError(None, f"class {class_name!r} is drawn as {', '.join(map(str, kinds))}, not {kind}")
        self.active_class = class_name
        if kind is GeometryKind.SKELETON:
            self.skeleton_tool.start(class_name)
            self.class_chosen.emit(class_name, kind.value)
            return
        self.skeleton_tool.stop()
        element = layer_for(class_name, kind)
        layer = self.layer(element)
        if element is MASKS:
            layer.selected_label = self._sync.fresh_label()  # a new object, not the last one painted
        else:
            layer.selected_data = set()  # else napari would recolour the selected object as the new class
            self._set_defaults(layer, class_name)
        self._sync.start_new_object()
        self.viewer.layers.selection.active = layer
        layer.mode = element.draw_mode
        self.class_chosen.emit(class_name, kind.value)

    def choose_class_number(self, number: int) -> None:
        """Choose the ``number``-th drawable class (1-based, taxonomy order); out of range does nothing."""
        classes = drawable_classes(self.project.taxonomy)
        if 1 <= number <= len(classes):
            self.choose_class(classes[number - 1])

    def copy_to_next_frame(self) -> int:
        """Copy the selected objects (every object on this frame when none is) to the next frame, and go there."""
        frame = self.current_frame
        if frame + 1 >= self.frame_count:
            return 0
        picked = self.selected_tracks()
        track_ids = picked or [obj.track.id for obj in self.project.objects_on(frame)]
        with self.project.group(f"copy {len(track_ids)} objects to frame {frame + 1}"):
            for track_id in track_ids:
                self.project.copy_state(track_id, frame, frame + 1)
        if not picked:  # copying everything: the next Alt-N should copy everything again
            self.selected_track = None
        self.after_edit(f"copied {len(track_ids)} objects to frame {frame + 1}")
        self.step(1)
        return len(track_ids)

    def continue_track(self) -> FrameObject | None:
        """Carry the last selected object onto this frame from its nearest state, under the same track id."""
        track_id = self.selected_track
        if track_id is None:
            return None
        self.project.continue_track(track_id, self.current_frame)
        self.after_edit(f"continued track {track_id} on frame {self.current_frame}")
        self.select_track(track_id)
        return next(obj for obj in self.project.objects_on(self.current_frame) if obj.track.id == track_id)

    def end_track_here(self) -> int:
        """End the selected objects' tracks on this frame: their later states go. Returns how many states went."""
        frame = self.current_frame
        track_ids = self._selected_or_last()
        with self.project.group(f"end {len(track_ids)} tracks at frame {frame}"):
            removed = sum(self.project.end_track_after(track_id, frame) for track_id in track_ids)
        self.after_edit(f"ended {len(track_ids)} tracks at frame {frame} ({removed} later states removed)")
        return removed

    def delete_selected(self, *, whole_track: bool = False) -> list[int]:
        """Remove the selected objects from this frame, or with ``whole_track`` from every frame."""
        track_ids = self._selected_or_last()
        frame = self.current_frame
        on_frame = {obj.track.id for obj in self.project.objects_on(frame)}
        with self.project.group(f"delete {len(track_ids)} objects"):
            for track_id in track_ids:
                if whole_track:
                    self.project.delete_track(track_id)
                elif track_id in on_frame:
                    self.project.delete_state(track_id, frame)
        what = "tracks" if whole_track else f"objects from frame {frame}"
        if whole_track:
            self.selected_track = None
        self.after_edit(f"deleted {len(track_ids)} {what}")
        return track_ids

    def set_attributes(self, track_id: int, values: dict) -> None:
        """Change attributes of ``track_id``: track-level ones for the track, per-frame ones from this frame on.

        A per-frame change makes this frame a keyframe of the object; the new value
        holds on later frames until the next one that had a different value.
        """
        track = self.project.track(track_id)
        track_values, frame_values = self.project.taxonomy[track.class_name].split_attributes(
            values, f"track {track_id}")
        with self.project.group(f"edit attributes of track {track_id}"):
            if track_values:
                self.project.set_track_attributes(track_id, track_values)
            if frame_values:
                self.project.set_frame_attributes(track_id, self.current_frame, frame_values)
        self.after_edit(f"edited attributes of track {track_id}")

    def snap_lanes_to_paint(self, max_shift: float | None = None) -> int:
        """Move the selected lane lines (every lane on this frame when none is) onto the paint nearby.

        Never further than ``max_shift`` px (default: ``snap_max_shift``); where no
        paint is seen a lane stays as drawn.  One undo step; returns how many lanes moved.
        """
        max_shift = self.snap_max_shift if max_shift is None else max_shift
        frame = self.current_frame
        lanes = {obj.track.id: obj for obj in self.project.objects_on(frame) if is_lane_class(obj.track.class_name)}
        picked = [track_id for track_id in self.selected_tracks() if track_id in lanes] or list(lanes)
        image = self.frames.read(frame)
        moved = 0
        with self.project.group(f"snap {len(picked)} lanes to paint on frame {frame}"):
            for track_id in picked:
                controls = lanes[track_id].state.geometry.points
                result = snap_to_paint(fit_lane(controls, where=f"lane {track_id}"), image, max_shift=max_shift,
                                       spacing=SNAP_SPACING)
                if result.moved_max > 0:
                    snapped = clip_to_image(result.controls, self.project.sequence.width, self.project.sequence.height)
                    self.project.set_state(track_id, frame, make_geometry("polyline", snapped))
                    moved += 1
        self.after_edit(f"snapped {moved} of {len(picked)} lanes to the paint on frame {frame}")
        return moved

    def undo(self) -> str | None:
        label = self.project.undo()
        self.after_edit(f"undid {label}" if label else "nothing to undo")
        return label

    def redo(self) -> str | None:
        label = self.project.redo()
        self.after_edit(f"redid {label}" if label else "nothing to redo")
        return label

    def _selected_or_last(self) -> list[int]:
        return self.selected_tracks() or ([self.selected_track] if self.selected_track is not None else [])

    def after_edit(self, message: str) -> None:
        self.viewer.status = message
        self.refresh()
        self.edited.emit(message)

    def report(self, error: RoadlabelError) -> None:
        """An edit the store refused: tell the annotator and show what the store holds."""
        show_error(str(error))
        self.refresh_later()

    # ---------------------------------------------------------- closing

    def _on_layer_removing(self, event) -> None:
        """Without its frames the workspace stops following the viewer (it may be closing).

        Only a flag here: disconnecting from napari's events while one is being
        emitted would make napari skip its own handlers.
        """
        if self._attached and self._is_frames_layer(self.viewer.layers[event.index]):
            self._attached = False
            self.detached.emit()

    def _is_frames_layer(self, layer) -> bool:
        # By its metadata: napari may hand out another object for the same layer when a
        # plugin reader is still running (as it is when a project is opened with File > Open).
        return layer is self.image_layer or layer.metadata.get(PROJECT_KEY) == str(self.project.folder)

    def close(self) -> None:
        """Remove the workspace's layers and close the project and frames (the store has every edit already)."""
        self.propagation.cancel()  # a run's result is not written once its project is closed
        self.propagation.wait()
        self.assist.close()
        self.review.close()
        self.viewer.dims.events.current_step.disconnect(self._on_step)
        self.viewer.layers.events.removing.disconnect(self._on_layer_removing)
        self._refill_pending = False
        self.display.close()
        if self._attached:  # else the viewer is closing or the user removed the frames: leave the layers be
            self._attached = False
            for layer in [self.image_layer, self.ghost_layer, self.lane_curves.layer, self.derived_outlines.layer,
                          self.findings_view.layer, self.comment_pins.layer, self.relating.layer,
                          *self.suggestion_view.layers(), *self.mask_tool.layers(), *self.skeleton_view.layers(),
                          *self.skeleton_tool.layers(),
                          *self.layers.values()]:
                if layer is not None and layer in self.viewer.layers:
                    self.viewer.layers.remove(layer)
        self.project.close()
        self.frames.close()

