"""Split a project into jobs: one project per frame range, labeled offline or on another machine.

    jobs = split_project(folder, parts=3, overlap=5, assignees=("ana", "ben"), reviewer="cy")

The ``own`` ranges of the jobs tile the sequence; a job's ``frames`` are its
own range widened by ``overlap`` frames on each side (within the sequence), so
neighbours share the frames around each border and the merge can stitch the
tracks that cross it.  A job is a project of its own: the parent's sequence
(its video referenced, not copied, by a path relative to the job), taxonomy and
frame numbers, and the parent's slice on ``frames``: every track alive there
under its own id, its states on those frames, and the frame-range tags and
relations clipped to them (a relation only when the tracks at both its ends are
in the job; ids kept too).  Ids the job hands out start after the parent's, so a track a job
makes is never taken for one of the parent's.

Where a border goes: each nominal border (parts of equal length, or every K
frames) may move by up to a tenth of a part to the cut that costs least.  A
keyframe next to the cut costs 1, one a frame further 2/3, then 1/3
(``KEYFRAME_REACH``): cutting there parts a keyframe from the frames it
decides.  Each track that crosses the cut adds a little, and so does the
distance from the nominal border, so among equal cuts the one crossing fewest
tracks, then the nearest, wins.

Re-splitting (``resplit=True``): the jobs nobody has started (stage annotation,
state new, and nothing in their store changed since the split) are thrown away
and each run of their consecutive frames is split again, ``parts`` parts a run
or every ``frames`` frames; the started jobs are kept as they are.  The new jobs
take names after the highest one in use.

Everything is built in a staging folder that replaces ``PROJECT/jobs`` whole at
the end (``io.atomic``): an error leaves the jobs as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core import FrameState, Project, ProjectError, RoadlabelError, SequenceInfo, Source
from ..core.annotations import FrameRangeTag, Relation
from ..io.atomic import AtomicOutputs
from .jobs import JOBS_FOLDER, SPLIT_STEP, Base, Job, Move, Stage, State, check_people, jobs_of, now, write_job
from .record import empty_record, write_record

KEYFRAME_REACH = 3  # frames: a keyframe this close to a cut makes it worse, the closer the more
BORDER_FREEDOM = 0.1  # a border may move by this share of a part's length
CROSSING_COST = 0.01  # per track crossing the cut: fewer is better, but one keyframe weighs more than many tracks
DISTANCE_COST = 0.001  # per frame from the nominal border: the last tie-break
PERSON_SOURCES = (Source.MANUAL, Source.IMPORTED)  # keyframes: what a person decided


def split_project(folder: str | Path, *, parts: int | None = None, frames: int | None = None, overlap: int = 0,
                  assignees: Sequence[str] = (), reviewer: str = "", by: str = "",
                  resplit: bool = False) -> list[Job]:
    """Make the jobs of ``folder`` (see the module's docstring); returns every job, in frame order."""
    folder = Path(folder).resolve()
    _check_options(folder, parts, frames, overlap, assignees, reviewer)
    existing = jobs_of(folder)
    if existing and not resplit:
        raise ProjectError(folder / JOBS_FOLDER, f"has {len(existing)} jobs already: merge them, or re-split the "
                                                 "unstarted ones with --resplit")
    if resplit and not existing:
        raise ProjectError(folder / JOBS_FOLDER, "there are no jobs to re-split")
    with Project.open(folder) as parent:
        kept = [job for job in existing if not _unstarted(job)]
        if resplit and len(kept) == len(existing):
            raise ProjectError(folder / JOBS_FOLDER, "every job has been started: nothing to re-split")
        count = parent.sequence.frame_count
        runs = _free_runs(count, [job.own for job in kept])
        profile = _cut_profile(parent)
        owns = [own for first, last in runs for own in _own_ranges(first, last, parts, frames, profile)]
        if parts is not None and not resplit and len(owns) != parts:
            raise RoadlabelError(folder, f"--parts {parts}: the sequence has only {count} frames")
        numbers = [_number(job.name) for job in kept]
        first_number = max(numbers, default=0) + 1
        width = max(2, len(str(first_number + len(owns))))
        with AtomicOutputs(overwrite=bool(existing)) as outputs:
            staging = outputs.folder(folder / JOBS_FOLDER)
            for job in kept:
                shutil.copytree(job.folder, staging / job.folder.name)
            made = [_make_job(parent, staging, f"job-{first_number + index:0{width}d}", own,
                              _widened(own, overlap, count), assignees[index % len(assignees)] if assignees else "",
                              reviewer, by)
                    for index, own in enumerate(owns)]
    final = folder / JOBS_FOLDER
    return sorted([replace(job, folder=final / job.folder.name) for job in made] + kept,
                  key=lambda job: job.own)


def slice_fingerprint(project: Project, first: int, last: int) -> str:
    """A hash of the project's slice on frames ``first``..``last``: the tracks alive there, their states there,
    and the frame-range tags clipped to those frames.  A job and its parent hash alike until either changes."""
    digest = SliceDigest(first, last)
    for item in project.store.iter_objects(range(first, last + 1)):
        digest.add(item.state)
    return digest.hexdigest(project)


class SliceDigest:
    """``slice_fingerprint`` taken state by state: ``add`` the slice's states in (frame, track id) order, then
    ``hexdigest`` adds the tracks and tags of ``project`` (a merge hashes the states it streams anyway)."""

    def __init__(self, first: int, last: int):
        self.first, self.last = first, last
        self._digest = hashlib.sha256()
        self._alive: set[int] = set()

    def add(self, state: FrameState) -> None:
        self.update(state.track_id, self.record(state))

    def update(self, track_id: int, record: bytes) -> None:
        """Add a state by its ``record`` (a state in the slices of two jobs is encoded once for both)."""
        self._alive.add(track_id)
        self._digest.update(record)

    @staticmethod
    def record(state: FrameState) -> bytes:
        return _record("state", state.track_id, state.frame, state.geometry.kind.value, state.attributes,
                       state.source.value, state.confidence, state.model) + state.geometry.to_bytes()

    def hexdigest(self, project: Project) -> str:
        digest = self._digest.copy()
        for track_id in sorted(self._alive):
            track = project.track(track_id)
            digest.update(_record("track", track.id, track.class_name, track.attributes))
        for tag in _tags_within(project.tags(), self.first, self.last):
            digest.update(_record("tag", tag.id, tag.class_name, tag.start, tag.end, tag.attributes,
                                  tag.source.value, tag.confidence, tag.model))
        return digest.hexdigest()


def last_id(project: Project) -> int:
    """The largest id the project has handed out (tracks, tags and comments share one id space)."""
    return project.store.next_id() - 1


def is_unstarted(job: Job) -> bool:
    """Nobody has worked on the job: stage annotation, state new, and its slice as it was made."""
    return _unstarted(job)


# ------------------------------------------------------------------ options


def _check_options(folder: Path, parts, frames, overlap: int, assignees: Sequence[str], reviewer: str) -> None:
    if (parts is None) == (frames is None):
        raise RoadlabelError(folder, "give --parts N or --frames K, one of them")
    if parts is not None and parts < 1:
        raise RoadlabelError(folder, f"--parts must be 1 or more, not {parts}")
    if frames is not None and frames < 1:
        raise RoadlabelError(folder, f"--frames must be 1 or more, not {frames}")
    if overlap < 0:
        raise RoadlabelError(folder, f"--overlap must be 0 or more, not {overlap}")
    if any(not name.strip() for name in assignees):
        raise RoadlabelError(folder, "--assign: a name is empty")
    for assignee in assignees:
        check_people(assignee, reviewer, where=folder)


def _number(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _unstarted(job: Job) -> bool:
    if job.stage is not Stage.ANNOTATION or job.state is not State.NEW:
        return False
    with Project.open(job.folder) as opened:
        return slice_fingerprint(opened, *job.frames) == job.base.fingerprint


def _free_runs(count: int, taken: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The runs of frames 0..count-1 that no range of ``taken`` holds."""
    free = np.ones(count, dtype=bool)
    for first, last in taken:
        free[first:last + 1] = False
    edges = np.flatnonzero(np.diff(np.concatenate([[0], free.astype(np.int8), [0]])))
    return [(int(start), int(stop) - 1) for start, stop in zip(edges[::2], edges[1::2], strict=True)]


def _widened(own: tuple[int, int], overlap: int, count: int) -> tuple[int, int]:
    return max(0, own[0] - overlap), min(count - 1, own[1] + overlap)


# ------------------------------------------------------------------ where the borders go


def _cut_profile(project: Project) -> tuple[np.ndarray, np.ndarray]:
    """Per frame f: keyframes on f, and tracks on both f - 1 and f (crossing a cut before f)."""
    count = project.sequence.frame_count
    keyframes = np.zeros(count)
    crossing = np.zeros(count)
    frames_of = defaultdict(set)
    for item in project.store.iter_objects():
        frames_of[item.track.id].add(item.state.frame)
        if item.state.source in PERSON_SOURCES:
            keyframes[item.state.frame] += 1
    for frames in frames_of.values():
        for frame in frames:
            if frame - 1 in frames:
                crossing[frame] += 1
    return keyframes, crossing


def _cut_cost(cut: int, nominal: int, profile: tuple[np.ndarray, np.ndarray]) -> float:
    """What cutting before frame ``cut`` costs (see the module's docstring)."""
    keyframes, crossing = profile
    cost = 0.0
    for distance in range(KEYFRAME_REACH):
        weight = 1.0 - distance / KEYFRAME_REACH
        for frame in (cut - 1 - distance, cut + distance):
            if 0 <= frame < len(keyframes):
                cost += weight * keyframes[frame]
    return cost + CROSSING_COST * crossing[cut] + DISTANCE_COST * abs(cut - nominal)


def _own_ranges(first: int, last: int, parts: int | None, frames: int | None,
                profile: tuple[np.ndarray, np.ndarray]) -> list[tuple[int, int]]:
    """Frames ``first``..``last`` in ranges of about equal length, each border at its cheapest cut nearby."""
    length = last - first + 1
    count = min(parts, length) if parts is not None else -(-length // frames)
    part = length / count
    freedom = int(part * BORDER_FREEDOM)
    cuts = [first]
    for index in range(1, count):
        nominal = first + round(index * part)
        low, high = max(cuts[-1] + 1, nominal - freedom), min(last, nominal + freedom)
        cuts.append(min(range(low, high + 1), key=lambda cut: (_cut_cost(cut, nominal, profile), cut)))
    return [(start, stop - 1) for start, stop in zip(cuts, [*cuts[1:], last + 1], strict=True)]


# ------------------------------------------------------------------ one job


def _make_job(parent: Project, jobs_folder: Path, name: str, own: tuple[int, int], frames: tuple[int, int],
              assignee: str, reviewer: str, by: str) -> Job:
    folder = jobs_folder / name
    final = parent.folder / JOBS_FOLDER / name  # the staging folder is beside it: the same relative paths
    source = os.path.relpath(parent.source_path(), final)
    sequence = SequenceInfo(**{**parent.sequence.__dict__, "source": source})
    with Project.create(folder, sequence, taxonomy=parent.taxonomy, annotator=assignee) as job_project:
        _copy_slice(parent, job_project, *frames)
        base = {item.id: dict(item.attributes) for item in (*job_project.tracks(), *job_project.tags())}
        base.update({relation.id: {} for relation in job_project.relations()})
    write_record(folder, {**empty_record(), "base": base})
    base = Base(fingerprint=slice_fingerprint(parent, *frames), max_track_id=last_id(parent))
    job = Job(name=name, folder=folder, frames=frames, own=own, parent=parent.folder, base=base, assignee=assignee,
              reviewer=reviewer)
    job = job.moved(Move("split", by, now(), f"frames {own[0]}..{own[1]} of {parent.folder.name}",
                         Stage.ANNOTATION, State.NEW))
    write_job(job)
    return job


def _copy_slice(parent: Project, job: Project, first: int, last: int) -> None:
    """The parent's tracks alive on ``first``..``last`` (their ids kept), their states there, and its tags and
    relations clipped to those frames (a relation with both ends' tracks there); the job's next id is the
    parent's."""
    states = list(parent.store.iter_objects(range(first, last + 1)))
    tracks = {item.track.id: item.track for item in states}
    tags = {tag.id: tag for tag in _tags_within(parent.tags(), first, last)}
    relations = {relation.id: relation for relation in _tags_within(parent.relations(), first, last)
                 if set(relation.source.track_ids + relation.target.track_ids) <= tracks.keys()}
    store = job.store
    with job.group(SPLIT_STEP):
        for identity in sorted(tracks.keys() | tags.keys() | relations.keys()):  # ids only ever increase
            store.allocate_id(identity)
            if identity in tracks:
                store.put_track(tracks[identity])
            elif identity in tags:
                store.put_tag(tags[identity])
            else:
                store.put_relation(relations[identity])
        for item in states:
            store.put_state(item.state)
        if store.next_id() <= last_id(parent):
            store.allocate_id(last_id(parent))


def _tags_within(tags: Iterable[FrameRangeTag | Relation], first: int, last: int) -> list:
    """The tags (or relations) on ``first``..``last``, clipped to those frames."""
    return [replace(tag, start=max(tag.start, first), end=min(tag.end, last)) for tag in tags
            if tag.start <= last and tag.end >= first]


def _record(*values) -> bytes:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=dict).encode() + b"\n"
