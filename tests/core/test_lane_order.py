"""Lanes numbered outwards from the ego vehicle, from where they cross the bottom of the image."""

import numpy as np
import pytest

from napari_roadlabel.core.lane_order import (
    bottom_crossing,
    bottom_crossings,
    left_to_right,
    order_lanes,
    order_name,
    places,
)
from napari_roadlabel.core.lanes import CurveSet, fit_lane

WIDTH, HEIGHT = 1280, 720


def lane(bottom_x, top_x, bottom_y=HEIGHT, top_y=400):
    return fit_lane([[bottom_x, bottom_y], [(bottom_x + top_x) / 2, (bottom_y + top_y) / 2], [top_x, top_y]])


def test_four_lanes_of_a_highway():
    curves = {10: lane(100, 600), 11: lane(500, 630), 12: lane(800, 660), 13: lane(1200, 700)}
    assert order_lanes(curves, WIDTH, HEIGHT) == {11: -1, 10: -2, 12: 1, 13: 2}
    assert [order_name(p) for p in (-2, -1, 1, 2, -3, 4)] == ["left-left", "left", "right", "right-right",
                                                               "left-3", "right-4"]


def test_a_lane_that_stops_short_is_placed_by_its_tangent():
    short = lane(560, 620, bottom_y=600, top_y=400)  # ends 120 rows above the bottom, leaning left as it comes down
    assert bottom_crossing(short, HEIGHT) < 560
    assert order_lanes({1: short, 2: lane(700, 650)}, WIDTH, HEIGHT) == {1: -1, 2: 1}


def test_recomputed_when_a_lane_is_added():
    curves = {1: lane(500, 630), 2: lane(800, 660)}
    assert order_lanes(curves, WIDTH, HEIGHT)[1] == -1
    curves[3] = lane(600, 640)  # a new lane between the first and the car
    assert order_lanes(curves, WIDTH, HEIGHT) == {3: -1, 1: -2, 2: 1}


def test_no_lanes():
    assert order_lanes({}, WIDTH, HEIGHT) == {}


def test_bottom_crossings_of_many_lanes_at_once():
    reaching, short = lane(300, 500), lane(560, 620, bottom_y=600, top_y=400)
    upright = fit_lane([[900.0, 300], [900, 500], [900, 650]])  # stops short, straight down: meets the row at 900
    hooked = fit_lane([[640.0, 300], [600, 600], [560, 560]])  # its bottom end turns back up: its lowest point
    curves = [reaching, short, upright, hooked, lane(1000, 900, bottom_y=700, top_y=300)]
    together = bottom_crossings(curves, HEIGHT)
    assert together.tolist() == [bottom_crossing(curve, HEIGHT) for curve in curves]
    assert together[0] == pytest.approx(300) and together[2] == pytest.approx(900)
    assert together[3] == pytest.approx(hooked.points[np.argmax(hooked.points[:, 1]), 0])
    np.testing.assert_array_equal(bottom_crossings(CurveSet.of(curves), HEIGHT), together)
    assert bottom_crossings([], HEIGHT).shape == (0,)


def test_lanes_of_many_frames_ordered_and_placed_at_once():
    frames = np.array([7, 3, 7, 7, 3, 9, 7])
    crossings = np.array([900.0, 100, 200, 640, 300, 50, 200])  # frame 7: a tie at 200, one on the car's line
    order, place = left_to_right(frames, crossings, 1280)
    assert order.tolist() == [1, 4, 2, 6, 3, 0, 5]  # frame 3, then 7 (ties in the order given), then 9
    assert place.tolist() == [2, -2, -2, 1, -1, -1, -1]
    assert [arr.tolist() for arr in left_to_right(np.zeros(0, int), np.zeros(0), 1280)] == [[], []]


def test_places_break_ties_by_key():
    assert places({5: 200.0, 2: 200.0, 8: 900.0, 1: 900.0}, 1280) == {2: -2, 5: -1, 1: 1, 8: 2}
