"""Every object of a frame carried at once, as arrays, against the object-by-object code it replaced.

The reference functions below are that code (flow.py before the motion field), kept as the oracle: fed
the same seeds, new places and good flags, the vectorised ``carry_boxes`` and ``carry_lanes`` (lanes by
their own flow, ``on_road=False``, no paint snap) must give each object what it gave alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_roadlabel.core import Geometry, GeometryKind, make_geometry
from napari_roadlabel.core.lanes import CurveSet, fit_lane
from napari_roadlabel.core.snap import snap_many, snap_to_paint
from napari_roadlabel.sample import RoadSceneConfig, make_road_sequence
from napari_roadlabel.temporal.flow import MAX_SCALE_STEP, Carried, carry_all, carry_boxes, object_seeds
from napari_roadlabel.temporal.lane_motion import ACROSS_IMAGE, carry_lanes, padded
from napari_roadlabel.temporal.motion import MotionEstimator, grey_frame

SNAP_TOLERANCE_PX = 1e-6  # one paint response for all lanes: the same profiles, read in another order
BOX_TOLERANCE_PX = 1e-6  # boxes: the same medians, only summed in another order
LANE_TOLERANCE_PX = 0.05  # lanes: closed-form least squares against np.polyfit, and NaN-padded interpolation


# ------------------------------------------------------------------ the object-by-object code this replaced, kept
# as the oracle (flow.py's _move_box, _median_scale, _move_lane, _robust_polynomial, _along_extended, _across_image);
# the lane's line starts from Theil-Sen as lane_motion.robust_lines now does (one far wrong seed cannot tilt it)


def _reference_move_box(geometry: Geometry, seeds: np.ndarray, moved: np.ndarray) -> tuple[Geometry, float]:
    (x0, y0), (x1, y1) = geometry.points
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    shift, scale = np.median(moved - seeds, axis=0), _reference_median_scale(seeds, moved)
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2]) * scale
    expected = centre + shift + scale * (seeds - centre)
    residual = float(np.median(np.linalg.norm(moved - expected, axis=1)))
    return make_geometry(GeometryKind.BOX, [centre + shift - half, centre + shift + half]), residual


def _reference_median_scale(seeds: np.ndarray, moved: np.ndarray) -> float:
    if len(seeds) < 2:
        return 1.0
    first, second = np.triu_indices(len(seeds), k=1)
    before = np.linalg.norm(seeds[first] - seeds[second], axis=1)
    after = np.linalg.norm(moved[first] - moved[second], axis=1)
    usable = before > 1.0
    if not usable.any():
        return 1.0
    return float(np.clip(np.median(after[usable] / before[usable]), 1 / MAX_SCALE_STEP, MAX_SCALE_STEP))


def _reference_move_lane(geometry: Geometry, seeds: np.ndarray, moved: np.ndarray) -> tuple[Geometry, float]:
    along = 0 if _reference_across_image(geometry.points) else 1
    across = 1 - along
    dense = fit_lane(geometry.points).points
    dense = dense[np.argsort(dense[:, along])]
    where_now = _reference_along_extended(moved[:, along], dense[:, along], dense[:, across])
    shift = moved[:, across] - where_now
    model = _reference_robust_polynomial(moved[:, along], shift)
    low, high = moved[:, along].min(), moved[:, along].max()
    controls = np.array(geometry.points, dtype=float)
    controls[:, across] += np.polyval(model, np.clip(controls[:, along], low, high))
    residual = float(np.median(np.abs(np.polyval(model, moved[:, along]) - shift)))
    return make_geometry(GeometryKind.POLYLINE, controls), residual


def _reference_across_image(points: np.ndarray) -> bool:
    return bool(np.ptp(points[:, 1]) < ACROSS_IMAGE * np.ptp(points[:, 0]))


def _reference_along_extended(at: np.ndarray, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    result = np.interp(at, positions, values)
    ends = ((at < positions[0], 0, min(4, len(positions) - 1)), (at > positions[-1], -1, max(-5, -len(positions))))
    for beyond, end, inner in ends:
        run = positions[end] - positions[inner]
        if beyond.any() and abs(run) > 1e-9:
            slope = (values[end] - values[inner]) / run
            result[beyond] = values[end] + slope * (at[beyond] - positions[end])
    return result


def _reference_robust_polynomial(position: np.ndarray, shift: np.ndarray) -> np.ndarray:
    degree = min(1, len(position) - 1, len(np.unique(np.round(position))) - 1)
    if degree <= 0:
        return np.array([np.median(shift)])
    model = _reference_theil_sen(position, shift)
    residual = np.abs(np.polyval(model, position) - shift)
    keep = residual <= max(3.0 * np.median(residual), 0.5)
    if degree < keep.sum() < len(position):
        model = np.polyfit(position[keep], shift[keep], degree)
    return model


def _reference_theil_sen(position: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The median slope over the pairs of seeds at least half a pixel apart in row; the median intercept."""
    slopes = [(shift[j] - shift[i]) / (position[j] - position[i])
              for i in range(len(position)) for j in range(i + 1, len(position))
              if abs(position[j] - position[i]) >= 0.5]
    slope = float(np.median(slopes)) if slopes else 0.0
    return np.array([slope, np.median(shift - slope * position)])


# ------------------------------------------------------------------ inputs


@pytest.fixture(scope="module")
def road():
    """Frames 0 and 1 of the sample clip (640x360) and the truth on frame 0: five lane lines, three boxes."""
    sequence = make_road_sequence(RoadSceneConfig(frames=2))
    tracks = {track.id: track for track in sequence.tracks}
    first = [state for state in sequence.states if state.frame == 0]
    lanes = [state.geometry for state in first if tracks[state.track_id].class_name == "lane-line"]
    boxes = [state.geometry for state in first if state.geometry.kind is GeometryKind.BOX]
    assert len(lanes) == 5 and len(boxes) == 3
    greys = [grey_frame(frame) for frame in sequence.frames]
    field = MotionEstimator().estimate(*greys)
    size = (sequence.frames.shape[2], sequence.frames.shape[1])
    return lanes, boxes, field, greys[1], size


def _tracked(objects: list[Carried], field, size) -> tuple[list, list, list]:
    """Each object's seeds, new places and good flags, read from the field as ``carry_all`` reads them."""
    seeds = object_seeds(objects, size)
    moved, good, _ = field.track(np.vstack(seeds))
    parts = np.split(np.arange(len(moved)), np.cumsum([len(own) for own in seeds])[:-1])
    return seeds, [moved[part] for part in parts], [good[part] for part in parts]


def _random_motion(seeds: list[np.ndarray], seed: int) -> tuple[list, list]:
    """Each object's seeds moved by its own shift, a little scale, noise and a few gross outliers; some lost."""
    rng = np.random.default_rng(seed)
    moved, good = [], []
    for points in seeds:
        centre = points.mean(axis=0)
        new = centre + rng.uniform(0.9, 1.1) * (points - centre) + rng.normal(0, 4, 2)
        new += rng.normal(0, 0.3, points.shape)
        outliers = rng.random(len(points)) < 0.15
        new[outliers] += rng.normal(0, 15, (outliers.sum(), 2))
        flags = rng.random(len(points)) > 0.2
        flags[:2] = True  # at least a line's worth of good seeds
        moved.append(new)
        good.append(flags)
    return moved, good


# ------------------------------------------------------------------ boxes


@pytest.mark.parametrize("motion", ["field", "random-1", "random-2"])
def test_vectorised_boxes_match_the_object_by_object_median_flow(road, motion):
    _, boxes, field, _, size = road
    objects = [Carried(geometry, geometry) for geometry in boxes]
    seeds, moved, good = _tracked(objects, field, size)
    if motion != "field":
        moved, good = _random_motion(seeds, int(motion[-1]))
    seen = [index for index in range(len(boxes)) if good[index].any()]  # carry_all stops a box with no good seed
    assert len(seen) >= 2
    boxes = [boxes[index] for index in seen]
    seeds, moved, good = ([part[index] for index in seen] for part in (seeds, moved, good))
    shapes, residuals = carry_boxes(boxes, np.stack(seeds), np.stack(moved), np.stack(good))
    for index, geometry in enumerate(boxes):
        expected, residual = _reference_move_box(geometry, seeds[index][good[index]], moved[index][good[index]])
        np.testing.assert_allclose(shapes[index].points, expected.points, atol=BOX_TOLERANCE_PX)
        assert residuals[index] == pytest.approx(residual, abs=BOX_TOLERANCE_PX)


# ------------------------------------------------------------------ lanes


@pytest.mark.parametrize("motion", ["field", "random-1", "random-2", "random-3"])
def test_vectorised_lanes_match_the_object_by_object_own_flow(road, motion):
    lanes, _, field, _, size = road
    across = make_geometry("polyline", [[100, 300], [300, 290], [520, 305]])  # a line across a junction
    lanes = [*lanes, across]
    objects = [Carried(geometry, geometry, lane=True) for geometry in lanes]
    seeds, moved, good = _tracked(objects, field, size)
    if motion != "field":
        moved, good = _random_motion(seeds, int(motion[-1]))
    shapes, residuals = carry_lanes(lanes, padded(moved), padded(good, 0).astype(bool), field.ground,
                                    np.zeros(len(lanes), bool), None)
    for index, geometry in enumerate(lanes):
        expected, residual = _reference_move_lane(geometry, seeds[index][good[index]], moved[index][good[index]])
        np.testing.assert_allclose(shapes[index].points, expected.points, atol=LANE_TOLERANCE_PX, err_msg=str(index))
        assert residuals[index] == pytest.approx(residual, abs=LANE_TOLERANCE_PX)


def test_only_painted_lanes_are_snapped_onto_paint_a_road_edge_keeps_its_flow(road):
    lanes, _, _, image, size = road
    off = [make_geometry("polyline", lane.points + [1.5, 0.0]) for lane in lanes]  # beside their paint
    seeds = object_seeds([Carried(geometry, geometry, lane=True) for geometry in off], size)
    still = padded(seeds), padded([np.ones(len(own), bool) for own in seeds], 0).astype(bool)  # nothing moved
    every, _ = carry_lanes(off, *still, None, np.zeros(len(off), bool), image)
    snapped = [index for index in range(len(off)) if not np.allclose(every[index].points, off[index].points)]
    assert len(snapped) >= 2  # paint pulled some: what the flag withholds is there
    painted = np.isin(np.arange(len(off)), snapped[1:])  # the first of them told it is a road edge
    shapes, _ = carry_lanes(off, *still, None, np.zeros(len(off), bool), image, painted=painted)
    for index, (shape, before) in enumerate(zip(shapes, off, strict=True)):
        expected = every[index] if painted[index] else before  # an edge stays where its flow put it
        np.testing.assert_allclose(shape.points, expected.points, atol=1e-9, err_msg=str(index))


# ------------------------------------------------------------------ all at once, each alone


def test_snap_many_gives_each_curve_what_snap_to_paint_gives_it_alone(road):
    lanes, _, _, image, _ = road
    curves = CurveSet.fit([lane.points + [2.0, 0.0] for lane in lanes]).curves()  # a little off their paint
    together = snap_many(curves, image, max_shift=4.0)
    assert any(result.evidence > 0.3 for result in together)  # paint was found: the comparison means something
    for curve, result in zip(curves, together, strict=True):
        alone = snap_to_paint(curve, image, max_shift=4.0)
        np.testing.assert_array_equal(result.found, alone.found)
        np.testing.assert_array_equal(result.samples, alone.samples)
        np.testing.assert_allclose(result.shifts, alone.shifts, rtol=0, atol=SNAP_TOLERANCE_PX)
        np.testing.assert_allclose(result.controls, alone.controls, rtol=0, atol=SNAP_TOLERANCE_PX)


def test_carry_all_of_many_objects_is_carry_all_of_each_alone(road):
    lanes, boxes, field, image, size = road
    objects = [Carried(geometry, geometry, lane=True, on_road=on_road)
               for geometry, on_road in zip(lanes, [True, False, True, False, True], strict=True)]
    objects += [Carried(geometry, geometry) for geometry in boxes]
    crosswalk = make_geometry("polygon", [[250, 250], [400, 250], [420, 300], [230, 300]])
    objects.append(Carried(crosswalk, crosswalk, on_road=True))
    together = carry_all(objects, field, size, image)
    assert sum(step.stopped is None for step in together) >= len(objects) - 1  # a sign at the border leaves
    for item, step in zip(objects, together, strict=True):
        alone = carry_all([item], field, size, image)[0]
        assert step.stopped == alone.stopped
        if step.stopped:
            continue
        np.testing.assert_allclose(step.geometry.points, alone.geometry.points, atol=1e-9)
        np.testing.assert_allclose(step.visible.points, alone.visible.points, atol=1e-9)
        assert (step.quality, step.noise) == pytest.approx((alone.quality, alone.noise), abs=1e-12)
        assert step.bias == pytest.approx(alone.bias, abs=1e-9)
