"""The labeling panel and the keymap in a real viewer: attributes, object list, timeline, keys."""

import pytest
from qtpy.QtCore import Qt

from napari_roadlabel._napari.keymap import BINDINGS
from napari_roadlabel.core import make_geometry

LANE, LIGHT, SIGN = 1, 2, 3  # track ids in the labeled_project fixture


def field(panel, label):
    return next(widget for widget in panel.attributes if widget.label == label)


def test_the_panel_shows_and_edits_the_selected_objects_attributes(widget):
    workspace, panel = widget.workspace, widget.panel
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    assert field(panel, "Selected").value == f"#{LIGHT} traffic-light"
    state = field(panel, "state (frame)")
    assert state.value == "red" and field(panel, "face").value == "circle"
    state.value = "yellow"  # as if picked in the combo box
    assert workspace.project.state(LIGHT, 2).attributes["state"] == "yellow"
    assert workspace.project.state(LIGHT, 5).attributes["state"] == "green"  # the next keyframe keeps its own
    field(panel, "face").value = "arrow-left"
    assert workspace.project.track(LIGHT).attributes["face"] == "arrow-left"
    workspace.set_attributes(LIGHT, {"flashing": True})  # and the other way: store -> panel
    assert field(panel, "flashing (frame)").value is True


def test_a_bad_number_is_refused_and_the_field_shows_the_stored_value(widget, monkeypatch):
    reported = []
    monkeypatch.setattr(widget.panel.attributes, "report", reported.append)
    widget.workspace.go_to(2)
    widget.workspace.select_track(SIGN)
    field(widget.panel, "value").value = "fast"
    assert "'fast' is not a number" in str(reported[0])
    assert widget.workspace.project.track(SIGN).attributes["value"] == 65
    assert field(widget.panel, "value").value == "65"


def test_the_object_list_and_the_layers_select_together(widget):
    workspace, objects = widget.workspace, widget.panel.objects
    workspace.go_to(2)
    assert objects.track_ids() == [LANE, LIGHT, SIGN]
    objects.item(1).setSelected(True)
    assert workspace.selected_tracks() == [LIGHT]
    assert workspace.viewer.layers.selection.active is workspace.layer_named("Traffic lights")
    workspace.select_track(SIGN)
    assert [item.text() for item in objects.selectedItems()] == [f"#{SIGN}  traffic-sign"]
    workspace.go_to(5)
    assert objects.track_ids() == [LIGHT]


def test_the_timeline_shows_where_the_light_changes(widget):
    workspace, timeline = widget.workspace, widget.panel.timeline
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    assert "state: red 2, green 5" in timeline.text.text()
    assert timeline.keyframes == [2, 5] and timeline.height() > 0
    picture = timeline.grab().toImage()
    assert picture.width() > 0


def test_choosing_a_class_in_the_panel_prepares_its_layer(widget):
    widget.panel.chooser.value = "crosswalk"
    layer = widget.workspace.layer_named("Crosswalks and zones")
    assert widget.viewer.layers.selection.active is layer and layer.mode == "add_polygon"
    assert widget.workspace.active_class == "crosswalk"


def press(viewer, key, modifiers, qtbot):
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, key, modifiers)


@pytest.mark.parametrize(("key", "modifiers", "frame"), [
    (Qt.Key_Right, Qt.NoModifier, 3), (Qt.Key_Left, Qt.NoModifier, 1),
    (Qt.Key_Right, Qt.ShiftModifier, 11), (Qt.Key_Right, Qt.ControlModifier, 5),
    (Qt.Key_Left, Qt.ControlModifier, 2),  # no keyframe before frame 2: it stays
])
def test_frame_keys(widget, qtbot, key, modifiers, frame):
    """From frame 2 (keyframes on 2 and 5 in a 12-frame clip)."""
    viewer = widget.viewer
    viewer.window._qt_viewer.canvas.native.setFocus()
    widget.workspace.go_to(2)
    press(viewer, key, modifiers, qtbot)
    qtbot.waitUntil(lambda: widget.workspace.current_frame == frame)  # arrow keys step once back in the event loop


def test_track_and_undo_keys_do_what_the_help_says(widget, qtbot):
    viewer, workspace = widget.viewer, widget.workspace
    viewer.window._qt_viewer.canvas.native.setFocus()
    workspace.go_to(2)
    workspace.select_track(LANE)
    press(viewer, Qt.Key_N, Qt.AltModifier, qtbot)  # copy to next frame
    assert workspace.current_frame == 3 and workspace.project.state(LANE, 3) is not None
    press(viewer, Qt.Key_Z, Qt.ControlModifier, qtbot)
    assert workspace.project.state(LANE, 3) is None
    press(viewer, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier, qtbot)
    assert workspace.project.state(LANE, 3) is not None
    workspace.go_to(6)
    press(viewer, Qt.Key_C, Qt.AltModifier, qtbot)  # continue the last selected object here
    assert workspace.project.state(LANE, 6) is not None
    press(viewer, Qt.Key_3, Qt.AltModifier, qtbot)  # class 3 of the taxonomy
    assert workspace.active_class == "crosswalk" and widget.panel.chooser.value == "crosswalk"


def test_the_keys_tab_lists_every_binding(widget):
    from napari_roadlabel._napari.panel import KeysHelp

    table = KeysHelp()
    listed = {table.item(row, 0).text() for row in range(table.rowCount())}
    assert listed == {binding.keys for binding in BINDINGS}
    single_letters = [b.keys for b in BINDINGS if len(b.keys) == 1 and (b.keys.isalpha() or b.keys.isdigit())]
    assert single_letters == []


def test_the_shape_box_offers_the_classes_kinds(widget):
    chooser = widget.panel.chooser
    chooser.value = "vehicle"
    assert list(chooser.kind_box.choices) == ["box", "polygon", "keypoints", "mask"]
    chooser.kind_box.value = "keypoints"
    layer = widget.workspace.layer_named("Keypoints")
    assert widget.viewer.layers.selection.active is layer and layer.mode == "add"
    widget.workspace.choose_class_number(1)  # Alt-1: the panel follows
    assert chooser.value == "lane-line" and chooser.kind_box.value == "polyline"


def test_a_missing_required_value_is_marked(widget):
    workspace = widget.workspace
    sign = workspace.project.add_track("traffic-sign", {"type": "speed-limit"})
    workspace.project.set_state(sign.id, 4, make_geometry("point", [120, 30]))
    workspace.go_to(4)
    workspace.select_track(sign.id)
    assert [w.label for w in widget.panel.attributes][:3] == ["Selected", "type", "value (required)"]
    field(widget.panel, "value (required)").value = "50"
    assert workspace.project.track(sign.id).attributes["value"] == 50
    assert field(widget.panel, "value").value == "50"
