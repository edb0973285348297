"""The Assist tab in a real viewer: a run in its worker, suggestions drawn, accepted and rejected by key, undone,
the least sure first, in bulk after the validation is shown, and a cancelled run that writes nothing."""

import time

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_roadlabel._napari.assist_layers import DOTS_LAYER, TEXT_LAYER
from napari_roadlabel._napari.assist_panel import AssistPanel
from napari_roadlabel._napari.style import class_color, hex_to_rgba
from napari_roadlabel.assist import Assistant, Suggestion, Validation, registry
from napari_roadlabel.assist.run import suggest
from napari_roadlabel.core import Source, box, make_geometry
from napari_roadlabel.core.errors import RoadlabelError
from napari_roadlabel.core.suggestions import GEOMETRY, pending_suggestions

LIGHT = 2  # the traffic light's track in the labeled_project fixture (a keyframe on frames 2 and 5)
NEW_LIGHT_3, NEW_LIGHT_4 = box(20, 20, 30, 45), box(60, 10, 70, 35)
NEW_LANE_3 = make_geometry("polyline", [[10, 85], [70, 30]])
PROPOSALS = [Suggestion(3, 0.9, class_name="traffic-light", geometry=NEW_LIGHT_3),
             Suggestion(3, 0.4, class_name="lane-line", geometry=NEW_LANE_3),
             Suggestion(3, 0.6, track_id=LIGHT, attributes={"state": "green"}),
             Suggestion(4, 0.3, class_name="traffic-light", geometry=NEW_LIGHT_4)]


class Scripted(Assistant):
    """Proposes PROPOSALS, after ``delay`` seconds a frame; validated at 90% on 12 labels."""

    name = "scripted"
    description = "proposes what the test gives it"
    produces = GEOMETRY
    learns = True
    delay = 0.0
    proposals = PROPOSALS

    def train(self, context):
        return Validation(12, 0.9, "3 held-out blocks of time")

    def suggest(self, context):
        for _ in context.frame_range:
            time.sleep(self.delay)
            context.step()
        return [item for item in self.proposals if item.frame in context.frame_range]


class _EntryPoint:
    value = "tests:Scripted"

    def load(self):
        return Scripted


@pytest.fixture
def assisted(monkeypatch, widget):
    """The Assist tab, with the scripted assistant as a plug-in; the light is interpolated on frame 3 (red)."""
    monkeypatch.setattr(registry, "_plugins", lambda: {"scripted": _EntryPoint()})
    monkeypatch.setattr(Scripted, "delay", 0.0)
    workspace = widget.workspace
    workspace.project.set_state(LIGHT, 3, box(100, 5, 111, 31), {"state": "red"}, source=Source.INTERPOLATED)
    widget.close_workspace()  # open again, so the tab lists the plug-in
    widget.open_project(workspace.project.folder)
    assert widget.assist_panel.assistant.choices[-1] == "scripted"
    widget.assist_panel.assistant.value = "scripted"
    return widget


def run_from_tab(panel: AssistPanel, qtbot, scope="whole sequence"):
    panel.scope.value = scope
    panel.run_button.clicked.emit()
    qtbot.waitUntil(lambda: not panel.assist.running and panel.run_button.enabled, timeout=20000)


def press(panel, qtbot, key, modifiers=Qt.AltModifier):
    canvas = panel.assist.workspace.viewer.window._qt_viewer.canvas.native
    canvas.setFocus()
    qtbot.keyClick(canvas, key, modifiers)


def on_frame(project, frame):
    return pending_suggestions(project, frames=range(frame, frame + 1))


def new_track_at(project, frame, geometry):
    return next(item.target for item in on_frame(project, frame)
                if item.kind == GEOMETRY and project.state(item.target, frame).geometry == geometry)


def test_a_run_from_the_tab_shows_its_validation_and_draws_what_the_store_holds(assisted, qtbot):
    panel = assisted.assist_panel
    workspace, project = panel.assist.workspace, panel.assist.workspace.project
    run_from_tab(panel, qtbot)
    assert "scripted: learned from 12 labels; validated accuracy 90.0% (3 held-out blocks of time)" in \
        panel.result.text()
    assert "wrote 3 suggested states (3 new objects), 1 attribute suggestion" in panel.result.text()
    assert "validated accuracy 90.0%" in panel.validated.text()
    assert len(pending_suggestions(project)) == 4
    workspace.go_to(3)
    pending = on_frame(project, 3)
    assert [item.confidence for item in panel.suggestions.items()] == [0.4, 0.6, 0.9]  # least sure first
    viewer = workspace.viewer
    labels = workspace.display.content(viewer.layers[TEXT_LAYER])  # drawn by the frame overlay
    texts = sorted(labels.table["text"])
    assert texts == sorted(panel.assist.describe(item) for item in pending)
    assert texts == ["lane-line? 0.40", "state: green? 0.60", "traffic-light? 0.90"]
    anchors = {text: tuple(labels.data.data[row][::-1]) for row, text in enumerate(labels.table["text"])}
    assert anchors["traffic-light? 0.90"] == (20, 20)  # a proposed object: its top-left corner
    assert anchors["state: green? 0.60"] == (100, 31)  # suggested values: the object's bottom-left
    dots = workspace.display.content(viewer.layers[DOTS_LAYER])
    starts = dots.vectors[:, 0, ::-1]  # x, y
    on_light = np.all((starts >= [20, 20]) & (starts <= [30, 45]), axis=1)
    assert on_light.any() and np.allclose(dots.vector_colors[on_light][:, :3],
                                          hex_to_rgba(class_color(project.taxonomy, "traffic-light"))[:3])
    on_lane = ~on_light
    assert on_lane.any() and np.allclose(dots.vector_colors[on_lane][:, :3],
                                         hex_to_rgba(class_color(project.taxonomy, "lane-line"))[:3])
    # the object list and the timeline say what waits for the light
    objects = assisted.panel.objects
    texts = [objects.item(row).text() for row in range(objects.count())]
    assert any(text.startswith(f"#{LIGHT}  traffic-light") and "◇ state: green? 0.60" in text for text in texts)
    workspace.select_track(LIGHT)
    assert suggested_field(assisted) == ["state: green? 0.60"]
    timeline = assisted.panel.timeline
    assert "assist: suggested 3" in timeline.text.text()
    workspace.go_to(5)  # a keyframe, nothing suggested: nothing drawn
    assert len(workspace.display.content(viewer.layers[DOTS_LAYER])) == 0
    assert len(workspace.display.content(viewer.layers[TEXT_LAYER])) == 0
    assert workspace.selected_tracks() == [LIGHT] and suggested_field(assisted) == []


def suggested_field(widget):
    return [field.value for field in widget.panel.attributes if field.label.startswith("Suggested")]


def test_accept_and_reject_by_key_and_undo(assisted, qtbot):
    panel = assisted.assist_panel
    workspace, project = panel.assist.workspace, panel.assist.workspace.project
    run_from_tab(panel, qtbot)
    workspace.go_to(3)
    light = new_track_at(project, 3, NEW_LIGHT_3)
    workspace.select_track(light)
    press(panel, qtbot, Qt.Key_Return)
    assert project.state(light, 3).source is Source.MANUAL and project.state(light, 3).model.startswith("scripted@")
    assert light not in [item.target for item in panel.suggestions.items()]
    press(panel, qtbot, Qt.Key_Z, Qt.ControlModifier)
    assert project.state(light, 3).source is Source.SUGGESTED
    lane = new_track_at(project, 3, NEW_LANE_3)
    workspace.select_track(lane)
    dots = workspace.viewer.layers[DOTS_LAYER]
    dots_before = len(workspace.display.content(dots))
    press(panel, qtbot, Qt.Key_Backspace)
    assert not project.has_track(lane) and len(on_frame(project, 3)) == 2
    assert len(workspace.display.content(dots)) < dots_before
    press(panel, qtbot, Qt.Key_Z, Qt.ControlModifier)
    assert project.has_track(lane) and project.state(lane, 3).source is Source.SUGGESTED
    workspace.select_track(LIGHT)  # the selected object's suggestion is the one accepted
    press(panel, qtbot, Qt.Key_Return)
    assert project.state(LIGHT, 3).attributes["state"] == "green"
    assert [item.kind for item in on_frame(project, 3)] == [GEOMETRY, GEOMETRY]


def test_next_suggestion_goes_to_the_least_sure_first(assisted, qtbot):
    panel = assisted.assist_panel
    workspace, project = panel.assist.workspace, panel.assist.workspace.project
    run_from_tab(panel, qtbot)
    workspace.go_to(0)
    visited = []
    for _ in range(4):
        press(panel, qtbot, Qt.Key_N, Qt.AltModifier | Qt.ShiftModifier)
        visited.append((workspace.current_frame, workspace.selected_tracks(), panel.assist.focus.confidence))
        assert [row.data(Qt.UserRole) for row in panel.suggestions.selectedItems()] == [panel.assist.focus]
    assert visited == [(4, [new_track_at(project, 4, NEW_LIGHT_4)], 0.3), (3, [new_track_at(project, 3, NEW_LANE_3)],
                       0.4), (3, [LIGHT], 0.6), (3, [new_track_at(project, 3, NEW_LIGHT_3)], 0.9)]
    press(panel, qtbot, Qt.Key_N, Qt.AltModifier | Qt.ShiftModifier)  # round again
    assert workspace.current_frame == 4


def test_accept_all_on_this_frame_above_a_confidence_only_after_the_validation_is_shown(assisted, qtbot):
    panel = assisted.assist_panel
    workspace, project = panel.assist.workspace, panel.assist.workspace.project
    suggest(project, Scripted(), None)  # written outside this session's tab: no validation shown
    workspace.refresh()
    workspace.go_to(3)
    with pytest.raises(RoadlabelError, match="validated accuracy is shown before"):
        panel.assist.accept_all_on_frame(0.5)
    assert len(on_frame(project, 3)) == 3
    run_from_tab(panel, qtbot)
    panel.bulk_confidence.value = 0.5
    press(panel, qtbot, Qt.Key_Return, Qt.AltModifier | Qt.ShiftModifier)
    assert [item.confidence for item in on_frame(project, 3)] == [0.4]  # the lane stays to check
    assert project.state(LIGHT, 3).attributes["state"] == "green"
    assert project.state(new_track_at(project, 4, NEW_LIGHT_4), 4).source is Source.SUGGESTED  # another frame
    workspace.undo()  # one step
    assert len(on_frame(project, 3)) == 3


def test_a_proposed_object_is_rejected_on_every_frame_at_once_and_undone_at_once(assisted, qtbot, monkeypatch):
    panel = assisted.assist_panel
    workspace, project = panel.assist.workspace, panel.assist.workspace.project
    far_lane = make_geometry("polyline", [[130, 88], [155, 60]])  # nowhere near the person's lane
    spanning = [Suggestion(frame, 0.5, class_name="lane-line", geometry=far_lane, new_track=7) for frame in range(6)]
    monkeypatch.setattr(Scripted, "proposals", PROPOSALS + spanning)
    run_from_tab(panel, qtbot)
    lane = next(track.id for track in project.tracks("lane-line") if len(project.states_of(track.id)) == 6)
    workspace.go_to(2)
    workspace.select_track(lane)
    press(panel, qtbot, Qt.Key_Backspace, Qt.AltModifier | Qt.ShiftModifier)
    assert not project.has_track(lane) and len(project.store.rejections("scripted")) == 6
    press(panel, qtbot, Qt.Key_Z, Qt.ControlModifier)
    assert len(project.states_of(lane)) == 6 and project.store.rejections("scripted") == []


def test_cancel_stops_a_run_and_writes_nothing(assisted, qtbot):
    panel = assisted.assist_panel
    Scripted.delay = 0.3
    with qtbot.waitSignal(panel.assist.finished, timeout=20000) as finished:
        panel.scope.value = "whole sequence"
        panel.run_button.clicked.emit()
        assert panel.cancel_button.enabled and not panel.run_button.enabled
        panel.cancel_button.clicked.emit()
    assert finished.args == [None, "cancelled: nothing was written"]
    assert pending_suggestions(panel.assist.project) == [] and panel.run_button.enabled
    assert panel.result.text() == "cancelled: nothing was written"


SQUARE = (slice(30, 60), slice(10, 40))  # where the clip's bright square is on frame 0 (rows, columns)


def test_a_box_and_a_click_make_a_mask_and_superpixels_paint_one(widget, qtbot):
    masks = pytest.importorskip("napari_roadlabel.assist.masks", reason="click to mask needs assist/masks.py")
    workspace, controls, tool = widget.workspace, widget.assist_panel.masks, widget.workspace.mask_tool
    square = np.zeros((90, 160), bool)
    square[SQUARE] = True
    controls.start.clicked.emit()
    assert workspace.viewer.layers.selection.active is tool.box_layer and tool.box_layer.mode == "add_rectangle"
    tool.box_layer.add_rectangles(np.array([[22.0, 2.0], [68.0, 48.0]]))  # as if drawn: around the square
    assert workspace.viewer.layers.selection.active is tool.clicks_layer  # the clicks come next
    tool.clicks_layer.add([[45.0, 25.0]])  # on the object
    controls.clicks.value = "off the object"
    tool.clicks_layer.add([[25.0, 25.0]])  # above it
    image = workspace.frames.read(0)
    assert np.array_equal(tool.preview, masks.mask_from_box(image, (2, 22, 48, 68), [(25, 45)], [(25, 25)]))
    assert (tool.preview & square).sum() > 0.9 * square.sum() and not tool.preview[:, 50:].any()
    assert np.array_equal(tool.preview_layer.data > 0, tool.preview)
    made = tool.preview
    controls.class_box.value = "custom"
    controls.make.clicked.emit()
    [track] = workspace.project.tracks("custom")
    shown = workspace.layer_named("Masks").data
    assert np.array_equal(shown == track.id, made) and tool.preview is None
    workspace.undo()
    assert workspace.project.tracks("custom") == [] and not (workspace.layer_named("Masks").data > 0).any()
    controls.mode.value, controls.clicks.value = "superpixels", "on the object"
    controls.start.clicked.emit()
    tool.clicks_layer.add([[45.0, 25.0]])
    painted = tool.preview
    assert np.array_equal(painted, masks.paint_superpixels(masks.superpixels(image), [(25, 45)]))
    assert painted.any() and (painted & square).sum() / painted.sum() > 0.9
