"""The frame overlay in a real viewer: it draws what the layers would, and only the edited layer is live."""

import numpy as np
import pytest

from napari_roadlabel._napari import overlay
from napari_roadlabel._napari.display import LAYERS, OVERLAY
from napari_roadlabel._napari.layers import AREAS, BOXES, LANES, LIGHTS, POLYGONS
from napari_roadlabel._napari.workspace import Workspace
from napari_roadlabel.core import Project, Source, box, make_geometry
from napari_roadlabel.core.suggestion_writing import write_suggestions
from napari_roadlabel.core.suggestions import Suggestion
from napari_roadlabel.io.projects import create_project, open_project_frames

FRAME = 3
CANVAS = (900, 600)


@pytest.fixture
def scene(tmp_path, small_video):
    """Every kind of element on frame 3 of the 160x90 clip, apart from each other, and a lane on frame 2."""
    folder = tmp_path / "scene.roadlabel"
    with create_project(folder, small_video) as project:
        def add(class_name, geometry, attributes=None, track_attributes=None, **state):
            track = project.add_track(class_name, track_attributes)
            project.set_state(track.id, FRAME, geometry, attributes, **state)
            return track.id

        lane = add("lane-line", make_geometry("polyline", [[5, 85], [25, 60], [40, 45]]), {"style": "dashed"})
        project.set_state(lane, FRAME - 1, make_geometry("polyline", [[8, 85], [28, 60], [43, 45]]))
        add("lane-line", make_geometry("polyline", [[45, 85], [48, 60], [50, 45]]),
            track_attributes={"color": "yellow"})
        add("traffic-light", box(60, 5, 68, 25), {"state": "red"})
        add("traffic-sign", box(80, 5, 92, 17), track_attributes={"type": "stop"})
        add("traffic-sign", make_geometry("point", [100, 40]), track_attributes={"type": "yield"})
        add("crosswalk", make_geometry("polygon", [[60, 60], [100, 60], [104, 80], [56, 80]]))
        add("traffic-direction", make_geometry("polyline", [[120, 85], [122, 60]]))
        add("vehicle", box(120, 5, 150, 25), source=Source.PROPAGATED, confidence=0.2)
        add("pedestrian", make_geometry("keypoints", [[140, 40], [146, 46], [140, 52]]))
        write_suggestions(project, "tester@1", [Suggestion(FRAME, 0.6, class_name="cyclist",
                                                           geometry=box(20, 10, 40, 30))])
    return folder


def open_scene(viewer, folder, display):
    viewer.window.resize(*CANVAS)
    project = Project.open(folder)
    workspace = Workspace(viewer, project, open_project_frames(project), display=display)
    workspace.show_ghost = True
    workspace.go_to(FRAME)
    workspace.review.reason = "look here"
    workspace.review.comment(point=(130.0, 70.0))
    workspace.choose_class("cyclist", "polygon")  # an empty layer is the live one: everything else is drawn
    viewer.reset_view()
    return workspace


def canvas_picture(viewer, qtbot) -> np.ndarray:
    qtbot.wait(50)
    return viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)


def test_the_overlay_draws_the_same_picture_as_live_layers(make_napari_viewer, scene, qtbot):
    pictures = {}
    viewer = make_napari_viewer(show=True)
    for display in (LAYERS, OVERLAY):  # one after the other in one viewer: the same canvas
        workspace = open_scene(viewer, scene, display)
        pictures[display] = canvas_picture(viewer, qtbot)
        if display == OVERLAY:
            for layer in viewer.layers[1:]:
                layer.visible = False
            frames_alone = canvas_picture(viewer, qtbot)
            assert workspace.display.live is workspace.layers[POLYGONS]
        workspace.close()
    drawn = np.abs(pictures[OVERLAY] - frames_alone).max(axis=2) > 30
    assert drawn.mean() > 0.02  # the annotations are there
    differs = np.abs(pictures[OVERLAY] - pictures[LAYERS]).max(axis=2) > 40
    assert differs.sum() <= 0.02 * drawn.sum(), f"{differs.sum()} pixels differ of {drawn.sum()} drawn"


def test_only_the_edited_layer_holds_its_objects_and_every_layer_shows_the_store(make_napari_viewer, scene):
    workspace = open_scene(make_napari_viewer(), scene, OVERLAY)
    display = workspace.display
    on_frame = {obj.track.id: obj.state.geometry for obj in workspace.project.objects_on(FRAME)}
    shown = {}
    for element in (LANES, LIGHTS, AREAS, BOXES):
        layer = workspace.layers[element]
        assert len(layer.data) == 0  # drawn by the overlay
        content = display.content(layer)
        shown.update({int(track_id): data for track_id, data in zip(content.data.features["track_id"],
                                                                    content.data.data, strict=True)})
    assert set(shown) <= set(on_frame) and len(shown) >= 6
    for track_id, data in shown.items():
        np.testing.assert_allclose(data[:, ::-1].min(axis=0), on_frame[track_id].points.min(axis=0))


def test_selecting_an_object_makes_its_layer_live_and_an_edit_there_is_saved(make_napari_viewer, scene):
    workspace = open_scene(make_napari_viewer(), scene, OVERLAY)
    project, display = workspace.project, workspace.display
    light = next(obj.track.id for obj in project.objects_on(FRAME) if obj.track.class_name == "traffic-light")
    workspace.select_track(light)
    lights = workspace.layers[LIGHTS]
    assert display.live is lights and workspace.viewer.layers.selection.active is lights
    assert list(lights.features["track_id"]) == [light] and lights.selected_data == {0}
    assert len(workspace.layers[POLYGONS].data) == 0 and len(workspace.layers[LANES].data) == 0
    moved = lights.data[0] + [2.0, 3.0]  # napari order: down 2, right 3
    lights.data = [moved]
    state = project.state(light, FRAME)
    np.testing.assert_allclose(state.geometry.points, [[63, 7], [71, 27]])
    assert state.is_keyframe


def test_clicking_a_layer_in_the_list_switches_the_live_layer(make_napari_viewer, scene):
    workspace = open_scene(make_napari_viewer(), scene, OVERLAY)
    viewer, display = workspace.viewer, workspace.display
    lanes = workspace.layers[LANES]
    viewer.layers.selection.active = lanes
    assert display.live is lanes and len(lanes.data) == 2
    assert len(workspace.layers[POLYGONS].data) == 0
    viewer.layers.selection.active = workspace.image_layer  # the frames: the live layer stays
    assert display.live is lanes and len(lanes.data) == 2
    workspace.go_to(FRAME - 1)
    assert len(lanes.data) == 1  # the live layer follows the frame


def test_hiding_a_layer_removes_it_from_the_overlay(make_napari_viewer, scene, qtbot):
    viewer = make_napari_viewer(show=True)
    workspace = open_scene(viewer, scene, OVERLAY)
    before = canvas_picture(viewer, qtbot)
    workspace.layers[AREAS].visible = False
    after = canvas_picture(viewer, qtbot)
    assert (np.abs(before - after).max(axis=2) > 30).sum() > 50
    workspace.layers[AREAS].visible = True
    np.testing.assert_array_equal(canvas_picture(viewer, qtbot), before)


def test_the_overlay_is_made_for_this_napari_and_another_one_gets_every_layer_live(make_napari_viewer, scene,
                                                                                   monkeypatch):
    assert overlay.why_not_supported() == ""  # an upgrade past the pinned napari fails here: recheck the overlay
    assert "napari 0.10.0 is not the 0.9.x" in overlay.why_not_supported("0.10.0")
    monkeypatch.setattr("napari_roadlabel._napari.display.why_not_supported", lambda: "napari 9.9 is not it")
    workspace = open_scene(make_napari_viewer(), scene, OVERLAY)
    assert workspace.display.mode == LAYERS and workspace.display.overlay is None
    assert len(workspace.layers[LANES].data) == 2  # not the live layer, and filled all the same


def test_while_playing_the_overlay_draws_the_live_layer_too_and_at_the_stop_it_is_live_again(make_napari_viewer,
                                                                                            scene, qtbot):
    workspace = open_scene(make_napari_viewer(), scene, OVERLAY)
    lanes = workspace.layers[LANES]
    workspace.viewer.layers.selection.active = lanes
    workspace.go_to(FRAME - 1)
    player = workspace.review.player
    player.play(5.0)
    assert len(lanes.data) == 0 and not workspace.display.is_live(lanes)
    assert len(workspace.display.content(lanes)) == 1  # frame 2's lane, drawn by the overlay
    qtbot.waitUntil(lambda: workspace.current_frame == FRAME, timeout=5000)
    player.stop()
    assert workspace.display.is_live(lanes) and len(lanes.data) == 2  # frame 3's lanes, editable again


def test_docked_in_napari_behind_its_public_proxy_the_edited_layer_is_live_and_saves(make_napari_viewer, scene):
    """A docked plug-in gets napari's PublicOnlyProxy of the viewer: a new proxy object per access to a layer."""
    from napari.utils._proxies import PublicOnlyProxy

    workspace = open_scene(PublicOnlyProxy(make_napari_viewer()), scene, OVERLAY)
    workspace.choose_class("vehicle")
    boxes = workspace.viewer.layers.selection.active
    assert boxes is not workspace.viewer.layers.selection.active  # a new proxy each time
    assert workspace.display.is_live(boxes) and len(boxes.data) == 2  # the vehicle and the suggested cyclist
    before = {track.id for track in workspace.project.tracks()}
    boxes.add([np.array([[40.0, 70.0], [40.0, 90.0], [55.0, 90.0], [55.0, 70.0]])], shape_type="rectangle")
    [new] = {track.id for track in workspace.project.tracks()} - before
    assert workspace.project.track(new).class_name == "vehicle"
    assert not workspace.display.is_live(workspace.layers[LANES])


def test_a_layer_the_overlay_draws_keeps_a_thumbnail_of_what_it_shows(make_napari_viewer, scene, qtbot):
    workspace = open_scene(make_napari_viewer(), scene, OVERLAY)
    areas = workspace.layers[AREAS]
    assert len(areas.data) == 0  # drawn by the overlay
    qtbot.waitUntil(lambda: areas.thumbnail[..., :3].max() > 100, timeout=3000)
    pixels = areas.thumbnail[..., :3].reshape(-1, 3)
    red, green, blue = pixels[pixels.max(axis=1) > 100].mean(axis=0)
    assert blue > red  # the crosswalk's light blue outline
