"""Teams at the scale the users describe: a 20,000-frame drive split among 8 annotators and merged back, the
status of hundreds of sequences, and batch work over many of them.

    python benchmarks/bench_teams.py [--frames 20000] [--objects 20] [--parts 8] [--overlap 10]
                                     [--projects 200] [--batch-projects 50]

1. Split and merge.  A project (setup, untimed, built through the store a
   thousand frames per group) has about ``--objects`` objects on every frame:
   lane lines (polylines), vehicles and traffic lights (boxes) and a crosswalk
   (polygon), each object a track of ``TRACK_FRAMES`` frames, their starts
   staggered so that some cross every border; every ``KEYFRAME_EVERY``-th state
   is a keyframe, the rest propagated.  Each step runs in a child process of
   its own, for its seconds and its peak resident memory (VmHWM) over what the
   process held before the step (Python, the imports, the open project):

   - baseline: every state read once (``project.store.iter_objects()``), and
     the database file copied;
   - ``split_project(parts, overlap)``;
   - a merge with nothing changed (``plan_merge`` + ``apply_merge``, and the
     report ``roadlabel jobs merge`` writes);
   - a merge after each job made ``NEW_PER_BORDER`` new vehicle tracks across
     each of its borders (stitched into one track each);
   - the same merge again (nothing left to write: idempotent).

   Goals: a merge within ``MERGE_GOAL`` times the baseline read; memory that
   does not grow with the sequence (MB, and MB per 1,000 frames).

2. Status.  ``--projects`` small projects (``SMALL_FRAMES`` frames, a few
   tracks; every ``JOBS_EVERY``-th one split into 3 jobs) under one folder:
   ``roadlabel status ROOT --json`` in this process, against opening and
   closing every project and job read-only.

3. Batch.  ``roadlabel batch status`` over the first ``--batch-projects`` of
   them with ``--workers 0`` (here, in order) and ``--workers 2`` (a local
   dask cluster, its start included), ``--force`` so nothing is skipped,
   against the same command run per project in a loop in this process
   (``run_command``, what a worker runs): the overhead per project.

The default run takes about 2 minutes on a 2-core machine (the long project's
build 10 s, split 17 s, each merge about 12 s); ``--frames 2000 --projects 12
--batch-projects 6`` about 30 s.  Nothing is asserted; each figure is printed
beside its goal or baseline, and the last printed line is one JSON object with
every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_roadlabel.core import FrameState, Project, SequenceInfo, Source, box, make_geometry
from napari_roadlabel.core.taxonomy import Scope

WIDTH, HEIGHT = 1280, 720
TRACK_FRAMES = 300  # each object is a track this long
KEYFRAME_EVERY = 30  # frames between keyframes of a track
GROUP_FRAMES = 1000  # frames written per group while building
NEW_PER_BORDER = 3  # new tracks each job makes across each of its borders
NEW_REACH = 100  # frames a new track runs on its own side of the border
MERGE_GOAL = 10.0  # a merge within this many baseline reads
SMALL_FRAMES = 300
SMALL_OBJECTS = 4
JOBS_EVERY = 4  # every 4th small project has jobs
SLOT_CLASSES = ("lane-line",) * 8 + ("vehicle",) * 9 + ("traffic-light",) * 2 + ("crosswalk",)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20_000, help="frames of the long project")
    parser.add_argument("--objects", type=int, default=20, help="objects on every frame of it")
    parser.add_argument("--parts", type=int, default=8, help="jobs it is split into")
    parser.add_argument("--overlap", type=int, default=10, help="frames shared on each side of a border")
    parser.add_argument("--projects", type=int, default=200, help="small projects for the status")
    parser.add_argument("--batch-projects", type=int, default=50, help="of them, how many the batch runs over")
    parser.add_argument("--child", nargs=2, metavar=("WORK", "PROJECT"), help=argparse.SUPPRESS)
    return parser.parse_args()


# ---------------------------------------------------------- the objects


def slot_class(slot: int) -> str:
    return SLOT_CLASSES[slot % len(SLOT_CLASSES)]


def slot_geometry(slot: int, objects: int, frame: int):
    """Object ``slot``'s shape on ``frame``: side by side across the image, drifting a little from frame to frame."""
    x = WIDTH * (0.04 + 0.9 * slot / objects) + 3 * np.sin(frame / 40)
    kind = slot_class(slot)
    if kind == "lane-line":
        xs = x + (WIDTH / 2 - x) * np.array([0.0, 0.2, 0.4, 0.55])
        return make_geometry("polyline", np.column_stack([xs, HEIGHT * np.array([0.95, 0.8, 0.65, 0.5])]))
    if kind == "crosswalk":
        return make_geometry("polygon", [[x, 0.85 * HEIGHT], [x + 40, 0.85 * HEIGHT], [x + 40, 0.9 * HEIGHT],
                                         [x, 0.9 * HEIGHT]])
    top = 0.05 if kind == "traffic-light" else 0.55
    return box(x, top * HEIGHT, x + 0.025 * WIDTH, (top + 0.08) * HEIGHT)


def new_vehicle(index: int, frame: int):
    """A vehicle the jobs add: in a band of the image no other object uses."""
    x = WIDTH * (0.1 + 0.25 * index) + 2 * np.sin(frame / 30)
    return box(x, 0.3 * HEIGHT, x + 0.06 * WIDTH, 0.4 * HEIGHT)


def fill(project: Project, frames: int, objects: int) -> int:
    """Every slot holds back-to-back tracks of TRACK_FRAMES frames, slot s shifted by s / objects of a track;
    returns the number of tracks."""
    store = project.store
    defaults = {name: project.taxonomy[name].defaults(Scope.FRAME) for name in set(SLOT_CLASSES)}
    current: dict[int, int] = {}  # slot -> its track now
    made = 0
    for first in range(0, frames, GROUP_FRAMES):
        with project.group("bulk"):
            for frame in range(first, min(first + GROUP_FRAMES, frames)):
                for slot in range(objects):
                    age = (frame + slot * TRACK_FRAMES // objects) % TRACK_FRAMES
                    if age == 0 or slot not in current:
                        current[slot] = project.add_track(slot_class(slot)).id
                        made += 1
                        age = 0
                    source = Source.MANUAL if age % KEYFRAME_EVERY == 0 else Source.PROPAGATED
                    store.put_state(FrameState(current[slot], frame, slot_geometry(slot, objects, frame),
                                               defaults[slot_class(slot)], source,
                                               None if source is Source.MANUAL else 0.9))
    return made


def make_project(folder: Path, frames: int, objects: int) -> int:
    with Project.create(folder, SequenceInfo("drive.mp4", frames, WIDTH, HEIGHT, 30.0)) as project:
        return fill(project, frames, objects)


def add_crossing_tracks(project_folder: Path) -> int:
    """Each job makes NEW_PER_BORDER vehicles across each border with its neighbour, drawn alike on the overlap:
    the merge must stitch each pair into one track.  Returns the tracks made."""
    from napari_roadlabel.teams.jobs import jobs_of

    jobs = jobs_of(project_folder)
    made = 0
    for left, right in zip(jobs, jobs[1:], strict=False):
        cut = right.own[0]
        for job, frames in ((left, range(cut - NEW_REACH, left.frames[1] + 1)),
                            (right, range(right.frames[0], cut + NEW_REACH))):
            with Project.open(job.folder) as opened, opened.group("new vehicles"):
                for index in range(NEW_PER_BORDER):
                    track = opened.add_track("vehicle").id
                    made += 1
                    for frame in frames:
                        opened.set_state(track, frame, new_vehicle(index, frame),
                                         source=Source.MANUAL if frame % KEYFRAME_EVERY == 0 else Source.PROPAGATED)
    return made


# ---------------------------------------------------------- one step in a child process


def child(work: str, folder: str) -> None:
    """Run one step on the project in ``folder``; print its seconds, memory and counts as one JSON line."""
    from napari_roadlabel.teams.merge import apply_merge, plan_merge
    from napari_roadlabel.teams.merge_report import report_data, write_merge_report
    from napari_roadlabel.teams.split import split_project

    folder = Path(folder)
    figures: dict = {}
    before = _rss_kb("VmRSS")
    began = time.perf_counter()
    if work == "read":
        with Project.open(folder, read_only=True) as project:
            before, began = _rss_kb("VmRSS"), time.perf_counter()
            figures["states"] = sum(1 for _ in project.store.iter_objects())
    elif work == "copy":
        shutil.copyfile(folder / "annotations.sqlite", folder.parent / "copy.sqlite")
    elif work.startswith("split:"):
        _, parts, overlap = work.split(":")
        figures["jobs"] = len(split_project(folder, parts=int(parts), overlap=int(overlap)))
    elif work == "merge":
        with Project.open(folder, writing=True) as project:
            before, began = _rss_kb("VmRSS"), time.perf_counter()
            plan = plan_merge(project)
            figures["plan_s"] = time.perf_counter() - began
            if not plan.blocked:
                apply_merge(project, plan)
            figures["apply_s"] = time.perf_counter() - began - figures["plan_s"]
        mark = time.perf_counter()
        html = folder / "jobs" / "merge-report.html"
        write_merge_report(report_data(plan, dry_run=False), html, html.with_suffix(".json"))
        figures["report_s"] = time.perf_counter() - mark
        figures.update(changes=plan.changes, conflicts=len(plan.conflicts), new_ids=len(plan.new_ids),
                       joined=sum(border.joined for border in plan.borders))
    else:
        raise SystemExit(f"unknown work {work}")
    figures["seconds"] = time.perf_counter() - began
    figures["peak_mb"] = _rss_kb("VmHWM") / 1024
    figures["growth_mb"] = (_rss_kb("VmHWM") - before) / 1024
    print(json.dumps(figures))


def _rss_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, in kB (not ru_maxrss: a child inherits its parent's)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(field + ":")).split()[1])


def in_child(work: str, folder: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", work, str(folder)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{work} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def split_and_merge(args: argparse.Namespace, root: Path) -> dict:
    folder = root / "drive"
    began = time.perf_counter()
    tracks = make_project(folder, args.frames, args.objects)
    figures = {"build_s": time.perf_counter() - began, "tracks": tracks,
               "db_mb": (folder / "annotations.sqlite").stat().st_size / 2**20}
    figures["read"] = in_child("read", folder)
    figures["copy"] = in_child("copy", folder)
    figures["split"] = in_child(f"split:{args.parts}:{args.overlap}", folder)
    figures["merge_unchanged"] = in_child("merge", folder)
    figures["new_tracks"] = add_crossing_tracks(folder)
    figures["merge_stitched"] = in_child("merge", folder)
    figures["merge_again"] = in_child("merge", folder)
    return figures


# ---------------------------------------------------------- many small projects


def make_small_projects(root: Path, count: int) -> list[Path]:
    from napari_roadlabel.teams.split import split_project

    folders = []
    for index in range(count):
        folder = root / f"seq-{index:04d}"
        make_project(folder, SMALL_FRAMES, SMALL_OBJECTS)
        if index % JOBS_EVERY == 0:
            split_project(folder, parts=3, overlap=5, assignees=("ana", "ben", "cy"), reviewer="dee")
        folders.append(folder)
    return folders


def quiet(command: list[str]) -> int:
    from napari_roadlabel.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(command)


def status_figures(root: Path, folders: list[Path]) -> dict:
    from napari_roadlabel.teams.jobs import jobs_of

    every = [path for folder in folders for path in (folder, *(job.folder for job in jobs_of(folder)))]
    began = time.perf_counter()
    for path in every:
        Project.open(path, read_only=True).close()
    baseline_s = time.perf_counter() - began
    began = time.perf_counter()
    code = quiet(["status", str(root), "--json"])
    return {"open_all_s": baseline_s, "opened": len(every), "status_s": time.perf_counter() - began,
            "exit": code}


def batch_figures(folders: list[Path]) -> dict:
    from napari_roadlabel.cli_batch import run_command

    projects = [str(folder) for folder in folders]
    began = time.perf_counter()
    for project in projects:
        run_command(["status", project, "--json"])
    figures = {"loop_s": time.perf_counter() - began}
    for workers in (0, 2):
        began = time.perf_counter()
        code = quiet(["batch", "status", *projects, "--workers", str(workers), "--force"])
        figures[f"workers_{workers}_s"] = time.perf_counter() - began
        figures[f"workers_{workers}_exit"] = code
    return figures


# ---------------------------------------------------------- the table


def summarize(args: argparse.Namespace, big: dict, status: dict, batch: dict) -> dict:
    read_s = big["read"]["seconds"]
    per_k = 1000 / args.frames
    results = {"benchmark": "teams", "frames": args.frames, "objects_per_frame": args.objects, "parts": args.parts,
               "overlap": args.overlap, "states": big["read"]["states"], "tracks": big["tracks"],
               "build_s": round(big["build_s"], 1), "db_mb": round(big["db_mb"], 1),
               "baseline_read_s": round(read_s, 3), "baseline_read_growth_mb": round(big["read"]["growth_mb"], 1),
               "baseline_copy_s": round(big["copy"]["seconds"], 3)}
    for step in ("split", "merge_unchanged", "merge_stitched", "merge_again"):
        figures = big[step]
        results[f"{step}_s"] = round(figures["seconds"], 3)
        results[f"{step}_ratio_read"] = round(figures["seconds"] / read_s, 2)
        results[f"{step}_ratio_copy"] = round(figures["seconds"] / big["copy"]["seconds"], 1)
        results[f"{step}_peak_mb"] = round(figures["peak_mb"], 1)
        results[f"{step}_growth_mb"] = round(figures["growth_mb"], 1)
        results[f"{step}_growth_mb_per_1000_frames"] = round(figures["growth_mb"] * per_k, 2)
        for key in ("plan_s", "apply_s", "report_s"):
            if key in figures:
                results[f"{step}_{key}"] = round(figures[key], 3)
        for key in ("changes", "conflicts", "new_ids", "joined"):
            if key in figures:
                results[f"{step}_{key}"] = figures[key]
    results["jobs_new_tracks"] = big["new_tracks"]
    projects = args.projects
    results.update(status_projects=projects, status_opened=status["opened"],
                   status_s=round(status["status_s"], 3),
                   status_ms_per_project=round(1000 * status["status_s"] / projects, 2),
                   open_all_ms_per_project=round(1000 * status["open_all_s"] / projects, 2),
                   status_ratio_open=round(status["status_s"] / status["open_all_s"], 2))
    count = args.batch_projects
    results.update(batch_projects=count, batch_loop_s=round(batch["loop_s"], 3))
    for workers in (0, 2):
        seconds = batch[f"workers_{workers}_s"]
        results[f"batch_workers_{workers}_s"] = round(seconds, 3)
        results[f"batch_workers_{workers}_exit"] = batch[f"workers_{workers}_exit"]
        results[f"batch_workers_{workers}_overhead_ms_per_project"] = round(1000 * (seconds - batch["loop_s"]) / count,
                                                                            1)
    return results


def print_table(results: dict) -> None:
    read_s, per_k = results["baseline_read_s"], 1000 / results["frames"]
    print(f"1. {results['frames']:,} frames x {results['objects_per_frame']} objects ({results['states']:,} states, "
          f"{results['tracks']:,} tracks, {results['db_mb']:.0f} MB database), built in {results['build_s']:.0f} s "
          f"(untimed); {results['parts']} jobs, overlap {results['overlap']}")
    print(f"   {'step':<34} {'seconds':>8} {'x read':>7} {'x copy':>7} {'peak MB':>8} {'growth MB':>9} "
          f"{'MB/1k fr':>8}   goal / result")
    print(f"   {'baseline: read every state once':<34} {read_s:>8.2f} {1:>7.1f} {'':>7} {'':>8} "
          f"{results['baseline_read_growth_mb']:>9.1f} {results['baseline_read_growth_mb'] * per_k:>8.2f}")
    print(f"   {'baseline: copy the database file':<34} {results['baseline_copy_s']:>8.2f}")
    labels = {"split": "split", "merge_unchanged": "merge, nothing changed", "merge_stitched":
              f"merge, {results['jobs_new_tracks']} new tracks to stitch", "merge_again": "merge again (idempotent)"}
    for step, label in labels.items():
        note = "" if step == "split" else (
            f"goal <= {MERGE_GOAL:.0f} x read; plan {results[f'{step}_plan_s']:.1f} s, apply "
            f"{results[f'{step}_apply_s']:.1f} s, report {results[f'{step}_report_s']:.1f} s; "
            f"{results[f'{step}_changes']:,} changes, {results[f'{step}_new_ids']} new ids, "
            f"{results[f'{step}_joined']} joined at borders, {results[f'{step}_conflicts']} conflicts")
        print(f"   {label:<34} {results[f'{step}_s']:>8.2f} {results[f'{step}_ratio_read']:>7.1f} "
              f"{results[f'{step}_ratio_copy']:>7.0f} {results[f'{step}_peak_mb']:>8.0f} "
              f"{results[f'{step}_growth_mb']:>9.1f} {results[f'{step}_growth_mb_per_1000_frames']:>8.2f}   {note}")
    print("   goal: memory growth bounded, not proportional to the sequence (MB per 1,000 frames near 0)")
    print(f"2. status over {results['status_projects']} projects ({results['status_opened']} projects and jobs "
          f"opened): {results['status_s']:.1f} s, {results['status_ms_per_project']:.1f} ms per project; "
          f"opening each read-only {results['open_all_ms_per_project']:.1f} ms per project, "
          f"x{results['status_ratio_open']:.1f}")
    print(f"3. batch status over {results['batch_projects']} projects: in-process loop "
          f"{results['batch_loop_s']:.1f} s; "
          + "; ".join(f"--workers {workers} {results[f'batch_workers_{workers}_s']:.1f} s "
                      f"(overhead {results[f'batch_workers_{workers}_overhead_ms_per_project']:+.0f} ms per project, "
                      f"exit {results[f'batch_workers_{workers}_exit']})" for workers in (0, 2)))


def main() -> None:
    args = parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = split_and_merge(args, root / "long")
        folders = make_small_projects(root / "dataset", args.projects)
        status = status_figures(root / "dataset", folders)
        batch = batch_figures(folders[:args.batch_projects])
    results = summarize(args, big, status, batch)
    print_table(results)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
