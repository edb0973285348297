"""CULane export of many frames: the lanes of a chunk are sampled together, as each lane alone would be."""

import pytest

from napari_roadlabel.core import Project, frame_objects
from napari_roadlabel.core.lane_order import order_lanes
from napari_roadlabel.core.lanes import MISSING, culane_rows, fit_lane
from napari_roadlabel.io.formats.culane import export_culane


@pytest.fixture
def lanes_on_many_frames(many_frames_of_lanes):
    """clip.mp4 with four lane lines of 2 to 5 points on every frame but frame 5, one of them barely 2 rows tall."""
    return many_frames_of_lanes(lanes=4, rise=25, start=20, spread=35, drift=3)


def test_lanes_are_written_as_each_one_alone_gives_them_across_chunks(lanes_on_many_frames, tmp_path, monkeypatch):
    monkeypatch.setattr(frame_objects, "CHUNK", 4)  # several chunks, each with lanes of several lengths
    with Project.open(lanes_on_many_frames) as project:
        report = export_culane(project, tmp_path / "cu", frames=range(1, 12), every=2)
        expected = {frame: one_by_one(project, frame) for frame in range(1, 12, 2)}
    assert (tmp_path / "cu" / "list.txt").read_text().splitlines() == [f"/clip/{frame:06d}.jpg" for frame in expected]
    for frame, lines in expected.items():
        assert (tmp_path / "cu" / "clip" / f"{frame:06d}.lines.txt").read_text().splitlines() == lines
    assert report.written["lane-line"] == sum(map(len, expected.values())) > 10


def one_by_one(project, frame):
    """The frame's lines, left to right, each lane fitted and sampled alone; those under 2 points left out."""
    rows = culane_rows(project.sequence.height)
    curves = {obj.track.id: fit_lane(obj.state.geometry.points) for obj in project.store.objects_on(frame)}
    places = order_lanes(curves, project.sequence.width, project.sequence.height)
    lines = []
    for track in sorted(curves, key=places.get):
        xs = curves[track].sample_rows(rows)
        reached = xs != MISSING
        if reached.sum() >= 2:
            lines.append(" ".join(f"{x:.3f} {int(y)}" for x, y in zip(xs[reached], rows[reached], strict=True)))
    return lines
