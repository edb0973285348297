"""A project shown in a napari viewer: the frames, and the current frame's annotations as layers.

The store is the truth; the layers show the current frame only and are
refilled when the frame changes, so a step costs time in proportion to the
objects on that frame, whatever the length of the sequence.
"""

from __future__ import annotations

import numpy as np

from ..core import Project
from ..io.frames import FrameSource
from .adapter import LayerData, objects_to_layers

PROJECT_KEY = "roadlabel_project"  # image layer metadata: the project folder it shows
FILL_ALPHA = 0.2


def _rgba(hex_colors: list[str], alpha: float = 1.0) -> np.ndarray:
    rgba = np.ones((len(hex_colors), 4))
    for row, color in enumerate(hex_colors):
        rgba[row, :3] = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    rgba[:, 3] = alpha
    return rgba.reshape(-1, 4)


class Workspace:
    """Binds one project and its frames to a viewer until ``close()``."""

    def __init__(self, viewer, project: Project, frames: FrameSource):
        self.viewer = viewer
        self.project = project
        self.frames = frames
        self.image_layer = viewer.add_image(frames.as_array(), name=project.folder.name, rgb=True,
                                            metadata={PROJECT_KEY: str(project.folder)})
        self.shapes_layer = viewer.add_shapes(
            ndim=2, name="Annotations", edge_width=3, face_color="transparent",
            text={"string": "{label}", "size": 9, "color": "white", "anchor": "upper_left"},
        )
        self.points_layer = viewer.add_points(ndim=2, name="Points", size=10, border_width=0.2,
                                              text={"string": "{label}", "size": 9, "color": "white",
                                                    "anchor": "upper_left"})
        self.shown_frame = -1
        viewer.dims.events.current_step.connect(self._on_step)
        viewer.dims.set_current_step(0, 0)  # napari would start in the middle of the clip
        self.show_frame(self.current_frame)

    @property
    def current_frame(self) -> int:
        return int(self.viewer.dims.current_step[0])

    def show_frame(self, frame: int) -> None:
        """Fill the annotation layers with the objects on ``frame``."""
        shapes, points = objects_to_layers(self.project.objects_on(frame), self.project.taxonomy)
        self._fill_shapes(shapes)
        self._fill_points(points)
        self.shown_frame = frame

    def _fill_shapes(self, shapes: LayerData) -> None:
        layer = self.shapes_layer
        layer.data = list(zip(shapes.data, shapes.shape_types, strict=True))
        layer.features = shapes.features
        if shapes.data:
            layer.edge_color = _rgba(shapes.colors)
            fill = [FILL_ALPHA if kind == "polygon" else 0.0 for kind in shapes.shape_types]
            face = _rgba(shapes.colors)
            face[:, 3] = fill
            layer.face_color = face

    def _fill_points(self, points: LayerData) -> None:
        layer = self.points_layer
        layer.data = np.array(points.data).reshape(-1, 2)
        layer.features = points.features
        if points.data:
            layer.face_color = _rgba(points.colors)

    def _on_step(self, event=None) -> None:
        if self.current_frame != self.shown_frame:
            self.show_frame(self.current_frame)

    def close(self) -> None:
        self.viewer.dims.events.current_step.disconnect(self._on_step)
        for layer in (self.image_layer, self.shapes_layer, self.points_layer):
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.project.close()
        self.frames.close()
