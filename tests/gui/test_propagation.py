"""Propagating in a real viewer: the panel's Propagate box, the worker thread, cancel, undo, how results look."""

import numpy as np
import pytest

from napari_roadlabel._napari.derived_outlines import FLAGGED_COLOR, LAYER_NAME
from napari_roadlabel._napari.keymap import BINDINGS
from napari_roadlabel._napari.propagation import PropagationOptions, plan_for
from napari_roadlabel.core import Source, box

LANE, LIGHT, SIGN = 1, 2, 3  # track ids in the labeled_project fixture


@pytest.fixture
def small_video(tmp_path):
    """The labeled project's clip with texture everywhere (flow needs something to follow), drifting 1 px a frame."""
    import cv2

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (90, 200), np.uint8), (0, 0), 1.5)
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 90))
    for index in range(12):
        writer.write(cv2.cvtColor(np.ascontiguousarray(texture[:, 20 - index:180 - index]), cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def run(widget, qtbot, **options):
    """Set the Propagate box's controls, press its button and wait for the run to be written."""
    controls = widget.panel.propagate
    for name, value in options.items():
        getattr(controls, name).value = value
    with qtbot.waitSignal(widget.workspace.propagation.finished, timeout=20000) as finished:
        controls.button.clicked.emit()
    return finished.args


def test_linear_propagation_of_the_selected_light_fills_the_gap_in_one_undo_step(widget, qtbot):
    workspace = widget.workspace
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    result, summary = run(widget, qtbot, scope="selected", method="linear", direction="forward",
                          until="next keyframe")
    project = workspace.project
    assert [(state.frame, state.source, state.attributes["state"]) for state in project.states_of(LIGHT)] == [
        (2, Source.MANUAL, "red"), (3, Source.INTERPOLATED, "red"), (4, Source.INTERPOLATED, "red"),
        (5, Source.MANUAL, "green")]
    assert project.states_of(LANE)[0].frame == 2 and len(project.states_of(LANE)) == 1  # not selected: untouched
    assert summary.startswith("linear: 2 states written for 1 object(s)")
    assert widget.panel.propagate.summary.tooltip == summary
    assert widget.panel.propagate.summary.value == "linear: 2 states, 0 to check"
    assert widget.panel.propagate.button.enabled and not widget.panel.propagate.cancel_button.enabled
    workspace.undo()
    assert [state.frame for state in project.states_of(LIGHT)] == [2, 5]


def test_flow_propagation_of_all_objects_to_the_end_runs_in_a_worker_and_shows_dashed_outlines(widget, qtbot):
    workspace = widget.workspace
    workspace.go_to(2)
    result, summary = run(widget, qtbot, scope="all", method="flow", direction="forward", until="end")
    project = workspace.project
    assert result.plan.method == "flow" and result.states
    light_frames = {state.frame: state for state in project.states_of(LIGHT)}
    assert light_frames[3].source is Source.PROPAGATED and 0 < light_frames[3].confidence <= 1
    assert light_frames[5].source is Source.MANUAL  # a keyframe is never overwritten
    workspace.go_to(3)
    dashes = workspace.viewer.layers[LAYER_NAME]
    assert len(workspace.display.content(dashes).vectors) > 0
    assert "(propagated" in widget.panel.objects.item(0).text()
    workspace.go_to(2)  # only keyframes here: nothing dashed
    assert len(workspace.display.content(dashes).vectors) == 0


def test_cancel_writes_nothing(widget, qtbot):
    workspace = widget.workspace
    workspace.go_to(2)
    controls = widget.panel.propagate
    controls.scope.value, controls.method.value, controls.until.value = "all", "flow", "end"
    before = {track: len(workspace.project.states_of(track)) for track in (LANE, LIGHT, SIGN)}
    with qtbot.waitSignal(workspace.propagation.finished, timeout=20000) as finished:
        controls.button.clicked.emit()
        assert controls.cancel_button.enabled and not controls.button.enabled
        controls.cancel_button.clicked.emit()
    result, message = finished.args
    assert result is None and "cancelled" in message
    assert {track: len(workspace.project.states_of(track)) for track in (LANE, LIGHT, SIGN)} == before
    assert not workspace.propagation.running and controls.button.enabled


def test_backward_by_n_frames_carries_the_light_from_its_keyframe(widget, qtbot):
    workspace = widget.workspace
    workspace.go_to(5)
    workspace.select_track(LIGHT)
    run(widget, qtbot, scope="selected", method="flow", direction="backward", until="N frames", frames=2)
    frames = {state.frame: state.source for state in workspace.project.states_of(LIGHT)}
    # frames 3..5: only keyframe 5 is in range, so 3 and 4 are carried back from it
    assert frames == {2: Source.MANUAL, 3: Source.PROPAGATED, 4: Source.PROPAGATED, 5: Source.MANUAL}


def test_alt_p_propagates_with_the_boxs_settings(widget, qtbot):
    workspace = widget.workspace
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    widget.panel.propagate.method.value = "linear"
    alt_p = next(binding for binding in BINDINGS if binding.keys == "Alt-P")
    with qtbot.waitSignal(workspace.propagation.finished, timeout=20000):
        alt_p.action(workspace)
    assert workspace.project.state(LIGHT, 3).source is Source.INTERPOLATED


def test_nothing_selected_is_reported_and_nothing_starts(widget, monkeypatch):
    reported = []
    monkeypatch.setattr(widget.panel.propagate, "report", reported.append)
    widget.workspace.go_to(7)  # no object here, none selected
    widget.workspace.selected_track = None
    widget.panel.propagate.scope.value = "selected"
    widget.panel.propagate.button.clicked.emit()
    assert "select an object to propagate" in str(reported[0])
    assert not widget.workspace.propagation.running


def test_nothing_to_do_says_why(widget, monkeypatch):
    reported = []
    monkeypatch.setattr(widget.panel.propagate, "report", reported.append)
    widget.workspace.go_to(6)
    controls = widget.panel.propagate
    controls.scope.value, controls.method.value, controls.until.value = "all", "linear", "end"
    controls.button.clicked.emit()
    assert "nothing to propagate" in str(reported[0]) and "no keyframe in frames 6..11" in str(reported[0])


def test_a_state_to_check_is_orange_in_the_outlines_the_list_and_the_timeline(widget):
    workspace = widget.workspace
    project = workspace.project
    project.set_state(LIGHT, 3, box(100, 5, 110, 30), source=Source.PROPAGATED, confidence=0.2)
    project.set_state(LIGHT, 4, box(100, 5, 110, 30), source=Source.PROPAGATED, confidence=0.9)
    workspace.go_to(3)
    workspace.select_track(LIGHT)
    item = next(widget.panel.objects.item(row).text() for row in range(widget.panel.objects.count()))
    assert item == f"#{LIGHT}  traffic-light  (propagated 0.20, check)"
    dashes = workspace.viewer.layers[LAYER_NAME]
    colors = workspace.display.content(dashes).vector_colors
    assert len(colors) and np.allclose(colors, FLAGGED_COLOR)
    assert "made: keyframe 2, to check 3, propagated 4, keyframe 5" in widget.panel.timeline.text.text()
    workspace.go_to(4)
    colors = workspace.display.content(dashes).vector_colors
    assert len(colors) and not np.allclose(colors, FLAGGED_COLOR)


@pytest.mark.parametrize("direction, until, expected", [
    ("forward", "next keyframe", (2, 5)), ("forward", "N frames", (2, 4)), ("forward", "end", (2, 11)),
    ("backward", "next keyframe", (2, 5)), ("backward", "N frames", (3, 5)), ("backward", "end", (0, 5)),
])
def test_the_range_follows_the_direction_and_until(widget, direction, until, expected):
    workspace = widget.workspace
    workspace.go_to(2 if direction == "forward" else 5)
    workspace.select_track(LIGHT)
    plan = plan_for(workspace, PropagationOptions("selected", "flow", until, 2, direction))
    span = plan.spans[0]
    assert (span.first, span.last) == expected


def test_the_viewer_keeps_working_while_a_run_computes(widget, qtbot, monkeypatch):
    import threading

    import napari_roadlabel._napari.propagation as gui_propagation

    release = threading.Event()
    real = gui_propagation.compute_propagation

    def held(*args, **kwargs):  # the worker waits here until the test has stepped through frames
        release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(gui_propagation, "compute_propagation", held)
    workspace = widget.workspace
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    widget.panel.propagate.method.value = "linear"
    with qtbot.waitSignal(workspace.propagation.finished, timeout=20000):
        widget.panel.propagate.button.clicked.emit()
        for frame in (3, 7, 4):
            workspace.go_to(frame)
            qtbot.wait(10)
            assert workspace.shown_frame == frame and workspace.propagation.running
        release.set()
    assert workspace.project.state(LIGHT, 3).source is Source.INTERPOLATED


def test_a_run_can_extend_the_frame_tags_it_starts_in(widget, qtbot):
    workspace = widget.workspace
    tag = workspace.project.add_tag("school-zone-active", 0, 3)
    workspace.go_to(2)
    workspace.select_track(LIGHT)
    run(widget, qtbot, scope="selected", method="linear", direction="forward", until="end", extend_tags=True)
    assert workspace.project.tags()[0].end == 11 and workspace.project.tags()[0].id == tag.id
    workspace.undo()  # the same undo step as the states
    assert workspace.project.tags()[0].end == 3 and workspace.project.state(LIGHT, 3) is None


def test_next_to_check_jumps_between_flagged_frames(widget):
    workspace = widget.workspace
    project = workspace.project
    for frame, confidence in ((3, 0.2), (4, 0.9), (8, 0.1)):
        project.set_state(LIGHT, frame, box(100, 5, 110, 30), source=Source.PROPAGATED, confidence=confidence)
    workspace.go_to(0)
    widget.panel.propagate.next_to_check.clicked.emit()
    assert workspace.current_frame == 3
    next(binding for binding in BINDINGS if binding.keys == "Alt-Right").action(workspace)
    assert workspace.current_frame == 8  # frame 4 is confident enough
    assert workspace.jump_to_check(forward=True) is None and workspace.current_frame == 8
    assert "no propagated state to check after this frame" in workspace.viewer.status
    assert workspace.jump_to_check(forward=False) == 3
