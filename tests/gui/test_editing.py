"""Editing in the layers writes to the store at once; track actions; undo and redo (real viewer, Xvfb)."""

import numpy as np
import pytest

from napari_roadlabel._napari.layers import KEYPOINTS, MASKS, SIGN_POINTS
from napari_roadlabel.core import GeometryKind, RoadlabelError, Source

LANE_ON_FRAME_2 = 1  # track ids in the labeled_project fixture
LIGHT = 2
SIGN = 3


def lanes_of(workspace):
    return workspace.layer_named("Lanes")


def test_a_lane_drawn_on_frame_5_is_a_keyframe_in_x_y(workspace, qtbot):
    workspace.go_to(5)
    workspace.choose_class("lane-line")
    lanes = lanes_of(workspace)
    assert workspace.viewer.layers.selection.active is lanes and lanes.mode == "add_path"
    lanes.add([np.array([[80.0, 10.0], [40.0, 60.0], [20.0, 90.0]])], shape_type="path")  # napari: (y, x)
    [lane] = [obj for obj in workspace.project.objects_on(5) if obj.track.class_name == "lane-line"]
    np.testing.assert_allclose(lane.state.geometry.points, [[10, 80], [60, 40], [90, 20]])  # store: (x, y)
    assert lane.state.source is Source.MANUAL and lane.track.id > SIGN  # a new id, never a reused one
    assert lane.attributes["style"] == "solid"  # taxonomy defaults for a new object
    qtbot.waitUntil(lambda: list(lanes.features["track_id"]) == [lane.track.id])


def test_moving_a_shape_makes_that_frame_a_keyframe_and_keeps_attributes(workspace):
    workspace.go_to(2)
    lights = workspace.layer_named("Traffic lights")
    workspace.viewer.layers.selection.active = lights  # the annotator works in that layer
    lights.selected_data = {0}
    lights.data = [lights.data[0] + [10, 20]]  # napari's move: data changed on the selected shape
    lights.events.data(value=lights.data, action="changed", data_indices=(0,), vertex_indices=((),))
    state = workspace.project.state(LIGHT, 2)
    np.testing.assert_allclose(state.geometry.points, [[120, 15], [130, 40]])
    assert state.attributes["state"] == "red"


def test_points_outside_the_image_are_pulled_onto_its_edge(workspace):
    workspace.go_to(4)
    workspace.choose_class("traffic-sign")
    signs = workspace.layer_named("Signs")
    signs.add([np.array([[-5.0, 150.0], [20.0, 170.0]])], shape_type="rectangle")
    [sign] = workspace.project.objects_on(4)
    np.testing.assert_allclose(sign.state.geometry.points, [[150, 0], [160, 20]])  # image is 160 x 90


def test_a_shape_the_class_cannot_take_is_refused_and_taken_away(workspace, qtbot):
    workspace.go_to(4)
    workspace.choose_class("lane-line")
    lanes = lanes_of(workspace)
    lanes.add([np.array([[10.0, 10.0], [30.0, 40.0]])], shape_type="rectangle")
    assert workspace.project.objects_on(4) == []
    qtbot.waitUntil(lambda: len(lanes.data) == 0)


def test_deleting_in_the_layer_removes_the_object_from_this_frame_only(workspace):
    workspace.go_to(5)
    lights = workspace.layer_named("Traffic lights")
    lights.selected_data = {0}
    lights.remove_selected()
    assert workspace.project.state(LIGHT, 5) is None
    assert workspace.project.state(LIGHT, 2) is not None  # the track lives on


def test_pasting_on_another_frame_continues_the_same_track(workspace):
    workspace.go_to(2)
    lanes = lanes_of(workspace)
    workspace.viewer.layers.selection.active = lanes
    lanes.selected_data = {0}
    lanes._copy_data()
    workspace.go_to(3)
    lanes._paste_data()
    [lane] = workspace.project.objects_on(3)
    assert lane.track.id == LANE_ON_FRAME_2 and lane.state.is_keyframe


def test_a_sign_point_and_keypoints_of_one_pedestrian(workspace):
    workspace.go_to(7)
    workspace.layer(SIGN_POINTS).add(np.array([[30.0, 120.0]]))
    workspace.choose_class("pedestrian")  # drawn as a box by default; its keypoints go in the Keypoints layer
    keypoints = workspace.layer(KEYPOINTS)
    workspace.viewer.layers.selection.active = keypoints  # the annotator clicks the Keypoints layer
    keypoints.add(np.array([[10.0, 10.0]]))
    keypoints.add(np.array([[20.0, 12.0]]))  # the next click adds to the same pedestrian
    by_class = {obj.track.class_name: obj.state.geometry for obj in workspace.project.objects_on(7)}
    assert by_class["traffic-sign"].kind is GeometryKind.POINT
    np.testing.assert_allclose(by_class["traffic-sign"].points, [[120, 30]])
    assert by_class["pedestrian"].kind is GeometryKind.KEYPOINTS
    np.testing.assert_allclose(by_class["pedestrian"].points, [[10, 10], [12, 20]])


def test_a_sign_drawn_beside_another_starts_as_a_new_sign_not_a_copy_of_it(workspace):
    workspace.go_to(2)  # the speed-limit 65 sign is here
    workspace.select_track(LIGHT)  # working on the light first: the Traffic lights layer is the live one
    workspace.choose_class("traffic-sign", "point")
    workspace.layer(SIGN_POINTS).add(np.array([[60.0, 100.0]]))
    [new] = [obj for obj in workspace.project.objects_on(2) if obj.track.id > SIGN]
    assert new.track.class_name == "traffic-sign" and new.attributes["type"] == "other"  # the taxonomy default


def test_painting_a_mask_makes_a_track_and_erasing_it_removes_the_state(workspace, qtbot):
    workspace.go_to(6)
    workspace.choose_class("vehicle")
    masks = workspace.layer(MASKS)
    masks.data[10:20, 30:50] = masks.selected_label
    masks.events.paint(value=[])
    [vehicle] = workspace.project.objects_on(6)
    assert vehicle.track.class_name == "vehicle" and vehicle.state.geometry.kind is GeometryKind.MASK
    assert vehicle.state.geometry.mask.sum() == 200 and vehicle.state.geometry.bounds() == (30, 10, 50, 20)
    assert masks.selected_label == vehicle.track.id  # painting on extends the same object
    masks.data[:] = 0
    masks.events.paint(value=[])
    assert workspace.project.objects_on(6) == []


def test_copy_to_next_frame_continue_and_end_track(workspace):
    workspace.go_to(2)
    workspace.select_track(LANE_ON_FRAME_2)
    assert workspace.copy_to_next_frame() == 1
    assert workspace.current_frame == 3
    assert workspace.project.state(LANE_ON_FRAME_2, 3).is_keyframe
    workspace.go_to(8)
    continued = workspace.continue_track()
    assert continued.track.id == LANE_ON_FRAME_2 and continued.state.frame == 8
    workspace.go_to(3)
    workspace.select_track(LANE_ON_FRAME_2)
    assert workspace.end_track_here() == 1  # frame 8 goes
    assert [s.frame for s in workspace.project.states_of(LANE_ON_FRAME_2)] == [2, 3]


def test_delete_on_this_frame_or_the_whole_track(workspace):
    workspace.go_to(5)
    workspace.select_track(LIGHT)
    workspace.delete_selected()
    assert [s.frame for s in workspace.project.states_of(LIGHT)] == [2]
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    workspace.delete_selected(whole_track=True)
    assert LIGHT not in {track.id for track in workspace.project.tracks()}


def test_undo_and_redo_restore_the_store_and_the_layers(workspace, qtbot):
    workspace.go_to(2)
    lanes = lanes_of(workspace)
    workspace.viewer.layers.selection.active = lanes
    lanes.selected_data = {0}
    lanes.remove_selected()
    assert workspace.project.state(LANE_ON_FRAME_2, 2) is None
    workspace.undo()
    assert workspace.project.state(LANE_ON_FRAME_2, 2) is not None
    assert list(lanes.features["track_id"]) == [LANE_ON_FRAME_2]
    workspace.redo()
    assert workspace.project.state(LANE_ON_FRAME_2, 2) is None and len(lanes.data) == 0


def test_attribute_changes_hold_until_the_next_keyframe(workspace):
    workspace.go_to(2)
    workspace.set_attributes(LIGHT, {"state": "yellow", "face": "arrow-left"})
    assert workspace.project.state(LIGHT, 2).attributes["state"] == "yellow"
    assert workspace.project.track(LIGHT).attributes["face"] == "arrow-left"
    assert workspace.project.state(LIGHT, 5).attributes["state"] == "green"
    workspace.go_to(3)
    with pytest.raises(RoadlabelError, match="not on frame 3"):
        workspace.set_attributes(LIGHT, {"state": "red"})


def test_the_selection_follows_the_object_across_frames(workspace):
    seen = []
    workspace.selection_changed.connect(seen.append)
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    workspace.go_to(5)
    lights = workspace.layer_named("Traffic lights")
    assert workspace.selected_tracks() == [LIGHT] and lights.selected_data == {0}
    workspace.go_to(6)
    assert workspace.selected_tracks() == [] and seen[-1] is None
    assert workspace.selected_track == LIGHT  # remembered, to continue it


def test_copying_everything_twice_copies_everything_twice(workspace):
    workspace.go_to(2)
    assert workspace.copy_to_next_frame() == 3 and workspace.copy_to_next_frame() == 3
    assert {obj.track.id for obj in workspace.project.objects_on(4)} == {LANE_ON_FRAME_2, LIGHT, SIGN}


def test_a_changed_light_state_holds_until_its_next_change(workspace):
    workspace.go_to(3)
    workspace.select_track(LIGHT)
    workspace.go_to(3)
    workspace.continue_track()  # frame 3 now has the light, red like frame 2
    workspace.go_to(2)
    workspace.set_attributes(LIGHT, {"state": "yellow"})
    states = {state.frame: state.attributes["state"] for state in workspace.project.states_of(LIGHT)}
    assert states == {2: "yellow", 3: "yellow", 5: "green"}


def test_choosing_a_class_does_not_recolour_the_selected_object(workspace):
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    lights = workspace.layer_named("Traffic lights")
    before = lights.edge_color[0].copy()
    workspace.choose_class("traffic-light")
    np.testing.assert_allclose(lights.edge_color[0], before)


def test_a_class_can_be_drawn_as_any_of_its_kinds(workspace):
    workspace.choose_class("vehicle", "mask")
    masks = workspace.layer(MASKS)
    assert workspace.viewer.layers.selection.active is masks and masks.mode == "paint"
    with pytest.raises(RoadlabelError, match="not polyline"):
        workspace.choose_class("vehicle", "polyline")


def test_painting_with_the_id_of_another_object_makes_a_new_mask(workspace):
    workspace.go_to(6)
    workspace.choose_class("vehicle", "mask")
    masks = workspace.layer(MASKS)
    masks.data[10:20, 30:50] = LIGHT  # napari's "next label" may be any object's id
    masks.events.paint(value=[])
    [vehicle] = workspace.project.objects_on(6)
    assert vehicle.track.id not in (LANE_ON_FRAME_2, LIGHT, SIGN) and vehicle.track.class_name == "vehicle"
    assert workspace.project.state(LIGHT, 6) is None
