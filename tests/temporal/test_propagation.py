"""Propagation through its public API, on real projects with synthetic frames."""

from __future__ import annotations

import numpy as np
import pytest

from napari_roadlabel.core import (
    AnnotationError,
    FrameState,
    Geometry,
    GeometryKind,
    Project,
    Source,
    box,
    make_geometry,
)
from napari_roadlabel.temporal.propagation import (
    PropagationCancelled,
    compute_propagation,
    plan_propagation,
    propagate,
    write_propagation,
)
from napari_roadlabel.temporal.shape_distance import mean_distance

WIDTH, HEIGHT = 160, 120
SIZE = (WIDTH, HEIGHT)
VELOCITY = np.array([1.5, 0.5])  # px per frame: subpixel on purpose
BOX = np.array([[40.0, 30.0], [80.0, 60.0]])
CROSSWALK = np.array([[60.0, 70.0], [110.0, 68.0], [115.0, 90.0], [55.0, 92.0]])


def _box(points) -> Geometry:
    return box(*np.asarray(points, dtype=float).ravel())


def _snapshot(project: Project) -> list:
    """Everything about every state and tag, comparable with ==."""
    states = [(s.track_id, s.frame, s.geometry.kind, s.geometry.points.tolist(),
               None if s.geometry.mask is None else s.geometry.mask.tolist(), dict(s.attributes), s.source,
               s.confidence) for track in project.tracks() for s in project.states_of(track.id)]
    return states + [(tag.id, tag.start, tag.end) for tag in project.tags()]


def _frames_of(project: Project, track_id: int) -> dict[int, FrameState]:
    states = project.states_of(track_id)
    frames = [state.frame for state in states]
    assert len(frames) == len(set(frames))  # one state per frame
    return {state.frame: state for state in states}


# ------------------------------------------------------------------ interpolation


def test_linear_fills_the_frames_between_two_keyframes_and_never_changes_them(new_project):
    project = new_project(15)
    car = project.add_track("vehicle")
    first = project.set_state(car.id, 0, _box(BOX))
    last = project.set_state(car.id, 10, _box(BOX + [20, 10]))
    suggestion = project.set_state(car.id, 3, _box(BOX + [50, 50]), source=Source.SUGGESTED, confidence=0.4)
    result = propagate(project, method="linear")
    states = _frames_of(project, car.id)
    assert sorted(states) == [*range(0, 11)]  # nothing before the first keyframe or after the last
    assert states[0] == first and states[10] == last  # keyframes untouched
    assert states[3] == suggestion  # a model's suggestion is not an anchor, and not overwritten either
    for frame in (1, 2, 4, 5, 6, 7, 8, 9):
        assert states[frame].source is Source.INTERPOLATED and states[frame].confidence is None
        np.testing.assert_allclose(states[frame].geometry.points, BOX + [2 * frame, frame])
    assert len(result.states) == 8 and result.stops == [] and result.flagged == []


def test_imported_states_are_anchors_too(new_project):
    project = new_project(11)
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, _box(BOX), source=Source.IMPORTED)
    project.set_state(car.id, 10, _box(BOX + [10, 0]))
    propagate(project, method="linear")
    np.testing.assert_allclose(project.state(car.id, 5).geometry.points, BOX + [5, 0])
    assert project.state(car.id, 0).source is Source.IMPORTED


def test_smooth_interpolation_is_clipped_to_the_image(new_project):
    project = new_project(21)
    car = project.add_track("vehicle")
    # Fast to the right border, then back: the spline overshoots past x = 160 around frame 7.
    for frame, x in ((0, 0), (4, 120), (8, 145), (20, 0)):
        project.set_state(car.id, frame, box(x, 50, x + 15, 65))
    result = propagate(project, method="smooth")
    derived = [state for state in project.states_of(car.id) if state.source is Source.INTERPOLATED]
    assert len(derived) == len(result.states) == 17
    assert max(state.geometry.bounds()[2] for state in derived) == WIDTH  # reached the border, not past it
    assert project.state(car.id, 7).geometry.bounds()[2] == WIDTH


def test_smooth_overshoot_is_clipped_to_the_image_so_it_can_be_written(new_project):
    project = new_project(21)
    car = project.add_track("vehicle")
    for frame, x in ((0, 0), (4, 120), (8, 145), (20, 0)):
        project.set_state(car.id, frame, box(x, 50, x + 15, 65))
    result = compute_propagation(plan_propagation(project, method="smooth"))
    assert write_propagation(project, result) == 17


def test_rerunning_replaces_the_derived_states(new_project):
    project = new_project(11)
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, _box(BOX))
    project.set_state(car.id, 10, _box(BOX + [20, 10]))
    propagate(project, method="linear")
    project.set_state(car.id, 10, _box(BOX + [-20, 40]))  # the annotator corrects the second keyframe
    propagate(project, method="linear")
    states = _frames_of(project, car.id)
    assert sorted(states) == [*range(11)]
    for frame in range(1, 10):
        assert states[frame].source is Source.INTERPOLATED
        np.testing.assert_allclose(states[frame].geometry.points, BOX + [-2 * frame, 4 * frame])


def test_per_frame_attributes_hold_until_the_next_keyframe_that_changes_them(new_project):
    project = new_project(21)
    light = project.add_track("traffic-light")
    project.set_state(light.id, 0, box(10, 10, 20, 40), {"state": "red"})
    project.set_state(light.id, 20, box(30, 10, 40, 40), {"state": "red", "flashing": True})
    project.set_state(light.id, 10, box(20, 10, 30, 40), {"state": "green"})
    propagate(project, method="linear")
    states = _frames_of(project, light.id)
    assert [states[frame].attributes["state"] for frame in range(1, 10)] == ["red"] * 9
    assert [states[frame].attributes["state"] for frame in range(11, 20)] == ["green"] * 9
    assert states[20].attributes == {"state": "red", "flashing": True}  # the keyframe keeps its own
    assert all(states[frame].attributes["flashing"] is False for frame in range(1, 20))


def test_flow_carries_attributes_the_same_way(new_project, texture):
    project = new_project(24)
    light = project.add_track("traffic-light")
    project.set_state(light.id, 3, box(40, 30, 60, 70), {"state": "red"})
    project.set_state(light.id, 10, box(40, 30, 60, 70), {"state": "green"})
    project.set_state(light.id, 20, box(40, 30, 60, 70), {"state": "yellow"})
    propagate(project, texture.video((0, 0), 24), method="flow")
    values = {state.frame: state.attributes["state"] for state in project.states_of(light.id)}
    assert values == {**{frame: "red" for frame in range(0, 10)}, **{frame: "green" for frame in range(10, 20)},
                      **{frame: "yellow" for frame in range(20, 24)}}  # before the first keyframe: its values


# ------------------------------------------------------------------ flow


def test_flow_from_one_keyframe_follows_the_moving_texture(new_project, texture):
    project = new_project(13)
    car = project.add_track("vehicle")
    crosswalk = project.add_track("crosswalk")
    project.set_state(car.id, 0, _box(BOX))
    project.set_state(crosswalk.id, 0, make_geometry("polygon", CROSSWALK))
    result = propagate(project, texture.video(VELOCITY, 13), method="flow")
    assert result.stops == [] and result.flagged == []
    assert len(result.states) == 24
    for track, shape in ((car, _box), (crosswalk, lambda points: make_geometry("polygon", points))):
        states = _frames_of(project, track.id)
        assert sorted(states) == [*range(13)]
        start = BOX if track is car else CROSSWALK
        for frame in range(1, 13):
            state = states[frame]
            assert state.source is Source.PROPAGATED and 0 < state.confidence <= 1
            truth = shape(start + VELOCITY * frame)
            assert mean_distance(state.geometry, truth) < 1.0, (track.class_name, frame)
    confidences = [project.state(car.id, frame).confidence for frame in range(1, 13)]
    assert confidences[-1] < confidences[0]  # drift adds up


def test_flow_carries_a_lane_sideways(new_project, texture):
    project = new_project(11)
    lane = project.add_track("lane-line")
    clicks = np.array([[60.0, 118.0], [75.0, 60.0], [80.0, 5.0]])
    project.set_state(lane.id, 0, make_geometry("polyline", clicks))
    propagate(project, texture.video((2.0, 0.0), 11), method="flow")
    for frame in range(1, 11):
        state = project.state(lane.id, frame)
        assert state.source is Source.PROPAGATED
        truth = make_geometry("polyline", clicks + [2.0 * frame, 0])
        assert mean_distance(state.geometry, truth, lane=True) < 1.0, frame


def test_flow_backward_from_a_keyframe(new_project, texture):
    project = new_project(9)
    car = project.add_track("vehicle")
    project.set_state(car.id, 8, _box(BOX + VELOCITY * 8))
    propagate(project, texture.video(VELOCITY, 9), method="flow")
    for frame in range(8):
        np.testing.assert_allclose(project.state(car.id, frame).geometry.points, BOX + VELOCITY * frame, atol=1.0)


def test_flow_between_two_keyframes_meets_both(new_project, texture):
    project = new_project(13)
    car = project.add_track("vehicle")
    correction = np.array([3.0, 0.0])  # the annotator put the second keyframe 3 px right of the texture's motion
    first = project.set_state(car.id, 0, _box(BOX))
    second = project.set_state(car.id, 12, _box(BOX + VELOCITY * 12 + correction))
    result = propagate(project, texture.video(VELOCITY, 13), method="flow")
    states = _frames_of(project, car.id)
    assert states[0] == first and states[12] == second
    assert sorted(state.frame for state in result.states) == [*range(1, 12)]
    for frame in range(1, 12):
        assert states[frame].source is Source.PROPAGATED and 0 < states[frame].confidence <= 1
        # Forward flow starts at the first keyframe, backward at the second: the blend slides from one to the other.
        truth = BOX + VELOCITY * frame + correction * frame / 12
        np.testing.assert_allclose(states[frame].geometry.points, truth, atol=1.0)
    # ...and it does move from one to the other: near the first keyframe it is near the texture's motion.
    assert mean_distance(states[1].geometry, _box(BOX + VELOCITY)) < mean_distance(states[11].geometry,
                                                                                     _box(BOX + VELOCITY * 11))


@pytest.mark.parametrize("spoiled", [
    "blank",
    "noise",
])
def test_flow_stops_or_flags_where_the_texture_is_gone(new_project, texture, spoiled):
    project = new_project(13)
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, _box(BOX))
    frames = texture.video(VELOCITY, 13)
    frames[6:] = np.random.default_rng(1).integers(0, 256, frames[6:].shape, np.uint8) if spoiled == "noise" else 128
    result = propagate(project, frames, method="flow")
    flagged = {(state.track_id, state.frame) for state in result.flagged}
    for state in result.states:
        if state.frame <= 5:
            assert (state.track_id, state.frame) not in flagged  # good texture: trusted
    written = {state.frame for state in project.states_of(car.id)}
    unflagged_late = [frame for frame in written if frame > 5 and (car.id, frame) not in flagged]
    assert unflagged_late == []  # after the texture is gone nothing is written without a flag
    stopped = [stop for stop in result.stops if stop.track_id == car.id]
    assert stopped or flagged
    if stopped:
        assert stopped[0].frame == max(written) and stopped[0].reason
        assert str(stopped[0]).startswith(f"track {car.id} stopped after frame {stopped[0].frame}: ")


def test_flow_stops_where_the_texture_is_gone_and_rerunning_removes_the_old_states(new_project, texture):
    project = new_project(13)
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, _box(BOX))
    frames = texture.video(VELOCITY, 13)
    propagate(project, frames, method="flow")
    assert sorted(_frames_of(project, car.id)) == [*range(13)]
    frames[6:] = 128
    result = propagate(project, frames, method="flow")
    assert sorted(_frames_of(project, car.id)) == [*range(6)]  # 6..12 of the first run were stale
    assert [(stop.track_id, stop.frame) for stop in result.stops] == [(car.id, 5)]


@pytest.mark.parametrize("class_name, shape, speed", [
    ("crosswalk", make_geometry("polygon", [[100, 30], [140, 30], [140, 60], [100, 60]]), 4.0),
    ("vehicle", box(120, 30, 150, 60), 1.0),
    ("vehicle", box(100, 30, 140, 60), 4.0),
    ("traffic-sign", make_geometry("point", [[140, 50]]), 2.0),
], ids=["polygon", "box-slow", "box-fast", "point"])
def test_an_object_driving_out_of_the_image_stops_because_it_left_it(new_project, texture, class_name, shape, speed):
    count = int(70 / speed)
    project = new_project(count)
    track = project.add_track(class_name)
    project.set_state(track.id, 0, shape)
    result = propagate(project, texture.video((speed, 0.0), count), method="flow")
    last = max(state.frame for state in project.states_of(track.id))
    assert 0 < last < count - 1  # it went part of the way, then stopped
    assert [(stop.track_id, stop.frame, stop.reason) for stop in result.stops] == [(track.id, last, "left the image")]
    if shape.kind is not GeometryKind.POINT:
        assert project.state(track.id, last).geometry.bounds()[2] == WIDTH  # its visible part, at the border


# ------------------------------------------------------------------ the run as a whole


def _two_tracks(project: Project) -> list:  # two cars, keyframes 0 and 10
    cars = []
    for offset in (0, 40):
        car = project.add_track("vehicle")
        project.set_state(car.id, 0, _box(BOX + [offset, 0]))
        project.set_state(car.id, 10, _box(BOX + [offset, 0] + VELOCITY * 10))
        cars.append(car)
    return cars


def test_writing_keeps_what_the_annotator_did_while_the_run_was_computing(new_project):
    project = new_project(11)
    car, other = _two_tracks(project)
    result = compute_propagation(plan_propagation(project, method="linear"))
    assert len(result.states) == 18
    drawn = project.set_state(car.id, 5, _box(BOX + [50, 50]))  # a keyframe drawn meanwhile
    project.delete_track(other.id)  # and a track deleted
    assert write_propagation(project, result) == 8
    assert project.state(car.id, 5) == drawn
    assert not project.has_track(other.id)
    assert [state.frame for state in project.states_of(car.id) if state.source is Source.INTERPOLATED] == [
        1, 2, 3, 4, 6, 7, 8, 9]


@pytest.mark.parametrize("method", ["linear", "flow"])
def test_a_cancelled_run_raises_and_changes_nothing(new_project, texture, method):
    project = new_project(13)
    _two_tracks(project)
    project.add_tag("school-zone-active", 0, 2)
    before = _snapshot(project)
    frames = texture.video(VELOCITY, 13)
    plan = plan_propagation(project, method=method, extend_tags=True)
    with pytest.raises(PropagationCancelled, match="nothing was changed"):
        compute_propagation(plan, frames, cancelled=lambda: True)
    calls = []

    def cancel_after_one_step() -> bool:
        return len(calls) >= 1

    with pytest.raises(PropagationCancelled):
        propagate(project, frames, method=method, extend_tags=True, progress=calls.append,
                  cancelled=cancel_after_one_step)
    assert len(calls) == 1  # it got going before it was cancelled
    assert _snapshot(project) == before


@pytest.mark.parametrize("method", ["linear", "smooth", "flow"])
def test_the_whole_run_is_one_undo_step(new_project, texture, method):
    project = new_project(13)
    car, _ = _two_tracks(project)
    tag = project.add_tag("school-zone-active", 0, 2)
    propagate(project, method="linear")  # derived states from an earlier run, which the next one replaces
    project.set_state(car.id, 10, _box(BOX + VELOCITY * 10 + [4, 2]))  # so the next run changes them
    before, five = _snapshot(project), project.state(car.id, 5).geometry.points.tolist()
    result = propagate(project, texture.video(VELOCITY, 13), method=method, extend_tags=True)
    assert len(result.states) > 10 and project.tags()[0].end == 12
    assert project.state(car.id, 5).geometry.points.tolist() != five
    assert project.undo() == f"propagate ({method})"
    assert _snapshot(project) == before
    assert project.tags()[0].end == tag.end
    project.redo()
    assert project.tags()[0].end == 12


@pytest.mark.parametrize("options, message", [
    ({"start": -1}, r"start frame -1 is outside the sequence \(0\.\.12\)"),
    ({"start": 13}, r"start frame 13 is outside the sequence \(0\.\.12\)"),
    ({"end": 13}, r"end frame 13 is outside the sequence \(0\.\.12\)"),
    ({"start": 8, "end": 3}, r"the range ends \(frame 3\) before it starts \(frame 8\)"),
    ({"method": "teleport"}, r"unknown propagation method 'teleport' \(use one of linear, smooth, flow\)"),
    ({"flag_below": 1.5}, r"flag_below must be between 0 and 1"),
    ({"stop_below": -0.1}, r"stop_below must be between 0 and 1"),
])
def test_bad_ranges_and_options_are_refused(new_project, options, message):
    project = new_project(13)
    _two_tracks(project)
    before = _snapshot(project)
    with pytest.raises(AnnotationError, match=message):
        plan_propagation(project, **options)
    with pytest.raises(AnnotationError, match=message):
        propagate(project, **options)
    assert _snapshot(project) == before


def test_flow_needs_frames(new_project):
    project = new_project(13)
    _two_tracks(project)
    plan = plan_propagation(project, method="flow")
    with pytest.raises(AnnotationError, match="flow propagation needs the frames"):
        compute_propagation(plan, None)


def test_tracks_without_enough_keyframes_are_skipped_with_a_reason(new_project):
    project = new_project(13)
    one = project.add_track("vehicle")
    project.set_state(one.id, 4, _box(BOX))
    none_in_range = project.add_track("vehicle")
    project.set_state(none_in_range.id, 12, _box(BOX))
    plan = plan_propagation(project, method="linear", end=10)
    assert plan.spans == () and plan.work == 0
    reasons = dict(plan.skipped)
    assert "linear interpolation needs two" in reasons[one.id]
    assert reasons[none_in_range.id] == "no keyframe in frames 0..10"
    assert "no keyframe in frames 0..10" in compute_propagation(plan).summary()
    flow_plan = plan_propagation(project, method="flow", end=10, tracks=[one.id])
    assert [span.track.id for span in flow_plan.spans] == [one.id] and flow_plan.work == 10  # steps 4..0, 4..10


def test_to_next_keyframe_stops_each_track_at_its_next_keyframe(new_project, texture):
    project = new_project(13)
    car = project.add_track("vehicle")
    for frame in (0, 6, 12):
        project.set_state(car.id, frame, _box(BOX + VELOCITY * frame))
    propagate(project, texture.video(VELOCITY, 13), method="flow", to_next_keyframe=True)
    assert {state.frame: state.source for state in project.states_of(car.id)} == {
        0: Source.MANUAL, **{frame: Source.PROPAGATED for frame in range(1, 6)}, 6: Source.MANUAL, 12: Source.MANUAL}


def _progress_case(project: Project, method: str, keyframes: tuple[int, ...]) -> None:
    for offset in (0, 40):
        car = project.add_track("vehicle")
        for frame in keyframes:
            project.set_state(car.id, frame, _box(BOX + [offset, 0] + VELOCITY * frame))


@pytest.mark.parametrize("method, keyframes", [
    ("linear", (0, 12)),
    ("smooth", (0, 5, 12)),
    ("flow", (0,)),
    ("flow", (4,)),
    ("flow", (0, 12)),
], ids=["linear", "smooth", "flow-forward", "flow-both-ways", "flow-gap"])
def test_progress_adds_up_to_the_planned_work(new_project, texture, method, keyframes):
    project = new_project(13)
    _progress_case(project, method, keyframes)
    plan = plan_propagation(project, method=method)
    units = []
    compute_propagation(plan, texture.video(VELOCITY, 13), progress=units.append)
    assert units and all(unit > 0 for unit in units)
    if method == "flow":
        assert plan.work - 2 <= sum(units) <= plan.work  # each object's anchor frame itself costs nothing
    else:
        assert sum(units) == plan.work == 26


def test_extend_tags_extends_the_tags_covering_the_start_to_the_end(new_project):
    project = new_project(21)
    _two_tracks(project)
    zone = project.add_tag("school-zone-active", 0, 3)
    later = project.add_tag("scene", 8, 9)
    longer = project.add_tag("scene", 0, 20)
    plan = plan_propagation(project, method="linear", end=15, extend_tags=True)
    assert plan.tag_ends == ((zone.id, 15),)
    result = propagate(project, method="linear", end=15, extend_tags=True)
    tags = {tag.id: (tag.start, tag.end) for tag in project.tags()}
    assert tags == {zone.id: (0, 15), later.id: (8, 9), longer.id: (0, 20)}
    assert f"tag {zone.id} to frame 15" in result.summary()


def test_tags_stay_as_they_are_without_extend_tags(new_project):
    project = new_project(21)
    _two_tracks(project)
    zone = project.add_tag("school-zone-active", 0, 3)
    plan = plan_propagation(project, method="linear", end=15)
    assert plan.tag_ends == ()
    propagate(project, method="linear", end=15)
    assert project.tags()[0].end == zone.end == 3


def test_a_zone_cut_by_the_bottom_border_stays_cut_there_when_carried_backward(new_project, texture):
    # Forward the ground moves down (the car drives on); backward it recedes, and the part of the zone
    # under the bottom border, which the annotator could not see, must not rise into view as an edge.
    project = new_project(13)
    zone = project.add_track("school-zone")
    project.set_state(zone.id, 12, make_geometry("polygon", [[50, 70], [110, 70], [120, 120], [40, 120]]))
    propagate(project, texture.video((0.0, 2.0), 13), method="flow")
    first = project.state(zone.id, 0).geometry
    top, bottom = first.bounds()[1], first.bounds()[3]
    assert abs(top - (70 - 24)) < 1.0  # the far edge went back up with the ground
    assert bottom == HEIGHT  # and the zone still reaches the bottom of the picture


def test_a_lane_line_of_paint_is_snapped_and_a_road_edge_or_curb_is_not(new_project):
    project = new_project(13)
    kinds = {"lane-marking": True, "road-edge": False, "curb": False}
    tracks = {kind: project.add_track("lane-line", {"kind": kind}) for kind in kinds}
    for track in tracks.values():
        project.set_state(track.id, 0, make_geometry("polyline", [[10, 80], [60, 40]]))
        project.set_state(track.id, 12, make_geometry("polyline", [[12, 80], [62, 40]]))
    painted = {span.track.id: span.painted for span in plan_propagation(project, method="flow").spans}
    assert painted == {tracks[kind].id: snapped for kind, snapped in kinds.items()}
