"""Lane proposals: the lane lines painted on a frame, found for the annotator to accept instead of clicking them.

How ``propose_lanes`` works, on the frame scaled to ``WORK_WIDTH`` px wide:

1. Paint points: the frame's brightness and yellowness and, along every image row below ``SKY``, the bar
   response that snapping uses (core/snap.py ``paint_channels``, ``bar_significance``): paint is brighter than
   the road on *both* sides, by many times the local noise (the median step in a block of ``NOISE_BLOCK``
   px, so leaves and the verge count against their own texture).  The local maxima along each row are the
   paint points.
2. Lines: a Hough transform of the points (only lines steeper than ``STEEPEST_TILT`` from the vertical), taken
   greedily: the strongest line claims the points within ``BAND`` px of it, which then vote no more.
3. The road: lane lines meet at the vanishing point, the point nearest all lines (least squares, the lines
   furthest from it dropped until all pass within ``VANISHING_TOLERANCE``).  Lines that miss it (a pole, a
   guard rail, the edge of a car) are not lanes, and nothing above it is road.
4. Each line is refitted as a parabola x(y) through the paint points near it (the fit repeated with the
   points near the curve, so a bend is followed), the vanishing point in the fit with a little weight so the
   curve heads there.  It runs from just below the vanishing point down to the bottom of the image (as
   TuSimple labels run), cut where it leaves the image.
5. Style: the share of image rows between the furthest and the nearest paint seen where the curve has
   paint: a dashed line has gaps.  Colour: yellow where the paint's yellowness contrast is a good share of its
   brightness contrast (white paint is no yellower than the road).
6. Order: left to right by where each lane meets the bottom row (core/lane_order.py).

``LaneProposer`` (assistant "lanes") runs this on every frame of a range, drops proposals that lie on a lane
already labeled there, and links proposals on consecutive frames into one new track each.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import maximum_filter1d
from scipy.optimize import linear_sum_assignment

from ..core.errors import GeometryError
from ..core.frame_objects import objects_by_frame
from ..core.geometry import GeometryKind, make_geometry, polyline_inside_image
from ..core.lane_order import places
from ..core.lanes import MISSING, fit_lane, is_lane_class
from ..core.snap import bar_significance, paint_channels
from .base import GEOMETRY, Assistant, AssistContext, Suggestion

WORK_WIDTH = 640  # px: frames are searched at this width (wider ones scaled down), so the time per frame is bounded
WIDTHS = (3, 5, 9, 15)  # paint widths tried at WORK_WIDTH, px
MIN_SCORE = 6.0  # a paint point stands this many times its row's noise above both flanks
MIN_CONTRAST = 6.0  # and this many grey levels
SKY = 0.25  # of the height: no lane is looked for above this (a camera on a car sees sky there)
NOISE_BLOCK = (8, 64)  # rows, columns: the blocks a paint point's background noise is measured in
NOISE_FLOOR = 0.5  # grey levels: the least noise assumed (a synthetic flat image has none)
PEAK_SPACING = 9  # px: one paint point per row within this window
STEEPEST_TILT = 75.0  # degrees from the vertical: flatter lines are not lanes seen from the road
RHO_STEP = 2.0  # px, Hough bins
THETA_STEP = 1.0  # degrees
BAND = 4.0  # px at WORK_WIDTH: paint points this close to a line belong to it
SAME_LANE = 0.4  # x apart over the distance below the vanishing point (= lateral m over camera height): one lane
MAX_LINES = 12  # candidate lines looked at per frame
MIN_POINTS = 12  # a line needs paint on at least this many rows
VANISHING_TOLERANCE = 0.04  # of the width: a lane passes this close to the vanishing point
BEND_GAIN = 0.7  # a lane is fitted as bent when that leaves under this share of the straight line's error
LEAN = 0.1  # dx/dy: a lane line of the left (right) side leans at least this much left (right)
VANISHING_WEIGHT = 0.1  # of a lane's points: the weight of the vanishing point in its fit
TOP_MARGIN = 0.03  # of the road's height: lanes stop this far below the vanishing point
DASHED_BELOW = 0.6  # share of rows with paint under which a line is dashed
YELLOW_SHARE = 0.5  # yellowness contrast over brightness contrast above which paint is yellow
FULL_EVIDENCE = 0.3  # share of the road's rows with paint that gives full confidence
CONTROL_POINTS = 10  # control points of a proposed lane
MAX_LANES = 6  # proposals per frame at most (the best supported)
MIN_CONFIDENCE = 0.3  # weaker fits are not proposed (a guard rail, a car's edge seen on a few rows)
LINK_PX = 30.0  # px: a lane moves less than this (mean over rows) from one frame to the next
EXISTING_PX = 6.0  # px: a proposal this close (mean over rows) to a labeled lane is that lane
LANE_CLASS = "lane-line"


@dataclass(frozen=True)
class LaneProposal:
    """One proposed lane line, in x, y pixels of the frame."""

    points: np.ndarray  # (K, 2) control points from the far end to the near end (a Catmull-Rom lane)
    position: int  # relative to the car, as core/lane_order.py: -1, -2, ... on the left, 1, 2, ... on the right
    style: str  # "solid" or "dashed"
    color: str  # "white" or "yellow"
    confidence: float  # 0..1


@dataclass(frozen=True)
class _Paint:
    """Paint points of a frame at WORK_WIDTH: position, and contrast of brightness and of yellowness."""

    x: np.ndarray
    y: np.ndarray
    bright: np.ndarray
    yellow: np.ndarray


def propose_lanes(image: np.ndarray, *, min_score: float = MIN_SCORE, max_lanes: int = MAX_LANES,
                  min_confidence: float = MIN_CONFIDENCE, where: str | None = None) -> list[LaneProposal]:
    """The lane lines painted on ``image`` ((H, W, 3) RGB or (H, W) grey, uint8), left to right.

    ``min_score``: how many times the local noise paint must stand out; at most ``max_lanes`` lanes, the best
    supported, each with at least ``min_confidence``.  GeometryError naming ``where`` for a bad image.
    """
    image = _checked(image, where or "lane proposals")
    height, width = image.shape[:2]
    scale = min(1.0, WORK_WIDTH / width)
    small = cv2.resize(image, (round(width * scale), round(height * scale)),
                       interpolation=cv2.INTER_AREA) if scale < 1 else image
    paint = _paint_points(small, min_score)
    lines = _hough_lines(paint, small.shape[1], small.shape[0])
    vanishing = _vanishing_point(lines, small.shape[1])
    if vanishing is None:
        return []
    fits = [fit for fit in (_refit(paint, inliers, vanishing, small.shape[0]) for line, inliers in lines
                            if _distance_to_line(line, vanishing) <= VANISHING_TOLERANCE * small.shape[1])
            if fit is not None]
    fits = [fit for fit in _distinct(fits, small.shape[0], vanishing[1]) if fit.confidence >= min_confidence]
    fits = fits[:max_lanes]
    return _proposals(fits, vanishing[1], scale, width, height)


@dataclass(frozen=True)
class _Fit:
    coefficients: np.ndarray  # x(y) polynomial at WORK_WIDTH, highest power first
    style: str
    color: str
    confidence: float
    support: int  # rows with paint on the curve


def _checked(image: np.ndarray, where: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise GeometryError(where, f"the image must be uint8, got {image.dtype}")
    if not ((image.ndim == 3 and image.shape[2] == 3) or image.ndim == 2) or min(image.shape[:2]) < 16:
        raise GeometryError(where, f"the image must be (H, W, 3) RGB or (H, W) grey, at least 16x16, "
                                   f"got shape {image.shape}")
    return image


def _paint_points(image: np.ndarray, min_score: float) -> _Paint:
    """The local maxima, along each row below ``SKY``, of the paint significance (the stronger channel's)."""
    first = int(SKY * image.shape[0])
    road = image[first:]
    channels = [road[..., 0], road[..., 1], road[..., 2]] if road.ndim == 3 else [road]
    scored = [bar_significance(plane, WIDTHS, MIN_CONTRAST, noise=_local_noise(plane))
              for plane in paint_channels(channels)]
    significance = np.maximum.reduce([score for score, _ in scored])
    peaks = (significance >= min_score) & (significance == maximum_filter1d(significance, PEAK_SPACING, axis=1))
    y, x = np.nonzero(peaks)
    bright = scored[0][1][y, x]
    yellow = scored[1][1][y, x] if len(scored) > 1 else np.zeros(len(x))
    return _Paint(x.astype(float), y.astype(float) + first, bright, yellow)


def _local_noise(plane: np.ndarray) -> np.ndarray:
    """The texture around each pixel: 1.4826 x the median |step| along the rows of its NOISE_BLOCK, the
    blocks' values blended from block to block.

    Local, not the whole row's: a row crosses road, verge and trees, and a leaf is bright against the leaves
    beside it only by as much as they differ among themselves.  Paint adds just its two edges to a block, a
    small share of its steps however wide the paint is, so the median does not see it.
    """
    steps = np.abs(np.diff(plane, axis=1, append=plane[:, -1:]))
    rows, columns = NOISE_BLOCK
    height, width = steps.shape
    padded = np.pad(steps, ((0, -height % rows), (0, -width % columns)), mode="reflect")
    blocks = padded.reshape(padded.shape[0] // rows, rows, padded.shape[1] // columns, columns)
    grid = np.median(blocks.transpose(0, 2, 1, 3).reshape(*blocks.shape[::2], rows * columns), axis=2)
    noise = cv2.resize(grid.astype(np.float32), (padded.shape[1], padded.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.maximum(1.4826 * noise[:height, :width], NOISE_FLOOR)


def _hough_lines(paint: _Paint, width: int, height: int) -> list[tuple[tuple[float, float], np.ndarray]]:
    """Straight lines through the paint points, strongest first, as ((theta, rho), their points' indices).

    A line's normal makes angle theta with the x axis: x cos(theta) + y sin(theta) = rho.  Each line claims
    the points within BAND of it, and those vote no more.
    """
    thetas = np.deg2rad(np.arange(-STEEPEST_TILT, STEEPEST_TILT + THETA_STEP / 2, THETA_STEP))
    reach = float(np.hypot(width, height))
    rho_bins = int(2 * reach / RHO_STEP) + 1
    rhos = paint.x[:, None] * np.cos(thetas) + paint.y[:, None] * np.sin(thetas)
    cells = np.arange(len(thetas)) * rho_bins + np.rint((rhos + reach) / RHO_STEP).astype(int)
    votes = np.bincount(cells.ravel(), minlength=len(thetas) * rho_bins).astype(float)
    free = np.ones(len(paint.x), bool)
    lines = []
    for _ in range(MAX_LINES):
        best = int(np.argmax(votes))
        if votes[best] < MIN_POINTS:
            break
        theta, rho = thetas[best // rho_bins], best % rho_bins * RHO_STEP - reach
        near = free & (np.abs(paint.x * np.cos(theta) + paint.y * np.sin(theta) - rho) <= BAND * np.cos(theta))
        claimed = np.flatnonzero(near)
        votes -= np.bincount(cells[claimed].ravel(), minlength=votes.size)
        votes[best] = 0.0  # its points may be spread over neighbouring bins: never pick the same cell twice
        free[claimed] = False
        if len(claimed) >= MIN_POINTS:
            lines.append(((float(theta), float(rho)), claimed))
    return lines


def _distance_to_line(line: tuple[float, float], point: np.ndarray) -> float:
    theta, rho = line
    return abs(point[0] * np.cos(theta) + point[1] * np.sin(theta) - rho)


def _vanishing_point(lines, width: int) -> np.ndarray | None:
    """Where the most lines (weighted by their points) meet, lines on both sides of the road among them: the
    crossing of two lines that the most pass within ``VANISHING_TOLERANCE`` of, refined by least squares over
    those.  None when no two lines, one leaning each way, meet (a pole and its shadow are parallel)."""
    if len(lines) < 2:
        return None
    normals = np.array([[np.cos(theta), np.sin(theta)] for (theta, _), _ in lines])
    rhos = np.array([rho for (_, rho), _ in lines])
    weights = np.array([len(points) for _, points in lines], dtype=float)
    leans = -normals[:, 1] / normals[:, 0]  # dx/dy of each line: < 0 on the left of the road, > 0 on the right
    tolerance = VANISHING_TOLERANCE * width
    best, best_score = None, 0.0
    for first, second in itertools.combinations(range(len(lines)), 2):
        pair = normals[[first, second]]
        if abs(np.linalg.det(pair)) < 1e-6:
            continue
        near = np.abs(normals @ np.linalg.solve(pair, rhos[[first, second]]) - rhos) <= tolerance
        score = weights[near].sum()
        if score > best_score and (leans[near] < -LEAN).any() and (leans[near] > LEAN).any():
            best, best_score = near, score
    if best is None:
        return None
    return np.linalg.lstsq(normals[best] * weights[best, None], rhos[best] * weights[best], rcond=None)[0]


def _refit(paint: _Paint, inliers: np.ndarray, vanishing: np.ndarray, height: int) -> _Fit | None:
    """A parabola x(y) through the line's paint points below the vanishing point, with its style, colour and
    confidence; None when too few points are left."""
    below = paint.y > vanishing[1]
    chosen = inliers[below[inliers]]
    coefficients = None
    for _ in range(3):  # refit on the points near the curve: those of the line's bend too
        if len(np.unique(paint.y[chosen])) < MIN_POINTS:
            return None
        coefficients = _fit_curve(paint.x[chosen], paint.y[chosen], vanishing)
        chosen = np.flatnonzero(below & (np.abs(np.polyval(coefficients, paint.y) - paint.x) <= BAND))
    rows = np.unique(paint.y[chosen])
    if len(rows) < MIN_POINTS:
        return None
    coverage = len(rows) / (rows[-1] - rows[0] + 1)
    yellow = np.median(paint.yellow[chosen]) > YELLOW_SHARE * np.median(paint.bright[chosen])
    confidence = min(1.0, len(rows) / (FULL_EVIDENCE * (height - vanishing[1])))
    return _Fit(coefficients, "dashed" if coverage < DASHED_BELOW else "solid", "yellow" if yellow else "white",
                float(confidence), len(rows))


def _fit_curve(x: np.ndarray, y: np.ndarray, vanishing: np.ndarray) -> np.ndarray:
    """x(y) through the points and (with a little weight) the vanishing point: a straight line, or a parabola
    when that fits the points clearly better (a bend) and does not turn back on the road."""
    weights = np.append(np.ones(len(x)), np.sqrt(VANISHING_WEIGHT * len(x)))
    rows, columns = np.append(y, vanishing[1]), np.append(x, vanishing[0])
    line = np.polyfit(rows, columns, 1, w=weights)
    if y.max() - y.min() < 0.5 * (y.max() - vanishing[1]):  # too short to show a bend
        return line
    parabola = np.polyfit(rows, columns, 2, w=weights)
    slopes = np.polyval(np.polyder(parabola), [vanishing[1], y.max()])
    straight_error, bent_error = (np.sqrt(np.mean((np.polyval(fit, y) - x) ** 2)) for fit in (line, parabola))
    bends = bent_error < BEND_GAIN * straight_error and straight_error > 1.0
    return parabola if bends and slopes[0] * slopes[1] > 0 else np.append(0.0, line)


def _distinct(fits: list[_Fit], height: int, vanishing_row: float) -> list[_Fit]:
    """The fits without near-copies of a better-supported one (a wide line, or a line with Botts' dots beside
    it, found twice): two lanes are one when they are closer than ``SAME_LANE`` of the road's width between them
    (the width grows with the distance below the vanishing point)."""
    rows = np.linspace(vanishing_row + 0.3 * (height - vanishing_row), height - 1, 20)
    kept: list[_Fit] = []
    for fit in sorted(fits, key=lambda fit: -fit.support):
        xs = np.polyval(fit.coefficients, rows)
        if all(np.mean(np.abs(xs - np.polyval(other.coefficients, rows)) / (rows - vanishing_row)) > SAME_LANE
               for other in kept):
            kept.append(fit)
    return kept


def _proposals(fits: list[_Fit], horizon: float, scale: float, width: int, height: int) -> list[LaneProposal]:
    """The fits as lanes on the full-size frame, cut to the image, in left-to-right order."""
    work_height = height * scale
    top = horizon + TOP_MARGIN * (work_height - horizon)
    rows = np.linspace(top, work_height - 1, 60)
    lanes = []
    for fit in fits:
        dense = np.column_stack([np.polyval(fit.coefficients, rows), rows]) / scale
        parts = polyline_inside_image(dense, width - 1, height - 1)
        part = max(parts, key=len, default=None)
        if part is None or len(part) < 2:
            continue
        picks = np.unique(np.linspace(0, len(part) - 1, CONTROL_POINTS).round().astype(int))
        lanes.append((part[picks], fit, float(np.polyval(fit.coefficients, work_height) / scale)))
    positions = places({index: crossing for index, (_, _, crossing) in enumerate(lanes)}, width)
    ordered = sorted(range(len(lanes)), key=lambda index: lanes[index][2])
    return [LaneProposal(lanes[i][0], positions[i], lanes[i][1].style, lanes[i][1].color, lanes[i][1].confidence)
            for i in ordered]


# ------------------------------------------------------------------------------------------------- the assistant


class LaneProposer(Assistant):
    """Lane lines found in the paint of each frame, linked over consecutive frames into new lanes."""

    name = "lanes"
    description = "proposes lane lines from the paint on each frame (no training)"
    produces = GEOMETRY
    learns = False

    def __init__(self, *, min_score: float = MIN_SCORE, max_lanes: int = MAX_LANES,
                 existing_px: float = EXISTING_PX, link_px: float = LINK_PX):
        self.min_score, self.max_lanes = float(min_score), int(max_lanes)
        self.existing_px, self.link_px = float(existing_px), float(link_px)

    def settings(self) -> dict:
        return {"min_score": self.min_score, "max_lanes": self.max_lanes, "existing_px": self.existing_px,
                "link_px": self.link_px}

    def suggest(self, context: AssistContext) -> Iterator[Suggestion]:
        found = list(self._new_lanes(context))
        chains = _link([lanes for _, lanes in found], self.link_px)
        colours: dict[int, Counter] = {}  # one colour per new lane (a track attribute): its frames' majority
        for (_, lanes), links in zip(found, chains, strict=True):
            for lane, chain in zip(lanes, links, strict=True):
                colours.setdefault(chain, Counter())[lane.color] += 1
        for (frame, lanes), links in zip(found, chains, strict=True):
            for lane, chain in zip(lanes, links, strict=True):
                yield Suggestion(frame, lane.confidence, class_name=LANE_CLASS,
                                 geometry=make_geometry(GeometryKind.POLYLINE, lane.points),
                                 attributes={"style": lane.style, "color": colours[chain].most_common(1)[0][0]},
                                 new_track=chain)

    def _new_lanes(self, context: AssistContext) -> Iterator[tuple[int, list[LaneProposal]]]:
        """(frame, its proposals that are not lanes labeled there already) for each frame of the range."""
        for by_frame in objects_by_frame(context.project, context.frame_range):
            for frame, objects in by_frame.items():
                image = np.asarray(context.frames[frame])
                labeled = [obj.state.geometry.points for obj in objects if is_lane_class(obj.track.class_name)]
                lanes = [lane for lane in propose_lanes(image, min_score=self.min_score, max_lanes=self.max_lanes,
                                                        where=f"frame {frame}")
                         if not any(lane_distance(lane.points, other, image.shape[0]) <= self.existing_px
                                    for other in labeled)]
                context.step()
                yield frame, lanes


def lane_distance(a: np.ndarray, b: np.ndarray, height: int, step: float = 5.0) -> float:
    """Mean |x difference| of two lanes ((N, 2) control points) over the image rows both reach; inf if none."""
    rows = np.arange(0.0, height, step)
    xa, xb = fit_lane(a).sample_rows(rows), fit_lane(b).sample_rows(rows)
    both = (xa != MISSING) & (xb != MISSING)
    return float(np.mean(np.abs(xa[both] - xb[both]))) if both.sum() >= 2 else float("inf")


def _link(frames: list[list[LaneProposal]], link_px: float) -> list[list[int]]:
    """A chain number for each proposal: a lane on the frame before it, within ``link_px``, passes its number on.

    Frames are consecutive in the list (the assistant's frame range); pairs are matched one-to-one, nearest first.
    """
    chains: list[list[int]] = []
    count = 0
    for index, lanes in enumerate(frames):
        numbers = [-1] * len(lanes)
        if index and lanes and frames[index - 1]:
            before = frames[index - 1]
            costs = np.array([[_link_cost(lane, other) for other in before] for lane in lanes])
            for row, column in zip(*linear_sum_assignment(np.minimum(costs, 1e9)), strict=True):
                if costs[row, column] <= link_px:
                    numbers[row] = chains[index - 1][column]
        for position, number in enumerate(numbers):
            if number < 0:
                numbers[position], count = count, count + 1
        chains.append(numbers)
    return chains


def _link_cost(lane: LaneProposal, other: LaneProposal) -> float:
    height = float(max(lane.points[:, 1].max(), other.points[:, 1].max())) + 1
    return lane_distance(lane.points, other.points, int(np.ceil(height)))
