"""Snap to paint on synthetic road images: a lane line drawn on noisy asphalt, and a curve placed near it."""

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import GeometryError
from napari_roadlabel.core.lanes import fit_lane
from napari_roadlabel.core.snap import SnapResult, snap_to_paint

HEIGHT, WIDTH = 400, 320
WHITE, YELLOW = (235, 235, 235), (215, 180, 40)


def truth_x(y):
    """The painted line: a gentle curve over the image."""
    return 0.002 * (np.asarray(y, float) - 200) ** 2 + 150


def truth_points(y_from=0.0, y_to=HEIGHT, step=0.25):
    ys = np.arange(y_from, y_to, step)
    return np.column_stack([truth_x(ys), ys])


def road(level=95.0, noise=8.0, seed=0, size=(HEIGHT, WIDTH)):
    """Grey asphalt: pixel noise plus a blotchy texture, as float RGB."""
    rng = np.random.default_rng(seed)
    grey = level + rng.normal(0, noise, size) + cv2.GaussianBlur(rng.normal(0, noise * 3, size), (0, 0), 3)
    return np.repeat(grey[..., None], 3, axis=2)


def draw(image, points, color=WHITE, thickness=6, dashes=None, keep=None):
    """Paint a line along points (x, y) with anti-aliasing; ``dashes`` = (on, off) px of arc."""
    mask = np.zeros(image.shape[:2], np.uint8)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    on = np.ones(len(points), bool) if dashes is None else (arc % sum(dashes)) < dashes[0]
    starts = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int)])) == 1)
    stops = np.flatnonzero(np.diff(np.concatenate([on.astype(int), [0]])) == -1) + 1
    for start, stop in zip(starts, stops, strict=True):
        piece = np.round(points[start:stop] * 16).astype(np.int32)
        cv2.polylines(mask, [piece], False, 255, thickness, cv2.LINE_AA, shift=4)
    alpha = mask[..., None] / 255.0 * (1.0 if keep is None else keep[..., None])
    return image * (1 - alpha) + np.asarray(color, float) * alpha


def as_image(image):
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def start_curve(offset=5.0, y_from=40.0, y_to=380.0, clicks=5):
    """The annotator's curve: clicks on the truth, all moved ``offset`` px to the right."""
    ys = np.linspace(y_from, y_to, clicks)
    return fit_lane(np.column_stack([truth_x(ys) + offset, ys]))


def distance_to(points, line):
    """Each point's distance to a dense polyline (its nearest vertex)."""
    return np.min(np.linalg.norm(points[:, None, :] - line[None, :, :], axis=2), axis=1)


def assert_within_max_shift(result, max_shift):
    assert np.abs(result.shifts).max() <= max_shift + 1e-9
    assert np.all(np.linalg.norm(result.controls - result.samples, axis=1) <= max_shift + 1e-9)


@pytest.mark.parametrize(
    ("name", "image", "offset", "tolerance"),
    [
        ("white on asphalt", lambda: draw(road(), truth_points()), 5.0, 1.0),
        ("white, curve on the other side", lambda: draw(road(seed=1), truth_points()), -5.0, 1.0),
        ("yellow on asphalt", lambda: draw(road(seed=2), truth_points(), YELLOW), 5.0, 1.0),
        ("yellow on light concrete", lambda: draw(road(level=175, noise=6, seed=3), truth_points(), YELLOW), 5.0, 1.0),
        ("thin far line", lambda: draw(road(seed=4), truth_points(), thickness=2), 4.0, 1.0),
        ("wide near line", lambda: draw(road(seed=5), truth_points(), thickness=18), 5.0, 1.5),  # a flat-topped bar
        ("dim night road", lambda: draw(road(level=20, noise=2.5, seed=6), truth_points(), (40, 40, 40)), 5.0, 1.0),
    ],
)
def test_a_curve_5px_off_is_moved_onto_the_paint(name, image, offset, tolerance):
    curve = start_curve(offset)
    before = distance_to(curve.polyline(5.0), truth_points())
    assert before.mean() > 3.0  # the starting curve really is off

    result = snap_to_paint(curve, as_image(image()), max_shift=8.0)

    assert result.evidence > 0.9, name
    after = distance_to(result.controls, truth_points())
    assert after.mean() < 0.5, name
    assert after.max() < tolerance, name
    assert_within_max_shift(result, 8.0)
    refitted = fit_lane(result.controls)  # the new controls make a lane; it runs along the paint at every row
    rows = np.arange(50.0, 370.0, 5.0)
    assert np.abs(refitted.sample_rows(rows) - truth_x(rows)).mean() < 0.5, name
    assert np.abs(refitted.sample_rows(rows) - truth_x(rows)).max() < tolerance + 0.2, name


def test_dashed_line_is_followed_across_its_gaps():
    image = as_image(draw(road(seed=7), truth_points(), dashes=(30, 50)))
    result = snap_to_paint(start_curve(4.0), image)

    assert 0.25 < result.evidence < 0.75  # paint is seen on the dashes only
    after = distance_to(result.controls, truth_points())
    assert after[result.found].mean() < 0.5
    assert after[result.found].max() < 2.0  # the worst at the end of a dash
    inner = slice(np.flatnonzero(result.found)[0], np.flatnonzero(result.found)[-1] + 1)
    assert after[inner].max() < 2.0  # gaps between dashes: the shift is carried across
    assert_within_max_shift(result, 8.0)


def test_few_output_points_still_look_for_paint_between_them():
    image = as_image(draw(road(seed=17), truth_points(), dashes=(30, 50)))
    result = snap_to_paint(start_curve(5.0), image, spacing=25.0)  # a point every 25 px for the annotator to edit

    steps = np.linalg.norm(np.diff(result.samples, axis=0), axis=1)
    assert steps.max() <= 25.0 + 1e-6
    seen = result.samples[result.found, 1]
    rows = np.arange(seen.min(), seen.max(), 5.0)  # from the first to the last dash seen
    error = np.abs(fit_lane(result.controls).sample_rows(rows) - truth_x(rows))
    assert error.mean() < 0.5  # dashes between the output points were seen and followed
    assert error.max() < 1.5


def test_worn_paint_is_snapped_where_it_shows_and_left_alone_elsewhere():
    rng = np.random.default_rng(8)
    patches = cv2.GaussianBlur(rng.random((HEIGHT, WIDTH)), (0, 0), 6)
    keep = (patches > np.quantile(patches, 0.5)).astype(float)  # half the paint worn off, in patches
    image = as_image(draw(road(seed=8), truth_points(), (125, 125, 125), keep=keep))  # and faded: 30 grey levels
    curve = start_curve(5.0)

    result = snap_to_paint(curve, image, max_shift=8.0)

    assert result.found.sum() >= 5
    after = distance_to(result.controls[result.found], truth_points())
    assert after.mean() < 1.0
    assert after.max() < 3.5  # on the 6 px paint; where only part of its width is left, centred on that part
    assert_within_max_shift(result, 8.0)


def test_paint_only_on_part_of_the_lane_leaves_the_rest_where_it_was():
    image = as_image(draw(road(seed=9), truth_points(250, HEIGHT)))  # paint on the lower part only
    curve = start_curve(4.0)

    result = snap_to_paint(curve, image, taper=30.0)

    assert result.found.any()
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(result.samples, axis=0), axis=1))])
    top_of_paint = np.flatnonzero(result.found)[0]  # the curve runs down the image: the first paint seen
    far_above = arc < arc[top_of_paint] - 30.0  # further than the taper from it
    assert far_above.sum() > 10
    assert np.all(result.shifts[far_above] == 0.0)
    np.testing.assert_array_equal(result.controls[far_above], result.samples[far_above])
    assert distance_to(result.controls[result.found], truth_points()).max() < 1.0


@pytest.mark.parametrize("seed", range(5))
def test_blank_road_moves_nothing(seed):
    image = as_image(road(level=80 + 20 * seed, noise=4 + 2 * seed, seed=100 + seed))
    curve = start_curve(0.0)

    result = snap_to_paint(curve, image)

    assert not result.found.any()
    assert result.moved_max == 0.0
    np.testing.assert_array_equal(result.controls, result.samples)


def test_flat_image_moves_nothing():
    result = snap_to_paint(start_curve(0.0), np.full((HEIGHT, WIDTH, 3), 128, np.uint8))
    assert not result.found.any() and result.moved_max == 0.0


def test_an_edge_is_not_paint():
    image = road(seed=10)
    image[:, 160:] += 60  # a kerb or shadow boundary running down the image: bright on one side only
    curve = fit_lane([[164.0, 20.0], [164.0, 380.0]])

    result = snap_to_paint(curve, as_image(image))

    assert result.moved_max == 0.0


@pytest.mark.parametrize(("paint_at", "max_shift"), [(175.0, 8.0), (170.0, 8.0), (166.0, 4.0)])
def test_paint_further_than_max_shift_is_not_reached(paint_at, max_shift):
    points = np.column_stack([np.full(400, paint_at), np.linspace(0, HEIGHT, 400)])
    image = as_image(draw(road(seed=11), points))
    curve = fit_lane([[160.0, 20.0], [160.0, 200.0], [160.0, 380.0]])

    result = snap_to_paint(curve, image, max_shift=max_shift)

    assert_within_max_shift(result, max_shift)
    assert not result.found.any()  # the paint is out of reach: the curve stays put, it is not dragged half-way
    assert result.moved_max == 0.0


@pytest.mark.parametrize("offset", [0.0, 2.0, 4.0, 6.0, 9.0, 12.0, 20.0])
def test_never_moves_further_than_max_shift(offset):
    image = as_image(draw(road(seed=12), truth_points()))
    result = snap_to_paint(start_curve(offset), image, max_shift=5.0)
    assert_within_max_shift(result, 5.0)
    refitted = fit_lane(result.controls)
    assert distance_to(refitted.polyline(2.0), start_curve(offset).polyline(0.5)).max() <= 5.5


def test_curve_partly_outside_the_image_snaps_the_inside_part():
    image = as_image(draw(road(seed=13), truth_points()))
    ys = np.linspace(-150.0, 380.0, 6)  # the first 150 rows are above the image
    curve = fit_lane(np.column_stack([truth_x(ys) + 5.0, ys]))

    result = snap_to_paint(curve, image, taper=30.0)

    outside = result.samples[:, 1] < 0
    assert outside.sum() > 5
    assert not result.found[outside].any()
    well_outside = result.samples[:, 1] < -40  # further than the taper from any paint seen
    assert np.all(result.shifts[well_outside] == 0.0)
    inside = result.found & (result.samples[:, 1] > 10)
    assert inside.sum() > 20
    assert distance_to(result.controls[inside], truth_points()).max() < 1.0


def test_curve_entirely_outside_the_image_is_left_alone():
    image = as_image(road(seed=14))
    curve = fit_lane([[-50.0, -100.0], [-80.0, -300.0]])
    result = snap_to_paint(curve, image)
    assert not result.found.any()
    np.testing.assert_array_equal(result.controls, result.samples)


def test_grey_image_gives_the_same_result_as_its_rgb():
    rgb = as_image(draw(road(seed=15), truth_points()))
    grey = rgb[..., 0].copy()
    curve = start_curve(5.0)
    from_rgb, from_grey = snap_to_paint(curve, rgb), snap_to_paint(curve, grey)
    np.testing.assert_array_equal(from_rgb.found, from_grey.found)
    np.testing.assert_allclose(from_rgb.controls, from_grey.controls, atol=1e-3)


def test_result_samples_the_curve_every_spacing_px():
    curve = start_curve(0.0)
    result = snap_to_paint(curve, as_image(road(seed=16)), spacing=12.5)
    assert isinstance(result, SnapResult)
    count = len(result.samples)
    assert result.controls.shape == (count, 2) and result.shifts.shape == (count,) and result.found.shape == (count,)
    np.testing.assert_allclose(result.samples[[0, -1]], curve.points[[0, -1]], atol=1e-9)
    steps = np.linalg.norm(np.diff(result.samples, axis=0), axis=1)
    assert steps.max() <= 12.5 + 1e-6 and steps.min() > 10.0
    assert result.evidence == 0.0
    with pytest.raises(AttributeError):
        result.shifts = None


@pytest.mark.parametrize(
    ("image", "keywords", "message"),
    [
        (np.zeros((40, 30, 3), np.float32), {}, "uint8"),
        (np.zeros((40, 30, 3), np.uint16), {}, "uint8"),
        (np.zeros((40, 30, 4), np.uint8), {}, "shape"),
        (np.zeros((40,), np.uint8), {}, "shape"),
        (np.zeros((0, 30, 3), np.uint8), {}, "shape"),
        (np.zeros((40, 30, 3), np.uint8), {"max_shift": 0.0}, "max_shift"),
        (np.zeros((40, 30, 3), np.uint8), {"max_shift": -2.0}, "max_shift"),
        (np.zeros((40, 30, 3), np.uint8), {"max_shift": float("nan")}, "max_shift"),
        (np.zeros((40, 30, 3), np.uint8), {"spacing": 0.0}, "spacing"),
        (np.zeros((40, 30, 3), np.uint8), {"max_gap": -1.0}, "max_gap"),
    ],
)
def test_bad_arguments_are_refused(image, keywords, message):
    with pytest.raises(GeometryError, match=message) as raised:
        snap_to_paint(start_curve(0.0), image, where="lane 3, frame 12", **keywords)
    assert str(raised.value).startswith("lane 3, frame 12: ")
