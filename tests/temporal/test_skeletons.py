"""Skeletons in time: interpolation and flow carry every point, absent stays absent, visibility holds."""

from __future__ import annotations

import numpy as np

from napari_roadlabel.core import Geometry, Source, make_skeleton
from napari_roadlabel.core.geometry import ABSENT, OCCLUDED, VISIBLE
from napari_roadlabel.temporal.interpolation import interpolate_track
from napari_roadlabel.temporal.propagation import propagate
from napari_roadlabel.temporal.shape_distance import mean_distance

# A pedestrian's 17 COCO points laid out as a figure 30 px wide, 60 px tall (x, y).
FIGURE = np.array([[15, 0], [12, 2], [18, 2], [9, 3], [21, 3], [5, 12], [25, 12], [3, 24], [27, 24], [2, 34],
                   [28, 34], [9, 34], [21, 34], [9, 47], [21, 47], [9, 60], [21, 60]], dtype=float) + [40, 30]
VELOCITY = np.array([1.5, 0.5])


def _figure(offset, visibility) -> Geometry:
    points = FIGURE + offset
    points[np.asarray(visibility) == ABSENT] = np.nan
    return make_skeleton(points, visibility)


def test_interpolation_moves_every_point_and_keeps_absent_and_occluded_points():
    first = [VISIBLE] * 17
    second = [VISIBLE] * 17
    first[9], second[10] = ABSENT, ABSENT  # left wrist unseen at the start, right wrist at the end
    first[13] = OCCLUDED  # left knee hidden at the start, seen at the end
    keyframes = [(0, _figure((0, 0), first)), (10, _figure(VELOCITY * 10 + [0, 4], second))]
    between = interpolate_track(keyframes, range(11))
    assert sorted(between) == [*range(1, 10)]
    for frame, state in between.items():
        truth = FIGURE + VELOCITY * frame + [0, 0.4 * frame]
        placed = state.visibility != ABSENT
        np.testing.assert_allclose(state.points[placed], truth[placed], atol=1e-9)
        assert state.visibility[9] == ABSENT and state.visibility[10] == ABSENT  # absent on either keyframe
        assert np.isnan(state.points[[9, 10]]).all()
        assert state.visibility[13] == OCCLUDED  # holds until the next keyframe's value


def test_smooth_interpolation_runs_each_point_through_the_keyframes_where_it_is_placed():
    visibility = [VISIBLE] * 17
    gone = list(visibility)
    gone[0] = ABSENT
    keyframes = [(0, _figure((0, 0), visibility)), (5, _figure((10, 0), gone)), (10, _figure((20, 5), visibility)),
                 (15, _figure((30, 5), visibility))]
    between = interpolate_track(keyframes, range(16), method="smooth")
    assert all(state.visibility[0] == ABSENT for frame, state in between.items() if frame < 10)
    assert all(state.visibility[0] == VISIBLE for frame, state in between.items() if frame > 10)
    assert all(np.isfinite(state.present_points()).all() for state in between.values())


def test_shape_distance_compares_points_placed_in_both():
    visibility = [VISIBLE] * 17
    fewer = list(visibility)
    fewer[0] = ABSENT
    assert mean_distance(_figure((0, 0), visibility), _figure((3, 4), fewer)) == 5.0


def test_flow_carries_a_skeleton_with_the_moving_picture(new_project, texture):
    project = new_project(11)
    person = project.add_track("pedestrian")
    visibility = [VISIBLE] * 17
    visibility[4], visibility[7] = ABSENT, OCCLUDED
    keyframe = _figure((0, 0), visibility)
    project.set_state(person.id, 0, keyframe)
    result = propagate(project, texture.video(VELOCITY, 11), method="flow")
    assert result.stops == []
    for frame in range(1, 11):
        state = project.state(person.id, frame)
        assert state.source is Source.PROPAGATED
        assert state.geometry.visibility.tolist() == visibility
        assert mean_distance(state.geometry, _figure(VELOCITY * frame, visibility)) < 1.0, frame


def test_flow_between_two_keyframes_blends_skeletons_and_keeps_absent_points_absent(new_project, texture):
    project = new_project(9)
    person = project.add_track("pedestrian")
    first = [VISIBLE] * 17
    second = list(first)
    second[16] = ABSENT  # the right ankle leaves view at the second keyframe
    project.set_state(person.id, 0, _figure((0, 0), first))
    project.set_state(person.id, 8, _figure(VELOCITY * 8, second))
    propagate(project, texture.video(VELOCITY, 9), method="flow")
    for frame in range(1, 8):
        geometry = project.state(person.id, frame).geometry
        assert geometry.visibility[16] == ABSENT and geometry.visibility[:16].tolist() == first[:16]
        assert mean_distance(geometry, _figure(VELOCITY * frame, second)) < 1.0, frame


def test_linear_propagation_fills_a_skeleton_track_between_its_keyframes(new_project, texture):
    project = new_project(9)
    person = project.add_track("pedestrian")
    visibility = [VISIBLE] * 17
    visibility[2] = ABSENT
    project.set_state(person.id, 0, _figure((0, 0), [VISIBLE] * 17))
    project.set_state(person.id, 8, _figure((80, 0), visibility))
    propagate(project, texture.video((0, 0), 9), method="linear")
    for frame in range(1, 8):
        state = project.state(person.id, frame)
        assert state.source is Source.INTERPOLATED
        assert state.geometry.visibility[2] == ABSENT and np.isnan(state.geometry.points[2]).all()
        placed = state.geometry.present_points()
        np.testing.assert_allclose(placed, np.delete(FIGURE, 2, axis=0) + [10 * frame, 0])
