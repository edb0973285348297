"""The motion between two frames, estimated once and read by every object.

One ``MotionField`` per pair of consecutive frames replaces the seeds each object
used to track on its own:

* **Dense flow both ways** at reduced resolution (``SCALE`` of the frame), by
  OpenCV's DIS optical flow: frame ``before`` to ``after`` and back.  A point's
  forward-backward error is how far the backward flow, read where the forward
  flow took it, misses its start.  A point is *good* when that error is at most
  ``FB_MAX_PX``, it lands on the image, and its neighbourhood has texture to see
  where it starts and where it lands (dense flow fills a blank area smoothly, and
  both ways agree on nothing moving: only texture makes the check mean something).
* **Refined at full resolution** by Lucas-Kanade, from the field's guess.  It fits
  one shift per window, so where the motion varies across its window it answers
  the motion of the window's texture-weighted centre, not the point's: on the
  road, whose motion grows toward the camera, a bias toward the camera that adds
  up frame after frame.  So a point takes a large window (``REFINE_WINDOW``,
  precise where everything moves alike) where the field's motion varies by at
  most ``UNIFORM_PX`` across it, and a small one (``VARYING_WINDOW``) elsewhere
  (both ways of the round trip alike).  Points the small window loses may be read
  again in the large one (``track(..., large=True)``: a thin line of paint may
  show too little in the small one).
* **The ground's motion**: a homography of the road plane between the frames,
  fitted (RANSAC) to the good flow on a grid over the lower part of the image,
  where the road is.  Objects on the road (lanes, road edges, crosswalks) use it
  where their own evidence is thin: dash gaps, night, the bottom of the image.
* **A cut** (the video jumps to another scene): when too few of the textured
  points pass the forward-backward check, the pair has no motion to read, and
  everything stops there rather than follow noise.

Reading is vectorised: ``track`` takes every point of every object of the frame
at once and returns what ``flow.track_seeds`` returned for seeds tracked one by
one (new places, good flags, forward-backward error), so the kinds' motion
models work on either.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import cv2
import numpy as np

SCALE = 0.5  # flow is computed at this fraction of the frame's size (DIS is linear in the pixel count)
FB_MAX_PX = 1.0  # a point that comes back further than this (full-resolution px) from its start is not trusted
TEXTURE_WINDOW = 7  # px at reduced scale: the neighbourhood whose texture a point's flow depends on
MIN_TEXTURE = 1.0  # grey levels: the least gradient (RMS over that neighbourhood) that makes flow meaningful
CUT_BELOW = 0.2  # a pair where fewer than this share of the textured grid points pass the check is a cut
GROUND_FROM = 0.5  # the ground's motion is fitted to points below this fraction of the image height
GRID_PX = 24  # px at full resolution between the points that judge a cut and fit the ground
GROUND_THRESHOLD_PX = 1.0  # RANSAC's reprojection threshold for the ground's homography
MIN_GROUND_INLIERS = 0.5  # the ground's motion is trusted when at least this share of its good points agree
MIN_GROUND_POINTS = 12
REFINE_WINDOW = (21, 21)  # Lucas-Kanade's window where points are refined at full resolution,
VARYING_WINDOW = (11, 11)  # and where the motion varies across that one:
UNIFORM_PX = 0.4  # by more than this (full-resolution px; a pure shift's field varies by 0.06-0.19 px)
REFINE_LEVELS = 2  # and its pyramid levels above the frame (the field's guess is within a few px)
REFINE_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
CACHE_BYTES = 1 << 30  # motion fields and grey frames kept for the other sweep (a longer range recomputes some)
AHEAD = 4  # frame pairs the worker thread computes ahead of the sweep
BACKWARD_CHUNK = 32  # frames decoded in file order at once when a sweep walks a video backward


@dataclass(frozen=True)
class MotionField:
    """The motion from one frame to the next, and back; ``size`` is the frames' (width, height)."""

    forward: np.ndarray  # (h, w, 2) float16, full-resolution px, on the reduced grid of ``before``
    backward: np.ndarray  # the same from ``after`` to ``before``
    textured: np.ndarray  # (h, w) bool: where ``before`` has texture enough for its flow to mean something
    textured_after: np.ndarray  # the same on ``after`` (the backward direction's)
    varying: np.ndarray  # (h, w) bool: where the forward motion varies across a ``REFINE_WINDOW`` (UNIFORM_PX)
    varying_after: np.ndarray  # the same for the backward motion, on ``after`` (the reversed field's)
    size: tuple[int, int]
    ground: np.ndarray | None  # 3x3 homography of the road plane, before to after, when it could be fitted
    cut: bool  # too little of the image moved consistently: the video cuts between these frames
    before: np.ndarray  # the two grey frames at full resolution, where points are refined
    after: np.ndarray

    def track(self, points: np.ndarray, *, large: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points (N, 2) carried from ``before`` to ``after``: new places, good flags, forward-backward error (px).

        ``large`` refines every point in the large window (one that the small window loses may be found).
        """
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        if len(points) == 0:
            return points.copy(), np.zeros(0, bool), np.zeros(0)
        small = np.zeros(len(points), bool) if large else _sample_mask(self.varying, points, self.size)
        moved, ahead = _refined(self.before, self.after, points, points + _sample(self.forward, points, self.size),
                                small)
        back, back_ok = _refined(self.after, self.before, moved, moved + _sample(self.backward, moved, self.size),
                                 small)
        error = np.linalg.norm(back - points, axis=1)
        width, height = self.size
        on_image = ((moved >= 0) & (moved <= [width - 1, height - 1])).all(axis=1)
        seen = _sample_mask(self.textured, points, self.size) & _sample_mask(self.textured_after, moved, self.size)
        good = ahead & back_ok & (error <= FB_MAX_PX) & on_image & seen & (not self.cut)
        return moved, good, error

    def reversed(self) -> MotionField:
        """The same pair seen from ``after`` to ``before`` (a backward sweep's step)."""
        ground = None
        if self.ground is not None:
            ground = np.linalg.inv(self.ground)
            ground /= ground[2, 2]
        return MotionField(self.backward, self.forward, self.textured_after, self.textured, self.varying_after,
                           self.varying, self.size, ground, self.cut, self.after, self.before)

    @property
    def nbytes(self) -> int:
        """The field's own bytes (its grey frames are the sweep's)."""
        arrays = (self.forward, self.backward, self.textured, self.textured_after, self.varying, self.varying_after)
        return sum(array.nbytes for array in arrays)


class MotionEstimator:
    """Estimates ``MotionField``s; holds the DIS instance (not thread-safe: one estimator per thread)."""

    def __init__(self, scale: float = SCALE):
        self.scale = scale
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)

    def reduce(self, grey: np.ndarray) -> np.ndarray:
        """A grey frame at the resolution flow works on."""
        height, width = grey.shape
        size = (max(32, round(width * self.scale)), max(32, round(height * self.scale)))  # DIS needs 12 px or more
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)

    def estimate(self, before: np.ndarray, after: np.ndarray) -> MotionField:
        """The field between two grey frames (``grey_frame``) of the same size."""
        size = (before.shape[1], before.shape[0])
        small_before, small_after = self.reduce(before), self.reduce(after)
        to_full = np.array([size[0] / small_before.shape[1], size[1] / small_before.shape[0]], dtype=np.float32)
        forward = (self._dis.calc(small_before, small_after, None) * to_full).astype(np.float16)  # half the memory
        backward = (self._dis.calc(small_after, small_before, None) * to_full).astype(np.float16)
        reach = round(REFINE_WINDOW[0] / 2 * small_before.shape[1] / size[0])  # the window's half, reduced px
        field = MotionField(forward, backward, _textured(small_before), _textured(small_after),
                            _varying(forward, reach), _varying(backward, reach), size, None, False, before, after)
        grid = _grid_points(size, 0.0)
        moved, good, _ = field.track(grid)
        textured = _sample_mask(field.textured, grid, size)
        cut = textured.sum() >= MIN_GROUND_POINTS and good.sum() < CUT_BELOW * textured.sum()
        ground = None if cut else _ground_motion(grid, moved, good, size)
        return replace(field, ground=ground, cut=bool(cut))


def _textured(reduced: np.ndarray) -> np.ndarray:
    """Where the RMS gradient over a point's neighbourhood reaches ``MIN_TEXTURE`` grey levels."""
    image = reduced.astype(np.float32)
    gx, gy = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3) / 8, cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3) / 8
    energy = cv2.blur(gx * gx + gy * gy, (TEXTURE_WINDOW, TEXTURE_WINDOW))
    return energy >= MIN_TEXTURE ** 2


def _varying(flow: np.ndarray, reach: int) -> np.ndarray:
    """Where the flow (either component) varies by more than ``UNIFORM_PX`` within ``reach`` reduced px."""
    flow = flow.astype(np.float32)
    window = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    return (cv2.dilate(flow, window) - cv2.erode(flow, window)).max(axis=2) > UNIFORM_PX


def _grid_points(size: tuple[int, int], from_row: float) -> np.ndarray:
    """Points ``GRID_PX`` apart over the image, from row ``from_row`` down."""
    width, height = size
    xs = np.arange(GRID_PX / 2, width - 1, GRID_PX)
    ys = np.arange(max(from_row, GRID_PX / 2), height - 1, GRID_PX)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def _ground_motion(grid: np.ndarray, moved: np.ndarray, good: np.ndarray,
                   size: tuple[int, int]) -> np.ndarray | None:
    """The homography of the road plane: RANSAC over the good grid points of the lower part of the image."""
    lower = good & (grid[:, 1] >= GROUND_FROM * size[1])
    if lower.sum() < MIN_GROUND_POINTS:
        return None
    homography, inliers = cv2.findHomography(grid[lower], moved[lower], cv2.RANSAC, GROUND_THRESHOLD_PX)
    if homography is None or inliers.mean() < MIN_GROUND_INLIERS:
        return None
    return homography / homography[2, 2]


def _refined(before: np.ndarray, after: np.ndarray, points: np.ndarray, guess: np.ndarray,
             small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points tracked from ``before`` to ``after`` at full resolution by Lucas-Kanade, starting from the field's
    guess (so one pyramid level suffices), in ``VARYING_WINDOW`` where ``small`` and ``REFINE_WINDOW``
    elsewhere: new places and whether LK converged."""
    moved, converged = np.asarray(guess, dtype=float).copy(), np.zeros(len(points), bool)
    for window, chosen in ((REFINE_WINDOW, ~small), (VARYING_WINDOW, small)):
        if chosen.any():
            start = np.ascontiguousarray(points[chosen], dtype=np.float32).reshape(-1, 1, 2)
            ahead = np.ascontiguousarray(guess[chosen], dtype=np.float32).reshape(-1, 1, 2)
            ahead, found, _ = cv2.calcOpticalFlowPyrLK(before, after, start, ahead, winSize=window,
                                                       maxLevel=REFINE_LEVELS, criteria=REFINE_CRITERIA,
                                                       flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
            moved[chosen], converged[chosen] = ahead.reshape(-1, 2), found.ravel() == 1
    return moved, converged


def _reduced_coordinates(grid: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Full-resolution (x, y) points in the pixel coordinates of a reduced grid (pixel centres kept)."""
    ratio = np.array([grid.shape[1] / size[0], grid.shape[0] / size[1]])
    return ((points + 0.5) * ratio - 0.5).astype(np.float32)


def _sample(flow: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The flow (full-resolution px) at points, bilinear; at the border the nearest value."""
    where = _reduced_coordinates(flow, points, size).reshape(-1, 1, 2)
    values = cv2.remap(flow.astype(np.float32), where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return values.reshape(-1, 2).astype(float)


def _sample_mask(mask: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    where = np.rint(_reduced_coordinates(mask, points, size)).astype(int)
    where = np.clip(where, 0, [mask.shape[1] - 1, mask.shape[0] - 1])
    return mask[where[:, 1], where[:, 0]]


class MotionFields:
    """The fields of every frame pair a propagation walks, each computed once and shared by both sweeps.

    A worker thread decodes frames and computes fields ``AHEAD`` pairs ahead of the sweep, while the
    sweep carries its objects (OpenCV releases the GIL).  Fields and the grey frames lanes snap on are
    kept within ``cache_bytes`` for the other sweep, the least recently used dropped first.
    ``timings`` gathers the worker's seconds ("decode", "motion") and the sweep's waits ("wait").
    """

    def __init__(self, frames, *, cache_bytes: int = CACHE_BYTES):
        self._frames, self._budget = frames, cache_bytes
        self._estimator = MotionEstimator()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="roadlabel-motion")
        self._pending: dict[int, Future] = {}
        self._kept: OrderedDict[tuple[str, int], MotionField | np.ndarray] = OrderedDict()
        self._kept_bytes = 0
        self._lock = threading.Lock()  # the kept items are shared by the sweep and the worker
        self._direction = 1
        self.timings: dict[str, float] = {}

    def sweep(self, direction: int) -> None:
        """The order the next fields will be asked in: +1 forward, -1 backward."""
        self._direction = direction

    def between(self, frame: int) -> MotionField:
        """The motion from ``frame`` to its neighbour in the sweep's direction."""
        first = frame if self._direction > 0 else frame - 1
        for ahead in range(AHEAD + 1):
            self._schedule(first + ahead * self._direction)
        began = time.perf_counter()
        field = self._pending.pop(first).result()
        self._add("wait", time.perf_counter() - began)
        return field if self._direction > 0 else field.reversed()

    def grey(self, index: int) -> np.ndarray:
        """Frame ``index`` in grey at full resolution (what lanes snap on)."""
        return self._grey(index)

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._kept.clear()

    def _schedule(self, first: int) -> None:
        if first in self._pending or not 0 <= first < len(self._frames) - 1:
            return
        kept = self._kept_item(("field", first))
        if kept is not None:
            done: Future = Future()
            done.set_result(kept)
            self._pending[first] = done
        else:
            self._pending[first] = self._worker.submit(self._compute, first, self._direction)

    def _compute(self, first: int, direction: int) -> MotionField:
        before, after = self._grey(first, direction), self._grey(first + 1, direction)
        began = time.perf_counter()
        field = self._estimator.estimate(before, after)
        self._add("motion", time.perf_counter() - began)
        self._keep(("field", first), field)
        return field

    def _grey(self, index: int, direction: int = 1) -> np.ndarray:
        kept = self._kept_item(("grey", index))
        if kept is not None:
            return kept
        began = time.perf_counter()
        # Walking a video backward, decode a chunk in file order: a video seeks once per chunk, not per frame.
        wanted = [index] if direction > 0 else range(max(0, index - BACKWARD_CHUNK + 1), index)
        greys = {i: grey_frame(np.asarray(self._frames[i])) for i in wanted if self._kept_item(("grey", i)) is None}
        greys[index] = grey_frame(np.asarray(self._frames[index]))
        for i, grey in greys.items():
            self._keep(("grey", i), grey)
        self._add("decode", time.perf_counter() - began)
        return greys[index]

    def _kept_item(self, key: tuple[str, int]):
        with self._lock:
            item = self._kept.get(key)
            if item is not None:
                self._kept.move_to_end(key)
            return item

    def _keep(self, key: tuple[str, int], value) -> None:
        with self._lock:
            if key in self._kept:
                self._kept_bytes -= self._kept.pop(key).nbytes
            self._kept[key] = value
            self._kept_bytes += value.nbytes
            while self._kept_bytes > self._budget and len(self._kept) > 1:
                _, dropped = self._kept.popitem(last=False)
                self._kept_bytes -= dropped.nbytes

    def _add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds


def grey_frame(frame: np.ndarray) -> np.ndarray:
    """The 8-bit grey image flow works on, from an RGB or grey frame."""
    grey = frame if frame.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(grey, dtype=np.uint8)
