"""Putting a frame's worth of data into a napari layer with one redraw.

Each napari setter would refresh the layer (and a Shapes layer redraws its
thumbnail each time), and napari recomputes the viewer's dims on every data
event: with events and thumbnails held, one refresh at the end does it all.
This is most of what keeps a frame step short (see benchmarks/bench_stepping.py).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .adapter import EDITING_COLUMNS, LayerData, paint_masks


def fill_layer(layer, layer_type: str, data: LayerData, columns: tuple[str, ...] = EDITING_COLUMNS, *,
               thumbnail: bool = True) -> None:
    """Replace what ``layer`` (of ``layer_type`` "shapes", "points" or "labels") shows by ``data``; without
    ``thumbnail`` its thumbnail in the layer list is left for later (``refresh_thumbnail``)."""
    with layer.events.blocker_all(), _thumbnail_held(layer):
        if layer_type == "labels":
            paint_masks(layer.data, data.masks)
        elif layer_type == "points":
            _fill_points(layer, data, columns)
        else:
            _fill_shapes(layer, data, columns)
    layer.refresh(thumbnail=thumbnail)


def refresh_thumbnail(layer) -> None:
    """Only the layer's thumbnail in the layer list."""
    layer.refresh(data_displayed=False, highlight=False, extent=False)


def _fill_points(layer, data: LayerData, columns: tuple[str, ...]) -> None:
    layer.selected_data = set()  # napari's Points keep selected indices through a data change
    layer.data = np.array(data.data, dtype=float).reshape(-1, 2)
    if data.data:
        layer.face_color = np.array(data.edge_colors)
    _replace_features(layer, data.feature_table(columns))


def _fill_shapes(layer, data: LayerData, columns: tuple[str, ...]) -> None:
    layer.selected_data = set()
    layer.data = list(zip(data.data, data.shape_types, strict=True))
    if data.data:
        layer.edge_color = np.array(data.edge_colors)
        layer.face_color = np.array(data.face_colors)
        layer.edge_width = data.edge_widths
    _replace_features(layer, data.feature_table(columns))


def _replace_features(layer, table) -> None:
    """napari derives what a newly drawn row gets from a new table (its first row): keep what was set instead
    (the workspace's class and NEW_OBJECT), as filling the live layer must not change what the annotator draws."""
    defaults = layer.feature_defaults
    layer.features = table
    if list(defaults.columns) == list(table.columns):
        layer.feature_defaults = defaults


def _thumbnail_held(layer) -> contextlib.AbstractContextManager:
    """Only Shapes layers let their thumbnail wait."""
    return layer.block_thumbnail_update() if hasattr(layer, "block_thumbnail_update") else contextlib.nullcontext()
