"""Projects of the sample clip (exact truth) for the jobs tests: made once, copied for each test."""

from __future__ import annotations

import shutil

import pytest

from napari_roadlabel.core import Project, SequenceInfo
from napari_roadlabel.sample import RoadSceneConfig, add_to_project, make_road_sequence

CONFIG = RoadSceneConfig(frames=60, width=480, height=270)


@pytest.fixture(scope="session")
def road():
    """The rendered clip: its tracks, states and tags are the truth."""
    return make_road_sequence(CONFIG)


def make_parent(folder, sequence, *, without=()) -> None:
    """A project of the clip's truth, less the tracks and tags whose ids are in ``without``."""
    kept = type(sequence)(sequence.frames, sequence.fps, [t for t in sequence.tracks if t.id not in without],
                          [s for s in sequence.states if s.track_id not in without],
                          [t for t in sequence.tags if t.id not in without])
    info = SequenceInfo("road_clip.mp4", CONFIG.frames, CONFIG.width, CONFIG.height, CONFIG.fps)
    with Project.create(folder, info) as project:
        add_to_project(project, kept)


@pytest.fixture(scope="session")
def full_parent(tmp_path_factory, road):
    folder = tmp_path_factory.mktemp("full") / "parent"
    make_parent(folder, road)
    return folder


@pytest.fixture
def parent(tmp_path, full_parent):
    """A fresh copy of the whole truth."""
    return shutil.copytree(full_parent, tmp_path / "parent")
