"""Where each layer's content is drawn: the layer being edited live, everything else in the frame overlay.

Every view of the workspace (element layers, lane curves, dashed outlines,
findings, comment pins, suggestions, the ghost) hands its content for the frame
to ``Display.show`` instead of filling its napari layer.  In the "overlay" mode
only the active layer of the layer list, the one the annotator edits, is filled
as a napari layer, with napari's own tools on it; the others stay empty and the
overlay draws their content in one pass.  Making another layer active (clicking
it, choosing a class, selecting an object) empties the old live layer and fills
the new one from the content already read: no store access, one layer's fill.

The "layers" mode fills every layer, as the workspace did before the overlay:
the benchmark's "today's display", and the reference the overlay's picture is
tested against.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator

import numpy as np
from napari.utils.notifications import show_warning
from qtpy.QtCore import QTimer

from ..core import RoadlabelError
from .filling import fill_layer, refresh_thumbnail
from .overlay import FrameOverlay, LayerContent, Sketch, thumbnail_of, why_not_supported

OVERLAY, LAYERS = "overlay", "layers"
THUMBNAIL_DELAY_MS = 300  # thumbnails wait until stepping pauses: the live layer's costs a raster per fill
DISPLAY_MODES = (OVERLAY, LAYERS)


def add_quietly(viewer, add):
    """Add a layer (``add(viewer)``) without taking the annotator away from the layer they were working in."""
    active = viewer.layers.selection.active
    layer = add(viewer)
    viewer.layers.selection.active = active
    return layer


class Display:
    def __init__(self, viewer, frames_layer, filling: Callable[[], contextlib.AbstractContextManager],
                 mode: str = OVERLAY):
        if mode not in DISPLAY_MODES:
            raise RoadlabelError(None, f"display mode {mode!r}: choose one of {', '.join(DISPLAY_MODES)}")
        if mode == OVERLAY and (reason := why_not_supported()):
            show_warning(f"{reason}: every layer is drawn live (slower frame steps)")
            mode = LAYERS
        self.viewer = viewer
        self.mode = mode
        self._filling = filling  # layer events raised while we fill are not the annotator's edits
        self._contents: dict[Hashable, tuple[object, LayerContent]] = {}  # key(layer) -> (layer, what it shows)
        self.live = None  # the layer filled as a napari layer (overlay mode)
        self._paused = False  # playing: the live layer is drawn by the overlay too
        self.overlay = FrameOverlay(viewer, frames_layer) if mode == OVERLAY else None
        self._batching = 0
        self._dirty = False
        self._thumbnail = QTimer(singleShot=True, interval=THUMBNAIL_DELAY_MS)
        self._thumbnail.timeout.connect(self._refresh_thumbnail)
        viewer.layers.selection.events.active.connect(self._on_active)
        viewer.layers.events.removed.connect(self._on_removed)

    # ---------------------------------------------------------- what the views call

    def register(self, layer, layer_type: str, columns: tuple[str, ...] = ()) -> None:
        """A layer whose content (with these feature ``columns``) goes through ``show``; when it is the active
        layer it is the live one."""
        self._contents[key(layer)] = (layer, LayerContent.nothing(layer_type, columns))
        layer.events.visible.connect(self._on_visible)
        layer.events.opacity.connect(self._redraw)
        if key(self.viewer.layers.selection.active) == key(layer):
            self._on_active()
        elif self.overlay is not None:
            self.overlay.set_drawn(layer, False)

    def show(self, layer, content: LayerContent) -> None:
        """``layer`` shows ``content`` now: filled in when it is live, drawn by the overlay otherwise."""
        self._contents[key(layer)] = (layer, content)
        if self.is_live(layer):
            self._fill(layer, content)
        else:
            self._empty(layer)
            self._redraw()
            self._thumbnail.start()

    def content(self, layer) -> LayerContent | None:
        """What ``layer`` shows on this frame, whether it is drawn live or by the overlay."""
        entry = self._contents.get(key(layer))
        return entry[1] if entry is not None else None

    def is_live(self, layer) -> bool:
        """Whether ``layer`` holds its content as a napari layer (any layer the display does not manage does)."""
        if self.overlay is None or key(layer) not in self._contents:
            return True
        return key(layer) == key(self.live) and not self._paused

    def pause_live(self, paused: bool) -> None:
        """While playing nobody edits: the live layer is drawn by the overlay too, and filled again at the stop."""
        if self.overlay is None or paused == self._paused:
            return
        self._paused = paused
        if self.live is not None:
            self.overlay.set_drawn(self.live, not paused)
            if paused:
                self._empty(self.live)
            else:
                self._fill(self.live, self._contents[key(self.live)][1])
        self._redraw()

    def layer_holding(self, track_id: int):
        """The registered layer showing ``track_id`` on this frame, or None."""
        return next((layer for layer, content in self._contents.values() if track_id in content.track_ids()), None)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Several views show their content: the overlay is redrawn once, at the end."""
        self._batching += 1
        try:
            yield
        finally:
            self._batching -= 1
            if not self._batching and self._dirty:
                self._redraw()

    # ---------------------------------------------------------- live layer

    def _on_active(self, event=None) -> None:
        active = key(self.viewer.layers.selection.active)
        if self.overlay is None or active == key(self.live) or active not in self._contents:
            return  # the frames layer, or another plugin's: the live layer stays
        previous = self.live
        self.live, content = self._contents[active]
        if previous is not None and key(previous) in self._contents:
            self._empty(previous)
            self.overlay.set_drawn(previous, False)
        if not self._paused:
            self.overlay.set_drawn(self.live, True)
            self._fill(self.live, content)
        self._redraw()

    def _on_visible(self, event) -> None:
        """napari shows a layer's own visual again when its eye is ticked: only the live one needs it."""
        layer = event.source
        if self.overlay is not None:
            self.overlay.set_drawn(layer, self.is_live(layer))
        self._redraw()

    def _on_removed(self, event) -> None:
        layer = event.value
        if self._contents.pop(key(layer), None) is not None:
            if key(layer) == key(self.live):
                self.live = None
            self._redraw()

    def _fill(self, layer, content: LayerContent) -> None:
        with self._filling():
            if content.layer_type == "vectors":
                _fill_vectors(layer, content)
            else:
                fill_layer(layer, content.layer_type, content.data, content.columns, thumbnail=False)
        self._thumbnail.start()

    def _empty(self, layer) -> None:
        if len(layer.data):  # once emptied, a layer the overlay draws is left alone on every later step
            shown = self._contents[key(layer)][1]
            self._fill(layer, LayerContent.nothing(shown.layer_type, shown.columns))

    def _refresh_thumbnail(self) -> None:
        """Each layer's thumbnail in the layer list, from what it shows: the ones the overlay draws are empty."""
        for layer, content in self._contents.values():
            if self.is_live(layer):
                refresh_thumbnail(layer)
            else:
                layer.thumbnail = thumbnail_of(content, self.overlay.frames_layer.data.shape[1:3])

    # ---------------------------------------------------------- the overlay

    def _redraw(self, event=None) -> None:
        if self.overlay is None:
            return
        if self._batching:
            self._dirty = True
            return
        self._dirty = False
        sketch = Sketch()
        for layer in self.viewer.layers:  # bottom to top
            entry = self._contents.get(key(layer))
            if entry is not None and not self.is_live(layer):
                sketch.add_layer(layer, entry[1])
        self.overlay.draw(sketch)

    def close(self) -> None:
        self._thumbnail.stop()
        self.viewer.layers.selection.events.active.disconnect(self._on_active)
        self.viewer.layers.events.removed.disconnect(self._on_removed)
        for layer, _ in self._contents.values():
            layer.events.visible.disconnect(self._on_visible)
            layer.events.opacity.disconnect(self._redraw)
        if self.overlay is not None:
            self.overlay.close()


def key(layer) -> Hashable | None:
    """What identifies a napari layer: a docked plug-in's viewer hands out a new proxy object for the same
    layer each time (``viewer.layers.selection.active``, events), so neither ``is`` nor ``id`` will do."""
    return None if layer is None else layer.unique_id


def _fill_vectors(layer, content: LayerContent) -> None:
    with layer.events.blocker_all():
        layer.data = content.vectors
        if len(content.vectors):
            layer.edge_color = np.asarray(content.vector_colors)
    layer.refresh()
