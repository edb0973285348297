"""Lane curves through a few clicked points: fitting, sampling, extending and clipping, through the public API."""

import numpy as np
import pytest

from napari_roadlabel.core import GeometryError
from napari_roadlabel.core.lanes import (
    METHODS,
    MISSING,
    CurveSet,
    LaneCurve,
    fit_lane,
    fit_lanes,
    sample_equal_many,
    sample_rows_many,
)

WIDTH, HEIGHT = 1280, 720


def parabola_x(y):
    return 0.002 * (np.asarray(y, float) - 400) ** 2 + 300


def parabola_clicks(count=5, y_from=200.0, y_to=700.0):
    ys = np.linspace(y_to, y_from, count)  # clicked from the bottom of the image up, as annotators do
    return np.column_stack([parabola_x(ys), ys])


def distance_to_line(points, a, b):
    direction = (b - a) / np.linalg.norm(b - a)
    offset = points - a
    return np.abs(offset[:, 0] * direction[1] - offset[:, 1] * direction[0])


@pytest.mark.parametrize("method", METHODS)
def test_curve_passes_through_every_control_point(method):
    controls = np.array([[310.0, 700], [402.5, 560], [455, 430], [470.25, 330], [468, 260]])
    curve = fit_lane(controls, method=method)
    nearest = np.min(np.linalg.norm(curve.points[:, None] - controls[None], axis=2), axis=0)
    np.testing.assert_allclose(nearest, 0.0, atol=1e-9)
    np.testing.assert_allclose(curve.points[[0, -1]], controls[[0, -1]], atol=1e-9)
    np.testing.assert_array_equal(curve.controls, controls)


def test_catmull_rom_through_points_in_any_direction():
    controls = np.array([[100.0, 500], [300, 480], [500, 500], [520, 300], [300, 250]])  # turns back: no y-spline
    curve = fit_lane(controls)
    nearest = np.min(np.linalg.norm(curve.points[:, None] - controls[None], axis=2), axis=0)
    np.testing.assert_allclose(nearest, 0.0, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("spacing", [[0, 1, 10, 11], [0, 5, 6, 40], [0, 100, 101, 102]])
def test_collinear_points_give_a_straight_curve_without_overshoot(method, spacing):
    a, b = np.array([200.0, 700.0]), np.array([500.0, 250.0])
    t = np.asarray(spacing, float) / spacing[-1]
    controls = a + t[:, None] * (b - a)
    curve = fit_lane(controls, method=method)
    assert distance_to_line(curve.points, a, b).max() < 1e-9
    along = (curve.points - a) @ (b - a) / np.dot(b - a, b - a)
    assert along.min() >= -1e-12 and along.max() <= 1 + 1e-12  # never beyond the end points
    assert np.all(np.diff(along) >= -1e-12)  # and never doubling back between close points


@pytest.mark.parametrize("method", METHODS)
def test_five_clicks_on_a_parabola_follow_it_within_a_pixel_between_the_end_clicks(method):
    clicks = parabola_clicks(5)
    curve = fit_lane(clicks, method=method)
    inner = np.arange(clicks[3, 1], clicks[1, 1] + 1, 5.0)  # from the 2nd to the 4th click
    assert np.abs(curve.sample_rows(inner) - parabola_x(inner)).max() < 1.0
    rows = np.arange(200.0, 701.0, 10.0)
    x = curve.sample_rows(rows)
    assert np.all(x != MISSING)
    assert np.abs(x - parabola_x(rows)).mean() < 1.5
    assert np.abs(x - parabola_x(rows)).max() < 5.0


@pytest.mark.parametrize("method", METHODS)  # both keep the bend of their end clicks to the very ends
def test_five_clicks_on_a_parabola_follow_it_within_a_pixel_at_every_row(method):
    rows = np.arange(200.0, 701.0, 10.0)
    x = fit_lane(parabola_clicks(5), method=method).sample_rows(rows)
    assert np.abs(x - parabola_x(rows)).max() < 1.0


def test_sample_rows_is_missing_outside_the_lane():
    curve = fit_lane(parabola_clicks(5))
    x = curve.sample_rows([100.0, 199.0, 200.0, 450.0, 700.0, 701.0, 719.0])
    assert x[[0, 1, 5, 6]].tolist() == [MISSING] * 4
    np.testing.assert_allclose(x[[2, 4]], parabola_x([200.0, 700.0]), atol=1e-9)
    assert curve.sample_rows(np.array([[450.0, 100.0]])).shape == (1, 2)


def test_sample_rows_takes_the_crossing_nearest_the_first_point():
    curve = fit_lane([[100.0, 600], [200, 400], [300, 600]])  # down the image, then back up: row 500 twice
    x = curve.sample_rows([500.0])[0]
    assert 100 < x < 200


def test_sample_rows_of_a_row_on_a_horizontal_stretch():
    curve = fit_lane([[100.0, 500], [300, 500]])
    assert 100.0 <= curve.sample_rows([500.0])[0] <= 300.0
    assert curve.sample_rows([501.0])[0] == MISSING


def test_sample_equal_spaces_points_equally_by_arc_length():
    curve = fit_lane(parabola_clicks(5))
    points = curve.sample_equal(30)
    assert points.shape == (30, 2)
    np.testing.assert_allclose(points[[0, -1]], curve.points[[0, -1]])
    nearest = np.array([np.argmin(np.linalg.norm(curve.points - point, axis=1)) for point in points])
    assert np.all(np.diff(nearest) > 0)  # in order along the curve
    chords = np.linalg.norm(np.diff(points, axis=0), axis=1)  # short chords of a gentle curve: nearly the arc
    np.testing.assert_allclose(chords, curve.length / 29, rtol=0.01)
    with pytest.raises(GeometryError, match="at least 2 samples"):
        curve.sample_equal(1)


def test_polyline_has_a_point_every_step_or_closer():
    curve = fit_lane(parabola_clicks(5))
    for step in (1.0, 5.0, 33.3):
        points = curve.polyline(step)
        chords = np.linalg.norm(np.diff(points, axis=0), axis=1)
        assert chords.max() <= step + 1e-9
        assert len(points) == int(np.ceil(curve.length / step)) + 1
        np.testing.assert_allclose(points[[0, -1]], curve.points[[0, -1]])
    assert len(curve.polyline(1e6)) == 2


def test_arc_length_and_clamping():
    curve = fit_lane([[0.0, 0.0], [30.0, 40.0]])
    assert curve.length == pytest.approx(50.0)
    assert curve.arc[0] == 0.0 and np.all(np.diff(curve.arc) > 0)
    np.testing.assert_allclose(curve.at_arc_length([-5.0, 25.0, 80.0]), [[0, 0], [15, 20], [30, 40]])


def test_extended_to_the_bottom_row_along_the_end_tangent():
    curve = fit_lane([[640.0, 300], [600, 450], [520, 600]])  # stops 120 rows above the bottom, leaning left
    longer = curve.extended(HEIGHT)
    assert longer.points[-1, 1] == pytest.approx(HEIGHT)
    np.testing.assert_array_equal(longer.points[:-1], curve.points)
    end_tangent = curve.points[-1] - curve.points[-3]
    added = longer.points[-1] - curve.points[-1]
    cross = end_tangent[0] * added[1] - end_tangent[1] * added[0]
    assert abs(cross) / (np.linalg.norm(end_tangent) * np.linalg.norm(added)) < 0.01  # same direction
    assert np.dot(end_tangent, added) > 0
    assert longer.sample_rows([HEIGHT])[0] < 520  # it goes on leaning left
    assert longer.length > curve.length
    np.testing.assert_array_equal(longer.controls, curve.controls)


def test_extended_to_a_horizon_row_carries_the_top_end():
    curve = fit_lane([[520.0, 600], [600, 450], [640, 300]])  # placed from the bottom up
    longer = curve.extended(250.0)
    assert longer.points[-1, 1] == pytest.approx(250.0)
    assert longer.points[0, 1] == 600.0


def test_extended_leaves_a_curve_alone_when_it_reaches_the_row_or_runs_away_from_it():
    reaching = fit_lane([[640.0, 300], [520, HEIGHT]])
    assert reaching.extended(HEIGHT) is reaching
    hooked = fit_lane([[640.0, 300], [600, 600], [560, 560]])  # the end near the bottom turns back up
    assert hooked.extended(HEIGHT) is hooked
    flat = fit_lane([[100.0, 600], [400, 600]])
    assert flat.extended(HEIGHT) is flat


def test_clipped_keeps_the_part_inside_the_image_up_to_its_border():
    curve = fit_lane([[-100.0, 300], [40, 500], [10, 600], [1400, 800]])
    inside = curve.clipped(WIDTH, HEIGHT)
    assert isinstance(inside, LaneCurve)
    assert inside.points[:, 0].min() >= 0 and inside.points[:, 0].max() <= WIDTH
    assert inside.points[:, 1].min() >= 0 and inside.points[:, 1].max() <= HEIGHT
    assert inside.points[0, 0] == pytest.approx(0.0)  # cut where it enters through the left border
    assert inside.points[-1, 1] == pytest.approx(HEIGHT)  # and where it leaves through the bottom
    assert inside.length < curve.length


def test_clipped_extension_keeps_its_part_inside_the_image():
    curve = fit_lane([[100.0, 300], [40, 500], [10, 600]])  # heading out through the left border
    clipped = curve.extended(HEIGHT).clipped(WIDTH, HEIGHT)
    assert clipped.points[-1, 0] == pytest.approx(0.0)
    assert 600 < clipped.points[-1, 1] < HEIGHT


def test_clipped_inside_and_outside():
    inside = fit_lane([[100.0, 300], [200, 500]])
    np.testing.assert_array_equal(inside.clipped(WIDTH, HEIGHT).points, inside.points)
    assert fit_lane([[-100.0, -300], [-200, -500]]).clipped(WIDTH, HEIGHT) is None


@pytest.mark.parametrize(
    "points",
    [
        [[300.0, 700], [320, 500], [310, 600]],  # turns back down the image
        [[300.0, 700], [320, 500], [330, 500]],  # two points on one row
        [[300.0, 700], [320, 700]],  # horizontal
    ],
)
def test_y_spline_refuses_lanes_that_are_not_y_monotone(points):
    with pytest.raises(GeometryError, match="catmull-rom") as raised:
        fit_lane(points, method="y-spline", where="lane 4")
    assert str(raised.value).startswith("lane 4: ")
    assert len(fit_lane(points).points) > 2  # the default curve takes them


def test_y_spline_reproduces_a_parabola_exactly_from_unevenly_spaced_clicks():
    rows = np.array([700.0, 610, 430, 345, 260])
    controls = np.column_stack([0.001 * (rows - 400) ** 2 + 300, rows])
    curve = fit_lane(controls, method="y-spline")
    np.testing.assert_allclose(curve.points[:, 0], 0.001 * (curve.points[:, 1] - 400) ** 2 + 300, atol=1e-9)
    assert np.all(np.diff(curve.points[:, 1]) < 0)  # in the order the points were placed
    two = fit_lane(controls[:2], method="y-spline")
    assert distance_to_line(two.points, controls[0], controls[1]).max() < 1e-9


def test_fit_lanes_matches_fit_lane_for_mixed_point_counts():
    rng = np.random.default_rng(0)
    lanes = [np.column_stack([300 + rng.normal(0, 20, count).cumsum(), np.linspace(700, 300, count)])
             for count in (2, 4, 3, 4, 6, 2)]
    for method in METHODS:
        together = fit_lanes(lanes, method=method)
        assert len(together) == len(lanes)
        for lane, curve in zip(lanes, together, strict=True):
            alone = fit_lane(lane, method=method)
            np.testing.assert_allclose(curve.points, alone.points, atol=1e-9)
            np.testing.assert_allclose(curve.arc, alone.arc, atol=1e-9)
            np.testing.assert_array_equal(curve.controls, lane)
    assert fit_lanes([]) == []


def test_sample_rows_many_matches_sample_rows():
    rng = np.random.default_rng(1)
    lanes = [np.column_stack([300 + rng.normal(0, 30, count).cumsum(), np.linspace(700, 250, count)])
             for count in (2, 4, 3, 4, 6)]
    curves = fit_lanes(lanes) + [fit_lane(lanes[1]).extended(HEIGHT), fit_lane([[100.0, 600], [200, 400], [300, 600]])]
    rows = np.arange(160.0, 720.0, 10.0)
    together = sample_rows_many(curves, rows)
    assert together.shape == (len(curves), len(rows))
    for curve, x in zip(curves, together, strict=True):
        np.testing.assert_array_equal(x, curve.sample_rows(rows))
    assert sample_rows_many([], rows).shape == (0, len(rows))


def test_repeated_clicks_are_dropped():
    curve = fit_lane([[300.0, 700], [300, 700], [350, 500], [350, 500], [350, 500], [380, 300]])
    np.testing.assert_array_equal(curve.controls, [[300, 700], [350, 500], [380, 300]])
    assert np.all(np.isfinite(curve.points))
    assert np.all(np.diff(curve.arc) > 0)


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        ([[300.0, 700]], "at least 2 distinct points"),
        ([[300.0, 700], [300.0, 700]], "at least 2 distinct points, got 1"),
        ([], "pairs"),
        ([[300.0, 700], [np.nan, 500]], "point 1 is not a finite number"),
        ([[300.0, 700], [320, np.inf]], "point 1 is not a finite number"),
        ([[300.0, 700, 1], [320, 500, 1]], "shape"),
        ([300.0, 700, 320, 500], "shape"),
        ([[300.0, 700], [320]], "pairs"),
        ([["a", "b"], [1, 2]], "pairs"),
    ],
)
@pytest.mark.parametrize("method", METHODS)
def test_bad_points_raise_geometry_error_naming_the_lane(points, reason, method):
    with pytest.raises(GeometryError, match=reason) as raised:
        fit_lane(points, method=method, where="lane 7, frame 3")
    assert str(raised.value).startswith("lane 7, frame 3: ")


def test_fit_lanes_names_the_bad_lane_by_index_or_name():
    good = [[300.0, 700], [320, 500]]
    with pytest.raises(GeometryError, match=r"^lane 2: point 0") as raised:
        fit_lanes([good, good, [[np.nan, 1], [2, 3]]])
    assert raised.value.where == "lane 2"
    with pytest.raises(GeometryError, match=r"^track 12: "):
        fit_lanes([good, [[1.0, 2]]], where=["track 11", "track 12"])
    with pytest.raises(GeometryError, match=r"^track 12: .*catmull-rom"):
        fit_lanes([good, [[1.0, 2], [1, 5], [2, 3]]], method="y-spline", where=["track 11", "track 12"])


def test_unknown_method_is_refused():
    with pytest.raises(GeometryError, match="unknown lane curve method 'bezier'"):
        fit_lane([[0.0, 0], [1, 1]], method="bezier")


def test_sampling_many_curves_at_once_matches_one_by_one():
    curves = fit_lanes([[[10, 350], [120, 200], [200, 120]], [[600, 350], [500, 220], [430, 130], [400, 90]],
                        [[300, 350], [310, 100]]])
    together = sample_equal_many(curves, 17)
    for curve, samples in zip(curves, together, strict=True):
        np.testing.assert_array_equal(samples, curve.sample_equal(17))


def varied_lanes(count=300, seed=2):
    """Lanes of 2 to 7 points: up, down, turning back, flat, through whole rows, with a repeated click."""
    rng = np.random.default_rng(seed)
    lanes = []
    for index in range(count):
        points = rng.uniform(0, HEIGHT, (int(rng.integers(2, 8)), 2))
        if index % 5 == 1:
            points[:, 1] = np.sort(points[:, 1])
        if index % 5 == 2:
            points[:, 1] = np.round(points[:, 1] / 10) * 10
        if index % 5 == 3:
            points[:, 1] = 400.0
        if index % 7 == 4 and len(points) > 2:
            points[1] = points[0]
        lanes.append(points)
    return lanes


def test_a_curve_set_samples_every_lane_to_the_last_bit_as_its_lane_curve_does():
    lanes = varied_lanes()
    curves = CurveSet.fit(lanes)
    alone = [fit_lane(lane) for lane in lanes]
    assert len(curves) == len(lanes)
    for curve, one in zip(curves.curves(), alone, strict=True):
        for field in ("controls", "points", "arc"):
            np.testing.assert_array_equal(getattr(curve, field), getattr(one, field))
    rows = [450.0, 100.0, 400.0, 450.0, 719.0, 0.0]  # in any order, one twice
    np.testing.assert_array_equal(curves.sample_rows(rows), [one.sample_rows(rows) for one in alone])
    np.testing.assert_array_equal(curves.sample_equal(9), [one.sample_equal(9) for one in alone])
    for step in (10.0, 33.3, 1e6):
        counts = [max(2, int(np.ceil(one.length / step)) + 1) for one in alone]
        for polyline, one, count in zip(curves.polylines(step), alone, counts, strict=True):
            np.testing.assert_array_equal(polyline, one.sample_equal(count))


def test_a_curve_set_of_lane_curves_and_of_none():
    curves = fit_lanes(varied_lanes(20))
    again = CurveSet.of(curves)
    assert [curve.points.tolist() for curve in again.curves()] == [curve.points.tolist() for curve in curves]
    empty = CurveSet.fit([])
    assert len(empty) == 0 and empty.curves() == [] and empty.polylines() == []
    assert empty.sample_rows([1.0, 2.0]).shape == (0, 2) and empty.sample_equal(5).shape == (0, 5, 2)


def test_many_lanes_are_checked_at_once_and_the_first_bad_one_named():
    good, repeated = [[300.0, 700], [320, 500], [330, 300]], [[300.0, 700], [300, 700], [330, 300]]
    curves = CurveSet.fit([good, repeated, good])  # the repeated click of the middle lane is dropped
    np.testing.assert_array_equal(curves.controls[1], [[300, 700], [330, 300]])
    with pytest.raises(GeometryError, match=r"^lane 2: a lane needs at least 2 distinct points"):
        CurveSet.fit([good, good, [[1.0, 2], [1, 2], [1, 2]], good, [[np.nan, 1], [2, 3], [4, 5]]])
    with pytest.raises(GeometryError, match=r"^track 9: point 2 is not a finite number"):
        CurveSet.fit([good] * 5 + [[[1.0, 2], [3, 4], [5, np.inf]]], where=[f"track {n}" for n in range(4, 10)])
