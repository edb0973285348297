"""Skeletons in a real viewer: shown as edges and coloured points, placed by clicking their points in order."""

import numpy as np
import pytest

from napari_roadlabel._napari.skeleton_view import SIDE_COLORS, skeleton_contents
from napari_roadlabel._napari.style import hex_to_rgba
from napari_roadlabel._napari.widget import RoadLabelWidget
from napari_roadlabel.core import make_skeleton
from napari_roadlabel.core.geometry import ABSENT, OCCLUDED, VISIBLE
from napari_roadlabel.io.projects import create_project

FRAME = 2
ABSENT_POINTS = ("left_eye", "right_ankle")


def standing_pose(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """17 distinct points in the 160x90 frame, two absent and the left wrist occluded."""
    points = np.array([[60.0 + 3 * index, 10.0 + 4 * index] for index in range(len(names))])
    visibility = np.full(len(names), VISIBLE, np.uint8)
    for name in ABSENT_POINTS:
        points[names.index(name)] = np.nan
        visibility[names.index(name)] = ABSENT
    visibility[names.index("left_wrist")] = OCCLUDED
    return points, visibility


@pytest.fixture
def skeleton_project(tmp_path, small_video):
    folder = tmp_path / "people.roadlabel"
    with create_project(folder, small_video) as project:
        names = project.taxonomy["pedestrian"].skeleton.points
        track = project.add_track("pedestrian")
        project.set_state(track.id, FRAME, make_skeleton(*standing_pose(names)))
    return folder


@pytest.fixture
def workspace(make_napari_viewer, skeleton_project):
    panel = RoadLabelWidget(make_napari_viewer())
    panel.open_project(skeleton_project)
    return panel.workspace


def segments(content) -> set[tuple]:
    return {tuple(np.round(np.asarray(path), 6).ravel()) for path in content.data.data}


def test_a_skeleton_state_is_shown_as_its_placed_edges_and_points(workspace):
    workspace.go_to(FRAME)
    skeleton = workspace.project.taxonomy["pedestrian"].skeleton
    points, visibility = standing_pose(skeleton.points)
    expected = {tuple(np.round(points[[skeleton.index(a), skeleton.index(b)]][:, ::-1], 6).ravel())
                for a, b in skeleton.edges if a not in ABSENT_POINTS and b not in ABSENT_POINTS}
    view = workspace.skeleton_view
    edges = workspace.display.content(view.edges_layer)
    assert segments(edges) == expected
    assert len(expected) == len(skeleton.edges) - 4  # left_eye has three edges, right_ankle one
    shown = workspace.display.content(view.points_layer)
    assert len(shown) == 15
    colors = {tuple(np.asarray(row).round(6)): tuple(color) for row, color in zip(shown.data.data,
                                                                                  shown.data.edge_colors, strict=True)}
    nose, wrist, knee = (tuple(points[skeleton.index(name)][::-1].round(6))
                         for name in ("nose", "left_wrist", "right_knee"))
    assert colors[nose] == tuple(hex_to_rgba(SIDE_COLORS["centre"]))
    assert colors[knee] == tuple(hex_to_rgba(SIDE_COLORS["right"]))
    assert colors[wrist][:3] == tuple(hex_to_rgba(SIDE_COLORS["left"]))[:3] and colors[wrist][3] < 1  # occluded


def test_a_frame_without_skeletons_shows_none(workspace):
    assert workspace.skeleton_view.points_layer is None  # no layer until a skeleton is shown
    workspace.go_to(FRAME)
    workspace.go_to(FRAME + 1)
    assert len(workspace.display.content(workspace.skeleton_view.points_layer)) == 0
    edges, points = skeleton_contents(workspace.shown_objects, workspace.project.taxonomy)
    assert not len(edges) and not len(points)

