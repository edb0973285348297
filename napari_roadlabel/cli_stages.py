"""`roadlabel jobs move` and `roadlabel jobs assign`: a job's stage and people from the command line."""

from __future__ import annotations

from pathlib import Path

from .qa.review import default_reviewer
from .teams.stages import ACTIONS, assign, move_job


def add_commands(jobs) -> None:
    """Add `move` and `assign` to the `jobs` subcommands."""
    move = jobs.add_parser("move", help="move a job to its next stage: " + ", ".join(ACTIONS))
    move.add_argument("job", type=Path, metavar="JOB", help="the job's folder (PROJECT/jobs/NAME)")
    move.add_argument("action", choices=list(ACTIONS))
    _who(move)
    move.set_defaults(run=_move)
    people = jobs.add_parser("assign", help="give a job another assignee or reviewer")
    people.add_argument("job", type=Path, metavar="JOB", help="the job's folder (PROJECT/jobs/NAME)")
    people.add_argument("--assignee", metavar="NAME")
    people.add_argument("--reviewer", metavar="NAME")
    _who(people)
    people.set_defaults(run=_assign)


def _who(command) -> None:
    command.add_argument("--by", metavar="NAME", default=None,
                         help="who does it (default: $ROADLABEL_REVIEWER, else the login name)")
    command.add_argument("--comment", default="", help="why (a rejection needs one)")


def _move(args) -> None:
    job = move_job(args.job, args.action, by=args.by or default_reviewer(), comment=args.comment)
    print(f"{job.name}: {job.stage.value}, {job.state.value} ({args.action} by {job.history[-1].by})")


def _assign(args) -> None:
    job = assign(args.job, by=args.by or default_reviewer(), assignee=args.assignee, reviewer=args.reviewer,
                 comment=args.comment)
    print(f"{job.name}: assignee {job.assignee or '-'}, reviewer {job.reviewer or '-'}")
