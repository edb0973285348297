"""`roadlabel status ROOT... [--json] [--html OUT]`: where every sequence under the folders stands, and who
labels how fast and how often their work comes back (teams/status.py reads; this prints and writes the page)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from .core.wording import counted
from .teams.figures import PersonFigures
from .teams.status import STAGES, UNREADABLE, SequenceStatus, dataset_status, find_projects
from .teams.status_page import write_status_html


def add_commands(commands) -> None:
    status = commands.add_parser("status", help="where every sequence under the folders stands (read-only), and "
                                                "the figures of each annotator and reviewer")
    status.add_argument("roots", type=Path, nargs="+", metavar="ROOT",
                        help="a project, or a folder with projects anywhere below it")
    status.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    status.add_argument("--html", type=Path, metavar="OUT.html", help="also write the status page (replaced)")
    status.set_defaults(run=_status)


def _status(args) -> None:
    folders = find_projects(args.roots)
    with tqdm(total=len(folders), unit="project", desc="status", disable=None) as bar:
        status = dataset_status(folders, progress=bar.update)
    if args.html:
        write_status_html(status, args.html, args.roots)
    if args.json:
        print(json.dumps(status.to_dict()))
        return
    _print_sequences(status.sequences)
    print()
    _print_people(status.people)
    print()
    print(summary_line(status.summary))
    if args.html:
        print(f"page: {args.html}")


def summary_line(summary: dict) -> str:
    """'12 sequences: 3 new, 4 labeling, 2 in review, 1 rejected, 2 signed off (1 unreadable)'."""
    by_stage = summary["by_stage"]
    unreadable = f" ({by_stage[UNREADABLE]} unreadable)" if by_stage[UNREADABLE] else ""
    return (f"{counted(summary['sequences'], 'sequence')}: "
            + ", ".join(f"{by_stage[stage]} {stage}" for stage in STAGES) + unreadable
            + f"; {summary['frames_accepted']}/{summary['frames']} frames accepted")


def _print_sequences(sequences: list[SequenceStatus]) -> None:
    width = max([len("sequence"), *(len(sequence.name) for sequence in sequences)])
    print(f"{'sequence':<{width}}  {'stage':<10} {'frames':>7} {'objects':>8} {'keyframes':>9} {'accepted':>8}  "
          f"{'jobs':<36} {'last QA':<26} signed off")
    for sequence in sequences:
        if sequence.error:
            print(f"{sequence.name:<{width}}  {sequence.stage:<10} {sequence.error}")
            continue
        review = sequence.review
        accepted = f"{100 * review['frames_accepted'] / review['frames']:.0f} %" if review["frames"] else "-"
        signed = (review["sign_off"]["reviewer"] or "yes") if sequence.signed_off else "-"
        objects = sum(sequence.objects.values())
        print(f"{sequence.name:<{width}}  {sequence.stage:<10} {sequence.frames:>7} {objects:>8} "
              f"{sequence.keyframes:>9} {accepted:>8}  {_jobs(sequence.jobs):<36} {_qa(sequence.last_qa):<26} "
              f"{signed}")


def _jobs(jobs: list[dict]) -> str:
    """'3: 2 review, 1 annotation rejected'."""
    if not jobs:
        return "-"
    stages = Counter("unreadable" if "error" in job else job["stage"] + (" rejected" if job["state"] == "rejected"
                                                                          else "") for job in jobs)
    return f"{len(jobs)}: " + ", ".join(f"{count} {stage}" for stage, count in stages.items())


def _qa(outcome: dict | None) -> str:
    if outcome is None:
        return "never run"
    if "error" in outcome:
        return "unreadable qa-last.json"
    verdict = "blocked" if outcome["blocked"] else "passed"
    return f"{verdict} {outcome['time'][:10]} ({outcome['errors']}E {outcome['warnings']}W)"


def _print_people(people: list[PersonFigures]) -> None:
    if not people:
        print("people: no recorded work yet")
        return
    width = max(len("person"), *(len(person.name) for person in people))
    print(f"{'person':<{width}}  {'active h':>8} {'objects':>7} {'obj/h':>6} {'keyframes':>9} {'kf/h':>6} "
          f"{'first pass':>10} {'rejections':>10} {'verdicts':>8} {'turnaround h':>12}")
    for person in people:
        first_pass = (f"{person.first_pass}/{person.jobs_reviewed}" if person.jobs_reviewed else "-")
        print(f"{person.name:<{width}}  {person.active_hours:>8.2f} {person.objects_made:>7} "
              f"{_figure(person.objects_per_hour):>6} {person.keyframes_made:>9} "
              f"{_figure(person.keyframes_per_hour):>6} "
              f"{first_pass:>10} {person.rejections:>10} {person.verdicts:>8} {_figure(person.turnaround_hours):>12}")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
