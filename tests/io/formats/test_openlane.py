"""OpenLane export of many frames: the lanes of a chunk are sampled and placed together, as each alone would be."""

import json

import numpy as np
import pytest

from napari_roadlabel.core import Project, frame_objects
from napari_roadlabel.core import lanes as lane_curves
from napari_roadlabel.core.lane_order import order_lanes
from napari_roadlabel.core.lanes import fit_lane
from napari_roadlabel.io.formats import lane_frames
from napari_roadlabel.io.formats.openlane import PLACES, UV_STEP, export_openlane


@pytest.fixture
def lanes_on_many_frames(many_frames_of_lanes):
    """clip.mp4 with five lane lines of 2 to 5 points on every frame but frame 5, going up or down the image."""
    return many_frames_of_lanes(lanes=5, rise=10, start=8, spread=30, drift=2)


@pytest.mark.parametrize("module, name, value", [
    (frame_objects, "CHUNK", 4),  # several chunks, each with lanes of several lengths
    (lane_frames, "LANES_AT_ONCE", 12),  # a few frames at a time, cut at a frame whatever the chunk
    (lane_frames, "LANES_AT_ONCE", 3),  # a frame with more lanes than that on its own
    (lane_curves, "COMPARISONS_AT_ONCE", 50),  # the samples of a few curves at a time
])
def test_lanes_are_written_as_each_one_alone_gives_them_across_chunks(lanes_on_many_frames, tmp_path, monkeypatch,
                                                                      module, name, value):
    monkeypatch.setattr(module, name, value)
    with Project.open(lanes_on_many_frames) as project:
        export_openlane(project, tmp_path / "ol")
        expected = {frame: one_by_one(project, frame) for frame in range(12)}
    for frame, lanes in expected.items():
        written = json.loads((tmp_path / "ol" / "clip" / f"{frame:06d}.json").read_text())["lane_lines"]
        assert [(lane["track_id"], lane["attribute"], lane["uv"]) for lane in written] == lanes
    assert {attribute for lanes in expected.values() for _, attribute, _ in lanes} == {0, 1, 2, 3, 4}


def one_by_one(project, frame):
    """(track id, attribute, uv) of the frame's lanes, left to right, each fitted and sampled alone."""
    curves = {obj.track.id: fit_lane(obj.state.geometry.points) for obj in project.store.objects_on(frame)}
    places = order_lanes(curves, project.sequence.width, project.sequence.height)
    lanes = []
    for track in sorted(curves, key=places.get):
        curve = curves[track]
        uv = curve.sample_equal(max(2, int(np.ceil(curve.length / UV_STEP)) + 1))  # a point every UV_STEP px
        lanes.append((track, PLACES.get(places[track], 0), [uv[:, 0].round(3).tolist(), uv[:, 1].round(3).tolist()]))
    return lanes
