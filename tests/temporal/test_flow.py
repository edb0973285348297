"""One frame step of optical-flow tracking on a synthetic texture moved by a known amount."""

from __future__ import annotations

import numpy as np
import pytest

from napari_roadlabel.core import Geometry, GeometryKind, box, make_geometry, make_mask
from napari_roadlabel.temporal.flow import (
    Carried,
    Move,
    carry_all,
    seen_share,
    step_noise,
    step_quality,
    whole_shape,
)
from napari_roadlabel.temporal.motion import MotionEstimator, grey_frame
from napari_roadlabel.temporal.shape_distance import mean_distance

SIZE = (160, 120)  # width, height
GRID = np.stack(np.meshgrid(np.linspace(30, 130, 6), np.linspace(25, 95, 5)), axis=-1).reshape(-1, 2)


def _field(before: np.ndarray, after: np.ndarray):
    return MotionEstimator().estimate(before, after)


def _carry(texture, geometry: Geometry, shift, *, lane: bool = False) -> Move:
    """The shape moved one frame, from the texture as it is to the texture moved by ``shift``."""
    field = _field(texture.grey(0, 0), texture.grey(*shift))
    return carry_all([Carried(geometry, geometry, lane=lane)], field, SIZE)[0]


class _Shifted:
    """A motion field that says everything moved by ``shift``, every point good (a step's model on exact input)."""

    ground = None
    cut = False

    def __init__(self, shift):
        self.shift = np.asarray(shift, dtype=float)

    def track(self, points):
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        return points + self.shift, np.ones(len(points), bool), np.zeros(len(points))


def test_grey_frame_turns_rgb_to_8_bit_grey_and_keeps_grey():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 1] = 200
    grey = grey_frame(rgb)
    assert grey.shape == (4, 5) and grey.dtype == np.uint8 and 100 < grey[0, 0] < 140  # green's luma share
    plain = np.full((4, 5), 7, np.uint8)
    assert np.array_equal(grey_frame(plain), plain)


@pytest.mark.parametrize("shift", [(3.0, -2.0), (1.3, 0.6), (-4.5, 2.25)])
def test_the_field_finds_the_shift(texture, shift):
    moved, good, error = _field(texture.grey(0, 0), texture.grey(*shift)).track(GRID)
    assert good.all()
    assert np.abs(moved - GRID - shift).max() < 0.2
    assert error.max() < 0.2
    assert step_quality(good, error) > 0.8
    assert 0 <= step_noise(good, error) < 0.1


def test_the_field_tracks_no_points():
    moved, good, error = _field(np.zeros(SIZE[::-1], np.uint8), np.zeros(SIZE[::-1], np.uint8)).track(np.zeros((0, 2)))
    assert moved.shape == (0, 2) and good.shape == (0,) and error.shape == (0,)


def test_seeds_on_a_blank_image_give_low_quality():
    blank = np.full(SIZE[::-1], 128, np.uint8)
    field = _field(blank, blank)
    moved, good, error = field.track(GRID)
    assert step_quality(good, error) < 0.1
    start = box(40, 30, 80, 60)
    step = carry_all([Carried(start, start)], field, SIZE)[0]
    assert step.geometry is None and step.stopped and step.stopped.startswith("lost")


def test_seeds_on_unrelated_noise_give_low_quality(texture):
    noise = np.random.default_rng(3).integers(0, 256, SIZE[::-1], dtype=np.uint8)
    moved, good, error = _field(texture.grey(0, 0), noise).track(GRID)
    assert step_quality(good, error) < 0.3


def test_step_quality_and_drift_of_seeds():
    good = np.array([True, True, False, False])
    error = np.array([0.2, 0.2, 5.0, 5.0])
    assert step_quality(good, error) == pytest.approx(0.5 * np.exp(-0.2))
    assert step_noise(good, error) == pytest.approx(0.1 + 0.5 * 0.25)
    assert step_quality(np.zeros(3, bool), error[:3]) == 0.0 and step_noise(np.zeros(3, bool), error[:3]) == np.inf


@pytest.mark.parametrize("shift", [(3.0, 2.0), (-2.4, 1.7)])
def test_carry_all_carries_a_box_by_the_shift(texture, shift):
    start = box(40, 30, 80, 60)
    step = _carry(texture, start, shift)
    assert step.stopped is None and step.quality > 0.8 and step.noise + step.bias < 0.1
    assert step.geometry.kind is GeometryKind.BOX
    np.testing.assert_allclose(step.geometry.points, start.points + shift, atol=0.2)
    assert step.visible == step.geometry  # all of it is on the image


def test_carry_all_carries_a_polygon_by_the_shift(texture):
    start = make_geometry("polygon", [[50, 40], [100, 35], [110, 80], [45, 70]])
    step = _carry(texture, start, (2.5, -1.5))
    assert step.stopped is None and step.geometry.kind is GeometryKind.POLYGON
    np.testing.assert_allclose(step.geometry.points, start.points + [2.5, -1.5], atol=0.2)


def test_carry_all_carries_a_mask_by_the_shift(texture):
    pixels = np.zeros((30, 40), bool)
    pixels[5:25, 5:35] = True
    pixels[5:10, 5:10] = False  # not a plain rectangle
    start = make_mask(pixels, (50, 40))
    step = _carry(texture, start, (3, 2))
    assert step.geometry.kind is GeometryKind.MASK
    expected = make_mask(pixels[5:25, 5:35], (58, 47))
    assert mean_distance(step.geometry, expected) < 0.5
    assert abs(int(step.geometry.mask.sum()) - int(pixels.sum())) <= 0.02 * pixels.sum()


def test_carry_all_carries_keypoints_by_the_shift(texture):
    start = make_geometry("keypoints", [[50, 40], [60, 50], [70, 45], [90, 80]])
    step = _carry(texture, start, (-2.0, 1.5))
    np.testing.assert_allclose(step.geometry.points, start.points + [-2.0, 1.5], atol=0.2)


@pytest.mark.parametrize("dx", [3.0, -2.4])
def test_carry_all_carries_a_lane_sideways(texture, dx):
    start = make_geometry("polyline", [[60, 115], [75, 60], [80, 10]])
    step = _carry(texture, start, (dx, 0.0), lane=True)
    assert step.stopped is None and step.geometry.kind is GeometryKind.POLYLINE
    np.testing.assert_allclose(step.geometry.points, start.points + [dx, 0], atol=0.2)


def test_a_lane_keeps_its_rows_when_the_road_moves_diagonally(texture):
    start = make_geometry("polyline", [[60, 115], [75, 60], [80, 10]])
    step = _carry(texture, start, (2.0, 1.5), lane=True)
    assert np.array_equal(step.geometry.points[:, 1], start.points[:, 1])  # the far end stays where it was
    moved_curve = make_geometry("polyline", start.points + [2.0, 1.5])
    assert mean_distance(step.geometry, moved_curve, lane=True) < 1.0
    assert mean_distance(step.geometry, start, lane=True) > 1.5


def test_carry_all_reports_a_shape_carried_off_the_image():
    # The flow says everything moved 60 px right: the box, 140..150 before, is wholly past the right border.
    start = box(140, 30, 150, 60)
    step = carry_all([Carried(start, start)], _Shifted([60, 0]), SIZE)[0]
    assert step.geometry is None and step.visible is None
    assert step.stopped == "left the image"


def test_carry_all_keeps_the_whole_shape_and_writes_its_visible_part():
    start = box(130, 30, 150, 60)
    step = carry_all([Carried(start, start)], _Shifted([20, 0]), SIZE)[0]
    np.testing.assert_allclose(step.geometry.points, [[150, 30], [170, 60]])
    np.testing.assert_allclose(step.visible.points, [[150, 30], [160, 60]])


def test_a_polygon_tracked_off_the_image_has_left_it(texture):
    start = make_geometry("polygon", [[148, 40], [158, 40], [158, 80], [148, 80]])
    step = _carry(texture, start, (12.0, 0.0))
    assert step.stopped == "left the image"


@pytest.mark.parametrize("start", [box(150, 40, 158, 80), make_geometry("point", [[155, 60]])], ids=["box", "point"])
def test_a_box_or_point_tracked_off_the_image_has_left_it(texture, start):
    step = _carry(texture, start, (12.0, 0.0))
    assert step.stopped == "left the image"


def test_a_polygon_cut_by_the_border_goes_on_past_it_along_its_sides():
    cut = make_geometry("polygon", [[50, 100], [100, 100], [110, 120], [40, 120]])
    whole = whole_shape(cut, (160, 120))
    np.testing.assert_allclose(whole.points[:2], cut.points[:2])  # the corners inside stay
    for corner, inner in ((2, 1), (3, 0)):  # the bottom corners slide out along the zone's sides
        side = cut.points[corner] - cut.points[inner]
        outward = whole.points[corner] - cut.points[corner]
        parallel = side[0] * outward[1] - side[1] * outward[0]
        assert outward[1] > 1000 and abs(parallel) < 1e-6 * np.linalg.norm(outward) * np.linalg.norm(side)
    inside = make_geometry("polygon", [[50, 50], [100, 50], [100, 90]])
    assert whole_shape(inside, (160, 120)) is inside


def test_the_seen_share_is_what_the_annotator_drew_of_the_written_shape():
    drawn = np.array([[40.0, 60.0], [120.0, 60.0], [120.0, 120.0], [40.0, 120.0]])
    assert seen_share(drawn, make_geometry("polygon", drawn), (160, 120)) == 1.0
    shown = make_geometry("polygon", [[40, 30], [120, 30], [120, 120], [40, 120]])  # extended upward by as much
    assert seen_share(drawn, shown, (160, 120)) == pytest.approx(60 / 90)
    assert seen_share(None, shown, (160, 120)) == 0.0
