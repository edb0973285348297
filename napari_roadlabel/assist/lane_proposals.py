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
4. The road model: on a road of constant curvature seen in perspective, every lane line is
   x = column + lean * d + bend / d, with d the depth below the horizon row: only the lean (the line's offset
   over the camera's height) is the line's own.  The lines' paint points are fitted together by least squares,
   the horizon row searched near the vanishing point's (errors capped at ``BAND``), then refitted on the
   points near each curve.  Sharing column and bend makes a dashed line or a short one as sure as the best
   line of its frame.
5. A lane is kept when its paint is line-like (one long stretch, or dashes: one short mark is an arrow or a
   stripe) and reaches towards the car (``NEAR_SUPPORT``: a line seen only far away has its near part guessed).
   Style: the share of image rows between the furthest and the nearest paint seen where the curve has paint:
   a dashed line has gaps.  Colour: yellow where the paint's yellowness contrast is a good share of its
   brightness contrast (white paint is no yellower than the road).
6. Each lane is traced from ``TOP_MARGIN`` below the horizon to where it leaves the image, snapped onto the
   centre of its paint (core/snap.py ``snap_to_paint``, as the annotator's clicks are: it follows a road that
   bends more far ahead than the model), with ``CONTROL_POINTS`` evenly along it.
7. Road edges (``road_edges=True``): beyond the outermost lanes, the outermost curve of the model along which
   the colour steps the same way on most rows (asphalt against grass or kerb), its lean searched.
8. Order: left to right by where each lane meets the bottom row (core/lane_order.py).

``LaneProposer`` (assistant "lanes") runs this on every frame of a range (road edges included), drops
proposals that lie on a lane already labeled there, and links them into tracks (``link_lanes``): one-to-one
matches frame to frame within a gate that widens with the frames missed, gaps of up to ``MAX_GAP`` frames
bridged and filled with the blend of the lanes either side, tracks that take turns on one lane merged, and
tracks shorter than ``MIN_FRAMES`` dropped.  Style, colour and kind are each a track's majority.  A proposal
that lies on a labeled lane says what the paint shows of that lane instead: its style and colour, as
attribute suggestions (``_labeled_lane_attributes``), so that a label the paint contradicts is found.
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
from ..core.lanes import MISSING, fit_lane, is_lane_class, sample_rows_many
from ..core.snap import bar_significance, paint_channels, snap_to_paint
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
SAME_LANE = 0.4  # leans closer than this (lateral m apart over the camera height): one lane
MAX_LINES = 12  # candidate lines looked at per frame
MIN_POINTS = 12  # a line needs paint on at least this many rows
VANISHING_TOLERANCE = 0.04  # of the width: a lane passes this close to the vanishing point
LEAN = 0.1  # dx/dy: a lane line of the left (right) side leans at least this much left (right)
HORIZON_SEARCH = 12  # px at WORK_WIDTH: the horizon is looked for this far above and below the vanishing point
NEAR_HORIZON = 3.0  # px: points closer to the horizon than this are left out (the model is steep there)
DENSE_ROWS = 200  # rows a proposed lane is traced at before its control points are picked
TOP_MARGIN = 0.05  # of the road's height: lanes stop this far below the vanishing point
NEAR_SUPPORT = 0.5  # a lane's paint reaches at least this share of the way from the horizon to its near end
RUN_GAP = 3  # rows: paint on rows this close is one stretch (a dash, a solid line)
MIN_RUN = 3  # rows: a shorter stretch is noise
LONG_RUN = 0.3  # of the rows below the horizon: one stretch this long is a solid line; shorter, one mark
DASHED_BELOW = 0.6  # share of rows with paint under which a line is dashed
YELLOW_SHARE = 0.5  # yellowness contrast over brightness contrast above which paint is yellow
FULL_EVIDENCE = 0.3  # share of the road's rows with paint that gives full confidence
CONTROL_POINTS = 12  # control points of a proposed lane
SNAP_PX = 6.0  # px at WORK_WIDTH: a proposed lane is moved this far at most onto its paint
MAX_LANES = 6  # proposals per frame at most (the best supported)
MIN_CONFIDENCE = 0.3  # weaker fits are not proposed (a guard rail, a car's edge seen on a few rows)
EDGE_MARGIN = 0.3  # a road edge is further out than the outermost lane by this lean (lateral m over camera height)
EDGE_REACH = 8.0  # and not further out than this lean
EDGE_STEP = 0.006  # the leans tried for a road edge
EDGE_ROW_STEP = 4.0  # px: rows a road edge is read at, at WORK_WIDTH
EDGE_OFFSET, EDGE_OFFSET_GROWTH = 3.0, 0.02  # px, and px per px below the horizon: the sides are read this far out
EDGE_PEAK = 0.2  # lean: a road edge's step is the strongest this far either side
EDGE_ROWS = 0.2  # of the rows below the horizon: a road edge is seen on at least this many
EDGE_BLUR = 5  # px: colours are averaged over a box this wide
EDGE_CONTRAST = 12.0  # grey levels: the least mean colour step along a road edge
LINK_PX = 20.0  # px: a lane moves less than this (mean over rows) from one frame to the next
GATE_GROWTH = 0.5  # the link gate widens by this share of LINK_PX per frame a lane was missed
MAX_GAP = 6  # frames: a lane missed on this many frames in a row is still the same lane when seen again
MIN_FRAMES = 8  # a lane seen on fewer frames is not proposed
MIN_PRESENCE = 0.5  # nor one seen on fewer than this share of the frames from its first to its last
ROW_STEP = 5.0  # px: lanes are compared at every ROW_STEP-th image row
MIN_SHARED_ROWS = 4  # two lanes are compared over at least this many rows
UNLINKED = 1e9  # the cost of a pair that cannot be linked
EXISTING_PX = 6.0  # px: a proposal this close (mean over rows) to a labeled lane is that lane
LANE_CLASS = "lane-line"
PAINT_STYLES = ("solid", "dashed")  # the styles the paint's continuity tells apart (not double lines, not dots)
PAINT_COLORS = ("white", "yellow")


@dataclass(frozen=True)
class LaneProposal:
    """One proposed lane line, in x, y pixels of the frame."""

    points: np.ndarray  # (K, 2) control points from the far end to the near end (a Catmull-Rom lane)
    position: int  # relative to the car, as core/lane_order.py: -1, -2, ... on the left, 1, 2, ... on the right
    style: str  # "solid" or "dashed"
    color: str  # "white" or "yellow"
    confidence: float  # 0..1
    kind: str = "lane-marking"  # or "road-edge": where the asphalt ends (``propose_lanes(road_edges=True)``)


@dataclass(frozen=True)
class _Paint:
    """Paint points of a frame at WORK_WIDTH: position, and contrast of brightness and of yellowness."""

    x: np.ndarray
    y: np.ndarray
    bright: np.ndarray
    yellow: np.ndarray


def propose_lanes(image: np.ndarray, *, min_score: float = MIN_SCORE, max_lanes: int = MAX_LANES,
                  min_confidence: float = MIN_CONFIDENCE, road_edges: bool = False,
                  where: str | None = None) -> list[LaneProposal]:
    """The lane lines painted on ``image`` ((H, W, 3) RGB or (H, W) grey, uint8), left to right.

    ``min_score``: how many times the local noise paint must stand out; at most ``max_lanes`` lanes, the best
    supported, each with at least ``min_confidence``; with ``road_edges`` also the edges of the asphalt beyond
    the outermost lanes (step 7).  GeometryError naming ``where`` for a bad image.
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
    groups = [inliers for line, inliers in lines
              if _distance_to_line(line, vanishing) <= VANISHING_TOLERANCE * small.shape[1]]
    road = _fit_road(paint, groups, vanishing)
    if road is None:
        return []
    fits = [fit for fit in (_lane_fit(paint, road, lean, small.shape) for lean in road.leans) if fit is not None]
    fits = [fit for fit in _distinct(fits) if fit.confidence >= min_confidence]
    fits = fits[:max_lanes]
    if road_edges and fits:
        fits += _road_edges(small, road, [fit.lean for fit in fits])
    return _proposals(fits, road, image, scale)


@dataclass(frozen=True)
class _Road:
    """The frame's lanes in perspective, at WORK_WIDTH, with d = y - row the depth below the horizon:
    lane i is x = column + leans[i] d + bend / d (parallel lines on a road of constant curvature)."""

    row: float  # the horizon
    column: float  # where the lanes head at the horizon
    bend: float  # the road's curvature (0 when straight)
    leans: np.ndarray  # one per lane: its offset from the car over the camera's height

    def x(self, lean: float, y: np.ndarray) -> np.ndarray:
        depth = np.asarray(y, dtype=float) - self.row
        return self.column + lean * depth + self.bend / depth


@dataclass(frozen=True)
class _Fit:
    lean: float
    style: str
    color: str
    confidence: float
    support: int  # rows with paint on the curve
    kind: str = "lane-marking"


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


def _fit_road(paint: _Paint, groups: list[np.ndarray], vanishing: np.ndarray) -> _Road | None:
    """The road model through the lines' paint points: the horizon row searched near the vanishing point's,
    each tried by a least-squares fit with the points' errors capped at ``BAND`` (a stray point counts as a
    miss, not as a pull); then refitted on the points near the curves, so a bend is followed."""
    if not groups:
        return None
    rows = vanishing[1] + np.arange(-HORIZON_SEARCH, HORIZON_SEARCH + 0.5, 1.0)
    fits = [_fit_lanes(paint, groups, row) for row in rows]
    scored = [(_capped_error(paint, groups, fit), index) for index, fit in enumerate(fits) if fit is not None]
    if not scored:
        return None
    road = fits[min(scored)[1]]
    for _ in range(2):
        groups = [np.flatnonzero((paint.y > road.row + NEAR_HORIZON)
                                 & (np.abs(road.x(lean, paint.y) - paint.x) <= BAND)) for lean in road.leans]
        groups = [group for group in groups if len(group) >= MIN_POINTS]
        refit = _fit_lanes(paint, groups, road.row) if groups else None
        if refit is None:
            break
        road = refit
    return road


def _fit_lanes(paint: _Paint, groups: list[np.ndarray], row: float) -> _Road | None:
    """The road model (``_Road``) by least squares over each group's points below ``row``, each weighted by the
    square root of its depth (far ahead the road may bend more or less than near the car, and a point there is
    many metres of road)."""
    kept = [group[paint.y[group] > row + NEAR_HORIZON] for group in groups]
    kept = [group for group in kept if len(group) >= MIN_POINTS]
    if not kept:
        return None
    points = np.concatenate(kept)
    depth = paint.y[points] - row
    design = np.zeros((len(points), 2 + len(kept)))
    design[:, 0], design[:, 1] = 1.0, 1.0 / depth
    lane = np.repeat(np.arange(len(kept)), [len(group) for group in kept])
    design[np.arange(len(points)), 2 + lane] = depth
    weight = np.sqrt(depth)[:, None]  # near points weigh more: the road bends less there than the model far off
    solution = np.linalg.lstsq(design * weight, paint.x[points] * weight[:, 0], rcond=None)[0]
    return _Road(row, float(solution[0]), float(solution[1]), solution[2:])


def _capped_error(paint: _Paint, groups: list[np.ndarray], road: _Road) -> float:
    """Mean squared distance of the groups' points from their nearest lane of the model, capped at BAND."""
    points = np.concatenate(groups)
    errors = np.abs(road.x(road.leans[:, None], paint.y[points]) - paint.x[points]).min(axis=0)
    return float(np.mean(np.minimum(errors, BAND) ** 2))


def _lane_fit(paint: _Paint, road: _Road, lean: float, shape: tuple[int, ...]) -> _Fit | None:
    """One lane of the model with its style, colour and confidence from the paint points on it; None when it has
    too few, or when they are all far away (``_seen_near``)."""
    height = shape[0]
    chosen = np.flatnonzero((paint.y > road.row + NEAR_HORIZON) & (np.abs(road.x(lean, paint.y) - paint.x) <= BAND))
    rows = np.unique(paint.y[chosen])
    runs = _runs(rows)
    if len(rows) < MIN_POINTS or not _line_like(runs, height - road.row) or not _seen_near(runs, road, lean, shape):
        return None
    coverage = len(rows) / (rows[-1] - rows[0] + 1)
    yellow = np.median(paint.yellow[chosen]) > YELLOW_SHARE * np.median(paint.bright[chosen])
    confidence = min(1.0, len(rows) / (FULL_EVIDENCE * (height - road.row)))
    return _Fit(float(lean), "dashed" if coverage < DASHED_BELOW else "solid", "yellow" if yellow else "white",
                float(confidence), len(rows))


def _seen_near(runs: list[np.ndarray], road: _Road, lean: float, shape: tuple[int, ...]) -> bool:
    """Whether the lane's paint (its stretches, not stray points: a crosswalk's stripes are near every line)
    reaches ``NEAR_SUPPORT`` of the way from the horizon to where the lane leaves the image: a lane seen only far
    away (its near part under a crosswalk) has its lean, so its place near the car, guessed from a short stretch;
    a track fills such a frame from its neighbours instead."""
    height, width = shape[:2]
    below = np.arange(np.ceil(road.row + NEAR_HORIZON), height)
    x = road.x(lean, below)
    outside = np.flatnonzero((x < 0) | (x > width - 1))
    lowest = below[outside[0] - 1] if len(outside) and outside[0] > 0 else height - 1
    return runs[-1][-1] - road.row >= NEAR_SUPPORT * (lowest - road.row)


def _runs(rows: np.ndarray) -> list[np.ndarray]:
    """The stretches of (sorted) rows with paint: dashes, a solid line; a stretch under ``MIN_RUN`` rows is noise."""
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > RUN_GAP) + 1)
    return [run for run in runs if len(run) >= MIN_RUN]


def _line_like(runs: list[np.ndarray], depth: float) -> bool:
    """Whether paint in these stretches is a lane line: one long stretch, or two or more (dashes), and not one
    short mark (an arrow in a lane, a crosswalk's stripe, a letter), which points at the horizon as a line does."""
    return len(runs) >= 2 or (len(runs) == 1 and runs[0][-1] - runs[0][0] + 1 >= LONG_RUN * depth)


def _distinct(fits: list[_Fit]) -> list[_Fit]:
    """The fits without near-copies of a better-supported one (a wide line, or a line with Botts' dots beside
    it, found twice): two lanes are one when their leans differ by less than ``SAME_LANE`` (the lanes' distance
    apart over the camera's height)."""
    kept: list[_Fit] = []
    for fit in sorted(fits, key=lambda fit: -fit.support):
        if all(abs(fit.lean - other.lean) > SAME_LANE for other in kept):
            kept.append(fit)
    return kept


def _road_edges(image: np.ndarray, road: _Road, leans: list[float]) -> list[_Fit]:
    """Where the asphalt ends beyond the outermost lanes: on each side the outermost curve of the road model (its
    lean searched) along which the colours on its two sides differ the same way all along (grass or kerb against
    asphalt), by at least ``EDGE_CONTRAST`` grey levels and more than at the curves near it.  The outermost,
    since the paint of a line nearby has its own edges, further in."""
    height, width = image.shape[:2]
    colour = cv2.blur(image.astype(np.float32), (EDGE_BLUR, EDGE_BLUR)).reshape(height, width, -1)
    rows = np.arange(road.row + max(TOP_MARGIN * (height - road.row), NEAR_HORIZON), height, EDGE_ROW_STEP)
    reach = EDGE_OFFSET + EDGE_OFFSET_GROWTH * (rows - road.row)  # px each side: the sides' colours are read there
    edges = []
    for start, stop in ((min(leans) - EDGE_MARGIN, -EDGE_REACH), (max(leans) + EDGE_MARGIN, EDGE_REACH)):
        candidates = np.arange(start, stop, EDGE_STEP * np.sign(stop))
        x = road.x(candidates[:, None], rows[None, :])
        left, right = np.rint(x - reach).astype(int), np.rint(x + reach).astype(int)
        inside = (left >= 0) & (right <= width - 1)
        rows_index = np.broadcast_to(np.rint(rows).astype(int).clip(0, height - 1), x.shape)
        difference = np.where(inside[..., None], colour[rows_index, right.clip(0, width - 1)]
                              - colour[rows_index, left.clip(0, width - 1)], 0.0)
        contrast = _consistent_step(difference, inside, EDGE_ROWS * len(rows))
        peaks = np.flatnonzero((contrast >= EDGE_CONTRAST) & (contrast == maximum_filter1d(
            contrast, 2 * int(EDGE_PEAK / EDGE_STEP) + 1, mode="constant")))
        best = int(peaks[-1]) if len(peaks) else -1  # the outermost: a line's own edges are further in
        if best >= 0:
            edges.append(_Fit(float(candidates[best]), "solid", "other", float(min(1.0, contrast[best] / (
                2 * EDGE_CONTRAST))), int(inside[best].sum()), "road-edge"))
    return edges


def _consistent_step(difference: np.ndarray, inside: np.ndarray, least_rows: float) -> np.ndarray:
    """How strongly each curve's (K, R, C) colour steps across it, ``inside`` the image on its (K, R) rows, go
    one way: the median over its rows of the step along the curve's mean step; 0 when seen on fewer than
    ``least_rows`` rows.  The median, since a crosswalk's stripe ends or a car make big steps on a few rows."""
    direction = difference.sum(axis=1)
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-9)
    along = np.where(inside, np.einsum("krc,kc->kr", difference, direction), np.nan)
    seen = inside.sum(axis=1) >= max(least_rows, 1)
    contrast = np.zeros(len(inside))
    contrast[seen] = np.nanmedian(along[seen], axis=1)
    return contrast


def _proposals(fits: list[_Fit], road: _Road, image: np.ndarray, scale: float) -> list[LaneProposal]:
    """The fits as lanes on the full-size frame, cut to the image, snapped onto their paint, in left-to-right
    order."""
    height, width = image.shape[:2]
    work_height = height * scale
    top = road.row + max(TOP_MARGIN * (work_height - road.row), NEAR_HORIZON)
    rows = np.linspace(top, work_height - 1, DENSE_ROWS)
    lanes = []
    for fit in fits:
        dense = np.column_stack([road.x(fit.lean, rows), rows]) / scale
        part = max(polyline_inside_image(dense, width - 1, height - 1), key=len, default=None)
        if part is None or len(part) < 2:
            continue
        points = _even(part, CONTROL_POINTS)
        points = _snapped(points, image) if fit.kind == "lane-marking" else points  # an edge has no paint
        lanes.append((points, fit, float(road.x(fit.lean, work_height) / scale)))
    positions = places({index: crossing for index, (_, _, crossing) in enumerate(lanes)}, width)
    ordered = sorted(range(len(lanes)), key=lambda index: lanes[index][2])
    return [LaneProposal(lanes[i][0], positions[i], lanes[i][1].style, lanes[i][1].color, lanes[i][1].confidence,
                         lanes[i][1].kind) for i in ordered]


def _even(polyline: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly spaced along a dense polyline (as many apart where it bends near the horizon as
    near the car), its ends among them."""
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(polyline, axis=0).T))])
    picks = np.searchsorted(arc, np.linspace(0, arc[-1], count)).clip(0, len(polyline) - 1)
    return polyline[np.unique(picks)]


def _snapped(points: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The lane moved onto the centre of its paint (core/snap.py, as the annotator's clicks are), where the
    model strays from it (a road that bends more far ahead, a line painted off true); kept in the image."""
    snap = snap_to_paint(fit_lane(points), image, max_shift=SNAP_PX * image.shape[1] / WORK_WIDTH)
    moved = _even(snap.controls, CONTROL_POINTS)
    return np.clip(moved, 0, [image.shape[1] - 1, image.shape[0] - 1])


# ------------------------------------------------------------------------------------------------- the assistant


class LaneProposer(Assistant):
    """Lane lines found in the paint of each frame, linked over the frames into new lanes (``link_lanes``)."""

    name = "lanes"
    description = "proposes lane lines from the paint on each frame (no training)"
    produces = GEOMETRY
    learns = False

    def __init__(self, *, min_score: float = MIN_SCORE, max_lanes: int = MAX_LANES,
                 existing_px: float = EXISTING_PX, link_px: float = LINK_PX, max_gap: int = MAX_GAP,
                 min_frames: int = MIN_FRAMES, road_edges: bool = True):
        self.min_score, self.max_lanes, self.road_edges = float(min_score), int(max_lanes), bool(road_edges)
        self.existing_px, self.link_px = float(existing_px), float(link_px)
        self.max_gap, self.min_frames = int(max_gap), int(min_frames)

    def settings(self) -> dict:
        return {"min_score": self.min_score, "max_lanes": self.max_lanes, "existing_px": self.existing_px,
                "link_px": self.link_px, "max_gap": self.max_gap, "min_frames": self.min_frames,
                "road_edges": self.road_edges}

    def suggest(self, context: AssistContext) -> Iterator[Suggestion]:
        on_labeled: dict[int, list[tuple[int, LaneProposal, dict]]] = {}
        found = list(self._new_lanes(context, on_labeled))
        height = context.frames[found[0][0]].shape[0] if found else 0
        tracks = link_lanes([lanes for _, lanes in found], height, link_px=self.link_px, max_gap=self.max_gap,
                            min_frames=self.min_frames)
        for number, members in enumerate(tracks):
            lanes = [found[index][1][which] for index, which in members]
            attributes = {name: Counter(getattr(lane, name) for lane in lanes).most_common(1)[0][0]
                          for name in ("style", "color", "kind")}  # one each per lane: a flicker is noise
            for index, points, confidence in _filled([index for index, _ in members], lanes, self.max_gap):
                yield Suggestion(found[index][0], confidence, class_name=LANE_CLASS,
                                 geometry=make_geometry(GeometryKind.POLYLINE, points),
                                 attributes=attributes, new_track=number)
        yield from self._labeled_lane_attributes(on_labeled)

    def _new_lanes(self, context: AssistContext, on_labeled: dict) -> Iterator[tuple[int, list[LaneProposal]]]:
        """(frame, its proposals that are not lanes labeled there already) for each frame of the range; the
        proposals that are go to ``on_labeled`` (track id -> [(frame, proposal, its attributes)])."""
        for by_frame in objects_by_frame(context.project, context.frame_range):
            for frame, objects in by_frame.items():
                image = np.asarray(context.frames[frame])
                labeled = [obj for obj in objects if is_lane_class(obj.track.class_name)]
                lanes = []
                for lane in propose_lanes(image, min_score=self.min_score, max_lanes=self.max_lanes,
                                          road_edges=self.road_edges, where=f"frame {frame}"):
                    same = next((obj for obj in labeled if lane_distance(lane.points, obj.state.geometry.points,
                                                                         image.shape[0]) <= self.existing_px), None)
                    if same is None:
                        lanes.append(lane)
                    else:
                        on_labeled.setdefault(same.track.id, []).append((frame, lane, same.attributes))
                context.step()
                yield frame, lanes

    def _labeled_lane_attributes(self, on_labeled: dict) -> Iterator[Suggestion]:
        """The paint's style and colour for lanes a person labeled: the majority over the frames (at least
        ``min_frames``) the proposer found the lane on, as sure as the share of them that agree.  Only where the
        label says one of the values the paint can tell (a double line or a curb is left alone); where a person
        set another value, the writer makes a confident one a QA finding, never an overwrite."""
        for track_id, seen in on_labeled.items():
            painted = [(frame, lane, labeled) for frame, lane, labeled in seen if lane.kind == "lane-marking"]
            if len(painted) < self.min_frames:
                continue
            for name, readable in (("style", PAINT_STYLES), ("color", PAINT_COLORS)):
                value, count = Counter(getattr(lane, name) for _, lane, _ in painted).most_common(1)[0]
                frames = [frame for frame, _, labeled in painted if labeled.get(name) in readable]
                if name == "color":
                    frames = frames[:1]  # a track-level attribute: one suggestion for the lane
                for frame in frames:
                    yield Suggestion(frame, count / len(painted), track_id=track_id, attributes={name: value})


def _filled(indices: list[int], lanes: list[LaneProposal], max_gap: int
            ) -> Iterator[tuple[int, np.ndarray, float]]:
    """(frame index, points, confidence) of a track's lanes, and on the frames of a gap of up to ``max_gap``
    frames between two of them, their blend (each row's x in proportion to the time between), at the lower of
    their confidences halved: the lane was not seen there."""
    for at, (index, lane) in enumerate(zip(indices, lanes, strict=True)):
        yield index, lane.points, lane.confidence
        if at + 1 < len(indices) and 1 < indices[at + 1] - index <= max_gap + 1:
            after, span = lanes[at + 1], indices[at + 1] - index
            for step in range(1, span):
                points = _blend(lane.points, after.points, step / span)
                if points is not None:
                    yield index + step, points, 0.5 * min(lane.confidence, after.confidence)


def _blend(first: np.ndarray, second: np.ndarray, share: float) -> np.ndarray | None:
    """The lane ``share`` of the way from ``first`` to ``second`` (control points), over the rows both reach."""
    rows = np.linspace(max(first[:, 1].min(), second[:, 1].min()), min(first[:, 1].max(), second[:, 1].max()),
                       DENSE_ROWS)
    xs = sample_rows_many([fit_lane(first), fit_lane(second)], rows)
    both = (xs != MISSING).all(axis=0)
    if both.sum() < 2:
        return None
    return _even(np.column_stack([xs[0] + share * (xs[1] - xs[0]), rows])[both], CONTROL_POINTS)


def lane_distance(a: np.ndarray, b: np.ndarray, height: int, step: float = 5.0) -> float:
    """Mean |x difference| of two lanes ((N, 2) control points) over the image rows both reach; inf if none."""
    rows = np.arange(0.0, height, step)
    xa, xb = fit_lane(a).sample_rows(rows), fit_lane(b).sample_rows(rows)
    both = (xa != MISSING) & (xb != MISSING)
    return float(np.mean(np.abs(xa[both] - xb[both]))) if both.sum() >= 2 else float("inf")


def link_lanes(frames: list[list[LaneProposal]], height: int, *, link_px: float = LINK_PX, max_gap: int = MAX_GAP,
               min_frames: int = MIN_FRAMES) -> list[list[tuple[int, int]]]:
    """The proposals of consecutive frames linked into tracks: each a list of (frame index, proposal index).

    The proposals are matched to each open track's last lane of their kind (a road edge is no lane marking)
    one-to-one (least total cost) by their mean |x difference| over the rows both reach (a lane moves little
    from frame to frame: carrying it on by its last motion carries the noise of two frames on too); a match
    must lie within ``link_px`` px, a gate that widens by half of that per frame missed.  A track missed on
    more than ``max_gap`` frames in a row ends.  Tracks that take turns on the frames of one lane are merged
    (``_stitched``).  Tracks seen on fewer than ``min_frames`` frames are dropped (a glimpse of a stripe or a
    letter, not a lane a person would keep), and so are tracks seen on under ``MIN_PRESENCE`` of the frames
    they span (a flicker: an arrow, a crosswalk).
    """
    rows = np.arange(0.0, height, ROW_STEP)
    xs = [sample_rows_many([fit_lane(lane.points) for lane in lanes], rows) if lanes else np.empty((0, rows.size))
          for lanes in frames]
    tracks: list[list[tuple[int, int]]] = []
    open_tracks: list[int] = []
    for index, seen in enumerate(xs):
        open_tracks = [t for t in open_tracks if index - tracks[t][-1][0] <= max_gap + 1]
        last = [tracks[t][-1] for t in open_tracks]
        gates = np.array([link_px * (1 + GATE_GROWTH * (index - frame - 1)) for frame, _ in last])
        costs = np.array([[_row_distance(seen[lane], xs[frame][other])
                           if frames[index][lane].kind == frames[frame][other].kind else np.inf
                           for frame, other in last] for lane in range(len(seen))]).reshape(len(seen), len(last))
        matched = set()
        if costs.size:
            for lane, column in zip(*linear_sum_assignment(np.minimum(costs, UNLINKED)), strict=True):
                if costs[lane, column] <= gates[column]:
                    tracks[open_tracks[column]].append((index, int(lane)))
                    matched.add(int(lane))
        for lane in range(len(seen)):
            if lane not in matched:
                tracks.append([(index, lane)])
                open_tracks.append(len(tracks) - 1)
    kinds = [frames[track[0][0]][track[0][1]].kind for track in tracks]
    tracks = _stitched(tracks, kinds, xs, link_px, max_gap)
    return [track for track in tracks if len(track) >= min_frames
            and len(track) >= MIN_PRESENCE * (track[-1][0] - track[0][0] + 1)]


def _stitched(tracks: list[list[tuple[int, int]]], kinds: list[str], xs: list[np.ndarray], link_px: float,
              max_gap: int) -> list[list[tuple[int, int]]]:
    """Tracks merged, closest first, when they are never on one frame and the lanes of each that are within
    ``max_gap`` frames of the other lie within the link gate of its lane nearest in time (a lane whose proposals
    strayed once and came back as a second track, the two taking turns); both of one kind."""
    tracks, kinds = [list(track) for track in tracks], list(kinds)
    while True:
        pairs = [(cost, first, second) for first, second in itertools.combinations(range(len(tracks)), 2)
                 if kinds[first] == kinds[second]
                 and (cost := _track_distance(tracks[first], tracks[second], xs, link_px, max_gap)) is not None]
        if not pairs:
            return tracks
        _, first, second = min(pairs)
        tracks[first] = sorted(tracks[first] + tracks.pop(second))
        kinds.pop(second)


def _track_distance(first, second, xs, link_px: float, max_gap: int) -> float | None:
    """The mean distance of the lanes of each track from the other's nearest in time (those within ``max_gap``
    frames of it), when all are within the gate their gap allows and the tracks share no frame; else None."""
    frames_first, frames_second = np.array([f for f, _ in first]), np.array([f for f, _ in second])
    if np.intersect1d(frames_first, frames_second).size:
        return None
    costs = []
    for mine, theirs, other in ((first, frames_second, second), (second, frames_first, first)):
        for frame, lane in mine:
            nearest = int(np.argmin(np.abs(theirs - frame)))
            gap = abs(int(theirs[nearest]) - frame)
            if gap > max_gap + 1:
                continue
            cost = _row_distance(xs[frame][lane], xs[other[nearest][0]][other[nearest][1]])
            if cost > link_px * (1 + GATE_GROWTH * (gap - 1)):
                return None
            costs.append(cost)
    return float(np.mean(costs)) if costs else None


def _row_distance(xa: np.ndarray, xb: np.ndarray) -> float:
    """Mean |x difference| over the rows both lanes reach (enough of them); inf otherwise."""
    both = (xa != MISSING) & (xb != MISSING)
    return float(np.mean(np.abs(xa[both] - xb[both]))) if both.sum() >= MIN_SHARED_ROWS else float("inf")
