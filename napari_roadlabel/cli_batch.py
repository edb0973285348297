"""`roadlabel batch COMMAND PROJECTS... [COMMAND's options] [--scheduler A | --scheduler-file F] [--workers N]`.

Everything after COMMAND that is not one of the batch's own options (they may come anywhere) belongs to COMMAND:
it is checked with COMMAND's own parser before anything runs, its paths made absolute (a worker has another
working folder), and each project then runs ``roadlabel COMMAND PROJECT options`` on a worker
(``teams/batch.py``), its output captured and its last error line kept for the summary.  Outputs that name one
file per run go to ``--out DIR`` instead: ``DIR/<project name>.<ext>`` for export, ``DIR/<project name>.html``
(and ``.json``) for the QA report; the batch replaces its own outputs there.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from .cli import EXIT_BLOCKED, EXIT_ERROR, ArgumentParser, _parser, main
from .core import RoadlabelError
from .core.errors import one_line
from .io.formats.registry import SUFFIXES
from .teams.batch import (
    COMMANDS,
    Status,
    Task,
    check_cluster,
    check_summary_path,
    open_client,
    run_batch,
    summary_lines,
    write_summary,
)

ERROR_MARK = "error: "  # `roadlabel: error: <what>`, and argparse's `roadlabel export: error: <what>`
QA_REPORT_OPTIONS = ("--report", "--json", "--png")  # one file each: a batch writes one per project (--out)


def add_commands(commands) -> None:
    batch = commands.add_parser(
        "batch", help="run qa, export, propagate, suggest or status over many projects on a dask cluster",
        description="Run one command over many projects, one task per project, on a local dask cluster, a running "
                    "one (--scheduler), or in this process (--workers 0). One project failing never stops the "
                    "others; a rerun skips the projects that have not changed since their last success. Exits 1 "
                    "when a project failed or crashed, 2 when the only trouble is QA blocking.")
    batch.add_argument("task", choices=COMMANDS, metavar="COMMAND", help=f"one of {', '.join(COMMANDS)}")
    batch.add_argument("rest", nargs=argparse.REMAINDER, metavar="PROJECTS... [OPTIONS]",
                       help="the project folders, then COMMAND's own options (see `roadlabel COMMAND --help`)")
    _add_batch_options(batch)
    batch.set_defaults(run=_batch)


def _add_batch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", metavar="ADDRESS", help="a running dask scheduler (tcp://host:8786)")
    parser.add_argument("--scheduler-file", type=Path, metavar="F", help="the running scheduler's file")
    parser.add_argument("--workers", type=_workers, metavar="N",
                        help="worker processes of the local cluster (default: one per core; 0: run here, in order)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="export: DIR/<project name>.<ext> (required); qa: the report DIR/<project name>.html")
    parser.add_argument("--force", action="store_true", help="run the projects that have not changed too")
    parser.add_argument("--summary", type=Path, metavar="FILE", help="also write the summary here (.json or .csv)")


def _workers(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (0 or more)")
    return int(text)


def _batch(args) -> int:
    own = ArgumentParser(prog="roadlabel batch", add_help=False, allow_abbrev=False)
    _add_batch_options(own)
    _, rest = own.parse_known_args(args.rest, namespace=args)  # keeps what came before COMMAND unless repeated
    projects, options = _projects_and_options(rest)
    if args.scheduler and args.scheduler_file:
        raise RoadlabelError(None, "give --scheduler or --scheduler-file, not both")
    remote = bool(args.scheduler or args.scheduler_file)
    if remote and args.workers is not None:
        raise RoadlabelError("--workers", "is for the local cluster; a running one has its own workers")
    if args.summary:
        check_summary_path(args.summary)
    tasks = _tasks(args.task, projects, options, args.out)
    with open_client(scheduler=args.scheduler, scheduler_file=args.scheduler_file, workers=args.workers) as client:
        if remote:
            check_cluster(client, [task.project for task in tasks])
        with tqdm(total=len(tasks), unit="sequence", desc=f"batch {args.task}", disable=None) as bar:
            items = run_batch(tasks, run_command, client=client, force=args.force, progress=lambda item: bar.update())
    print("\n".join(summary_lines(items)))
    if args.summary:
        write_summary(items, args.summary)
        print(f"summary: {args.summary}")
    statuses = {item.status for item in items}
    if statuses & {Status.FAILED, Status.CRASHED}:
        return EXIT_ERROR
    return EXIT_BLOCKED if Status.BLOCKED in statuses else 0


def _projects_and_options(rest: list[str]) -> tuple[list[Path], list[str]]:
    """The projects come first: everything from the first option on is COMMAND's."""
    first_option = next((index for index, item in enumerate(rest) if item.startswith("-")), len(rest))
    if first_option == 0:
        raise RoadlabelError(None, "batch: give the project folders after COMMAND")
    return [Path(item) for item in rest[:first_option]], rest[first_option:]


def _tasks(command: str, projects: list[Path], options: list[str], out: Path | None) -> list[Task]:
    parser = _command_parser(command)
    options, inputs = _absolute_paths(parser, options)
    projects = [project.absolute() for project in projects]
    if out is not None:
        twins = [name for name, count in Counter(project.name for project in projects).items() if count > 1]
        if twins:
            raise RoadlabelError("--out", f"two projects are named {twins[0]}: their outputs would collide")
        out = out.absolute()
    tasks = [_task(command, parser, project, options, inputs, out) for project in projects]
    _parse(parser, tasks[0].argv[1:])  # COMMAND's options are refused here, before anything runs
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    return tasks


def _task(command: str, parser, project: Path, options: list[str], inputs: tuple[Path, ...],
          out: Path | None) -> Task:
    """The command line of one project, and what it writes outside the project."""
    if out is not None and command not in ("export", "qa"):
        raise RoadlabelError("--out", f"is for export and qa, not {command}")
    argv, outputs = [command, str(project), *options], ()
    if command == "export":
        if out is None:
            raise RoadlabelError(None, "batch export: give --out DIR (each project is exported to DIR/<its name>)")
        fmt = _parse(parser, [str(project), str(out), *options]).format
        target = out / (project.name + SUFFIXES.get(fmt, ""))  # the folder formats have no suffix
        argv, outputs = [command, str(project), str(target), *options, "--overwrite"], (target,)
    elif command == "qa":
        given = next((option for option in options if option.split("=")[0] in QA_REPORT_OPTIONS), None)
        if given:
            raise RoadlabelError(given, "names one file; give --out DIR for a report per project")
        if out is not None:
            report = out / f"{project.name}.html"
            argv, outputs = [*argv, "--report", str(report), "--overwrite"], (report, report.with_suffix(".json"))
    elif command == "status" and "--json" not in options:
        argv.append("--json")
    return Task(project, tuple(argv), inputs, outputs)


def _command_parser(command: str) -> argparse.ArgumentParser:
    commands = next(action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction))
    if command not in commands.choices:
        raise RoadlabelError(None, f"batch {command}: this napari-roadlabel has no `roadlabel {command}` command")
    return commands.choices[command]


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """COMMAND's arguments parsed, or its usage error as a RoadlabelError."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser.parse_args(argv)
    except SystemExit:
        raise RoadlabelError(None, f"batch {parser.prog.split()[-1]}: {_error_line(errors.getvalue())}") from None


def _absolute_paths(parser: argparse.ArgumentParser, options: list[str]) -> tuple[list[str], tuple[Path, ...]]:
    """COMMAND's options with the paths they name made absolute, and those paths (what the command reads)."""
    path_options = {name for action in parser._actions if action.type is Path for name in action.option_strings}
    result, paths = [], []
    for index, item in enumerate(options):
        name, equals, value = item.partition("=")
        if equals and name in path_options:
            paths.append(Path(value).absolute())
            item = f"{name}={paths[-1]}"
        elif index and options[index - 1] in path_options:
            paths.append(Path(item).absolute())
            item = str(paths[-1])
        result.append(item)
    return result, tuple(paths)


def run_command(argv: Sequence[str]) -> tuple[Status, str]:
    """On a worker: ``roadlabel ARGV`` with its output captured; how it ended and its error line."""
    output, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(errors):
        try:
            code = main(list(argv))
        except SystemExit:  # a usage error: the options were checked before, so only the unexpected
            code = EXIT_ERROR
        except Exception as error:  # noqa: BLE001 - a bug in one project's run must not stop the others
            return Status.FAILED, one_line(error)
    if code == 0:
        return Status.OK, ""
    if code == EXIT_BLOCKED and argv[0] == "qa":
        counts = next((line for line in output.getvalue().splitlines() if line.startswith("findings: ")), "")
        return Status.BLOCKED, counts or "blocking findings remain"
    return Status.FAILED, _error_line(errors.getvalue()) or f"exit code {code}"


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last.split(ERROR_MARK, 1)[1] if ERROR_MARK in last else last.strip()
