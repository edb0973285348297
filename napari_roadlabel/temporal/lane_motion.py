"""Every lane of a frame carried one step at once, as arrays.

Seeds on a lane slide along the line as the car drives (dashes move), so only
the lateral shift counts.  A lane keeps its control points' rows (the far end
stays at the same distance) and moves sideways, by one of two models:

* **its own flow**: the shift of each good seed from the old curve at its new
  row, fitted as a straight function of the row (on a flat road the sideways
  image shift is close to linear in the row): a Theil-Sen line (median slope
  over pairs of seeds), so that one seed stuck on the road in a dash gap far
  from the others cannot tilt it, refitted by least squares without outliers;
  the whole curve moves by it;
* **the ground's motion as a prior**: a lane on the road moves with the road
  plane, so the frame's ground homography carries its dense curve, read back at
  the control points' rows (carried straight along its end directions past its
  ends: a lane whose end left the image on a bend keeps its direction).  The
  lane's own seeds then correct it, by the straight-in-row shift of the good
  seeds from that prediction, trusted as far as there are seeds to see it
  (``PRIOR_SEEDS``).  It is used where the lane's own evidence is thin (fewer
  than ``THIN_EVIDENCE_SEEDS`` good seeds: a dash gap, night, the bottom of the
  image); where the evidence is rich, the lane's own flow does better than the
  plane (on the sample clips the plane's small misfit adds up over a long gap).

Then every painted lane is snapped onto its paint, on the frame it moved onto,
where enough of it shows paint: one paint response for all lanes
(``snap_many``).  A road edge or a curb is not paint: snapped, it would jump
onto the line painted just inside it, so it keeps its flow.

Arrays are (lanes, points) padded with NaN: lanes have different numbers of
control points and seeds.  Lanes lying across the image (at a junction) move up
and down instead: their x and y are swapped on the way in and out.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from ..core.geometry import Geometry, GeometryKind, make_geometry
from ..core.lanes import CurveSet, fit_lanes
from ..core.snap import finite_medians, snap_many

ACROSS_IMAGE = 0.5  # a lane rising less than this per pixel across lies across the image
PRIOR_SEEDS = 1.0  # good seeds on a lane count as much as the ground's motion when there are this many
THIN_EVIDENCE_SEEDS = 4  # a lane on the road with fewer good seeds than this leans on the ground's motion
SNAP_MAX_SHIFT_PX = 4.0  # after moving, a lane moves at most this far onto its paint
MIN_PAINT_EVIDENCE = 0.3  # and only when paint is seen along at least this share of it
END_KNOTS = 4  # a curve is carried past its end along the direction of its last this many dense points


def across_image(points: np.ndarray) -> bool:
    """A lane lying across the image (at a junction) rather than running up it toward the horizon."""
    return bool(np.ptp(points[:, 1]) < ACROSS_IMAGE * np.ptp(points[:, 0]))


def padded(arrays: list[np.ndarray], fill: float = np.nan) -> np.ndarray:
    """Arrays of different lengths (and the same trailing shape) as one, padded with ``fill``."""
    longest = max((len(array) for array in arrays), default=0)
    result = np.full((len(arrays), longest, *np.shape(arrays[0])[1:]), fill, dtype=float)
    for row, array in enumerate(arrays):
        result[row, :len(array)] = array
    return result


def interp_extended(at: np.ndarray, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the curve through (``positions``, ``values``) at ``at``, carried straight past its ends.

    (L, Q) queries, (L, M) knots sorted by position within each row, NaN-padded at the end of a row.
    Beyond an end the curve goes on along the line through that end and the knot ``END_KNOTS`` in.
    """
    count = np.isfinite(positions).sum(axis=1)
    knots = np.where(np.isfinite(positions), positions, np.inf)
    rows = np.arange(len(at))[:, None]
    index = np.clip((knots[:, None, :] <= at[..., None]).sum(axis=2) - 1, 0, np.maximum(count - 2, 0)[:, None])
    x0, x1 = knots[rows, index], knots[rows, np.minimum(index + 1, count[:, None] - 1)]
    y0, y1 = values[rows, index], values[rows, np.minimum(index + 1, count[:, None] - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = np.where(x1 > x0, y0 + (y1 - y0) * (np.clip(at, x0, x1) - x0) / (x1 - x0), y0)
        first, last = positions[:, :1], knots[rows[:, 0], count - 1][:, None]
        inner_first = positions[rows[:, 0], np.minimum(END_KNOTS, count - 1)][:, None]
        inner_last = knots[rows[:, 0], np.maximum(count - 1 - END_KNOTS, 0)][:, None]
        slope_first = _slope(values[:, :1], values[rows[:, 0], np.minimum(END_KNOTS, count - 1)][:, None],
                             first, inner_first)
        slope_last = _slope(values[rows[:, 0], count - 1][:, None],
                            values[rows[:, 0], np.maximum(count - 1 - END_KNOTS, 0)][:, None], last, inner_last)
    before = values[:, :1] + slope_first * (at - first)
    after = values[rows[:, 0], count - 1][:, None] + slope_last * (at - last)
    return np.where(at < first, before, np.where(at > last, after, inside))


def _slope(end_value, inner_value, end_position, inner_position):
    run = end_position - inner_position
    return np.where(np.abs(run) > 1e-9, (end_value - inner_value) / np.where(np.abs(run) > 1e-9, run, 1.0), 0.0)


def robust_lines(position: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Per row, a straight line (a constant with too few seeds) through the finite (position, shift) pairs:
    a Theil-Sen line, refitted by least squares without its outliers: (L, 2) slope and intercept."""
    usable = np.isfinite(position) & np.isfinite(shift)
    lines = _median_lines(position, shift, usable)
    residual = np.where(usable, np.abs(_at(lines, position) - shift), np.nan)
    with np.errstate(all="ignore"):
        limit = np.maximum(3.0 * finite_medians(np.where(usable, residual, np.nan)), 0.5)
    keep = usable & (residual <= limit[:, None])
    kept, used = keep.sum(axis=1), usable.sum(axis=1)
    refit = (_degree(position, keep) < kept) & (kept < used) & (_degree(position, usable) > 0)
    return np.where(refit[:, None], _lines(position, shift, keep), lines)


def _median_lines(position: np.ndarray, shift: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Theil-Sen lines: the median slope over pairs of seeds on different rows, the median intercept.

    A least-squares start lets one wrong seed far from the others along the lane (a seed stuck in a dash
    gap near the bottom while the rest sit far up) tilt the whole line and so hide as an inlier."""
    dx = position[:, None, :] - position[:, :, None]
    pair = usable[:, None, :] & usable[:, :, None] & (np.abs(dx) >= 0.5)
    with np.errstate(all="ignore"):
        slopes = np.where(pair, (shift[:, None, :] - shift[:, :, None]) / dx, np.nan)
        slope = np.nan_to_num(finite_medians(slopes.reshape(len(position), -1)))
    slope = np.where(_degree(position, usable) > 0, slope, 0.0)
    intercept = finite_medians(np.where(usable, shift - slope[:, None] * position, np.nan))
    return np.column_stack([slope, np.nan_to_num(intercept)])


def _degree(position: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """1 for a line, 0 for a constant: a line needs two seeds on different rows."""
    rounded = np.where(usable, np.round(position), np.nan)
    distinct = np.array([len(np.unique(row[np.isfinite(row)])) for row in rounded])
    return np.minimum(1, np.minimum(usable.sum(axis=1) - 1, distinct - 1)).clip(0)


def _lines(position: np.ndarray, shift: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Least-squares lines over the usable pairs of each row; the median shift where a line cannot be fitted."""
    weight = usable.astype(float)
    x, y = np.where(usable, position, 0.0), np.where(usable, shift, 0.0)
    count, sx, sy = weight.sum(axis=1), x.sum(axis=1), y.sum(axis=1)
    with np.errstate(all="ignore"):
        mean_x, mean_y = sx / count, sy / count
        sxx = (weight * (x - mean_x[:, None]) ** 2).sum(axis=1)
        sxy = (weight * (x - mean_x[:, None]) * (y - mean_y[:, None])).sum(axis=1)
        slope = sxy / sxx
        median = finite_medians(np.where(usable, shift, np.nan))
    line = _degree(position, usable) > 0
    slope = np.where(line, slope, 0.0)
    intercept = np.where(line, mean_y - slope * mean_x, median)
    return np.column_stack([slope, np.nan_to_num(intercept)])


def _at(lines: np.ndarray, position: np.ndarray) -> np.ndarray:
    return lines[:, :1] * position + lines[:, 1:]


def carry_lanes(lanes: list[Geometry], moved: np.ndarray, good: np.ndarray,
                ground: np.ndarray | None, on_road: np.ndarray, image: np.ndarray | None,
                timings: dict[str, float] | None = None,
                painted: np.ndarray | None = None) -> tuple[list[Geometry], np.ndarray]:
    """Every lane moved one step: new lanes (control points keep their number) and each one's residual, px.

    ``moved`` (where each lane's seeds went) is (L, S, 2) and ``good`` (L, S), NaN/False-padded; ``ground`` is
    the frame's homography of the road plane (or None); ``on_road`` (L,) says which lanes may use it; with ``image`` the
    ``painted`` lanes (L,; all when None) are snapped onto their paint there (its seconds added to
    ``timings["snap"]``).
    """
    swapped = np.array([across_image(lane.points) for lane in lanes])
    controls = _swapped(padded([lane.points for lane in lanes]), swapped)
    dense = _swapped(padded([curve.points for curve in fit_lanes([lane.points for lane in lanes])]), swapped)
    moved = _swapped(moved, swapped)
    good = good & np.isfinite(moved).all(axis=2)
    old = _sorted_by_row(dense)  # the old curves, by row: what both models read shifts against
    new_controls, residual = _by_own_flow(controls, old, moved, good)
    if ground is not None and on_road.any():
        ground_controls, ground_residual = _by_ground(controls, dense, old, moved, good, ground, swapped)
        thin = on_road & (good.sum(axis=1) < THIN_EVIDENCE_SEEDS)
        new_controls = np.where(thin[:, None, None], ground_controls, new_controls)
        residual = np.where(thin, ground_residual, residual)
    new_controls = _swapped(new_controls, swapped)
    carried = [make_geometry(GeometryKind.POLYLINE, points[:len(lane.points)])
               for lane, points in zip(lanes, new_controls, strict=True)]
    snapped = [index for index in range(len(carried)) if painted is None or painted[index]]
    if image is not None and snapped:
        began = time.perf_counter()
        for index, lane in zip(snapped, on_paint([carried[index] for index in snapped], image), strict=True):
            carried[index] = lane
        if timings is not None:
            timings["snap"] = timings.get("snap", 0.0) + time.perf_counter() - began
    return carried, residual


def _swapped(points: np.ndarray, swap: np.ndarray) -> np.ndarray:
    """(L, N, 2) points with x and y exchanged on the rows ``swap`` says (lanes lying across the image)."""
    return np.where(swap[:, None, None], points[..., ::-1], points)


def _sorted_by_row(dense: np.ndarray) -> np.ndarray:
    order = np.argsort(np.where(np.isfinite(dense[..., 1]), dense[..., 1], np.inf), axis=1)
    return np.take_along_axis(dense, order[..., None], axis=1)


def _by_own_flow(controls, old, moved, good):
    """The lanes moved by the straight-in-row shift of their good seeds from the old curve; the seeds' misfit."""
    return _shifted_by_seeds(controls, controls[..., 0], old, moved, good, shrink=False)


def _by_ground(controls, dense, old, moved, good, ground, swapped):
    """The lanes carried by the ground's homography (read at their control rows), corrected by their seeds."""
    flat = _swapped(dense, swapped).reshape(-1, 1, 2)
    finite = np.isfinite(flat).all(axis=2).ravel()
    carried = np.full(flat.shape, np.nan)
    carried[finite] = cv2.perspectiveTransform(flat[finite], ground)
    curve = _sorted_by_row(_swapped(carried.reshape(dense.shape), swapped))
    # The ground's sideways shift at each control row; past the rows both curves cover, the shift at the last
    # row they share (as a lane's own shift is held past its seeds): reading a curve carried past its end
    # would follow its end's direction, and a lane bends.
    with np.errstate(all="ignore"):
        low = np.maximum(np.nanmin(curve[..., 1], axis=1), np.nanmin(old[..., 1], axis=1))[:, None]
        high = np.minimum(np.nanmax(curve[..., 1], axis=1), np.nanmax(old[..., 1], axis=1))[:, None]
    rows = np.clip(np.nan_to_num(controls[..., 1]), low, np.maximum(low, high))
    shift = interp_extended(rows, curve[..., 1], curve[..., 0]) - interp_extended(rows, old[..., 1], old[..., 0])
    return _shifted_by_seeds(controls, controls[..., 0] + shift, curve, moved, good, shrink=True)


def _shifted_by_seeds(controls, base, curve, moved, good, *, shrink: bool):
    """Controls at x ``base`` (same rows) plus the straight-in-row shift of the good seeds from ``curve``.

    With ``shrink`` (``curve`` is the ground's prediction) the shift is a correction, trusted in proportion
    to the seeds that see it: ``PRIOR_SEEDS`` good seeds make it count half.  Returns the new controls and
    the seeds' median misfit, px.
    """
    row = np.where(good, moved[..., 1], np.nan)
    shift = np.where(good, moved[..., 0] - interp_extended(np.nan_to_num(row), curve[..., 1], curve[..., 0]), np.nan)
    lines = robust_lines(row, shift)
    with np.errstate(all="ignore"):
        low, high = np.nanmin(row, axis=1, keepdims=True), np.nanmax(row, axis=1, keepdims=True)
        residual = finite_medians(np.abs(_at(lines, row) - shift))
    seen = good.sum(axis=1)
    trust = seen / (seen + PRIOR_SEEDS) if shrink else np.ones(len(seen))
    new = controls.copy()
    correction = np.where(seen[:, None] > 0, _at(lines, np.clip(controls[..., 1], low, high)), 0.0)
    new[..., 0] = base + trust[:, None] * correction
    return np.where(np.isfinite(controls), new, np.nan), np.nan_to_num(residual, nan=np.inf)


def on_paint(lanes: list[Geometry], image: np.ndarray) -> list[Geometry]:
    """The lanes moved onto the paint within ``SNAP_MAX_SHIFT_PX`` of them, each where enough of it shows paint.

    Flow drifts a little each frame; paint does not: snapping each frame keeps a painted lane on
    its line.  Each control point keeps its row and takes the sideways shift of the snapped curve there.
    """
    curves = CurveSet.fit([lane.points for lane in lanes]).curves()
    result = []
    for lane, snapped in zip(lanes, snap_many(curves, image, max_shift=SNAP_MAX_SHIFT_PX), strict=True):
        if snapped.evidence < MIN_PAINT_EVIDENCE:
            result.append(lane)
            continue
        along = 0 if across_image(lane.points) else 1
        across = 1 - along
        order = np.argsort(snapped.samples[:, along])
        shift = snapped.controls[order, across] - snapped.samples[order, across]
        controls = np.array(lane.points, dtype=float)
        controls[:, across] += np.interp(controls[:, along], snapped.samples[order, along], shift)
        result.append(make_geometry(GeometryKind.POLYLINE, controls))
    return result
