"""How far apart two shapes are: zero for the same shape, the known offset for moved ones, symmetric."""

from __future__ import annotations

import numpy as np
import pytest

from napari_roadlabel.core import Geometry, GeometryError, box, make_geometry, make_mask
from napari_roadlabel.temporal.shape_distance import mean_distance


def _disk(cx: int, cy: int, radius: int) -> Geometry:
    ys, xs = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return make_mask(xs**2 + ys**2 <= radius**2, (cx - radius, cy - radius))


def _circle(cx: float, cy: float, radius: float, count: int = 360) -> Geometry:
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return make_geometry("polygon", np.column_stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)]))


SHAPES = {
    "box": box(10, 20, 50, 45),
    "point": make_geometry("point", [[30, 40]]),
    "keypoints": make_geometry("keypoints", [[10, 10], [20, 30], [5, 40]]),
    "polyline": make_geometry("polyline", [[0, 0], [30, 10], [60, 50]]),
    "polygon": make_geometry("polygon", [[10, 10], [60, 15], [50, 60], [5, 40]]),
    "mask": _disk(40, 40, 10),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_shape_is_no_distance_from_itself(name):
    assert mean_distance(SHAPES[name], SHAPES[name]) == 0.0


def test_a_lane_is_no_distance_from_itself():
    lane = make_geometry("polyline", [[60, 115], [78, 60], [70, 10]])
    assert mean_distance(lane, lane, lane=True) == 0.0


@pytest.mark.parametrize("name", ["box", "point", "keypoints"])
def test_translated_corner_shapes_are_the_shift_apart(name):
    shape = SHAPES[name]
    moved = make_geometry(shape.kind, shape.points + [3, 4])
    assert mean_distance(shape, moved) == pytest.approx(5.0)


def test_box_corners_are_averaged():
    # One corner stays, the other moves 6 px: the mean of 0 and 6.
    assert mean_distance(box(0, 0, 10, 10), box(0, 0, 16, 10)) == pytest.approx(3.0)


def test_a_line_moved_across_itself_is_the_shift_apart():
    line = make_geometry("polyline", [[10, 50], [60, 50], [110, 50]])
    moved = make_geometry("polyline", line.points + [0, 3])
    assert mean_distance(line, moved) == pytest.approx(3.0)


def test_a_lane_moved_sideways_is_the_shift_apart_as_a_curve():
    lane = make_geometry("polyline", [[60, 115], [60, 60], [60, 5]])
    moved = make_geometry("polyline", lane.points + [4, 0])
    assert mean_distance(lane, moved, lane=True) == pytest.approx(4.0, abs=1e-6)


def test_outlines_do_not_depend_on_their_vertices():
    two = make_geometry("polyline", [[10, 50], [110, 50]])
    five = make_geometry("polyline", np.column_stack([np.linspace(110, 10, 5), np.full(5, 50)]))  # reversed too
    assert mean_distance(two, five) < 1e-9
    square = np.array([[10, 10], [30, 10], [30, 30], [10, 30]], dtype=float)
    turned = np.roll(square[::-1], 1, axis=0)  # the same outline only when each is closed
    assert mean_distance(make_geometry("polygon", square), make_geometry("polygon", turned)) < 1e-9


def test_a_polygon_grown_outward_is_the_growth_apart():
    assert mean_distance(_circle(80, 60, 30), _circle(80, 60, 34)) == pytest.approx(4.0, abs=0.05)


def test_a_translated_polygon_is_at_most_the_shift_apart():
    polygon = SHAPES["polygon"]
    moved = make_geometry("polygon", polygon.points + [3, 4])
    assert 1.0 < mean_distance(polygon, moved) <= 5.0
    far = make_geometry("polygon", polygon.points + [300, 400])
    assert mean_distance(polygon, far) > 400


def test_a_mask_grown_outward_is_the_growth_apart():
    assert mean_distance(_disk(40, 40, 10), _disk(40, 40, 14)) == pytest.approx(4.0, abs=0.5)


def test_a_translated_mask_is_at_most_the_shift_apart():
    distance = mean_distance(_disk(40, 40, 10), _disk(43, 44, 10))
    assert 1.0 < distance <= 5.0
    assert mean_distance(_disk(40, 40, 10), _disk(140, 40, 10)) > 80  # the offset counts, not just the shape


PAIRS = {
    "box": (box(0, 0, 10, 10), box(3, -2, 20, 12)),
    "polyline": (make_geometry("polyline", [[0, 0], [50, 10]]), make_geometry("polyline", [[5, 8], [20, 30], [70, 5]])),
    "polygon": (SHAPES["polygon"], _circle(40, 40, 20, count=12)),
    "mask": (_disk(40, 40, 10), _disk(45, 38, 6)),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_the_distance_is_symmetric(name):
    first, second = PAIRS[name]
    there, back = mean_distance(first, second), mean_distance(second, first)
    assert there > 0.5
    assert there == pytest.approx(back, rel=1e-12)


def test_lane_distance_is_symmetric():
    first = make_geometry("polyline", [[60, 115], [78, 60], [70, 10]])
    second = make_geometry("polyline", [[50, 110], [70, 70], [75, 30], [64, 0]])
    assert mean_distance(first, second, lane=True) == pytest.approx(mean_distance(second, first, lane=True))


def test_shapes_of_different_kinds_cannot_be_compared():
    with pytest.raises(GeometryError, match="cannot compare a box with a polygon"):
        mean_distance(SHAPES["box"], SHAPES["polygon"])


def test_keypoints_of_different_counts_cannot_be_compared():
    with pytest.raises(GeometryError, match="keypoints shapes have 3 and 2 points"):
        mean_distance(SHAPES["keypoints"], make_geometry("keypoints", [[0, 0], [1, 1]]))
