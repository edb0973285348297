"""Carry objects through the frame stack from the annotator's keyframes.

The rules (the user guide's "Propagation" section says the same):

* **Anchors** are the states a person made or brought in: manual keyframes and
  imported states.  Propagation never changes them, nor a model's suggestions;
  it writes *derived* states (``interpolated`` for linear and smooth,
  ``propagated`` for flow) and replaces the derived states of the span it redoes.
* **Between two anchors**: ``linear`` or ``smooth`` interpolation (see
  interpolation.py), or ``flow``: optical flow forward from the first anchor and
  backward from the second, blended with a weight that rises from 0 to 1 across
  the gap, so the result meets both keyframes exactly.
* **Before the first anchor and after the last** (within the range) only ``flow``
  carries an object: until it leaves the image, its confidence collapses, or the
  range ends.  Each stop is reported with its reason.
* **Per-frame attributes hold** until the next anchor that changes them: a
  derived state takes the values of the anchor before it (before the first
  anchor, the first anchor's).  A light red on keyframe 100 and green on
  keyframe 120 is red on frames 101-119.
* **Confidence**: each flow step adds its expected error (see flow.py) to the
  error expected since the anchor (biases add up, noise adds in quadrature:
  random errors partly cancel); a state's confidence is
  exp(-expected error / ``CONFIDENCE_SCALE_PX``), and no more than the
  quality of the run's worst step so far over ``GOOD_STEP_QUALITY`` (tracking
  over noise passes a few seeds by chance, and what such a step got wrong stays
  in the shape).  Across a gap the two sweeps are two estimates of the truth:
  the blend's expected error follows from both sweeps' and from how far apart
  their shapes are (``_blended_confidence``), so where they disagree by more
  than their errors explain, the blend is flagged however near a keyframe it
  is.  Below ``flag_below`` a state is flagged for review; a step whose
  quality is under ``stop_below`` stops the object ("confidence collapsed").
  Interpolated states carry no confidence.

Work happens in three parts so a GUI can run the middle one in a worker thread:
``plan_propagation`` reads the project, ``compute_propagation`` needs only the
plan and the frames, ``write_propagation`` writes it all as one undo step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.annotations import FrameState, Source, Track
from ..core.errors import AnnotationError, RoadlabelError
from ..core.geometry import Geometry, GeometryKind, clipped_to_image
from ..core.lanes import is_lane_class
from ..core.project import Project
from .flow import ON_THE_ROAD, Carried, Move, carry_all, carry_polygon, on_border, seen_share, whole_shape
from .interpolation import blend, interpolate_track
from .motion import MotionFields
from .shape_distance import mean_distance

METHODS = ("linear", "smooth", "flow")
ANCHOR_SOURCES = frozenset({Source.MANUAL, Source.IMPORTED})
DERIVED_SOURCES = frozenset({Source.INTERPOLATED, Source.PROPAGATED})
FLAG_BELOW = 0.5
LANE_KIND, PAINTED = "kind", "lane-marking"  # a lane line's attribute, and its value for paint (not an edge or curb)
STOP_BELOW = 0.1
CONFIDENCE_SCALE_PX = 4.0  # confidence is exp(-expected error / this): 0.5 at 2.8 px, 0.1 at 9 px
GOOD_STEP_QUALITY = 0.5  # a step of at least this quality is trusted fully; a worse one caps the confidence
MIN_CONFIDENCE = 1e-6  # a confidence of 0 stands for this one's (large) expected error
MIN_ERROR_PX = 1e-6  # and one of 1 for this (tiny) error


def needs_review(state: FrameState, flag_below: float = FLAG_BELOW) -> bool:
    """A state whose confidence is under the review threshold (a propagated state the tool is unsure of)."""
    return state.confidence is not None and state.confidence < flag_below


class PropagationCancelled(RoadlabelError):
    def __init__(self) -> None:
        super().__init__(None, "propagation cancelled: nothing was changed")


@dataclass(frozen=True)
class Span:
    """One track's frames to (re)compute, with the anchors that drive them."""

    track: Track
    first: int
    last: int  # inclusive
    anchors: tuple[FrameState, ...]  # in frame order, all within first..last
    kept: frozenset[int]  # frames whose states are not derived: never written

    @property
    def lane(self) -> bool:
        return is_lane_class(self.track.class_name)

    @property
    def on_road(self) -> bool:
        return self.track.class_name in ON_THE_ROAD

    @property
    def painted(self) -> bool:
        """A lane line of paint: snapped onto it as it is carried (a road edge or a curb is not)."""
        return self.track.attributes.get(LANE_KIND, PAINTED) == PAINTED


@dataclass(frozen=True)
class Stop:
    track_id: int
    frame: int  # the last frame the object reached
    reason: str

    def __str__(self) -> str:
        return f"track {self.track_id} stopped after frame {self.frame}: {self.reason}"


@dataclass(frozen=True)
class PropagationPlan:
    method: str
    spans: tuple[Span, ...]
    skipped: tuple[tuple[int, str], ...]  # (track id, why nothing is done for it)
    size: tuple[int, int]  # the frames' (width, height): every result is clipped to it
    tag_ends: tuple[tuple[int, int], ...] = ()  # (tag id, new last frame)
    flag_below: float = FLAG_BELOW
    stop_below: float = STOP_BELOW

    @property
    def work(self) -> int:
        """Units of progress: object-frames to interpolate, or flow steps (a gap is walked both ways)."""
        if self.method == "flow":
            return sum(abs(run.until - run.anchor.frame) for span in self.spans for run in _runs_of(span))
        return sum(span.last - span.first + 1 for span in self.spans)


@dataclass
class PropagationResult:
    plan: PropagationPlan
    states: list[FrameState] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage of the work (flow only)

    @property
    def flagged(self) -> list[FrameState]:
        """States whose confidence is under the plan's review threshold."""
        return [state for state in self.states if needs_review(state, self.plan.flag_below)]

    def summary(self) -> str:
        tracks = len({state.track_id for state in self.states})
        lines = [f"{self.plan.method}: {len(self.states)} states written for {tracks} object(s); "
                 f"{len(self.flagged)} below confidence {self.plan.flag_below:g} flagged for review"]
        lines += [str(stop) for stop in self.stops]
        lines += [f"track {track_id} skipped: {why}" for track_id, why in self.plan.skipped]
        if self.plan.tag_ends:
            lines.append("frame tags extended: " + ", ".join(f"tag {tag} to frame {end}"
                                                             for tag, end in self.plan.tag_ends))
        return "\n".join(lines)


# ------------------------------------------------------------------ planning


def plan_propagation(project: Project, *, method: str = "flow", tracks: Sequence[int] | None = None,
                     start: int = 0, end: int | None = None, to_next_keyframe: bool = False,
                     to_previous_keyframe: bool = False, extend_tags: bool = False, flag_below: float = FLAG_BELOW,
                     stop_below: float = STOP_BELOW) -> PropagationPlan:
    """What to compute for frames ``start``..``end`` (inclusive; default the last frame).

    ``to_next_keyframe`` ends each track's range at its first anchor after
    ``start``; ``to_previous_keyframe`` begins it at its last anchor before
    ``end`` (propagating backward from ``end``).  ``extend_tags`` makes
    frame-range tags that cover ``start`` last until ``end``.
    """
    if method not in METHODS:
        raise AnnotationError(None, f"unknown propagation method {method!r} (use one of {', '.join(METHODS)})")
    last_frame = project.sequence.frame_count - 1
    end = last_frame if end is None else end
    for name, frame in (("start", start), ("end", end)):
        if not 0 <= frame <= last_frame:
            raise AnnotationError(None, f"{name} frame {frame} is outside the sequence (0..{last_frame})")
    if end < start:
        raise AnnotationError(None, f"the range ends (frame {end}) before it starts (frame {start})")
    for name, value in (("flag_below", flag_below), ("stop_below", stop_below)):
        if not 0.0 <= value <= 1.0:
            raise AnnotationError(None, f"{name} must be between 0 and 1, got {value}")
    chosen = project.tracks() if tracks is None else [project.track(track_id) for track_id in tracks]
    spans, skipped = [], []
    for track in chosen:
        span = _span_of(project, track, method, start, end, to_next_keyframe, to_previous_keyframe)
        (spans if isinstance(span, Span) else skipped).append(span if isinstance(span, Span) else (track.id, span))
    tag_ends = tuple((tag.id, end) for tag in project.tags_on(start) if tag.end < end) if extend_tags else ()
    size = (project.sequence.width, project.sequence.height)
    return PropagationPlan(method, tuple(spans), tuple(skipped), size, tag_ends, flag_below, stop_below)


def _span_of(project: Project, track: Track, method: str, start: int, end: int, to_next_keyframe: bool,
             to_previous_keyframe: bool) -> Span | str:
    """The track's span, or the reason it has none."""
    states = project.states_of(track.id)
    anchors = [state for state in states if state.source in ANCHOR_SOURCES and start <= state.frame <= end]
    anchors.sort(key=lambda state: state.frame)
    if to_next_keyframe:
        later = [state.frame for state in anchors if state.frame > start]
        if later:
            end = later[0]
            anchors = [state for state in anchors if state.frame <= end]
    if to_previous_keyframe:
        earlier = [state.frame for state in anchors if state.frame < end]
        if earlier:
            start = earlier[-1]
            anchors = [state for state in anchors if state.frame >= start]
    if not anchors:
        return f"no keyframe in frames {start}..{end}"
    if method != "flow":
        if len(anchors) < 2:
            return f"one keyframe in frames {start}..{end}: {method} interpolation needs two (flow can carry one)"
        start, end = anchors[0].frame, anchors[-1].frame
    kept = frozenset(state.frame for state in states if state.source not in DERIVED_SOURCES)
    return Span(track, start, end, tuple(anchors), kept)


# ------------------------------------------------------------------ computing


Progress = Callable[[int], None]  # called with the units of work just done
Cancelled = Callable[[], bool]


def compute_propagation(plan: PropagationPlan, frames=None, *, progress: Progress | None = None,
                        cancelled: Cancelled | None = None) -> PropagationResult:
    """The derived states of every span.  ``frames[i]`` gives frame i (RGB or grey); flow needs them."""
    progress = progress or (lambda units: None)
    cancelled = cancelled or (lambda: False)
    result = PropagationResult(plan)
    if plan.method == "flow":
        if frames is None:
            raise AnnotationError(None, "flow propagation needs the frames")
        _flow(plan, frames, plan.size, result, progress, cancelled)
    else:
        for span in plan.spans:
            if cancelled():
                raise PropagationCancelled()
            _interpolate(span, plan.method, result, plan.size)
            progress(span.last - span.first + 1)
    return result


def _interpolate(span: Span, method: str, result: PropagationResult, size: tuple[int, int]) -> None:
    keyframes = [(anchor.frame, anchor.geometry) for anchor in span.anchors]
    wanted = [frame for frame in range(span.first, span.last + 1) if frame not in span.kept]
    shapes = interpolate_track(keyframes, wanted, method=method, lane=span.lane, where=f"track {span.track.id}")
    for frame, geometry in sorted(shapes.items()):
        geometry = clipped_to_image(geometry, *size)
        if geometry is None:
            continue
        result.states.append(FrameState(span.track.id, frame, geometry, dict(_anchor_before(span, frame).attributes),
                                        Source.INTERPOLATED))


def _anchor_before(span: Span, frame: int) -> FrameState:
    earlier = [anchor for anchor in span.anchors if anchor.frame <= frame]
    return earlier[-1] if earlier else span.anchors[0]


@dataclass
class _Run:
    """One object carried by flow from an anchor, one frame at a time, in one direction."""

    span: Span
    anchor: FrameState
    until: int  # the last frame to reach (inclusive)
    direction: int  # +1 forward, -1 backward
    geometry: Geometry | None = None  # the whole shape, which may reach past the image border
    visible: Geometry | None = None  # its part inside the image: what is written
    bias: float = 0.0  # px: the bias of every step since the anchor, added up
    noise_squared: float = 0.0  # px^2: their noise, squared and added up
    quality_cap: float = 1.0  # the cap of its worst step so far: a poor step's error stays in the shape
    reached: dict[int, tuple[Geometry, float]] = field(default_factory=dict)  # frame: (visible, confidence)
    stop: str | None = None
    seen: np.ndarray | None = None  # a polygon as drawn on the anchor, carried along but never extended

    def __post_init__(self) -> None:
        self.geometry = self.visible = self.anchor.geometry
        if self.anchor.geometry.kind is GeometryKind.POLYGON:
            self.seen = self.anchor.geometry.points

    @property
    def last_reached(self) -> int:
        return max(self.reached, default=self.anchor.frame) if self.direction > 0 else min(
            self.reached, default=self.anchor.frame)


def _runs_of(span: Span) -> list[_Run]:
    runs = []
    anchors = span.anchors
    if anchors[0].frame > span.first:
        runs.append(_Run(span, anchors[0], span.first, -1))
    for before, after in zip(anchors, anchors[1:], strict=False):
        if after.frame - before.frame > 1:
            runs += [_Run(span, before, after.frame - 1, +1), _Run(span, after, before.frame + 1, -1)]
    if anchors[-1].frame < span.last:
        runs.append(_Run(span, anchors[-1], span.last, +1))
    return runs


def _flow(plan: PropagationPlan, frames, size: tuple[int, int], result: PropagationResult, progress: Progress,
          cancelled: Cancelled) -> None:
    runs = [run for span in plan.spans for run in _runs_of(span)]
    for run in runs:
        run.geometry = whole_shape(run.anchor.geometry, size, _aspect(run.span, run.anchor, size))
    fields = MotionFields(frames)
    try:
        for direction in (+1, -1):
            _sweep([run for run in runs if run.direction == direction], fields, direction, size, plan.stop_below,
                   progress, cancelled, result.timings)
    finally:
        fields.close()
        result.timings.update(fields.timings)
    began = time.perf_counter()
    for span in plan.spans:
        _assemble(span, [run for run in runs if run.span is span], result)
    result.timings["assemble"] = time.perf_counter() - began


def _aspect(span: Span, anchor: FrameState, size: tuple[int, int]) -> float | None:
    """A box's width over height on the span's anchor nearest ``anchor`` that no image border cuts (None
    without one): what a box cut by the border on ``anchor`` takes its whole extent from."""
    whole = [other.geometry for other in sorted(span.anchors, key=lambda other: abs(other.frame - anchor.frame))
             if other.geometry.kind is GeometryKind.BOX and not on_border(other.geometry, size)]
    if not whole:
        return None
    width, height = np.ptp(whole[0].points, axis=0)
    return float(width / height)


def _sweep(runs: list[_Run], fields: MotionFields, direction: int, size: tuple[int, int], stop_below: float,
           progress: Progress, cancelled: Cancelled, timings: dict[str, float]) -> None:
    """Step every run frame by frame in one direction, all of a frame's objects at once on the pair's field."""
    if not runs:
        return
    first = min(run.anchor.frame for run in runs) if direction > 0 else max(run.anchor.frame for run in runs)
    last = max(run.until for run in runs) if direction > 0 else min(run.until for run in runs)
    fields.sweep(direction)
    for frame in range(first, last, direction):
        if cancelled():
            raise PropagationCancelled()
        active = [run for run in runs if run.stop is None and run.geometry is not None
                  and _between(run.anchor.frame, frame, run.until - direction, direction)]
        if not active:
            continue
        field = fields.between(frame)
        image = fields.grey(frame + direction) if any(run.span.lane for run in active) else None
        _step(active, field, image, frame + direction, size, stop_below, timings)
        progress(len(active))


def _between(low_or_high: int, frame: int, bound: int, direction: int) -> bool:
    return low_or_high <= frame <= bound if direction > 0 else bound <= frame <= low_or_high


def _step(runs: list[_Run], field, image: np.ndarray | None, frame: int, size: tuple[int, int], stop_below: float,
          timings: dict[str, float]) -> None:
    began = time.perf_counter()
    objects = [Carried(run.geometry, run.visible, run.span.lane, run.span.on_road, run.span.painted) for run in runs]
    steps = carry_all(objects, field, size, image, timings)
    for run, step in zip(runs, steps, strict=True):
        stopped = step.stopped or _collapse(step.quality, stop_below)
        if field.cut:
            stopped = f"the video cuts to another scene after frame {frame - (1 if run.direction > 0 else -1)}"
        if stopped:
            run.stop, run.geometry, run.visible = stopped, None, None
        else:
            _advance(run, step, frame, size)
    timings["carry"] = timings.get("carry", 0.0) + time.perf_counter() - began


def _advance(run: _Run, step: Move, frame: int, size: tuple[int, int]) -> None:
    """Take the step: the run's shape and expected error, and the state it reached with its confidence."""
    run.bias += step.bias
    run.noise_squared += step.noise ** 2
    expected_error = run.bias + np.sqrt(run.noise_squared)
    run.quality_cap = min(run.quality_cap, step.quality / GOOD_STEP_QUALITY)
    confidence = min(float(np.exp(-expected_error / CONFIDENCE_SCALE_PX)), run.quality_cap)
    if step.transform is not None:  # a polygon: how much of it is what the annotator saw
        run.seen = carry_polygon(run.seen, step.transform, size) if run.seen is not None else None
        confidence *= seen_share(run.seen, step.visible, size)
    # A polygon goes on past the border again each step: what is cut off there is never seen to end.
    polygon = step.visible.kind is GeometryKind.POLYGON
    run.geometry = whole_shape(step.visible, size) if polygon else step.geometry
    run.visible = step.visible
    run.reached[frame] = (step.visible, confidence)


def _collapse(quality: float, stop_below: float) -> str | None:
    return f"confidence collapsed (step quality {quality:.2f})" if quality < stop_below else None


def _assemble(span: Span, runs: list[_Run], result: PropagationResult) -> None:
    """The span's states from its runs: open ends as they are, gaps blended so both anchors are met."""
    anchors = span.anchors
    for run in runs:
        is_open = (run.direction < 0 and run.anchor is anchors[0]) or (run.direction > 0 and run.anchor is anchors[-1])
        if is_open:
            _emit(span, run.reached, run.anchor, result)
            if run.stop:
                result.stops.append(Stop(span.track.id, run.last_reached, run.stop))
    for before, after in zip(anchors, anchors[1:], strict=False):
        forward = next((run for run in runs if run.anchor is before and run.direction > 0), None)
        backward = next((run for run in runs if run.anchor is after and run.direction < 0), None)
        if forward and backward:
            _blend_gap(span, before, after, forward, backward, result)


def _trusted_weight(weight: float, forward_confidence: float, backward_confidence: float) -> float:
    """The backward result's share: its distance weight, tilted toward the more confident direction.

    Still 0 at the first keyframe and 1 at the second, so both are met exactly.
    """
    forward, backward = (1 - weight) * forward_confidence, weight * backward_confidence
    return backward / (forward + backward) if forward + backward > 0 else weight


def _expected_error(confidence: float) -> float:
    """The expected error, px, a confidence stands for: the inverse of exp(-error / ``CONFIDENCE_SCALE_PX``)."""
    return max(-CONFIDENCE_SCALE_PX * np.log(max(confidence, MIN_CONFIDENCE)), MIN_ERROR_PX)


def _blended_confidence(trust: float, forward_confidence: float, backward_confidence: float, apart: float) -> float:
    """The confidence of a blend at share ``trust`` of the way from the forward to the backward shape, ``apart`` px.

    The two sweeps are taken as independent estimates of the truth with their expected errors: the best
    combination lies at share ef^2 / (ef^2 + eb^2) and is off by ef * eb / hypot(ef, eb); the blend is a further
    (trust - best) * apart off.  Shapes further apart than their errors explain (hypot(ef, eb)) show those errors
    were too small, so both are scaled up until they do: one sweep at least is that wrong, and a blend near the
    middle of the gap (or leaning on the sweep it cannot tell is the wrong one) is flagged.
    """
    forward, backward = _expected_error(forward_confidence), _expected_error(backward_confidence)
    scale = max(1.0, apart / np.hypot(forward, backward))
    forward, backward = forward * scale, backward * scale
    best = forward ** 2 / (forward ** 2 + backward ** 2)
    error = np.hypot(forward * backward / np.hypot(forward, backward), (trust - best) * apart)
    return float(np.exp(-error / CONFIDENCE_SCALE_PX))


def _emit(span: Span, shapes: dict[int, tuple[Geometry, float]], holding: FrameState,
          result: PropagationResult) -> None:
    """Propagated states of these shapes, with the per-frame attributes of the anchor whose values hold."""
    for frame, (shape, confidence) in sorted(shapes.items()):
        geometry = clipped_to_image(shape, *result.plan.size)  # a blend may round a hair past the border
        if frame not in span.kept and geometry is not None:
            result.states.append(FrameState(span.track.id, frame, geometry, dict(holding.attributes),
                                            Source.PROPAGATED, round(confidence, 4)))


def _blend_gap(span: Span, before: FrameState, after: FrameState, forward: _Run, backward: _Run,
               result: PropagationResult) -> None:
    blended = {}
    for frame in range(before.frame + 1, after.frame):
        ahead, behind = forward.reached.get(frame), backward.reached.get(frame)
        weight = (frame - before.frame) / (after.frame - before.frame)
        if ahead and behind:
            trust = _trusted_weight(weight, ahead[1], behind[1])
            shape = blend(ahead[0], behind[0], trust, lane=span.lane, where=f"track {span.track.id}")
            if shape is not None:
                apart = mean_distance(ahead[0], behind[0], lane=span.lane)
                blended[frame] = (shape, _blended_confidence(trust, ahead[1], behind[1], apart))
        elif ahead or behind:
            blended[frame] = ahead or behind
    missing = [frame for frame in range(before.frame + 1, after.frame) if frame not in blended]
    if missing:
        reasons = "; ".join(reason for reason in (forward.stop, backward.stop) if reason)
        result.stops.append(Stop(span.track.id, missing[0] - 1,
                                 f"not found on frames {missing[0]}..{missing[-1]} between keyframes "
                                 f"{before.frame} and {after.frame} ({reasons or 'lost'})"))
    _emit(span, blended, before, result)


# ------------------------------------------------------------------ writing


def write_propagation(project: Project, result: PropagationResult) -> int:
    """Replace the derived states of every span by the result's, extend tags; one undo step.  Returns states written.

    A frame that holds a keyframe, an import or a suggestion by now (the
    annotator may have drawn one while the run was computing) keeps it.  A track
    deleted meanwhile is left out.
    """
    new: dict[int, list[FrameState]] = {}
    for state in result.states:
        new.setdefault(state.track_id, []).append(state)
    written = 0
    with project.group(f"propagate ({result.plan.method})"):
        for span in result.plan.spans:
            if not project.has_track(span.track.id):
                continue
            states = new.get(span.track.id, [])
            replaced, held = {state.frame for state in states}, set()
            for old in project.states_of(span.track.id):
                if old.source not in DERIVED_SOURCES:
                    held.add(old.frame)
                elif span.first <= old.frame <= span.last and old.frame not in replaced:
                    project.delete_state(old.track_id, old.frame)  # no longer reached
            for state in states:
                if state.frame not in held:
                    project.set_state(state.track_id, state.frame, state.geometry, state.attributes,
                                      source=state.source, confidence=state.confidence)
                    written += 1
        for tag_id, end in result.plan.tag_ends:
            project.update_tag(tag_id, end=end)
    return written


def propagate(project: Project, frames=None, *, progress: Progress | None = None, cancelled: Cancelled | None = None,
              **options) -> PropagationResult:
    """Plan, compute and write in one call (the command line's path); ``options`` go to ``plan_propagation``."""
    plan = plan_propagation(project, **options)
    result = compute_propagation(plan, frames, progress=progress, cancelled=cancelled)
    write_propagation(project, result)
    return result
