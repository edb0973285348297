"""Synthetic frames for the temporal tests: a smooth random texture that moves by a known amount; empty projects."""

from __future__ import annotations

import contextlib
import itertools

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import Project, SequenceInfo

WIDTH, HEIGHT = 160, 120
PAD = 96  # texture beyond the visible frame, so a shifted frame has no empty border


class Texture:
    """A fixed textured ground; ``grey(dx, dy)`` is the 160x120 view with everything moved by (dx, dy) px."""

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        noise = rng.integers(0, 256, (HEIGHT + 2 * PAD, WIDTH + 2 * PAD), dtype=np.uint8)
        self.ground = cv2.GaussianBlur(noise, (0, 0), 2.0)

    def grey(self, dx: float, dy: float) -> np.ndarray:
        """Content at (x, y) in the unshifted view is at (x + dx, y + dy) here (subpixel shifts are bilinear)."""
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        size = (self.ground.shape[1], self.ground.shape[0])
        moved = cv2.warpAffine(self.ground, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return moved[PAD:PAD + HEIGHT, PAD:PAD + WIDTH].copy()

    def video(self, velocity, count: int) -> np.ndarray:
        """(count, H, W, 3) uint8 RGB frames; frame t is shifted by t * velocity."""
        velocity = np.asarray(velocity, dtype=float)
        return np.stack([np.repeat(self.grey(*(velocity * t))[..., None], 3, axis=2) for t in range(count)])


@pytest.fixture(scope="session")
def texture() -> Texture:
    return Texture(0)


@pytest.fixture
def new_project(tmp_path):
    """new_project(frame_count) -> an empty 160x120 project of that many frames (closed after the test)."""
    numbers = itertools.count()
    with contextlib.ExitStack() as stack:
        def make(frame_count: int) -> Project:
            folder = tmp_path / f"project-{next(numbers)}"
            return stack.enter_context(Project.create(folder, SequenceInfo("clip.mp4", frame_count, WIDTH, HEIGHT)))
        yield make


def keyed_truth_project(folder, sequence, keys: dict) -> tuple[Project, dict, dict]:
    """A project of the sample ``sequence``'s size with, for each ``name: (truth id, class, attributes, frames)``
    in ``keys``, a new track keyed from the truth on those frames.  Returns the project (open), the truth by
    track id and frame, and the new track of each name."""
    truth: dict[int, dict] = {}
    for state in sequence.states:
        truth.setdefault(state.track_id, {})[state.frame] = state
    height, width = sequence.frames.shape[1:3]
    project = Project.create(folder, SequenceInfo("road_clip.mp4", len(sequence.frames), width, height))
    tracks = {}
    for name, (truth_id, class_name, attributes, frames) in keys.items():
        track = project.add_track(class_name, attributes)
        for frame in frames:
            project.set_state(track.id, frame, truth[truth_id][frame].geometry, truth[truth_id][frame].attributes)
        tracks[name] = track.id
    return project, truth, tracks

