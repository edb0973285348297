"""Ground truth: every labelled object's geometry on every frame where it can be seen.

An object is labelled on a frame when part of it is ahead of the near plane and
inside the image, big enough to be seen: road paint (crosswalk, school zone,
arrow, stop line) at least MIN_PAINT_PX high and wide in the picture, with an
area of 1 px^2; a lane line over at least 1 px of length (lines are labelled up
to LABEL_FAR_M); a light or sign at least MIN_BOX_PX wide and high.  Points are
kept within the centres of the border pixels (0..width-1, 0..height-1).
Labels ignore occlusion (a far lane line passing behind a roadside pole on a
sharp curve stays labelled, as annotators do).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from ..core import FrameRangeTag, FrameState, Geometry, Track, box, make_geometry
from ..core.geometry import clip_polygon_to_image
from ..core.timeline import true_runs
from .layout import Arrow, Crosswalk, LaneLine, Layout, Panel, SchoolZone, Sign, StopLine, TrafficLight
from .scene import NEAR_M, View

LABEL_FAR_M = 70.0  # lane lines are labelled up to this distance
LINE_POINTS = 10  # points of a lane line's polyline (fewer when it is short in the image)
MIN_POINT_SPACING_PX = 6.0
MIN_BOX_PX = 2.0
MIN_PAINT_PX = 0.5  # thinner paint covers under half a pixel: too faint to label
SIMPLIFY_PX = 0.2  # polygons drop corners that move their outline by less than this
SAMPLES = 256  # a curve is scanned at this many points to find its visible part

Observation = tuple[Geometry, dict[str, Any]]


def label_sequence(layout: Layout, views: list[View]) -> tuple[list[Track], list[FrameState], list[FrameRangeTag]]:
    """Tracks (ids 1..N in layout order), their states on every frame they are visible, then the tags."""
    items = layout.labelled()
    tracks = [Track(number, item.class_name, dict(item.track_attributes)) for number, item in enumerate(items, 1)]
    states = []
    for frame, view in enumerate(views):
        for track, item in zip(tracks, items, strict=True):
            seen = observe(item, view, frame)
            if seen is not None:
                states.append(FrameState(track.id, frame, seen[0], seen[1]))
    return tracks, states, _tags(layout, views, first_id=len(tracks) + 1)


def _tags(layout: Layout, views: list[View], first_id: int) -> list[FrameRangeTag]:
    tags = [FrameRangeTag(first_id, "scene", 0, len(views) - 1, {"weather": "clear", "time-of-day": "day"})]
    for zone in layout.school_zones:
        inside = [frame for frame, view in enumerate(views) if zone.S0 <= view.pose.distance_m <= zone.S1]
        if inside:  # the car only drives forward, so these frames are consecutive
            tags.append(FrameRangeTag(first_id + len(tags), "school-zone-active", inside[0], inside[-1]))
    return tags


@functools.singledispatch
def observe(item, view: View, frame: int) -> Observation | None:
    """The item's geometry and per-frame attributes on this frame, or None where it is not visible."""
    raise TypeError(f"no ground truth for {type(item).__name__}")


@observe.register
def _(line: LaneLine, view: View, frame: int) -> Observation | None:
    points = _trace_along(view, line.d, view.pose.distance_m + NEAR_M, view.pose.distance_m + LABEL_FAR_M,
                          LINE_POINTS)
    return None if points is None else (make_geometry("polyline", points), {"style": line.style})


@observe.register
def _(arrow: Arrow, view: View, frame: int) -> Observation | None:
    if not _painted(view, arrow):
        return None
    tail = max(arrow.S, view.pose.distance_m + NEAR_M)
    points = _trace_along(view, arrow.d, tail, arrow.tip, 3)
    return None if points is None else (make_geometry("polyline", points), {})


@observe.register
def _(line: StopLine, view: View, frame: int) -> Observation | None:
    if not _painted(view, line):
        return None
    points = _trace(lambda d: view.project_road(line.S, d)[0], line.d0, line.d1, 2, view)
    return None if points is None else (make_geometry("polyline", points), {})


@observe.register(Crosswalk)
@observe.register(SchoolZone)
def _(area: Crosswalk | SchoolZone, view: View, frame: int) -> Observation | None:
    polygon = _visible_area(view, area.outline)
    return None if polygon is None else (make_geometry("polygon", polygon), {})


@observe.register
def _(light: TrafficLight, view: View, frame: int) -> Observation | None:
    housing = _box(view, light.housing(frame))
    return None if housing is None else (housing, {"state": light.states[frame], "flashing": False})


@observe.register
def _(sign: Sign, view: View, frame: int) -> Observation | None:
    face = _box(view, sign.face())
    return None if face is None else (face, {})


def _painted(view: View, marking: Arrow | StopLine) -> bool:
    """Whether any of a marking's paint can be seen."""
    return any(_visible_area(view, paint.outline) is not None for paint in marking.paints())


def _visible_area(view: View, outline: np.ndarray) -> np.ndarray | None:
    """The visible part of a road-surface outline as a simplified image polygon, or None if too small."""
    polygon = view.project_area(outline)
    if polygon is None:
        return None
    right, bottom = view.camera.last_pixel
    polygon = clip_polygon_to_image(polygon, right, bottom)
    if len(polygon) < 3:
        return None
    if (np.ptp(polygon, axis=0) < MIN_PAINT_PX).any() or cv2.contourArea(polygon.astype(np.float32)) < 1.0:
        return None
    simplified = cv2.approxPolyDP(polygon.astype(np.float32)[:, None], SIMPLIFY_PX, True)[:, 0]
    return simplified.astype(np.float64) if len(simplified) >= 3 else None


def _box(view: View, panel: Panel) -> Geometry | None:
    """Tight box of an upright panel's visible part."""
    corners = view.project_upright(panel.S, panel.d0, panel.d1, panel.bottom, panel.top)
    if corners is None:
        return None
    low = np.maximum(corners.min(axis=0), 0.0)
    high = np.minimum(corners.max(axis=0), view.camera.last_pixel)
    if (high - low < MIN_BOX_PX).any():
        return None
    return box(*low, *high)


def _trace_along(view: View, d: float, S_from: float, S_to: float, count: int) -> np.ndarray | None:
    """Polyline along the road at ``d`` from S_from to S_to, near to far, evenly spaced in image rows.

    Rows below the horizon go with 1/distance, so the curve is walked in steps of 1/distance.
    """
    car = view.pose.distance_m
    return _trace(lambda inverse: view.project_road(car + 1 / inverse, d)[0], 1 / (S_from - car), 1 / (S_to - car),
                  count, view)


def _trace(point_at: Callable[[np.ndarray], np.ndarray], start: float, end: float, count: int,
           view: View) -> np.ndarray | None:
    """Up to ``count`` image points of the longest visible stretch of a curve, evenly spaced in its parameter."""
    right, bottom = view.camera.last_pixel

    def visible(t: np.ndarray) -> np.ndarray:
        x, y = point_at(np.atleast_1d(t)).T
        return (x >= 0) & (x <= right) & (y >= 0) & (y <= bottom)

    params = np.linspace(start, end, SAMPLES)
    run = _longest_run(visible(params))
    if run is None:
        return None
    first, last = run
    low = params[first] if first == 0 else _edge(visible, params[first - 1], params[first])
    high = params[last] if last == SAMPLES - 1 else _edge(visible, params[last + 1], params[last])
    length = np.hypot(*np.diff(point_at(np.linspace(low, high, SAMPLES)), axis=0).T).sum()
    if length < 1.0:
        return None
    count = int(np.clip(length // MIN_POINT_SPACING_PX + 1, 2, count))
    return np.clip(point_at(np.linspace(low, high, count)), 0.0, (right, bottom))


def _longest_run(flags: np.ndarray) -> tuple[int, int] | None:
    """(first, last) index of the longest stretch of True."""
    runs = true_runs(flags)
    if not len(runs):
        return None
    start, stop = runs[np.argmax(runs[:, 1] - runs[:, 0])].tolist()
    return start, stop - 1


def _edge(visible: Callable[[np.ndarray], np.ndarray], outside: float, inside: float) -> float:
    """The parameter where the curve enters the image, to well under a pixel (four rounds of 32 steps)."""
    for _ in range(4):
        steps = np.linspace(outside, inside, 33)
        first = int(np.argmax(visible(steps)))  # the inside end is visible, so there is one
        outside, inside = steps[first - 1], steps[first]
    return inside
