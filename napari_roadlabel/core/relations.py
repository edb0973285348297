"""Relations between objects, and the lanes they may point at.

A relation (annotations.Relation) joins a source to a target over a range of
frames: a light ``governs`` a lane, a lane ``follows`` another.  Its types are
the taxonomy's (relation_types.py).  Each end is a ``RelationEnd``: a track, or
a lane.

A lane is the space between two ADJACENT lane lines on a frame: the lane lines
(classes in lanes.LANE_CLASSES) are fitted and ordered left to right by where
they meet the image's bottom row (as lane_order.py does); each two neighbours
make a lane, named by its (left, right) track ids.  Nobody draws a lane's
centreline: ``centreline`` derives it from the two fitted curves.  Whether a
lane is there over a long drive (``EndFinder``: the QA check, the Alt-L walk)
is worked out ``LANE_BLOCK`` frames at a time: only the lane lines'
geometries are read, and all of them fitted and ordered together, by the same
code as one frame's (``_neighbours``), so the answer is the same.

A relation never dangles silently.  Deleting a track deletes the relations it
is an end of in the same undo step (Project.delete_track says how many).  A
relation whose range covers frames where an end is absent (a state deleted, a
track ended early, a lane line moved so that two lines are no longer
neighbours) is kept, and reported by ``dangling_relations`` and the QA check
``relation-absent-end``, so that a person decides.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .annotations import FrameObject, Relation, RelationEnd
from .errors import AnnotationError
from .geometry import GeometryKind
from .lane_order import bottom_crossings
from .lanes import LANE_CLASSES, MISSING, LaneCurve, fit_lanes_leniently, is_lane_class
from .project import Project
from .timeline import frame_runs

CENTRELINE_SAMPLES = 20  # points of a derived centreline
LANE_BLOCK = 256  # frames whose lanes EndFinder works out at once
FOLLOWS = "follows"  # the relation type whose cycles are contradictions (lane A follows B and B follows A)


def centreline(left: LaneCurve, right: LaneCurve, samples: int = CENTRELINE_SAMPLES) -> np.ndarray | None:
    """The midline of two lane curves as ``samples`` (x, y) points from the bottom of the image upwards (near to
    far, the direction of travel); None when the curves share no rows.

    Both curves are sampled at the same image rows, equally spaced over their common vertical extent (from the
    lower of the two tops to the higher of the two bottoms); each centreline point is the mean of the two x on
    its row.  A row where either curve has no point (a curve that turns back) is left out.
    """
    top = max(left.points[:, 1].min(), right.points[:, 1].min())
    bottom = min(left.points[:, 1].max(), right.points[:, 1].max())
    if bottom <= top:
        return None
    rows = np.linspace(bottom, top, samples)
    xs = np.stack([left.sample_rows(rows), right.sample_rows(rows)])
    keep = (xs != MISSING).all(axis=0)
    if keep.sum() < 2:
        return None
    return np.column_stack([xs[:, keep].mean(axis=0), rows[keep]])


@dataclass(frozen=True)
class Lane:
    """The space between the adjacent lane lines ``left`` and ``right`` (track ids) on one frame."""

    left: int
    right: int
    centreline: np.ndarray | None  # (N, 2), near to far; None when the lines share no rows

    @property
    def end(self) -> RelationEnd:
        return RelationEnd.lane(self.left, self.right)


def lanes_of(objects: Iterable[FrameObject], height: int, samples: int = CENTRELINE_SAMPLES) -> list[Lane]:
    """The lanes among one frame's objects, left to right (lane lines that cannot be fitted are left out)."""
    curves = fit_lanes_leniently({(item.state.frame, item.track.id): item.state.geometry.points for item in objects
                                  if is_lane_class(item.track.class_name)
                                  and item.state.geometry.kind is GeometryKind.POLYLINE})
    return [Lane(left[1], right[1], centreline(curves[left], curves[right], samples))
            for left, right in _neighbours(curves, height)]


def lanes_on(project: Project, frame: int, samples: int = CENTRELINE_SAMPLES) -> list[Lane]:
    """The lanes on ``frame``, left to right, with their centrelines."""
    return lanes_of(project.objects_on(frame), project.sequence.height, samples)


def lane_pairs(project: Project, frames: range) -> dict[int, set[tuple[int, int]]]:
    """Each frame's lanes on ``frames`` as (left, right) track ids: what ``lanes_on`` finds frame by frame, with
    only the lane lines' geometries read, and all of them fitted and ordered together (frames with no lane are
    left out)."""
    lines = {(frame, track_id): geometry.points
             for track_id, frame, geometry in project.store.geometries_on(frames, LANE_CLASSES)
             if geometry.kind is GeometryKind.POLYLINE}
    pairs: dict[int, set[tuple[int, int]]] = {}
    for (frame, left), (_, right) in _neighbours(fit_lanes_leniently(lines), project.sequence.height):
        pairs.setdefault(frame, set()).add((left, right))
    return pairs


def _neighbours(curves: dict[tuple[int, int], LaneCurve], height: int) -> list[tuple[tuple[int, int], ...]]:
    """Each two lane lines next to each other on a frame, as (left, right) of their (frame, track id) keys: on
    each frame the lines are ordered by where they meet the bottom row (ties: by track id)."""
    if len(curves) < 2:
        return []
    keys = list(curves)
    frames, ids = np.array(keys).T
    order = np.lexsort((ids, bottom_crossings(list(curves.values()), height), frames)).tolist()
    return [(keys[left], keys[right]) for left, right in itertools.pairwise(order)
            if keys[left][0] == keys[right][0]]


class EndFinder:
    """Whether relation ends are on a frame; each track's frames read once, and the lanes of ``LANE_BLOCK``
    frames at a time (their lane lines fitted together: a frame at a time is many times slower)."""

    def __init__(self, project: Project):
        self.project = project
        self._frames: dict[int, set[int]] = {}
        self._lanes: dict[int, set[tuple[int, int]]] = {}

    def present(self, end: RelationEnd, frame: int) -> bool:
        if not all(frame in self._frames_of(track_id) for track_id in end.track_ids):
            return False
        return not end.is_lane or (end.track, end.right) in self._lanes_on(frame)

    def _frames_of(self, track_id: int) -> set[int]:
        if track_id not in self._frames:
            has = self.project.has_track(track_id)
            self._frames[track_id] = set(self.project.store.frames_of(track_id) if has else ())
        return self._frames[track_id]

    def _lanes_on(self, frame: int) -> set[tuple[int, int]]:
        if frame not in self._lanes:
            first = frame - frame % LANE_BLOCK
            block = range(first, first + LANE_BLOCK)
            pairs = lane_pairs(self.project, block)
            self._lanes.update((each, pairs.get(each, set())) for each in block)
        return self._lanes[frame]


def last_frame_with(project: Project, source: RelationEnd, target: RelationEnd, frame: int) -> int:
    """The last frame of the run from ``frame`` forward on which both ends are present: where a new relation
    made on ``frame`` ends.  AnnotationError when an end is absent on ``frame`` itself."""
    finder = EndFinder(project)
    ends = (source, target)
    if not all(finder.present(end, frame) for end in ends):
        raise AnnotationError(None, f"{source} and {target} must both be on frame {frame} to relate them")
    last = frame
    while last + 1 < project.sequence.frame_count and all(finder.present(end, last + 1) for end in ends):
        last += 1
    return last


@dataclass(frozen=True)
class Dangling:
    """A relation and the runs of frames (first, last) in its range where one of its ends is absent."""

    relation: Relation
    runs: tuple[tuple[int, int], ...]


def dangling_relations(project: Project, frames: range | None = None) -> list[Dangling]:
    """Every relation with an end absent on some frame of its range (within ``frames``), by relation id."""
    finder = EndFinder(project)
    found = []
    for relation in sorted(project.relations(), key=lambda relation: relation.id):
        span = range(relation.start, relation.end + 1)
        if frames is not None:
            span = range(max(span.start, frames.start), min(span.stop, frames.stop))
        absent = [frame for frame in span
                  if not (finder.present(relation.source, frame) and finder.present(relation.target, frame))]
        if absent:
            found.append(Dangling(relation, tuple((start, last) for start, last, _ in
                                                  frame_runs((frame, None) for frame in absent))))
    return found


@dataclass(frozen=True)
class FollowCycle:
    """Relations of type ``follows`` that go round in a circle on frames ``start``..``last``."""

    relations: tuple[Relation, ...]
    start: int
    last: int


def follow_cycles(relations: Sequence[Relation], frames: range) -> list[FollowCycle]:
    """The cycles of ``follows`` relations (A follows B and B follows A, or longer) on ``frames``, one per
    cycle and run of frames on which its relations all hold."""
    follows = [relation for relation in relations if relation.type == FOLLOWS]
    found: dict[tuple[int, ...], list[int]] = {}  # relation ids of a cycle -> the frames it holds on
    for start, stop in _stretches(follows, frames):
        for cycle in _cycles([relation for relation in follows if relation.covers(start)]):
            found.setdefault(tuple(relation.id for relation in cycle), []).extend(range(start, stop))
    by_id = {relation.id: relation for relation in follows}
    return [FollowCycle(tuple(by_id[key] for key in ids), start, last)
            for ids, on in found.items() for start, last, _ in frame_runs((frame, None) for frame in on)]


def _stretches(relations: Sequence[Relation], frames: range) -> Iterator[tuple[int, int]]:
    """Consecutive stretches [start, stop) of ``frames`` over which the same relations hold."""
    edges = {frames.start, frames.stop}
    edges.update(edge for relation in relations for edge in (relation.start, relation.end + 1)
                 if frames.start < edge < frames.stop)
    return itertools.pairwise(sorted(edges))


def _cycles(relations: Sequence[Relation]) -> list[list[Relation]]:
    """Each cycle of the graph the relations make (source -> target), once, as its relations; a cycle is
    found from its lowest relation id so that it is named the same way on every frame."""
    outgoing: dict[RelationEnd, list[Relation]] = {}
    for relation in sorted(relations, key=lambda relation: relation.id):
        outgoing.setdefault(relation.source, []).append(relation)
    return [path for first in sorted(relations, key=lambda relation: relation.id)
            for path in _paths_back(first, outgoing)]


def _paths_back(first: Relation, outgoing: dict[RelationEnd, list[Relation]]) -> Iterator[list[Relation]]:
    """The simple paths from ``first`` back to its source through relations of higher ids than its own."""
    stack = [[first]]
    while stack:
        path = stack.pop()
        if path[-1].target == first.source:
            yield path
            continue
        visited = {relation.target for relation in path}
        for nxt in outgoing.get(path[-1].target, []):
            if nxt.id > first.id and nxt.target not in visited:
                stack.append(path + [nxt])
