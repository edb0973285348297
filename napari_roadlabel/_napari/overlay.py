"""The frame overlay: every layer that is not being edited, drawn in one pass over the frames.

A napari Shapes or Vectors layer costs a fill in Python and a draw of its own on
every frame step, whatever it holds (see benchmarks/bench_stepping.py).  The
overlay instead takes what each read-only layer would show (a ``LayerContent``),
turns it into the same triangles, markers and text napari would draw, with
napari's own triangulation, marker and text visuals, and uploads them into one
set of buffers whose shaders never change.  The layer list still holds every
layer, empty, as the handle for its visibility, opacity and order.

This module and ``vispy_fixes`` are the only ones that reach into napari's
canvas and vispy.  It was made for napari 0.9 (pinned in pyproject.toml): on
another napari ``why_not_supported`` says so and the workspace draws every layer
live instead; tests/gui/test_overlay.py compares the overlay's picture with the
live layers', so an upgrade that changes what it relies on fails there.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import cv2
import napari
import numpy as np
from napari._vispy.layers.vectors import generate_vector_meshes
from napari._vispy.utils.gl import BLENDING_MODES
from napari._vispy.visuals.markers import Markers
from napari._vispy.visuals.text import Text
from napari.layers.shapes._accelerated_triangulate_dispatch import remove_path_duplicates
from napari.layers.shapes._shapes_models import Polygon
from napari.layers.shapes._shapes_utils import triangulate_edge
from napari.layers.utils._text_utils import get_text_anchors
from napari.utils.colormaps.standardize_color import transform_color
from vispy.gloo import IndexBuffer, VertexBuffer
from vispy.scene import Node
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

from .adapter import LayerData

BLENDING = BLENDING_MODES["translucent_no_depth"]  # drawn in list order, as the layers would stack
ABOVE_FRAMES = 0.5  # the overlay's draw order: just above the frames layer, under every live layer
NAPARI_SERIES = "0.9."  # the napari whose canvas, triangulation, markers and text the overlay uses

VERTEX_SHADER = """
attribute vec2 a_position;
attribute vec4 a_color;
varying vec4 v_color;
void main() {
    gl_Position = $transform(vec4(a_position, 0.0, 1.0));
    v_color = a_color;
}
"""
FRAGMENT_SHADER = """
varying vec4 v_color;
void main() {
    gl_FragColor = v_color;
}
"""


def why_not_supported(version: str = napari.__version__) -> str:
    """Why the overlay cannot be used with napari ``version`` ('' when it can)."""
    if version.startswith(NAPARI_SERIES):
        return ""
    return f"napari {version} is not the {NAPARI_SERIES}x the frame overlay was made for"


@dataclass
class LayerContent:
    """What one layer shows on the current frame, whichever way it is drawn.

    ``data`` holds shapes or points in napari order (a points layer keeps each
    point's face colour in ``edge_colors``); ``vectors`` and ``vector_colors``
    hold a Vectors layer's (N, 2, 2) starts and offsets; ``columns`` are the
    feature columns the live layer gets.
    """

    layer_type: str  # "shapes", "points" or "vectors"
    data: LayerData = field(default_factory=LayerData)
    columns: tuple[str, ...] = ()
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 2)))
    vector_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))

    @classmethod
    def nothing(cls, layer_type: str, columns: tuple[str, ...] = ()) -> LayerContent:
        """An empty layer's content, with its own feature columns (not only the element layers' ones)."""
        return cls(layer_type, LayerData(features={column: [] for column in columns}), columns)

    def __len__(self) -> int:
        return len(self.vectors) if self.layer_type == "vectors" else len(self.data.data)

    @property
    def table(self):
        """The features a live layer would hold, as a table."""
        return self.data.feature_table(self.columns)

    def track_ids(self) -> set[int]:
        return {int(track_id) for track_id in self.data.features.get("track_id", ())}


THUMBNAIL_SIZE = 32  # napari's layer thumbnails are 32 x 32


def thumbnail_of(content: LayerContent, image_size: tuple[int, int]) -> np.ndarray:
    """A thumbnail of ``content`` over a ``image_size`` (height, width) frame, RGBA uint8: napari would show the
    empty layer the overlay draws for as black."""
    scale = THUMBNAIL_SIZE / max(image_size)
    picture = np.zeros((THUMBNAIL_SIZE, THUMBNAIL_SIZE, 4), np.uint8)
    if content.layer_type == "vectors":
        starts = content.vectors[:, 0]
        items = [(np.stack([start, start + offset]), "path", color)
                 for start, offset, color in zip(starts, content.vectors[:, 1], content.vector_colors, strict=True)]
    else:
        items = list(zip(content.data.data, content.data.shape_types, content.data.edge_colors, strict=True))
    for coordinates, shape_type, color in items:
        points = np.round(np.reshape(coordinates, (-1, 2))[:, ::-1] * scale).astype(np.int32)  # x, y
        rgba = tuple(int(channel) for channel in np.round(np.asarray(color) * 255))
        if shape_type == "point":
            cv2.circle(picture, tuple(points[0]), 1, rgba, thickness=-1)
        else:
            cv2.polylines(picture, [points], shape_type != "path", rgba, thickness=1)
    return picture


class _TrianglesVisual(Visual):
    """Coloured triangles with fixed shaders: new data only refills the buffers, never relinks the program."""

    def __init__(self):
        super().__init__(vcode=VERTEX_SHADER, fcode=FRAGMENT_SHADER)
        self._positions = VertexBuffer(np.zeros((0, 2), dtype=np.float32))
        self._colors = VertexBuffer(np.zeros((0, 4), dtype=np.float32))
        self._index_buffer = IndexBuffer(np.zeros((0, 3), dtype=np.uint32))
        self.shared_program["a_position"] = self._positions
        self.shared_program["a_color"] = self._colors
        self._draw_mode = "triangles"
        self._empty = True
        self.set_gl_state(**BLENDING)
        self.freeze()

    def set_data(self, vertices: np.ndarray, colors: np.ndarray, faces: np.ndarray) -> None:
        self._empty = len(faces) == 0
        if not self._empty:
            self._positions.set_data(np.ascontiguousarray(vertices, dtype=np.float32))
            self._colors.set_data(np.ascontiguousarray(colors, dtype=np.float32))
            self._index_buffer.set_data(np.ascontiguousarray(faces, dtype=np.uint32))
        self.update()

    def _prepare_transforms(self, view):
        view.view_program.vert["transform"] = view.transforms.get_transform()

    def _prepare_draw(self, view):
        return not self._empty

    def _compute_bounds(self, axis, view):
        return None


Triangles = create_visual_node(_TrianglesVisual)


@dataclass
class _Texts:
    strings: list[str] = field(default_factory=list)
    positions: list[np.ndarray] = field(default_factory=list)  # x, y
    colors: list[np.ndarray] = field(default_factory=list)


class Sketch:
    """Everything the overlay draws, gathered bottom to top, in x, y."""

    def __init__(self):
        self.vertices: list[np.ndarray] = []
        self.colors: list[np.ndarray] = []
        self.faces: list[np.ndarray] = []
        self._vertex_count = 0
        self.markers: list[tuple] = []  # (positions, sizes, face colours, border colours, border widths, symbols)
        self.texts: dict[tuple[float, str, str], _Texts] = {}  # by (size, anchor x, anchor y)

    def add_layer(self, layer, content: LayerContent) -> None:
        """``content`` as ``layer`` (the empty napari layer it belongs to) would draw it."""
        if not layer.visible or not len(content):
            return
        if content.layer_type == "vectors":
            self._add_vectors(layer, content)
        elif content.layer_type == "points":
            self._add_points(layer, content.data)
        else:
            self._add_shapes(layer, content.data)

    def _add_triangles(self, vertices_yx: np.ndarray, faces: np.ndarray, color: np.ndarray) -> None:
        self.vertices.append(vertices_yx[:, ::-1])
        self.colors.append(np.broadcast_to(color, (len(vertices_yx), 4)))
        self.faces.append(faces + self._vertex_count)
        self._vertex_count += len(vertices_yx)

    def _add_shapes(self, layer, data: LayerData) -> None:
        opacity = np.array([1.0, 1.0, 1.0, layer.opacity])
        for coordinates, shape_type, edge, face, width in zip(data.data, data.shape_types, data.edge_colors,
                                                              data.face_colors, data.edge_widths, strict=True):
            if face[3] > 0 and shape_type != "path":  # napari's own polygon model triangulates the face
                polygon = Polygon(coordinates, edge_width=width)
                if len(polygon._face_triangles):
                    self._add_triangles(polygon._face_vertices, polygon._face_triangles, face * opacity)
            if edge[3] > 0:  # napari's edge triangulation, as its shape models call it
                closed = shape_type != "path"
                path = remove_path_duplicates(np.asarray(coordinates, dtype=float), closed=closed)
                centers, offsets, triangles = triangulate_edge(path, closed=closed)
                self._add_triangles(centers + width * offsets, triangles, edge * opacity)
        self._add_text(layer, data, list(data.data))

    def _add_vectors(self, layer, content: LayerContent) -> None:
        vertices, triangles = generate_vector_meshes(content.vectors, layer.edge_width, layer.length,
                                                     layer.vector_style)
        per_vector = len(vertices) // len(content.vectors)
        colors = np.repeat(content.vector_colors * [1.0, 1.0, 1.0, layer.opacity], per_vector, axis=0)
        self.vertices.append(vertices[:, ::-1])
        self.colors.append(colors)
        self.faces.append(triangles + self._vertex_count)
        self._vertex_count += len(vertices)

    def _add_points(self, layer, data: LayerData) -> None:
        positions = np.array(data.data, dtype=float).reshape(-1, 2)
        count = len(positions)
        opacity = np.array([1.0, 1.0, 1.0, layer.opacity])
        border = transform_color(layer.current_border_color)[0] * opacity
        self.markers.append((positions[:, ::-1], np.full(count, layer.current_size, dtype=float),
                             np.array(data.edge_colors) * opacity, np.tile(border, (count, 1)),
                             np.full(count, layer.current_border_width, dtype=float),
                             [str(layer.current_symbol)] * count))
        self._add_text(layer, data, positions)

    def _add_text(self, layer, data: LayerData, view_data) -> None:
        text = layer.text
        encoding = getattr(text.string, "format", None)
        if not text.visible or encoding is None:
            return
        columns = {column: values for column, values in data.features.items() if len(values) == len(data.data)}
        rows = zip(*columns.values(), strict=True) if columns else [()] * len(data.data)
        strings = [encoding.format(**dict(zip(columns, row, strict=True))) for row in rows]
        coordinates, anchor_x, anchor_y = get_text_anchors(view_data, 2, text.anchor)
        color = transform_color(text.color.constant)[0] * [1.0, 1.0, 1.0, layer.opacity]
        texts = self.texts.setdefault((float(text.size), anchor_x, anchor_y), _Texts())
        for string, position in zip(strings, np.asarray(coordinates, dtype=float).reshape(-1, 2), strict=True):
            if string:
                texts.strings.append(string)
                texts.positions.append(position[::-1])
                texts.colors.append(color)


def napari_canvas(viewer) -> tuple:
    """napari's canvas of ``viewer`` and its vispy SceneCanvas.

    Both are private in napari 0.9, which warns when a plug-in reaches them; the
    overlay is pinned to that napari (``why_not_supported``), so the warning would
    only tell the annotator what the pin already says.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Private attribute access", category=FutureWarning)
        canvas = viewer.window._qt_viewer.canvas
        return canvas, canvas._scene_canvas


class FrameOverlay:
    """The vispy nodes that draw a ``Sketch`` between the frames layer and the live layers."""

    def __init__(self, viewer, frames_layer):
        self.viewer = viewer
        self.frames_layer = frames_layer
        self._canvas, self._scene_canvas = napari_canvas(viewer)
        self.root = Node(parent=self._canvas.view.scene, name="roadlabel overlay")
        self._triangles = Triangles(parent=self.root)
        self._markers = Markers(parent=self.root, scaling="visual")
        self._markers.set_gl_state(**BLENDING)
        self._markers.order = 1
        self._texts: dict[tuple, Text] = {}
        self._place()
        viewer.layers.events.reordered.connect(self._place)
        viewer.layers.events.inserted.connect(self._place)

    def draw(self, sketch: Sketch) -> None:
        if sketch.faces:
            self._triangles.set_data(np.concatenate(sketch.vertices), np.concatenate(sketch.colors),
                                     np.concatenate(sketch.faces))
        else:
            self._triangles.set_data(np.zeros((0, 2)), np.zeros((0, 4)), np.zeros((0, 3)))
        self._draw_markers(sketch.markers)
        for style in set(self._texts) | set(sketch.texts):
            self._draw_texts(style, sketch.texts.get(style, _Texts()))
        self._scene_canvas.update()

    def _draw_markers(self, markers: list[tuple]) -> None:
        self._markers.visible = bool(markers)
        if not markers:
            return
        positions, sizes, faces, borders, border_widths, symbols = zip(*markers, strict=True)
        self._markers.set_data(np.concatenate(positions), size=np.concatenate(sizes),
                               face_color=np.concatenate(faces), edge_color=np.concatenate(borders),
                               edge_width=None, edge_width_rel=np.concatenate(border_widths),
                               symbol=[symbol for group in symbols for symbol in group])

    def _draw_texts(self, style: tuple[float, str, str], texts: _Texts) -> None:
        node = self._texts.get(style)
        if node is None:
            node = self._texts[style] = Text(parent=self.root, font_info=self._canvas.font_info())
            node.set_gl_state(**BLENDING)
            node.order = 2
            node.font_size, node.anchors = style[0], style[1:]
        node.visible = bool(texts.strings)
        if texts.strings:
            colors = np.array(texts.colors)
            if list(node.text) != texts.strings:  # new strings are laid out again; moved ones are not
                node.text = texts.strings
                node.color = colors
            elif not np.array_equal(node.color.rgba, colors):  # a new colour is a new buffer for vispy
                node.color = colors
            node.pos = np.array(texts.positions)

    def set_drawn(self, layer, drawn: bool) -> None:
        """Whether napari draws ``layer``'s own visual: an empty layer's is drawn anyway (napari #9418),
        and costs a draw per sub-visual on every paint."""
        visual = self._canvas.layer_to_visual.get(layer)
        if visual is not None:
            visual.node.visible = drawn and layer.visible

    def _place(self, event=None) -> None:
        """Draw just above the frames layer, whatever the layer list's order."""
        if self.frames_layer in self.viewer.layers:
            self.root.order = self.viewer.layers.index(self.frames_layer) + ABOVE_FRAMES

    def close(self) -> None:
        self.viewer.layers.events.reordered.disconnect(self._place)
        self.viewer.layers.events.inserted.disconnect(self._place)
        self.root.parent = None
