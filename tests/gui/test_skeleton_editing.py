"""Editing a skeleton on the canvas of a real viewer: selecting it by a point, dragging points with the mouse,
removing a point, toggling occlusion; each edit one undo step."""

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt

from napari_roadlabel._napari.keymap import BINDINGS
from napari_roadlabel._napari.widget import RoadLabelWidget
from napari_roadlabel.core import Source, box, make_skeleton
from napari_roadlabel.core.geometry import ABSENT, OCCLUDED, VISIBLE
from napari_roadlabel.io.projects import create_project

FRAME = 2
PERSON_BOX = (40, 5, 100, 85)


@pytest.fixture
def two_people(tmp_path, small_video):
    """A pedestrian skeleton (a standing template) on frame 2, spread over a 60 x 80 box, and a box to drop
    another template into; returns the project folder and the skeleton's points."""
    from napari_roadlabel.core.skeletons import template_in_box

    folder = tmp_path / "people.roadlabel"
    with create_project(folder, small_video) as project:
        skeleton = project.taxonomy["pedestrian"].skeleton
        person = project.add_track("pedestrian")
        geometry = template_in_box(skeleton, PERSON_BOX)
        visibility = geometry.visibility.copy()
        visibility[skeleton.index("left_wrist")] = OCCLUDED
        project.set_state(person.id, FRAME, make_skeleton(geometry.points, visibility))
        boxed = project.add_track("pedestrian")
        project.set_state(boxed.id, FRAME, box(120, 10, 150, 80))
    return folder


@pytest.fixture
def widget(make_napari_viewer, two_people):
    panel = RoadLabelWidget(make_napari_viewer())
    panel.open_project(two_people)
    panel.workspace.go_to(FRAME)
    panel.viewer.window._qt_window.resize(1400, 900)
    panel.viewer.reset_view()
    return panel


PERSON, BOXED = 1, 2


def canvas_point(viewer, xy) -> QPoint:
    """Where image pixel ``xy`` (x, y) is on the canvas widget."""
    canvas = viewer.window._qt_viewer.canvas
    mapped = canvas.view.scene.transform.map([xy[0], xy[1]])  # vispy's scene is (x, y) = napari's (col, row)
    ratio = canvas.native.devicePixelRatioF()
    return QPoint(round(mapped[0] / ratio), round(mapped[1] / ratio))


def drag(widget, qtbot, start_xy, end_xy, steps=6) -> None:
    """Press the left button at ``start_xy``, move there in steps, release: napari's select-mode drag."""
    native = widget.viewer.window._qt_viewer.canvas.native
    start, end = canvas_point(widget.viewer, start_xy), canvas_point(widget.viewer, end_xy)
    qtbot.mousePress(native, Qt.LeftButton, pos=start)
    for step in range(1, steps + 1):
        at = start + (end - start) * (step / steps)
        qtbot.mouseMove(native, at)
        qtbot.wait(20)  # napari follows the pointer on its own timer
    qtbot.mouseRelease(native, Qt.LeftButton, pos=end)


def click(widget, qtbot, xy) -> None:
    native = widget.viewer.window._qt_viewer.canvas.native
    qtbot.mouseClick(native, Qt.LeftButton, pos=canvas_point(widget.viewer, xy))


def skeleton_on(project, frame=FRAME, track=PERSON):
    return project.state(track, frame).geometry


def point_of(project, name, frame=FRAME, track=PERSON):
    skeleton = project.taxonomy["pedestrian"].skeleton
    return skeleton_on(project, frame, track).points[skeleton.index(name)]


def index_of(project, name):
    return project.taxonomy["pedestrian"].skeleton.index(name)


def press(keys: str, workspace) -> None:
    next(binding for binding in BINDINGS if binding.keys == keys).action(workspace)


def test_clicking_a_point_selects_its_skeleton_in_the_object_list(widget, qtbot):
    workspace, project = widget.workspace, widget.workspace.project
    layer = workspace.skeleton_view.points_layer
    workspace.viewer.layers.selection.active = layer
    click(widget, qtbot, point_of(project, "left_knee"))
    assert workspace.selected_track == PERSON
    assert workspace.selected_tracks() == [PERSON]
    assert [item.data(Qt.UserRole) for item in widget.panel.objects.selectedItems()] == [PERSON]
    assert {int(layer.features["point"].iloc[row]) for row in layer.selected_data} == {index_of(project, "left_knee")}


def test_the_status_bar_names_the_point_under_the_pointer(widget):
    workspace, project = widget.workspace, widget.workspace.project
    layer = workspace.skeleton_view.points_layer
    workspace.viewer.layers.selection.active = layer
    knee = point_of(project, "left_knee")
    status = layer.get_status(position=(knee[1], knee[0]), world=True)
    assert "left_knee" in str(status)


def test_dragging_one_point_moves_only_it_as_a_manual_keyframe_and_undo_puts_it_back(widget, qtbot):
    workspace, project = widget.workspace, widget.workspace.project
    before = skeleton_on(project)
    workspace.viewer.layers.selection.active = workspace.skeleton_view.points_layer
    knee = point_of(project, "right_knee")
    click(widget, qtbot, knee)
    drag(widget, qtbot, knee, knee + [12, -6])
    after = skeleton_on(project)
    moved = index_of(project, "right_knee")
    np.testing.assert_allclose(after.points[moved], knee + [12, -6], atol=1.0)  # a pixel of screen rounding
    others = np.arange(len(after.points)) != moved
    np.testing.assert_array_equal(after.points[others], before.points[others])
    np.testing.assert_array_equal(after.visibility, before.visibility)  # the occluded wrist stays occluded
    assert project.state(PERSON, FRAME).source is Source.MANUAL
    assert project.undo().startswith("edit skeleton points (track 1) on frame 2")
    assert skeleton_on(project) == before


def test_the_edges_follow_a_dragged_point_before_the_store_is_written(widget, qtbot):
    workspace, project = widget.workspace, widget.workspace.project
    view = workspace.skeleton_view
    before = skeleton_on(project)
    workspace.viewer.layers.selection.active = view.points_layer
    knee = point_of(project, "right_knee")
    click(widget, qtbot, knee)
    native = widget.viewer.window._qt_viewer.canvas.native
    qtbot.mousePress(native, Qt.LeftButton, pos=canvas_point(widget.viewer, knee))
    for step in range(1, 5):
        qtbot.mouseMove(native, canvas_point(widget.viewer, knee + [5 * step, 0]))
        qtbot.wait(20)
    ends = [end[::-1] for path in workspace.display.content(view.edges_layer).data.data for end in path]  # x, y
    assert skeleton_on(project) == before  # nothing written while the button is down
    assert sum(np.allclose(end, knee + [20, 0], atol=1.0) for end in ends) == 2  # thigh and shin
    assert not any(np.allclose(end, knee, atol=1.0) for end in ends)
    qtbot.mouseRelease(native, Qt.LeftButton, pos=canvas_point(widget.viewer, knee + [20, 0]))
    np.testing.assert_allclose(point_of(project, "right_knee"), knee + [20, 0], atol=1.0)


def test_a_skeleton_picked_in_the_object_list_is_dragged_whole_by_any_point(widget, qtbot):
    workspace, project = widget.workspace, widget.workspace.project
    before = skeleton_on(project)
    workspace.select_track(PERSON)  # what clicking it in the object list does
    layer = workspace.skeleton_view.points_layer
    assert workspace.viewer.layers.selection.active is layer
    assert len(layer.selected_data) == int((before.visibility != ABSENT).sum())
    nose = point_of(project, "nose")
    drag(widget, qtbot, nose, nose + [-15, 4])
    shift = skeleton_on(project).points - before.points
    np.testing.assert_allclose(shift, np.tile([-15, 4], (len(shift), 1)), atol=1.0)
    assert project.undo() is not None and skeleton_on(project) == before


def test_after_a_drag_the_same_point_stays_picked_on_the_next_frame(widget, qtbot):
    workspace, project = widget.workspace, widget.workspace.project
    layer = workspace.skeleton_view.points_layer
    workspace.viewer.layers.selection.active = layer
    elbow = point_of(project, "left_elbow")
    click(widget, qtbot, elbow)
    drag(widget, qtbot, elbow, elbow + [0, 10])
    qtbot.wait(10)  # the frame is shown again once napari's drag is over
    picked = {int(layer.features["point"].iloc[row]) for row in layer.selected_data}
    assert picked == {index_of(project, "left_elbow")}
    project.set_state(PERSON, FRAME + 1, skeleton_on(project))
    workspace.go_to(FRAME + 1)
    assert {int(layer.features["point"].iloc[row]) for row in layer.selected_data} == picked


def test_removing_a_point_makes_it_absent_and_removing_all_takes_the_skeleton_off_the_frame(widget):
    workspace, project = widget.workspace, widget.workspace.project
    layer = workspace.skeleton_view.points_layer
    workspace.viewer.layers.selection.active = layer
    ear = index_of(project, "right_ear")
    layer.selected_data = {int(np.flatnonzero(layer.features["point"].to_numpy() == ear)[0])}
    layer.remove_selected()  # napari's Delete in select mode
    after = skeleton_on(project)
    assert after.visibility[ear] == ABSENT and np.isnan(after.points[ear]).all()
    assert int((after.visibility != ABSENT).sum()) == len(layer.data) == 16
    layer.selected_data = set(range(len(layer.data)))
    layer.remove_selected()
    assert project.state(PERSON, FRAME) is None
    assert project.undo() is not None and project.state(PERSON, FRAME) is not None


def test_alt_shift_o_toggles_the_selected_points_between_occluded_and_visible(widget, qtbot):
    workspace, project = widget.workspace, widget.workspace.project
    layer = workspace.skeleton_view.points_layer
    workspace.viewer.layers.selection.active = layer
    knee, wrist = index_of(project, "left_knee"), index_of(project, "left_wrist")
    rows = {int(np.flatnonzero(layer.features["point"].to_numpy() == index)[0]) for index in (knee, wrist)}
    layer.selected_data = rows
    press("Alt-Shift-O", workspace)  # one of the two is visible: both become occluded
    qtbot.wait(10)
    assert skeleton_on(project).visibility[[knee, wrist]].tolist() == [OCCLUDED, OCCLUDED]
    press("Alt-Shift-O", workspace)  # both occluded: both visible again
    assert skeleton_on(project).visibility[[knee, wrist]].tolist() == [VISIBLE, VISIBLE]
    project.undo()
    assert skeleton_on(project).visibility[[knee, wrist]].tolist() == [OCCLUDED, OCCLUDED]


def test_a_point_added_in_the_layer_is_refused_and_nothing_is_written(widget, monkeypatch):
    workspace, project = widget.workspace, widget.workspace.project
    reported = []
    monkeypatch.setattr(workspace, "report", reported.append)
    before = skeleton_on(project)
    layer = workspace.skeleton_view.points_layer
    workspace.viewer.layers.selection.active = layer
    layer.selected_data = {0}
    layer.add(np.array([[20.0, 20.0]]))  # napari gives it the selected row's track and point
    assert "placed with the skeleton tool" in str(reported[0])
    assert skeleton_on(project) == before


def test_a_template_dropped_into_a_box_is_fitted_by_dragging_its_points(widget, qtbot):
    workspace, project = widget.workspace, widget.workspace.project
    person = skeleton_on(project)
    workspace.select_track(BOXED)
    workspace.skeleton_tool.place_in_box()
    template = max(track.id for track in project.tracks())
    workspace.select_track(template)
    wrist = point_of(project, "right_wrist", track=template)
    workspace.viewer.layers.selection.active = workspace.skeleton_view.points_layer
    click(widget, qtbot, wrist)
    drag(widget, qtbot, wrist, wrist + [8, -20])
    np.testing.assert_allclose(point_of(project, "right_wrist", track=template), wrist + [8, -20], atol=1.0)
    assert skeleton_on(project, track=PERSON) == person  # the other skeleton is untouched
