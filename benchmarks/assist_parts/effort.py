"""Effort: the actions a person needs to label the sample clip completely, from scratch against from the
assistants' suggestions.  Goal: assisted / scratch <= 0.4.

The clip is the bundled sample (``RoadSceneConfig()``: 90 frames, 640x360, seed 0, the same bytes as
``sample_data/road_clip.mp4``), written as mp4v and read back through ``open_frames`` as the tool reads it.
Its truth: five lane lines, a traffic light (red, green, yellow over the clip), two signs, a crosswalk, a
school-zone polygon, a stop line, a traffic-direction line, and two frame tags (``scene``, the
``school-zone-active`` range).

A simulated annotator, the same in both arms, with these action costs:

* **choose a class** for a new object: 1;
* **draw a keyframe**: one click per point a person places: a box 2, a polygon its vertices, a line its
  points, a lane ``min(points, LANE_CLICKS)`` (the tool fits the curve through a few clicks);
* **propagate** (flow, the tool's own propagation): 1 per run;
* **set an attribute**: 1 per track attribute whose value is not the default; per-frame attributes (a lane's
  style, a light's state) 1 per stretch of frames with one true value that the labels get wrong
  (``attribute_edits``: from scratch, every stretch whose true value is not the default);
* **delete** a wrong state: 1 per frame (the tool has no range delete);
* **a tag**: 2 (its first and last frame) and 1 per attribute that is not the default;
* **accept** all of one track's (or one tag's) pending suggestions: 1 (``core.suggestions.accept_all``);
  **reject** one suggested track or tag: 1 (``reject_all``).

Geometry is done when every frame the object is on is within ``TOLERANCE_PX`` (mean distance,
``temporal.shape_distance.mean_distance``) of the truth, in both arms; the loop that gets it there is the one
of ``bench_propagation``'s effort: keyframe the worst frame (a missing stretch: its end away from the labels),
propagate between its neighbouring keyframes, again until every frame is within tolerance.

**Scratch arm** (the tool without assistants): per truth object, choose its class, keyframe it to tolerance
(starting with its first and last frame), set its attributes; per tag, draw it and set its attributes.

**Assisted arm**, every assistant run for real through ``assist.run.compute_suggestions`` and ``write``:

1. ``lanes``, ``boxes`` and ``road-paint`` (untrained: nothing is labeled yet) propose tracks.  A suggested
   track *matches* a truth object of its class when it lies on it on most of its frames (lines within
   ``LANE_MATCH_PX`` mean distance, boxes and areas bounds IoU >= ``MATCH_IOU``); each truth object takes
   the matching track with the most such frames.
   Its track is accepted (1), then each accepted frame that is off (beyond ``TOLERANCE_PX``, or where the
   object is not) is deleted (1 each) and the gaps filled by the keyframe loop above (fixes).  When that
   would cost at least as much as drawing it (known from the scratch arm: a person sees a poor proposal),
   the track is rejected (1) and the object drawn as from scratch.  Truth objects no track matches are
   drawn from scratch; every suggested track not taken is rejected (1 each).  Track attributes the
   suggestion got wrong: 1 each.
2. ``light-state`` suggests each light's state on every frame: accepting a light's states is 1, then 1 per
   stretch of frames still wrong (``attribute_edits``), as for a lane's style.
3. ``frame-tags`` learns from a person's tags: the annotator tags the first ``TRAINING_FRAMES`` frames of
   each true range of a class it can learn (2 actions each, counted; every frame holds accepted labels by
   then, which are its "worked on, no tag here" frames).  A class whose truth has one value only over the
   clip (the scene is clear and day throughout) cannot be learned: tagged from scratch.  Each suggested tag
   on a true range is accepted (1), each end more than ``TAG_SLACK`` frames off fixed (1), a range nothing
   covers extended from the training tag (1); other suggested tags rejected (1 each).

Objects of classes no assistant proposes (traffic direction) cost the same
in both arms and count in both: ``ratio`` is over everything (the goal), ``ratio_assisted_classes`` leaves
them out (what the assistants themselves save).  ``ratio_if_the_rest_were_rejected_at_once`` counts one
"reject the rest" per assistant instead of one reject per unmatched track (``reject_all`` does that in one
undo step; no panel action offers it yet), to show how much the fragments of proposals cost.  Looking at a
frame is not an action in either arm.  ``objects`` gives each object of an assisted class: how it was done
and its actions in each arm.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from napari_roadlabel.assist.run import compute_suggestions  # noqa: E402
from napari_roadlabel.core import Project, SequenceInfo, Source  # noqa: E402
from napari_roadlabel.core.errors import RoadlabelError  # noqa: E402
from napari_roadlabel.core.geometry import (
    GeometryKind,  # noqa: E402
    bounds_iou,  # noqa: E402
)
from napari_roadlabel.core.lanes import is_lane_class  # noqa: E402
from napari_roadlabel.core.suggestions import GEOMETRY, TAGS, accept_all, pending_suggestions, reject_all  # noqa: E402
from napari_roadlabel.core.taxonomy import Scope  # noqa: E402
from napari_roadlabel.core.timeline import frame_runs  # noqa: E402
from napari_roadlabel.io.frames import open_frames  # noqa: E402
from napari_roadlabel.sample import RoadSceneConfig, make_road_sequence  # noqa: E402
from napari_roadlabel.sample.sequence import VIDEO_NAME, write_video  # noqa: E402
from napari_roadlabel.temporal.propagation import propagate  # noqa: E402
from napari_roadlabel.temporal.shape_distance import mean_distance  # noqa: E402

GOAL_RATIO = 0.4
TOLERANCE_PX = 3.0  # as bench_propagation: a frame further than this from the truth needs work
LANE_CLICKS = 6
LANE_MATCH_PX = 8.0  # a suggested lane this close to a true one (mean distance) lies on it
MATCH_IOU = 0.5
TAG_SLACK = 2  # frames: a tag's end this close to the truth is right
TRAINING_FRAMES = 10
GEOMETRY_ASSISTANTS = ("lanes", "boxes", "road-paint")
PROPOSED_BY = {"lane-line": "lanes", "traffic-light": "boxes", "traffic-sign": "boxes",  # tags: frame-tags
               "stop-line": "road-paint", "crosswalk": "road-paint", "school-zone": "road-paint"}
ASSISTED_CLASSES = set(PROPOSED_BY)
ACCEPT, REJECT, FIX, DRAWN = "accepts", "rejects", "fixes", "drawn"


# ----------------------------------------------------------------------------------------------- counting

def attribute_edits(labeled: Sequence[Any], truth: Sequence[Any]) -> int:
    """Edits that make ``labeled`` (one value per frame) equal ``truth``: one per stretch of consecutive frames
    with one true value that the labels get wrong (select the stretch, set the value)."""
    if len(labeled) != len(truth):
        raise ValueError(f"{len(labeled)} labeled values against {len(truth)} true ones")
    pairs = enumerate(zip(labeled, truth, strict=True))
    runs = frame_runs((frame, (true, value == true)) for frame, (value, true) in pairs)
    return sum(1 for _, _, (_, right) in runs if not right)


def keyframe_clicks(geometry) -> int:
    """Clicks to draw one keyframe of this shape (the module's costs)."""
    if geometry.kind is GeometryKind.BOX:
        return 2
    return min(len(geometry.points), LANE_CLICKS) if geometry.kind is GeometryKind.POLYLINE else len(geometry.points)


class Tally:
    """Actions counted by (class, kind, what): kind is accepts, rejects, fixes or drawn; what says which."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def add(self, class_name: str, kind: str, what: str, count: int = 1) -> None:
        if count:
            self.counts[class_name, kind, what] += count

    def merge(self, other: Tally, classes: Iterable[str]) -> None:
        wanted = set(classes)
        for key, count in other.counts.items():
            if key[0] in wanted:
                self.counts[key] += count

    def total(self, classes: Iterable[str] | None = None) -> int:
        wanted = None if classes is None else set(classes)
        return sum(count for (name, _, _), count in self.counts.items() if wanted is None or name in wanted)

    def report(self) -> dict:
        by_class: Counter = Counter()
        by_kind: Counter = Counter()
        by_what: Counter = Counter()
        for (name, kind, what), count in self.counts.items():
            by_class[name] += count
            by_kind[kind] += count
            by_what[f"{kind}: {what}"] += count
        return {"total": self.total(), "by_class": dict(sorted(by_class.items())),
                "by_kind": dict(sorted(by_kind.items())), "by_action": dict(sorted(by_what.items()))}


# ----------------------------------------------------------------------------------------------- the clip

class Clip:
    """The sample clip: truth by track, decoded frames, and a fresh project on it."""

    def __init__(self, folder: Path):
        self.config = RoadSceneConfig()
        self.sequence = make_road_sequence(self.config)
        write_video(folder / VIDEO_NAME, self.sequence)
        source = open_frames(folder / VIDEO_NAME)
        try:  # decoded once: every propagation and assistant reads them again
            self.frames = np.stack([np.asarray(source[index]) for index in range(len(source))])
        finally:
            source.close()
        self.folder = folder
        self.truth: dict[int, dict[int, Any]] = {track.id: {} for track in self.sequence.tracks}
        for state in self.sequence.states:
            self.truth[state.track_id][state.frame] = state
        self.tracks = {track.id: track for track in self.sequence.tracks}

    def project(self, name: str) -> Project:
        config = self.config
        return Project.create(self.folder / name, SequenceInfo(VIDEO_NAME, config.frames, config.width,
                                                               config.height, config.fps))


# ----------------------------------------------------------------------------------------------- geometry

def frame_errors(project: Project, track_id: int, truth: dict[int, Any], lane: bool) -> dict[int, float]:
    """Distance of the track's shape from the truth on each true frame (inf where it has none)."""
    errors = {}
    for frame, true in truth.items():
        state = project.state(track_id, frame)
        errors[frame] = np.inf if state is None else mean_distance(state.geometry, true.geometry, lane=lane)
    return errors


def complete_geometry(project: Project, clip: Clip, track_id: int, truth: dict[int, Any], tally: Tally,
                      kind: str) -> None:
    """Delete the track's wrong states, then keyframe and propagate until every true frame is in tolerance."""
    class_name = project.track(track_id).class_name
    lane = is_lane_class(class_name)
    wrong = [state.frame for state in project.states_of(track_id) if state.frame not in truth or
             mean_distance(state.geometry, truth[state.frame].geometry, lane=lane) > TOLERANCE_PX]
    for frame in wrong:
        project.delete_state(track_id, frame)
    tally.add(class_name, kind, "delete a wrong state", len(wrong))
    if wrong and _keys(project, track_id):
        _propagate(project, clip, track_id, 0, clip.config.frames - 1, tally, class_name, kind)
    while True:
        errors = frame_errors(project, track_id, truth, lane)
        worst = max(errors, key=errors.get)
        if errors[worst] <= TOLERANCE_PX:
            return
        if np.isinf(errors[worst]):
            worst = _key_for_missing(errors, worst)
        held = _held_attributes(project, track_id, worst)
        project.set_state(track_id, worst, truth[worst].geometry, held, source=Source.MANUAL)
        tally.add(class_name, kind, "keyframe clicks", keyframe_clicks(truth[worst].geometry))
        keys = _keys(project, track_id)
        at = keys.index(worst)
        _propagate(project, clip, track_id, keys[max(at - 1, 0)], keys[min(at + 1, len(keys) - 1)], tally,
                   class_name, kind)


def _key_for_missing(errors: dict[int, float], frame: int) -> int:
    """Where to keyframe a stretch with no shape: its end away from the labels (the first or last true frame),
    or its middle when labels are on both sides (propagation stopped inside it)."""
    frames = sorted(errors)
    start = end = frames.index(frame)
    while start > 0 and np.isinf(errors[frames[start - 1]]):
        start -= 1
    while end < len(frames) - 1 and np.isinf(errors[frames[end + 1]]):
        end += 1
    if start == 0:
        return frames[0]
    return frames[-1] if end == len(frames) - 1 else frames[(start + end) // 2]


def _keys(project: Project, track_id: int) -> list[int]:
    return [state.frame for state in project.states_of(track_id) if state.source is Source.MANUAL]


def _held_attributes(project: Project, track_id: int, frame: int) -> dict:
    """The per-frame values a new keyframe gets: those of the track's nearest state before it (they hold)."""
    before = [state for state in project.states_of(track_id) if state.frame < frame]
    return dict(before[-1].attributes) if before else {}


def _propagate(project: Project, clip: Clip, track_id: int, start: int, end: int, tally: Tally,
               class_name: str, kind: str) -> None:
    if end - start <= 1:
        return
    propagate(project, clip.frames, method="flow", tracks=[track_id], start=start, end=end)
    tally.add(class_name, kind, "propagate")


def draw_from_scratch(project: Project, clip: Clip, truth_id: int, tally: Tally) -> int:
    """Choose the class, keyframe to tolerance, set the track attributes; returns the new track's id."""
    class_name = clip.tracks[truth_id].class_name
    track = project.add_track(class_name)
    tally.add(class_name, DRAWN, "choose the class")
    complete_geometry(project, clip, track.id, clip.truth[truth_id], tally, DRAWN)
    fix_track_attributes(project, clip, track.id, truth_id, tally, DRAWN)
    return track.id


def fix_track_attributes(project: Project, clip: Clip, track_id: int, truth_id: int, tally: Tally, kind: str) -> None:
    """Set each track attribute whose value is not the true one (1 each)."""
    track, true = project.track(track_id), clip.tracks[truth_id]
    spec = project.taxonomy[track.class_name]
    defaults = spec.defaults(Scope.TRACK)
    wrong = {name: true.attributes[name] for name in spec.attributes_of(Scope.TRACK)
             if name in true.attributes and track.attributes.get(name, defaults.get(name)) != true.attributes[name]}
    if wrong:
        project.set_track_attributes(track_id, wrong)
        tally.add(track.class_name, kind, "set a track attribute", len(wrong))


def fix_frame_attributes(project: Project, clip: Clip, track_id: int, truth_id: int, tally: Tally, kind: str) -> None:
    """Count the edits that make each per-frame attribute true on every frame (``attribute_edits``)."""
    class_name = project.track(track_id).class_name
    spec = project.taxonomy[class_name]
    truth = clip.truth[truth_id]
    for name, attribute in spec.attributes_of(Scope.FRAME).items():
        labeled = [project.state(track_id, frame).attributes.get(name, attribute.default) for frame in truth]
        true = [state.attributes.get(name, attribute.default) for state in truth.values()]
        tally.add(class_name, kind, f"set {name}", attribute_edits(labeled, true))


# ----------------------------------------------------------------------------------------------- scratch arm

def scratch_arm(clip: Clip) -> tuple[Tally, dict[int, int]]:
    """Everything drawn by hand; also each object's own cost (the assisted annotator compares with it)."""
    tally = Tally()
    cost: dict[int, int] = {}
    with clip.project("scratch") as project:
        for truth_id in clip.tracks:
            before = tally.total()
            track_id = draw_from_scratch(project, clip, truth_id, tally)
            fix_frame_attributes(project, clip, track_id, truth_id, tally, DRAWN)
            cost[truth_id] = tally.total() - before
        for tag in clip.sequence.tags:
            tag_from_scratch(project, tag, tally)
    return tally, cost


def tag_from_scratch(project: Project, tag, tally: Tally) -> None:
    tally.add(tag.class_name, DRAWN, "tag first and last frame", 2)
    defaults = project.taxonomy[tag.class_name].defaults(Scope.TRACK)
    tally.add(tag.class_name, DRAWN, "set a tag attribute",
              sum(value != defaults.get(name) for name, value in tag.attributes.items()))


# ----------------------------------------------------------------------------------------------- assisted arm

def assisted_arm(clip: Clip, scratch: Tally, scratch_cost: dict[int, int]) -> tuple[Tally, dict]:
    tally = Tally()
    notes: dict[str, Any] = {}
    with clip.project("assisted") as project:
        for name in GEOMETRY_ASSISTANTS:
            notes[name] = _run(project, clip, name)
        objects = _take_geometry(project, clip, scratch_cost, tally, notes)
        notes["light-state"] = _run(project, clip, "light-state")
        for truth_id, entry in objects.items():
            before = tally.total()
            pending = pending_suggestions(project, track_id=entry["track"], assistant="light-state")
            if pending:
                accept_all(project, pending)
                tally.add(clip.tracks[truth_id].class_name, ACCEPT, "accept its states")
            kind = FIX if pending or entry["how"] == "accepted" else DRAWN
            fix_frame_attributes(project, clip, entry["track"], truth_id, tally, kind)
            entry["actions"] += tally.total() - before
        notes["frame-tags"] = _tags(project, clip, tally)
    notes["objects"] = [{"truth": truth_id, "class": clip.tracks[truth_id].class_name, "how": entry["how"],
                         "assisted": entry["actions"], "scratch": scratch_cost[truth_id]}
                        for truth_id, entry in objects.items()]
    unassisted = {track.class_name for track in clip.sequence.tracks} - ASSISTED_CLASSES
    tally.merge(scratch, unassisted)
    return tally, notes


def _run(project: Project, clip: Clip, assistant: str) -> dict:
    began = time.perf_counter()
    run = compute_suggestions(project, assistant, clip.frames)
    written = run.write(project)
    return {"validation": run.validation.describe(), "written": written.describe(),
            "seconds": round(time.perf_counter() - began, 2)}


def _take_geometry(project: Project, clip: Clip, scratch_cost: dict[int, int], tally: Tally, notes: dict
                   ) -> dict[int, dict]:
    """Accept and fix the suggested tracks that match a truth object, draw the others, reject the rest;
    returns, for every object of an assisted class, its track in the project, how it was done and its actions
    (the rejects of unmatched tracks are nobody's)."""
    suggested = {item.target for item in pending_suggestions(project) if item.kind == GEOMETRY}
    truth_ids = [truth_id for truth_id, track in clip.tracks.items() if track.class_name in ASSISTED_CLASSES]
    matches = match_tracks(project, clip, suggested, truth_ids)
    objects: dict[int, dict] = {}
    for truth_id in truth_ids:
        track_id = matches.get(truth_id)
        if track_id is not None and _worth_fixing(project, clip, track_id, truth_id, scratch_cost[truth_id]):
            before = tally.total()
            accept_all(project, pending_suggestions(project, track_id=track_id))
            tally.add(clip.tracks[truth_id].class_name, ACCEPT, "accept a track")
            complete_geometry(project, clip, track_id, clip.truth[truth_id], tally, FIX)
            fix_track_attributes(project, clip, track_id, truth_id, tally, FIX)
            objects[truth_id] = {"track": track_id, "how": "accepted", "actions": tally.total() - before}
    rejected: Counter = Counter()
    for track_id in sorted(suggested - {entry["track"] for entry in objects.values()}):
        class_name = project.track(track_id).class_name
        reject_all(project, pending_suggestions(project, track_id=track_id))
        tally.add(class_name, REJECT, "reject a track")
        rejected[class_name] += 1
    for truth_id in truth_ids:
        if truth_id not in objects:
            before = tally.total()
            how = "matched, drawn: fixing costs more" if truth_id in matches else "no match, drawn"
            objects[truth_id] = {"track": draw_from_scratch(project, clip, truth_id, tally), "how": how}
            objects[truth_id]["actions"] = tally.total() - before
    notes["geometry"] = {"suggested_tracks": len(suggested), "rejected_tracks": dict(rejected)}
    return dict(sorted(objects.items()))


def match_tracks(project: Project, clip: Clip, suggested: Iterable[int], truth_ids: Iterable[int]) -> dict[int, int]:
    """Truth id -> the suggested track lying on it on most of its frames with the most such frames (each
    suggested track matched once)."""
    pairs = []
    for track_id in suggested:
        track = project.track(track_id)
        states = project.states_of(track_id)
        for truth_id in truth_ids:
            if clip.tracks[truth_id].class_name != track.class_name:
                continue
            truth = clip.truth[truth_id]
            on = sum(state.frame in truth and _lies_on(state.geometry, truth[state.frame].geometry, track.class_name)
                     for state in states)
            if on > len(states) / 2:
                pairs.append((on, truth_id, track_id))
    matches: dict[int, int] = {}
    for _, truth_id, track_id in sorted(pairs, reverse=True):
        if truth_id not in matches and track_id not in matches.values():
            matches[truth_id] = track_id
    return matches


def _lies_on(geometry, true, class_name: str) -> bool:
    if geometry.kind is GeometryKind.POLYLINE:  # a line has no area: a straight stop line has no height
        return mean_distance(geometry, true, lane=is_lane_class(class_name)) <= LANE_MATCH_PX
    return bounds_iou(geometry.bounds(), true.bounds()) >= MATCH_IOU


def _worth_fixing(project: Project, clip: Clip, track_id: int, truth_id: int, drawing: int) -> bool:
    """Accepting (1) and deleting its wrong frames costs less than drawing the object: what a person sees."""
    truth, lane = clip.truth[truth_id], is_lane_class(clip.tracks[truth_id].class_name)
    wrong = sum(state.frame not in truth or mean_distance(state.geometry, truth[state.frame].geometry, lane=lane)
                > TOLERANCE_PX for state in project.states_of(track_id))
    return 1 + wrong < drawing


def _tags(project: Project, clip: Clip, tally: Tally) -> dict:
    """Training tags, the frame-tags run, and accepting, fixing and rejecting its tags (module docstring)."""
    learnable = _learnable_tag_classes(clip)
    training = {}
    for tag in clip.sequence.tags:
        if tag.class_name in learnable:
            end = min(tag.start + TRAINING_FRAMES - 1, tag.end)
            project.add_tag(tag.class_name, tag.start, end, tag.attributes, source=Source.MANUAL)
            tally.add(tag.class_name, DRAWN, "training tag first and last frame", 2)
            training[tag.id] = end
        else:
            tag_from_scratch(project, tag, tally)
    try:
        note = _run(project, clip, "frame-tags")
    except (RoadlabelError, ModuleNotFoundError) as error:
        for tag in clip.sequence.tags:
            if tag.id in training:
                tally.add(tag.class_name, FIX, "extend the training tag")
        return {"not run": str(error)}
    suggested = [tag for tag in project.tags() if tag.source is Source.SUGGESTED]
    used = set()
    for tag in clip.sequence.tags:
        if tag.id not in training:
            continue
        target = (training[tag.id] + 1, tag.end)
        mine = sorted((s for s in suggested if s.class_name == tag.class_name and s.attributes == tag.attributes
                       and s.start <= tag.end and s.end >= target[0]), key=lambda s: s.start)
        if target[0] > target[1]:
            continue
        if not mine:
            tally.add(tag.class_name, FIX, "extend the training tag")
            continue
        accept_all(project, [item for item in pending_suggestions(project) if item.kind == TAGS
                             and item.target in {s.id for s in mine}])
        tally.add(tag.class_name, ACCEPT, "accept a tag", len(mine))
        used |= {s.id for s in mine}
        ends = [abs(mine[0].start - target[0]) > TAG_SLACK, abs(mine[-1].end - target[1]) > TAG_SLACK]
        gaps = [after.start - before.end - 1 > TAG_SLACK for before, after in zip(mine, mine[1:], strict=False)]
        tally.add(tag.class_name, FIX, "move a tag end or close a gap", sum(ends) + sum(gaps))
    class_of = {tag.id: tag.class_name for tag in suggested}
    for item in pending_suggestions(project):
        if item.kind == TAGS and item.target not in used:
            reject_all(project, [item])
            tally.add(class_of[item.target], REJECT, "reject a tag")
    note["suggested_tags"] = [(s.class_name, s.start, s.end, dict(s.attributes)) for s in suggested]
    return note


def _learnable_tag_classes(clip: Clip) -> set[str]:
    """Tag classes frame-tags can learn here: a presence class (in and out of its ranges), or a class whose
    attributes take two values over the clip."""
    learnable = set()
    for tag in clip.sequence.tags:
        same = [other for other in clip.sequence.tags if other.class_name == tag.class_name]
        covered = sum(other.end - other.start + 1 for other in same)
        if not tag.attributes and covered < clip.config.frames:
            learnable.add(tag.class_name)
        elif len({tuple(sorted(other.attributes.items())) for other in same}) > 1:
            learnable.add(tag.class_name)
    return learnable


# ----------------------------------------------------------------------------------------------- report

def measure(quick: bool = False) -> dict:
    """The two arms' actions, their ratio, and where the actions go (``quick`` is the same run: the clip is
    short already)."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        clip = Clip(Path(folder))
        scratch, scratch_cost = scratch_arm(clip)
        assisted, notes = assisted_arm(clip, scratch, scratch_cost)
        classes = {track.class_name for track in clip.sequence.tracks} | {tag.class_name for tag in clip.sequence.tags}
    with_assistant = (ASSISTED_CLASSES | {tag.class_name for tag in clip.sequence.tags}) & classes
    rejected = Counter()
    for (name, kind, _), count in assisted.counts.items():
        if kind == REJECT:
            rejected[PROPOSED_BY.get(name, "frame-tags")] += count
    bulk = assisted.total() - sum(rejected.values()) + len(rejected)  # one "reject the rest" per assistant
    return {
        "goal": f"assisted / scratch actions <= {GOAL_RATIO}",
        "scratch_actions": scratch.total(), "assisted_actions": assisted.total(),
        "ratio": round(assisted.total() / scratch.total(), 3),
        "goal_met": assisted.total() / scratch.total() <= GOAL_RATIO,
        "ratio_assisted_classes": round(assisted.total(with_assistant) / scratch.total(with_assistant), 3),
        "ratio_if_the_rest_were_rejected_at_once": round(bulk / scratch.total(), 3),
        "assisted_classes": sorted(with_assistant), "classes_without_assistant": sorted(classes - with_assistant),
        "scratch": scratch.report(), "assisted": assisted.report(), "assistants": notes,
        "costs": {"lane_clicks": LANE_CLICKS, "tolerance_px": TOLERANCE_PX, "lane_match_px": LANE_MATCH_PX,
                  "match_iou": MATCH_IOU, "tag_slack_frames": TAG_SLACK, "training_frames": TRAINING_FRAMES},
        "seconds": round(time.perf_counter() - began, 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure(quick="--quick" in sys.argv), indent=2))
