"""A job's way through its stages: annotation, review, acceptance; and who may move it.

Each stage has a state (new, in progress, rejected, done).  An action moves a
job from the (stage, state) pairs it allows to the next one, and is recorded in
the job's history with who, when and a comment::

    start     annotation: new, rejected           -> annotation: in progress   (the assignee)
    submit    annotation: new, in progress, rej.  -> review: new               (the assignee; refused while the
                                                                                 checks find blocking errors)
    review    review: new                         -> review: in progress       (the reviewer)
    approve   review: new, in progress            -> acceptance: new           (the reviewer)
    reject    review or acceptance: not done      -> annotation: rejected      (the reviewer, or anyone but the
                                                                                 assignee at acceptance; needs a
                                                                                 reason; the same annotator gets it)
    accept    acceptance: new, in progress        -> acceptance: done          (anyone but the assignee)

``assign`` changes the people and leaves the stage alone; the reviewer can never
be the assignee.  A job with no reviewer named may be reviewed by anyone but its
assignee.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..core import Project
from ..core.errors import RoadlabelError
from ..core.wording import counted
from ..qa.checks import run_checks
from ..qa.findings import Finding
from .jobs import Job, Move, Stage, State, check_people, now, read_job, write_job

ANNOTATION, REVIEW, ACCEPTANCE = Stage.ANNOTATION, Stage.REVIEW, Stage.ACCEPTANCE
NEW, IN_PROGRESS, REJECTED, DONE = State.NEW, State.IN_PROGRESS, State.REJECTED, State.DONE


@dataclass(frozen=True)
class Action:
    name: str
    label: str  # a button's text
    allowed: frozenset[tuple[Stage, State]]
    to: tuple[Stage, State]
    by: str  # "assignee", "reviewer" or "not assignee"
    needs_reason: bool = False


ACTIONS = {action.name: action for action in (
    Action("start", "Start", frozenset({(ANNOTATION, NEW), (ANNOTATION, REJECTED)}), (ANNOTATION, IN_PROGRESS),
           "assignee"),
    Action("submit", "Submit for review", frozenset({(ANNOTATION, NEW), (ANNOTATION, IN_PROGRESS),
                                                     (ANNOTATION, REJECTED)}), (REVIEW, NEW), "assignee"),
    Action("review", "Begin review", frozenset({(REVIEW, NEW)}), (REVIEW, IN_PROGRESS), "reviewer"),
    Action("approve", "Approve", frozenset({(REVIEW, NEW), (REVIEW, IN_PROGRESS)}), (ACCEPTANCE, NEW), "reviewer"),
    Action("reject", "Reject…", frozenset({(REVIEW, NEW), (REVIEW, IN_PROGRESS), (ACCEPTANCE, NEW),
                                           (ACCEPTANCE, IN_PROGRESS)}), (ANNOTATION, REJECTED), "reviewer",
           needs_reason=True),
    Action("accept", "Accept", frozenset({(ACCEPTANCE, NEW), (ACCEPTANCE, IN_PROGRESS)}), (ACCEPTANCE, DONE),
           "not assignee"),
)}


def available_actions(job: Job) -> list[Action]:
    """The actions that can move ``job`` from where it is now, in the order of the table above."""
    return [action for action in ACTIONS.values() if (job.stage, job.state) in action.allowed]


def move_job(folder: str | Path, action_name: str, *, by: str, comment: str = "",
             blocking_findings: Callable[[Job], list[Finding]] | None = None) -> Job:
    """Take one action on the job in ``folder``, record it and return the job as it now is.

    ``blocking_findings`` (default: the project's checks over the job's frames) gates ``submit``.
    """
    job = read_job(folder)
    action = _action(job, action_name)
    _check_person(job, action, by)
    if action.needs_reason and not comment.strip():
        raise RoadlabelError(job.name, f"{action.name}: give a reason (the annotator reads it)")
    if action.name == "submit":
        _refuse_blocking(job, (blocking_findings or job_blocking_findings)(job))
    moved = job.moved(Move(action.name, by, now(), comment.strip(), *action.to))
    write_job(moved)
    return moved


def assign(folder: str | Path, *, by: str, assignee: str | None = None, reviewer: str | None = None,
           comment: str = "") -> Job:
    """Give the job another assignee or reviewer (or both); the stage stays where it is."""
    job = read_job(folder)
    changed = replace(job, assignee=job.assignee if assignee is None else assignee,
                      reviewer=job.reviewer if reviewer is None else reviewer)
    check_people(changed.assignee, changed.reviewer, where=job.name)
    note = comment.strip() or f"assignee {changed.assignee or '-'}, reviewer {changed.reviewer or '-'}"
    moved = changed.moved(Move("assign", by, now(), note, job.stage, job.state))
    write_job(moved)
    return moved


def job_blocking_findings(job: Job) -> list[Finding]:
    """The blocking findings of the project's checks over the job's frames."""
    with Project.open(job.folder) as project:
        frames = range(job.frames[0], job.frames[1] + 1)
        return [finding for finding in run_checks(project, frames=frames) if finding.blocking]


def _action(job: Job, name: str) -> Action:
    if name not in ACTIONS:
        raise RoadlabelError(job.name, f"no action {name!r}; the actions are {', '.join(ACTIONS)}")
    action = ACTIONS[name]
    if (job.stage, job.state) not in action.allowed:
        possible = ", ".join(action.name for action in available_actions(job)) or "none"
        raise RoadlabelError(job.name, f"cannot {name} a job at {job.stage.value}: {job.state.value} "
                                       f"(possible now: {possible})")
    return action


def _check_person(job: Job, action: Action, by: str) -> None:
    if not by:
        raise RoadlabelError(job.name, f"{action.name}: say who you are (a name)")
    at_acceptance = job.stage is ACCEPTANCE
    if action.by == "assignee" and job.assignee and by != job.assignee:
        raise RoadlabelError(job.name, f"only its assignee ({job.assignee}) may {action.name} it, not {by}")
    if action.by == "reviewer" and not at_acceptance and job.reviewer and by != job.reviewer:
        raise RoadlabelError(job.name, f"only its reviewer ({job.reviewer}) may {action.name} it, not {by}")
    if action.by != "assignee" and by == job.assignee:
        raise RoadlabelError(job.name, f"{by} is the job's assignee and cannot {action.name} their own work")


def _refuse_blocking(job: Job, blocking: list[Finding]) -> None:
    if blocking:
        first = blocking[0]
        where = "" if first.frame is None else f" on frame {first.frame}"
        raise RoadlabelError(job.name, f"not submitted for review: {counted(len(blocking), 'blocking finding')}, "
                                       f"e.g. {first.check}{where}: {first.message} (see `roadlabel qa`)")
