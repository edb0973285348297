"""Lane lines as smooth curves through a few clicked points, and the samples training formats want.

The store keeps a lane's control points as the annotator placed them; the
curve is derived from them:

* ``catmull-rom`` (default): a centripetal Catmull-Rom spline, which passes
  through every control point, never loops or overshoots between close points,
  and follows a lane whatever its direction;
* ``y-spline``: a cubic spline x(y) with parabolic run-out ends, for ordinary lanes that go up the
  image (y-monotone); refused when two points share a row or the lane turns back.

A curve is kept as a dense polyline with its cumulative arc length, so it can
be sampled at image rows (TuSimple h_samples, -2 where the lane has no point),
at N points equally spaced by arc length, or as a dense polyline; it can be
extended along its end tangent to the bottom of the image or to a horizon row,
and clipped to the image.  ``fit_lanes`` fits many lanes at once (vectorised
over lanes with the same number of points), and ``sample_rows_many`` samples many
curves at the same rows at once.  Both work on a ``CurveSet``, the curves kept as
arrays, which an export of hundreds of thousands of lanes uses directly: it
samples them with no Python object per lane, to the last bit as ``LaneCurve`` does.

Bad input: fewer than 2 distinct points, NaN or infinite coordinates raise
GeometryError naming the lane; repeated consecutive points are dropped (a
double click is not a kink); points outside the image are fitted as given and
removed by ``clipped``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import GeometryError
from .timeline import true_runs

METHODS = ("catmull-rom", "y-spline")
LANE_CLASSES = frozenset({"lane-line"})  # classes drawn and carried as curves
SAMPLES_PER_SEGMENT = 24
MISSING = -2.0  # TuSimple's "no lane point on this row"
ROW_TOLERANCE = 1e-6  # px
ALPHA = 0.5  # centripetal parameterisation
EPSILON = 1e-9
TANGENT_SAMPLES = 4  # the end tangent is taken over this many curve samples
TUSIMPLE_ROWS = tuple(range(160, 720, 10))  # h_samples of TuSimple's 720-row images
TUSIMPLE_HEIGHT = 720
CULANE_ROW_STEP = 10  # px between the rows a CULane lane is written at
COMPARISONS_AT_ONCE = 1 << 22  # (curve, sample, knot) comparisons _interp_rows makes at once: bounds its memory


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
        return self.sample_equal(int(_polyline_counts(self.length, step)))

    def sample_rows(self, rows: Sequence[float]) -> np.ndarray:
        """x of the lane at each image row, ``MISSING`` (-2) where the lane does not reach the row.

        Where a lane crosses a row more than once, the crossing nearest the first control point is taken.
        """
        rows = np.asarray(rows, dtype=float)
        return _sample_rows(self.points[None], rows.ravel())[0].reshape(rows.shape)

    def extended(self, to_row: float) -> LaneCurve:
        """The curve carried along its end tangent to image row ``to_row`` (the image bottom, or a horizon).

        The end nearer that row is extended; when it already reaches the row, or
        its tangent runs away from it, the curve is returned as it is.
        """
        reach = self.end_tangent_reach(to_row)
        if reach is None:
            return self
        at_end, point = reach
        points = np.vstack([self.points, point]) if at_end else np.vstack([point, self.points])
        return _curve(self.controls, points)

    def end_tangent_reach(self, to_row: float) -> tuple[bool, np.ndarray] | None:
        """(whether it is the last end, the point) where the end nearer ``to_row``, carried along its tangent,
        meets that row; None when that end is on the row already or its tangent runs away from it."""
        at_end, point, reaches = end_tangent_reaches(self.points[None], to_row)
        return (bool(at_end[0]), point[0]) if reaches[0] else None

    def clipped(self, width: int, height: int) -> LaneCurve | None:
        """The longest run of the curve inside the image (0..width, 0..height), or None when none is.

        The run is cut where the curve crosses the image border, so a lane carried to
        the bottom row by ``extended`` keeps the part of its extension inside the image.
        """
        inside = ((self.points[:, 0] >= 0) & (self.points[:, 0] <= width)
                  & (self.points[:, 1] >= 0) & (self.points[:, 1] <= height))
        runs = true_runs(inside)
        if not len(runs):
            return None
        start, stop = runs[np.argmax(runs[:, 1] - runs[:, 0])].tolist()
        parts = [self.points[start:stop]]
        if start > 0:
            parts.insert(0, _border_crossing(self.points[start], self.points[start - 1], width, height))
        if stop < len(self.points):
            parts.append(_border_crossing(self.points[stop - 1], self.points[stop], width, height))
        points = np.vstack(parts)
        keep = np.concatenate([[True], (np.abs(np.diff(points, axis=0)) > EPSILON).any(axis=1)])
        if keep.sum() < 2:
            return None
        return _curve(self.controls, points[keep])


def is_lane_class(class_name: str) -> bool:
    return class_name in LANE_CLASSES


def fit_lane(points, *, method: str = "catmull-rom", samples_per_segment: int = SAMPLES_PER_SEGMENT,
             where: str | None = None) -> LaneCurve:
    """The smooth curve through a lane's control points (x, y), in the order they were placed."""
    return fit_lanes([points], method=method, samples_per_segment=samples_per_segment,
                     where=[where] if where else None)[0]


def fit_lanes(lanes: Sequence, *, method: str = "catmull-rom", samples_per_segment: int = SAMPLES_PER_SEGMENT,
              where: Sequence[str] | None = None) -> list[LaneCurve]:
    """Fit many lanes (see ``CurveSet.fit``), a LaneCurve each."""
    return CurveSet.fit(lanes, method=method, samples_per_segment=samples_per_segment, where=where).curves()


def fit_lanes_leniently(controls: Mapping[int, np.ndarray]) -> dict[int, LaneCurve]:
    """Every lane's curve by its key, fitted together; a lane that cannot be fitted (one point, while being
    drawn) is left out instead of failing the others."""
    try:
        return dict(zip(controls, fit_lanes(list(controls.values())), strict=True))
    except GeometryError:
        pass
    curves = {}
    for key, points in controls.items():
        with contextlib.suppress(GeometryError):
            curves[key] = fit_lane(points, where=f"lane {key}")
    return curves


@dataclass(frozen=True)
class CurveGroup:
    """Fitted curves with the same number of points M, as arrays."""

    indices: np.ndarray  # (G,) each curve's index in its CurveSet
    points: np.ndarray  # (G, M, 2)
    arcs: np.ndarray  # (G, M) cumulative arc lengths


@dataclass(frozen=True)
class CurveSet:
    """Many fitted lanes as arrays, a CurveGroup per number of points: the work on many lanes at once is done
    on these, with no Python object per lane (a lane export fits hundreds of thousands)."""

    controls: list[np.ndarray]  # each lane's (K, 2) control points
    groups: list[CurveGroup]

    @classmethod
    def fit(cls, lanes: Sequence, *, method: str = "catmull-rom", samples_per_segment: int = SAMPLES_PER_SEGMENT,
            where: Sequence[str] | None = None) -> CurveSet:
        """Fit many lanes; lanes with the same number of points are computed together, whatever the method."""
        if method not in METHODS:
            raise GeometryError(None, f"unknown lane curve method {method!r} (use one of {', '.join(METHODS)})")
        controls = _checked_controls(lanes, where)
        stacked = [(indices, np.stack([controls[index] for index in indices])) for indices in _by_length(controls)]
        if method == "y-spline":
            turning = [index for indices, group in stacked for index, ok in zip(indices, _y_monotone(group),
                                                                                strict=True) if not ok]
            if turning:
                raise GeometryError(_name(where, min(turning)),
                                    "a y-spline lane must go steadily up or down the image, one point per row; "
                                    "use the catmull-rom curve for this lane")
        curve = _y_splines if method == "y-spline" else _catmull_rom
        dense = [(indices, curve(group, samples_per_segment)) for indices, group in stacked]
        return cls(controls, [CurveGroup(np.array(indices), points, _arcs(points)) for indices, points in dense])

    @classmethod
    def of(cls, curves: Sequence[LaneCurve]) -> CurveSet:
        """The curves' arrays, to sample many LaneCurves at once."""
        groups = [CurveGroup(np.array(indices), np.stack([curves[index].points for index in indices]),
                             np.stack([curves[index].arc for index in indices]))
                  for indices in _by_length([curve.points for curve in curves])]
        return cls([curve.controls for curve in curves], groups)

    def __len__(self) -> int:
        return len(self.controls)

    def curves(self) -> list[LaneCurve]:
        curves: list[LaneCurve | None] = [None] * len(self)
        for group in self.groups:
            for index, points, arc in zip(group.indices.tolist(), group.points, group.arcs, strict=True):
                curves[index] = LaneCurve(self.controls[index], points, arc)
        return curves

    def sample_rows(self, rows: Sequence[float]) -> np.ndarray:
        """``LaneCurve.sample_rows`` of every lane: an (L, R) array, ``MISSING`` where a lane misses a row."""
        rows = np.asarray(rows, dtype=float)
        result = np.full((len(self), rows.size), MISSING)
        for group in self.groups:
            result[group.indices] = _sample_rows(group.points, rows.ravel())
        return result.reshape((len(self), *rows.shape))

    def sample_equal(self, count: int) -> np.ndarray:
        """``LaneCurve.sample_equal`` of every lane, to the last bit: (L, count, 2)."""
        if count < 2:
            raise GeometryError(None, f"need at least 2 samples along a lane, got {count}")
        samples = np.empty((len(self), count, 2))
        for group in self.groups:
            samples[group.indices] = _equal_samples(group.points, group.arcs, np.full(len(group.indices), count))
        return samples

    def sample_counts(self, counts: Sequence[int]) -> list[np.ndarray]:
        """``LaneCurve.sample_equal`` of every lane with its own count, to the last bit: a (count, 2) array each."""
        counts = np.asarray(counts, dtype=int)
        if len(counts) and counts.min() < 2:
            raise GeometryError(None, f"need at least 2 samples along a lane, got {counts.min()}")
        samples: list[np.ndarray] = [np.empty((0, 2))] * len(self)
        for group in self.groups:
            own = counts[group.indices]
            for index, points, count in zip(group.indices.tolist(), _equal_samples(group.points, group.arcs, own),
                                            own.tolist(), strict=True):
                samples[index] = points[:count]
        return samples

    def polylines(self, step: float = 5.0) -> list[np.ndarray]:
        """``LaneCurve.polyline`` of every lane: a point about every ``step`` px of arc, both ends included."""
        return self.sample_counts(_polyline_counts(self.lengths, step))

    @property
    def lengths(self) -> np.ndarray:
        """Each lane's arc length, px."""
        lengths = np.zeros(len(self))
        for group in self.groups:
            lengths[group.indices] = group.arcs[:, -1]
        return lengths


def tusimple_rows(height: int) -> list[int]:
    """TuSimple's rows scaled to an image ``height`` (the same rows at 720)."""
    return sorted({min(height - 1, int(round(row * height / TUSIMPLE_HEIGHT))) for row in TUSIMPLE_ROWS})


def culane_rows(height: int) -> np.ndarray:
    """The rows CULane lanes are written at: every ``CULANE_ROW_STEP`` px from the bottom row up."""
    return np.arange(height - 1, -1, -CULANE_ROW_STEP, dtype=float)


def sample_rows_many(curves: Sequence[LaneCurve], rows: Sequence[float]) -> np.ndarray:
    """``LaneCurve.sample_rows`` for many curves at once: an (L, R) array, ``MISSING`` where a lane misses a row."""
    return CurveSet.of(curves).sample_rows(rows)


def sample_equal_many(curves: Sequence[LaneCurve], count: int) -> np.ndarray:
    """``LaneCurve.sample_equal`` for many curves at once, to the last bit: (C, count, 2)."""
    return CurveSet.of(curves).sample_equal(count)


def end_tangent_reaches(points: np.ndarray, to_row: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``LaneCurve.end_tangent_reach`` of (L, M, 2) curves at once: whether the end nearer ``to_row`` is the last
    one (L,), the point where that end carried along its tangent meets the row (L, 2), and whether it does (L,):
    not when the end is on the row already or its tangent runs away from it (the point is then meaningless)."""
    back = min(TANGENT_SAMPLES, points.shape[1] - 1)
    at_end = np.abs(points[:, -1, 1] - to_row) <= np.abs(points[:, 0, 1] - to_row)
    end = np.where(at_end[:, None], points[:, -1], points[:, 0])
    direction = end - np.where(at_end[:, None], points[:, -1 - back], points[:, back])
    rise = direction[:, 1]
    reaches = (np.abs(rise) >= EPSILON) & ((to_row - end[:, 1]) * rise > 0)
    point = end + direction * (to_row - end[:, 1:]) / np.where(reaches, rise, 1.0)[:, None]
    return at_end, point, reaches


def _polyline_counts(lengths, step: float) -> np.ndarray:
    """How many points a polyline along curves of these lengths has: both ends, one about every ``step`` px."""
    return np.maximum(2, np.ceil(np.asarray(lengths) / step).astype(int) + 1)


def _by_length(arrays: Sequence[np.ndarray]) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for index, array in enumerate(arrays):
        groups.setdefault(len(array), []).append(index)
    return list(groups.values())


def _sample_rows(points: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """x at each of the (R,) rows of (L, M, 2) curves -> (L, R); the first crossing in curve order wins.

    Each segment crosses a run of the rows (sorted, found by bisection); the crossings are listed and,
    for each lane and row, the one of the lowest segment kept: the work grows with the crossings, not
    with lanes x rows x segments.
    """
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    y = points[..., 1]
    y0, y1 = y[:, :-1], y[:, 1:]
    segments = y0.shape[1]
    # A row through a control point counts though the spline's rounding puts it a hair beyond.
    low = np.searchsorted(ordered, np.minimum(y0, y1) - ROW_TOLERANCE, side="left").ravel()
    counts = np.searchsorted(ordered, np.maximum(y0, y1) + ROW_TOLERANCE, side="right").ravel() - low
    crossing = np.repeat(np.arange(counts.size), counts)  # lane * segments + segment, per crossing
    row = np.arange(crossing.size) - np.repeat(np.cumsum(counts) - counts - low, counts)
    lane, segment = np.divmod(crossing, segments)
    first = np.full(len(points) * len(rows), segments)
    np.minimum.at(first, lane * len(rows) + row, segment)
    found = np.flatnonzero(first < segments)  # lane * rows + row
    at = found // len(rows) * points.shape[1] + first[found]  # the segment's start among the flat points
    xs, ys = points[..., 0].ravel(), y.ravel()
    start_x, end_x, start_y, end_y = xs[at], xs[at + 1], ys[at], ys[at + 1]
    rise = end_y - start_y
    flat = np.abs(rise) <= EPSILON
    t = np.where(flat, 0.0, (ordered[found % len(rows)] - start_y) / np.where(flat, 1.0, rise))
    sampled = np.full(len(points) * len(rows), MISSING)
    sampled[found] = start_x + t * (end_x - start_x)
    result = np.empty((len(points), len(rows)))
    result[:, order] = sampled.reshape(len(points), len(rows))
    return result


def _equal_samples(points: np.ndarray, arcs: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each of (G, M, 2) curves at ``counts[g]`` points equally spaced by arc length, exactly as ``sample_equal``
    makes them (np.linspace's arithmetic): (G, max count, 2), a row's points past its count to be ignored."""
    lengths = arcs[:, -1]
    distances = np.arange(counts.max()) * (lengths / (counts - 1))[:, None]
    distances[np.arange(len(counts)), counts - 1] = lengths  # np.linspace ends exactly at the end
    return _interp_rows(points, arcs, np.clip(distances, 0.0, lengths[:, None]))


def _interp_rows(points: np.ndarray, arcs: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """The points at (G, S) arc lengths (within 0..length) of (G, M, 2) curves -> (G, S, 2), to the last bit what
    np.interp(distances[g], arcs[g], points[g, :, axis]) gives (``at_arc_length``)."""
    last = arcs.shape[1] - 1
    curves = max(1, COMPARISONS_AT_ONCE // (distances.shape[1] * arcs.shape[1] or 1))  # at once
    knot = np.concatenate([(arcs[start:start + curves, None, :] <= distances[start:start + curves, :, None]).sum(axis=2)
                           for start in range(0, len(arcs), curves)]) - 1  # the last knot at or before each distance
    first = np.arange(len(arcs))[:, None] * arcs.shape[1]  # each curve's first knot among all the knots
    start = first + np.minimum(knot, last - 1)
    flat_arcs, flat_points = arcs.ravel(), points.reshape(-1, 2)
    arc0, arc1, y0, y1 = flat_arcs[start], flat_arcs[start + 1], flat_points[start], flat_points[start + 1]
    span = np.where(knot < last, arc1 - arc0, 1.0)  # positive where used: arc0 <= distance < arc1
    between = (y1 - y0) / span[..., None] * (distances - arc0)[..., None] + y0
    on_knot = (knot == last) | (arc0 == distances)  # np.interp takes the knot's own value there
    return np.where(on_knot[..., None], flat_points[first + knot], between)


def _name(where: Sequence[str] | None, index: int) -> str:
    return where[index] if where else f"lane {index}"


def _checked_controls(lanes: Sequence, where: Sequence[str] | None) -> list[np.ndarray]:
    """Each lane's points as ``_clean_controls`` leaves them.

    Nearly every lane needs nothing done (a project's were checked when stored): those are told apart
    by one vectorised test per number of points, and only the others go through ``_clean_controls``,
    in order, so that the first bad lane is the one named.
    """
    arrays = [_as_pairs(points) for points in lanes]
    suspects = []
    for indices in _by_length(arrays):
        ready = _ready(np.stack([arrays[index] for index in indices]))
        suspects += [index for index, ok in zip(indices, ready, strict=True) if not ok]
    for index in sorted(suspects):
        arrays[index] = _clean_controls(lanes[index], _name(where, index))
    return arrays


def _as_pairs(points) -> np.ndarray:
    """The points as an (N, 2) float array; (0, 2) when they are not pairs of numbers (``_clean_controls`` says why)."""
    try:
        array = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        return np.empty((0, 2))
    return array if array.ndim == 2 and array.shape[1] == 2 else np.empty((0, 2))


def _ready(stacked: np.ndarray) -> np.ndarray:
    """Which of (L, K, 2) lanes ``_clean_controls`` keeps as they are: 2 or more finite points, none repeated."""
    if stacked.shape[1] < 2:
        return np.zeros(len(stacked), dtype=bool)
    moved = (np.abs(np.diff(stacked, axis=1)) > EPSILON).any(axis=2).all(axis=1)
    return moved & np.isfinite(stacked).all(axis=(1, 2))


def _clean_controls(points, where: str) -> np.ndarray:
    try:
        array = np.asarray(points, dtype=float)
    except (TypeError, ValueError) as error:
        raise GeometryError(where, f"lane points must be (x, y) pairs of numbers: {error}") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise GeometryError(where, f"lane points must be (x, y) pairs, got an array of shape {array.shape}")
    if not np.isfinite(array).all():
        row = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise GeometryError(where, f"point {row} is not a finite number: {array[row].tolist()}")
    if len(array) > 1:
        moved = (np.abs(array[1:] - array[:-1]) > EPSILON).any(axis=1)
        if not moved.all():
            array = array[np.concatenate([[True], moved])]  # a repeated click is not a kink
    if len(array) < 2:
        raise GeometryError(where, f"a lane needs at least 2 distinct points, got {len(array)}")
    return array


def _catmull_rom(controls: np.ndarray, samples: int) -> np.ndarray:
    """Centripetal Catmull-Rom through (L, K, 2) control points -> (L, (K-1)*samples+1, 2) curve points.

    The work is laid out (axis, sample, lane, segment), each array contiguous, so that numpy's loops
    run over all the lanes' segments at once instead of over pairs of coordinates.
    """
    first = _phantom(controls[:, 0], controls[:, 1], controls[:, 2] if controls.shape[1] > 2 else None)
    last = _phantom(controls[:, -1], controls[:, -2], controls[:, -3] if controls.shape[1] > 2 else None)
    padded = np.concatenate([first, controls, last], axis=1).transpose(2, 0, 1)  # (2, L, K+2)
    segments = controls.shape[1] - 1
    p0, p1, p2, p3 = (np.ascontiguousarray(padded[:, None, :, offset:offset + segments]) for offset in range(4))
    t0 = np.zeros(p0.shape[2:])  # (L, segments)
    t1 = t0 + _knot(p0, p1)
    t2 = t1 + _knot(p1, p2)
    t3 = t2 + _knot(p2, p3)
    u = np.linspace(0.0, 1.0, samples + 1)[:-1, None, None]  # a segment's end is the next one's start
    t = t1 + (t2 - t1) * u  # (samples, L, segments)
    a1 = _lerp(p0, p1, t0, t1, t)
    a2 = _lerp(p1, p2, t1, t2, t)
    a3 = _lerp(p2, p3, t2, t3, t)
    b1 = _lerp(a1, a2, t0, t2, t)
    b2 = _lerp(a2, a3, t1, t3, t)
    curve = _lerp(b1, b2, t1, t2, t)  # (2, samples, L, segments)
    joined = curve.transpose(2, 3, 1, 0).reshape(len(controls), -1, 2)
    return np.concatenate([joined, controls[:, -1:]], axis=1)


def _phantom(end: np.ndarray, next_: np.ndarray, after: np.ndarray | None) -> np.ndarray:
    """The point beyond a lane's end that shapes its end segment, (L, 1, 2).

    With three points the end carries on the bend of the first three (a
    quadratic through them), so a curving lane does not go flat at its ends;
    where that point would fall back near the end itself (uneven spacing), or
    with two points, the end segment is continued straight.
    """
    straight = 2 * end - next_
    if after is None:
        return straight[:, None]
    bent = 3 * end - 3 * next_ + after
    too_close = np.linalg.norm(bent - end, axis=-1) < 0.5 * np.linalg.norm(next_ - end, axis=-1)
    return np.where(too_close[:, None], straight, bent)[:, None]


def _knot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The knot interval between (2, 1, L, S) points a and b -> (L, S)."""
    step = (b - a)[:, 0]
    return np.maximum(np.sqrt(step[0] * step[0] + step[1] * step[1]), EPSILON) ** ALPHA


def _lerp(a, b, ta, tb, t):
    return ((tb - t) * a + (t - ta) * b) / (tb - ta)


def _y_monotone(controls: np.ndarray) -> np.ndarray:
    """Which of (L, K, 2) lanes go steadily up or down the image."""
    rise = np.diff(controls[..., 1], axis=1)
    return (rise > EPSILON).all(axis=1) | (rise < -EPSILON).all(axis=1)


def _y_splines(controls: np.ndarray, samples: int) -> np.ndarray:
    """Cubic splines x(y) through (L, K, 2) y-monotone control points -> (L, (K-1)*samples+1, 2) points.

    The ends run out parabolically (x'' of each end segment equals its neighbour's), so a
    curving lane keeps its bend to its first and last click instead of going straight.
    """
    down = controls[:, -1, 1] < controls[:, 0, 1]
    ordered = np.where(down[:, None, None], controls[:, ::-1], controls)  # y increasing
    xs, ys = ordered[..., 0], ordered[..., 1]
    h = np.diff(ys, axis=1)  # (L, K-1)
    slope = np.diff(xs, axis=1) / h
    second = np.zeros_like(xs)  # two points: a straight line
    if xs.shape[1] > 2:  # the tridiagonal system for the inner second derivatives, solved for all lanes at once
        inner = xs.shape[1] - 2
        system = np.zeros((len(xs), inner, inner))
        diagonal = np.arange(inner)
        system[:, diagonal, diagonal] = 2 * (h[:, :-1] + h[:, 1:])
        system[:, diagonal[1:], diagonal[:-1]] = h[:, 1:-1]
        system[:, diagonal[:-1], diagonal[1:]] = h[:, 1:-1]
        system[:, 0, 0] += h[:, 0]  # parabolic run-out: x''(first) = x''(second), x''(last) = x''(one before)
        system[:, -1, -1] += h[:, -1]
        second[:, 1:-1] = np.linalg.solve(system, 6 * (slope[:, 1:] - slope[:, :-1])[..., None])[..., 0]
        second[:, 0], second[:, -1] = second[:, 1], second[:, -2]
    u = np.linspace(0.0, 1.0, samples + 1)[:-1]
    hh = h[..., None]
    after, before = hh * u, hh * (1 - u)  # distance from each segment's first and last row
    m0, m1, x0, x1 = second[:, :-1, None], second[:, 1:, None], xs[:, :-1, None], xs[:, 1:, None]
    dense_x = ((m0 * before**3 + m1 * after**3) / (6 * hh) + (x0 / hh - m0 * hh / 6) * before
               + (x1 / hh - m1 * hh / 6) * after)
    dense_y = ys[:, :-1, None] + after
    points = np.concatenate([np.stack([dense_x, dense_y], axis=-1).reshape(len(xs), -1, 2), ordered[:, -1:]], axis=1)
    return np.where(down[:, None, None], points[:, ::-1], points)


def _arcs(points: np.ndarray) -> np.ndarray:
    """Cumulative arc length of (L, M, 2) curves -> (L, M), starting at 0."""
    dx, dy = np.diff(points[..., 0], axis=1), np.diff(points[..., 1], axis=1)  # each axis apart: long numpy loops
    steps = np.sqrt(dx * dx + dy * dy)
    return np.concatenate([np.zeros((len(points), 1)), np.cumsum(steps, axis=1)], axis=1)


def _curve(controls: np.ndarray, points: np.ndarray) -> LaneCurve:
    return LaneCurve(controls, points, _arcs(points[None])[0])


def _border_crossing(inside: np.ndarray, outside: np.ndarray, width: float, height: float) -> np.ndarray:
    """Where the segment from a point inside the image to one outside it leaves the image."""
    direction = outside - inside
    limits = []
    for axis, size in ((0, width), (1, height)):
        if outside[axis] < 0:
            limits.append(-inside[axis] / direction[axis])
        elif outside[axis] > size:
            limits.append((size - inside[axis]) / direction[axis])
    return (inside + min(limits) * direction)[None]

