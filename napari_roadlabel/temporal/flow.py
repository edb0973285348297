"""One frame step of image-based tracking: shapes moved by pyramidal Lucas-Kanade optical flow.

Every object on a frame contributes seed points; all seeds of a frame are tracked
together (one forward and one backward flow call).  A seed is *good* when both
flows converge, it stays on the image, and the backward flow brings it back
within ``FB_MAX_PX`` of where it started.  Each kind then turns its good seeds
into a new shape:

* lanes: seeds on the curve slide along the line as the car drives (dashes move),
  so only the lateral shift counts: the shift of each seed from the old curve at
  its new row is fitted as a straight function of the row, and the whole curve moves
  by it, keeping its rows (the far end stays at the same distance); then it is
  snapped onto its paint, where there is paint to see;
* boxes: a grid of seeds inside; median motion and median change of scale (Median Flow);
* polygons and masks: seeds at the corners and inside, related by a homography
  (road paint is planar) or, with few seeds, a similarity;
* points, keypoints and other polylines: each point by its own seed, lost points by
  the median motion of the others.

Shapes move whole, past the image border if need be (a crosswalk the car drives
onto keeps its true corners; a polygon cut by the border goes on past it, see
``whole_shape``), and what is written is their visible part: seeds come from it,
and an object whose visible part is gone has left the image.

A step's quality is the fraction of good seeds times exp(-median forward-backward
error / ``FB_SCALE_PX``).  The error a step is expected to add comes in two parts.
Its *noise*, half the median forward-backward error (one way of the round trip)
plus ``LOST_SEED_PX`` for the share of seeds lost, is random from step to step.
Its *bias*, the flow residual, is not: the median distance of the good seeds from
where the kind's motion model puts them, over the square root of how many of them
see different pixels (the model averages their errors).  The forward-backward
check alone cannot see a model's misfit (a small sign whose flow window also sees
the background lags behind it, frame after frame); the residual does.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..core.geometry import (
    Geometry,
    GeometryKind,
    clip_polygon_to_half_plane,
    clip_polygon_to_image,
    clipped_to_image,
    make_geometry,
    mask_from_image,
)
from ..core.lanes import fit_lane
from ..core.snap import snap_to_paint

WINDOW = (21, 21)
PYRAMID_LEVELS = 3
CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)
FB_MAX_PX = 1.0  # a seed that comes back further than this from its start is not trusted
FB_SCALE_PX = 1.0  # median forward-backward error at which a step's quality drops to 1/e
LOST_SEED_PX = 0.25  # expected error a step adds when it loses all its seeds
LANE_SEED_SPACING_PX = 12.0
SNAP_MAX_SHIFT_PX = 4.0  # after flow, a lane moves at most this far onto its paint
MIN_PAINT_EVIDENCE = 0.3  # and only when paint is seen along at least this share of it
LANE_SEEDS = (6, 24)  # at least, at most this many seeds along a lane
GRID = 6  # seeds per side inside a box or mask
REGION_GRID = 8  # seeds per side over a polygon and its surroundings
REGION_MARGIN = 0.5  # the surroundings reach this fraction of the polygon's size beyond it,
MIN_MARGIN_PX = 16.0  # and at least this far to the sides
GROUND_BELOW_PX = 32.0  # and this far below
MIN_SIZE_PX = 2.0  # a shape whose visible part is narrower or lower than this has left the image
ACROSS_IMAGE = 0.5  # a lane rising less than this per pixel across lies across the image
MIN_LANE_PX = 10.0  # a lane shorter than this inside the image has left it
MAX_SCALE_STEP = 1.25  # a box grows or shrinks at most this much per frame
MIN_POINTS_INSIDE = 0.5  # points and keypoints leave the image with more than half of them outside
MIN_REGION_SEEDS_FOR_HOMOGRAPHY = 8
BORDER_TOLERANCE_PX = 0.5  # a keyframe's corner this close to the image border lies on it
BEYOND_BORDER = 20  # a shape goes on at most this many image sizes past the border (far under the car)
MIN_DEPTH_SCALE = 0.05  # a carried point whose homogeneous w falls under this has passed under the camera


def grey_frame(frame: np.ndarray) -> np.ndarray:
    """The 8-bit grey image flow works on, from an RGB or grey frame."""
    grey = frame if frame.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(grey, dtype=np.uint8)


def track_seeds(before: np.ndarray, after: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeds (N, 2) tracked from grey frame ``before`` to ``after``: new places, good flags, forward-backward error."""
    if len(seeds) == 0:
        return seeds.copy(), np.zeros(0, bool), np.zeros(0)
    start = np.ascontiguousarray(seeds, dtype=np.float32).reshape(-1, 1, 2)
    ahead, ok_ahead, _ = cv2.calcOpticalFlowPyrLK(before, after, start, None, winSize=WINDOW,
                                                  maxLevel=PYRAMID_LEVELS, criteria=CRITERIA)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(after, before, ahead, None, winSize=WINDOW,
                                                maxLevel=PYRAMID_LEVELS, criteria=CRITERIA)
    error = np.linalg.norm((back - start).reshape(-1, 2), axis=1)
    moved = ahead.reshape(-1, 2).astype(float)
    height, width = after.shape[:2]
    on_image = ((moved >= 0) & (moved <= [width - 1, height - 1])).all(axis=1)  # flow at the border is unreliable
    good = (ok_ahead.ravel() == 1) & (ok_back.ravel() == 1) & (error <= FB_MAX_PX) & on_image
    return moved, good, error


def step_quality(good: np.ndarray, error: np.ndarray) -> float:
    if not good.any():
        return 0.0
    return float(good.mean() * np.exp(-np.median(error[good]) / FB_SCALE_PX))


def step_noise(good: np.ndarray, error: np.ndarray) -> float:
    """The random error, in px, a step is expected to add to the shape."""
    if not good.any():
        return float("inf")
    return float(np.median(error[good]) / 2 + (1 - good.mean()) * LOST_SEED_PX)


@dataclass(frozen=True)
class Move:
    """A shape carried one frame: the whole new shape, its visible part, the step's quality, its noise and
    bias (px); or why it stopped."""

    geometry: Geometry | None
    visible: Geometry | None
    quality: float
    noise: float = 0.0
    bias: float = 0.0
    stopped: str | None = None
    transform: np.ndarray | None = None  # a region's step, a 3x3 homography (to carry more outlines alike)


def seeds_for(visible: Geometry, size: tuple[int, int], *, lane: bool) -> np.ndarray:
    """The points to track for a shape, from its visible part."""
    if lane:
        curve = fit_lane(visible.points)
        count = int(np.clip(round(curve.length / LANE_SEED_SPACING_PX), *LANE_SEEDS))
        return curve.sample_equal(count)
    if visible.kind is GeometryKind.BOX:
        return _grid(*visible.bounds(), inset=0.1)
    if visible.kind is GeometryKind.POLYGON:
        return np.vstack([visible.points, _surroundings(visible, size)])
    if visible.kind is GeometryKind.MASK:
        inside = _grid(*visible.bounds(), inset=0.0)
        h, w = visible.mask.shape
        pixels = np.clip(np.floor(inside - visible.points[0]).astype(int), 0, [w - 1, h - 1])
        return inside[visible.mask[pixels[:, 1], pixels[:, 0]]]
    return np.array(visible.points)


def move(geometry: Geometry, seeds: np.ndarray, moved: np.ndarray, good: np.ndarray, error: np.ndarray, *,
         lane: bool, size: tuple[int, int], image: np.ndarray | None = None) -> Move:
    """The shape after its seeds moved from ``seeds`` to ``moved``; ``size`` is the image's (width, height).

    With ``image`` (the frame it moved onto), a lane is also snapped onto its paint there.
    """
    quality = step_quality(good, error)
    if _mostly_outside(moved, size):  # seeds that land off the image fail the check, but they went somewhere
        return Move(None, None, quality, stopped="left the image")
    if quality == 0.0:
        return Move(None, None, 0.0, stopped="lost: no point could be tracked")
    transform = None
    if lane:
        carried, residual = _move_lane(geometry, seeds[good], moved[good])
        if image is not None:
            carried = _on_paint(carried, image)
    elif geometry.kind is GeometryKind.BOX:
        carried, residual = _move_box(geometry, seeds[good], moved[good])
    elif geometry.kind in (GeometryKind.POLYGON, GeometryKind.MASK):
        transform = _region_transform(seeds[good], moved[good])
        carried, residual = _move_region(geometry, transform, seeds[good], moved[good], size)
    else:
        carried, residual = _move_points(geometry, seeds, moved, good), 0.0  # each point on its own: no model
    visible = visible_part(carried, size, lane=lane) if carried is not None else None
    if visible is None:
        return Move(None, None, quality, stopped="left the image")
    bias = residual / np.sqrt(_independent(seeds[good]))
    region = geometry.kind is GeometryKind.POLYGON
    return Move(carried, visible, quality, step_noise(good, error), bias, transform=transform if region else None)


def _independent(seeds: np.ndarray) -> float:
    """Roughly how many of the seeds see different pixels: seeds closer than a flow window see the same ones."""
    spread = np.maximum(np.ptp(seeds, axis=0) / WINDOW[0], 1.0)
    return float(np.clip(np.prod(spread), 1.0, len(seeds)))


def whole_shape(visible: Geometry, size: tuple[int, int]) -> Geometry:
    """A keyframe's shape as flow carries it: a polygon cut by the image border goes on beyond it.

    The annotator draws what is visible; a zone the car drives on is cut by the bottom of the
    picture.  Carried backward, the road recedes and that cut would rise into view as an edge that
    is not there.  So each corner on the border is pushed ``size`` further out: along the side that
    reaches it from inside the image (the zone's side goes on), or straight out along a stretch of
    border.
    """
    if visible.kind is not GeometryKind.POLYGON:
        return visible
    points = visible.points
    normals = _border_normals(points, size)
    if not normals.any():
        return visible
    reach = BEYOND_BORDER * float(max(size))
    extended = points.copy()
    for index, normal in enumerate(normals):
        if normal.any():
            extended[index] = points[index] + _outward(points, normals, index) * reach
    return make_geometry(GeometryKind.POLYGON, extended)


def _border_normals(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Each point's outward normal of the image border it lies on (both at a corner); zero off the border."""
    width, height = size
    on = BORDER_TOLERANCE_PX
    normals = np.zeros_like(points)
    normals[:, 0] = np.where(points[:, 0] <= on, -1.0, np.where(points[:, 0] >= width - 1 - on, 1.0, 0.0))
    normals[:, 1] = np.where(points[:, 1] <= on, -1.0, np.where(points[:, 1] >= height - 1 - on, 1.0, 0.0))
    return normals


def _outward(points: np.ndarray, normals: np.ndarray, index: int) -> np.ndarray:
    """Which way a border corner moves out, per px of reach: along a side coming from inside, else the normal."""
    normal = normals[index]
    for neighbour in (index - 1, (index + 1) % len(points)):
        if not normals[neighbour].any():  # an inside corner: the side from it goes on past the border
            side = points[index] - points[neighbour]
            outward = side @ normal
            if outward > 1e-6 * np.linalg.norm(side):
                return side / outward
    return normal / (normal @ normal)


def _mostly_outside(moved: np.ndarray, size: tuple[int, int]) -> bool:
    inside = ((moved >= 0) & (moved <= np.subtract(size, 1))).all(axis=1)
    return len(moved) > 0 and inside.mean() < MIN_POINTS_INSIDE


def visible_part(geometry: Geometry, size: tuple[int, int], *, lane: bool) -> Geometry | None:
    """What of the shape lies inside the image, or None when too little does to be seen.

    A shape that is small but wholly inside (a far sign, a crosswalk at the horizon) stays: it grows.
    """
    if lane:
        whole = fit_lane(geometry.points)
        curve = whole.clipped(*size)
        if curve is None or (curve.length < MIN_LANE_PX and curve.length < whole.length - MIN_SIZE_PX):
            return None
        return make_geometry(GeometryKind.POLYLINE, np.clip(curve.sample_equal(len(geometry.points)), 0, size))
    if geometry.kind in (GeometryKind.POINT, GeometryKind.KEYPOINTS):
        inside = ((geometry.points >= 0) & (geometry.points <= size)).all(axis=1)
        if inside.mean() < MIN_POINTS_INSIDE:
            return None
    visible = clipped_to_image(geometry, *size)
    if visible is None or geometry.kind in (GeometryKind.POINT, GeometryKind.KEYPOINTS):
        return visible
    extent = np.ptp(np.reshape(visible.bounds(), (2, 2)), axis=0)
    too_small = extent.max() < MIN_SIZE_PX if geometry.kind is GeometryKind.POLYLINE else extent.min() < MIN_SIZE_PX
    cut = not np.allclose(visible.bounds(), geometry.bounds())
    return None if too_small and cut else visible


def _surroundings(visible: Geometry, size: tuple[int, int]) -> np.ndarray:
    """A grid over the polygon and the ground around it: road paint moves with the road plane,
    and a wider spread of seeds pins the homography down (a far crosswalk is a thin band)."""
    x0, y0, x1, y1 = visible.bounds()
    dx, dy = (x1 - x0) * REGION_MARGIN, (y1 - y0) * REGION_MARGIN
    x0, y0 = max(0.0, x0 - max(dx, MIN_MARGIN_PX)), max(0.0, y0 - dy)
    x1 = min(size[0] - 1.0, x1 + max(dx, MIN_MARGIN_PX))
    y1 = min(size[1] - 1.0, y1 + max(dy, GROUND_BELOW_PX))  # the ground goes on below a far marking
    return _grid(x0, y0, x1, y1, inset=0.0, count=REGION_GRID)


def _grid(x0: float, y0: float, x1: float, y1: float, *, inset: float, count: int = GRID) -> np.ndarray:
    dx, dy = (x1 - x0) * inset, (y1 - y0) * inset
    xs, ys = np.linspace(x0 + dx, x1 - dx, count), np.linspace(y0 + dy, y1 - dy, count)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


# ------------------------------------------------------------------ lanes


def _move_lane(geometry: Geometry, seeds: np.ndarray, moved: np.ndarray) -> tuple[Geometry, float]:
    """Shift the lane across its own direction by a smooth function of the position along it."""
    # Lanes run up the image toward the horizon: they move sideways along rows.  Only a lane lying
    # across the image (a lane at a junction) moves up and down along columns.
    along = 0 if _across_image(geometry.points) else 1
    across = 1 - along
    dense = fit_lane(geometry.points).points
    dense = dense[np.argsort(dense[:, along])]
    where_now = _along_extended(moved[:, along], dense[:, along], dense[:, across])  # old curve at the new rows
    shift = moved[:, across] - where_now
    model = _robust_polynomial(moved[:, along], shift)
    low, high = moved[:, along].min(), moved[:, along].max()
    controls = np.array(geometry.points, dtype=float)
    controls[:, across] += np.polyval(model, np.clip(controls[:, along], low, high))
    residual = float(np.median(np.abs(np.polyval(model, moved[:, along]) - shift)))
    return make_geometry(GeometryKind.POLYLINE, controls), residual


def _on_paint(lane: Geometry, image: np.ndarray) -> Geometry:
    """The lane moved onto the paint within ``SNAP_MAX_SHIFT_PX`` of it, where enough of it shows paint.

    Flow drifts a little each frame; paint does not: snapping each frame keeps a painted lane on
    its line.  Each control point keeps its row and takes the sideways shift of the snapped curve there.
    """
    curve = fit_lane(lane.points)
    snapped = snap_to_paint(curve, image, max_shift=SNAP_MAX_SHIFT_PX)
    if snapped.evidence < MIN_PAINT_EVIDENCE:
        return lane
    along = 0 if _across_image(lane.points) else 1
    across = 1 - along
    order = np.argsort(snapped.samples[:, along])
    shift = snapped.controls[order, across] - snapped.samples[order, across]
    controls = np.array(lane.points, dtype=float)
    controls[:, across] += np.interp(controls[:, along], snapped.samples[order, along], shift)
    return make_geometry(GeometryKind.POLYLINE, controls)


def _across_image(points: np.ndarray) -> bool:
    """A lane lying across the image (at a junction) rather than running up it toward the horizon."""
    return bool(np.ptp(points[:, 1]) < ACROSS_IMAGE * np.ptp(points[:, 0]))


def _along_extended(at: np.ndarray, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values of a curve at ``at``, carried straight along its end directions beyond its ends."""
    result = np.interp(at, positions, values)
    ends = ((at < positions[0], 0, min(4, len(positions) - 1)), (at > positions[-1], -1, max(-5, -len(positions))))
    for beyond, end, inner in ends:
        run = positions[end] - positions[inner]
        if beyond.any() and abs(run) > 1e-9:
            slope = (values[end] - values[inner]) / run
            result[beyond] = values[end] + slope * (at[beyond] - positions[end])
    return result


def _robust_polynomial(position: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """A straight line (a constant with too few seeds) through the shifts, refitted without outliers.

    On a flat road the sideways image shift of a lane between two frames is close to linear in
    the row: the car's yaw shifts every row alike, its sideways motion and the road's curve shift
    each row in proportion to its distance below the horizon.
    """
    degree = min(1, len(position) - 1, len(np.unique(np.round(position))) - 1)
    if degree <= 0:
        return np.array([np.median(shift)])
    model = np.polyfit(position, shift, degree)
    residual = np.abs(np.polyval(model, position) - shift)
    keep = residual <= max(3.0 * np.median(residual), 0.5)
    if degree < keep.sum() < len(position):
        model = np.polyfit(position[keep], shift[keep], degree)
    return model


# ------------------------------------------------------------------ boxes, regions, points


def _move_box(geometry: Geometry, seeds: np.ndarray, moved: np.ndarray) -> tuple[Geometry, float]:
    (x0, y0), (x1, y1) = geometry.points
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    shift, scale = np.median(moved - seeds, axis=0), _median_scale(seeds, moved)
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2]) * scale
    expected = centre + shift + scale * (seeds - centre)
    residual = float(np.median(np.linalg.norm(moved - expected, axis=1)))
    return make_geometry(GeometryKind.BOX, [centre + shift - half, centre + shift + half]), residual


def _median_scale(seeds: np.ndarray, moved: np.ndarray) -> float:
    if len(seeds) < 2:
        return 1.0
    first, second = np.triu_indices(len(seeds), k=1)
    before = np.linalg.norm(seeds[first] - seeds[second], axis=1)
    after = np.linalg.norm(moved[first] - moved[second], axis=1)
    usable = before > 1.0
    if not usable.any():
        return 1.0
    return float(np.clip(np.median(after[usable] / before[usable]), 1 / MAX_SCALE_STEP, MAX_SCALE_STEP))


def _move_region(geometry: Geometry, transform: np.ndarray, seeds: np.ndarray, moved: np.ndarray,
                 size: tuple[int, int]) -> tuple[Geometry | None, float]:
    """A polygon's corners or a mask's pixels carried by the motion of the seeds on and around it."""
    expected = cv2.perspectiveTransform(seeds.reshape(-1, 1, 2), transform).reshape(-1, 2)
    residual = float(np.median(np.linalg.norm(moved - expected, axis=1)))
    if geometry.kind is GeometryKind.MASK:
        return _warped_mask(geometry, transform, size), residual
    corners = carry_polygon(geometry.points, transform, size)
    return (make_geometry(geometry.kind, corners) if corners is not None else None), residual


def carry_polygon(polygon: np.ndarray, transform: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    """A polygon's corners moved by a step's homography; None when nothing of it is left in reach."""
    # A ground-plane homography sends a point that passes under the camera (road paint the car drives
    # over) to the far side of the horizon: keep the part that stays in front (w > 0), and within reach.
    ahead = clip_polygon_to_half_plane(polygon, transform[2, :2], transform[2, 2] - MIN_DEPTH_SCALE)
    if len(ahead) < 3:
        return None
    corners = cv2.perspectiveTransform(ahead.reshape(-1, 1, 2), transform).reshape(-1, 2)
    reach = np.multiply(size, BEYOND_BORDER)
    corners = clip_polygon_to_image(corners + reach, *(np.add(size, 2 * reach))) - reach
    return corners if len(corners) >= 3 else None


def seen_share(seen: np.ndarray | None, visible: Geometry, size: tuple[int, int]) -> float:
    """How much of a polygon's visible part the annotator drew: the rest was carried in from past the border."""
    if seen is None:
        return 0.0
    drawn = clip_polygon_to_image(seen, *size)
    shown = cv2.contourArea(visible.points.astype(np.float32))
    if len(drawn) < 3 or shown <= 0:
        return 0.0
    return float(min(1.0, cv2.contourArea(drawn.astype(np.float32)) / shown))


def _region_transform(seeds: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """A 3x3 homography from seeds to moved: projective with many seeds, else similarity, else translation."""
    if len(seeds) >= MIN_REGION_SEEDS_FOR_HOMOGRAPHY:
        homography, _ = cv2.findHomography(seeds, moved, cv2.RANSAC, 1.0)
        if homography is not None:
            return homography
    if len(seeds) >= 3:
        similarity, _ = cv2.estimateAffinePartial2D(seeds, moved, method=cv2.RANSAC, ransacReprojThreshold=1.0)
        if similarity is not None:
            return np.vstack([similarity, [0.0, 0.0, 1.0]])
    shift = np.median(moved - seeds, axis=0)
    return np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]], [0.0, 0.0, 1.0]])


def _warped_mask(geometry: Geometry, transform: np.ndarray, size: tuple[int, int]) -> Geometry | None:
    """The mask warped onto the image (a mask has no life outside it)."""
    x0, y0 = geometry.points[0]
    to_image = transform @ np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    return mask_from_image(cv2.warpPerspective(geometry.mask.astype(np.uint8), to_image, size,
                                               flags=cv2.INTER_NEAREST) > 0)


def _move_points(geometry: Geometry, seeds: np.ndarray, moved: np.ndarray, good: np.ndarray) -> Geometry:
    """Points that tracked well move with their seed; the others with the median motion of the good ones."""
    points = np.where(good[:, None], moved, seeds + np.median(moved[good] - seeds[good], axis=0))
    return make_geometry(geometry.kind, points)
