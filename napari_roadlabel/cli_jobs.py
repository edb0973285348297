"""`roadlabel jobs`: split a project into jobs, list them, merge them back (see teams/split.py, teams/merge.py);
`move` and `assign` come from cli_stages.py.

``jobs_subcommands(commands)`` gives the ``jobs`` group's subparsers, so that other modules add their own
``jobs`` subcommands to the same group.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import cli_stages
from .cli import EXIT_BLOCKED
from .core import Project, RoadlabelError
from .core.wording import counted
from .qa.review import default_reviewer
from .teams.jobs import JOBS_FOLDER, jobs_of
from .teams.merge import apply_merge, plan_merge
from .teams.merge_report import report_data, write_merge_report
from .teams.split import split_project

REPORT_NAME = "merge-report.html"
SHOWN_CONFLICTS = 20  # listed on the terminal; the report has them all


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

    merge = group.add_parser("merge", help="bring the jobs back into the project as one undo step, tracks stitched "
                                           "across the borders; exits 2 while conflicts block (see the report)")
    merge.add_argument("project", type=Path)
    merge.add_argument("--dry-run", action="store_true", help="write nothing but the report")
    merge.add_argument("--report", type=Path, metavar="OUT.html",
                       help="the conflict report (and OUT.json beside it; default PROJECT/jobs/merge-report.html)")
    merge.set_defaults(run=_merge)
    cli_stages.add_commands(group)


def jobs_subcommands(commands) -> argparse._SubParsersAction:
    """The subparsers of `roadlabel jobs` (made on first call)."""
    jobs = commands.choices.get("jobs")
    if jobs is None:
        jobs = commands.add_parser("jobs", help="split a project into jobs, list them, merge them back")
        jobs.subcommands = jobs.add_subparsers(dest="jobs_command", required=True, metavar="SUBCOMMAND")
    return jobs.subcommands


def _merge(args) -> int:
    with Project.open(args.project, writing=not args.dry_run) as project:
        plan = plan_merge(project)
        if not plan.blocked and not args.dry_run:
            apply_merge(project, plan)
    html = args.report or Path(args.project) / JOBS_FOLDER / REPORT_NAME
    write_merge_report(report_data(plan, dry_run=args.dry_run), html, html.with_suffix(".json"))
    for conflict in plan.conflicts[:SHOWN_CONFLICTS]:
        print(f"  {conflict.kind:<11} {', '.join(conflict.jobs)}: {conflict.detail}")
    if len(plan.conflicts) > SHOWN_CONFLICTS:
        print(f"  ... and {len(plan.conflicts) - SHOWN_CONFLICTS} more (see the report)")
    if plan.blocked:
        print(f"not merged: {counted(len(plan.conflicts), 'conflict')}; report: {html}")
        return EXIT_BLOCKED
    verb = "would write" if args.dry_run else "merged"
    print(f"{verb} {counted(len(plan.jobs), 'job')}: {counted(plan.changes, 'change')}, "
          f"{counted(len(plan.new_ids), 'new track, tag or relation', 'new tracks, tags and relations')}; "
          f"report: {html}")
    return 0


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",")]


def _split(args) -> None:
    Project.open(args.project).close()  # a missing or broken project is named as such
    jobs = split_project(args.project, parts=args.parts, frames=args.frames, overlap=args.overlap,
                         assignees=args.assign, reviewer=args.reviewer, by=default_reviewer(),
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
