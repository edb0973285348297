"""Review mode in a real viewer: verdicts by key, comments on points, playing, the checks' findings, sign-off."""

import json

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QFileDialog

from napari_roadlabel._napari.demo import prepare_demo_project
from napari_roadlabel._napari.review_layers import COMMENTS_LAYER, FINDINGS_LAYER, SEVERITY_COLORS
from napari_roadlabel._napari.style import hex_to_rgba
from napari_roadlabel._napari.widget import RoadLabelWidget
from napari_roadlabel.core import Project, Source, box, make_geometry
from napari_roadlabel.core.review import ReviewStatus
from napari_roadlabel.qa.findings import Severity

LANE, LIGHT, SIGN = 1, 2, 3  # track ids in the labeled_project fixture


def press(widget, qtbot, key, modifiers=Qt.AltModifier):
    canvas = widget.viewer.window._qt_viewer.canvas.native
    canvas.setFocus()
    qtbot.keyClick(canvas, key, modifiers)


def run_checks(widget, qtbot):
    """Alt-K, and wait for the worker's findings."""
    with qtbot.waitSignal(widget.workspace.review.findings_changed, timeout=30000) as arrived:
        press(widget, qtbot, Qt.Key_K)
    return arrived.args[0]


def geometry_of(project):
    return [(obj.track.id, obj.state.frame, obj.state.geometry) for obj in project.store.iter_objects()]


def test_verdicts_by_key_are_stored_under_the_reviewers_name_and_move_no_geometry(widget, qtbot):
    workspace, review = widget.workspace, widget.workspace.review
    project = workspace.project
    before = geometry_of(project)
    widget.review_panel.reviewer.value = "rita"
    workspace.go_to(2)
    press(widget, qtbot, Qt.Key_A)  # accept frame 2, go to the next unreviewed one
    assert review.review.frame_status(2) is ReviewStatus.ACCEPTED and workspace.current_frame == 3
    assert project.store.review_mark(None, 2).reviewer == "rita"
    press(widget, qtbot, Qt.Key_R)  # no reason typed: refused, nothing stored
    assert review.review.frame_status(3) is ReviewStatus.UNREVIEWED
    widget.review_panel.text.value = "stop line missing"
    press(widget, qtbot, Qt.Key_R)
    assert project.store.review_mark(None, 3).reason == "stop line missing"
    workspace.go_to(5)
    workspace.select_track(LIGHT)
    widget.review_panel.text.value = "light is yellow here"
    press(widget, qtbot, Qt.Key_X)  # reject the selected object on this frame
    assert review.review.object_status(LIGHT, 5) is ReviewStatus.REJECTED
    assert review.review.object_status(LIGHT, 4) is ReviewStatus.UNREVIEWED
    workspace.go_to(2)
    workspace.select_track(LANE)
    press(widget, qtbot, Qt.Key_O)  # accept the lane's whole track
    assert review.review.track_status(LANE) is ReviewStatus.ACCEPTED
    assert "[accepted]" in widget.panel.objects.item(widget.panel.objects.track_ids().index(LANE)).text()
    assert "rejected" in widget.review_panel.progress.text() and "1 rejected" in widget.review_panel.progress.text()
    assert geometry_of(project) == before
    workspace.undo()
    assert review.review.track_status(LANE) is ReviewStatus.UNREVIEWED


def test_the_strip_shows_verdicts_and_a_click_goes_to_the_frame(widget, qtbot):
    workspace, review = widget.workspace, widget.workspace.review
    review.reviewer = "rita"
    review.review.accept_frames(range(0, 6))
    review.review.reject_frame(8, "lane drifts")
    strip = widget.review_panel.strip
    picture = strip.grab().toImage()
    per_frame = picture.width() / workspace.frame_count
    green, red = picture.pixelColor(int(0.5 * per_frame), 15), picture.pixelColor(int(8.5 * per_frame), 15)
    assert (green.green() > 150 and green.red() < 100) and (red.red() > 200 and red.green() < 100)
    click = QPoint(int(6.5 * per_frame), 10)  # the middle of frame 6
    qtbot.mouseClick(strip, Qt.LeftButton, pos=click)
    assert workspace.current_frame == strip.frame_at(click.x()) == 6
    assert review.next_rejected().frame == 8 and workspace.current_frame == 8


def test_a_point_comment_is_placed_by_a_click_and_resolved_from_the_list(widget, qtbot):
    workspace, review = widget.workspace, widget.workspace.review
    review.reviewer = "rita"
    workspace.go_to(2)
    widget.review_panel.text.value = "dash missed here"
    workspace.comment_pins.start_placing()
    pins = widget.viewer.layers[COMMENTS_LAYER]
    assert widget.viewer.layers.selection.active is pins and pins.mode == "add"
    pins.add([[40.0, 70.0]])  # what a click at x 70, y 40 does
    [comment] = review.review.comments()
    assert (comment.frame, comment.point, comment.text) == (2, (70.0, 40.0), "dash missed here")
    assert pins.mode == "pan_zoom" and len(pins.data) == 1 and widget.review_panel.text.value == ""
    workspace.go_to(3)
    assert len(pins.data) == 0  # pins show the current frame's comments only
    comments = widget.review_panel.comments
    comments.setCurrentRow(0)
    comments.itemClicked.emit(comments.item(0))
    assert workspace.current_frame == 2
    workspace.review.resolve(comments.picked().id)
    assert review.review.comments(open_only=True) == []
    assert comments.item(0).text().startswith("resolved")
    assert np.allclose(pins.face_color[0], hex_to_rgba("#909090"))


def test_playing_stops_at_a_finding(widget, qtbot):
    workspace, review = widget.workspace, widget.workspace.review
    workspace.project.set_state(workspace.project.add_track("traffic-sign", {"type": "speed-limit"}).id, 7,
                                make_geometry("point", [120, 40]))  # no speed value: a finding on frame 7
    findings = run_checks(widget, qtbot)
    assert 7 in {finding.frame for finding in findings}
    workspace.go_to(0)
    review.fps = 60
    press(widget, qtbot, Qt.Key_Up)
    assert review.playing and widget.review_panel.play_button.text.startswith("Stop")
    qtbot.waitUntil(lambda: not review.playing, timeout=5000)
    assert workspace.current_frame == min(finding.frame for finding in findings if finding.frame > 0)
    review.stop_at_flags = False
    review.play()
    qtbot.waitUntil(lambda: not review.playing, timeout=5000)
    assert workspace.current_frame == workspace.frame_count - 1


def test_findings_are_listed_outlined_and_jumped_to(widget, qtbot):
    workspace = widget.workspace
    project = workspace.project
    crossing = project.add_track("lane-line")
    project.set_state(crossing.id, 2, make_geometry("polyline", [[90, 85], [50, 45], [20, 10]]))
    findings = run_checks(widget, qtbot)
    crossings = [finding for finding in findings if finding.check == "crossing-lanes"]
    assert len(crossings) == 1 and set(crossings[0].track_ids) == {LANE, crossing.id}
    assert crossings[0].severity is Severity.ERROR
    workspace.go_to(9)
    finding = workspace.review.next_finding()
    assert finding.frame == 2 and workspace.current_frame == 2
    assert workspace.selected_tracks()[0] in (LANE, crossing.id)
    outlines = workspace.display.content(widget.viewer.layers[FINDINGS_LAYER])  # drawn by the frame overlay
    assert len(outlines.data.data) >= 1
    assert np.allclose(outlines.data.edge_colors[0], hex_to_rgba(SEVERITY_COLORS[Severity.ERROR]))
    listed = widget.review_panel.findings
    assert any("crossing-lanes" in listed.item(row).text() for row in range(listed.count()))
    assert widget.review_panel.findings_summary.text().startswith("1 error (block sign-off)")
    workspace.select_track(crossing.id)
    with qtbot.waitSignal(workspace.review.findings_changed, timeout=30000):
        workspace.delete_selected(whole_track=True)  # the fix; the checks run again by themselves
    assert not [finding for finding in workspace.review.findings if finding.check == "crossing-lanes"]


@pytest.fixture
def sample_with_mistakes(tmp_path):
    """The bundled sample (ground truth) with three mistakes an annotator could make."""
    folder = prepare_demo_project(tmp_path)
    with Project.open(folder) as project:
        sign = project.add_track("traffic-sign", {"type": "speed-limit"})  # no speed value
        project.set_state(sign.id, 20, box(500, 120, 520, 140))
        crossing = project.add_track("lane-line")  # across a lane: its bottom moved right, its top left
        lane = project.state(project.tracks("lane-line")[0].id, 40).geometry.points
        bottom, top = lane[np.argmax(lane[:, 1])], lane[np.argmin(lane[:, 1])]
        width = project.sequence.width
        ends = [[min(width - 1, bottom[0] + 40), bottom[1]], [max(0, top[0] - 40), top[1]]]
        project.set_state(crossing.id, 40, make_geometry("polyline", ends))
        [light] = project.tracks("traffic-light")
        frame = steady_light_frame(project, light.id)
        state = project.state(light.id, frame)
        flicker = "yellow" if state.attributes["state"] != "yellow" else "red"
        project.set_state(light.id, frame, state.geometry, {"state": flicker})  # this frame only
    return folder, sign.id, crossing.id, light.id


def steady_light_frame(project, light):
    """A frame in the middle of seven with one light state."""
    states = {state.frame: state.attributes["state"] for state in project.states_of(light)}
    return next(frame for frame in sorted(states)
                if len({states.get(near) for near in range(frame - 3, frame + 4)}) == 1)


def test_a_reviewer_takes_the_sample_from_unreviewed_to_signed_off(make_napari_viewer, qtbot, sample_with_mistakes):
    folder, sign, crossing, light = sample_with_mistakes
    widget = RoadLabelWidget(make_napari_viewer())
    widget.open_project(folder)
    workspace, review = widget.workspace, widget.workspace.review
    widget.review_panel.reviewer.value = "rita"
    findings = run_checks(widget, qtbot)
    assert {finding.check for finding in findings} == {"missing-attribute", "crossing-lanes", "light-flicker"}
    fixes = {"missing-attribute": lambda: workspace.set_attributes(sign, {"value": 25}),
             "crossing-lanes": lambda: workspace.delete_selected(whole_track=True),
             "light-flicker": lambda: workspace.set_attributes(light, {
                 "state": workspace.project.state(light, workspace.current_frame - 1).attributes["state"]})}
    while review.findings:
        press(widget, qtbot, Qt.Key_F)
        finding = next(finding for finding in review.findings if finding.frame == workspace.current_frame)
        if finding.check == "crossing-lanes":
            workspace.select_track(crossing)
        with qtbot.waitSignal(review.findings_changed, timeout=30000):
            fixes[finding.check]()
    workspace.go_to(10)
    widget.review_panel.text.value = "check the crosswalk's far edge"
    review.comment()
    workspace.go_to(workspace.frame_count - 1)
    with qtbot.waitSignal(review.findings_changed, timeout=30000):
        review.accept_up_to_here()
    assert "1 open comment" in widget.review_panel.blockers.text()
    with qtbot.waitSignal(review.findings_changed, timeout=30000):
        review.resolve(review.review.comments()[0].id)
    assert widget.review_panel.blockers.text() == "Ready to sign off."
    review.sign_off()
    progress = review.review.progress()
    assert progress.signed_off and progress.sign_off.reviewer == "rita" and progress.frames_accepted == 90
    assert "signed off by rita" in widget.review_panel.progress.text()


def test_a_bad_checks_config_is_reported_not_raised_into_qt(widget, qtbot, capsys):
    (widget.workspace.project.folder / "qa.yaml").write_text("checks:\n  track-jump: {max_speed: fast}\n")
    press(widget, qtbot, Qt.Key_K)
    widget.workspace.review._run_again()  # what the re-run after an edit does
    printed = capsys.readouterr().out
    assert printed.count("qa.yaml: checks.track-jump.max_speed: must be a number") == 2
    assert not widget.workspace.review.checked


def test_next_unreviewed_object_skips_judged_frames_tracks_and_objects(widget, qtbot):
    workspace, review = widget.workspace, widget.workspace.review
    review.reviewer = "rita"
    workspace.go_to(0)
    press(widget, qtbot, Qt.Key_J)
    assert (workspace.current_frame, workspace.selected_tracks()) == (2, [LANE])
    review.review.accept_track(LANE)
    review.review.reject_track(LIGHT, "loose box", frame=2)
    press(widget, qtbot, Qt.Key_J)
    assert (workspace.current_frame, workspace.selected_tracks()) == (2, [SIGN])
    review.review.accept_frame(5)  # the light's other state is on an accepted frame
    review.review.accept_track(SIGN)
    assert review.next_unreviewed_object() is None


def test_next_state_to_check_selects_the_flagged_object(widget):
    workspace = widget.workspace
    project = workspace.project
    project.set_state(LIGHT, 4, box(100, 6, 111, 31), source=Source.PROPAGATED, confidence=0.3)
    workspace.go_to(0)
    assert workspace.jump_to_check(forward=True) == 4 and workspace.selected_tracks() == [LIGHT]


def test_the_report_is_written_from_the_review_tab(widget, qtbot, tmp_path, monkeypatch):
    html = tmp_path / "qa.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(html), "HTML (*.html)"))
    with qtbot.waitSignal(widget.workspace.review.report_written, timeout=30000):
        widget.review_panel._choose_report()
    data = json.loads(html.with_suffix(".json").read_text())
    assert data["sequence"]["frames"] == 12 and data["findings"]["by_check"] == {"track-gap": 1}
    assert "track-gap" in html.read_text() and "data:image/" in html.read_text()
    assert widget.review_panel.report_line.text() == f"Written: {html}"


def test_a_long_sequence_marks_its_findings_out_of_date_instead_of_checking_after_every_edit(widget, qtbot,
                                                                                                monkeypatch):
    from napari_roadlabel._napari import review_mode

    review = widget.workspace.review
    run_checks(widget, qtbot)
    monkeypatch.setattr(review_mode, "RECHECK_MAX_FRAMES", 10)  # the 12-frame clip counts as long
    review.reviewer = "rita"
    review.accept_frame_and_next()
    assert review.stale and not review._recheck.isActive()
    assert "Out of date" in widget.review_panel.findings_summary.text()
    run_checks(widget, qtbot)
    assert not review.stale and "Out of date" not in widget.review_panel.findings_summary.text()


def test_rejected_frames_objects_and_tracks_are_visited_in_frame_order(widget):
    workspace, review = widget.workspace, widget.workspace.review
    review.reviewer = "rita"
    review.review.reject_track(SIGN, "value is 55, not 65")  # the sign is on frame 2 only
    review.review.reject_track(LIGHT, "yellow, not green", frame=5)
    review.review.reject_frame(9, "lane missing")
    review.review.reject_frame(5, "stop line missing")  # a frame and an object on it: both are visited
    workspace.go_to(0)
    visited = [(review.next_rejected().target, workspace.current_frame) for _ in range(5)]
    assert visited == [("track 3", 2), ("frame 5", 5), ("track 2 on frame 5", 5), ("frame 9", 9), ("track 3", 2)]
    assert workspace.selected_tracks() == [SIGN] and "value is 55" in widget.viewer.status
    assert review.next_rejected(forward=False).target == "frame 9"
