"""Immutable geometries in image pixel coordinates (x right, y down, float).

A geometry is a kind plus an (N, 2) array of (x, y) points.  Boxes are two
corners (min, max).  Masks carry a boolean image and an (x, y) offset of its
top-left pixel, so a small object on a large frame stays small.  Skeletons
carry one row per point of their class's skeleton (core/skeletons.py), in its
declared order, and a visibility per point in COCO's convention (0 absent,
1 occluded, 2 visible): an absent point's row is NaN, and only there.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .errors import GeometryError


class GeometryKind(str, enum.Enum):
    POLYLINE = "polyline"
    POLYGON = "polygon"
    BOX = "box"
    POINT = "point"
    KEYPOINTS = "keypoints"
    MASK = "mask"
    SKELETON = "skeleton"  # named points in a class's skeleton order, each visible, occluded or absent
    TAG = "frame-range"  # no per-frame geometry: a span of frames (see FrameRangeTag)

    def __str__(self) -> str:
        return self.value


_KINDS = {kind.value: kind for kind in GeometryKind}
_MIN_POINTS = {
    GeometryKind.POLYLINE: 2,
    GeometryKind.POLYGON: 3,
    GeometryKind.BOX: 2,
    GeometryKind.POINT: 1,
    GeometryKind.KEYPOINTS: 1,
    GeometryKind.MASK: 1,
    GeometryKind.SKELETON: 1,
}
ABSENT, OCCLUDED, VISIBLE = 0, 1, 2  # a skeleton point's visibility, as COCO writes it
_EXACT_POINTS = {GeometryKind.BOX: 2, GeometryKind.POINT: 1, GeometryKind.MASK: 1}


@dataclass(frozen=True, eq=False)
class Geometry:
    """One object's shape on one frame.  Build it with :func:`make_geometry` or :func:`make_mask`."""

    kind: GeometryKind
    points: np.ndarray  # (N, 2) float64 (x, y), read-only
    mask: np.ndarray | None = field(default=None)  # (H, W) bool for MASK; points[0] is its offset
    visibility: np.ndarray | None = field(default=None)  # (N,) uint8 for SKELETON: ABSENT, OCCLUDED or VISIBLE

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Geometry):
            return NotImplemented
        same_mask = (self.mask is None and other.mask is None) or (
            self.mask is not None and other.mask is not None and np.array_equal(self.mask, other.mask)
        )
        same_visibility = (self.visibility is None and other.visibility is None) or (
            self.visibility is not None and other.visibility is not None
            and np.array_equal(self.visibility, other.visibility)
        )
        return (self.kind == other.kind and np.array_equal(self.points, other.points, equal_nan=True)
                and same_mask and same_visibility)

    __hash__ = None  # type: ignore[assignment]

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the geometry."""
        if self.kind is GeometryKind.MASK:
            x0, y0 = self.points[0]
            h, w = self.mask.shape
            return float(x0), float(y0), float(x0 + w), float(y0 + h)
        points = self.present_points() if self.kind is GeometryKind.SKELETON else self.points
        (xmin, ymin), (xmax, ymax) = points.min(axis=0), points.max(axis=0)
        return float(xmin), float(ymin), float(xmax), float(ymax)

    def present_points(self) -> np.ndarray:
        """A skeleton's placed points (visible or occluded), in order; every point of other kinds."""
        return self.points if self.visibility is None else self.points[self.visibility != ABSENT]

    def to_bytes(self) -> bytes:
        """Compact encoding for the store: float64 points, then a packed mask or a skeleton's visibility."""
        data = self.points.astype("<f8").tobytes()
        if self.visibility is not None:
            return data + self.visibility.astype("u1").tobytes()
        if self.mask is None:
            return data
        h, w = self.mask.shape
        header = np.array([h, w], dtype="<u4").tobytes()
        return data + header + zlib.compress(np.packbits(self.mask).tobytes())

    @classmethod
    def from_bytes(cls, kind: GeometryKind | str, data: bytes) -> Geometry:
        # Every state read from the store comes through here: a dict lookup, not the enum's slow call, and no
        # copy of the points (a view of the bytes is read-only already).
        kind = _KINDS.get(kind) or GeometryKind(kind)
        if kind is GeometryKind.SKELETON:
            count = len(data) // 17  # 16 bytes of (x, y) and one of visibility per point
            return Geometry(kind, np.frombuffer(data[:16 * count], dtype="<f8").reshape(-1, 2),
                            visibility=np.frombuffer(data[16 * count:], dtype="u1"))
        if kind is not GeometryKind.MASK:
            return Geometry(kind, np.frombuffer(data, dtype="<f8").reshape(-1, 2))
        offset = np.frombuffer(data[:16], dtype="<f8").reshape(1, 2)
        h, w = np.frombuffer(data[16:24], dtype="<u4")
        bits = np.unpackbits(np.frombuffer(zlib.decompress(data[24:]), dtype=np.uint8))
        return _frozen(kind, offset, bits[: h * w].reshape(h, w).astype(bool))


def checked_geometry(kind: GeometryKind, points: np.ndarray) -> Geometry:
    """A geometry from points already checked (``as_points`` and the kind's count; a box as its (min, max)
    corners), without checking them again: an import's hot path."""
    return _frozen(kind, points)


def _frozen(kind: GeometryKind, points: np.ndarray, mask: np.ndarray | None = None,
            visibility: np.ndarray | None = None) -> Geometry:
    points = np.array(points, dtype=np.float64)
    points.flags.writeable = False
    if mask is not None:
        mask = np.array(mask, dtype=bool)
        mask.flags.writeable = False
    if visibility is not None:
        visibility = np.array(visibility, dtype=np.uint8)
        visibility.flags.writeable = False
    return Geometry(kind, points, mask, visibility)


def make_geometry(kind: GeometryKind | str, points, *, where: str | None = None) -> Geometry:
    """Validate ``points`` ((N, 2) x, y) for ``kind`` and return an immutable Geometry.

    Raises GeometryError naming ``where`` (e.g. "track 7, frame 12") for NaN or
    infinite coordinates, a wrong shape, or too few points.  A box's two corners
    are reordered to (min, max); a zero-area box is refused.
    """
    try:
        kind = GeometryKind(kind)
    except ValueError:
        raise GeometryError(where, f"unknown geometry kind {kind!r}") from None
    if kind in (GeometryKind.MASK, GeometryKind.TAG, GeometryKind.SKELETON):
        raise GeometryError(where, f"{kind} geometries are not built from points alone")
    array = as_points(kind, points, where=where)
    _check_point_count(kind, len(array), where)
    if kind is GeometryKind.BOX:
        array = np.array([array.min(axis=0), array.max(axis=0)])
        if (array[1] - array[0] <= 0).any():
            raise GeometryError(where, f"box has zero width or height: {array.tolist()}")
    return _frozen(kind, array)


def as_points(kind: GeometryKind, points, *, where: str | None = None) -> np.ndarray:
    """``points`` as an (N, 2) float array; GeometryError for what is not numbers (strings and booleans are
    refused, not read as numbers), not (x, y) pairs, or not finite."""
    try:
        array = np.asarray(points)
    except (TypeError, ValueError):
        raise GeometryError(where, f"{kind} coordinates are not numbers") from None
    if array.size and (array.dtype.kind not in "iuf" or _has_booleans(points)):
        raise GeometryError(where, f"{kind} coordinates must be numbers, got {_shown(points)}")
    array = array.astype(np.float64, copy=False)
    if array.ndim == 1 and array.size == 2:
        array = array.reshape(1, 2)
    if array.ndim != 2 or array.shape[1] != 2:
        raise GeometryError(where, f"{kind} needs (x, y) pairs, got an array of shape {array.shape}")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise GeometryError(where, f"{kind} point {bad} is not a finite number: {array[bad].tolist()}")
    return array


def _has_booleans(points) -> bool:
    """True and False in a point or a list of points: numpy would read them as 1 and 0 beside numbers.  (Lists
    nested deeper are refused for their shape.)"""
    if not isinstance(points, (list, tuple)):
        return False
    return any(type(value) is bool for item in points
               for value in (item if isinstance(item, (list, tuple)) else (item,)))


def _shown(value, limit: int = 60) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_point_count(kind: GeometryKind, count: int, where: str | None) -> None:
    exact = _EXACT_POINTS.get(kind)
    if exact is not None and count != exact:
        raise GeometryError(where, f"{kind} needs exactly {exact} point(s), got {count}")
    if count < _MIN_POINTS[kind]:
        raise GeometryError(where, f"{kind} needs at least {_MIN_POINTS[kind]} points, got {count}")


def make_mask(mask, offset=(0.0, 0.0), *, where: str | None = None) -> Geometry:
    """A mask geometry from a 2-D boolean array whose top-left pixel sits at ``offset`` (x, y)."""
    array = np.asarray(mask)
    if array.ndim != 2 or array.size == 0:
        raise GeometryError(where, f"mask must be a non-empty 2-D array, got shape {array.shape}")
    if not array.any():
        raise GeometryError(where, "mask is empty (no pixel set)")
    offset = np.asarray(offset, dtype=np.float64).reshape(1, 2)
    if not np.isfinite(offset).all():
        raise GeometryError(where, f"mask offset is not finite: {offset.tolist()}")
    return _frozen(GeometryKind.MASK, offset, array.astype(bool))


def make_skeleton(points, visibility, *, where: str | None = None) -> Geometry:
    """A skeleton geometry: ``points`` (N, 2) in the skeleton's point order, NaN rows (or None) for absent
    points, and ``visibility`` (N,) of ABSENT, OCCLUDED or VISIBLE.  A point is absent exactly where its
    row is NaN and its visibility ABSENT; at least one point must be present.  GeometryError names
    ``where`` and the point otherwise."""
    kind = GeometryKind.SKELETON
    rows = [[np.nan, np.nan] if point is None else point for point in points] \
        if isinstance(points, (list, tuple)) else points
    try:
        array = np.array(rows, dtype=np.float64)
        flags = np.asarray(visibility)
    except (TypeError, ValueError):
        raise GeometryError(where, "skeleton points and visibility must be numbers") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise GeometryError(where, f"skeleton needs (x, y) pairs, got an array of shape {array.shape}")
    if flags.shape != (len(array),) or (flags.size and flags.dtype.kind not in "iu"):
        raise GeometryError(where, f"skeleton needs one whole-number visibility per point ({len(array)}), "
                                   f"got {_shown(visibility)}")
    if not np.isin(flags, (ABSENT, OCCLUDED, VISIBLE)).all():
        bad = int(np.flatnonzero(~np.isin(flags, (ABSENT, OCCLUDED, VISIBLE)))[0])
        raise GeometryError(where, f"skeleton point {bad}: visibility {int(flags[bad])} is not 0 (absent), "
                                   "1 (occluded) or 2 (visible)")
    absent = np.isnan(array).any(axis=1)
    finite = np.isfinite(array).all(axis=1)
    for index in range(len(array)):
        if not absent[index] and not finite[index]:
            raise GeometryError(where, f"skeleton point {index} is not a finite number: {array[index].tolist()}")
        if absent[index] != (flags[index] == ABSENT):
            raise GeometryError(where, f"skeleton point {index}: visibility {int(flags[index])} but "
                                       f"{'no position' if absent[index] else 'a position'}; absent points "
                                       "(visibility 0) and only they have no position")
    if absent.all():
        raise GeometryError(where, "skeleton has no point placed (every point absent)")
    array[absent] = np.nan  # one NaN spelling for absent, whatever came in
    return _frozen(kind, array, visibility=flags.astype(np.uint8))


def mask_from_image(pixels, *, where: str | None = None) -> Geometry | None:
    """A mask geometry from a whole-image boolean array: cropped to its pixels, with their offset; None when
    no pixel is set."""
    pixels = np.asarray(pixels, bool)
    rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    if rows.size == 0:
        return None
    return make_mask(pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], (float(cols[0]), float(rows[0])),
                     where=where)


def bounds_iou(first: Iterable[float], second: Iterable[float], margin: float = 0.0) -> float:
    """IoU of two (x0, y0, x1, y1) boxes, each grown by ``margin`` px first (so that thin lines compare too)."""
    grow = (-margin, -margin, margin, margin)
    a = [value + offset for value, offset in zip(first, grow, strict=True)]
    b = [value + offset for value, offset in zip(second, grow, strict=True)]
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def box(x0: float, y0: float, x1: float, y1: float, *, where: str | None = None) -> Geometry:
    """A box from its two corners."""
    return make_geometry(GeometryKind.BOX, [[x0, y0], [x1, y1]], where=where)


def check_inside_image(geometry: Geometry, width: int, height: int, *, where: str | None = None) -> None:
    """Raise GeometryError when any point lies outside the image (0..width, 0..height)."""
    xmin, ymin, xmax, ymax = geometry.bounds()
    if xmin < 0 or ymin < 0 or xmax > width or ymax > height:
        raise GeometryError(
            where,
            f"{geometry.kind} reaches outside the {width}x{height} image "
            f"(x {xmin:.1f}..{xmax:.1f}, y {ymin:.1f}..{ymax:.1f})",
        )


def clipped_to_image(geometry: Geometry, width: int, height: int) -> Geometry | None:
    """The geometry pulled inside the image (points onto its border, masks cropped); None when nothing is left."""
    if geometry.kind is GeometryKind.MASK:
        x0, y0 = np.round(geometry.points[0]).astype(int).tolist()
        h, w = geometry.mask.shape
        left, top = max(0, -x0), max(0, -y0)
        crop = geometry.mask[top:max(top, min(h, height - y0)), left:max(left, min(w, width - x0))]
        return make_mask(crop, (x0 + left, y0 + top)) if crop.any() else None
    if geometry.kind is GeometryKind.SKELETON:  # placed points onto the border; absent ones stay absent
        return make_skeleton(np.clip(geometry.points, 0, [width, height]), geometry.visibility)
    if geometry.kind is GeometryKind.POLYGON:
        outline = clip_polygon_to_image(geometry.points, width, height)
        return make_geometry(GeometryKind.POLYGON, outline) if len(outline) >= 3 else None
    try:
        return make_geometry(geometry.kind, np.clip(geometry.points, 0, [width, height]))
    except GeometryError:  # a box wholly outside collapses to no area
        return None


def clip_polygon_to_image(polygon: np.ndarray, width: float, height: float) -> np.ndarray:
    """The part of a polygon inside 0..width, 0..height (fewer than 3 points when none is)."""
    polygon = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if ((polygon >= 0) & (polygon <= [width, height])).all():
        return polygon  # nothing to cut (the common case, and the clipping passes are slow)
    for axis, limit, keep_above in ((0, 0.0, True), (0, width, False), (1, 0.0, True), (1, height, False)):
        polygon = clip_polygon(polygon, axis, limit, keep_above=keep_above)
        if len(polygon) < 3:
            break
    return polygon


def clip_polygon(polygon: np.ndarray, axis: int, limit: float, *, keep_above: bool) -> np.ndarray:
    """The part of a polygon on one side of ``points[:, axis] == limit`` (one Sutherland-Hodgman pass)."""
    sign = 1.0 if keep_above else -1.0
    clipped = clip_polygon_to_half_plane(polygon, sign * np.eye(2)[axis], -sign * limit)
    on_edge = np.isclose(clipped[:, axis], limit, rtol=0.0, atol=1e-9)
    clipped[on_edge, axis] = limit  # exactly on the edge, whatever the rounding
    return clipped


def clip_polygon_to_half_plane(polygon: np.ndarray, normal: np.ndarray, offset: float) -> np.ndarray:
    """The part of a polygon where ``points @ normal + offset >= 0`` (one Sutherland-Hodgman pass)."""
    kept = []
    for start, end in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        start_side, end_side = start @ normal + offset, end @ normal + offset
        if start_side >= 0:
            kept.append(start)
        if start_side * end_side < 0:  # strictly on both sides: a corner on the line is kept once, above
            kept.append(start + start_side / (start_side - end_side) * (end - start))
    return np.array(kept, dtype=np.float64).reshape(-1, 2)


def polyline_inside_image(points: np.ndarray, width: float, height: float) -> list[np.ndarray]:
    """The parts of a polyline inside 0..width, 0..height, in order along it, each cut exactly where the line
    crosses the border: no point is moved onto the border, which would bend the line."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if ((points >= 0) & (points <= [width, height])).all():
        return [points]
    start, step = points[:-1], np.diff(points, axis=0)
    enter, leave = _segments_inside(start, step, width, height)
    parts: list[list[np.ndarray]] = []
    joined = None  # the segment before, when it ran inside up to its end: the next one goes on from it
    for index in np.flatnonzero(enter <= leave).tolist():
        if joined != index - 1 or enter[index] > 0:
            parts.append([_crossing(start[index] + enter[index] * step[index], width, height)
                          if enter[index] > 0 else points[index]])
        parts[-1].append(points[index + 1] if leave[index] == 1 else
                         _crossing(start[index] + leave[index] * step[index], width, height))
        joined = index if leave[index] == 1 else None
    return [np.array(part) for part in parts]


def _crossing(point: np.ndarray, width: float, height: float) -> np.ndarray:
    """A point where a line crosses the border, exactly on it: rounding would put it a hair inside or out."""
    limits = np.array([width, height], dtype=np.float64)
    point = np.clip(point, 0.0, limits)
    on_far_side = np.isclose(point, limits, rtol=0.0, atol=1e-9)
    point[on_far_side] = limits[on_far_side]
    point[np.isclose(point, 0.0, rtol=0.0, atol=1e-9)] = 0.0
    return point


def _segments_inside(start: np.ndarray, step: np.ndarray, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """For segments ``start + t * step`` (t in 0..1): the t where each enters and leaves the image (Liang-Barsky);
    enter > leave for a segment wholly outside."""
    enter, leave = np.zeros(len(start)), np.ones(len(start))
    for axis, limit in ((0, width), (1, height)):
        for towards, room in ((-step[:, axis], start[:, axis]), (step[:, axis], limit - start[:, axis])):
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = room / towards
            parallel_outside = (towards == 0) & (room < 0)
            enter = np.where(towards < 0, np.maximum(enter, ratio), enter)
            leave = np.where(towards > 0, np.minimum(leave, ratio), leave)
            leave = np.where(parallel_outside, -1.0, leave)
    return enter, leave
