"""One frame step of image-based tracking for every object of the frame at once.

All objects read their motion from the frame pair's shared ``MotionField``
(motion.py): each contributes seed points, all seeds of the frame are read
together, and a seed is *good* when the field's forward-backward check passes
there.  Each kind then turns its good seeds into a new shape, as arrays over all
objects of the kind where the work is:

* lanes (lane_motion.py): the ground's motion where they are on the road, else
  the lateral shift of their seeds, then snapped onto their paint;
* boxes: a grid of seeds inside; median motion and median change of scale
  (Median Flow), all boxes at once;
* polygons and masks: seeds at the corners and inside, related by a homography
  (road paint is planar: on the road, the ground's) or, with few seeds, a similarity;
* points, keypoints, skeletons and other polylines: each point by its own seed, lost
  points by the median motion of the others (a skeleton's absent points stay absent,
  and each placed point keeps its visibility).

Shapes move whole, past the image border if need be (a crosswalk the car drives
onto keeps its true corners; a polygon or box cut by the border goes on past it,
see ``whole_shape``), and what is written is their visible part: seeds come from
it, and an object whose visible part is gone has left the image.

A step's quality is the fraction of good seeds times exp(-median forward-backward
error / ``FB_SCALE_PX``).  The error a step is expected to add comes in two parts.
Its *noise*, half the median forward-backward error (one way of the round trip)
plus ``LOST_SEED_PX`` for the share of seeds lost, is random from step to step.
Its *bias*, the model's residual, is not: the median distance of the good seeds
from where the kind's motion model puts them, over the square root of how many of
them see different pixels (the model averages their errors).  The
forward-backward check alone cannot see a model's misfit (a small sign whose
flow also sees the background lags behind it, frame after frame); the residual does.
Points tracked each on its own have no model; a line painted on the road (an
arrow, a stop line) takes the distance of its seeds from the ground's motion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..core.geometry import (
    ABSENT,
    Geometry,
    GeometryKind,
    clip_polygon_to_half_plane,
    clip_polygon_to_image,
    clipped_to_image,
    make_geometry,
    make_skeleton,
    mask_from_image,
)
from ..core.lanes import CurveSet, fit_lane
from ..core.snap import finite_medians
from .lane_motion import carry_lanes, padded
from .motion import MotionField

POINT_KINDS = (GeometryKind.POINT, GeometryKind.KEYPOINTS, GeometryKind.SKELETON)  # tracked point by point
FB_SCALE_PX = 1.0  # median forward-backward error at which a step's quality drops to 1/e
LOST_SEED_PX = 0.25  # expected error a step adds when it loses all its seeds
LANE_SEED_SPACING_PX = 12.0
LANE_SEEDS = (6, 24)  # at least, at most this many seeds along a lane
GRID = 6  # seeds per side inside a box or mask
SEED_FOOTPRINT_PX = 16.0  # seeds closer than this read the same pixels of the motion field
REGION_GRID = 8  # seeds per side over a polygon and its surroundings
REGION_MARGIN = 0.5  # the surroundings reach this fraction of the polygon's size beyond it,
MIN_MARGIN_PX = 16.0  # and at least this far to the sides
GROUND_BELOW_PX = 32.0  # and this far below
MIN_SIZE_PX = 2.0  # a shape whose visible part is narrower or lower than this has left the image
MIN_LANE_PX = 10.0  # a lane shorter than this inside the image has left it
MAX_SCALE_STEP = 1.25  # a box grows or shrinks at most this much per frame
MIN_POINTS_INSIDE = 0.5  # points and keypoints leave the image with more than half of them outside
MIN_REGION_SEEDS_FOR_HOMOGRAPHY = 8
BORDER_TOLERANCE_PX = 0.5  # a keyframe's corner this close to the image border lies on it
BEYOND_BORDER = 20  # a shape goes on at most this many image sizes past the border (far under the car)
MIN_DEPTH_SCALE = 0.05  # a carried point whose homogeneous w falls under this has passed under the camera
ON_THE_ROAD = frozenset({"lane-line", "stop-line", "crosswalk", "school-zone", "traffic-direction"})  # painted


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


@dataclass(frozen=True)
class Carried:
    """An object where a step starts: its whole shape, its visible part, and how it moves."""

    geometry: Geometry
    visible: Geometry
    lane: bool = False
    on_road: bool = False  # painted on the road: it moves with the ground
    painted: bool = True  # a lane line of paint (snapped onto it), not a road edge or a curb


def carry_all(objects: Sequence[Carried], field: MotionField, size: tuple[int, int],
              image: np.ndarray | None = None, timings: dict[str, float] | None = None) -> list[Move]:
    """Every object one step along the field; ``size`` is the image's (width, height).

    With ``image`` (the frame they moved onto), lanes are also snapped onto their paint there.  ``timings``
    gathers the seconds spent snapping, under "snap".
    """
    seeds = object_seeds(objects, size)
    counts = [len(own) for own in seeds]
    points = np.vstack(seeds) if seeds else np.zeros((0, 2))
    moved, good, error = field.track(points)
    parts = np.split(np.arange(len(moved)), np.cumsum(counts)[:-1]) if objects else []
    lost = [part for part in parts if not good[part].any()]
    if lost:  # read an object the small window lost altogether in the large one (motion.py)
        again = np.concatenate(lost)
        moved[again], good[again], error[again] = field.track(points[again], large=True)
    carried: list[tuple[Geometry | None, float, np.ndarray | None]] = [(None, 0.0, None)] * len(objects)
    seen = [bool(good[part].any()) for part in parts]  # an object with no good seed is lost: nothing to model
    lanes = [index for index, item in enumerate(objects) if item.lane and seen[index]]
    boxes = [index for index, item in enumerate(objects)
             if not item.lane and item.geometry.kind is GeometryKind.BOX and seen[index]]
    if lanes:
        shapes, residuals = carry_lanes([objects[i].geometry for i in lanes], padded([moved[parts[i]] for i in lanes]),
                                        padded([good[parts[i]] for i in lanes], 0).astype(bool), field.ground,
                                        np.array([objects[i].on_road for i in lanes]), image, timings,
                                        np.array([objects[i].painted for i in lanes]))
        for index, shape, residual in zip(lanes, shapes, residuals.tolist(), strict=True):
            carried[index] = (shape, residual, None)
    if boxes:
        shapes, residuals = carry_boxes([objects[i].geometry for i in boxes], np.stack([seeds[i] for i in boxes]),
                                        np.stack([moved[parts[i]] for i in boxes]),
                                        np.stack([good[parts[i]] for i in boxes]))
        for index, shape, residual in zip(boxes, shapes, residuals.tolist(), strict=True):
            carried[index] = (shape, residual, None)
    for index, item in enumerate(objects):
        if index not in lanes and index not in boxes and seen[index]:
            carried[index] = _carry_one(item, seeds[index], moved[parts[index]], good[parts[index]], field, size)
    return [_move(item, seeds[index], moved[parts[index]], good[parts[index]], error[parts[index]],
                  *carried[index], size) for index, item in enumerate(objects)]


def _move(item: Carried, seeds: np.ndarray, moved: np.ndarray, good: np.ndarray, error: np.ndarray,
          shape: Geometry | None, residual: float, transform: np.ndarray | None, size: tuple[int, int]) -> Move:
    """The step of one object from its carried shape: its visible part, quality, noise and bias; or why it stopped."""
    quality = step_quality(good, error)
    if _mostly_outside(moved, size):  # seeds that land off the image fail the check, but they went somewhere
        return Move(None, None, quality, stopped="left the image")
    if quality == 0.0 or shape is None:
        return Move(None, None, 0.0, stopped="lost: no point could be tracked")
    visible = visible_part(shape, size, lane=item.lane)
    if visible is None:
        return Move(None, None, quality, stopped="left the image")
    bias = residual / np.sqrt(_independent(seeds[good]))
    region = item.geometry.kind is GeometryKind.POLYGON
    return Move(shape, visible, quality, step_noise(good, error), bias, transform=transform if region else None)


def object_seeds(objects: Sequence[Carried], size: tuple[int, int]) -> list[np.ndarray]:
    """The points each object reads the field at, from its visible part (all lanes fitted and sampled at once)."""
    seeds: list[np.ndarray] = [np.zeros((0, 2))] * len(objects)
    lanes = [index for index, item in enumerate(objects) if item.lane]
    if lanes:
        curves = CurveSet.fit([objects[index].visible.points for index in lanes])
        counts = np.clip(np.round(curves.lengths / LANE_SEED_SPACING_PX), *LANE_SEEDS).astype(int)
        for index, samples in zip(lanes, curves.sample_counts(counts), strict=True):
            seeds[index] = samples
    for index, item in enumerate(objects):
        if not item.lane:
            seeds[index] = _seeds_of(item.visible, size)
    return seeds


def _seeds_of(visible: Geometry, size: tuple[int, int]) -> np.ndarray:
    if visible.kind is GeometryKind.BOX:
        return _grid(*visible.bounds(), inset=0.1)
    if visible.kind is GeometryKind.POLYGON:
        return np.vstack([visible.points, _surroundings(visible, size)])
    if visible.kind is GeometryKind.MASK:
        inside = _grid(*visible.bounds(), inset=0.0)
        h, w = visible.mask.shape
        pixels = np.clip(np.floor(inside - visible.points[0]).astype(int), 0, [w - 1, h - 1])
        return inside[visible.mask[pixels[:, 1], pixels[:, 0]]]
    return np.array(visible.present_points())


def _carry_one(item: Carried, seeds: np.ndarray, moved: np.ndarray, good: np.ndarray, field: MotionField,
               size: tuple[int, int]) -> tuple[Geometry | None, float, np.ndarray | None]:
    """A polygon, mask or points object carried by its good seeds (a region on the road by the ground's motion)."""
    geometry = item.geometry
    if geometry.kind in (GeometryKind.POLYGON, GeometryKind.MASK):
        on_ground = item.on_road and field.ground is not None
        transform = field.ground if on_ground else _region_transform(seeds[good], moved[good])
        shape, residual = _move_region(geometry, transform, seeds[good], moved[good], size)
        return shape, residual, transform
    return _move_points(geometry, seeds, moved, good), _off_ground(item, field, seeds[good], moved[good]), None


def _off_ground(item: Carried, field: MotionField, seeds: np.ndarray, moved: np.ndarray) -> float:
    """Points tracked each on its own have no model to stray from, but paint on the road moves with it: their
    median distance from where the ground's motion puts them (0 off the road, or without the ground's motion)."""
    if not item.on_road or field.ground is None or not len(seeds):
        return 0.0
    return _residual(field.ground, seeds, moved)


def _residual(transform: np.ndarray, seeds: np.ndarray, moved: np.ndarray) -> float:
    """The median distance, px, of the moved seeds from where the 3x3 transform puts them."""
    expected = cv2.perspectiveTransform(seeds.reshape(-1, 1, 2), transform).reshape(-1, 2)
    return float(np.median(np.linalg.norm(moved - expected, axis=1)))


def _independent(seeds: np.ndarray) -> float:
    """Roughly how many of the seeds see different pixels: seeds closer than a flow window see the same ones."""
    spread = np.maximum(np.ptp(seeds, axis=0) / SEED_FOOTPRINT_PX, 1.0)
    return float(np.clip(np.prod(spread), 1.0, len(seeds)))


def whole_shape(visible: Geometry, size: tuple[int, int], aspect: float | None = None) -> Geometry:
    """A keyframe's shape as flow carries it: a polygon or box cut by the image border goes on beyond it.

    The annotator draws what is visible; a zone the car drives on is cut by the bottom of the
    picture.  Carried backward, the road recedes and that cut would rise into view as an edge that
    is not there.  So each corner on the border is pushed ``size`` further out: along the side that
    reaches it from inside the image (the zone's side goes on), or straight out along a stretch of
    border.  A box cut on one side takes back its whole extent from the object's ``aspect`` (width
    over height, seen where nothing cut it; without it the box stays as drawn): a sign leaving
    through the left border is keyed as a sliver, and carried back as that sliver its left edge
    would stay on the border while the sign comes into view.
    """
    if visible.kind is GeometryKind.BOX:
        return _whole_box(visible, size, aspect) if aspect else visible
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


def _whole_box(box: Geometry, size: tuple[int, int], aspect: float) -> Geometry:
    """A box cut by one side of the image, grown past that side to ``aspect`` (never shrunk); as it is when
    it touches more than one side (its whole extent is not known)."""
    cut = _border_normals(box.points, size)  # row 0 the top-left corner's, row 1 the bottom-right's
    if np.count_nonzero(cut) != 1:
        return box
    corner, axis = np.argwhere(cut)[0]
    extent = np.ptp(box.points, axis=0)
    whole = extent[1] * aspect if axis == 0 else extent[0] / aspect  # the cut axis's extent from the other's
    points = box.points.copy()
    points[corner, axis] = points[1 - corner, axis] + cut[corner, axis] * max(whole, extent[axis])
    return make_geometry(GeometryKind.BOX, points)


def on_border(geometry: Geometry, size: tuple[int, int]) -> bool:
    """Whether a point of the shape lies on the image border (the annotator may have drawn it cut there)."""
    return bool(_border_normals(geometry.points, size).any())


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
    if geometry.kind in POINT_KINDS:
        placed = geometry.present_points()
        if ((placed >= 0) & (placed <= size)).all(axis=1).mean() < MIN_POINTS_INSIDE:
            return None
    visible = clipped_to_image(geometry, *size)
    if visible is None or geometry.kind in POINT_KINDS:
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


# ------------------------------------------------------------------ boxes, regions, points


def carry_boxes(boxes: list[Geometry], seeds: np.ndarray, moved: np.ndarray,
                good: np.ndarray) -> tuple[list[Geometry], np.ndarray]:
    """Every box moved by the median motion and median change of scale of its good seeds (Median Flow).

    ``seeds``, ``moved`` are (B, S, 2), ``good`` (B, S); returns the boxes and each one's residual, px.
    """
    corners = np.stack([box.points for box in boxes])  # (B, 2, 2)
    centre, half = corners.mean(axis=1), (corners[:, 1] - corners[:, 0]) / 2
    with np.errstate(all="ignore"):
        motion = np.where(good[..., None], moved - seeds, np.nan)
        shift = np.column_stack([finite_medians(motion[..., 0]), finite_medians(motion[..., 1])])
    scale = _median_scales(seeds, moved, good)
    expected = centre[:, None] + shift[:, None] + scale[:, None, None] * (seeds - centre[:, None])
    with np.errstate(all="ignore"):
        residual = finite_medians(np.where(good, np.linalg.norm(moved - expected, axis=2), np.nan))
    new_centre, new_half = centre + shift, half * scale[:, None]
    shapes = [make_geometry(GeometryKind.BOX, [c - h, c + h]) for c, h in zip(new_centre, new_half, strict=True)]
    return shapes, np.nan_to_num(residual)


def _median_scales(seeds: np.ndarray, moved: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Each box's median ratio of its good seeds' pairwise distances after and before, within MAX_SCALE_STEP."""
    first, second = np.triu_indices(seeds.shape[1], k=1)
    before = np.linalg.norm(seeds[:, first] - seeds[:, second], axis=2)
    after = np.linalg.norm(moved[:, first] - moved[:, second], axis=2)
    usable = good[:, first] & good[:, second] & (before > 1.0)
    with np.errstate(all="ignore"):
        ratio = finite_medians(np.where(usable, after / before, np.nan))
    return np.clip(np.where(np.isfinite(ratio), ratio, 1.0), 1 / MAX_SCALE_STEP, MAX_SCALE_STEP)


def _move_region(geometry: Geometry, transform: np.ndarray, seeds: np.ndarray, moved: np.ndarray,
                 size: tuple[int, int]) -> tuple[Geometry | None, float]:
    """A polygon's corners or a mask's pixels carried by the motion of the seeds on and around it."""
    residual = _residual(transform, seeds, moved)
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
    if geometry.kind is GeometryKind.SKELETON:
        placed = geometry.points.copy()
        placed[geometry.visibility != ABSENT] = points
        return make_skeleton(placed, geometry.visibility)
    return make_geometry(geometry.kind, points)
