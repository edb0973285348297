"""`roadlabel batch`: many projects made from the sample clip, run in this process, on a local cluster, on a real
`dask scheduler` + `dask worker`, with a corrupt project, a QA block, a worker that dies, and reruns."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import napari_roadlabel
from napari_roadlabel.cli import main
from napari_roadlabel.cli_batch import run_command
from napari_roadlabel.core import Project, make_geometry
from napari_roadlabel.io.projects import create_project
from napari_roadlabel.sample import RoadSceneConfig, add_to_project, make_road_sequence
from napari_roadlabel.sample.sequence import write_video
from napari_roadlabel.teams.batch import Status, Task, open_client, record_path, run_batch

CONFIG = RoadSceneConfig(frames=8, width=160, height=96)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    sequence = make_road_sequence(CONFIG)
    video = tmp_path_factory.mktemp("clip") / "road.mp4"
    write_video(video, sequence)
    return sequence, video


def make_projects(clip, folder: Path, *names: str) -> list[Path]:
    sequence, video = clip
    for name in names:
        with create_project(folder / name, video) as project:
            add_to_project(project, sequence)
    return [folder / name for name in names]


def corrupt(project: Path) -> Path:
    database = project / "annotations.sqlite"
    database.write_bytes(database.read_bytes()[:100])
    return project


def add_crossing_lanes(project: Path) -> None:
    """Two lane lines crossing on frame 0: a blocking `crossing-lanes` finding."""
    with Project.open(project) as opened:
        for points in ([[10, 90], [150, 10]], [[150, 90], [10, 10]]):
            opened.set_state(opened.add_track("lane-line").id, 0, make_geometry("polyline", points))


def batch(capsys, *args):
    code = main(["batch", *(str(arg) for arg in args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table(out: str) -> dict[str, list[str]]:
    """The summary table: project name -> [status, seconds, error...]."""
    rows = [line.split(None, 3) for line in out.splitlines()[1:] if line.startswith("/")]
    return {Path(row[0]).name: row[1:] for row in rows}


def statuses(out: str) -> dict[str, str]:
    return {name: row[0] for name, row in table(out).items()}


def test_in_process_a_corrupt_project_fails_alone_with_one_line(capsys, clip, tmp_path):
    good = make_projects(clip, tmp_path, "a", "b", "c")
    bad = corrupt(make_projects(clip, tmp_path, "bad")[0])
    summary = tmp_path / "summary.json"
    code, out, _ = batch(capsys, "qa", *good, bad, "--workers", "0", "--summary", summary)
    assert code == 1
    assert statuses(out) == {"a": "ok", "b": "ok", "c": "ok", "bad": "failed"}
    assert out.splitlines()[-2] == "4 sequences: 3 ok, 1 failed"
    rows = json.loads(summary.read_text())
    assert [row["project"] for row in rows] == [str(path) for path in [*good, bad]]  # the order given
    assert set(rows[0]) == {"project", "status", "seconds", "error"}
    error = rows[3]["error"]
    assert "annotations.sqlite" in error and "not a readable annotation database" in error and "\n" not in error
    assert all(row["error"] == "" and row["seconds"] >= 0 for row in rows[:3])


def test_rerun_skips_what_did_not_change_force_runs_again_a_changed_project_reruns(capsys, clip, tmp_path,
                                                                                     fingerprint):
    a, b = make_projects(clip, tmp_path, "a", "b")
    assert batch(capsys, "propagate", a, b, "--method", "linear", "--workers", "0")[0] == 0
    assert json.loads(record_path(Task(a, ("propagate",))).read_text())["argv"][:2] == ["propagate", str(a)]
    before = fingerprint(tmp_path)
    code, out, _ = batch(capsys, "propagate", a, b, "--method", "linear", "--workers", "0")
    assert code == 0 and statuses(out) == {"a": "skipped", "b": "skipped"}
    assert fingerprint(tmp_path) == before  # deciding to skip read the projects, changed nothing
    code, out, _ = batch(capsys, "propagate", a, b, "--method", "linear", "--workers", "0", "--force")
    assert statuses(out) == {"a": "ok", "b": "ok"}
    with Project.open(b) as project:
        project.set_state(project.add_track("lane-line").id, 3, make_geometry("polyline", [[5, 90], [60, 40]]))
    code, out, _ = batch(capsys, "propagate", a, b, "--method", "linear", "--workers", "0")
    assert statuses(out) == {"a": "skipped", "b": "ok"}
    code, out, _ = batch(capsys, "propagate", a, b, "--method", "smooth", "--workers", "0")  # other options
    assert statuses(out) == {"a": "ok", "b": "ok"}


def test_qa_block_exits_2_and_a_failure_wins_with_1(capsys, clip, tmp_path):
    good, blocked = make_projects(clip, tmp_path, "good", "blocked")
    add_crossing_lanes(blocked)
    code, out, _ = batch(capsys, "qa", good, blocked, "--workers", "0", "--out", tmp_path / "reports")
    assert code == 2 and statuses(out) == {"good": "ok", "blocked": "blocked"}
    assert main(["qa", str(blocked)]) == 2
    findings = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("findings: "))
    assert table(out)["blocked"][2] == findings and "0 blocking" not in findings
    assert sorted(path.name for path in (tmp_path / "reports").iterdir()) == [
        "blocked.html", "blocked.json", "good.html", "good.json"]
    code, out, _ = batch(capsys, "qa", good, blocked, corrupt(make_projects(clip, tmp_path, "bad")[0]),
                         "--workers", "0", "--out", tmp_path / "reports")
    assert code == 1 and statuses(out) == {"good": "skipped", "blocked": "blocked", "bad": "failed"}


def test_local_cluster_exports_each_project_as_roadlabel_export_does(capsys, clip, tmp_path):
    projects = make_projects(clip, tmp_path, "a", "b", "c")
    summary = tmp_path / "summary.csv"
    code, out, _ = batch(capsys, "export", *projects, "--format", "geojson", "--out", tmp_path / "out",
                         "--workers", "2", "--summary", summary)
    assert code == 0 and statuses(out) == {"a": "ok", "b": "ok", "c": "ok"}
    with open(summary, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(Path(row["project"]).name, row["status"], row["error"]) for row in rows] == [
        ("a", "ok", ""), ("b", "ok", ""), ("c", "ok", "")]
    assert main(["export", str(projects[0]), str(tmp_path / "direct.geojson"), "--format", "geojson"]) == 0
    direct = json.loads((tmp_path / "direct.geojson").read_text())
    assert json.loads((tmp_path / "out" / "a.geojson").read_text()) == direct
    assert len(direct["features"]) > 0
    (tmp_path / "out" / "b.geojson").unlink()  # a missing output runs its project again
    code, out, _ = batch(capsys, "export", *projects, "--format", "geojson", "--out", tmp_path / "out",
                         "--workers", "0")
    assert statuses(out) == {"a": "skipped", "b": "ok", "c": "skipped"}


def test_a_worker_dying_under_a_task_crashes_that_task_alone(clip, tmp_path):
    projects = make_projects(clip, tmp_path, "a", "poison", "b", "c")
    tasks = [Task(project, ("qa", str(project))) for project in projects]

    def poison_runner(argv):  # local, so that it travels by value: the workers cannot import this test module
        if Path(argv[1]).name == "poison":
            os._exit(1)  # the worker process dies outright, as under the OOM killer
        return run_command(argv)

    with open_client(workers=2) as client:
        items = run_batch(tasks, poison_runner, client=client)
    assert [(item.project.name, item.status) for item in items] == [
        ("a", Status.OK), ("poison", Status.CRASHED), ("b", Status.OK), ("c", Status.OK)]
    assert items[1].error == "its worker died while running it"
    assert not (projects[1] / "batch").exists() and (projects[0] / "batch" / "qa.json").is_file()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running_cluster(tmp_path):
    """A real `dask scheduler` and one `dask worker` on 127.0.0.1, stopped by their process groups."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(Path(napari_roadlabel.__file__).parents[1])}
    dask = [str(Path(sys.executable).with_name("dask"))]
    processes = []
    try:
        processes.append(subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(_free_port()), "--no-dashboard",
             "--scheduler-file", str(scheduler_file)], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 30
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        processes.append(subprocess.Popen(
            [*dask, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--no-dashboard",
             "--host", "127.0.0.1"], env=env, start_new_session=True, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(scheduler_file.read_text())["address"]
        _wait_for_a_worker(address)
        yield address, scheduler_file
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_a_worker(address: str) -> None:
    from distributed import Client

    with Client(address, timeout="20s") as client:
        client.wait_for_workers(1, timeout=30)


def test_a_running_cluster_is_checked_then_used(capsys, clip, tmp_path, running_cluster):
    address, scheduler_file = running_cluster
    a, b = make_projects(clip, tmp_path, "a", "b")
    code, out, _ = batch(capsys, "propagate", a, b, "--method", "linear", "--scheduler", address)
    assert code == 0 and statuses(out) == {"a": "ok", "b": "ok"}
    assert json.loads(record_path(Task(a, ("propagate",))).read_text())["argv"][-2:] == ["--method", "linear"]
    code, out, _ = batch(capsys, "propagate", a, b, "--method", "linear", "--scheduler-file", scheduler_file)
    assert code == 0 and statuses(out) == {"a": "skipped", "b": "skipped"}
    code, out, err = batch(capsys, "propagate", a, tmp_path / "elsewhere", "--scheduler", address)
    assert code == 1 and out == ""  # refused before anything ran
    assert err.strip().startswith("roadlabel: error: tcp://127.0.0.1:") and err.strip().endswith(
        f"cannot see the project {tmp_path / 'elsewhere'}") and err.count("\n") == 1


@pytest.mark.parametrize(("args", "message"), [
    (["export", "P", "--format", "geojson"], "batch export: give --out DIR"),
    (["export", "P", "--format", "nope", "--out", "OUT"], "batch export: argument --format: invalid choice"),
    (["qa", "P", "--report", "r.html"], "--report: names one file; give --out DIR for a report per project"),
    (["propagate", "P", "--out", "OUT"], "--out: is for export and qa, not propagate"),
    (["qa", "P", "--summary", "s.txt"], "--summary: write .json or .csv, not .txt"),
    (["qa", "--workers", "0"], "batch: give the project folders after COMMAND"),
])
def test_bad_batches_are_refused_in_one_line_before_anything_runs(capsys, clip, tmp_path, args, message):
    [project] = make_projects(clip, tmp_path, "P")
    args = [str(project) if arg == "P" else str(tmp_path / arg) if arg in ("OUT", "s.txt") else arg for arg in args]
    code, out, err = batch(capsys, *args, "--workers", "0")
    assert code == 1 and out == "" and message in err and err.count("\n") == 1
    assert not (project / "batch").exists()


def test_status_runs_per_project_when_the_command_exists(capsys, clip, tmp_path):
    projects = make_projects(clip, tmp_path, "a", "b")
    code, out, err = batch(capsys, "status", *projects, "--workers", "0")
    if "has no `roadlabel status` command" in err:
        pytest.skip("`roadlabel status` is not in this tree yet")
    assert code == 0 and statuses(out) == {"a": "ok", "b": "ok"}
