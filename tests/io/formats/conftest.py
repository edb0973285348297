"""Lanes on many frames, for the lane formats' exports across chunks of frames."""

import numpy as np
import pytest

from napari_roadlabel.core import make_geometry
from napari_roadlabel.io.projects import create_project


def lanes_on_many_frames(folder, video, *, lanes: int, rise: float, start: float, spread: float, drift: float):
    """``video``'s project with ``lanes`` lane lines of 2 to 5 points on every frame but frame 5, every other one
    drawn down the image: lane ``i`` reaches up to row ``10 + rise * i`` and starts at x ``start + spread * i``,
    bending ``drift`` px more each frame."""
    with create_project(folder, video) as project:
        for index in range(lanes):
            track = project.add_track("lane-line").id
            for frame in set(range(12)) - {5}:
                count = 2 + (frame + index) % 4
                ys = np.linspace(85, 10 + rise * index, count)[::1 if index % 2 else -1]
                xs = start + spread * index + drift * frame * np.linspace(0, 1, count) ** 2
                project.set_state(track, frame, make_geometry("polyline", np.column_stack([xs, ys])))
    return folder


@pytest.fixture
def many_frames_of_lanes(tmp_path, small_video):
    """Call with the layout's numbers (see lanes_on_many_frames)."""
    return lambda **layout: lanes_on_many_frames(tmp_path / "p", small_video, **layout)
