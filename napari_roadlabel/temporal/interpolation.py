"""Shapes in time: a track's geometry on the frames between its keyframes.

Keyframe shapes are first put into point-to-point correspondence, per kind:

* boxes, points and keypoints: their points as they are (keypoints must keep their count);
* polylines: every keyframe is sampled at the union of all keyframes' vertex positions,
  as fractions of arc length, after turning them to run the same way; no corner is lost;
* polygons: turned counter-clockwise and started at the corner nearest the first
  keyframe's first corner (relative to their centres), then sampled like polylines;
* lanes: their fitted curves (not the raw clicks) at equally spaced arc lengths;
* masks: signed distance fields on one canvas, so a shape grows and shrinks smoothly;
* skeletons: point by point, each through the keyframes where it is placed.  A point absent on either
  neighbouring keyframe is absent in between; a placed point's visibility holds from the keyframe before
  until the next keyframe's value (like a per-frame attribute), so an occluded point stays occluded.

Each corresponding point then moves in time: ``linear`` between the two neighbouring
keyframes (what CVAT does), or ``smooth``: a natural cubic spline through all the
keyframes, so speed changes smoothly across keyframes (linear with only two).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import ndimage
from scipy.interpolate import CubicSpline

from ..core.errors import GeometryError
from ..core.geometry import ABSENT, Geometry, GeometryKind, make_geometry, make_mask, make_skeleton
from ..core.lanes import fit_lanes

METHODS = ("linear", "smooth")
LANE_SAMPLES = 8  # a lane in time is this many points on its curve (more when a keyframe has more clicks)
FRACTION_DECIMALS = 6  # vertex positions closer than this (as fractions of length) are one position


def interpolate_track(keyframes: Sequence[tuple[int, Geometry]], frames: Iterable[int], *, method: str = "linear",
                      lane: bool = False, where: str | None = None) -> dict[int, Geometry]:
    """The geometry on each of ``frames`` that lies between the first and last keyframe.

    ``keyframes`` are (frame, geometry) pairs of one track, all of one kind.
    Frames outside the keyframes' span are left out (nothing is extrapolated).
    Shapes may reach slightly past their keyframes (a smooth spline overshoots);
    the caller clips them to the image.
    """
    if method not in METHODS:
        raise GeometryError(where, f"unknown interpolation method {method!r} (use one of {', '.join(METHODS)})")
    keyframes = sorted(keyframes, key=lambda pair: pair[0])
    times = np.array([frame for frame, _ in keyframes], dtype=float)
    wanted = np.array(sorted(frame for frame in frames if times[0] < frame < times[-1]), dtype=float)
    if len(keyframes) < 2 or wanted.size == 0:
        return {}
    geometries = [geometry for _, geometry in keyframes]
    kind = _common_kind(geometries, where)
    _check_finite(keyframes, where)
    if kind is GeometryKind.MASK:
        return _masks_in_time(times, geometries, wanted, method)
    if kind is GeometryKind.SKELETON:
        shapes = _skeletons_in_time(times, geometries, wanted, method, where)
        return {frame: shape for frame, shape in zip(wanted.astype(int).tolist(), shapes, strict=True) if shape}
    points = corresponding_points(geometries, lane=lane, where=where)
    moved = in_time(times, points, wanted, method)
    result = {}
    for frame, frame_points in zip(wanted.astype(int).tolist(), moved, strict=True):
        shape = _geometry_or_none(kind, frame_points)
        if shape is not None:
            result[frame] = shape
    return result


def blend(first: Geometry, second: Geometry, weight: float, *, lane: bool = False,
          where: str | None = None) -> Geometry | None:
    """``first`` moved ``weight`` (0..1) of the way to ``second``; None when the blend has no area."""
    kind = _common_kind([first, second], where)
    _check_finite([("first", first), ("second", second)], where)
    if kind is GeometryKind.MASK:
        masks = _masks_in_time(np.array([0.0, 1.0]), [first, second], np.array([weight]), "linear")
        return next(iter(masks.values()), None)
    if kind is GeometryKind.SKELETON:
        return _skeletons_in_time(np.array([0.0, 1.0]), [first, second], np.array([weight]), "linear", where)[0]
    points = corresponding_points([first, second], lane=lane, where=where)
    return _geometry_or_none(kind, (1.0 - weight) * points[0] + weight * points[1])


def in_time(times: np.ndarray, values: np.ndarray, wanted: np.ndarray, method: str) -> np.ndarray:
    """``values`` (K, ...) known at ``times`` (K,), interpolated at ``wanted`` (F,) -> (F, ...)."""
    if method == "smooth" and len(times) >= 3:
        return CubicSpline(times, values, axis=0, bc_type="natural")(wanted)
    right = np.clip(np.searchsorted(times, wanted, side="right"), 1, len(times) - 1)
    left = right - 1
    weight = ((wanted - times[left]) / (times[right] - times[left])).reshape((-1,) + (1,) * (values.ndim - 1))
    return (1.0 - weight) * values[left] + weight * values[right]


def corresponding_points(geometries: Sequence[Geometry], *, lane: bool = False,
                         where: str | None = None) -> np.ndarray:
    """A (K, N, 2) array: point n of every geometry marks the same place on the object."""
    kind = _common_kind(geometries, where)
    if kind is GeometryKind.MASK:
        raise GeometryError(where, "masks have no corresponding points; use their distance fields")
    if kind is GeometryKind.POLYLINE and lane:
        return _lane_points(geometries, where)
    if kind is GeometryKind.POLYLINE:
        return _arc_points(_same_direction([geometry.points for geometry in geometries]), closed=False)
    if kind is GeometryKind.POLYGON:
        return _arc_points(_aligned_outlines([geometry.points for geometry in geometries]), closed=True)
    counts = {len(geometry.points) for geometry in geometries}
    if len(counts) > 1:
        raise GeometryError(where, f"{kind} keyframes have different numbers of points ({sorted(counts)}); "
                                   "every keyframe must place the same points")
    return np.stack([geometry.points for geometry in geometries])


def _common_kind(geometries: Sequence[Geometry], where: str | None) -> GeometryKind:
    kinds = {geometry.kind for geometry in geometries}
    if len(kinds) != 1:
        names = ", ".join(sorted(kind.value for kind in kinds))
        raise GeometryError(where, f"keyframes mix geometry kinds ({names}); a track keeps one kind")
    return kinds.pop()


def _check_finite(keyframes: Sequence[tuple], where: str | None) -> None:
    for frame, geometry in keyframes:
        if not np.isfinite(geometry.present_points()).all():
            raise GeometryError(where, f"keyframe {frame} has coordinates that are not finite numbers "
                                       "(NaN or infinite)")


def _geometry_or_none(kind: GeometryKind, points: np.ndarray) -> Geometry | None:
    try:
        return make_geometry(kind, points)
    except GeometryError:  # a box or polygon that collapsed to no area in between
        return None


def _lane_points(geometries: Sequence[Geometry], where: str | None) -> np.ndarray:
    curves = fit_lanes([geometry.points for geometry in geometries], where=[where or "lane"] * len(geometries))
    count = max(LANE_SAMPLES, *(len(curve.controls) for curve in curves))
    samples = _same_direction([curve.sample_equal(count) for curve in curves])
    return np.stack(samples)


def _same_direction(lines: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Lines turned, where needed, to start at the end nearer the first line's start."""
    reference = lines[0]
    result = []
    for line in lines:
        as_is = np.linalg.norm(line[0] - reference[0]) + np.linalg.norm(line[-1] - reference[-1])
        turned = np.linalg.norm(line[-1] - reference[0]) + np.linalg.norm(line[0] - reference[-1])
        result.append(line[::-1] if turned < as_is else line)
    return result


def _aligned_outlines(outlines: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Outlines turned counter-clockwise (in x-right, y-down pixels) and started at matching corners."""
    turned = [outline[::-1] if _signed_area(outline) < 0 else outline for outline in outlines]
    start = turned[0][0] - turned[0].mean(axis=0)
    result = []
    for outline in turned:
        first = int(np.argmin(np.linalg.norm(outline - outline.mean(axis=0) - start, axis=1)))
        result.append(np.roll(outline, -first, axis=0))
    return result


def _signed_area(outline: np.ndarray) -> float:
    x, y = outline[:, 0], outline[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _arc_points(lines: Sequence[np.ndarray], *, closed: bool) -> np.ndarray:
    """Every line sampled at the union of all lines' vertex positions (fractions of their length)."""
    if closed:
        lines = [np.vstack([line, line[:1]]) for line in lines]
    fractions = [_vertex_fractions(line) for line in lines]
    common = np.unique(np.round(np.concatenate(fractions), FRACTION_DECIMALS))
    if closed:
        common = common[common < 1.0]
    return np.stack([_at_fractions(line, own, common) for line, own in zip(lines, fractions, strict=True)])


def _vertex_fractions(line: np.ndarray) -> np.ndarray:
    steps = np.linalg.norm(np.diff(line, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    return arc / arc[-1] if arc[-1] > 0 else np.linspace(0.0, 1.0, len(line))


def _at_fractions(line: np.ndarray, own: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(wanted, own, line[:, axis]) for axis in (0, 1)])


# ------------------------------------------------------------------ skeletons


def _skeletons_in_time(times: np.ndarray, skeletons: Sequence[Geometry], wanted: np.ndarray, method: str,
                       where: str | None) -> list[Geometry | None]:
    """Skeletons between keyframes at each wanted time, point by point (see the module's docstring); None
    where every point is absent."""
    points = corresponding_points(skeletons, where=where)  # (K, N, 2), NaN where absent
    flags = np.stack([skeleton.visibility for skeleton in skeletons])  # (K, N)
    right = np.clip(np.searchsorted(times, wanted, side="right"), 1, len(times) - 1)
    held = flags[right - 1]  # the visibility of the keyframe before: it holds until the next one's
    held[flags[right] == ABSENT] = ABSENT  # absent on either keyframe: absent between
    moved = np.full((len(wanted), points.shape[1], 2), np.nan)
    for index in range(points.shape[1]):
        placed = flags[:, index] != ABSENT
        if placed.sum() >= 2:
            moved[:, index] = in_time(times[placed], points[placed, index], wanted, method)
    moved[held == ABSENT] = np.nan
    return [make_skeleton(frame_points, visibility) if (visibility != ABSENT).any() else None
            for frame_points, visibility in zip(moved, held, strict=True)]


# ------------------------------------------------------------------ masks


def _masks_in_time(times: np.ndarray, masks: Sequence[Geometry], wanted: np.ndarray,
                   method: str) -> dict[int, Geometry]:
    """Masks between keyframes: their centroids move in time, and their shapes change by interpolating
    signed distance fields of the masks laid over each other at their centroids (so a mask that moves
    further than its own size still keeps its shape on the way)."""
    centroids = np.array([_centroid(mask) for mask in masks])
    # Top-left corners from the whole-pixel centroid, so each keyframe comes back pixel for pixel.
    corners = np.array([mask.points[0] for mask in masks]) - np.round(centroids)
    sizes = np.array([mask.mask.shape[::-1] for mask in masks])
    left, top = np.floor((corners).min(axis=0)).astype(int)
    right, bottom = np.ceil((corners + sizes).max(axis=0)).astype(int)
    fields = np.stack([_signed_distance(mask, corner, left, top, right - left, bottom - top)
                       for mask, corner in zip(masks, corners, strict=True)])
    result = {}
    for frame, field, centre in zip(wanted.tolist(), in_time(times, fields, wanted, method),
                                    in_time(times, centroids, wanted, method), strict=True):
        inside = field < 0
        if inside.any():
            rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
            crop = inside[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
            origin = np.round(centre) + [left + cols[0], top + rows[0]]
            result[int(frame)] = make_mask(crop, tuple(origin))
    return result


def _centroid(mask: Geometry) -> np.ndarray:
    rows, cols = np.nonzero(mask.mask)
    return mask.points[0] + [cols.mean(), rows.mean()]


def _signed_distance(mask: Geometry, corner: np.ndarray, left: int, top: int, width: int, height: int) -> np.ndarray:
    """Distance to the mask's edge with its top-left ``corner`` placed on the canvas: negative inside."""
    canvas = np.zeros((height, width), dtype=bool)
    x0, y0 = (np.round(corner).astype(int) - [left, top]).tolist()
    h, w = mask.mask.shape
    canvas[y0:y0 + h, x0:x0 + w] = mask.mask
    return ndimage.distance_transform_edt(~canvas) - ndimage.distance_transform_edt(canvas)
