"""Snapping a lane to the paint from the panel's workspace (real viewer, a video with a painted line)."""

import cv2
import numpy as np
import pytest

from napari_roadlabel._napari.widget import RoadLabelWidget
from napari_roadlabel.core import make_geometry
from napari_roadlabel.io.projects import create_project

WIDTH, HEIGHT = 320, 180
PAINT_X = (100.0, 220.0)  # the painted line runs from x=100 at the bottom to x=220 at the top


def paint_x(y):
    return PAINT_X[0] + (PAINT_X[1] - PAINT_X[0]) * (HEIGHT - y) / HEIGHT


@pytest.fixture
def painted_road(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "road.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (WIDTH, HEIGHT))
    for _ in range(3):
        frame = np.clip(rng.normal(90, 6, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
        cv2.line(frame, (int(PAINT_X[0]), HEIGHT), (int(PAINT_X[1]), 0), (235, 235, 235), 4, cv2.LINE_AA)
        writer.write(frame)
    writer.release()
    return path


def test_a_lane_drawn_beside_the_paint_snaps_onto_it_and_undo_puts_it_back(make_napari_viewer, painted_road, tmp_path):
    folder = tmp_path / "road.roadlabel"
    with create_project(folder, painted_road) as project:
        lane = project.add_track("lane-line")
        clicks = [[paint_x(y) + 4.0, y] for y in (170.0, 120.0, 70.0, 20.0)]  # 4 px right of the paint
        project.set_state(lane.id, 1, make_geometry("polyline", clicks))
    widget = RoadLabelWidget(make_napari_viewer())
    widget.open_project(folder)
    workspace = widget.workspace
    workspace.go_to(1)
    workspace.snap_max_shift = 6.0
    assert workspace.snap_lanes_to_paint() == 1
    points = workspace.project.state(lane.id, 1).geometry.points
    errors = np.abs(points[:, 0] - paint_x(points[:, 1]))
    assert np.median(errors) < 1.0 and errors.max() <= 6.0 + 4.0
    workspace.undo()
    np.testing.assert_allclose(workspace.project.state(lane.id, 1).geometry.points, clicks)
