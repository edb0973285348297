"""Masks from a few clicks, and masks carried to the next frames by dense optical flow.

Click to mask (``mask_from_box``): OpenCV's GrabCut on a crop around the box (the box and
``MARGIN`` of its size around it, at least ``MIN_MARGIN_PX``).  Outside the box is background;
inside it probably the object.  Include and exclude clicks are small discs of definite object and
definite background, and so are the pixels of the box near it joined to it by pixels of its colour
(a flood fill on the smoothed image, ``FILL_TOLERANCE``, ``FILL_REACH``): one click on a region of its own colour
settles all of it, where a small disc would barely move the colour models.  GrabCut fits a colour
model to each and cuts between them along the image's edges, ``ITERATIONS`` times.  What it finds
is cleaned up as a person expects: threads a pixel thin are cut (an opening: GrabCut leaks along the
blurred rim of a region it was told to leave), then the largest piece and every piece under an
include click are kept, without holes (but for a hole under an exclude click).

Superpixel painting (``superpixels``, ``paint_superpixels``): SLIC cuts the image into regions of
like colour about ``size`` px across.  A click or stroke paints every region it touches.

Carrying (``carry_mask``, the ``MaskCarrier`` assistant): each step computes DIS optical flow both
ways between two frames on a crop around the mask only (scaled to about ``FLOW_PIXELS``: a small
sign is enlarged for finer flow, a large zone shrunk for speed).  Most road objects move as one
rigid or planar thing: when an affine motion fitted (RANSAC) to the flow of the mask's inner pixels
explains ``PLANE_INLIERS`` of them, the mask is warped by it, so it grows, shrinks and shears with
the object and keeps crisp edges.  Otherwise (an object that deforms) the mask is warped backward
by the dense flow itself: a pixel of the new frame belongs to the object when the flow from it
lands inside the old mask.  (The dense warp alone erodes a mask a little each step: the flow at its
edge is a blend of the object's and the background's.)  Either way the shape follows the object,
where a shift of its centroid would only move it.  A short GrabCut around the carried mask can pull
it onto the object's edges (``refine``; off by default: on small signs it cuts along their rim).

A step's quality is that of ``temporal.flow``, with the error counted against the motion: the
share of the mask's pixels (those staying on the image) whose forward-backward round trip comes
back within ``FB_MAX_PX`` plus ``FB_SHARE`` of their motion, times exp(-their median error in
those units).  (Road paint near the car moves 20 px a frame: its flow is as good, relatively, as
that of a far sign moving 1 px.)  The confidence of a carried mask is the product of the
qualities of the steps that brought it there.  The carry stops when a step's quality falls below
``MIN_STEP_QUALITY`` or more than ``MAX_OUTSIDE`` of the mask is carried off the image.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from ..core.errors import RoadlabelError
from ..core.geometry import Geometry, GeometryKind, mask_from_image
from ..core.project import Project
from ..temporal.flow import step_quality
from ..temporal.motion import FB_MAX_PX, grey_frame
from .base import GEOMETRY, Assistant, AssistContext, Suggestion

MARGIN = 0.5  # GrabCut and flow look this fraction of the object's size around it,
MIN_MARGIN_PX = 16  # and at least this far
ITERATIONS = 4  # GrabCut rounds from a box
REFINE_ITERATIONS = 2  # GrabCut rounds after a carry step
REFINE_BAND_PX = 3  # a carried mask may move its edge this far when refined
CLICK_SHARE = 0.05  # a click marks a disc of this share of the box's smaller side,
CLICK_RADIUS = (1, 8)  # within these radii (px)
FILL_TOLERANCE = 16  # a click also takes the pixels joined to it within this much of its colour (per channel),
FILL_SMOOTHING = 1.5  # on the image smoothed by this Gaussian (px): texture does not stop the fill, edges do,
FILL_REACH = 0.25  # within this share of the box's smaller side from it (a click on an edge cannot flood all)
GRABCUT_PIXELS = 160 * 160  # GrabCut works on the crop shrunk to at most this many pixels (for speed)
FLOW_MARGIN_PX = 32  # flow is computed this far around a carried mask (at least: see MARGIN)
FLOW_PIXELS = 192 * 192  # flow works on the crop scaled to about this many pixels,
FLOW_SCALES = (0.1, 2.0)  # by a factor within these (small objects are enlarged: more pixels, finer flow)
FLOW_SAMPLES = 2000  # pixels of a mask whose flow is checked and fitted,
MIN_PLANE_PIXELS = 12  # at least this many for a fit
PLANE_INLIERS = 0.7  # and a mask moves as a plane when this share of its pixels does
FB_SHARE = 0.1  # a pixel's flow round trip may miss by FB_MAX_PX plus this share of its motion
MIN_STEP_QUALITY = 0.2  # a carry step worse than this has lost the object
MAX_OUTSIDE = 0.5  # a mask with more than this share carried past the border has left the image
SUPERPIXEL_COMPACTNESS = 10.0  # SLIC's balance of colour against shape

Point = Sequence[float]


# ------------------------------------------------------------------ click to mask


def mask_from_box(image: np.ndarray, box: Sequence[float], include: Iterable[Point] = (),
                  exclude: Iterable[Point] = (), *, iterations: int = ITERATIONS) -> np.ndarray:
    """The object in ``box`` (x0, y0, x1, y1) of an HxWx3 uint8 RGB image, as an HxW bool mask.

    ``include`` and ``exclude`` are (x, y) clicks on the object and off it.  RoadlabelError for an image
    that is not RGB, a box that is empty or outside the image, or a click outside the image.
    """
    image = _rgb(image)
    height, width = image.shape[:2]
    left, top, right, bottom = _pixel_box(box, width, height)
    include, exclude = _clicks(include, width, height), _clicks(exclude, width, height)
    margin = max(MIN_MARGIN_PX, round(MARGIN * max(right - left, bottom - top)))
    crop = _Crop.around(left, top, right, bottom, margin, width, height)
    scale = min(1.0, np.sqrt(GRABCUT_PIXELS / (crop.shape[0] * crop.shape[1])))
    small = crop.resized(crop.of(image), scale, cv2.INTER_AREA)

    def local(points: np.ndarray) -> np.ndarray:
        return np.minimum(np.round(crop.local(points) * scale).astype(int), np.subtract(small.shape[1::-1], 1))

    labels = np.full(small.shape[:2], cv2.GC_BGD, np.uint8)
    (x0, y0), (x1, y1) = local(np.array([[left, top], [right - 1, bottom - 1]]))
    labels[y0:y1 + 1, x0:x1 + 1] = cv2.GC_PR_FGD
    if not (labels == cv2.GC_BGD).any():  # the box fills the image: its rim is the only background there is
        labels[[0, -1], :] = labels[:, [0, -1]] = cv2.GC_PR_BGD
    radius = int(np.clip(round(CLICK_SHARE * min(x1 - x0 + 1, y1 - y0 + 1)), *CLICK_RADIUS))
    include, exclude = local(include), local(exclude)
    _mark_clicks(labels, small, include, exclude, radius)
    found = cv2.morphologyEx(_grabcut(small, labels, iterations).view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3)))
    found = _cleaned(found.astype(bool) | (labels == cv2.GC_FGD), include, exclude)
    return crop.placed(crop.resized(found, 1 / scale), (height, width))


def _mark_clicks(labels: np.ndarray, image: np.ndarray, include: np.ndarray, exclude: np.ndarray,
                 radius: int) -> None:
    """Clicks as sure object or background in GrabCut's ``labels``: a disc, and the pixels of the box within
    ``FILL_REACH`` of it joined to it by pixels of its colour (one click on a region of its own colour settles
    all of it)."""
    smooth = cv2.GaussianBlur(image, (0, 0), FILL_SMOOTHING)
    in_box = labels == cv2.GC_PR_FGD
    rows, cols = np.nonzero(in_box)
    reach = max(radius, round(FILL_REACH * min(np.ptp(rows), np.ptp(cols))))
    for points, value in ((include, cv2.GC_FGD), (exclude, cv2.GC_BGD)):
        for point in points:
            near = np.zeros(in_box.shape, np.uint8)
            _mark(near, [point], reach, 1)
            labels[_same_colour(smooth, point, within=in_box & (near > 0))] = value
        _mark(labels, points, radius, value)


def _grabcut(image: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """Object pixels after GrabCut from ``labels`` (GC_* values, changed in place)."""
    if (labels == cv2.GC_FGD).all() or not np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        return labels != cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)


def _cleaned(found: np.ndarray, include: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """The largest piece and every piece under an include click, with their holes filled but for those
    under an exclude click."""
    pieces, count = ndimage.label(found)
    if count == 0:
        return found
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)
    sizes[0] = 0
    kept = np.isin(pieces, list({int(np.argmax(sizes))} | {int(pieces[y, x]) for x, y in include} - {0}))
    holes, _ = ndimage.label(ndimage.binary_fill_holes(kept) & ~kept)
    excluded = {int(holes[y, x]) for x, y in exclude} - {0}
    return kept | ((holes > 0) & ~np.isin(holes, list(excluded)))


def _same_colour(image: np.ndarray, point: np.ndarray, *, within: np.ndarray) -> np.ndarray:
    """The pixels of ``within`` joined to ``point`` by pixels within ``FILL_TOLERANCE`` of its colour."""
    barrier = np.pad(~within, 1).astype(np.uint8)  # floodFill fills where its mask is 0
    if barrier[point[1] + 1, point[0] + 1]:
        return np.zeros(within.shape, bool)
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (2 << 8)
    cv2.floodFill(image.copy(), barrier, (int(point[0]), int(point[1])), 0, (FILL_TOLERANCE,) * 3,
                  (FILL_TOLERANCE,) * 3, flags)
    return barrier[1:-1, 1:-1] == 2


def _mark(labels: np.ndarray, points: np.ndarray, radius: int, value: int) -> None:
    for x, y in points:
        cv2.circle(labels, (int(x), int(y)), radius, int(value), -1)


# ------------------------------------------------------------------ superpixel painting


def superpixels(image: np.ndarray, size: float = 16.0) -> np.ndarray:
    """SLIC superpixels about ``size`` px across: an HxW int label image, labels from 1."""
    image = _rgb(image)
    if not size >= 2:
        raise RoadlabelError("superpixels", f"size must be at least 2 px, got {size}")
    from skimage.segmentation import slic  # scikit-image only when painting superpixels

    count = max(1, round(image.shape[0] * image.shape[1] / size ** 2))
    return slic(image, n_segments=count, compactness=SUPERPIXEL_COMPACTNESS, start_label=1)


def paint_superpixels(labels: np.ndarray, points: Iterable[Point]) -> np.ndarray:
    """The union of the superpixels under the (x, y) ``points``, as a bool mask."""
    height, width = labels.shape
    picked = labels[tuple(_clicks(points, width, height)[:, ::-1].T)]
    return np.isin(labels, picked)


# ------------------------------------------------------------------ masks as geometries


def mask_geometry(mask: np.ndarray) -> Geometry:
    """A whole-image bool mask as the project stores it: cropped to its pixels, with their offset."""
    geometry = mask_from_image(mask)
    if geometry is None:
        raise RoadlabelError("mask", "the mask is empty (no pixel set)")
    return geometry


def image_mask(geometry: Geometry, shape: tuple[int, int]) -> np.ndarray:
    """A mask geometry as a bool mask of an image of ``shape`` (height, width); what lies outside is cut."""
    full = np.zeros(shape, bool)
    x0, y0 = np.round(geometry.points[0]).astype(int).tolist()
    h, w = geometry.mask.shape
    left, top = max(0, -x0), max(0, -y0)
    part = geometry.mask[top:max(top, min(h, shape[0] - y0)), left:max(left, min(w, shape[1] - x0))]
    full[y0 + top:y0 + top + part.shape[0], x0 + left:x0 + left + part.shape[1]] = part
    return full


# ------------------------------------------------------------------ carrying a mask by optical flow


def carry_mask(before: np.ndarray, after: np.ndarray, mask: np.ndarray, *,
               refine: bool = False) -> tuple[np.ndarray | None, float]:
    """A whole-image mask on frame ``before`` carried onto frame ``after`` (both HxWx3 uint8 RGB), and the
    step's quality (0..1); None for the mask when it left the image."""
    height, width = mask.shape
    if not mask.any():
        raise RoadlabelError("mask", "the mask to carry is empty (no pixel set)")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    margin = max(FLOW_MARGIN_PX, round(MARGIN * max(rows[-1] - rows[0], cols[-1] - cols[0])))
    crop = _Crop.around(cols[0], rows[0], cols[-1] + 1, rows[-1] + 1, margin, width, height)
    flows = _Flows(crop, before, after)
    inside = crop.of(mask)
    points = _inner_points(inside)
    ahead = flows.ahead.at(points)
    motion = _plane_motion(points, ahead)
    moved = points + ahead if motion is None else cv2.perspectiveTransform(points[:, None], motion)[:, 0]
    on = ((moved >= -crop.origin) & (moved <= [width - 1, height - 1] - crop.origin)).all(axis=1)
    quality = _round_trip(ahead[on], flows.back.at(points[on] + ahead[on]))
    if 1.0 - on.mean() > MAX_OUTSIDE:
        return None, quality
    if motion is None:
        carried = _largest_piece(flows.back.warp(inside) > 0.5)
    else:
        carried = cv2.warpPerspective(inside.astype(np.float32), motion, crop.shape[::-1]) > 0.5
    if refine and carried.any():
        carried = _refined(crop.of(after), carried)
    if not carried.any():
        return None, quality
    return crop.placed(carried, (height, width)), quality


def _largest_piece(mask: np.ndarray) -> np.ndarray:
    """The mask's largest 8-connected piece (a dense warp can leave specks behind)."""
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    return pieces == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


class _Flow:
    """One way of DIS optical flow over a crop, computed on it scaled by ``scale``; looked up in crop pixels."""

    def __init__(self, field: np.ndarray, scale: float, shape: tuple[int, int]):
        self.field, self.scale, self.shape = field, scale, shape

    def at(self, points: np.ndarray) -> np.ndarray:
        """The flow (crop px) at (x, y) crop points."""
        small = ((points + 0.5) * self.scale - 0.5).astype(np.float32).reshape(-1, 1, 2)
        found = cv2.remap(self.field, small[..., 0], small[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return found.reshape(-1, 2) / self.scale

    def warp(self, mask: np.ndarray) -> np.ndarray:
        """``mask`` (of the crop) looked up where the flow from each crop pixel lands."""
        flow = cv2.resize(self.field, self.shape[::-1]) / self.scale
        grid = np.mgrid[0:self.shape[0], 0:self.shape[1]].astype(np.float32)
        return cv2.remap(mask.astype(np.float32), grid[1] + flow[..., 0], grid[0] + flow[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)


class _Flows:
    """DIS optical flow forward and backward on a crop, computed on it scaled to about ``FLOW_PIXELS``."""

    def __init__(self, crop: _Crop, before: np.ndarray, after: np.ndarray):
        scale = float(np.clip(np.sqrt(FLOW_PIXELS / (crop.shape[0] * crop.shape[1])), *FLOW_SCALES))
        old, new = (crop.resized(grey_frame(crop.of(frame)), scale, cv2.INTER_AREA) for frame in (before, after))
        flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        scale = float(old.shape[1] / crop.shape[1])  # as rounded
        self.ahead = _Flow(flow.calc(old, new, None), scale, crop.shape)
        self.back = _Flow(flow.calc(new, old, None), scale, crop.shape)


def _inner_points(inside: np.ndarray) -> np.ndarray:
    """Up to ``FLOW_SAMPLES`` (x, y) pixels of the mask, spread over it, away from its edge where it has an
    inside (the flow at the edge blends the object's and the background's)."""
    core = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    rows, cols = np.nonzero(core if core.sum() >= MIN_PLANE_PIXELS else inside)
    pick = np.linspace(0, len(rows) - 1, min(len(rows), FLOW_SAMPLES)).astype(int)
    return np.column_stack([cols[pick], rows[pick]]).astype(np.float32)


def _round_trip(ahead: np.ndarray, returned: np.ndarray) -> float:
    """The step's quality from the forward-backward error of pixels that moved by ``ahead`` and came back by
    ``returned``, in units of the error allowed for their motion."""
    allowed = FB_MAX_PX + FB_SHARE * np.linalg.norm(ahead, axis=1)
    error = np.linalg.norm(ahead + returned, axis=1) / allowed
    return step_quality(error <= 1.0, error)


def _plane_motion(points: np.ndarray, ahead: np.ndarray) -> np.ndarray | None:
    """The motion that carries the points along their flow, when most of them (within ``FB_MAX_PX``) move as
    one: affine (a sign, a car), else a homography (road paint seen in perspective)."""
    if len(points) < MIN_PLANE_PIXELS:
        return None
    affine, inliers = cv2.estimateAffine2D(points, points + ahead, method=cv2.RANSAC,
                                           ransacReprojThreshold=FB_MAX_PX)
    if affine is not None and inliers.mean() >= PLANE_INLIERS:
        return np.vstack([affine, [0.0, 0.0, 1.0]])
    plane, inliers = cv2.findHomography(points, points + ahead, cv2.RANSAC, FB_MAX_PX)
    return plane if plane is not None and inliers.mean() >= PLANE_INLIERS else None


def _refined(image: np.ndarray, carried: np.ndarray) -> np.ndarray:
    """The carried mask pulled onto the object's edges by a short GrabCut within ``REFINE_BAND_PX`` of it."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * REFINE_BAND_PX + 1,) * 2)
    core = cv2.erode(carried.astype(np.uint8), kernel).astype(bool)
    reach = cv2.dilate(carried.astype(np.uint8), kernel).astype(bool)
    if not core.any():  # too thin to hold a sure core: keep it as carried
        return carried
    labels = np.where(carried, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[core], labels[~reach] = cv2.GC_FGD, cv2.GC_BGD
    return _grabcut(image, labels, REFINE_ITERATIONS)


class MaskCarrier(Assistant):
    """Carries each mask forward, frame by frame, to the frames of the range where its track has no state."""

    name = "mask-carry"
    description = "carry masks to the next frames by dense optical flow (the shape follows the object)"
    produces = GEOMETRY
    learns = False

    def __init__(self, refine: bool = False):
        self.refine = bool(refine)

    def settings(self) -> dict[str, Any]:
        return {"refine": self.refine}

    def suggest(self, context: AssistContext) -> Iterator[Suggestion]:
        wanted = context.frame_range
        chains = [chain for track in _mask_tracks(context.project)
                  if (chain := _Chain.start(context.project, track.id, track.class_name, wanted))]
        first = min((chain.frame + 1 for chain in chains), default=wanted.stop)
        before = None
        for frame in range(min(first, wanted.start), wanted.stop):
            if frame >= first:
                after = context.frames[frame]
                for chain in chains:
                    suggestion = chain.advance(frame, before, after, self.refine)
                    if suggestion is not None and frame in wanted:
                        yield suggestion
                before = after
            if frame in wanted:
                context.step()


def _mask_tracks(project: Project) -> list:
    return [track for track in project.tracks()
            if GeometryKind.MASK in project.taxonomy[track.class_name].geometry]


class _Chain:
    """One track's mask on its way forward: re-anchored on every state of the track it meets, stopped where
    the carry loses the object (until the next mask state)."""

    def __init__(self, track_id: int, class_name: str, states: dict, frame: int, mask: np.ndarray | None):
        self.track_id, self.class_name, self.states = track_id, class_name, states
        self.frame, self.mask, self.confidence = frame, mask, 1.0

    @classmethod
    def start(cls, project: Project, track_id: int, class_name: str, frames: range) -> _Chain | None:
        """The chain from the track's last state at or before the range's first frame (else its first state in
        the range); None when the track has no mask state to carry there."""
        states = {state.frame: state for state in project.states_of(track_id) if state.frame < frames.stop}
        if not states:
            return None
        earlier = [frame for frame in states if frame <= frames.start]
        first = max(earlier) if earlier else min(states)
        if not any(state.geometry.kind is GeometryKind.MASK for frame, state in states.items() if frame >= first):
            return None
        return cls(track_id, class_name, states, first - 1, None)

    def advance(self, frame: int, before: np.ndarray | None, after: np.ndarray, refine: bool) -> Suggestion | None:
        """Move to ``frame`` (image ``after``, the frame before it ``before``): take the track's state there, or
        carry the mask onto it (a suggestion)."""
        self.frame = frame
        state = self.states.get(frame)
        if state is not None:
            geometry = state.geometry
            self.confidence = 1.0
            self.mask = image_mask(geometry, after.shape[:2]) if geometry.kind is GeometryKind.MASK else None
            return None
        if self.mask is None or not self.mask.any():
            return None
        self.mask, quality = carry_mask(before, after, self.mask, refine=refine)
        self.confidence *= quality
        if self.mask is None or quality < MIN_STEP_QUALITY:
            self.mask = None
            return None
        return Suggestion(frame, self.confidence, self.class_name, track_id=self.track_id,
                          geometry=mask_geometry(self.mask))


# ------------------------------------------------------------------ checks and crops


class _Crop:
    """A rectangle of the image, with the conversions between its pixels and the image's."""

    def __init__(self, left: int, top: int, right: int, bottom: int):
        self.left, self.top, self.right, self.bottom = left, top, right, bottom
        self.shape = (bottom - top, right - left)
        self.origin = np.array([left, top])

    @classmethod
    def around(cls, left: int, top: int, right: int, bottom: int, margin: int, width: int, height: int) -> _Crop:
        return cls(max(0, left - margin), max(0, top - margin), min(width, right + margin),
                   min(height, bottom + margin))

    def of(self, image: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(image[self.top:self.bottom, self.left:self.right])

    def local(self, points: np.ndarray) -> np.ndarray:
        return np.clip(points - [self.left, self.top], 0, [self.shape[1] - 1, self.shape[0] - 1])

    def resized(self, image: np.ndarray, scale: float, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """``image`` (of this crop's size, or of it times 1 / ``scale``) at ``scale``; a mask stays a mask."""
        if scale == 1.0:
            return image
        if image.dtype == bool:
            size = self.shape[::-1]  # a mask goes back to the crop's own size
            return cv2.resize(image.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) > 0.5
        size = (max(1, round(self.shape[1] * scale)), max(1, round(self.shape[0] * scale)))
        return cv2.resize(image, size, interpolation=interpolation)

    def placed(self, part: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        full = np.zeros(shape, bool)
        full[self.top:self.bottom, self.left:self.right] = part
        return full


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
        raise RoadlabelError("mask", f"the image must be HxWx3 uint8 RGB, got {image.dtype} of shape {image.shape}")
    return np.ascontiguousarray(image)


def _pixel_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """The pixels whose centre lies in ``box`` (at least one across), as left, top, right, bottom (exclusive)."""
    values = np.asarray(box, dtype=float).ravel() if _numbers(box) else np.zeros(0)
    if values.size != 4 or not np.isfinite(values).all():
        raise RoadlabelError("mask", f"the box must be four finite numbers (x0, y0, x1, y1), got {box!r}")
    x0, x1 = sorted(values[[0, 2]])
    y0, y1 = sorted(values[[1, 3]])
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise RoadlabelError("mask", f"the box {values.tolist()} is empty (less than 1 px wide or high)")
    if x1 < 0 or y1 < 0 or x0 > width - 1 or y0 > height - 1:
        raise RoadlabelError("mask", f"the box {values.tolist()} lies outside the {width}x{height} image")
    left, top = max(0, int(np.ceil(x0))), max(0, int(np.ceil(y0)))
    right, bottom = min(width, max(left + 1, int(np.floor(x1)) + 1)), min(height, max(top + 1, int(np.floor(y1)) + 1))
    return left, top, right, bottom


def _clicks(points: Iterable[Point], width: int, height: int) -> np.ndarray:
    """Clicks as an (N, 2) int array of pixel columns and rows; RoadlabelError for one off the image."""
    listed = list(points)
    array = np.asarray(listed, dtype=float).reshape(-1, 2) if listed and _numbers(listed) else np.zeros((0, 2))
    if listed and len(array) != len(listed) or not np.isfinite(array).all():
        raise RoadlabelError("mask", f"clicks must be (x, y) numbers, got {listed!r}")
    pixels = np.round(array).astype(int)
    off = ~((pixels >= 0) & (pixels < [width, height])).all(axis=1)
    if off.any():
        raise RoadlabelError("mask", f"the click {array[off][0].tolist()} lies outside the {width}x{height} image")
    return pixels


def _numbers(values: Any) -> bool:
    try:
        return np.asarray(values).dtype.kind in "iuf"
    except (TypeError, ValueError):
        return False
