"""napari reader: videos, image folders, project folders and GeoJSON files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import RoadlabelError, default_taxonomy
from ..core.project import METADATA_FILE
from ..io.formats.geojson import feature_objects, read_geojson
from ..io.frames import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, open_frames
from .adapter import LayerData, objects_by_layer

OPEN_REQUEST_KEY = "roadlabel_open_project"  # the Road labeling panel opens this project (or the one of this video)


def get_reader(path: str | list[str]):
    """Return a reader for ``path`` when it is something this plugin opens, else None."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    path = Path(path)
    if path.is_dir():
        if (path / METADATA_FILE).is_file():
            return read_project
        return read_frames if _has_images(path) else None
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        return read_frames
    if path.suffix.lower() == ".geojson":
        return read_annotations
    return None


def _has_images(folder: Path) -> bool:
    return any(child.suffix.lower() in IMAGE_EXTENSIONS for child in folder.iterdir())


def _single(path) -> Path:
    return Path(path[0] if isinstance(path, list) else path)


def read_frames(path) -> list[tuple]:
    """A video or image folder as one lazy RGB image layer (frames are decoded when shown).

    With the Road labeling panel docked, the panel opens the project beside it instead.
    """
    path = _single(path)
    frames = open_frames(path)
    return [(frames.as_array(), {"name": path.stem, "rgb": True, "metadata": {OPEN_REQUEST_KEY: str(path)}},
             "image")]


def read_project(path) -> list[tuple]:
    """A project's frames; the Road labeling panel picks the layer up and shows its annotations."""
    from ..core import Project
    from ..io.projects import open_project_frames

    folder = _single(path)
    with Project.open(folder) as project:
        frames = open_project_frames(project)
    meta = {"name": folder.name, "rgb": True, "metadata": {OPEN_REQUEST_KEY: str(folder)}}
    return [(frames.as_array(), meta, "image")]


def read_annotations(path) -> list[tuple]:
    """A GeoJSON file as one layer per road element, with a frame axis: (frame, y, x)."""
    path = _single(path)
    _, features = read_geojson(path)
    if not features:
        raise RoadlabelError(path, "holds no features")
    by_layer = objects_by_layer(feature_objects(features), default_taxonomy(), with_frame_axis=True,
                                masks_as_labels=False)
    return [_layer_tuple(element.name if element.layer_type != "labels" else "Masks (outlines)", data)
            for element, data in by_layer.items()]


def _layer_tuple(name: str, data: LayerData) -> tuple:
    if data.shape_types[0] == "point":
        return (np.array(data.data), {"name": name, "face_color": np.array(data.face_colors)[:, :3],
                                      "features": data.features}, "points")
    meta = {"name": name, "shape_type": data.shape_types, "edge_color": np.array(data.edge_colors),
            "face_color": np.array(data.face_colors), "edge_width": data.edge_widths, "features": data.features}
    return (data.data, meta, "shapes")
