"""Merge the jobs back into their project, tracks stitched across the borders, or say why not.

    plan = plan_merge(project)          # pure: what would be written, and the conflicts
    if not plan.blocked:
        apply_merge(project, plan)      # one undo step ("merge jobs")

Each job gives the frames of its ``own`` range: there the parent ends up with
exactly the job's states (and the frame-range tags' frames), nothing else.

Which track is which.  A job's track whose id the parent had when the job was
made (``id <= base.max_track_id``) is that parent track: the same identity in
every job, joined directly.  A track a job made is new; a merge records the
parent id it got (``merge-record.json`` in the job), so the next merge treats it as
that parent track and writes nothing twice (``record.py``).  At each border, the new tracks of
the two neighbours (and any track with no same-identity partner across) are
matched per class over the frames both jobs hold (the overlap; without one,
the last own frame of one against the first of the other), one-to-one by the
Hungarian method on the mean similarity over those frames:

- boxes, polygons and masks: IoU (``qa.agreement``; a box counts as a polygon against a polygon or mask),
- lanes and other polylines: the CULane IoU of the lines drawn 30 px wide (``qa.lane_metrics``),
- points, keypoints and skeletons: 1 at the same place, down to 0 at ``2 * POINT_TOLERANCE`` px apart (mean over
  the keypoints; over a skeleton's points placed in both).

A pair at ``MATCH_SIMILARITY`` or more becomes one track (the parent's id, else a new one).  Frame by
frame, every shape near a border is drawn once and compared with all the others there (``similarities``).

What it holds.  Of each job, the plan holds its tracks and tags, and its states only on the frames compared at
its borders.  All other states are streamed ``PIECE_FRAMES`` frames at a time (``_pieces``): the plan reads the
parent's and the owning job's once, counts what would change, notes the pieces where something does, and
hashes the parent's slice of each job on the way, as it is (the ``stale`` check, ``split.SliceDigest``) and as
the merge leaves it (the merge record).  ``apply_merge`` streams again only those pieces, and writes; the states
it writes must come to the plan's counts, else nothing is written (the project or a job changed since the
plan).  So the memory a merge takes follows a piece and the borders, not the length of the sequence; only the
undo step keeps every row it changes.

Conflicts (``Conflict.kind``), each blocking: nothing is written while one remains.

- ``class``: a track at the border whose best partner across is of another class;
- ``attribute``: tracks joined into one whose track-level attributes two jobs changed differently (from what
  each had at the split: what only one job changed is taken, not a conflict);
- ``poor-match``: the best partner across is less similar than ``MATCH_SIMILARITY`` (but overlaps at all), or a
  same-identity track that the two sides drew apart;
- ``unpartnered``: a track alive at the border (on the last own frame, and on the first frame of the neighbour's
  own range when there is an overlap) with no partner across;
- ``duplicate``: a second track on one side matching a partner already taken, two tracks of one class of one job
  over ``DUPLICATE_IOU`` alike on the same frames, or two tracks of one job that become one on the same frame;
- ``outside``: a job that has states, tags or relations on frames outside its ``frames``;
- ``stale``: a job made from an older state of the sequence: the parent's slice of the job's frames is neither
  what it was at the split nor what a merge of this job left;
- ``tag-pieces``: a frame-range tag the jobs leave in separate pieces;
- ``relation``: a relation with an end not in the merge's result (its track deleted, or a job's new track that
  is on no frames the job owns), one the jobs leave in separate pieces, or one whose ends two jobs set apart.

A new tag in one job that ends at the border and a tag of the same class and attributes in the next job that
starts there become one tag.  Review marks and comments stay where they are made (not merged).

Relations (few: held whole) go like tags.  A relation's frames in the parent become those of the jobs' pieces
on their own ranges (pieces that touch across a border make one range), and the parent's own outside them
(outside every own range, and on the own range of a job that was never given it); its ends are those of the
pieces, mapped through the tracks' parent ids (a new track stitched across a border is one parent id).  A new
relation gets a new parent id, recorded like a new track's; a new relation ending at a border and one of the
same type and mapped ends starting there become one.  A relation is never written with an end the merge does
not keep.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..core import FrameRangeTag, FrameState, Geometry, GeometryKind, Project, ProjectError, RoadlabelError, Track
from ..core.annotations import Relation, RelationEnd
from ..core.geometry import make_geometry
from ..qa.agreement import box_ious, region_ious
from ..qa.lane_metrics import culane_windows
from .jobs import MERGE_STEP, Job, jobs_of
from .record import read_record, write_record
from .split import SliceDigest

MATCH_SIMILARITY = 0.5  # a pair at least this alike across a border is one object
DUPLICATE_IOU = 0.9  # two tracks of one job this alike on the same frames are one object drawn twice
POINT_TOLERANCE = 10.0  # px: points this far apart are half alike
LANE_WIDTH = 30  # px: lines are compared drawn this thick (CULane's width)
REGION_KINDS = frozenset({GeometryKind.BOX, GeometryKind.POLYGON, GeometryKind.MASK})
KINDS = ("class", "attribute", "poor-match", "unpartnered", "duplicate", "outside", "stale", "tag-pieces",
         "relation")

Node = tuple[str, int]  # ("", parent id) for a parent track, tag or relation; (job name, id) for one a job made


@dataclass(frozen=True)
class Conflict:
    kind: str  # one of KINDS
    detail: str
    jobs: tuple[str, ...]
    frames: tuple[int, int] | None = None  # the frames it concerns (a border's compared frames, say)
    tracks: tuple[tuple[str, int], ...] = ()  # (job, track id in that job)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "detail": self.detail, "jobs": list(self.jobs),
                "frames": None if self.frames is None else list(self.frames),
                "tracks": [{"job": job, "track": track} for job, track in self.tracks]}


@dataclass(frozen=True)
class Border:
    """Two neighbouring jobs: ``first`` ends at ``cut - 1``, ``second`` starts at ``cut``; ``frames`` are the
    frames both hold (the overlap), None without one."""

    first: str
    second: str
    cut: int
    frames: tuple[int, int] | None
    conflicts: tuple[Conflict, ...] = ()
    joined: int = 0  # tracks that cross it as one

    def to_dict(self) -> dict:
        return {"jobs": [self.first, self.second], "cut": self.cut,
                "frames": None if self.frames is None else list(self.frames), "joined": self.joined,
                "conflicts": [conflict.to_dict() for conflict in self.conflicts]}


@dataclass
class MergePlan:
    """What a merge would write into the parent, and what stops it."""

    project: Path
    jobs: list[Job]
    borders: list[Border]
    conflicts: list[Conflict]  # every conflict, the borders' included
    new_ids: list[int] = field(default_factory=list)  # to hand out, in order
    tracks_put: list[Track] = field(default_factory=list)
    states_put: int = 0  # how many (the states themselves are streamed again to write them: _pieces)
    states_deleted: int = 0
    tracks_deleted: list[int] = field(default_factory=list)
    tags_put: list[FrameRangeTag] = field(default_factory=list)
    tags_deleted: list[int] = field(default_factory=list)
    relations_put: list[Relation] = field(default_factory=list)
    relations_deleted: list[int] = field(default_factory=list)
    records: dict[str, dict[int, int]] = field(default_factory=dict)  # job -> its new id -> the parent's id
    targets: dict[str, dict[int, int]] = field(default_factory=dict)  # job -> its track id -> the parent's id
    merged: dict[str, SliceDigest] = field(default_factory=dict)  # job -> the parent's states on its frames after
    pieces: set[int] = field(default_factory=set)  # the first frames of the pieces (_pieces) with states to write

    @property
    def blocked(self) -> bool:
        return bool(self.conflicts)

    @property
    def changes(self) -> int:
        return (len(self.tracks_put) + self.states_put + self.states_deleted + len(self.tracks_deleted)
                + len(self.tags_put) + len(self.tags_deleted) + len(self.relations_put)
                + len(self.relations_deleted))

    def to_dict(self) -> dict:
        return {"project": str(self.project), "blocked": self.blocked, "conflicts": len(self.conflicts),
                "jobs": [job.to_dict() for job in self.jobs], "borders": [border.to_dict() for border in self.borders],
                "job_conflicts": [conflict.to_dict() for conflict in self.conflicts
                                  if not any(conflict in border.conflicts for border in self.borders)],
                "writes": {"new tracks, tags and relations": len(self.new_ids), "tracks": len(self.tracks_put),
                           "states": self.states_put, "states deleted": self.states_deleted,
                           "tracks deleted": len(self.tracks_deleted), "tags": len(self.tags_put),
                           "tags deleted": len(self.tags_deleted), "relations": len(self.relations_put),
                           "relations deleted": len(self.relations_deleted)}}


# ------------------------------------------------------------------ what a job holds


@dataclass
class _JobData:
    """What the plan holds of a job: all but its states, which it holds only on the frames compared at its
    borders (the rest are streamed, see ``_pieces``)."""

    job: Job
    tracks: dict[int, Track]
    states: dict[int, dict[int, FrameState]]  # track id -> frame -> state, on the compared frames
    tags: dict[int, FrameRangeTag]
    relations: dict[int, Relation]
    record: dict  # the job's merge record (record.py)
    owned: set[int]  # the tracks with a state on its own frames
    outside: list[int]  # the frames outside its frames that hold a state

    def node(self, identity: int, parent_ids: set[int]) -> Node:
        recorded = self.record["ids"].get(identity)
        if recorded is not None and recorded in parent_ids:
            return "", recorded
        return ("", identity) if identity <= self.job.base.max_track_id else (self.job.name, identity)

    def changed(self, identity: int, attributes) -> bool:
        """Whether the job changed these track-level attributes of ``identity`` from the split (new: yes)."""
        return self.record["base"].get(identity) != dict(attributes)

    def near(self, frames: Iterable[int]) -> list[int]:
        frames = list(frames)
        return [tid for tid, states in self.states.items() if any(frame in states for frame in frames)]


def _read_job(job: Job, compared: list[range]) -> _JobData:
    with Project.open(job.folder, read_only=True) as opened:
        store = opened.store
        states: dict[int, dict[int, FrameState]] = defaultdict(dict)
        for frames in compared:
            for item in store.iter_objects(frames):
                states[item.track.id][item.state.frame] = item.state
        first, last = job.frames
        return _JobData(job, {track.id: track for track in opened.tracks()}, dict(states),
                        {tag.id: tag for tag in opened.tags()},
                        {relation.id: relation for relation in opened.relations()}, read_record(job.folder),
                        store.tracks_on(range(job.own[0], job.own[1] + 1)),
                        [frame for frame in store.state_frames() if not first <= frame <= last])


def _compared(a: Job, b: Job) -> tuple[tuple[int, int] | None, list[tuple[int, int]]]:
    """The frames two neighbours both hold (None without an overlap), and the pairs of frames (a's, b's)
    compared at their border: each shared frame, else a's last own frame and b's first."""
    shared = (b.frames[0], a.frames[1]) if b.frames[0] <= a.frames[1] else None
    return shared, [(frame, frame) for frame in range(shared[0], shared[1] + 1)] if shared else [(a.own[1], b.own[0])]


# ------------------------------------------------------------------ the plan


def plan_merge(project: Project) -> MergePlan:
    """What merging the jobs of ``project`` would write, and the conflicts that stop it; writes nothing."""
    jobs = jobs_of(project.folder)
    if not jobs:
        raise ProjectError(project.folder, "has no jobs to merge (make them with `roadlabel jobs split`)")
    compared: dict[str, list[range]] = defaultdict(list)
    for a, b in _neighbours(jobs):
        pairs = _compared(a, b)[1]
        compared[a.name].append(range(pairs[0][0], pairs[-1][0] + 1))
        compared[b.name].append(range(pairs[0][1], pairs[-1][1] + 1))
    data = [_read_job(job, compared[job.name]) for job in jobs]
    parent_tracks = {track.id for track in project.tracks()}
    parent_ids = parent_tracks | {tag.id for tag in project.tags()} | {relation.id for relation in project.relations()}
    outside = [conflict for item in data for conflict in _outside(item)]
    groups = _Groups()
    for item in data:
        for tid in item.tracks:
            groups.add(item.node(tid, parent_ids))
    by_name = {item.job.name: item for item in data}
    borders = [_stitch(project, by_name[a.name], by_name[b.name], groups, parent_ids) for a, b in _neighbours(jobs)]
    plan = MergePlan(Path(project.folder).resolve(), jobs, borders,
                     outside + [conflict for border in borders for conflict in border.conflicts])
    _plan_tracks(project, data, groups, parent_ids, plan)
    _plan_tags(project, data, parent_ids, plan)
    stale = _plan_states(project, data, plan)
    plan.conflicts[len(outside):len(outside)] = stale  # the conflicts of whole jobs first
    _plan_relations(project, data, parent_ids, plan)
    return plan


def _neighbours(jobs: list[Job]) -> list[tuple[Job, Job]]:
    return [(a, b) for a, b in pairwise(jobs) if a.own[1] + 1 == b.own[0]]


def _outside(item: _JobData) -> list[Conflict]:
    job, (first, last), outside = item.job, item.job.frames, item.outside
    beyond = [(name, [entry.id for entry in entries.values() if entry.start < first or entry.end > last])
              for name, entries in (("tags", item.tags), ("relations", item.relations))]
    if not outside and not any(ids for _, ids in beyond):
        return []
    what = [f"states on {len(outside)} frames ({outside[0]}..{outside[-1]})"] if outside else []
    what += [f"{name} {', '.join(map(str, ids))}" for name, ids in beyond if ids]
    return [Conflict("outside", f"{' and '.join(what)} outside its frames {first}..{last}", (job.name,),
                     (first, last))]


class _Groups:
    """Union-find over track nodes: the tracks that become one."""

    def __init__(self):
        self.parent: dict[Node, Node] = {}

    def add(self, node: Node) -> None:
        self.parent.setdefault(node, node)

    def find(self, node: Node) -> Node:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, a: Node, b: Node) -> None:
        self.parent[self.find(a)] = self.find(b)


# ------------------------------------------------------------------ one border


def _stitch(project: Project, a: _JobData, b: _JobData, groups: _Groups, parent_ids: set[int]) -> Border:
    cut = b.job.own[0]
    shared, pairs = _compared(a.job, b.job)
    here_a, here_b = a.near(frame for frame, _ in pairs), b.near(frame for _, frame in pairs)
    scores = _Scores(a, here_a, b, here_b, pairs, (project.sequence.width, project.sequence.height))
    node_a = {tid: groups.find(a.node(tid, parent_ids)) for tid in here_a}  # what each has been joined to
    node_b = {tid: groups.find(b.node(tid, parent_ids)) for tid in here_b}
    conflicts: list[Conflict] = []
    where = dict(jobs=(a.job.name, b.job.name), frames=shared or (cut - 1, cut))

    def similarity(ta: int, tb: int) -> float:
        return scores(a, ta, b, tb)

    def attributes_clash(ta: int, tb: int) -> None:
        mine, theirs = dict(a.tracks[ta].attributes), dict(b.tracks[tb].attributes)
        if mine != theirs and a.changed(ta, mine) and b.changed(tb, theirs):
            conflicts.append(Conflict("attribute", f"{_differences(mine, theirs)}", tracks=((a.job.name, ta),
                                                                                            (b.job.name, tb)),
                                      **where))

    # Same identity on both sides: joined already; check the two sides drew it alike.
    joined = 0
    by_node_b = {node: tid for tid, node in node_b.items()}
    for ta, node in node_a.items():
        tb = by_node_b.get(node)
        if tb is None:
            continue
        joined += 1
        score = similarity(ta, tb)
        if score < MATCH_SIMILARITY:
            conflicts.append(Conflict("poor-match", f"track {ta} is drawn apart on the two sides (similarity "
                                                    f"{score:.2f})", tracks=((a.job.name, ta), (b.job.name, tb)),
                                      **where))
        attributes_clash(ta, tb)
    free_a = [ta for ta, node in node_a.items() if node not in by_node_b]
    free_b = [tb for tb, node in node_b.items() if node not in node_a.values()]
    free = np.array([[similarity(ta, tb) if a.tracks[ta].class_name == b.tracks[tb].class_name else 0.0
                      for tb in free_b] for ta in free_a]).reshape(len(free_a), len(free_b))
    matched_a, matched_b = set(), set()
    if free.size:
        for i, j in zip(*linear_sum_assignment(free, maximize=True), strict=True):
            ta, tb = free_a[i], free_b[j]
            if free[i, j] >= MATCH_SIMILARITY:
                groups.join(node_a[ta], node_b[tb])
                matched_a.add(ta)
                matched_b.add(tb)
                joined += 1
                attributes_clash(ta, tb)
            elif free[i, j] > 0:
                matched_a.add(ta)
                matched_b.add(tb)
                conflicts.append(Conflict("poor-match", f"{a.tracks[ta].class_name} track {ta} of {a.job.name} and "
                                                        f"track {tb} of {b.job.name} match poorly (similarity "
                                                        f"{free[i, j]:.2f})",
                                          tracks=((a.job.name, ta), (b.job.name, tb)), **where))
    alive_a = [ta for ta in free_a if ta not in matched_a and _at_border(a.states[ta], cut - 1, cut, shared)]
    alive_b = [tb for tb in free_b if tb not in matched_b and _at_border(b.states[tb], cut, cut - 1, shared)]
    class_clashes: set = set()
    for side, other, alive, others in ((a, b, alive_a, here_b), (b, a, alive_b, here_a)):
        for tid in alive:
            lone = _lone(side, other, tid, others, scores, where, class_clashes)
            conflicts += [lone] if lone else []
    conflicts += _twins(a, here_a, scores, where)
    conflicts += _twins(b, here_b, scores, where)
    return Border(a.job.name, b.job.name, cut, shared, tuple(conflicts), joined)


def _at_border(states: dict[int, FrameState], last_own: int, across: int, shared) -> bool:
    """Alive at the border: on the side's last own frame, and across it too when the jobs overlap."""
    return last_own in states and (shared is None or across in states)


def _lone(side: _JobData, other: _JobData, tid: int, others: list[int], scores: _Scores, where,
          already_class: set) -> Conflict | None:
    """Why a track alive at the border has no partner: another class there, a partner taken, or nobody."""
    track = side.tracks[tid]
    best, best_score = None, 0.0
    for candidate in others:
        score = scores(side, tid, other, candidate)
        if score > best_score:
            best, best_score = candidate, score
    names = (side.job.name, tid)
    if best is not None and best_score >= MATCH_SIMILARITY:
        partner = other.tracks[best]
        tracks = tuple(sorted((names, (other.job.name, best))))
        if partner.class_name != track.class_name:
            if tracks in already_class:
                return None
            already_class.add(tracks)
            return Conflict("class", f"track {tid} of {side.job.name} is a {track.class_name}, track {best} of "
                                     f"{other.job.name} a {partner.class_name}", tracks=tracks, **where)
        return Conflict("duplicate", f"{track.class_name} track {tid} of {side.job.name} and another track both "
                                     f"match track {best} of {other.job.name}", tracks=tracks, **where)
    return Conflict("unpartnered", f"{track.class_name} track {tid} of {side.job.name} crosses the border with no "
                                   f"partner in {other.job.name}", tracks=(names,), **where)


def _twins(side: _JobData, here: list[int], scores: _Scores, where) -> list[Conflict]:
    """Pairs of same-class tracks of one job near the border drawn on top of each other."""
    found = []
    for index, first in enumerate(here):
        for second in here[index + 1:]:
            if side.tracks[first].class_name != side.tracks[second].class_name:
                continue
            if scores(side, first, side, second) > DUPLICATE_IOU:
                found.append(Conflict("duplicate", f"{side.tracks[first].class_name} tracks {first} and {second} of "
                                                   f"{side.job.name} are the same object drawn twice",
                                      tracks=((side.job.name, first), (side.job.name, second)), **where))
    return found


def _differences(mine: dict, theirs: dict) -> str:
    names = sorted(name for name in mine.keys() | theirs.keys() if mine.get(name) != theirs.get(name))
    return "attributes differ: " + ", ".join(f"{name} {mine.get(name)!r} / {theirs.get(name)!r}" for name in names)


# ------------------------------------------------------------------ similarity


class _Scores:
    """The mean similarity of every two tracks near a border over the compared frames where both are (0 where
    they never meet): across it (a's frame of each pair against b's) and within each side (its own frame).
    Frame by frame, every shape on either side is drawn once and compared with all the others."""

    def __init__(self, a: _JobData, here_a: list[int], b: _JobData, here_b: list[int], pairs, size):
        self.index = {(side.job.name, tid): n for n, (side, tid) in
                      enumerate([(a, ta) for ta in here_a] + [(b, tb) for tb in here_b])}
        total, count = np.zeros((2, len(self.index), len(self.index)))
        for frame_a, frame_b in pairs:
            there = [(a.states[ta].get(frame_a), self.index[a.job.name, ta]) for ta in here_a]
            there += [(b.states[tb].get(frame_b), self.index[b.job.name, tb]) for tb in here_b]
            shapes = [(state.geometry, n) for state, n in there if state is not None]
            if not shapes:
                continue
            rows = np.ix_(*[[n for _, n in shapes]] * 2)
            total[rows] += similarities([geometry for geometry, _ in shapes], size)
            count[rows] += 1
        self.mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)

    def __call__(self, side: _JobData, tid: int, other: _JobData, partner: int) -> float:
        return float(self.mean[self.index[side.job.name, tid], self.index[other.job.name, partner]])


def similarities(shapes: list[Geometry], size: tuple[int, int]) -> np.ndarray:
    """How alike every two of ``shapes`` are as shapes of one object, 0..1 (N, N; see the module's docstring),
    each shape drawn once however many it is compared with (and a shape both sides have alike, as most are,
    once for both)."""
    keys = [(shape.kind, shape.to_bytes()) for shape in shapes]
    unique = dict.fromkeys(keys)
    if len(unique) < len(shapes):
        index = {key: n for n, key in enumerate(unique)}
        rows = [index[key] for key in keys]
        return similarities([shapes[keys.index(key)] for key in unique], size)[np.ix_(rows, rows)]
    kinds = [shape.kind for shape in shapes]
    scores = np.zeros((len(shapes), len(shapes)))

    def of(wanted) -> list[int]:
        return [n for n, kind in enumerate(kinds) if kind in wanted]

    regions, boxes, drawn = of(REGION_KINDS), of({GeometryKind.BOX}), of(REGION_KINDS - {GeometryKind.BOX})
    if drawn:  # polygons and masks against every region, a box as a polygon (two boxes need no pixels)
        ious = region_ious([shapes[n] for n in drawn], [_region(shapes[n]) for n in regions])
        scores[np.ix_(drawn, regions)] = ious
        scores[np.ix_(regions, drawn)] = ious.T
    if boxes:
        scores[np.ix_(boxes, boxes)] = box_ious(*[[shapes[n] for n in boxes]] * 2)
    if lanes := of({GeometryKind.POLYLINE}):
        drawn = culane_windows([shapes[n].points for n in lanes], size, width=LANE_WIDTH)
        for i, first in enumerate(drawn):
            for j in range(i, len(drawn)):
                scores[lanes[i], lanes[j]] = scores[lanes[j], lanes[i]] = first.iou(drawn[j])
    points = of({GeometryKind.POINT, GeometryKind.KEYPOINTS, GeometryKind.SKELETON})
    for i in points:
        for j in points:
            a, b = shapes[i], shapes[j]
            if a.kind is b.kind and len(a.points) == len(b.points):
                gaps = np.linalg.norm(a.points - b.points, axis=1)  # NaN where a skeleton's point is absent
                if np.isfinite(gaps).any():
                    scores[i, j] = max(0.0, 1.0 - float(np.nanmean(gaps)) / (2 * POINT_TOLERANCE))
    return scores


def _region(geometry: Geometry) -> Geometry:
    if geometry.kind is not GeometryKind.BOX:
        return geometry
    (x0, y0), (x1, y1) = geometry.points
    return make_geometry(GeometryKind.POLYGON, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


# ------------------------------------------------------------------ tracks and states to write


def _plan_tracks(project: Project, data: list[_JobData], groups: _Groups, parent_ids: set[int],
                 plan: MergePlan) -> None:
    members: dict[Node, list[tuple[_JobData, int]]] = defaultdict(list)
    for item in data:
        for tid in item.tracks:
            members[groups.find(item.node(tid, parent_ids))].append((item, tid))
    next_id = project.store.next_id()
    for group in sorted(members.values(), key=lambda group: _first_node(group, parent_ids)):
        olds = sorted(identity for identity in _parent_ids_of(group, parent_ids) if project.has_track(identity))
        if not olds and not any(tid in item.owned for item, tid in group):
            continue  # a new track only on overlap frames: the neighbour's own frames decide
        if olds:
            target = olds[0]
        else:
            target = next_id + len(plan.new_ids)
            plan.new_ids.append(target)
        for item, tid in group:
            plan.targets.setdefault(item.job.name, {})[tid] = target
            if item.node(tid, parent_ids)[0] != "":
                plan.records.setdefault(item.job.name, {})[tid] = target
        _plan_track(project, group, target, bool(olds), plan)


def _first_node(group: list[tuple[_JobData, int]], parent_ids: set[int]) -> tuple:
    """Groups with a parent id first, by it; then new ones in job and id order (the new ids follow it)."""
    nodes = sorted(item.node(tid, parent_ids) for item, tid in group)
    return (0, nodes[0][1]) if nodes[0][0] == "" else (1, nodes[0][0], nodes[0][1])


def _parent_ids_of(group, parent_ids: set[int]) -> set[int]:
    return {node[1] for node in (item.node(tid, parent_ids) for item, tid in group) if node[0] == ""}


def _plan_track(project: Project, group, target: int, existing: bool, plan: MergePlan) -> None:
    """The track's class and attributes: what one job changed from the split is taken; two jobs changing it
    differently is a conflict (when no border between them said so already)."""
    old = dict(project.track(target).attributes) if existing else None
    versions = {json.dumps(dict(item.tracks[tid].attributes), sort_keys=True): (item, tid) for item, tid in group}
    changed = {key: (item, tid) for key, (item, tid) in versions.items()
               if item.changed(tid, item.tracks[tid].attributes)}
    if len(changed) > 1:
        tracks = tuple((item.job.name, tid) for item, tid in changed.values())
        if not any(conflict.kind == "attribute" and set(conflict.tracks) <= set(tracks) for conflict in plan.conflicts):
            plan.conflicts.append(Conflict("attribute", f"track {target}: jobs set different attributes",
                                           tuple(sorted({job for job, _ in tracks})), None, tracks))
        return
    if changed or not existing:
        item, tid = next(iter((changed or versions).values()))
        if dict(item.tracks[tid].attributes) != old:
            plan.tracks_put.append(Track(target, item.tracks[tid].class_name, dict(item.tracks[tid].attributes)))


def _plan_states(project: Project, data: list[_JobData], plan: MergePlan) -> list[Conflict]:
    """Within the own ranges the parent gets exactly the jobs' states; tracks left with none go.  Streamed a piece
    at a time and only counted (``apply_merge`` streams again the pieces to write), the parent's slice of each
    job hashed on the way as it is (the jobs made from an older state of it, stale, are returned) and as the merge
    leaves it (``plan.merged``: the merge record)."""
    now = {job.name: SliceDigest(*job.frames) for job in plan.jobs}
    plan.merged = {job.name: SliceDigest(*job.frames) for job in plan.jobs}
    tracks_there: set[int] = set()
    left: set[int] = set()
    for piece in _pieces(project, plan):
        deleted, put = piece.changes()
        before = [(state.track_id, SliceDigest.record(state)) for state in piece.before]
        after = [(state.track_id, SliceDigest.record(state)) for state in piece.after] if deleted or put else before
        for job in piece.covering:
            for track_id, record in before:
                now[job.name].update(track_id, record)
            for track_id, record in after:
                plan.merged[job.name].update(track_id, record)
        if piece.wanted is None:
            continue
        tracks_there.update(state.track_id for state in piece.before)
        left.update(track_id for _, track_id in piece.wanted)
        plan.states_deleted += len(deleted)
        plan.states_put += len(put)
        plan.conflicts += piece.twice
        if deleted or put:
            plan.pieces.add(piece.frames.start)
    owned = [job.own for job in plan.jobs]
    for track_id in sorted(tracks_there - left):
        if all(any(first <= state.frame <= last for first, last in owned) for state in project.states_of(track_id)):
            plan.tracks_deleted.append(track_id)
    stale = []
    for item in data:
        (first, last), fingerprint = item.job.frames, now[item.job.name].hexdigest(project)
        if fingerprint != item.job.base.fingerprint and fingerprint not in item.record["fingerprints"]:
            stale.append(Conflict("stale", f"made from an older state of frames {first}..{last}: the project changed "
                                           "there since the split", (item.job.name,), (first, last)))
    return stale


PIECE_FRAMES = 250  # frames streamed at a time: what the merge holds of the states, whatever the sequence's length


@dataclass
class _Piece:
    """A few frames: the parent's states there and, where a job owns them, the states it gives them."""

    frames: range
    covering: list[Job]  # the jobs whose frames hold these
    before: list[FrameState]  # the parent's, in (frame, track id) order
    wanted: dict[tuple[int, int], FrameState] | None  # (frame, parent's track id) -> state; None: no job owns them
    twice: list[Conflict]  # two tracks of the owner that become one on a frame

    @property
    def after(self) -> list[FrameState]:
        """The parent's states here after the merge, in (frame, track id) order."""
        return self.before if self.wanted is None else [self.wanted[key] for key in sorted(self.wanted)]

    def changes(self) -> tuple[list[tuple[int, int]], list[FrameState]]:
        """The (track id, frame) of the states to delete, and the states to put."""
        if self.wanted is None:
            return [], []
        old = {(state.frame, state.track_id): state for state in self.before}
        deleted = [(track_id, frame) for frame, track_id in old if (frame, track_id) not in self.wanted]
        put = [state for key, state in sorted(self.wanted.items()) if key not in old or not _same(old[key], state)]
        return deleted, put


def _pieces(project: Project, plan: MergePlan, only: set[int] | None = None) -> Iterator[_Piece]:
    """The jobs' frames in order, at most PIECE_FRAMES at a time, each piece inside one job's own range (or none's)
    and inside or outside each job's frames; each owner's project is open while its pieces are read.  With
    ``only``, only the pieces starting there."""
    jobs = plan.jobs
    edges = sorted({edge for job in jobs for first, last in (job.frames, job.own) for edge in (first, last + 1)})
    with contextlib.ExitStack() as stack:
        reading: dict[str, Project] = {}  # the owner being read, open (one at a time)

        def opened(owner: Job) -> Project:
            if owner.name not in reading:
                stack.close()
                reading.clear()
                reading[owner.name] = stack.enter_context(Project.open(owner.folder, read_only=True))
            return reading[owner.name]

        for start, stop in pairwise(edges):
            covering = [job for job in jobs if job.frames[0] <= start <= job.frames[1]]
            owner = next((job for job in jobs if job.own[0] <= start <= job.own[1]), None)
            for first in range(start, stop, PIECE_FRAMES) if covering else ():
                if only is not None and first not in only:
                    continue
                frames = range(first, min(first + PIECE_FRAMES, stop))
                before = [item.state for item in project.store.iter_objects(frames)]
                if owner is None:
                    yield _Piece(frames, covering, before, None, [])
                else:
                    yield _Piece(frames, covering, before, *_wanted(opened(owner), owner, plan.targets, frames))


def _wanted(job_project: Project, job: Job, targets: dict[str, dict[int, int]], frames: range):
    """The job's states on ``frames`` under the parent's track ids, and the duplicates that stops."""
    ids = targets.get(job.name, {})
    wanted: dict[tuple[int, int], FrameState] = {}
    twice = []
    for item in job_project.store.iter_objects(frames):
        state = item.state
        target = ids.get(state.track_id)
        if target is None:  # a track the plan did not see on the job's own frames
            raise RoadlabelError(job.folder, "changed while it was merged: merge again")
        if (state.frame, target) in wanted:
            twice.append(Conflict("duplicate", f"two tracks of {job.name} become track {target} on frame "
                                               f"{state.frame}", (job.name,), (state.frame, state.frame),
                                  ((job.name, state.track_id),)))
            continue
        wanted[state.frame, target] = state if target == state.track_id else replace(state, track_id=target)
    return wanted, twice


def _same(old: FrameState, new: FrameState) -> bool:
    # Shapes as the store keeps them: comparing the bytes is much faster than the arrays, for every state.
    return (old.geometry.kind, old.geometry.to_bytes(), old.attributes, old.source, old.confidence, old.model) == (
        new.geometry.kind, new.geometry.to_bytes(), new.attributes, new.source, new.confidence, new.model)


# ------------------------------------------------------------------ tags


def _plan_tags(project: Project, data: list[_JobData], parent_ids: set[int], plan: MergePlan) -> None:
    """Each tag's frames: the parent's outside the own ranges, each job's within its own."""
    owned = np.zeros(project.sequence.frame_count, dtype=bool)
    for item in data:
        owned[item.job.own[0]:item.job.own[1] + 1] = True
    coverage: dict[Node, np.ndarray] = {}
    versions: dict[Node, list[tuple[_JobData | None, FrameRangeTag]]] = defaultdict(list)
    for tag in project.tags():
        frames = np.zeros_like(owned)
        frames[tag.start:tag.end + 1] = True
        coverage[("", tag.id)] = frames & ~owned
        versions[("", tag.id)].append((None, tag))
    for item in data:
        first, last = item.job.own
        for tag in item.tags.values():
            node = item.node(tag.id, parent_ids)
            if node[0] == "" and node[1] not in {t.id for t in project.tags()}:
                continue  # a tag the parent no longer has (deleted there: the job is stale anyway)
            frames = coverage.setdefault(node, np.zeros_like(owned))
            frames[max(tag.start, first):min(tag.end, last) + 1] = True
            versions[node].append((item, tag))
    _join_new_tags(data, coverage, versions)
    next_id = project.store.next_id() + len(plan.new_ids)
    for node in sorted(coverage, key=lambda node: (node[0] != "", node)):
        if node not in versions:
            continue  # joined into another
        _plan_tag(project, node, coverage[node], versions[node], next_id, plan)
        next_id = project.store.next_id() + len(plan.new_ids)


def _join_new_tags(data: list[_JobData], coverage: dict, versions: dict) -> None:
    """A new tag ending at a border and one of the same class and attributes starting there become one."""
    for a, b in pairwise(data):
        cut = b.job.own[0]
        for node_a in [node for node in coverage if node[0] == a.job.name]:
            for node_b in [node for node in coverage if node[0] == b.job.name]:
                tag_a, tag_b = versions[node_a][-1][1], versions[node_b][-1][1]
                if (coverage[node_a][cut - 1] and coverage[node_b][cut] and tag_a.class_name == tag_b.class_name
                        and dict(tag_a.attributes) == dict(tag_b.attributes)):
                    coverage[node_a] |= coverage.pop(node_b)
                    versions[node_a] += versions.pop(node_b)
                    break


def _plan_tag(project: Project, node: Node, frames: np.ndarray, versions, next_id: int, plan: MergePlan) -> None:
    runs = np.flatnonzero(np.diff(np.concatenate([[0], frames.astype(np.int8), [0]])))
    existing = node[0] == ""
    old = project.store.tag(node[1]) if existing else None
    jobs = tuple(sorted({item.job.name for item, _ in versions if item is not None}))
    if len(runs) > 2:
        plan.conflicts.append(Conflict("tag-pieces", f"{versions[-1][1].class_name} tag {node[1]} would be left in "
                                                     f"{len(runs) // 2} pieces", jobs, None))
        return
    if not len(runs):
        if existing:
            plan.tags_deleted.append(node[1])
        return
    start, end = int(runs[0]), int(runs[1]) - 1
    changed = [json.loads(key) for key in {json.dumps(dict(tag.attributes), sort_keys=True) for item, tag in versions
                                           if item is not None and item.changed(tag.id, tag.attributes)}]
    if len(changed) > 1:
        plan.conflicts.append(Conflict("attribute", f"{versions[-1][1].class_name} tag {node[1]}: jobs set "
                                                    "different attributes", jobs, None))
        return
    attributes = changed[0] if changed else dict(old.attributes)
    if existing:
        tag = replace(old, start=start, end=end, attributes=attributes)
        if tag != old:
            plan.tags_put.append(tag)
        return
    sample = versions[0][1]
    tag = replace(sample, id=next_id, start=start, end=end, attributes=attributes)
    plan.new_ids.append(next_id)
    plan.tags_put.append(tag)
    for item, job_tag in versions:
        plan.records.setdefault(item.job.name, {})[job_tag.id] = next_id


# ------------------------------------------------------------------ relations


def _plan_relations(project: Project, data: list[_JobData], parent_ids: set[int], plan: MergePlan) -> None:
    """Each relation's frames and ends (see the module's docstring); after the tracks' (their parent ids) and
    the states' (the tracks the merge deletes)."""
    owned = np.zeros(project.sequence.frame_count, dtype=bool)
    for item in data:
        owned[item.job.own[0]:item.job.own[1] + 1] = True
    coverage: dict[Node, np.ndarray] = {}
    versions: dict[Node, list[tuple[_JobData | None, Relation]]] = defaultdict(list)  # ends as the parent's ids
    parent = {relation.id: relation for relation in project.relations()}
    for relation in parent.values():
        kept = ~owned
        for item in data:  # a job never given it says nothing about it
            if relation.id not in item.record["base"]:
                kept[item.job.own[0]:item.job.own[1] + 1] = True
        frames = np.zeros_like(owned)
        frames[relation.start:relation.end + 1] = True
        coverage[("", relation.id)] = frames & kept
        if coverage[("", relation.id)].any():
            versions[("", relation.id)].append((None, relation))
    for item in data:
        first, last = item.job.own
        for relation in item.relations.values():
            node = item.node(relation.id, parent_ids)
            if (node[0] == "" and node[1] not in parent) or relation.start > last or relation.end < first:
                continue  # deleted in the parent since (the job is stale then), or not on the job's own frames
            mapped = _mapped(relation, plan.targets.get(item.job.name, {}))
            if mapped is None:
                plan.conflicts.append(Conflict("relation", f"{relation} of {item.job.name}: an end is on no frames "
                                                           "the merge keeps", (item.job.name,), (first, last)))
                continue
            frames = coverage.setdefault(node, np.zeros_like(owned))
            frames[max(relation.start, first):min(relation.end, last) + 1] = True
            versions[node].append((item, mapped))
    _join_new_relations(data, coverage, versions)
    for node in sorted(coverage, key=lambda node: (node[0] != "", node)):
        _plan_relation(project, node, coverage[node], versions.get(node, []), plan)


def _mapped(relation: Relation, targets: dict[int, int]) -> Relation | None:
    """The relation with its ends' tracks under their parent ids; None when one has none."""
    ends = []
    for end in (relation.source, relation.target):
        ids = [targets.get(track_id) for track_id in end.track_ids]
        if None in ids:
            return None
        ends.append(RelationEnd(*ids))
    return replace(relation, source=ends[0], target=ends[1])


def _join_new_relations(data: list[_JobData], coverage: dict, versions: dict) -> None:
    """A new relation ending at a border and one of the same type and ends starting there become one."""
    for a, b in pairwise(data):
        cut = b.job.own[0]
        for node_a in [node for node in coverage if node[0] and coverage[node][cut - 1]
                       and any(item is a for item, _ in versions[node])]:  # joined at the last border, too
            same = _ends(versions[node_a][-1][1])
            node_b = next((node for node in coverage if node[0] == b.job.name and coverage[node][cut]
                           and _ends(versions[node][-1][1]) == same), None)
            if node_b is not None:
                coverage[node_a] |= coverage.pop(node_b)
                versions[node_a] += versions.pop(node_b)


def _ends(relation: Relation) -> tuple:
    return relation.type, relation.source, relation.target


def _track_ids(relation: Relation) -> tuple[int, ...]:
    return relation.source.track_ids + relation.target.track_ids


def _plan_relation(project: Project, node: Node, frames: np.ndarray, versions, plan: MergePlan) -> None:
    runs = np.flatnonzero(np.diff(np.concatenate([[0], frames.astype(np.int8), [0]])))
    existing = node[0] == ""
    jobs = tuple(sorted({item.job.name for item, _ in versions if item is not None}))
    name = f"relation {node[1]}" + ("" if existing else f" of {node[0]}")
    if not len(runs):
        if existing and not set(_track_ids(project.relation(node[1]))) & set(plan.tracks_deleted):
            plan.relations_deleted.append(node[1])  # (else it goes with its track)
        return
    if len(runs) > 2:
        plan.conflicts.append(Conflict("relation", f"{name} would be left in {len(runs) // 2} pieces", jobs))
        return
    if len({_ends(relation) for _, relation in versions}) > 1:
        plan.conflicts.append(Conflict("relation", f"{name}: jobs set different ends", jobs))
        return
    sample = versions[0][1]
    kept = set(plan.new_ids) | {track.id for track in project.tracks()}
    if not set(_track_ids(sample)) <= kept - set(plan.tracks_deleted):
        plan.conflicts.append(Conflict("relation", f"{name} ({sample.source} {sample.type} {sample.target}): an "
                                                   "end's track is not in the merge", jobs))
        return
    identity = node[1] if existing else project.store.next_id() + len(plan.new_ids)
    relation = replace(sample, id=identity, start=int(runs[0]), end=int(runs[1]) - 1)
    if not existing:
        plan.new_ids.append(identity)
        for item, job_relation in versions:
            plan.records.setdefault(item.job.name, {})[job_relation.id] = identity
    if not existing or relation != project.relation(identity):
        plan.relations_put.append(relation)


# ------------------------------------------------------------------ writing


def apply_merge(project: Project, plan: MergePlan) -> None:
    """Write ``plan`` into ``project`` as one undo step, and record in each job what it became.  The pieces with
    states to write are streamed again (``_pieces``) and must come to what the plan counted: else the project or
    a job changed since the plan, and nothing is written."""
    if plan.blocked:
        raise RoadlabelError(project.folder, f"not merged: {len(plan.conflicts)} conflicts (see the report)")
    store = project.store
    with project.group(MERGE_STEP):
        for identity in plan.new_ids:
            store.allocate_id(identity)  # refuses an id handed out since the plan: the project changed
        for track in plan.tracks_put:
            store.put_track(track)
        deleted = put = 0
        for piece in _pieces(project, plan, only=plan.pieces):
            removed, added = piece.changes()
            for track_id, frame in removed:
                store.delete_state(track_id, frame)
            for state in added:
                store.put_state(state)
            deleted, put = deleted + len(removed), put + len(added)
        if (deleted, put) != (plan.states_deleted, plan.states_put):
            raise RoadlabelError(project.folder, "not merged: the project or its jobs changed since the merge was "
                                                 "planned")
        for track_id in plan.tracks_deleted:
            store.delete_track(track_id)
        for tag_id in plan.tags_deleted:
            store.delete_tag(tag_id)
        for tag in plan.tags_put:
            store.put_tag(tag)
        for relation_id in plan.relations_deleted:
            store.delete_relation(relation_id)
        for relation in plan.relations_put:
            store.put_relation(relation)
        # inside: a record never names a merge that failed to commit...
        _record_merge(plan, {name: digest.hexdigest(project) for name, digest in plan.merged.items()})


def _record_merge(plan: MergePlan, fingerprints: dict[str, str]) -> None:
    """... and one of a merge whose commit then failed is harmless: its ids are missing from the parent (they
    are new again) and the parent still matches the job's base."""
    for job in plan.jobs:
        record = read_record(job.folder)
        updated = {**record, "ids": {**record["ids"], **plan.records.get(job.name, {})},
                   "fingerprints": list(record["fingerprints"])}
        fingerprint = fingerprints[job.name]
        if fingerprint not in updated["fingerprints"]:
            updated["fingerprints"].append(fingerprint)
        if updated != record:
            write_record(job.folder, updated)
