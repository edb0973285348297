"""Batch work over many sequences: one task per project, on dask.distributed or in this process.

A ``Task`` is one project's command line (``qa``, ``export``, ... on that one project); ``run_batch`` runs every
task through a *runner* (``argv -> (Status, error line)``: the command line interface passes one that calls
``roadlabel`` itself) and returns one ``Item`` per task, whatever happened to the others:

- ``run_task`` is what runs on a worker.  It fingerprints what the task reads (the project's files, the frame
  source's size and time, the files its options name, the options, the package version) and skips the task when
  ``PROJECT/batch/<command>.json`` recorded the same fingerprint after the last success and the task's outputs
  are still there (``force`` runs it anyway).  After a success the fingerprint is taken again (``propagate`` and
  ``suggest`` change the project) and recorded, replacing the record whole.  Fingerprinting only reads files:
  the project's database is hashed as bytes, never opened.
- With a ``Client`` the tasks are submitted at once and collected as they finish; a worker that dies under a
  task makes the scheduler retry it elsewhere, at most ``ALLOWED_FAILURES`` times, and then that task alone ends
  ``crashed`` (on the clusters this module starts, a worker holds one task at a time, so it takes no queued one
  down with it; a running cluster keeps its own settings).  Without a client the tasks run here, in order.

``open_client`` starts a local cluster, or connects to a running one and ``check_cluster`` makes sure its
workers run this version of napari-roadlabel and see every project before anything runs.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from .. import __version__
from ..core.errors import RoadlabelError, one_line
from ..io.atomic import atomic_write

COMMANDS = ("qa", "export", "propagate", "suggest", "status")
RECORDS_FOLDER = "batch"  # PROJECT/batch/<command>.json: the fingerprint of the last success
PROJECT_INPUTS = ("project.json", "taxonomy.yaml", "annotations.sqlite", "annotations.sqlite-wal", "qa.yaml")
ALLOWED_FAILURES = 1  # deaths of a worker a task may cause before it is given up: one poison task kills two
SUMMARY_FORMATS = (".json", ".csv")
SUMMARY_COLUMNS = ("project", "status", "seconds", "error")
HASH_BLOCK = 1 << 20


class Status(Enum):
    OK = "ok"
    BLOCKED = "blocked"  # qa ran and found blocking findings
    FAILED = "failed"
    CRASHED = "crashed"  # its worker died under it
    SKIPPED = "skipped"  # nothing it reads changed since its last success


@dataclass(frozen=True)
class Task:
    project: Path
    argv: tuple[str, ...]  # the command line for this one project: (command, project, *options)
    inputs: tuple[Path, ...] = ()  # files and projects the options name, beside the project itself
    outputs: tuple[Path, ...] = ()  # what it writes outside the project: one missing means running again

    @property
    def command(self) -> str:
        return self.argv[0]


@dataclass(frozen=True)
class Item:
    project: Path
    status: Status
    seconds: float
    error: str = ""  # one line

    def row(self) -> dict:
        return {"project": str(self.project), "status": self.status.value, "seconds": round(self.seconds, 3),
                "error": self.error}


Runner = Callable[[Sequence[str]], tuple[Status, str]]  # a command line -> how it ended, its error line


# ---------------------------------------------------------------- one task (on a worker)


def run_task(task: Task, runner: Runner, *, force: bool = False, run: str = "") -> Item:
    """Run one task unless its last success had the same fingerprint; record the fingerprint of a success.

    ``run`` names the batch: a task retried after its worker died with its result (a success already
    recorded by this same run) ends ok again instead of running twice or reading as skipped.
    """
    start = time.perf_counter()
    record = _record_if_current(task)
    if record is not None and run and record.get("run") == run:
        return Item(task.project, Status.OK, record.get("seconds", 0.0))
    if record is not None and not force:
        return Item(task.project, Status.SKIPPED, time.perf_counter() - start)
    status, error = runner(task.argv)
    seconds = time.perf_counter() - start
    if status is Status.OK:
        _write_record(task, run, seconds)
    return Item(task.project, status, seconds, error if status is not Status.OK else "")


def record_path(task: Task) -> Path:
    return task.project / RECORDS_FOLDER / f"{task.command}.json"


def fingerprint(task: Task) -> str:
    """A hash of what the task reads and how it is asked: equal fingerprints, equal results."""
    digest = hashlib.sha256()
    what = {"version": __version__, "argv": task.argv, "project": _project_digest(task.project),
            "inputs": {str(path): _input_digest(path) for path in task.inputs}}
    digest.update(json.dumps(what, sort_keys=True).encode())
    return digest.hexdigest()


def _record_if_current(task: Task) -> dict | None:
    """The record of the task's last success if nothing it reads changed since and its outputs are there."""
    try:
        record = json.loads(record_path(task).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # never run, or a record we cannot read: run it
    if not isinstance(record, dict) or record.get("fingerprint") != fingerprint(task):
        return None
    return record if all(path.exists() for path in task.outputs) else None


def _write_record(task: Task, run: str, seconds: float) -> None:
    record = {"fingerprint": fingerprint(task), "argv": list(task.argv), "version": __version__, "run": run,
              "seconds": round(seconds, 3),
              "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    record_path(task).parent.mkdir(exist_ok=True)
    with atomic_write(record_path(task)) as handle:
        json.dump(record, handle, indent=2)


def _project_digest(folder: Path) -> dict:
    """The project's own files by content, and its frame source by size and time (a video is too big to hash)."""
    digest = {name: _file_digest(folder / name) for name in PROJECT_INPUTS}
    try:
        source = folder / json.loads((folder / "project.json").read_text(encoding="utf-8"))["source"]
        stat = source.stat()
        digest["source"] = [stat.st_size, stat.st_mtime_ns]
    except (OSError, ValueError, KeyError, TypeError):
        digest["source"] = None  # the command itself will say what is wrong
    return digest


def _input_digest(path: Path) -> object:
    return _project_digest(path) if path.is_dir() else _file_digest(path)


def _file_digest(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256()
            while block := handle.read(HASH_BLOCK):
                digest.update(block)
            return digest.hexdigest()
    except OSError:
        return None


# ---------------------------------------------------------------- many tasks


def run_batch(tasks: Sequence[Task], runner: Runner, *, client=None, force: bool = False,
              progress: Callable[[Item], None] | None = None) -> list[Item]:
    """One item per task, in the tasks' order; ``progress`` hears of each as it ends.  No client: run here."""
    progress = progress or (lambda item: None)
    run = uuid.uuid4().hex
    if client is None:
        items = []
        for task in tasks:
            items.append(run_task(task, runner, force=force, run=run))
            progress(items[-1])
        return items
    from distributed import as_completed

    started = time.perf_counter()
    futures = {client.submit(run_task, task, runner, force=force, run=run, key=f"roadlabel-{run}-{index}"): task
               for index, task in enumerate(tasks)}  # keys of their own: another batch may share the scheduler
    ended = {}
    for future in as_completed(futures):
        ended[futures[future].project] = item = _item_of(future, futures[future], time.perf_counter() - started)
        progress(item)
    return [ended[task.project] for task in tasks]


def _item_of(future, task: Task, seconds: float) -> Item:
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        return Item(task.project, Status.CRASHED, seconds, "its worker died while running it")
    except Exception as error:  # noqa: BLE001 - the runner catches the command's errors; this is anything else
        return Item(task.project, Status.FAILED, seconds, one_line(error))


@contextlib.contextmanager
def open_client(*, scheduler: str | None = None, scheduler_file: Path | None = None,
                workers: int | None = None) -> Iterator[object]:
    """A dask Client on a running cluster, or on a local one of ``workers`` processes (default: one per core);
    ``workers=0``: None, to run in this process."""
    if workers == 0 and scheduler is None and scheduler_file is None:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None or scheduler_file is not None:
        if scheduler_file is not None and not Path(scheduler_file).is_file():
            raise RoadlabelError(scheduler_file, "no such scheduler file")
        try:
            client = Client(scheduler, scheduler_file=str(scheduler_file) if scheduler_file else None, timeout="10s")
        except OSError as error:  # the timeout of connecting is one too
            raise RoadlabelError(scheduler or scheduler_file,
                                 f"cannot reach the dask scheduler ({one_line(error)})") from None
        with client:
            yield client
        return
    # One task at a time on each worker: a worker that dies takes no queued innocent task down with it.
    settings = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(settings), \
            LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def check_cluster(client, projects: Iterable[Path]) -> None:
    """Refuse a cluster whose workers run another napari-roadlabel (or dask) or cannot see a project."""
    projects = [str(project) for project in projects]
    try:
        client.get_versions(check=True)
        seen = client.run(_worker_view, projects)
    except Exception as error:  # noqa: BLE001 - a mismatch or a worker that cannot even load this module
        raise RoadlabelError("--scheduler", f"the workers cannot run this batch: {one_line(error)}") from None
    if not seen:
        raise RoadlabelError("--scheduler", "the cluster has no workers")
    for worker, (version, missing) in sorted(seen.items()):
        if version != __version__:
            raise RoadlabelError(worker, f"runs napari-roadlabel {version}, this is {__version__}")
        if missing is not None:
            raise RoadlabelError(worker, f"cannot see the project {missing}")


def _worker_view(projects: list[str]) -> tuple[str, str | None]:
    """On a worker: its napari-roadlabel version and the first project folder it cannot see."""
    missing = next((project for project in projects if not Path(project, "project.json").is_file()), None)
    return __version__, missing


# ---------------------------------------------------------------- the summary


def summary_lines(items: Sequence[Item]) -> list[str]:
    """The table printed at the end of a run, then one line of counts."""
    width = max((len(str(item.project)) for item in items), default=7)
    lines = [f"{'project':<{width}}  {'status':<8} {'seconds':>8}  error"]
    lines += [f"{str(item.project):<{width}}  {item.status.value:<8} {item.seconds:>8.1f}  {item.error}".rstrip()
              for item in items]
    counts = [f"{sum(item.status is status for item in items)} {status.value}" for status in Status
              if any(item.status is status for item in items)]
    lines.append(f"{len(items)} sequences: " + ", ".join(counts))
    return lines


def check_summary_path(path: Path) -> None:
    if path.suffix.lower() not in SUMMARY_FORMATS:
        raise RoadlabelError(path, f"--summary: write .json or .csv, not {path.suffix or 'a file without extension'}")


def write_summary(items: Sequence[Item], path: Path) -> None:
    """One row per sequence (project, status, seconds, error) as JSON or CSV by ``path``'s extension; whole."""
    check_summary_path(path)
    rows = [item.row() for item in items]
    with atomic_write(path) as handle:
        if path.suffix.lower() == ".json":
            json.dump(rows, handle, indent=2)
        else:
            writer = csv.DictWriter(handle, SUMMARY_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
