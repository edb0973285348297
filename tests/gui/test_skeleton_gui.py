"""Skeletons in a real viewer: shown as edges and coloured points, placed by clicking their points in order."""

import numpy as np
import pytest

from napari_roadlabel._napari.keymap import BINDINGS
from napari_roadlabel._napari.skeleton_view import SIDE_COLORS, point_color, skeleton_contents
from napari_roadlabel._napari.style import hex_to_rgba
from napari_roadlabel._napari.widget import RoadLabelWidget
from napari_roadlabel.core import RoadlabelError, box, make_skeleton
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


def press(keys: str, workspace) -> None:
    next(binding for binding in BINDINGS if binding.keys == keys).action(workspace)


def click_all(workspace, points: np.ndarray, visibility: np.ndarray) -> list[str]:
    """Place a skeleton point by point as an annotator would: a click for each placed point (after Alt-Shift-O
    for an occluded one), Alt-Shift-S for each absent one; returns the point the tool names before each."""
    tool, shown = workspace.skeleton_tool, []
    for xy, flag in zip(points, visibility, strict=True):
        shown.append(tool.next_point)
        if flag == ABSENT:
            press("Alt-Shift-S", workspace)
            continue
        if flag == OCCLUDED:
            press("Alt-Shift-O", workspace)
        tool.layer.add(np.array([xy[::-1]]))  # napari: (row, col)
    return shown


def test_placing_by_clicking_in_order_writes_one_skeleton_state_and_undo_takes_it_back(workspace):
    workspace.go_to(FRAME + 1)
    workspace.choose_class("pedestrian", "skeleton")
    tool = workspace.skeleton_tool
    assert workspace.viewer.layers.selection.active is tool.layer and tool.layer.mode == "add"
    names = workspace.project.taxonomy["pedestrian"].skeleton.points
    points, visibility = standing_pose(names)
    points += 5.0  # not the state already on frame 2
    named = click_all(workspace, points, visibility)
    assert named == list(names)
    placed = workspace.project.objects_on(FRAME + 1)
    assert len(placed) == 1 and placed[0].track.class_name == "pedestrian"
    geometry = placed[0].state.geometry
    np.testing.assert_array_equal(geometry.visibility, visibility)
    absent = [names[index] for index in np.flatnonzero(geometry.visibility == ABSENT)]
    assert absent == list(ABSENT_POINTS)
    np.testing.assert_allclose(geometry.points, points)  # NaN where absent, in both
    assert len(tool.layer.data) == 0 and tool.next_point == names[0]  # ready for the next skeleton
    assert len(workspace.display.content(workspace.skeleton_view.points_layer)) == 15  # and shown
    workspace.undo()
    assert workspace.project.objects_on(FRAME + 1) == []


def test_each_clicked_point_takes_the_colour_of_its_side_and_visibility(workspace):
    workspace.choose_class("pedestrian", "skeleton")
    names = workspace.project.taxonomy["pedestrian"].skeleton.points
    points, visibility = standing_pose(names)
    click_all(workspace, points[:10], visibility[:10])  # nose to left_wrist (occluded); left_eye skipped
    placed = [name for name, flag in zip(names[:10], visibility[:10], strict=True) if flag != ABSENT]
    expected = [point_color(name, flag) for name, flag in zip(names[:10], visibility[:10], strict=True)
                if flag != ABSENT]
    assert placed[0] == "nose" and placed[-1] == "left_wrist"
    np.testing.assert_allclose(workspace.skeleton_tool.layer.face_color, expected)


def test_the_panel_names_the_next_point(make_napari_viewer, skeleton_project):
    panel = RoadLabelWidget(make_napari_viewer())
    panel.open_project(skeleton_project)
    workspace = panel.workspace
    label = panel.panel.skeleton_next
    assert not label.isVisibleTo(panel)
    panel.panel.chooser.value = "pedestrian"
    panel.panel.chooser.kind_box.value = "skeleton"
    assert label.isVisibleTo(panel) and label.text().startswith("next: nose ")
    workspace.skeleton_tool.layer.add(np.array([[20.0, 60.0]]))
    workspace.skeleton_tool.skip()
    assert label.text().startswith("next: right_eye ")
    workspace.skeleton_tool.toggle_occluded()
    assert label.text().startswith("next: right_eye (occluded)")
    workspace.choose_class("pedestrian", "box")
    assert not label.isVisibleTo(panel)


def test_going_to_another_frame_starts_the_skeleton_over(workspace):
    workspace.choose_class("pedestrian", "skeleton")
    tool = workspace.skeleton_tool
    tool.layer.add(np.array([[20.0, 60.0]]))
    tool.skip()
    workspace.go_to(FRAME + 3)
    assert tool.next_point == "nose" and len(tool.layer.data) == 0


def test_a_skeleton_with_every_point_skipped_is_refused_and_nothing_is_written(workspace, monkeypatch):
    reported = []
    monkeypatch.setattr(workspace, "report", reported.append)
    workspace.choose_class("pedestrian", "skeleton")
    for _ in workspace.project.taxonomy["pedestrian"].skeleton.points:
        workspace.skeleton_tool.skip()
    assert "every point absent" in str(reported[0])
    assert workspace.project.objects_on(0) == []


def test_a_skeleton_in_the_selected_box_is_a_new_object_inside_it_and_one_undo_step(make_napari_viewer,
                                                                                  skeleton_project):
    panel = RoadLabelWidget(make_napari_viewer())
    panel.open_project(skeleton_project)
    workspace = panel.workspace
    person = workspace.project.add_track("pedestrian")
    workspace.project.set_state(person.id, FRAME + 1, box(100, 10, 130, 80))
    workspace.go_to(FRAME + 1)
    workspace.select_track(person.id)
    panel.panel.skeleton_in_box.clicked.emit()
    placed = [obj for obj in workspace.project.objects_on(FRAME + 1) if obj.track.id != person.id]
    assert len(placed) == 1
    xmin, ymin, xmax, ymax = placed[0].state.geometry.bounds()
    assert 100 <= xmin < xmax <= 130 and 10 <= ymin < ymax <= 80 and ymax - ymin > 50
    assert len(workspace.display.content(workspace.skeleton_view.points_layer)) == 17
    workspace.undo()
    assert [obj.track.id for obj in workspace.project.objects_on(FRAME + 1)] == [person.id]


def test_a_skeleton_in_a_box_needs_a_selected_box(workspace):
    workspace.go_to(FRAME)  # only the skeleton is there
    workspace.select_track(workspace.shown_objects[0].track.id)
    with pytest.raises(RoadlabelError, match="select a box on this frame"):
        workspace.skeleton_tool.place_in_box()


def test_a_selected_skeleton_can_be_deleted_from_its_frame(workspace):
    workspace.go_to(FRAME)
    workspace.select_track(workspace.shown_objects[0].track.id)
    workspace.delete_selected()
    assert workspace.project.objects_on(FRAME) == []
    assert len(workspace.display.content(workspace.skeleton_view.points_layer)) == 0
