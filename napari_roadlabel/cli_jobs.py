"""`roadlabel jobs`: split a project into jobs, list them, merge them back (see teams/split.py, teams/merge.py).

``jobs_subcommands(commands)`` gives the ``jobs`` group's subparsers, so that other modules add their own
``jobs`` subcommands to the same group.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .core import Project, RoadlabelError
from .core.wording import counted
from .teams.jobs import jobs_of
from .teams.split import split_project


def add_commands(commands) -> None:
    group = jobs_subcommands(commands)

    split = group.add_parser("split", help="make one job (a project of its own) per frame range")
    split.add_argument("project", type=Path)
    size = split.add_mutually_exclusive_group(required=True)
    size.add_argument("--parts", type=int, metavar="N", help="N jobs of about equal length")
    size.add_argument("--frames", type=int, metavar="K", help="jobs of about K frames")
    split.add_argument("--overlap", type=int, default=0, metavar="F",
                       help="frames each job shares with its neighbours on each side (default 0)")
    split.add_argument("--assign", type=_names, default=[], metavar="NAME,...",
                       help="annotators, dealt to the jobs in turn")
    split.add_argument("--reviewer", default="", metavar="NAME", help="who reviews the jobs")
    split.add_argument("--resplit", action="store_true",
                       help="split again the frames of the jobs nobody has started (started jobs are kept)")
    split.set_defaults(run=_split)

    listing = group.add_parser("list", help="the jobs: frames, people, stage and state")
    listing.add_argument("project", type=Path)
    listing.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    listing.set_defaults(run=_list)


def jobs_subcommands(commands) -> argparse._SubParsersAction:
    """The subparsers of `roadlabel jobs` (made on first call)."""
    jobs = commands.choices.get("jobs")
    if jobs is None:
        jobs = commands.add_parser("jobs", help="split a project into jobs, list them, merge them back")
        jobs.subcommands = jobs.add_subparsers(dest="jobs_command", required=True, metavar="SUBCOMMAND")
    return jobs.subcommands


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",")]


def _split(args) -> None:
    Project.open(args.project).close()  # a missing or broken project is named as such
    jobs = split_project(args.project, parts=args.parts, frames=args.frames, overlap=args.overlap,
                         assignees=args.assign, reviewer=args.reviewer, by=os.environ.get("USER", ""),
                         resplit=args.resplit)
    for job in jobs:
        print(_line(job))
    print(f"{counted(len(jobs), 'job')} in {Path(args.project) / 'jobs'}")


def _list(args) -> None:
    Project.open(args.project).close()
    jobs = jobs_of(args.project)
    if args.json:
        print(json.dumps([job.to_dict() for job in jobs], indent=1))
        return
    if not jobs:
        raise RoadlabelError(args.project, "has no jobs (make them with `roadlabel jobs split`)")
    for job in jobs:
        print(_line(job))


def _line(job) -> str:
    first, last = job.frames
    return (f"{job.name}  frames {first}..{last}  assignee {job.assignee or '-'}  reviewer {job.reviewer or '-'}  "
            f"{job.stage.value}/{job.state.value}  {job.folder}")
