"""napari sample data: the bundled synthetic road clip with its ground truth."""

from __future__ import annotations

from pathlib import Path

from .reader import read_annotations, read_frames

BUNDLED = Path(__file__).resolve().parents[2] / "sample_data"  # present in a source checkout
CACHE = Path.home() / ".cache" / "napari-roadlabel" / "sample"
CLIP_NAME = "road_clip"


def sample_files() -> tuple[Path, Path]:
    """(video, ground-truth GeoJSON): the bundled ones, else generated once into the user's cache."""
    for folder in (BUNDLED, CACHE):
        video, truth = folder / f"{CLIP_NAME}.mp4", folder / f"{CLIP_NAME}.geojson"
        if video.is_file() and truth.is_file():
            return video, truth
    from ..sample import write_sample

    return write_sample(CACHE)


def sample_clip() -> list[tuple]:
    """The sample clip's frames and its ground-truth annotations (all frames, with a frame axis)."""
    video, truth = sample_files()
    return read_frames(video) + read_annotations(truth)
