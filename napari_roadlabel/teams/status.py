"""The status of a dataset: every project under some folders, read without changing a byte.

``find_projects`` walks the folders: a folder with a ``project.json`` is a
sequence and the walk goes no deeper (its jobs, in ``jobs/``, are reported
under it); hidden folders (staging, set-aside files) are skipped.
``dataset_status`` opens each project and each of its jobs read-only
(``Project.open(read_only=True)``: an older schema is migrated in memory, the
files stay as they are) and gathers, per sequence: frames, objects (tracks) per
class, keyframes, review progress, the jobs with their stage and state, the
last QA outcome (qa/outcome.py) and the sign-off; per person: the figures of
teams/figures.py; and a summary.  A project that cannot be read is a row with
its error in one line, never the end of the command.

Where a sequence stands, the first that holds of:

    signed off    its sign-off is given
    rejected      a job is rejected; without jobs, a frame, track or object is
                  rejected or the sign-off was withdrawn
    new           every job is new and untouched in annotation; without jobs,
                  nothing is labeled
    labeling      a job is still in annotation; without jobs, nothing is
                  reviewed yet
    in review     the rest: every job is past annotation, or reviewing began
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core import Project, RoadlabelError, Source
from ..core.errors import one_line
from ..core.project import METADATA_FILE
from ..core.review import ReviewStatus
from ..core.store import Activity
from ..qa.outcome import last_outcome
from ..qa.review import now, review_progress
from .figures import PersonFigures, people_figures
from .jobs import JOBS_FOLDER, Job, Stage, State, is_job, read_job

NEW, LABELING, IN_REVIEW, REJECTED, SIGNED_OFF = "new", "labeling", "in review", "rejected", "signed off"
STAGES = (NEW, LABELING, IN_REVIEW, REJECTED, SIGNED_OFF)
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class SequenceStatus:
    name: str
    folder: str
    stage: str  # one of STAGES, or UNREADABLE
    error: str | None = None  # why it could not be read
    frames: int = 0
    objects: dict[str, int] = field(default_factory=dict)  # class -> tracks
    keyframes: int = 0
    review: dict = field(default_factory=dict)  # ReviewProgress.to_dict()
    jobs: list[dict] = field(default_factory=list)  # Job.to_dict() with its objects and keyframes, or its error
    last_qa: dict | None = None  # QAOutcome.to_dict(), or {"error": ...}; None: QA never ran
    signed_off: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DatasetStatus:
    sequences: list[SequenceStatus]
    people: list[PersonFigures]
    summary: dict

    def to_dict(self) -> dict:
        return {"sequences": [sequence.to_dict() for sequence in self.sequences],
                "people": [person.to_dict() for person in self.people], "summary": self.summary}


def find_projects(roots: Iterable[str | Path]) -> list[Path]:
    """Every project folder under ``roots`` (a root may be one), once each, in path order."""
    found: set[Path] = set()
    for root in map(Path, roots):
        if not root.is_dir():
            raise RoadlabelError(root, "no such folder")
        pending = [root]
        while pending:
            folder = pending.pop()
            if (folder / METADATA_FILE).is_file():
                found.add(folder)
                continue
            try:
                with os.scandir(folder) as entries:
                    pending += [Path(entry.path) for entry in entries
                                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")]
            except OSError:  # a folder we may not read holds no project we could report
                continue
    return sorted(found)


def dataset_status(folders: Iterable[str | Path], *, progress: Callable[[int], object] | None = None
                   ) -> DatasetStatus:
    """The status of the projects in ``folders`` (see ``find_projects``); ``progress(1)`` after each."""
    sequences, activity, jobs = [], [], []
    for folder in map(Path, folders):
        sequence, sequence_activity, sequence_jobs = read_sequence(folder)
        sequences.append(sequence)
        activity += sequence_activity
        jobs += sequence_jobs
        if progress is not None:
            progress(1)
    return DatasetStatus(sequences, people_figures(activity, jobs), _summary(sequences))


def read_sequence(folder: Path) -> tuple[SequenceStatus, list[Activity], list[Job]]:
    """One sequence's status, with the activity logs of it and its jobs and the jobs read (for the figures)."""
    try:
        with Project.open(folder, read_only=True) as project:
            counts = project.summary()
            progress = review_progress(project)
            activity = project.store.activity()
            frames = project.sequence.frame_count
    except Exception as error:  # noqa: BLE001 - any unreadable project is one row, never the end of the command
        return SequenceStatus(folder.name, str(folder), UNREADABLE, error=one_line(error)), [], []
    job_rows, job_activity, jobs = _jobs(folder)
    mark = progress.sign_off
    rejected = (progress.frames_rejected or progress.tracks_rejected or progress.objects_rejected
                or (mark is not None and mark.status is ReviewStatus.REJECTED))
    labeled = bool(counts["tracks"] or counts["tags"])
    reviewed = bool(progress.frames_accepted or progress.tracks_accepted or rejected)
    status = SequenceStatus(
        name=folder.name, folder=str(folder), stage=_stage(progress.signed_off, jobs, rejected, labeled, reviewed),
        frames=frames, objects=dict(sorted(counts["tracks"].items())), keyframes=_keyframes(counts),
        review=progress.to_dict(), jobs=job_rows, last_qa=_last_qa(folder), signed_off=progress.signed_off)
    return status, activity + job_activity, jobs


def _jobs(folder: Path) -> tuple[list[dict], list[Activity], list[Job]]:
    root = folder / JOBS_FOLDER
    if not root.is_dir():
        return [], [], []
    rows, activity, jobs = [], [], []
    for job_folder in sorted(path for path in root.iterdir() if is_job(path)):
        try:
            job = read_job(job_folder)
            with Project.open(job_folder, read_only=True) as project:
                counts = project.summary()
                activity += project.store.activity()
        except Exception as error:  # noqa: BLE001 - as for a sequence: reported, not fatal
            rows.append({"job": job_folder.name, "folder": str(job_folder), "error": one_line(error)})
            continue
        jobs.append(job)
        rows.append({**job.to_dict(), "objects": sum(counts["tracks"].values()), "keyframes": _keyframes(counts)})
    rows.sort(key=lambda row: (row.get("frames", [0]), row["job"]))
    return rows, activity, jobs


def _stage(signed_off: bool, jobs: list[Job], rejected: bool, labeled: bool, reviewed: bool) -> str:
    if signed_off:
        return SIGNED_OFF
    if jobs:
        if any(job.state is State.REJECTED for job in jobs):
            return REJECTED
        if all(job.stage is Stage.ANNOTATION and job.state is State.NEW for job in jobs):
            return NEW
        labeling = any(job.stage is Stage.ANNOTATION and job.state is not State.DONE for job in jobs)
        return LABELING if labeling else IN_REVIEW
    if rejected:
        return REJECTED
    if not labeled:
        return NEW
    return IN_REVIEW if reviewed else LABELING


def _keyframes(counts: dict) -> int:
    return sum(states.get(Source.MANUAL.value, 0) for states in counts["states"].values())


def _last_qa(folder: Path) -> dict | None:
    try:
        outcome = last_outcome(folder)
    except RoadlabelError as error:
        return {"error": str(error)}
    return None if outcome is None else outcome.to_dict()


def _summary(sequences: list[SequenceStatus]) -> dict:
    stages = Counter(sequence.stage for sequence in sequences)
    read = [sequence for sequence in sequences if sequence.stage != UNREADABLE]
    return {
        "generated": now(),
        "sequences": len(sequences),
        "by_stage": {stage: stages[stage] for stage in (*STAGES, UNREADABLE)},
        "frames": sum(sequence.frames for sequence in read),
        "frames_accepted": sum(sequence.review["frames_accepted"] for sequence in read),
        "frames_rejected": sum(sequence.review["frames_rejected"] for sequence in read),
        "objects": sum(sum(sequence.objects.values()) for sequence in read),
        "keyframes": sum(sequence.keyframes for sequence in read),
        "jobs": sum(len(sequence.jobs) for sequence in read),
        "qa_blocked": sum(bool(sequence.last_qa and sequence.last_qa.get("blocked")) for sequence in read),
    }
