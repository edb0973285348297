"""TuSimple export of many frames: the lanes of a chunk are sampled together, as each lane alone would be."""

import json

import numpy as np
import pytest

from napari_roadlabel.core import Project, frame_objects
from napari_roadlabel.core.lane_order import order_lanes
from napari_roadlabel.core.lanes import MISSING, fit_lane
from napari_roadlabel.io.formats.tusimple import default_rows, export_tusimple


@pytest.fixture
def lanes_on_many_frames(many_frames_of_lanes):
    """clip.mp4 with four lane lines of 2 to 5 points on every frame but frame 5, going up or down the image."""
    return many_frames_of_lanes(lanes=4, rise=15, start=20, spread=35, drift=3)


def test_lanes_are_written_as_each_one_alone_gives_them_across_chunks(lanes_on_many_frames, tmp_path, monkeypatch):
    monkeypatch.setattr(frame_objects, "CHUNK", 4)  # several chunks, each with lanes of several lengths
    with Project.open(lanes_on_many_frames) as project:
        export_tusimple(project, tmp_path / "t.json", every=2)
        rows = default_rows(project.sequence.height)
        expected = [one_by_one(project, frame, rows) for frame in range(0, 12, 2)]
    lines = [json.loads(line) for line in (tmp_path / "t.json").read_text().splitlines()]
    assert [line["raw_file"] for line in lines] == [f"clip/{frame:06d}.jpg" for frame in range(0, 12, 2)]
    assert [line["lanes"] for line in lines] == expected
    assert sum(map(len, expected)) > 20


def one_by_one(project, frame, rows):
    """The frame's lanes, left to right, each fitted and sampled alone."""
    curves = {obj.track.id: fit_lane(obj.state.geometry.points) for obj in project.store.objects_on(frame)}
    places = order_lanes(curves, project.sequence.width, project.sequence.height)
    lanes = [curves[track].sample_rows(rows) for track in sorted(curves, key=places.get)]
    return [np.where(xs == MISSING, -2, np.round(xs)).astype(int).tolist() for xs in lanes if (xs != MISSING).any()]
