"""Box detections on single frames linked into tracks: one track per real object, with a box on every frame.

How it works, per class (``link``, then ``filled``):

1. **Predict.**  Each open track predicts its box on the next frame from its last ``HISTORY`` detections: a
   straight-line fit, over their frame numbers, of the box's centre (x and y) and of the log of its width and
   height.  An object the car approaches moves outward from the vanishing point and grows, faster and
   faster in pixels but smoothly in these terms; one detection alone predicts itself.
2. **Assign**, frame by frame, one to one (``scipy.optimize.linear_sum_assignment``): the cost of giving a
   detection to a track is its centre's distance from the prediction in units of the predicted box's size
   (the square root of its area: a 4 px light and a 40 px sign move alike in these units) plus how far its
   width and height are off, in log.  A pair beyond the gate (``MAX_DISTANCE`` plus ``DISTANCE_PER_FRAME``
   per frame since the track was last seen, ``MAX_LOG_SIZE``) is never made.  Detections of objects already in
   the project carry their ``track_id``: a track takes at most one such id.
3. **Gaps.**  A track missed on up to ``MAX_GAP`` frames in a row stays open (a detector misses a sign for a
   few frames); after that it is closed.  A detection no open track takes starts a new one.
4. **Stitch.**  A detector blind for longer (a lamp of one or two pixels) splits an object in two: a track
   that ends and one that starts within ``STITCH_GAP`` frames are joined when each lies within
   ``STITCH_DISTANCE`` box sizes of where the other predicts it (forward from the first's end, backward from
   the second's start).
5. **Fill** (``filled``): between two detections of a track, each frame missed gets the box interpolated
   between them (centre linearly, size geometrically, as the prediction), with a lower confidence
   (``FILL_CONFIDENCE`` times the lower of the two neighbours'), and the attributes of the nearer one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

Bounds = tuple[float, float, float, float]

HISTORY = 5  # detections the prediction is fitted to
MAX_GAP = 8  # frames a track may be missed in a row and still continue
MAX_DISTANCE = 0.8  # box sizes (square root of the area) a detection may lie from the prediction
DISTANCE_PER_FRAME = 0.15  # and this much more per frame since the track was last seen
MAX_LOG_SIZE = 0.4  # |log| of the width's (height's) ratio to the prediction: 1.5 times at most
STITCH_GAP = 24  # frames between two tracks of one object joined afterwards
STITCH_DISTANCE = 1.0  # box sizes each may lie from where the other predicts it
FILL_CONFIDENCE = 0.8
NOT_ALLOWED = 1e6  # the cost of a pair beyond the gate


@dataclass(frozen=True)
class Detection:
    """A box found on a frame; ``track_id`` when it is an object already in the project, not a proposal."""

    frame: int
    bounds: Bounds
    confidence: float = 1.0
    attributes: Mapping[str, Any] = field(default_factory=dict)
    track_id: int | None = None
    interpolated: bool = False


@dataclass
class BoxTrack:
    """Detections of one object, in frame order."""

    detections: list[Detection] = field(default_factory=list)

    @property
    def last_frame(self) -> int:
        return self.detections[-1].frame

    @property
    def track_id(self) -> int | None:
        """The project's track this one continues, if any of its detections is an object already there."""
        return next((d.track_id for d in self.detections if d.track_id is not None), None)

    @property
    def first_frame(self) -> int:
        return self.detections[0].frame

    def predict(self, frame: int) -> Bounds:
        """The box expected on ``frame`` after the track's end, from its last detections, or before its start,
        from its first ones (the module's step 1)."""
        return _bounds_of(_line_through(self.detections[:HISTORY] if frame < self.first_frame
                                        else self.detections[-HISTORY:], frame))


def _line_through(detections: Sequence[Detection], frame: int) -> np.ndarray:
    """Centre and log size on ``frame`` of the straight line fitted through the detections' (one: itself)."""
    state = np.array([_centre_and_log_size(d.bounds) for d in detections])
    frames = np.array([d.frame for d in detections], float)
    if len(detections) == 1 or np.ptp(frames) == 0:
        return state.mean(axis=0)
    slope, offset = np.polyfit(frames - frame, state, 1)
    return offset


def _centre_and_log_size(bounds: Sequence[float]) -> np.ndarray:
    x0, y0, x1, y1 = bounds
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, np.log(max(x1 - x0, 1e-3)), np.log(max(y1 - y0, 1e-3))])


def _bounds_of(state: np.ndarray) -> Bounds:
    cx, cy, log_w, log_h = state
    half_w, half_h = np.exp(log_w) / 2, np.exp(log_h) / 2
    return float(cx - half_w), float(cy - half_h), float(cx + half_w), float(cy + half_h)


def link(frames: Iterable[list[Detection]], max_gap: int = MAX_GAP) -> list[BoxTrack]:
    """Tracks of one class from its detections, frame by frame in increasing order (the module's steps 1-4)."""
    open_tracks: list[BoxTrack] = []
    closed: list[BoxTrack] = []
    for detections in frames:
        if not detections:
            continue
        frame = detections[0].frame
        closed += [track for track in open_tracks if frame - track.last_frame > max_gap + 1]
        open_tracks = [track for track in open_tracks if frame - track.last_frame <= max_gap + 1]
        cost = np.array([[_cost(track, detection) for detection in detections] for track in open_tracks])
        taken = set()
        if open_tracks:
            for row, column in zip(*linear_sum_assignment(cost), strict=True):
                if cost[row, column] < NOT_ALLOWED:
                    open_tracks[row].detections.append(detections[column])
                    taken.add(column)
        open_tracks += [BoxTrack([d]) for index, d in enumerate(detections) if index not in taken]
    return _stitched(sorted(closed + open_tracks, key=lambda track: (track.first_frame, track.detections[0].bounds)))


def _stitched(tracks: list[BoxTrack]) -> list[BoxTrack]:
    """Tracks joined where one ends and another starts within ``STITCH_GAP`` frames, each where the other
    predicts it (forward from the first one's end, backward from the second one's start): a detector blind
    for longer than ``MAX_GAP`` frames (a lamp of one or two pixels) splits an object in two."""
    pairs = sorted((cost, first, second) for first, a in enumerate(tracks) for second, b in enumerate(tracks)
                   if 0 < b.first_frame - a.last_frame <= STITCH_GAP
                   for cost in [_stitch_cost(a, b)] if cost < NOT_ALLOWED)
    joined_to: dict[int, int] = {}  # track index -> the index of the track it was appended to
    has_next: set[int] = set()
    for _, first, second in pairs:
        head = _root(joined_to, first)
        if first in has_next or second in joined_to or head == second:
            continue
        tracks[head].detections += tracks[second].detections
        joined_to[second], has_next = head, has_next | {first}
    return [track for index, track in enumerate(tracks) if index not in joined_to]


def _root(joined_to: dict[int, int], index: int) -> int:
    while index in joined_to:
        index = joined_to[index]
    return index


def _stitch_cost(before: BoxTrack, after: BoxTrack) -> float:
    if None not in (before.track_id, after.track_id) and before.track_id != after.track_id:
        return NOT_ALLOWED
    ahead = _mismatch(before.predict(after.first_frame), after.detections[0].bounds)
    behind = _mismatch(after.predict(before.last_frame), before.detections[-1].bounds)
    gate = STITCH_DISTANCE
    if max(ahead[0], behind[0]) > gate or max(ahead[1], behind[1]) > MAX_LOG_SIZE:
        return NOT_ALLOWED
    return ahead[0] + behind[0]


def _mismatch(predicted: Bounds, found: Bounds) -> tuple[float, float]:
    """How far a box is from its prediction: the centres' distance in predicted box sizes (the square root of
    its area), and the larger |log| ratio of the widths and of the heights."""
    expected, seen = _centre_and_log_size(predicted), _centre_and_log_size(found)
    size = np.exp((expected[2] + expected[3]) / 2)
    return float(np.hypot(*(seen[:2] - expected[:2]))) / size, float(np.abs(seen[2:] - expected[2:]).max())


def _cost(track: BoxTrack, detection: Detection) -> float:
    if detection.track_id is not None and track.track_id not in (None, detection.track_id):
        return NOT_ALLOWED
    distance, log_size = _mismatch(track.predict(detection.frame), detection.bounds)
    gate = MAX_DISTANCE + DISTANCE_PER_FRAME * (detection.frame - track.last_frame - 1)
    if distance > gate or log_size > MAX_LOG_SIZE:
        return NOT_ALLOWED
    return distance + log_size


def filled(track: BoxTrack) -> list[Detection]:
    """The track's detections and, on every frame between two of them, an interpolated box (step 5)."""
    out: list[Detection] = []
    for before, after in zip(track.detections, track.detections[1:], strict=False):
        out.append(before)
        start, end = _centre_and_log_size(before.bounds), _centre_and_log_size(after.bounds)
        span = after.frame - before.frame
        confidence = FILL_CONFIDENCE * min(before.confidence, after.confidence)
        for frame in range(before.frame + 1, after.frame):
            share = (frame - before.frame) / span
            nearer = before if share <= 0.5 else after
            out.append(Detection(frame, _bounds_of(start + share * (end - start)), confidence,
                                 nearer.attributes, interpolated=True))
    out.append(track.detections[-1])
    return out
