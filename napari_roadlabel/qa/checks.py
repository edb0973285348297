"""Automatic QA checks: what looks wrong in a project's annotations, as findings a reviewer can jump to.

Each check has a name (the contract used in ``checks.yaml``, ``PROJECT/qa.yaml``
and reports), a default severity and its thresholds.  ``run_checks`` reads the
store once, a chunk of frames at a time in (frame, track id) order, and hands
every frame to every enabled check: per-frame checks judge the frame's objects
together, per-track checks keep what they need of each track's previous state,
and anything that needs the whole range (open runs, tags) is settled at the end.

A check is a class registered in ``CHECKS`` under its name; it is built with
``(project, settings, frames)`` and offers ``on_frame(frame)`` and ``finish()``,
each yielding findings.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..core.annotations import FrameObject, Source
from ..core.errors import GeometryError
from ..core.geometry import GeometryKind
from ..core.lanes import fit_lanes, is_lane_class, sample_equal_many
from ..core.project import Project
from ..core.review import ReviewStatus
from ..core.segments import segment_crossings, segment_hits
from ..core.skeletons import Skeleton
from ..core.suggestions import disputes
from ..core.timeline import frame_runs
from .check_config import CheckConfig, CheckSettings, config_for
from .findings import Finding

CHUNK_FRAMES = 500  # frames read from the store at a time (and between progress reports)
LANE_SAMPLES = 33  # points a fitted lane is sampled at (equal arc length): about every 12 px on a 400 px lane
CROSSING_STRIDE = 2  # every other sample is enough to find where two lanes cross, at a quarter of the cost
PAIRS_AT_ONCE = 1 << 17  # candidate pairs (of segments, objects) worked on at once: bounds the memory of a
# frame with thousands of objects, whose pairs number millions
LANES_AT_ONCE = 512  # lanes whose samples are compared with each other's at once
REGION_MARGIN = 20.0  # px around a point of interest
LIGHT_CLASS, LIGHT_STATE, LIGHT_FLASHING = "traffic-light", "state", "flashing"
ZONE_CLASS, ZONE_TAG = "school-zone", "school-zone-active"
SPLIT_MERGE = "split-merge"
AREA_KINDS = frozenset({GeometryKind.BOX, GeometryKind.POLYGON, GeometryKind.MASK})
REVIEWED = frozenset({ReviewStatus.ACCEPTED, ReviewStatus.REJECTED})

Region = tuple[float, float, float, float]


# ---------------------------------------------------------------- running


def run_checks(project: Project, config: CheckConfig | None = None, *, frames: range | None = None,
               progress: Callable[[int], None] | None = None) -> list[Finding]:
    """Run every enabled check over ``frames`` (consecutive; default: the whole sequence); findings in
    ``sort_key`` order.

    ``progress(n)`` is told of each chunk of ``n`` frames checked (increments, like exports and propagation:
    they add up to ``len(frames)``).
    """
    config = config or config_for(project)
    frames = range(project.sequence.frame_count) if frames is None else frames
    checks = [CHECKS[name](project, settings, frames) for name, settings in config.checks.items() if settings.enabled]
    findings: list[Finding] = []
    for first in range(frames.start, frames.stop, CHUNK_FRAMES):
        chunk = range(first, min(first + CHUNK_FRAMES, frames.stop))
        objects = project.store.iter_objects(chunk, chunk=CHUNK_FRAMES)
        for number, on_frame in itertools.groupby(objects, key=lambda item: item.state.frame):
            frame = Frame(number, list(on_frame))
            for check in checks:
                findings.extend(check.on_frame(frame))
        if progress is not None:
            progress(len(chunk))
    for check in checks:
        findings.extend(check.finish())
    return sorted(findings, key=Finding.sort_key)


@dataclass
class Frame:
    """One frame's objects, in track id order, with what several checks derive from them computed once."""

    number: int
    objects: list[FrameObject]

    @functools.cached_property
    def bounds(self) -> dict[int, Region]:
        """Track id -> bounds of its geometry on this frame."""
        return {item.track.id: item.state.geometry.bounds() for item in self.objects}

    @functools.cached_property
    def lanes(self) -> Lanes:
        return Lanes.fit([item for item in self.objects if is_lane_class(item.track.class_name)
                          and item.state.geometry.kind is GeometryKind.POLYLINE])


@dataclass(frozen=True)
class Lanes:
    """A frame's lane lines: those that have a curve, sampled at LANE_SAMPLES points each, and those that do not."""

    fitted: list[FrameObject]
    samples: np.ndarray  # (len(fitted), LANE_SAMPLES, 2)
    unfit: list[tuple[FrameObject, str]]  # with the reason

    @functools.cached_property
    def rows(self) -> dict[int, int]:
        """Track id of a fitted lane -> its row in ``samples``."""
        return {lane.track.id: row for row, lane in enumerate(self.fitted)}

    @classmethod
    def fit(cls, lanes: list[FrameObject]) -> Lanes:
        try:  # one call fits the lanes together, much faster than one by one
            curves = fit_lanes([lane.state.geometry.points for lane in lanes])
        except GeometryError:
            return cls._fit_one_by_one(lanes)
        return cls(lanes, sample_equal_many(curves, LANE_SAMPLES), [])

    @classmethod
    def _fit_one_by_one(cls, lanes: list[FrameObject]) -> Lanes:
        fitted, curves, unfit = [], [], []
        for lane in lanes:
            try:
                curves.append(fit_lanes([lane.state.geometry.points])[0])
                fitted.append(lane)
            except GeometryError as error:
                unfit.append((lane, error.reason))
        return cls(fitted, sample_equal_many(curves, LANE_SAMPLES), unfit)


CHECKS: dict[str, type[Check]] = {}


def _register(name: str):
    def register(cls: type[Check]) -> type[Check]:
        cls.name = name
        CHECKS[name] = cls
        return cls
    return register


class Check:
    """A check: sees every frame in order, then finishes; both yield findings of its name and severity."""

    name: ClassVar[str]

    def __init__(self, project: Project, settings: CheckSettings, frames: range):
        self.project = project
        self.settings = settings
        self.frames = frames

    def on_frame(self, frame: Frame) -> Iterable[Finding]:
        return ()

    def finish(self) -> Iterable[Finding]:
        return ()

    def finding(self, message: str, frame: int | None, track_ids: Iterable[int] = (),
                region: Region | None = None) -> Finding:
        return Finding(self.name, self.settings.severity, message, frame, tuple(track_ids), region)


# ---------------------------------------------------------------- per-frame checks


@_register("crossing-lanes")
class CrossingLanes(Check):
    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        lanes = frame.lanes
        keep = [index for index, lane in enumerate(lanes.fitted) if lane.attributes.get(SPLIT_MERGE, "none") == "none"]
        coarse = lanes.samples[keep, ::CROSSING_STRIDE]
        for first, second, point in _crossings(coarse, self.settings["touch_tolerance"]):
            a, b = lanes.fitted[keep[first]], lanes.fitted[keep[second]]
            x, y = point
            yield self.finding(f"{_label(a)} and {_label(b)} cross at ({x:.0f}, {y:.0f}) on frame {frame.number}",
                               frame.number, (a.track.id, b.track.id), _around(point))


@_register("lane-shape")
class LaneShape(Check):
    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        lanes = frame.lanes
        for lane, reason in lanes.unfit:
            yield self._finding(lane, frame.number, f"cannot be drawn as a curve ({reason})")
        folds = _fold_depths(lanes.samples)
        crossings = _self_crossings(lanes.samples)
        for index, lane in enumerate(lanes.fitted):
            if index in crossings:  # a loop folds back too: one finding says it
                x, y = crossings[index]
                yield self._finding(lane, frame.number, f"crosses itself at ({x:.0f}, {y:.0f})", _around((x, y)))
            elif folds[index] > self.settings["fold_tolerance"]:
                yield self._finding(lane, frame.number, f"folds back: its rows turn back by {folds[index]:.0f} px "
                                                        f"(tolerance {self.settings['fold_tolerance']:g})")

    def _finding(self, lane: FrameObject, frame: int, problem: str, region: Region | None = None) -> Finding:
        return self.finding(f"{_label(lane)} on frame {frame} {problem}", frame, (lane.track.id,),
                            region or lane.state.geometry.bounds())


@_register("outside-image")
class OutsideImage(Check):
    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        width, height = self.project.sequence.width, self.project.sequence.height
        for item in frame.objects:
            x0, y0, x1, y1 = frame.bounds[item.track.id]
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                yield self.finding(f"{_label(item)} reaches outside the {width}x{height} image on frame "
                                   f"{frame.number} (x {x0:.1f}..{x1:.1f}, y {y0:.1f}..{y1:.1f})",
                                   frame.number, (item.track.id,), (x0, y0, x1, y1))


@_register("near-duplicate")
class NearDuplicate(Check):
    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        groups: dict[tuple, list[FrameObject]] = {}
        for item in frame.objects:
            groups.setdefault((item.track.class_name, *_shape_family(item)), []).append(item)
        for (_, family, _), items in groups.items():
            if len(items) < 2:
                continue
            for a, b, measure in self._pairs(family, items, frame):
                yield self.finding(f"{_label(a)} and {_label(b)} nearly coincide on frame {frame.number} ({measure})",
                                   frame.number, (a.track.id, b.track.id),
                                   _union(frame.bounds[a.track.id], frame.bounds[b.track.id]))

    def _pairs(self, family: str, items: list[FrameObject],
               frame: Frame) -> Iterator[tuple[FrameObject, FrameObject, str]]:
        if family == "area":
            bounds = np.array([frame.bounds[item.track.id] for item in items])
            pairs, text = _overlapping_boxes(bounds, self.settings["duplicate_iou"]), "bounds IoU {:.2f}"
        else:
            shapes = np.array([_comparable_points(item, family, frame.lanes) for item in items])
            pairs = _close_shapes(shapes, self.settings["duplicate_distance"], reversible=family == "line")
            text = "mean distance {:.1f} px"
        for first, second, measure in zip(*(values.tolist() for values in pairs), strict=True):
            yield items[first], items[second], text.format(measure)


# ---------------------------------------------------------------- per-track checks


@_register("track-gap")
class TrackGap(Check):
    def __init__(self, *args):
        super().__init__(*args)
        self.last: dict[int, FrameObject] = {}  # track id -> its latest state so far

    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        for item in frame.objects:
            previous = self.last.get(item.track.id)
            self.last[item.track.id] = item
            if previous is None or frame.number - previous.state.frame - 1 <= self.settings["max_gap"]:
                continue
            first, last = previous.state.frame + 1, frame.number - 1
            yield self.finding(f"{_label(item)} is missing on {_frames_text(first, last)}, between its states on "
                               f"frames {previous.state.frame} and {frame.number}", first, (item.track.id,),
                               previous.state.geometry.bounds())


@_register("track-jump")
class TrackJump(Check):
    """Objects move by their bounds' centre; lanes by how far their curve moved (a lane growing is no jump)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.last: dict[int, tuple[int, Region]] = {}  # track id -> frame and bounds of its latest state
        self.curves: dict[int, np.ndarray] = {}  # lane track id -> samples of its latest curve

    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        lane_moves = self._lane_moves(frame.lanes)
        for item in frame.objects:
            bounds = frame.bounds[item.track.id]
            previous = self.last.get(item.track.id)
            self.last[item.track.id] = (frame.number, bounds)
            if previous is None:
                continue
            before, before_bounds = previous
            moved = lane_moves.get(item.track.id, math.dist(_centre(before_bounds), _centre(bounds)))
            speed = moved / (frame.number - before)
            if speed > self.settings["max_speed"]:
                yield self.finding(f"{_label(item)} moves {moved:.0f} px from frame {before} to frame "
                                   f"{frame.number} ({speed:.0f} px per frame, limit {self.settings['max_speed']:g})",
                                   frame.number, (item.track.id,), _union(before_bounds, bounds))

    def _lane_moves(self, lanes: Lanes) -> dict[int, float]:
        """Lane track id -> median distance from its curve's samples to the nearest of its previous curve's."""
        ids = [lane.track.id for lane in lanes.fitted]
        known = [index for index, track_id in enumerate(ids) if track_id in self.curves]
        moves = {}
        if known:
            before = np.stack([self.curves[ids[index]] for index in known])
            now = lanes.samples[known, ::CROSSING_STRIDE]  # the previous curve's samples are the finer grid
            nearest = np.concatenate([_nearest_squared(now[block], before[block]) for block in _blocks(len(known))])
            moves = dict(zip([ids[index] for index in known], np.sqrt(np.median(nearest, axis=1)).tolist(),
                             strict=True))
        for lane, _ in lanes.unfit:
            self.curves.pop(lane.track.id, None)  # compared by centre until it has a curve again
        self.curves.update(zip(ids, lanes.samples, strict=True))
        return moves


@dataclass
class _LightRun:
    """Consecutive states of one traffic light showing the same thing."""

    shows: tuple[Any, bool]  # state, flashing
    start: int
    last: int
    bounds: Region


def _shown(shows: tuple[Any, bool]) -> str:
    return f"{'flashing ' if shows[1] else ''}{shows[0]}"


@_register("light-flicker")
class LightFlicker(Check):
    def __init__(self, *args):
        super().__init__(*args)
        self.runs: dict[int, tuple[_LightRun | None, _LightRun]] = {}  # track id -> (run before, current run)

    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        for item in frame.objects:
            if item.track.class_name != LIGHT_CLASS:
                continue
            shows = (item.attributes.get(LIGHT_STATE), bool(item.attributes.get(LIGHT_FLASHING)))
            before, current = self.runs.get(item.track.id, (None, None))
            if current is not None and current.shows == shows:
                current.last = frame.number
                continue
            if before is not None and self._too_short(current):
                yield self._finding(item, before, current, shows)
            self.runs[item.track.id] = (current, _LightRun(shows, frame.number, frame.number,
                                                           item.state.geometry.bounds()))

    def _too_short(self, run: _LightRun) -> bool:
        """A steady state shown too briefly (a flashing light changes all the time)."""
        return not run.shows[1] and run.last - run.start + 1 < self.settings["min_state_frames"]

    def _finding(self, item: FrameObject, before: _LightRun, run: _LightRun, after: tuple[Any, bool]) -> Finding:
        return self.finding(f"{_label(item)} shows {_shown(run.shows)} on {_frames_text(run.start, run.last)} only, "
                            f"between {_shown(before.shows)} and {_shown(after)} (at least "
                            f"{self.settings['min_state_frames']} frames expected)", run.start, (item.track.id,),
                            run.bounds)


@_register("missing-attribute")
class MissingAttribute(Check):
    def __init__(self, *args):
        super().__init__(*args)
        self.checked_classes = {spec.name for spec in self.project.taxonomy
                                if any(attribute.required_if for attribute in spec.attributes.values())}
        self.reported: set[int] = set()  # one finding per track

    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        for item in frame.objects:
            if item.track.class_name not in self.checked_classes or item.track.id in self.reported:
                continue
            spec = self.project.taxonomy[item.track.class_name]
            missing = spec.missing_required(item.attributes)
            if missing:
                self.reported.add(item.track.id)
                needs = "; ".join(f"{name} (required when {_condition(spec.attributes[name].required_if)})"
                                  for name in missing)
                yield self.finding(f"{_label(item)} lacks {needs}, from frame {frame.number}", frame.number,
                                   (item.track.id,), item.state.geometry.bounds())


@dataclass
class _LowRun:
    """Consecutive flagged states of one track."""

    start: int
    last: int
    lowest: float
    bounds: Region


@_register("unreviewed-low-confidence")
class UnreviewedLowConfidence(Check):
    def __init__(self, *args):
        super().__init__(*args)
        self.open: dict[int, tuple[FrameObject, _LowRun]] = {}  # track id -> its run being extended

    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        for item in frame.objects:
            if not self._flagged(item):
                continue
            track_id, confidence = item.track.id, item.state.confidence
            _, run = self.open.get(track_id, (None, None))
            if run is not None and run.last == frame.number - 1:
                run.last, run.lowest = frame.number, min(run.lowest, confidence)
                continue
            if run is not None:
                yield self._finding(*self.open[track_id])
            self.open[track_id] = (item, _LowRun(frame.number, frame.number, confidence, item.state.geometry.bounds()))

    def finish(self) -> Iterator[Finding]:
        return (self._finding(item, run) for item, run in self.open.values())

    def _flagged(self, item: FrameObject) -> bool:
        state, marks = item.state, self.project.store
        if state.source is not Source.PROPAGATED or state.confidence is None:
            return False
        if state.confidence >= self.settings["min_confidence"]:
            return False
        targets = ((state.track_id, state.frame), (state.track_id, None), (None, state.frame))
        return not any((mark := marks.review_mark(*target)) is not None and mark.status in REVIEWED
                       for target in targets)

    def _finding(self, item: FrameObject, run: _LowRun) -> Finding:
        return self.finding(f"{_label(item)} has unreviewed propagated states below confidence "
                            f"{self.settings['min_confidence']:g} on {_frames_text(run.start, run.last)}, "
                            f"lowest {run.lowest:.2f}", run.start, (item.track.id,), run.bounds)


# ---------------------------------------------------------------- skeleton checks


class _SkeletonPairs(Check):
    """Sees each skeleton track's consecutive skeleton states as (before, now) pairs."""

    def __init__(self, *args):
        super().__init__(*args)
        self.last: dict[int, FrameObject] = {}  # track id -> its latest skeleton state

    def on_frame(self, frame: Frame) -> Iterator[Finding]:
        for item in frame.objects:
            skeleton = self.project.taxonomy[item.track.class_name].skeleton
            if item.state.geometry.kind is not GeometryKind.SKELETON or skeleton is None:
                continue
            before = self.last.get(item.track.id)
            self.last[item.track.id] = item
            if before is not None:
                yield from self.compare(before, item, skeleton)

    def compare(self, before: FrameObject, now: FrameObject, skeleton: Skeleton) -> Iterable[Finding]:
        raise NotImplementedError


@_register("limb-jump")
class LimbJump(_SkeletonPairs):
    """An edge placed at both ends in consecutive states whose length changes by more than ``max_ratio`` (a
    point put on the wrong joint); edges shorter than ``min_length`` px are left alone (a pixel of jitter on a
    far face would change their length many times over)."""

    def compare(self, before: FrameObject, now: FrameObject, skeleton: Skeleton) -> Iterator[Finding]:
        edges = np.array(skeleton.edge_indices()).reshape(-1, 2)
        old, new = _edge_lengths(before.state.geometry, edges), _edge_lengths(now.state.geometry, edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.maximum(old, new) / np.minimum(old, new)  # NaN where an end is absent
        measured = np.minimum(old, new) >= self.settings["min_length"]
        jumps = np.flatnonzero(measured & (ratio > self.settings["max_ratio"]))
        if jumps.size:
            worst = jumps[np.argmax(ratio[jumps])]
            first, second = skeleton.edges[worst]
            more = f"; {len(jumps) - 1} more edge(s) too" if len(jumps) > 1 else ""
            yield self.finding(f"{_label(now)}: {first}-{second} changes length {ratio[worst]:.1f}x from frame "
                               f"{before.state.frame} to frame {now.state.frame} ({old[worst]:.0f} to "
                               f"{new[worst]:.0f} px, limit {self.settings['max_ratio']:g}x){more}",
                               now.state.frame, (now.track.id,), now.state.geometry.bounds())


@_register("skeleton-flip")
class SkeletonFlip(_SkeletonPairs):
    """A left/right pair whose left-right order flips between consecutive states while most of the body's other
    pairs keep theirs: the two points swapped by mistake.  A person who turns round flips every pair at once,
    and facing the camera the left side is on the image's right: neither is a finding.  Pairs less than
    ``min_separation`` px apart across (seen side on) are not counted either way."""

    def compare(self, before: FrameObject, now: FrameObject, skeleton: Skeleton) -> Iterator[Finding]:
        pairs = np.array(skeleton.flip_indices()).reshape(-1, 2)
        old, new = _across(before.state.geometry, pairs), _across(now.state.geometry, pairs)
        separation = self.settings["min_separation"]
        measured = (np.abs(old) >= separation) & (np.abs(new) >= separation)  # False where a point is absent
        flipped = measured & (np.sign(old) != np.sign(new))
        if flipped.any() and flipped.sum() < (measured & ~flipped).sum():
            names = ", ".join(f"{skeleton.flip[index][0]}/{skeleton.flip[index][1]}"
                              for index in np.flatnonzero(flipped))
            yield self.finding(f"{_label(now)}: {names} swap sides from frame {before.state.frame} to frame "
                               f"{now.state.frame} while the rest of the body does not turn", now.state.frame,
                               (now.track.id,), now.state.geometry.bounds())


def _edge_lengths(geometry, edges: np.ndarray) -> np.ndarray:
    """The length of each edge (NaN where an end is absent)."""
    return np.linalg.norm(geometry.points[edges[:, 0]] - geometry.points[edges[:, 1]], axis=1)


def _across(geometry, pairs: np.ndarray) -> np.ndarray:
    """x of each pair's left point minus its right one's (NaN where either is absent)."""
    return geometry.points[pairs[:, 0], 0] - geometry.points[pairs[:, 1], 0]


# ---------------------------------------------------------------- checks over the whole range


@_register("school-zone-tag")
class SchoolZoneTag(Check):
    """Tags and polygons should agree, but a zone is seen ahead before the car enters it (and the tag begins)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.zones: dict[int, list[FrameObject]] = {}  # frame -> its school-zone polygons

    def on_frame(self, frame: Frame) -> Iterable[Finding]:
        zones = [item for item in frame.objects if item.track.class_name == ZONE_CLASS]
        if zones:
            self.zones[frame.number] = zones
        return ()

    def finish(self) -> Iterator[Finding]:
        tags = [tag for tag in self.project.tags() if tag.class_name == ZONE_TAG]
        for tag in tags:
            span = range(max(tag.start, self.frames.start), min(tag.end + 1, self.frames.stop))
            for start, last in _runs(frame for frame in span if frame not in self.zones):
                yield self.finding(f"{ZONE_TAG} tag {tag.id} covers {_frames_text(start, last)} with no {ZONE_CLASS} "
                                   "polygon", start, (tag.id,))
        covered = {frame for tag in tags for frame in range(tag.start, tag.end + 1)}
        for seen_start, seen_last in _runs(self.zones):
            for start, last in _runs(f for f in range(seen_start, seen_last + 1) if f not in covered):
                if start == seen_start and last + 1 in covered:
                    continue  # the zone seen ahead, before the car enters it
                yield self._untagged(start, last)

    def _untagged(self, start: int, last: int) -> Finding:
        zones = [item for frame in range(start, last + 1) for item in self.zones[frame]]
        ids = sorted({item.track.id for item in zones})
        names = ", ".join(str(track_id) for track_id in ids)
        return self.finding(f"{ZONE_CLASS} {names} on {_frames_text(start, last)} not covered by a {ZONE_TAG} tag",
                            start, ids, functools.reduce(_union, (item.state.geometry.bounds()
                                                                  for item in self.zones[start])))


@_register("suggestion-disagrees")
class SuggestionDisagrees(Check):
    """A confident assistant disagrees with what a person labeled (core.suggestion_writing records it as a
    dispute, never as an overwrite): data cleaning before training.  One finding per run of frames where one
    assistant proposes the same values for one object."""

    def finish(self) -> Iterator[Finding]:
        rows = sorted(disputes(self.project, self.frames),
                      key=lambda row: (row.track_id, row.assistant, _shown_values(row.attributes), row.frame))
        for _, group in itertools.groupby(rows, key=lambda row: (row.track_id, row.assistant,
                                                                 _shown_values(row.attributes))):
            group = list(group)
            for start, last in _runs(row.frame for row in group):
                yield self._finding([row for row in group if start <= row.frame <= last], start, last)

    def _finding(self, rows: list, start: int, last: int) -> Finding:
        first, store = rows[0], self.project.store
        if store.has_track(first.track_id):
            name = f"{store.track(first.track_id).class_name} {first.track_id}"
            state = store.state(first.track_id, start)
            labeled = {**store.track(first.track_id).attributes, **(state.attributes if state else {})}
            region = state.geometry.bounds() if state else None
        else:
            tag = store.tag(first.track_id)
            name, labeled, region = f"{tag.class_name} tag {tag.id}", dict(tag.attributes), None
        said = ", ".join(f"{key} {labeled.get(key)!r}" for key in first.attributes)
        confidence = min(row.confidence for row in rows)
        return self.finding(f"{name} on {_frames_text(start, last)}: labeled {said}; {first.model} says "
                            f"{_shown_values(first.attributes)} (confidence {confidence:.2f} or more)", start,
                            (first.track_id,), region)


def _shown_values(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {value!r}" for key, value in sorted(values.items()))


# ---------------------------------------------------------------- geometry helpers


def _crossings(lanes: np.ndarray, touch: float) -> Iterator[tuple[int, int, np.ndarray]]:
    """(i, j, point) for each pair i < j of sampled lanes (L, N, 2) that cross farther than ``touch`` from their
    ends, in pair order; the first such crossing along lane i stands for the pair.

    Only segments whose boxes meet are compared (``_overlapping``): 2,000 lanes on a frame are 2 million pairs
    of lanes, and comparing every segment of each pair took gigabytes.
    """
    segments = lanes.shape[1] - 1
    starts, ends = lanes[:, :-1].reshape(-1, 2), lanes[:, 1:].reshape(-1, 2)
    low, high = np.minimum(starts, ends), np.maximum(starts, ends)
    tips = lanes[:, [0, -1]]  # (L, 2, 2) each lane's ends
    found = [(np.empty(0, int), np.empty(0, int), np.empty((0, 2)))]
    for one, other in _overlapping(low[:, 0], high[:, 0]):
        meet = ((one // segments != other // segments)
                & (np.maximum(low[one, 1], low[other, 1]) <= np.minimum(high[one, 1], high[other, 1])))
        a, b = np.minimum(one[meet], other[meet]), np.maximum(one[meet], other[meet])  # a on the lower lane
        step = ends[a] - starts[a]
        hits, t = segment_hits(starts[a], step, starts[b], ends[b] - starts[b])
        a, b, t, step = a[hits], b[hits], t[hits], step[hits]
        points = starts[a] + t[:, None] * step
        near = np.concatenate([tips[a // segments], tips[b // segments]], axis=1)  # (hits, 4, 2)
        away = (np.linalg.norm(near - points[:, None], axis=2) > touch).all(axis=1)
        found.append((a[away], b[away], points[away]))
    a, b, points = (np.concatenate(parts) for parts in zip(*found, strict=True))
    lane_a, lane_b = a // segments, b // segments
    order = np.lexsort((b, a, lane_b, lane_a))  # by pair, then along lane i, then along lane j
    pair = (lane_a * len(lanes) + lane_b)[order]
    first = order[np.diff(pair, prepend=-1) != 0]
    yield from zip(lane_a[first].tolist(), lane_b[first].tolist(), points[first], strict=True)


def _self_crossings(lanes: np.ndarray) -> dict[int, np.ndarray]:
    """Lane index -> where it first crosses itself, for sampled lanes (L, N, 2)."""
    steps = np.diff(lanes, axis=1)
    steady = ((steps > 0).all(axis=1) | (steps < 0).all(axis=1)).any(axis=1)  # steadily along x or y: cannot cross
    candidates = np.flatnonzero(~steady)
    segments = lanes.shape[1] - 1
    apart = np.triu(np.ones((segments, segments), dtype=bool), k=2)  # neighbouring segments share an end
    crossings: dict[int, np.ndarray] = {}
    for block in _blocks(len(candidates)):
        lane, points = segment_crossings(lanes[candidates[block]], lanes[candidates[block]], apart)
        for index, point in zip(candidates[block][lane].tolist(), points, strict=True):
            crossings.setdefault(index, point)
    return crossings


def _overlapping(low: np.ndarray, high: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Index pairs of the intervals [low, high] that overlap, each pair once (in no particular order), in blocks
    of about ``PAIRS_AT_ONCE`` pairs.

    Sorted by ``low``, an interval overlaps the ones after it up to the first that starts beyond its ``high``
    (sort and sweep): the work grows with the pairs that overlap, not with all the pairs.
    """
    order = np.argsort(low, kind="stable")
    counts = np.searchsorted(low[order], high[order], side="right") - np.arange(1, len(order) + 1)
    reached = np.cumsum(counts)
    if not len(reached) or not reached[-1]:
        return
    cuts = np.searchsorted(reached, np.arange(PAIRS_AT_ONCE, reached[-1], PAIRS_AT_ONCE), side="right")
    for start, stop in itertools.pairwise(np.unique(np.concatenate([[0], cuts, [len(order)]])).tolist()):
        count = counts[start:stop]
        rows = np.repeat(np.arange(start, stop), count)
        columns = rows + 1 + np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
        yield order[rows], order[columns]


def _pairs_where(low: np.ndarray, high: np.ndarray,
                 measure: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, value) of the pairs i < j, in order, among those whose intervals [low, high] overlap, that
    ``measure(i, j)`` -> (values, kept) keeps."""
    found = [(np.empty(0, int), np.empty(0, int), np.empty(0))]
    for one, other in _overlapping(low, high):
        first, second = np.minimum(one, other), np.maximum(one, other)
        values, kept = measure(first, second)
        found.append((first[kept], second[kept], values[kept]))
    first, second, values = (np.concatenate(parts) for parts in zip(*found, strict=True))
    order = np.lexsort((second, first))
    return first[order], second[order], values[order]


def _nearest_squared(samples: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Squared distance from each of (K, S, 2) samples to the nearest of the same row's (K, T, 2) others: (K, S)."""
    gaps = samples[:, :, None] - others[:, None]
    return (gaps[..., 0] ** 2 + gaps[..., 1] ** 2).min(axis=2)


def _blocks(count: int) -> Iterator[slice]:
    return (slice(start, start + LANES_AT_ONCE) for start in range(0, count, LANES_AT_ONCE))


def _fold_depths(lanes: np.ndarray) -> np.ndarray:
    """How far (px) each sampled lane's rows turn back against its main direction along the curve, (L,)."""
    y = lanes[..., 1]
    back_up = (np.maximum.accumulate(y, axis=1) - y).max(axis=1, initial=0.0)
    back_down = (y - np.minimum.accumulate(y, axis=1)).max(axis=1, initial=0.0)
    return np.minimum(back_up, back_down)


def _shape_family(item: FrameObject) -> tuple[str, int]:
    """What a geometry is compared as ('area': by its bounds, 'line' or 'points') and with how many points it must
    match."""
    geometry = item.state.geometry
    if geometry.kind in AREA_KINDS or geometry.kind is GeometryKind.SKELETON:  # a skeleton's points may be absent
        return "area", 0
    if geometry.kind is GeometryKind.POLYLINE:
        return "line", 0
    return "points", len(geometry.points)


def _comparable_points(item: FrameObject, family: str, lanes: Lanes) -> np.ndarray:
    """A line at LANE_SAMPLES points equally spaced along it (a lane's fitted curve); points as they are."""
    points = item.state.geometry.points
    if family != "line":
        return points
    if item.track.id in lanes.rows:
        return lanes.samples[lanes.rows[item.track.id]]
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    at = np.linspace(0.0, arc[-1], LANE_SAMPLES)
    return np.column_stack([np.interp(at, arc, points[:, 0]), np.interp(at, arc, points[:, 1])])


def _overlapping_boxes(bounds: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, IoU) of the pairs i < j of (x0, y0, x1, y1) rectangles whose IoU is above ``threshold``, in order."""
    area = (bounds[:, 2:] - bounds[:, :2]).prod(axis=1)

    def iou(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low = np.maximum(bounds[first, :2], bounds[second, :2])
        high = np.minimum(bounds[first, 2:], bounds[second, 2:])
        inter = np.clip(high - low, 0.0, None).prod(axis=1)
        union = area[first] + area[second] - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(union > 0, inter / union, 0.0)
        return values, values > threshold

    return _pairs_where(bounds[:, 0], bounds[:, 2], iou)  # above a threshold of 0 or more, they overlap


def _close_shapes(shapes: np.ndarray, limit: float, *, reversible: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) of the pairs i < j of (S, N, 2) shapes whose matching points are less than ``limit`` apart
    on average (a line either way round), in order.

    Worked out only where the centroids are closer than ``limit``: the mean distance is never below the distance
    between the centroids.
    """
    centroids = shapes.mean(axis=1)

    def mean_distance(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        distance = np.full(len(first), np.inf)
        near = np.linalg.norm(centroids[first] - centroids[second], axis=1) < limit
        pairs = shapes[first[near]], shapes[second[near]]
        distance[near] = np.linalg.norm(pairs[0] - pairs[1], axis=2).mean(axis=1)
        if reversible:
            reverse = np.linalg.norm(pairs[0] - pairs[1][:, ::-1], axis=2).mean(axis=1)
            distance[near] = np.minimum(distance[near], reverse)
        return distance, distance < limit

    # centroids within 2 * limit in x: all the near ones, with room to spare for rounding
    return _pairs_where(centroids[:, 0], centroids[:, 0] + 2 * limit, mean_distance)


def _centre(bounds: Region) -> tuple[float, float]:
    return (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2


def _union(a: Region, b: Region) -> Region:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _around(point, margin: float = REGION_MARGIN) -> Region:
    x, y = (float(value) for value in point)
    return x - margin, y - margin, x + margin, y + margin


# ---------------------------------------------------------------- text and runs


def _label(item: FrameObject) -> str:
    return f"{item.track.class_name} {item.track.id}"


def _frames_text(start: int, last: int) -> str:
    return f"frame {start}" if start == last else f"frames {start}-{last} ({last - start + 1} frames)"


def _condition(required_if: Mapping[str, Any]) -> str:
    return " and ".join(f"{key} is {value}" for key, value in required_if.items())


def _runs(frames: Iterable[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in ``frames``."""
    return [(start, last) for start, last, _ in frame_runs((frame, None) for frame in sorted(frames))]
