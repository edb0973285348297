"""Lane lines as smooth curves through a few clicked points, and the samples training formats want.

The store keeps a lane's control points as the annotator placed them; the
curve is derived from them:

* ``catmull-rom`` (default): a centripetal Catmull-Rom spline, which passes
  through every control point, never loops or overshoots between close points,
  and follows a lane whatever its direction;
* ``y-spline``: a natural cubic spline x(y), for ordinary lanes that go up the
  image (y-monotone); refused when two points share a row or the lane turns back.

A curve is kept as a dense polyline with its cumulative arc length, so it can
be sampled at image rows (TuSimple h_samples, -2 where the lane has no point),
at N points equally spaced by arc length, or as a dense polyline; it can be
extended along its end tangent to the bottom of the image or to a horizon row,
and clipped to the image.  ``fit_lanes`` fits many lanes at once (vectorised
over lanes with the same number of points).

Bad input: fewer than 2 distinct points, NaN or infinite coordinates raise
GeometryError naming the lane; repeated consecutive points are dropped (a
double click is not a kink); points outside the image are fitted as given and
removed by ``clipped``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from .errors import GeometryError

METHODS = ("catmull-rom", "y-spline")
SAMPLES_PER_SEGMENT = 24
MISSING = -2.0  # TuSimple's "no lane point on this row"
ALPHA = 0.5  # centripetal parameterisation
EPSILON = 1e-9
TANGENT_SAMPLES = 4  # the end tangent is taken over this many curve samples


@dataclass(frozen=True)
class LaneCurve:
    """A fitted lane: its control points (as placed) and the dense curve through them, in x, y pixels."""

    controls: np.ndarray  # (K, 2)
    points: np.ndarray  # (M, 2), in the order of the controls
    arc: np.ndarray  # (M,) cumulative arc length, arc[0] == 0

    @property
    def length(self) -> float:
        return float(self.arc[-1])

    def at_arc_length(self, distances) -> np.ndarray:
        """Points at these arc lengths from the first control point (clamped to the curve)."""
        distances = np.clip(np.asarray(distances, dtype=float), 0.0, self.length)
        return np.column_stack([np.interp(distances, self.arc, self.points[:, axis]) for axis in (0, 1)])

    def sample_equal(self, count: int) -> np.ndarray:
        """``count`` points equally spaced by arc length, both ends included."""
        if count < 2:
            raise GeometryError(None, f"need at least 2 samples along a lane, got {count}")
        return self.at_arc_length(np.linspace(0.0, self.length, count))

    def polyline(self, step: float = 5.0) -> np.ndarray:
        """A dense polyline with a point about every ``step`` pixels of arc."""
        count = max(2, int(np.ceil(self.length / step)) + 1)
        return self.sample_equal(count)

    def sample_rows(self, rows: Sequence[float]) -> np.ndarray:
        """x of the lane at each image row, ``MISSING`` (-2) where the lane does not reach the row.

        Where a lane crosses a row more than once, the crossing nearest the first control point is taken.
        """
        rows = np.asarray(rows, dtype=float)
        x, y = self.points[:, 0], self.points[:, 1]
        result = np.full(rows.shape, MISSING)
        low, high = np.minimum(y[:-1], y[1:]), np.maximum(y[:-1], y[1:])
        crosses = (rows[:, None] >= low[None, :]) & (rows[:, None] <= high[None, :])  # (rows, segments)
        has = crosses.any(axis=1)
        segment = np.argmax(crosses, axis=1)[has]
        y0, y1 = y[segment], y[segment + 1]
        t = np.where(np.abs(y1 - y0) > EPSILON, (rows[has] - y0) / np.where(y1 == y0, 1.0, y1 - y0), 0.0)
        result[has] = x[segment] + t * (x[segment + 1] - x[segment])
        return result

    def extended(self, to_row: float) -> LaneCurve:
        """The curve carried along its end tangent to image row ``to_row`` (the image bottom, or a horizon).

        The end nearer that row is extended; when it already reaches the row, or
        its tangent runs away from it, the curve is returned as it is.
        """
        at_end = abs(self.points[-1, 1] - to_row) <= abs(self.points[0, 1] - to_row)
        points = self.points if at_end else self.points[::-1]
        end = points[-1]
        direction = end - points[max(0, len(points) - 1 - TANGENT_SAMPLES)]
        if abs(direction[1]) < EPSILON or (to_row - end[1]) * direction[1] <= 0:
            return self
        points = np.vstack([points, end + direction * (to_row - end[1]) / direction[1]])
        return _curve(self.controls, points if at_end else points[::-1])

    def clipped(self, width: int, height: int) -> LaneCurve | None:
        """The longest run of the curve inside the image (0..width, 0..height), or None when none is."""
        inside = ((self.points[:, 0] >= 0) & (self.points[:, 0] <= width)
                  & (self.points[:, 1] >= 0) & (self.points[:, 1] <= height))
        runs = _runs_of_true(inside)
        if not runs:
            return None
        start, stop = max(runs, key=lambda run: run[1] - run[0])
        if stop - start < 2:
            return None
        return _curve(self.controls, self.points[start:stop])


def fit_lane(points, *, method: str = "catmull-rom", samples_per_segment: int = SAMPLES_PER_SEGMENT,
             where: str | None = None) -> LaneCurve:
    """The smooth curve through a lane's control points (x, y), in the order they were placed."""
    return fit_lanes([points], method=method, samples_per_segment=samples_per_segment,
                     where=[where] if where else None)[0]


def fit_lanes(lanes: Sequence, *, method: str = "catmull-rom", samples_per_segment: int = SAMPLES_PER_SEGMENT,
              where: Sequence[str] | None = None) -> list[LaneCurve]:
    """Fit many lanes; Catmull-Rom lanes with the same number of points are computed together."""
    if method not in METHODS:
        raise GeometryError(None, f"unknown lane curve method {method!r} (use one of {', '.join(METHODS)})")
    controls = [_clean_controls(points, where[index] if where else f"lane {index}")
                for index, points in enumerate(lanes)]
    if method == "y-spline":
        return [_y_spline(points, samples_per_segment, where[index] if where else f"lane {index}")
                for index, points in enumerate(controls)]
    curves: list[LaneCurve | None] = [None] * len(controls)
    by_count: dict[int, list[int]] = {}
    for index, points in enumerate(controls):
        by_count.setdefault(len(points), []).append(index)
    for indices in by_count.values():
        stacked = np.stack([controls[index] for index in indices])
        for index, dense in zip(indices, _catmull_rom(stacked, samples_per_segment), strict=True):
            curves[index] = _curve(controls[index], dense)
    return curves


def _clean_controls(points, where: str) -> np.ndarray:
    array = np.asarray(points, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise GeometryError(where, f"lane points must be (x, y) pairs, got an array of shape {array.shape}")
    if not np.isfinite(array).all():
        row = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise GeometryError(where, f"point {row} is not a finite number: {array[row].tolist()}")
    if len(array):
        moved = np.r_[True, np.any(np.abs(np.diff(array, axis=0)) > EPSILON, axis=1)]
        array = array[moved]  # a repeated click is not a kink
    if len(array) < 2:
        raise GeometryError(where, f"a lane needs at least 2 distinct points, got {len(array)}")
    return array


def _catmull_rom(controls: np.ndarray, samples: int) -> np.ndarray:
    """Centripetal Catmull-Rom through (L, K, 2) control points -> (L, (K-1)*samples+1, 2) curve points."""
    first = 2 * controls[:, :1] - controls[:, 1:2]  # phantom end points continue the end segments
    last = 2 * controls[:, -1:] - controls[:, -2:-1]
    padded = np.concatenate([first, controls, last], axis=1)  # (L, K+2, 2)
    p0, p1, p2, p3 = (padded[:, offset:offset + controls.shape[1] - 1, None, :] for offset in range(4))
    t0 = np.zeros(p0.shape[:-1])
    t1 = t0 + _knot(p0, p1)
    t2 = t1 + _knot(p1, p2)
    t3 = t2 + _knot(p2, p3)
    u = np.linspace(0.0, 1.0, samples + 1)[None, None, :]
    t = (t1 + (t2 - t1) * u)[..., None]
    t0, t1, t2, t3 = (knot[..., None] for knot in (t0, t1, t2, t3))
    a1 = _lerp(p0, p1, t0, t1, t)
    a2 = _lerp(p1, p2, t1, t2, t)
    a3 = _lerp(p2, p3, t2, t3, t)
    b1 = _lerp(a1, a2, t0, t2, t)
    b2 = _lerp(a2, a3, t1, t3, t)
    curve = _lerp(b1, b2, t1, t2, t)  # (L, segments, samples+1, 2)
    joined = curve[:, :, :-1].reshape(len(controls), -1, 2)
    return np.concatenate([joined, controls[:, -1:]], axis=1)


def _knot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(np.linalg.norm(b - a, axis=-1), EPSILON) ** ALPHA


def _lerp(a, b, ta, tb, t):
    return ((tb - t) * a + (t - ta) * b) / (tb - ta)


def _y_spline(controls: np.ndarray, samples: int, where: str) -> LaneCurve:
    order = np.argsort(controls[:, 1])
    ys = controls[order, 1]
    if np.any(np.diff(ys) <= EPSILON) or not (np.array_equal(order, np.arange(len(order)))
                                               or np.array_equal(order, np.arange(len(order))[::-1])):
        raise GeometryError(where, "a y-spline lane must go steadily up or down the image, one point per row; "
                                   "use the catmull-rom curve for this lane")
    spline = CubicSpline(ys, controls[order, 0], bc_type="natural" if len(ys) > 2 else "not-a-knot")
    dense_y = np.concatenate([np.linspace(a, b, samples + 1)[:-1] for a, b in zip(ys[:-1], ys[1:], strict=True)]
                             + [ys[-1:]])
    points = np.column_stack([spline(dense_y), dense_y])
    return _curve(controls, points if order[0] == 0 else points[::-1])


def _curve(controls: np.ndarray, points: np.ndarray) -> LaneCurve:
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    return LaneCurve(controls, points, np.concatenate([[0.0], np.cumsum(steps)]))


def _runs_of_true(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))
