"""Jobs: slices of one sequence's frames, each a project of its own, labeled by one annotator.

    PROJECT/jobs/
      job-01/               a project (project.json, taxonomy.yaml, annotations.sqlite) over the same frames
        job.json            what makes it a job: its frames, people, stage, state and history (this module)
      job-02/ ...

A job keeps the sequence's own frame numbers, so a track that crosses a border
has the same id and the same frames in both jobs; ``frames`` is the range its
annotator works on, overlap included, ``own`` the part of it that the merge
takes from this job (the ``own`` ranges of a split tile the sequence).  ``base``
records the parent's state when the job was made, so that a merge can tell a
job made from an older state of the sequence.

Every change of ``job.json`` replaces it whole (see ``write_job``): a crash
leaves the old file or the new one.
"""

from __future__ import annotations

import datetime
import json
import os
import reprlib
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from ..core.errors import ProjectError, RoadlabelError

JOBS_FOLDER = "jobs"
JOB_FILE = "job.json"
JOB_MARK = "napari-roadlabel job"
# The labels of the store steps that copy labels between a sequence and its jobs: nobody's work (figures.py)
SPLIT_STEP = "split"
MERGE_STEP = "merge jobs"


class Stage(Enum):
    ANNOTATION = "annotation"
    REVIEW = "review"
    ACCEPTANCE = "acceptance"


class State(Enum):
    NEW = "new"
    IN_PROGRESS = "in progress"
    REJECTED = "rejected"
    DONE = "done"


@dataclass(frozen=True)
class Move:
    """One change of a job's stage or state: who, when, why, and where it left the job."""

    action: str  # split, start, submit, review, approve, reject, accept, reopen, assign
    by: str
    time: str  # UTC, ISO 8601
    comment: str
    stage: Stage
    state: State

    def to_dict(self) -> dict:
        return {"action": self.action, "by": self.by, "time": self.time, "comment": self.comment,
                "stage": self.stage.value, "state": self.state.value}


@dataclass(frozen=True)
class Base:
    """The parent's state when the job was made: a fingerprint of its slice and the largest track id then."""

    fingerprint: str
    max_track_id: int


@dataclass(frozen=True)
class Job:
    name: str
    folder: Path
    frames: tuple[int, int]  # first, last (inclusive), overlap included
    own: tuple[int, int]  # first, last (inclusive): what the merge takes from this job
    parent: Path  # the project the job was split from
    base: Base
    assignee: str = ""
    reviewer: str = ""
    stage: Stage = Stage.ANNOTATION
    state: State = State.NEW
    history: tuple[Move, ...] = field(default=())

    def moved(self, move: Move) -> Job:
        """The job after ``move``, with the move at the end of its history."""
        return replace(self, stage=move.stage, state=move.state, history=(*self.history, move))

    def to_dict(self) -> dict:
        """What ``roadlabel jobs list --json`` gives for this job (frames as [first, last])."""
        return {"job": self.name, "folder": str(self.folder), "frames": list(self.frames),
                "assignee": self.assignee, "reviewer": self.reviewer, "stage": self.stage.value,
                "state": self.state.value}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def check_people(assignee: str, reviewer: str, *, where: str | Path) -> None:
    """The one rule on a job's people: its reviewer is never its assignee."""
    if reviewer and reviewer == assignee:
        raise RoadlabelError(where, f"the reviewer cannot be the assignee ({reviewer})")


def is_job(folder: str | Path) -> bool:
    return (Path(folder) / JOB_FILE).is_file()


def jobs_of(project_folder: str | Path) -> list[Job]:
    """The jobs split from a project, in frame order (none: an empty list)."""
    root = Path(project_folder) / JOBS_FOLDER
    if not root.is_dir():
        return []
    jobs = [read_job(folder) for folder in root.iterdir() if is_job(folder)]
    return sorted(jobs, key=lambda job: (job.own, job.name))


def write_job(job: Job) -> None:
    """Replace the job's job.json whole."""
    path = job.folder / JOB_FILE
    data = {"format": JOB_MARK, "job": job.name, "parent": os.path.relpath(job.parent, job.folder),
            "frames": list(job.frames), "own": list(job.own),
            "base": {"fingerprint": job.base.fingerprint, "max_track_id": job.base.max_track_id},
            "assignee": job.assignee, "reviewer": job.reviewer, "stage": job.stage.value, "state": job.state.value,
            "history": [move.to_dict() for move in job.history]}
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_job(folder: str | Path) -> Job:
    """The job in ``folder``; a missing, malformed or hand-broken job.json raises ProjectError naming the key."""
    folder = Path(folder)
    path = folder / JOB_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(folder, f"is not a job: it has no {JOB_FILE}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProjectError(path, f"cannot be read: {error}") from None
    if not isinstance(data, dict) or data.get("format") != JOB_MARK:
        raise ProjectError(path, f"is not a {JOB_MARK} file")
    try:
        return Job(name=_text(data, "job", nonempty=True), folder=folder.resolve(),
                   frames=_frame_pair(data, "frames"), own=_frame_pair(data, "own"),
                   parent=(folder / _text(data, "parent", nonempty=True)).resolve(), base=_base(data),
                   assignee=_text(data, "assignee"), reviewer=_text(data, "reviewer"),
                   stage=_enum(Stage, data, "stage"), state=_enum(State, data, "state"),
                   history=tuple(_move(item, index) for index, item in enumerate(_list(data, "history"))))
    except _BadKey as bad:
        raise ProjectError(path, bad.reason, bad.key) from None


class _BadKey(Exception):
    def __init__(self, key: str, reason: str):
        super().__init__(key, reason)
        self.key, self.reason = key, reason


def _value(data: dict, key: str, valid, wanted: str):
    if key not in data:
        raise _BadKey(key, "is missing")
    if not valid(data[key]):
        raise _BadKey(key, f"must be {wanted}, not {reprlib.repr(data[key])}")
    return data[key]


def _text(data: dict, key: str, *, nonempty: bool = False) -> str:
    return _value(data, key, lambda value: isinstance(value, str) and (value or not nonempty),
                  "non-empty text" if nonempty else "text")


def _is_frame(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _frame_pair(data: dict, key: str) -> tuple[int, int]:
    pair = _value(data, key, lambda value: isinstance(value, list) and len(value) == 2
                  and all(map(_is_frame, value)) and value[0] <= value[1], "[first, last] frame numbers, first <= last")
    return pair[0], pair[1]


def _list(data: dict, key: str) -> list:
    return _value(data, key, lambda value: isinstance(value, list), "a list")


def _enum(kind, data: dict, key: str):
    names = [member.value for member in kind]
    return kind(_value(data, key, lambda value: value in names, f"one of {', '.join(names)}"))


def _base(data: dict) -> Base:
    base = _value(data, "base", lambda value: isinstance(value, dict), "an object")
    try:
        return Base(fingerprint=_text(base, "fingerprint", nonempty=True),
                    max_track_id=_value(base, "max_track_id", _is_frame, "a whole number of at least 0"))
    except _BadKey as bad:
        raise _BadKey(f"base.{bad.key}", bad.reason) from None


def _move(item, index: int) -> Move:
    if not isinstance(item, dict):
        raise _BadKey(f"history[{index}]", f"must be an object, not {reprlib.repr(item)}")
    try:
        return Move(action=_text(item, "action", nonempty=True), by=_text(item, "by"), time=_text(item, "time"),
                    comment=_text(item, "comment"), stage=_enum(Stage, item, "stage"),
                    state=_enum(State, item, "state"))
    except _BadKey as bad:
        raise _BadKey(f"history[{index}].{bad.key}", bad.reason) from None
