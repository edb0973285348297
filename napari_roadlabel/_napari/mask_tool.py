"""Click to mask, for the Masks layer: a box and a few clicks make a mask, or clicks paint superpixels.

"Box and clicks": the annotator draws one rectangle in the "Mask box" layer, then clicks in "Mask clicks"
on the object (include) or off it (exclude, as the Assist tab says); after each change the mask is cut again
(``assist.masks.mask_from_box``: GrabCut) and shown in "Mask preview".  "Superpixels": each click paints the
superpixels it falls on (``assist.masks.superpixels``, made once per frame), an exclude click takes them away.
"Make mask" writes the preview as a new object of the chosen class on this frame (one undo step), shown
then in the Masks layer like any mask, and clears the tool.  The three layers are the tool's scratch: the
mask is in the store only once it is made.
"""

from __future__ import annotations

import numpy as np
from napari.utils.colormaps import DirectLabelColormap

from ..core import RoadlabelError
from ..core.geometry import mask_from_image
from .adapter import to_xy
from .display import add_quietly
from .layers import MASKS, classes_of

BOX_LAYER, CLICKS_LAYER, PREVIEW_LAYER = "Mask box", "Mask clicks", "Mask preview"
MODES = ("box and clicks", "superpixels")
INCLUDE_COLOR, EXCLUDE_COLOR = "#30e060", "#ff3030"
PREVIEW_LABEL = 1
PREVIEW_COLOR = "cyan"  # unlike any class colour, and seen on red, yellow and white alike


def _masks_module():
    """assist.masks imports OpenCV and scikit-image: only when the tool is used."""
    try:
        from ..assist import masks
    except ImportError as error:
        raise RoadlabelError(None, f"click to mask is not available here ({error})") from None
    return masks


class MaskTool:
    def __init__(self, workspace):
        self.workspace = workspace
        self.mode = MODES[0]
        self.include = True  # what the next click says: on the object, or off it
        self.preview: np.ndarray | None = None  # HxW bool, the mask "Make mask" writes
        self.box_layer = self.clicks_layer = self.preview_layer = None
        self._frame = -1
        self._superpixels: tuple[int, np.ndarray] | None = None  # (frame, labels)
        workspace.frame_shown.connect(self._on_frame)

    # ---------------------------------------------------------- the annotator's input

    def start(self, mode: str = MODES[0]) -> None:
        """Make the tool's layers and activate the one to draw in: the box layer, or the clicks for superpixels."""
        if mode not in MODES:
            raise RoadlabelError(None, f"no mask mode {mode!r} (known: {', '.join(MODES)})")
        self.mode = mode
        self._frame = self.workspace.current_frame
        self._layers()
        target, draw_mode = ((self.box_layer, "add_rectangle") if mode == MODES[0] and not self.box()
                             else (self.clicks_layer, "add"))
        self.workspace.viewer.layers.selection.active = target
        target.mode = draw_mode
        self.update()

    def set_include(self, include: bool) -> None:
        self.include = include
        if self.clicks_layer is not None:
            self.clicks_layer.feature_defaults = {"include": include}
            self.clicks_layer.current_face_color = INCLUDE_COLOR if include else EXCLUDE_COLOR

    def box(self) -> tuple[float, float, float, float] | None:
        """The last rectangle drawn, as x0, y0, x1, y1."""
        if self.box_layer is None or not len(self.box_layer.data):
            return None
        points = to_xy(self.box_layer.data[-1])
        return (*points.min(axis=0), *points.max(axis=0))

    def clicks(self) -> tuple[list, list]:
        """(include, exclude) clicks as x, y."""
        if self.clicks_layer is None or not len(self.clicks_layer.data):
            return [], []
        points = to_xy(self.clicks_layer.data)
        include = self.clicks_layer.features["include"].to_numpy(dtype=bool)
        return points[include].tolist(), points[~include].tolist()

    # ---------------------------------------------------------- the mask

    def update(self) -> None:
        """Cut the mask again from the box and clicks (or paint the superpixels) and show it."""
        include, exclude = self.clicks()
        box = self.box()
        if self.mode == MODES[0]:
            self.preview = (_masks_module().mask_from_box(self._image(), box, include, exclude)
                            if box is not None else None)
        else:
            self.preview = self._painted(include, exclude) if include else None
        if self.preview_layer is not None:
            labels = np.zeros(self._size(), np.int32) if self.preview is None else self.preview * PREVIEW_LABEL
            self.preview_layer.data = labels.astype(np.int32)

    def make_mask(self, class_name: str | None = None) -> int:
        """Write the preview as a new object on this frame; returns its track id."""
        if self.preview is None or not self.preview.any():
            raise RoadlabelError(None, "no mask yet: draw a box (or click superpixels) first")
        class_name = class_name or self.default_class()
        if class_name not in self.mask_classes():
            raise RoadlabelError(None, f"class {class_name!r} takes no masks (these do: "
                                       f"{', '.join(self.mask_classes())})")
        project, frame = self.workspace.project, self.workspace.current_frame
        pixels = int(self.preview.sum())
        mask = mask_from_image(self.preview, where=f"the mask on frame {frame}")
        with project.group(f"mask a {class_name} on frame {frame}"):
            track = project.add_track(class_name)
            project.set_state(track.id, frame, mask)
        self.clear()
        self.workspace.after_edit(f"masked a {class_name} on frame {frame} ({pixels} pixels)")
        return track.id

    def mask_classes(self) -> list[str]:
        return classes_of(MASKS, self.workspace.project.taxonomy)

    def default_class(self) -> str:
        classes = self.mask_classes()
        return self.workspace.active_class if self.workspace.active_class in classes else classes[0]

    def clear(self) -> None:
        """Forget the box, the clicks and the preview."""
        for layer in (self.box_layer, self.clicks_layer):
            if layer is not None:
                layer.selected_data = set()  # napari keeps selected indices through a data change
                with layer.events.data.blocker():
                    layer.data = [] if layer is self.box_layer else np.zeros((0, 2))
        self.preview = None
        if self.preview_layer is not None:
            self.preview_layer.data = np.zeros(self._size(), np.int32)

    def layers(self) -> list:
        return [layer for layer in (self.box_layer, self.clicks_layer, self.preview_layer) if layer is not None]

    # ---------------------------------------------------------- helpers

    def _image(self) -> np.ndarray:
        return self.workspace.frames.read(self.workspace.current_frame)

    def _size(self) -> tuple[int, int]:
        return self.workspace.project.sequence.height, self.workspace.project.sequence.width

    def _painted(self, include: list, exclude: list) -> np.ndarray:
        frame = self.workspace.current_frame
        masks = _masks_module()
        if self._superpixels is None or self._superpixels[0] != frame:
            self._superpixels = (frame, masks.superpixels(self._image()))
        labels = self._superpixels[1]
        painted = masks.paint_superpixels(labels, include)
        return painted & ~masks.paint_superpixels(labels, exclude) if exclude else painted

    def _on_frame(self, frame: int) -> None:
        if frame != self._frame:
            self._frame = frame
            if self._has_input():  # a box on another frame means nothing here
                self.clear()

    def _has_input(self) -> bool:
        """Whether there is a box, a click or a preview to forget (emptying a full-frame preview costs a step)."""
        return self.preview is not None or any(len(layer.data) for layer in (self.box_layer, self.clicks_layer)
                                               if layer is not None)

    def _layers(self) -> None:
        viewer = self.workspace.viewer
        if self.preview_layer is None:
            self.preview_layer = add_quietly(viewer, lambda viewer: viewer.add_labels(
                np.zeros(self._size(), np.int32), name=PREVIEW_LAYER, opacity=0.6,
                colormap=DirectLabelColormap(color_dict={None: "transparent", PREVIEW_LABEL: PREVIEW_COLOR})))
        if self.box_layer is None:
            self.box_layer = add_quietly(viewer, lambda viewer: viewer.add_shapes(
                ndim=2, name=BOX_LAYER, edge_width=2, edge_color="white", face_color="transparent"))
            self.box_layer.events.data.connect(self._on_box)
        if self.clicks_layer is None:
            self.clicks_layer = add_quietly(viewer, lambda viewer: viewer.add_points(
                ndim=2, name=CLICKS_LAYER, size=5, border_color="white", features={"include": np.zeros(0, bool)}))
            self.clicks_layer.events.data.connect(self._on_clicks)
            self.set_include(self.include)

    def _on_box(self, event) -> None:
        if str(getattr(event, "action", "")) != "added":
            return
        if len(self.box_layer.data) > 1:  # a new box replaces the old one
            with self.box_layer.events.data.blocker():
                self.box_layer.data = [self.box_layer.data[-1]]
        self._after_input()
        self.workspace.viewer.layers.selection.active = self.clicks_layer  # the clicks come next
        self.clicks_layer.mode = "add"

    def _on_clicks(self, event) -> None:
        if str(getattr(event, "action", "")) in ("added", "removed", "changed"):
            self._after_input()

    def _after_input(self) -> None:
        try:
            self.update()
        except RoadlabelError as error:
            self.workspace.report(error)
