"""Lanes numbered outwards from the ego vehicle, from where they cross the bottom of the image."""

from napari_roadlabel.core.lane_order import bottom_crossing, order_lanes, order_name
from napari_roadlabel.core.lanes import fit_lane

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
