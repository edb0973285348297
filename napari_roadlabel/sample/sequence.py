"""The synthetic road sequence: frames plus exact ground truth, into a project or onto disk."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core import FrameRangeTag, FrameState, Project, SequenceInfo, Source, Track
from .config import RoadSceneConfig
from .layout import make_layout
from .render import Renderer
from .scene import Camera, View, make_poses
from .truth import label_sequence

VIDEO_NAME = "road_clip.mp4"
TRUTH_NAME = "road_clip.geojson"
DEFAULT_CONFIG = RoadSceneConfig()


@dataclass(frozen=True, eq=False)
class RoadSequence:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    fps: float
    tracks: list[Track]  # ids 1..N
    states: list[FrameState]  # manual, on every frame where the object is visible, in (frame, track) order
    tags: list[FrameRangeTag]  # ids after the tracks'


def make_road_sequence(config: RoadSceneConfig = DEFAULT_CONFIG) -> RoadSequence:
    """Render the scene described by ``config`` and label it; the same config gives the same bytes."""
    motion, layout_choices, textures, noise = (np.random.default_rng(stream)
                                                for stream in np.random.SeedSequence(config.seed).spawn(4))
    camera = Camera.from_config(config)
    views = [View(camera, pose) for pose in make_poses(config, camera, motion)]
    layout = make_layout(config.lane_width_m, np.array([view.pose.distance_m for view in views]), layout_choices)
    renderer = Renderer(camera, layout, textures)
    frames = np.empty((config.frames, config.height, config.width, 3), np.uint8)
    for index, view in enumerate(views):
        frames[index] = renderer.render(view, index, noise, config.sensor_noise)
    tracks, states, tags = label_sequence(layout, views)
    return RoadSequence(frames, config.fps, tracks, states, tags)


def add_to_project(project: Project, sequence: RoadSequence, *, source: Source = Source.MANUAL) -> None:
    """Write every track (keeping its id), state and tag into ``project`` as one undo step.

    The ids must still be free in the project (a new project is).
    """
    with project.group("add synthetic road sequence"):
        for track in sequence.tracks:
            project.add_track(track.class_name, track.attributes, track_id=track.id)
        for state in sequence.states:
            project.set_state(state.track_id, state.frame, state.geometry, state.attributes, source=source)
        for tag in sequence.tags:
            project.add_tag(tag.class_name, tag.start, tag.end, tag.attributes, source=source, tag_id=tag.id)


def write_sample(folder: Path, config: RoadSceneConfig = DEFAULT_CONFIG) -> tuple[Path, Path]:
    """Write ``folder/road_clip.mp4`` and its ground truth ``folder/road_clip.geojson``; returns both paths.

    Both are made in a hidden staging folder beside them and renamed into place at the end, so an
    error leaves the folder as it was.
    """
    from ..io.formats.geojson import export_geojson  # the io package is optional for generating frames

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sequence = make_road_sequence(config)
    staging = Path(tempfile.mkdtemp(prefix=".road_clip.", dir=folder))
    try:
        write_video(staging / VIDEO_NAME, sequence)
        with tempfile.TemporaryDirectory() as scratch, Project.create(
                Path(scratch) / "project", SequenceInfo(VIDEO_NAME, config.frames, config.width, config.height,
                                                        config.fps)) as project:
            add_to_project(project, sequence)
            export_geojson(project, staging / TRUTH_NAME)
        for name in (VIDEO_NAME, TRUTH_NAME):
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder / VIDEO_NAME, folder / TRUTH_NAME


def write_video(path: Path, sequence: RoadSequence) -> None:
    frames = sequence.frames
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), sequence.fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write an mp4v video to {path}")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
