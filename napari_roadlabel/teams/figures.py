"""Per-person figures from the stores' own activity logs and the jobs' histories.

Two records feed them, both written as the work happens, never estimated
afterwards: each project's activity log (core/store.py: one row per recorded
step with its time, author and the net tracks and keyframes it made) and each
job's history (teams/jobs.py: every submit, approve, reject and accept with who
and when).  The rows of one person from every project and job are taken
together, in time order.

    active time        the gaps between a person's consecutive steps, where a
                       gap is at most IDLE_GAP (5 min); a longer pause ends a
                       session and counts nothing.  Each session adds
                       SESSION_START (1 min): the looking before its first edit.
    objects / hour     tracks made (net: deleting or undoing takes them back;
                       tracks an import or an assistant made are not a
                       person's) per active hour.
    keyframes / hour   manual states made (net, the same way; an accepted
                       suggestion is one) per active hour.
    first pass         of the annotator's jobs that got a verdict, the share
                       whose first verdict (approve or accept) was no reject.
    rejections         reject moves on the annotator's work.
    turnaround         per reviewer: the median time from a job's submit to
                       the next verdict on it, which the reviewer gave.

A job's work is the annotator's who submitted it (the last submit before a
verdict), else its assignee's.  Steps that only copy labels made elsewhere count
for nobody: a split or a merge between a sequence and its jobs, and an import
from a file (every importer labels its step "import ...").
"""

from __future__ import annotations

import datetime
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from ..core.store import Activity
from .jobs import MERGE_STEP, SPLIT_STEP, Job

IDLE_GAP = 300.0  # seconds: a longer pause between two steps ends a session
SESSION_START = 60.0  # seconds counted for each session before its first step
COPY_STEPS = frozenset({SPLIT_STEP, MERGE_STEP})  # steps that copy labels between a sequence and its jobs
IMPORT_STEP = "import "  # how every importer's step label begins
SUBMIT = "submit"
REJECT = "reject"
VERDICTS = frozenset({"approve", "accept", REJECT})
UNNAMED = "(unnamed)"


@dataclass(frozen=True)
class PersonFigures:
    name: str
    steps: int  # recorded steps (edits, undos, redos)
    sessions: int
    active_hours: float
    objects_made: int
    keyframes_made: int
    objects_per_hour: float | None  # None without active time
    keyframes_per_hour: float | None
    jobs_reviewed: int  # of their jobs, those with a verdict
    first_pass: int  # of those, accepted without a rejection first
    first_pass_rate: float | None
    rejections: int  # reject moves on their work
    verdicts: int  # approve, accept and reject moves they made as a reviewer
    turnaround_hours: float | None  # median, submit to their verdict

    def to_dict(self) -> dict:
        return asdict(self)


def parse_time(text: str) -> datetime.datetime | None:
    """An ISO 8601 time (UTC when it names no zone); None when it is not one."""
    try:
        time = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return time if time.tzinfo else time.replace(tzinfo=datetime.timezone.utc)


def active_seconds(times: Iterable[datetime.datetime]) -> tuple[float, int]:
    """(active seconds, sessions) of one person's step times (see the module's docstring)."""
    ordered = sorted(times)
    if not ordered:
        return 0.0, 0
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(ordered)]
    sessions = 1 + sum(gap > IDLE_GAP for gap in gaps)
    return sum(gap for gap in gaps if gap <= IDLE_GAP) + sessions * SESSION_START, sessions


def is_copy(step: Activity) -> bool:
    return step.label in COPY_STEPS or step.label.startswith(IMPORT_STEP)


def people_figures(activity: Iterable[Activity], jobs: Iterable[Job]) -> list[PersonFigures]:
    """The figures of everyone who appears in ``activity`` (the logs of any number of projects and jobs) or in
    the histories of ``jobs``, by name."""
    steps: dict[str, list[Activity]] = defaultdict(list)
    for step in activity:
        if not is_copy(step):
            steps[step.author or UNNAMED].append(step)
    reviews = _job_reviews(jobs)
    names = sorted(steps.keys() | reviews.keys())
    return [_person(name, steps.get(name, []), reviews.get(name, _Reviews())) for name in names]


@dataclass
class _Reviews:
    jobs_reviewed: int = 0
    first_pass: int = 0
    rejections: int = 0
    verdicts: int = 0
    turnarounds: list[float] = field(default_factory=list)  # seconds


def _job_reviews(jobs: Iterable[Job]) -> dict[str, _Reviews]:
    """Name -> what the histories say of their work as annotators and as reviewers."""
    people: dict[str, _Reviews] = defaultdict(_Reviews)
    for job in jobs:
        author = job.assignee or UNNAMED
        waiting_since = None  # the first submit no verdict has answered yet
        judged = False
        for move in job.history:
            if move.action == SUBMIT:
                author = move.by or author
                waiting_since = waiting_since or parse_time(move.time)
            elif move.action in VERDICTS:
                reviewer = people[move.by or UNNAMED]
                reviewer.verdicts += 1
                answered = parse_time(move.time)
                if waiting_since is not None and answered is not None:
                    reviewer.turnarounds.append((answered - waiting_since).total_seconds())
                waiting_since = None
                people[author].rejections += move.action == REJECT
                if not judged:
                    judged = True
                    people[author].jobs_reviewed += 1
                    people[author].first_pass += move.action != REJECT
    return people


def _person(name: str, steps: list[Activity], reviews: _Reviews) -> PersonFigures:
    seconds, sessions = active_seconds(time for time in (parse_time(step.time) for step in steps) if time)
    hours = seconds / 3600
    objects = sum(step.tracks_added for step in steps)
    keyframes = sum(step.keyframes_added for step in steps)
    return PersonFigures(
        name=name, steps=len(steps), sessions=sessions, active_hours=round(hours, 3), objects_made=objects,
        keyframes_made=keyframes, objects_per_hour=_per(objects, hours), keyframes_per_hour=_per(keyframes, hours),
        jobs_reviewed=reviews.jobs_reviewed, first_pass=reviews.first_pass,
        first_pass_rate=reviews.first_pass / reviews.jobs_reviewed if reviews.jobs_reviewed else None,
        rejections=reviews.rejections, verdicts=reviews.verdicts,
        turnaround_hours=(round(statistics.median(reviews.turnarounds) / 3600, 3) if reviews.turnarounds
                          else None))


def _per(count: int, hours: float) -> float | None:
    return round(count / hours, 2) if hours > 0 else None
