"""Playing in a real viewer: the rate held by dropping frames, stops never passed over, arrow keys coalesced.

Steps are made slow on purpose (a slot on frame_shown that sleeps) so that the
player must drop frames; nothing here asserts a timing.
"""

import time

from qtpy.QtCore import Qt

from napari_roadlabel.core import Source, box, make_geometry

LIGHT = 2  # track id in the labeled_project fixture
SLOW_STEP_S = 0.03
FAST_FPS = 1000  # with slow steps every tick after the first is late for dozens of frames


def slow_steps(workspace) -> list[int]:
    """Make every frame step slow; returns the frames shown, as they are shown."""
    shown = []

    def slow(frame):
        shown.append(frame)
        time.sleep(SLOW_STEP_S)

    workspace.frame_shown.connect(slow)
    return shown


def play_until_stopped(workspace, qtbot, fps: float) -> None:
    review = workspace.review
    review.fps = fps
    review.play()
    assert review.playing
    qtbot.waitUntil(lambda: not review.playing, timeout=10000)


def test_playing_stops_on_a_finding_it_would_have_jumped_over(workspace, qtbot):
    review = workspace.review
    sign = workspace.project.add_track("traffic-sign", {"type": "speed-limit"})
    workspace.project.set_state(sign.id, 9, make_geometry("point", [120, 40]))  # no speed value: a finding
    with qtbot.waitSignal(review.findings_changed, timeout=30000):
        review.run_checks()
    before = max(finding.frame for finding in review.findings if finding.frame is not None and finding.frame < 9)
    workspace.go_to(before)
    shown = slow_steps(workspace)
    play_until_stopped(workspace, qtbot, FAST_FPS)
    assert workspace.current_frame == 9 and shown[-1] == 9
    assert review.player.rate[1] == 9 - before - len(shown) > 0  # frames were dropped on the way


def test_playing_stops_on_a_state_to_check(workspace, qtbot):
    workspace.project.set_state(LIGHT, 8, box(100, 6, 111, 31), source=Source.PROPAGATED, confidence=0.3)
    workspace.project.set_state(LIGHT, 10, box(100, 6, 111, 31), source=Source.PROPAGATED, confidence=0.9)
    workspace.go_to(6)
    slow_steps(workspace)
    play_until_stopped(workspace, qtbot, FAST_FPS)
    assert workspace.current_frame == 8
    play_until_stopped(workspace, qtbot, FAST_FPS)  # a sure state is no reason to stop
    assert workspace.current_frame == workspace.frame_count - 1


def test_a_state_to_check_made_while_playing_stops_it(workspace, qtbot):
    def flag_frame_9(frame):
        workspace.frame_shown.disconnect(flag_frame_9)
        workspace.project.set_state(LIGHT, 9, box(100, 6, 111, 31), source=Source.PROPAGATED, confidence=0.3)
        workspace.after_edit("a state to check on frame 9")

    workspace.frame_shown.connect(flag_frame_9)  # on the first frame played, after the player looked ahead
    play_until_stopped(workspace, qtbot, 60)
    assert workspace.current_frame == 9


def test_slow_steps_drop_frames_and_the_rate_says_so(widget, qtbot):
    workspace, review = widget.workspace, widget.workspace.review
    review.stop_at_flags = False
    reports = []
    review.player.rate_changed.connect(lambda shown_fps, dropped: reports.append((review.playing, shown_fps, dropped)))
    shown = slow_steps(workspace)
    play_until_stopped(workspace, qtbot, 60)
    last = workspace.frame_count - 1
    assert workspace.current_frame == last and shown[-1] == last
    assert last > len(shown)  # each late tick went as far as the clock said, not one frame
    playing, shown_fps, dropped = reports[-1]
    assert not playing and (shown_fps, dropped) == review.player.rate
    assert dropped == last - len(shown) > 0
    assert shown_fps < 60  # every step sleeps SLOW_STEP_S: no clock can show 60 of them a second
    text = f"played {shown_fps:.1f} fps, {dropped} frames dropped"
    assert widget.review_panel.play_rate.text() == text and widget.viewer.status == text


def test_the_rate_is_reported_while_playing(widget, qtbot):
    review = widget.workspace.review
    review.stop_at_flags = False
    reports = []
    review.player.rate_changed.connect(lambda shown_fps, dropped: reports.append(review.playing))
    play_until_stopped(widget.workspace, qtbot, 10)  # 11 frames at 10 fps: over a second
    assert reports[0] and not reports[-1]
    assert widget.review_panel.play_button.text.startswith("Play")


def test_steps_asked_for_before_the_event_loop_runs_go_as_one(workspace, qtbot):
    workspace.go_to(0)
    shown = []
    workspace.frame_shown.connect(shown.append)
    for _ in range(5):
        workspace.step_soon(1)
    assert workspace.current_frame == 0
    qtbot.waitUntil(lambda: workspace.current_frame == 5)
    assert shown == [5]


def test_held_arrow_keys_coalesce(widget, qtbot):
    workspace = widget.workspace
    canvas = widget.viewer.window._qt_viewer.canvas.native
    canvas.setFocus()
    workspace.go_to(0)
    shown = []
    workspace.frame_shown.connect(shown.append)
    for key, modifiers in [(Qt.Key_Right, Qt.NoModifier)] * 3 + [(Qt.Key_Left, Qt.NoModifier),
                                                                 (Qt.Key_Right, Qt.ShiftModifier)]:
        qtbot.keyClick(canvas, key, modifiers)  # queued before the event loop runs, as a held key's repeats are
    qtbot.waitUntil(lambda: workspace.current_frame == 11)  # 3 - 1 + 10 = 12, past the last frame (11)
    assert shown == [11]
