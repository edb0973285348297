"""Keyframe interpolation: every geometry kind in time, correspondence of unlike keyframes, smooth vs linear."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_roadlabel.core import Geometry, GeometryError, GeometryKind, box, make_geometry, make_mask
from napari_roadlabel.core.lanes import fit_lane
from napari_roadlabel.temporal.interpolation import blend, interpolate_track
from napari_roadlabel.temporal.shape_distance import mean_distance

SHIFT = np.array([20.0, 10.0])  # from keyframe 0 to keyframe 10: 2 px, 1 px per frame


def _disk(cx: float, cy: float, radius: float) -> Geometry:
    size = int(np.floor(radius))  # tight: the disk touches every side of its array
    ys, xs = np.mgrid[-size:size + 1, -size:size + 1]
    return make_mask(xs**2 + ys**2 <= radius**2, (cx - size, cy - size))


def _shape(kind: str, offset) -> Geometry:
    """One shape of each kind, moved by ``offset``."""
    dx, dy = offset
    if kind == "box":
        return box(30 + dx, 20 + dy, 70 + dx, 50 + dy)
    if kind == "point":
        return make_geometry("point", [[40 + dx, 30 + dy]])
    if kind == "keypoints":
        return make_geometry("keypoints", np.array([[30, 20], [50, 25], [45, 60], [35, 55]]) + offset)
    if kind == "polyline":
        return make_geometry("polyline", np.array([[10, 80], [40, 60], [90, 55]]) + offset)
    if kind == "polygon":
        return make_geometry("polygon", np.array([[30, 20], [80, 25], [85, 70], [25, 60]]) + offset)
    assert kind == "lane"  # a curving lane: three clicks, drawn bottom to top
    return make_geometry("polyline", np.array([[60, 115], [78, 60], [70, 10]]) + offset)


KINDS = ["box", "point", "keypoints", "polyline", "polygon", "lane"]  # masks: see their own tests below
EXACT = {"polyline": 1e-3, "polygon": 1e-3, "lane": 0.05}  # arc-length resampling: tiny, not zero (px)


def _distance(first: Geometry, second: Geometry, kind: str) -> float:
    return mean_distance(first, second, lane=kind == "lane")


@pytest.mark.parametrize("kind", KINDS)
def test_linear_moves_a_translated_shape_evenly_and_meets_its_keyframes(kind):
    keyframes = [(frame, _shape(kind, SHIFT * frame / 10)) for frame in (0, 10, 20)]
    result = interpolate_track(keyframes, range(-3, 25), method="linear", lane=kind == "lane", where="track 3")
    assert sorted(result) == [*range(1, 20)]  # keyframe 10 too; nothing before 0 or after 20
    assert {geometry.kind for geometry in result.values()} == {keyframes[0][1].kind}
    assert _distance(result[10], keyframes[1][1], kind) < EXACT.get(kind, 1e-9)  # the middle keyframe is met
    # Frame 5 is halfway from keyframe 0 to keyframe 10: the shape moved by half the shift.
    tolerance = 0.3 if kind == "lane" else EXACT.get(kind, 1e-9)
    for frame in (1, 5, 13, 19):
        assert _distance(result[frame], _shape(kind, SHIFT * frame / 10), kind) < tolerance, frame
    assert _distance(result[5], _shape(kind, SHIFT * 0.6), kind) > 1.0  # not merely near: at the right place


def test_linear_moves_a_mask_a_little_and_meets_its_keyframes_pixel_for_pixel():
    step = np.array([1.0, 0.5])  # px per frame: 4 px, 2 px between keyframes, much less than the disk's size
    keyframes = [(frame, _disk(*(np.array([50.0, 40.0]) + step * frame), 9)) for frame in (0, 4, 8)]
    result = interpolate_track(keyframes, range(9), where="track 3")
    assert sorted(result) == [*range(1, 8)]
    assert result[4] == keyframes[1][1]
    assert mean_distance(result[2], _disk(52, 41, 9)) < 0.5
    assert mean_distance(result[6], _disk(56, 43, 9)) < 0.5


def test_linear_moves_a_translated_mask_halfway():
    keyframes = [(0, _disk(50, 40, 9)), (10, _disk(70, 50, 9))]  # moves 22 px, the disk is 19 px wide
    result = interpolate_track(keyframes, range(11), where="track 3")
    assert sorted(result) == [*range(1, 10)]
    assert mean_distance(result[5], _disk(60, 45, 9)) < 0.75


@pytest.mark.parametrize("kind", ["box", "point", "keypoints"])
def test_linear_points_are_exactly_the_weighted_mean(kind):
    first, second = _shape(kind, (0, 0)), _shape(kind, SHIFT)
    result = interpolate_track([(0, first), (10, second)], [3, 5], where="track 1")
    np.testing.assert_allclose(result[5].points, first.points + SHIFT / 2)
    np.testing.assert_allclose(result[3].points, 0.7 * first.points + 0.3 * second.points)


def test_keyframes_may_come_in_any_order():
    first, second = box(0, 0, 10, 10), box(10, 20, 20, 30)
    result = interpolate_track([(10, second), (0, first)], [5])
    np.testing.assert_allclose(result[5].points, [[5, 10], [15, 20]])


def test_polylines_with_different_vertex_counts_correspond_by_arc_length():
    two = make_geometry("polyline", [[10, 50], [110, 50]])
    five = make_geometry("polyline", np.column_stack([np.linspace(30, 130, 5), np.full(5, 70)]))
    middle = interpolate_track([(0, two), (10, five)], [5])[5]
    assert middle.kind is GeometryKind.POLYLINE
    # Every point of the midway line is on the translated segment, from (20, 60) to (120, 60), evenly spread.
    np.testing.assert_allclose(middle.points, np.column_stack([np.linspace(20, 120, 5), np.full(5, 60)]))


def test_uneven_vertices_are_kept_at_their_fractions_of_length():
    two = make_geometry("polyline", [[10, 50], [110, 50]])
    uneven = make_geometry("polyline", [[30, 70], [40, 70], [80, 70], [130, 70]])  # at 0, 0.1, 0.5, 1 of length
    middle = interpolate_track([(0, two), (10, uneven)], [5])[5]
    np.testing.assert_allclose(middle.points, [[20, 60], [30, 60], [70, 60], [120, 60]])


def test_a_polyline_drawn_the_other_way_round_is_turned_first():
    first = make_geometry("polyline", [[10, 50], [60, 50], [110, 50]])
    reversed_later = make_geometry("polyline", [[130, 70], [80, 70], [30, 70]])
    middle = interpolate_track([(0, first), (10, reversed_later)], [5])[5]
    np.testing.assert_allclose(middle.points, [[20, 60], [70, 60], [120, 60]])


SQUARE = np.array([[10, 10], [30, 10], [30, 30], [10, 30]], dtype=float)


@pytest.mark.parametrize("later", [
    np.roll(SQUARE + [20, 10], 2, axis=0),  # starts at another corner
    (SQUARE + [20, 10])[::-1],  # the other winding
    np.roll((SQUARE + [20, 10])[::-1], 1, axis=0),  # both
    np.roll(np.array([[30, 20], [35, 20], [40, 20], [45, 20], [50, 20], [50, 40], [30, 40]])[::-1], 3, axis=0),
], ids=["start", "winding", "start-and-winding", "more-vertices"])
def test_polygons_interpolate_to_the_right_shape_whatever_their_start_and_winding(later):
    first = make_geometry("polygon", SQUARE)
    middle = interpolate_track([(0, first), (10, make_geometry("polygon", later))], [5])[5]
    expected = make_geometry("polygon", SQUARE + [10, 5])
    assert mean_distance(middle, expected) < 1e-9
    # The corners themselves are there (a twisted correspondence would cut them).
    assert cKDTree(middle.points).query(expected.points)[0].max() < 1e-9


def test_lanes_move_as_fitted_curves_even_with_different_click_counts():
    clicks = np.array([[60, 115], [78, 60], [70, 10]], dtype=float)
    later = fit_lane(clicks + [20, 0]).sample_equal(5)  # the same curve, moved, clicked five times
    keyframes = [(0, make_geometry("polyline", clicks)), (10, make_geometry("polyline", later))]
    middle = interpolate_track(keyframes, [5], lane=True, where="track 2")[5]
    curve = fit_lane(clicks + [10, 0]).polyline(0.25)
    assert cKDTree(curve).query(middle.points)[0].max() < 0.5  # every sample on the moved curve
    assert len(middle.points) >= 5
    # Treated as plain polylines the same keyframes give a visibly different (wrong) line.
    plain = interpolate_track(keyframes, [5], lane=False)[5]
    assert cKDTree(curve).query(plain.points)[0].max() > 1.0


def test_a_growing_mask_grows_smoothly():
    small, large = _disk(60, 60, 4), _disk(60, 60, 12)
    result = interpolate_track([(0, small), (10, large)], range(11))
    areas = [result[frame].mask.sum() for frame in range(1, 10)]
    assert all(a < b for a, b in zip(areas, areas[1:], strict=False))
    assert abs(result[5].mask.sum() - np.pi * 8**2) < 0.1 * np.pi * 8**2
    assert mean_distance(result[5], _disk(60, 60, 8)) < 0.75


def _quadratic(frame: float) -> Geometry:
    x = 20 + 0.3 * frame**2  # speeding up: 0.3 px/frame^2
    return box(x, 10 + frame, x + 10, 20 + frame)


def test_smooth_follows_an_accelerating_motion_better_than_linear():
    keyframes = [(frame, _quadratic(frame)) for frame in (0, 5, 10, 15, 20)]
    errors = {}
    for method in ("linear", "smooth"):
        result = interpolate_track(keyframes, range(21), method=method)
        assert result[10] == keyframes[2][1]  # both pass through the keyframes
        errors[method] = np.mean([mean_distance(geometry, _quadratic(frame)) for frame, geometry in result.items()])
    assert errors["smooth"] < 0.5 * errors["linear"]
    assert errors["linear"] > 0.5  # the test's motion really is not linear


def test_smooth_through_two_keyframes_is_linear():
    keyframes = [(0, _shape("polygon", (0, 0))), (10, _shape("polygon", SHIFT))]
    smooth = interpolate_track(keyframes, range(11), method="smooth")
    linear = interpolate_track(keyframes, range(11), method="linear")
    assert sorted(smooth) == sorted(linear) == [*range(1, 10)]
    for frame in smooth:
        np.testing.assert_allclose(smooth[frame].points, linear[frame].points)


@pytest.mark.parametrize("method", ["linear", "smooth"])
def test_one_keyframe_or_no_frame_between_gives_nothing(method):
    assert interpolate_track([(4, box(0, 0, 5, 5))], range(10), method=method) == {}
    assert interpolate_track([(0, box(0, 0, 5, 5)), (1, box(1, 1, 6, 6))], range(10), method=method) == {}
    assert interpolate_track([(0, box(0, 0, 5, 5)), (9, box(1, 1, 6, 6))], [0, 9, 12], method=method) == {}


# ------------------------------------------------------------------ blend


@pytest.mark.parametrize("kind", ["box", "point", "keypoints", "polyline", "polygon", "lane"])
def test_blend_meets_the_first_shape_at_0_and_the_second_at_1(kind):
    first, second = _shape(kind, (0, 0)), _shape(kind, SHIFT)
    lane = kind == "lane"
    assert _distance(blend(first, second, 0.0, lane=lane), first, kind) < EXACT.get(kind, 1e-9)
    assert _distance(blend(first, second, 1.0, lane=lane), second, kind) < EXACT.get(kind, 1e-9)
    tolerance = 0.3 if lane else EXACT.get(kind, 1e-9)
    assert _distance(blend(first, second, 0.25, lane=lane), _shape(kind, SHIFT / 4), kind) < tolerance


def test_blend_of_masks_meets_the_first_at_0_and_is_between_at_a_half():
    first, second = _disk(40, 40, 8), _disk(44, 42, 8)
    assert blend(first, second, 0.0) == first
    assert mean_distance(blend(first, second, 0.5), _disk(42, 41, 8)) < 0.5


def test_blend_of_masks_meets_the_second_at_1():
    first, second = _disk(40, 40, 8), _disk(44, 42, 8)
    assert blend(first, second, 1.0) == second


# ------------------------------------------------------------------ bad input


def test_mixed_kinds_raise_an_error_naming_the_track():
    with pytest.raises(GeometryError, match=r"^track 7: keyframes mix geometry kinds \(box, polygon\)"):
        interpolate_track([(0, box(0, 0, 5, 5)), (10, _shape("polygon", (0, 0)))], range(11), where="track 7")
    with pytest.raises(GeometryError, match=r"^track 7: .*mix geometry kinds"):
        blend(box(0, 0, 5, 5), _disk(10, 10, 3), 0.5, where="track 7")


def test_keypoints_must_keep_their_count():
    three = make_geometry("keypoints", [[0, 0], [5, 5], [9, 1]])
    four = make_geometry("keypoints", [[0, 0], [5, 5], [9, 1], [3, 3]])
    with pytest.raises(GeometryError, match=r"^track 4: keypoints keyframes have different numbers of points"):
        interpolate_track([(0, three), (10, four)], range(11), where="track 4")


@pytest.mark.parametrize("method", ["cubic", ""])
def test_an_unknown_method_is_refused(method):
    with pytest.raises(GeometryError, match=r"^track 9: unknown interpolation method"):
        interpolate_track([(0, box(0, 0, 5, 5)), (10, box(1, 1, 6, 6))], range(11), method=method, where="track 9")


def _nan_keyframe(kind: GeometryKind) -> Geometry:
    # make_geometry refuses NaN, but a Geometry can still carry one (built directly or read back from bytes).
    return Geometry(kind, np.array([[np.nan, 10.0], [50.0, 60.0]]))


def test_a_nan_lane_keyframe_raises_an_error_naming_the_track():
    keyframes = [(0, make_geometry("polyline", [[0, 0], [40, 60]])), (10, _nan_keyframe(GeometryKind.POLYLINE))]
    with pytest.raises(GeometryError, match=r"^track 5: keyframe 10 has coordinates that are not finite"):
        interpolate_track(keyframes, range(11), lane=True, where="track 5")


@pytest.mark.parametrize("kind", [GeometryKind.BOX, GeometryKind.POLYLINE])
def test_a_nan_keyframe_raises_an_error_naming_the_track(kind):
    good = box(0, 0, 40, 60) if kind is GeometryKind.BOX else make_geometry(kind, [[0, 0], [40, 60]])
    with pytest.raises(GeometryError, match=r"^track 5: .*finite"):
        interpolate_track([(0, good), (10, _nan_keyframe(kind))], range(11), where="track 5")
