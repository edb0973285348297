"""What stands and is painted along the road, in road coordinates (S along, d across; see scene.py).

The road carries an oncoming lane left of the yellow centre line and two lanes
in the car's direction; the car drives in the left one.  The route is cut into
segments of about SEGMENT_M, each ending at a signalled crossing (stop line,
crosswalk, overhead traffic light) with a direction arrow, a speed-limit sign
and a stop sign before it; one school zone covers the middle of the route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

LINE_WIDTH_M = 0.15
DASH_M, DASH_PERIOD_M = 3.0, 12.0  # 3 m dashes, 9 m gaps
LEFT_SHOULDER_M, RIGHT_SHOULDER_M = 0.6, 1.0
ROADSIDE_M = 1.5  # from the asphalt edge to posts and poles
SEGMENT_M = 120.0
SPEED_LIMITS = (25, 35, 45, 55, 65)


@dataclass(frozen=True)
class Paint:
    """An area painted on the road: (N, 2) outline of (S, d) and a colour name of render.PALETTE."""

    outline: np.ndarray
    color: str


@dataclass(frozen=True)
class Panel:
    """A flat upright rectangle facing along the road (a sign face, a lamp housing, a pole) with its picture."""

    S: float
    d0: float
    d1: float
    bottom: float  # height above the road, m
    top: float
    look: str  # sprite name, see render.Sprites


def asphalt_edges(lane_width: float) -> tuple[float, float]:
    """d of the left and right edges of the asphalt: the oncoming lane, our two lanes and the shoulders."""
    return -lane_width - LEFT_SHOULDER_M, 2 * lane_width + RIGHT_SHOULDER_M


def _rectangle(S0: float, S1: float, d0: float, d1: float) -> np.ndarray:
    return np.array([[S0, d0], [S1, d0], [S1, d1], [S0, d1]], dtype=np.float64)


@dataclass(frozen=True)
class LaneLine:
    d: float
    color: str  # taxonomy value: white, yellow, or other for the unpainted road edge
    kind: str  # lane-marking or road-edge
    style: str  # solid or dashed
    dash_phase: float = 0.0  # S of the start of a dash

    class_name = "lane-line"

    @property
    def track_attributes(self) -> dict[str, Any]:
        return {"color": self.color, "kind": self.kind}

    def paints(self, S_from: float, S_to: float) -> list[Paint]:
        if self.kind == "road-edge":
            return []  # the edge of the asphalt, drawn with the asphalt
        return [Paint(_rectangle(S0, S1, self.d - LINE_WIDTH_M / 2, self.d + LINE_WIDTH_M / 2), self.color)
                for S0, S1 in self._painted_spans(S_from, S_to)]

    def _painted_spans(self, S_from: float, S_to: float) -> list[tuple[float, float]]:
        if self.style == "solid":
            return [(S_from, S_to)]
        first = np.floor((S_from - self.dash_phase) / DASH_PERIOD_M) * DASH_PERIOD_M + self.dash_phase
        starts = np.arange(first, S_to, DASH_PERIOD_M)
        return [(max(S0, S_from), min(S0 + DASH_M, S_to)) for S0 in starts if S0 + DASH_M > S_from]


@dataclass(frozen=True)
class Arrow:
    """A straight-ahead arrow painted in a lane: tail at ``S``, head LENGTH_M further."""

    S: float
    d: float

    LENGTH_M, HEAD_M, SHAFT_WIDTH_M, HEAD_WIDTH_M = 7.0, 2.0, 0.25, 0.9
    class_name = "traffic-direction"
    track_attributes: ClassVar[dict[str, Any]] = {"flow": "two-way"}

    @property
    def tip(self) -> float:
        return self.S + self.LENGTH_M

    def paints(self) -> list[Paint]:
        neck, shaft, head = self.tip - self.HEAD_M, self.SHAFT_WIDTH_M / 2, self.HEAD_WIDTH_M / 2
        outline = [[self.S, self.d - shaft], [neck, self.d - shaft], [neck, self.d - head], [self.tip, self.d],
                   [neck, self.d + head], [neck, self.d + shaft], [self.S, self.d + shaft]]
        return [Paint(np.array(outline, dtype=np.float64), "white")]


@dataclass(frozen=True)
class StopLine:
    S: float  # middle of the painted band
    d0: float
    d1: float

    WIDTH_M = 0.45
    class_name = "stop-line"
    track_attributes: ClassVar[dict[str, Any]] = {}

    def paints(self) -> list[Paint]:
        half = self.WIDTH_M / 2
        return [Paint(_rectangle(self.S - half, self.S + half, self.d0, self.d1), "white")]


@dataclass(frozen=True)
class Crosswalk:
    """Bars along the road across its whole width; labelled as the outline of all bars."""

    S0: float
    S1: float
    d0: float
    d1: float

    BAR_M, GAP_M = 0.5, 0.55
    class_name = "crosswalk"
    track_attributes: ClassVar[dict[str, Any]] = {}

    @property
    def outline(self) -> np.ndarray:
        return _rectangle(self.S0, self.S1, self.d0, self.d1)

    def paints(self) -> list[Paint]:
        count = int((self.d1 - self.d0 + self.GAP_M) // (self.BAR_M + self.GAP_M))
        lefts = self.d0 + np.arange(count) * (self.BAR_M + self.GAP_M)
        lefts += (self.d1 - (lefts[-1] + self.BAR_M)) / 2  # centre the bars
        return [Paint(_rectangle(self.S0, self.S1, left, left + self.BAR_M), "white") for left in lefts]


@dataclass(frozen=True)
class SchoolZone:
    """A red-tinted stretch of the car's carriageway."""

    S0: float
    S1: float
    d0: float
    d1: float

    class_name = "school-zone"
    track_attributes: ClassVar[dict[str, Any]] = {}

    @property
    def outline(self) -> np.ndarray:
        return _rectangle(self.S0, self.S1, self.d0, self.d1)

    def paints(self) -> list[Paint]:
        return [Paint(self.outline, "school")]


@dataclass(frozen=True)
class TrafficLight:
    """A vertical three-lamp light hanging from an arm over the lane at ``d``, its pole at ``pole_d``."""

    S: float
    d: float
    pole_d: float
    states: tuple[str, ...]  # lit lamp on every frame

    WIDTH_M, BOTTOM_M, TOP_M = 0.45, 4.8, 6.0
    class_name = "traffic-light"
    track_attributes: ClassVar[dict[str, Any]] = {"face": "circle", "orientation": "vertical"}

    def housing(self, frame: int) -> Panel:
        half = self.WIDTH_M / 2
        return Panel(self.S, self.d - half, self.d + half, self.BOTTOM_M, self.TOP_M, f"light-{self.states[frame]}")

    def panels(self, frame: int) -> list[Panel]:
        pole = Panel(self.S, self.pole_d - 0.1, self.pole_d + 0.1, 0.0, self.TOP_M + 0.2, "metal")
        arm = Panel(self.S, min(self.d, self.pole_d), max(self.d, self.pole_d), self.TOP_M, self.TOP_M + 0.15, "metal")
        return [pole, arm, self.housing(frame)]


@dataclass(frozen=True)
class Sign:
    """A sign on a post at the roadside: a speed limit (white, black number) or a stop sign (red octagon)."""

    S: float
    d: float
    type: str  # speed-limit or stop
    value: int | None = None  # the speed limit

    BOTTOM_M = 2.0
    class_name = "traffic-sign"

    @property
    def track_attributes(self) -> dict[str, Any]:
        if self.type == "speed-limit":
            return {"type": self.type, "value": self.value, "unit": "mph"}
        return {"type": self.type}

    def face(self) -> Panel:
        width, height = (0.6, 0.75) if self.type == "speed-limit" else (0.75, 0.75)
        look = f"speed-limit-{self.value}" if self.type == "speed-limit" else "stop"
        return Panel(self.S, self.d - width / 2, self.d + width / 2, self.BOTTOM_M, self.BOTTOM_M + height, look)

    def panels(self, frame: int) -> list[Panel]:
        post = Panel(self.S + 0.05, self.d - 0.04, self.d + 0.04, 0.0, self.BOTTOM_M + 0.1, "metal")
        return [post, self.face()]


@dataclass(frozen=True)
class Layout:
    lane_width: float
    lines: tuple[LaneLine, ...]
    arrows: tuple[Arrow, ...]
    stop_lines: tuple[StopLine, ...]
    crosswalks: tuple[Crosswalk, ...]
    lights: tuple[TrafficLight, ...]
    signs: tuple[Sign, ...]
    school_zones: tuple[SchoolZone, ...]

    @property
    def asphalt(self) -> tuple[float, float]:
        return asphalt_edges(self.lane_width)

    def labelled(self) -> tuple:
        """Every labelled object, in the order their track ids are given."""
        return (self.lines + self.arrows + self.stop_lines + self.crosswalks + self.lights + self.signs
                + self.school_zones)

    def paints(self, S_from: float, S_to: float) -> list[Paint]:
        """Everything painted on the road between S_from and S_to, in drawing order (asphalt first)."""
        left, right = self.asphalt
        marks = [self.school_zones, self.stop_lines, self.crosswalks, self.arrows]
        nearby = [paint for group in marks for item in group for paint in item.paints()
                  if paint.outline[:, 0].max() > S_from and paint.outline[:, 0].min() < S_to]
        zones = [paint for paint in nearby if paint.color == "school"]
        lines = [paint for line in self.lines for paint in line.paints(S_from, S_to)]
        others = [paint for paint in nearby if paint.color != "school"]
        return [Paint(_rectangle(S_from, S_to, left, right), "asphalt"), *zones, *lines, *others]

    def panels(self, frame: int) -> list[Panel]:
        return [panel for item in self.lights + self.signs for panel in item.panels(frame)]


def make_layout(lane_width: float, distances: np.ndarray, rng: np.random.Generator) -> Layout:
    """Objects along a route the car drives over ``distances`` (its S on each frame)."""
    route = float(distances[-1])
    count = max(1, round(route / SEGMENT_M))
    length = route / count
    left_edge, right_edge = asphalt_edges(lane_width)
    lane_centre = lane_width / 2
    lines = (
        LaneLine(left_edge, "other", "road-edge", "solid"),
        LaneLine(0.0, "yellow", "lane-marking", "solid"),
        LaneLine(lane_width, "white", "lane-marking", "dashed", dash_phase=float(rng.uniform(0, DASH_PERIOD_M))),
        LaneLine(2 * lane_width, "white", "lane-marking", "solid"),
        LaneLine(right_edge, "other", "road-edge", "solid"),
    )
    # Each segment's objects are placed from its end, where the car is when the segment's frames end: the
    # crossing is just ahead then, and the arrow and the speed-limit sign have just left the view.
    ends = [(index + 1) * length for index in range(count)]
    limits = rng.choice(SPEED_LIMITS, size=count)
    zone_start = 0.35 * route + 5
    return Layout(
        lane_width=lane_width,
        lines=lines,
        arrows=tuple(Arrow(end - 0.3 * length + 8, lane_centre) for end in ends),
        stop_lines=tuple(StopLine(end + 2.5, 0.0, 2 * lane_width) for end in ends),
        crosswalks=tuple(Crosswalk(end + 3.5, end + 7.5, -lane_width, 2 * lane_width) for end in ends),
        lights=tuple(TrafficLight(end + 20, lane_centre, right_edge + ROADSIDE_M,
                                  _light_states(distances, end - length, end)) for end in ends),
        signs=tuple(sign for end, limit in zip(ends, limits, strict=True) for sign in (
            Sign(end - 0.3 * length + 20, right_edge + ROADSIDE_M, "speed-limit", int(limit)),
            Sign(end + 12, left_edge - ROADSIDE_M, "stop"))),
        school_zones=(SchoolZone(zone_start, zone_start + float(np.clip(0.25 * route, 30, 100)), 0.0, 2 * lane_width),),
    )


def _light_states(distances: np.ndarray, start: float, end: float) -> tuple[str, ...]:
    """While the car drives from ``start`` to ``end``: yellow, then red, then green (also before and after)."""
    progress = (distances - start) / max(end - start, 1e-9)
    states = np.where((progress >= 0) & (progress < 0.1), "yellow",
                      np.where((progress >= 0.1) & (progress < 0.4), "red", "green"))
    return tuple(str(state) for state in states)
