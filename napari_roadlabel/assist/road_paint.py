"""Road paint across the road: stop lines, crosswalks and school zones, proposed as tracks.

How it works, per frame (``find_markings``), then over the clip (``RoadPaintProposer.suggest``):

1. **White paint.**  Whiteness is the brightness of ``core.snap.paint_channels`` less its yellowness (yellow
   centre lines are bright too, and are not transverse paint).  A pixel is paint when it stands
   ``MIN_CONTRAST`` grey levels above the darkest road near it along its row or its column (an erosion with
   a cross): a line across the road is dark above and below, a stripe along it dark left and right.
2. **Stop lines.**  In each row, runs of paint; a run longer than ``STOP_MIN_FRACTION`` of the image width
   is part of a bar across the road (lane paint at any depth is far narrower).  Consecutive rows of such
   runs form one bar; its polyline runs through the middle row, from its left end to its right end, each
   end taken in half a line width (the truth ends on the lane lines' centres, the paint on their outer side).
3. **Crosswalks.**  A row crossing a crosswalk holds many paint runs side by side (``CROSSWALK_MIN_BARS``),
   where lane paint makes at most a few.  Consecutive such rows are one crosswalk; its polygon joins the
   ends of its first and last rows, each pushed out by half the gap between the bars (the outline of the
   marking is the road's width; the bars are centred in it with half a gap to spare on either side).
4. **School zones.**  Redness, ``R - (G + B) / 2``, over ``SCHOOL_MIN_REDNESS`` in the lower part of the
   image; the mask is closed (lane paint crosses the zone) and its largest region's outline, simplified
   to ``OUTLINE_PX``, is the zone.
5. **Tracks.**  Each class's findings are linked over frames by their bounds (``box_tracks.link``); only the
   steady parts of a track are proposed (``_steady_runs``): far paint at the limit of being seen comes and
   goes from frame to frame, and is not labeled either.  A frame where a person already
   labeled that class in the same place (bounds IoU ``SAME_PLACE_IOU``) gets no proposal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import ClassVar

import cv2
import numpy as np

from ..core.geometry import Geometry, GeometryKind, bounds_iou, clip_polygon_to_image, make_geometry
from ..core.suggestions import LINE_MARGIN, PERSON_SOURCES, SAME_PLACE_IOU
from ..core.timeline import true_runs
from .base import GEOMETRY, Assistant, AssistContext, Suggestion
from .box_tracks import BoxTrack, Detection, link

STOP_LINE, CROSSWALK, SCHOOL_ZONE = "stop-line", "crosswalk", "school-zone"
YELLOW_MIN = 80.0  # grey levels of (R + G) / 2 - B: yellow paint, part of the road
ASPHALT_MAX_CHROMA = 24  # max - min of R, G, B of the asphalt (grey), grey levels
MIN_CONTRAST = 60.0  # grey levels a paint pixel stands above the road around it
ROAD_REACH = 0.06  # of the image width: how far along a row or column the road beside the paint is looked for
STOP_MIN_FRACTION = 0.2  # of the image width: a run of paint this long is a bar across the road
STOP_MAX_ROWS = 0.06  # of the image height: a thicker bright band is not a line
MIN_PAINT_PX = 0.5  # paint thinner than this is too faint to label (as sample.truth)
CROSSWALK_MIN_BARS = 6  # paint runs in one row that make a crosswalk
LIKE = np.log(1.6)  # bars of a crosswalk are alike: widths and gaps within this factor of their medians
BRIDGE_ROWS = 2  # rows of a crosswalk where its bars are not all seen
SCHOOL_MIN_REDNESS = 50.0  # grey levels of R - (G + B) / 2
SCHOOL_MIN_AREA = 0.002  # of the image area
LINE_MIN_BRIGHTNESS = 180.0  # grey levels: white paint beside a zone
LINE_MAX_SHARE = 0.04  # of the image width: a line along a zone's edge is narrower than this
PIECE_SHARE = 0.002  # a tinted region this big against the largest is part of the same zone
OUTLINE_PX = 1.0  # polygons are simplified to this
MIN_FRAMES = 6  # a track seen on fewer frames is a flicker


@dataclass(frozen=True)
class Marking:
    """One marking found on one frame."""

    class_name: str
    geometry: Geometry
    confidence: float


def find_markings(image: np.ndarray) -> list[Marking]:
    """The stop lines, crosswalks and school zones on one RGB frame."""
    image = np.asarray(image)
    road = road_area(image)
    paint, excess = white_paint(image)
    paint &= road
    rows = [true_runs(row) for row in paint]
    height, width = road.shape
    full = float(np.percentile(excess[paint], 90)) if paint.any() else 0.0
    return [*_stop_lines(rows, excess, full), *_crosswalks(rows, width - 1, height - 1),
            *_school_zones(image, road)]


def white_paint(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where white paint is (bool, H x W): whiteness well above the road beside it along its row or column,
    and nearer the brightest paint along its row than that road (thin gaps between far bars stay gaps); and
    how far above the road each pixel is (float32, grey levels)."""
    red, green, blue = (image[..., channel].astype(np.float32) for channel in range(3))
    brightness, yellowness = 0.299 * red + 0.587 * green + 0.114 * blue, (red + green) / 2 - blue
    whiteness = brightness - np.maximum(yellowness, 0)
    reach = max(3, int(ROAD_REACH * image.shape[1]))
    smooth = cv2.GaussianBlur(whiteness, (0, 0), 2.0)
    road = np.minimum(cv2.erode(smooth, np.ones((1, 2 * reach + 1), np.uint8)),
                      cv2.erode(smooth, np.ones((reach + 1, 1), np.uint8)))
    peak = cv2.dilate(whiteness, np.ones((1, reach // 2 * 2 + 1), np.uint8))
    excess = whiteness - road
    return (excess > MIN_CONTRAST) & (2 * whiteness > road + peak), excess


def road_area(image: np.ndarray) -> np.ndarray:
    """The road (bool, H x W): in each row, between the outermost grey pixels of the grey region that reaches
    the bottom of the image (the asphalt under the car), paint and tinted areas on it included."""
    red, green, blue = cv2.split(np.ascontiguousarray(image))
    chroma = cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue))
    grey = chroma < ASPHALT_MAX_CHROMA
    red, green, blue = (channel.astype(np.float32) for channel in (red, green, blue))
    tinted = (red - (green + blue) / 2 > SCHOOL_MIN_REDNESS) | ((red + green) / 2 - blue > YELLOW_MIN)
    grey = (grey | tinted).astype(np.uint8)
    size = max(3, image.shape[1] // 100) | 1
    grey = cv2.morphologyEx(grey, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(grey)
    bottom = labels[-1][labels[-1] > 0]
    road = np.zeros(grey.shape, bool)
    if bottom.size == 0:
        return road
    mask = labels == np.bincount(bottom).argmax()
    rows = np.flatnonzero(mask.any(axis=1))
    left = mask[rows].argmax(axis=1)
    right = mask.shape[1] - 1 - mask[rows, ::-1].argmax(axis=1)
    columns = np.arange(mask.shape[1])
    road[rows] = (columns >= left[:, None]) & (columns <= right[:, None])
    return road


def _bands(flags: Iterable[bool], bridge: int = 0) -> Iterator[tuple[int, int]]:
    """(first, last) of each stretch of True, across gaps of up to ``bridge`` False."""
    start = end = None
    for index, flag in enumerate(flags):
        if not flag:
            continue
        if start is not None and index - end > bridge + 1:
            yield start, end
            start = None
        start = index if start is None else start
        end = index
    if start is not None:
        yield start, end


def _stop_lines(rows: list[np.ndarray], excess: np.ndarray, full: float) -> list[Marking]:
    """Bars across the road; ``full`` is the contrast of paint that fills a pixel (its thickness ruler)."""
    longest = [runs[np.argmax(runs[:, 1] - runs[:, 0])] if len(runs) else None for runs in rows]
    wide = [run is not None and run[1] - run[0] >= STOP_MIN_FRACTION * excess.shape[1] for run in longest]
    found = []
    for first, last in _bands(wide):
        thickness = last - first + 1
        band = np.array(longest[first:last + 1], float)
        left, right = band[:, 0].min() + thickness / 4, band[:, 1].max() - 1 - thickness / 4
        too_thick = thickness > STOP_MAX_ROWS * len(rows) + 2
        if too_thick or _painted_rows(excess, first, last, left, right, full) < MIN_PAINT_PX:
            continue
        middle = (first + last) / 2
        found.append(Marking(STOP_LINE, make_geometry("polyline", [[left, middle], [right, middle]]), 0.8))
    return found


def _painted_rows(excess: np.ndarray, first: int, last: int, left: float, right: float, full: float) -> float:
    """How many rows thick the paint of a band is: its contrast summed down each column over the band and a
    row either side, over ``full``, blur or not (a thin far line is a faint smear over two rows), at the
    columns where it is least (between the bars of a crosswalk it may touch)."""
    columns = excess[max(first - 1, 0):last + 2, int(np.ceil(left)):int(right) + 1]
    return float(np.percentile(np.maximum(columns, 0).sum(axis=0), 25)) / max(full, 1e-6)


def _crosswalks(rows: list[np.ndarray], right: int, bottom: int) -> list[Marking]:
    bars = [_bar_row(runs) for runs in rows]
    found = []
    for first, last in _bands((row is not None for row in bars), bridge=BRIDGE_ROWS):
        kept = [index for index in range(first, last + 1) if bars[index] is not None]
        if len(kept) < 2:
            continue
        top, low = _row_extent(bars[kept[0]]), _row_extent(bars[kept[-1]])
        y0, y1 = kept[0] - 0.5, kept[-1] + 0.5
        polygon = [[top[0], y0], [top[1], y0], [low[1], y1], [low[0], y1]]
        polygon = np.array(polygon)
        # A crosswalk running off the image is seen in part: where its outline runs outside is unknown.
        if polygon.min() >= -0.5 and polygon[:, 0].max() <= right + 0.5 and polygon[:, 1].max() <= bottom + 0.5:
            polygon = clip_polygon_to_image(polygon, right, bottom)
            found.append(Marking(CROSSWALK, make_geometry("polygon", polygon), 0.8))
    return found


def _bar_row(runs: np.ndarray) -> np.ndarray | None:
    """The runs of a row that are crosswalk bars: the longest chain of at least ``CROSSWALK_MIN_BARS`` runs of
    like widths at like gaps; None when there is none."""
    if len(runs) < CROSSWALK_MIN_BARS:
        return None
    widths, gaps = runs[:, 1] - runs[:, 0], runs[1:, 0] - runs[:-1, 1]
    like_width = np.abs(np.log(widths / np.median(widths))) < LIKE
    like_gap = np.abs(np.log(gaps / np.median(gaps))) < LIKE
    regular = like_gap & like_width[1:] & like_width[:-1]
    chains = [(last - first, first, last) for first, last in _bands(regular)]
    if not chains:
        return None
    length, first, last = max(chains)
    return runs[first:last + 2] if length + 2 >= CROSSWALK_MIN_BARS else None


def _row_extent(runs: np.ndarray) -> tuple[float, float]:
    """Left and right end of a row of crosswalk bars, each pushed out by half the gap between bars."""
    half_gap = float(np.median(runs[1:, 0] - runs[:-1, 1])) / 2
    return runs[0, 0] - 0.5 - half_gap, runs[-1, 1] - 0.5 + half_gap


def _school_zones(image: np.ndarray, road: np.ndarray) -> list[Marking]:
    red, green, blue = (image[..., channel].astype(np.float32) for channel in range(3))
    tinted = (red - (green + blue) / 2 > SCHOOL_MIN_REDNESS) & (green - blue < YELLOW_MIN / 2)  # not yellow paint
    zone = (tinted & road).astype(np.uint8)
    size = max(3, image.shape[1] // 200) | 1
    zone = cv2.morphologyEx(zone, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    regions, labels, stats, _ = cv2.connectedComponentsWithStats(zone)
    if regions < 2:
        return []
    areas = stats[:, cv2.CC_STAT_AREA].copy()
    areas[0] = 0
    if areas.max() < SCHOOL_MIN_AREA * zone.size:
        return []
    # Lane paint and crosswalk bars cut the zone into pieces: all its sizeable pieces are one zone.
    pieces = np.flatnonzero(areas >= PIECE_SHARE * areas.max())
    region = np.isin(labels, pieces)
    return [Marking(SCHOOL_ZONE, make_geometry("polygon", _row_outline(region, _lines_beside(image, region))), 0.8)]


def _lines_beside(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Paint (yellow or white, H x W bool) that touches the region along its rows: a zone is bounded by the
    middle of the lines painted over its edges."""
    red, green, blue = (image[..., channel].astype(np.float32) for channel in range(3))
    brightness = 0.299 * red + 0.587 * green + 0.114 * blue
    return (((red + green) / 2 - blue > YELLOW_MIN) | (brightness > LINE_MIN_BRIGHTNESS)) & ~region


def _row_outline(region: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """The outline through the first and last pixel of each row of a region (paint on it, which cuts notches
    and holes in it, is inside), moved out by half the width of the ``lines`` just beyond them, simplified to
    ``OUTLINE_PX``."""
    rows = np.flatnonzero(region.any(axis=1))
    first = region[rows].argmax(axis=1)
    last = region.shape[1] - 1 - region[rows, ::-1].argmax(axis=1)
    left = first - 0.5 - _run_length(lines[rows], first - 1, -1) / 2
    right = last + 0.5 + _run_length(lines[rows], last + 1, 1) / 2
    right_x, bottom_y = region.shape[1] - 1, region.shape[0] - 1
    left, right = np.clip(left, 0, right_x), np.clip(right, 0, right_x)
    ys = np.clip(rows.astype(float), 0, bottom_y)
    ys[0], ys[-1] = max(ys[0] - 0.5, 0), min(ys[-1] + 0.5, bottom_y)
    outline = np.concatenate([np.stack([left, ys], 1), np.stack([right, ys], 1)[::-1]]).astype(np.float32)
    return cv2.approxPolyDP(outline[:, None], OUTLINE_PX, True)[:, 0].astype(float)


def _run_length(rows: np.ndarray, start: np.ndarray, step: int) -> np.ndarray:
    """For each row, how many pixels from ``start`` on (going ``step``) are True in a row; 0 where that is
    ``LINE_MAX_SHARE`` of the width or more (a crosswalk bar or a stop line, not a line along the edge)."""
    longest = max(2, int(LINE_MAX_SHARE * rows.shape[1]))
    count = np.zeros(len(rows))
    going = np.ones(len(rows), bool)
    for offset in range(longest):
        columns = start + step * offset
        inside = (columns >= 0) & (columns < rows.shape[1])
        going &= inside
        going[inside] &= rows[np.flatnonzero(inside), columns[inside]]
        count += going
    return np.where(count < longest, count, 0.0)


class RoadPaintProposer(Assistant):
    name = "road-paint"
    description = "proposes stop lines, crosswalks and school zones from the paint on the road"
    produces = GEOMETRY
    learns = False
    CLASSES: ClassVar[tuple[str, ...]] = (STOP_LINE, CROSSWALK, SCHOOL_ZONE)

    def settings(self) -> dict:
        return {"min_contrast": MIN_CONTRAST, "min_frames": MIN_FRAMES}

    def suggest(self, context: AssistContext) -> Iterator[Suggestion]:
        found: dict[str, list[list[Detection]]] = {name: [] for name in self.CLASSES}
        shapes: dict[tuple[int, tuple], Geometry] = {}
        for frame in context.frame_range:
            by_class: dict[str, list[Detection]] = {name: [] for name in self.CLASSES}
            for marking in find_markings(context.frames[frame]):
                bounds = _link_bounds(marking.geometry)
                by_class[marking.class_name].append(Detection(frame, bounds, marking.confidence))
                shapes[frame, bounds] = marking.geometry
            for name, detections in by_class.items():
                found[name].append(detections)
            context.step()
        numbers = count(1)
        for name, frames in found.items():
            labeled = _person_labels(context, name)
            for detections in _steady_runs(link(frames)):
                number = next(numbers)
                for detection in detections:
                    if any(bounds_iou(detection.bounds, other) >= SAME_PLACE_IOU
                           for other in labeled.get(detection.frame, ())):
                        continue
                    yield Suggestion(detection.frame, detection.confidence, name,
                                     geometry=shapes[detection.frame, detection.bounds], new_track=number)


def _steady_runs(tracks: Iterable[BoxTrack]) -> Iterator[list[Detection]]:
    """The parts of each track seen steadily: a stretch of at least ``MIN_FRAMES`` consecutive frames, grown by
    the stretches of two frames or more next to it across one missed frame (a blurred frame).  Far paint at
    the limit of being seen comes and goes in shorter stretches; it is not labeled either.  (``link`` stitches
    across longer gaps, for boxes a detector misses.)"""
    for track in tracks:
        frames = np.array([detection.frame for detection in track.detections])
        pieces = np.split(np.arange(len(frames)), np.flatnonzero(np.diff(frames) > 1) + 1)
        close = [frames[after[0]] - frames[before[-1]] <= 2
                 for before, after in zip(pieces[:-1], pieces[1:], strict=True)]
        kept = [len(piece) >= MIN_FRAMES for piece in pieces]
        grown = True
        while grown:
            grown = False
            for index, piece in enumerate(pieces):
                beside = (index > 0 and close[index - 1] and kept[index - 1]) or \
                    (index < len(close) and close[index] and kept[index + 1])
                if not kept[index] and len(piece) >= 2 and beside:
                    kept[index] = grown = True
        run: list[Detection] = []
        for index, piece in enumerate(pieces):
            if kept[index]:
                run += [track.detections[at] for at in piece]
            if run and (not kept[index] or index == len(close) or not close[index]):
                yield run
                run = []


def _link_bounds(geometry: Geometry) -> tuple[float, ...]:
    """Bounds to link by: a line's grown by ``LINE_MARGIN`` (a straight stop line has no height)."""
    x0, y0, x1, y1 = geometry.bounds()
    margin = LINE_MARGIN if geometry.kind is GeometryKind.POLYLINE else 0.0
    return x0 - margin, y0 - margin, x1 + margin, y1 + margin


def _person_labels(context: AssistContext, class_name: str) -> dict[int, list[tuple]]:
    """Bounds of the states a person made of this class, by frame."""
    project = context.project
    labeled: dict[int, list[tuple]] = {}
    for track in project.tracks():
        if track.class_name != class_name:
            continue
        for state in project.states_of(track.id):
            if state.source in PERSON_SOURCES:
                labeled.setdefault(state.frame, []).append(_link_bounds(state.geometry))
    return labeled
