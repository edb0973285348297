"""A small labeled project and an open workspace on it, in a real napari viewer."""

import pytest

from napari_roadlabel._napari.widget import RoadLabelWidget
from napari_roadlabel.core import box, make_geometry
from napari_roadlabel.io.projects import create_project

LANE_XY = [[10, 80], [60, 40], [90, 20]]


@pytest.fixture
def labeled_project(tmp_path, small_video):
    """clip.mp4 (12 frames, 160x90) with a lane, a light and a sign on frame 2 and the light again on frame 5."""
    folder = tmp_path / "clip.roadlabel"
    with create_project(folder, small_video) as project:
        lane = project.add_track("lane-line")
        light = project.add_track("traffic-light")
        sign = project.add_track("traffic-sign", {"type": "speed-limit", "value": 65})
        project.set_state(lane.id, 2, make_geometry("polyline", LANE_XY))
        project.set_state(light.id, 2, box(100, 5, 110, 30), {"state": "red"})
        project.set_state(sign.id, 2, make_geometry("point", [140, 20]))
        project.set_state(light.id, 5, box(101, 6, 112, 32), {"state": "green"})
    return folder


@pytest.fixture
def widget(make_napari_viewer, labeled_project):
    """The Road labeling panel with the labeled project open."""
    panel = RoadLabelWidget(make_napari_viewer())
    panel.open_project(labeled_project)
    return panel


@pytest.fixture
def workspace(widget):
    return widget.workspace

