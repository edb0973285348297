"""Export speed and peak memory of every format: a long project with many objects on every frame, and a short one
with thousands of lane lines on every frame.

    python benchmarks/bench_formats.py [--frames 20000] [--objects 20] [--size 640x360] [--lanes 2000]
                                       [--lane-frames 22]

The long project (setup, not timed) holds ``--objects`` tracks (lane lines,
traffic lights, crosswalks: bench_stepping's mix) with a state on every frame.
Timed:

* baseline: every state read once through ``project.store.iter_objects()``, the
  floor under any export of every frame;
* each format of the registry exported once into a temporary folder (mapping
  report included); masks, when the format exists, are reported apart (they
  draw every frame).

Peak memory: the baseline, the checks (``run_checks``, which every ``roadlabel
export`` runs first) and each export again, each in a child process of its own
(``peak_memory.py``: peak resident memory of the whole process, under a 4 GB
ceiling; "failed" when it needed more).

The lanes project holds ``--lanes`` lane-line tracks side by side, each on
every one of ``--lane-frames`` frames: pairs of lanes on a frame number in the
millions.  Its baseline, checks and exports are each run in a child process,
for seconds and peak memory.

Goal: at most 10 s per format on the long project.  Ratios are to the
baseline (seconds, or peak memory), measured in the same run.  The last
printed line is one JSON object with the figures (seconds and ratios by
format, baseline_s; peak_rss_mb, rss_ratios and baseline_rss_mb; the lanes
project's under "lanes").  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_stepping import fill_project, lane_xy  # this folder is on sys.path when the script runs
from peak_memory import measure as measure_child

from napari_roadlabel.core import Project, SequenceInfo, Source, make_geometry
from napari_roadlabel.io.formats.registry import export_any, export_formats

GOAL_S = 10.0
SLOW_BY_NATURE = {"masks"}  # pictures of every frame: reported, not held to the goal
CHECKS = "checks"  # the row of the checks run before every export


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--size", default="640x360", help="image size WxH")
    parser.add_argument("--formats", nargs="+", default=None, help="only these (default: every format)")
    parser.add_argument("--lanes", type=int, default=2000, help="lane lines on every frame of the lanes project")
    parser.add_argument("--lane-frames", type=int, default=22, help="frames of the lanes project")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    formats = args.formats or export_formats()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup_s, baseline, measured = measure(args, folder, width, height, formats)
        memory = peaks(folder / "bench.roadlabel", folder / "children", formats)
        lanes_setup_s, lanes = measure_lanes(args, folder, width, height, formats)
    seconds = {fmt: round(value, 2) for fmt, value in measured.items()}
    ratios = {fmt: round(value / baseline, 2) for fmt, value in measured.items()}
    peak_mb, rss_ratios = memory_figures(memory)
    print(f"{args.frames} frames x {args.objects} objects ({args.frames * args.objects:,} states), {width}x{height}; "
          f"setup {setup_s:.0f} s, untimed")
    print(f"{'format':<10} {'seconds':>8} {'x baseline':>10} {'peak MB':>8} {'x baseline':>10}  goal <= {GOAL_S:g} s")
    print(f"{'baseline':<10} {baseline:>8.1f} {1:>10.1f} {memory['read']['peak_rss_mb']:>8.0f} {1:>10.1f}  "
          "iter_objects, every state once")
    print(f"{CHECKS:<10} {'-':>8} {'-':>10} {_peak(peak_mb[CHECKS]):>8} {_ratio(rss_ratios[CHECKS]):>10}  "
          "run before every `roadlabel export` (seconds: bench_qa.py)")
    for fmt, value in seconds.items():
        verdict = "reported" if fmt in SLOW_BY_NATURE else ("met" if value <= GOAL_S else "NOT met")
        print(f"{fmt:<10} {value:>8.1f} {ratios[fmt]:>10.1f} {_peak(peak_mb[fmt]):>8} {_ratio(rss_ratios[fmt]):>10}  "
              f"{verdict}")
    print_lanes(args, lanes, lanes_setup_s)
    print(json.dumps({"frames": args.frames, "objects": args.objects, "size": args.size, "seconds": seconds,
                      "goal_s": GOAL_S, "all_met": all(value <= GOAL_S for fmt, value in seconds.items()
                                                       if fmt not in SLOW_BY_NATURE),
                      "baseline_s": round(baseline, 2), "ratios": ratios, "peak_rss_mb": peak_mb,
                      "rss_ratios": rss_ratios, "baseline_rss_mb": memory["read"]["peak_rss_mb"],
                      "lanes": lanes_figures(args, lanes)}))


def measure(args: argparse.Namespace, folder: Path, width: int, height: int,
            formats: list[str]) -> tuple[float, float, dict]:
    """Setup seconds (untimed figure), the baseline's seconds and each format's, in one project."""
    began = time.perf_counter()
    sequence = SequenceInfo("clip.mp4", args.frames, width, height, 30.0)  # exports never read the video
    with Project.create(folder / "bench.roadlabel", sequence) as project:
        fill_project(project, args.frames, args.objects, width, height)
        setup_s = time.perf_counter() - began
        baseline = timed(lambda: read_all(project))
        return setup_s, baseline, {fmt: timed(lambda fmt=fmt: export_any(fmt, project, folder / f"out_{fmt}"))
                                   for fmt in formats}


def measure_lanes(args: argparse.Namespace, folder: Path, width: int, height: int,
                  formats: list[str]) -> tuple[float, dict]:
    """Setup seconds of the lanes project, and the child runs' figures on it."""
    began = time.perf_counter()
    project_folder = folder / "lanes.roadlabel"
    with Project.create(project_folder, SequenceInfo("clip.mp4", args.lane_frames, width, height, 30.0)) as project:
        fill_lanes(project, args.lane_frames, args.lanes, width, height)
    return time.perf_counter() - began, peaks(project_folder, folder / "lanes_out", formats)


def fill_lanes(project: Project, frames: int, lanes: int, width: int, height: int) -> None:
    """``lanes`` lane lines side by side across the image on every frame, drifting a little from frame to frame."""
    tracks = [project.add_track("lane-line").id for _ in range(lanes)]
    with project.group("bulk"):
        for frame in range(frames):
            for index, track_id in enumerate(tracks):
                x = width * (0.05 + 0.85 * index / lanes) + (frame % 7) * width / 640
                project.set_state(track_id, frame, make_geometry("polyline", lane_xy(x, width, height)),
                                  source=Source.PROPAGATED)


def peaks(project: Path, out: Path, formats: list[str]) -> dict[str, dict | None]:
    """The child runs' {"seconds", "peak_rss_mb"} (None: failed) for "read" (the baseline), the checks and each
    format."""
    out.mkdir(exist_ok=True)
    return {work: measure_child(project, work, out / f"out_{work}") for work in ["read", CHECKS, *formats]}


def memory_figures(runs: dict[str, dict | None]) -> tuple[dict, dict]:
    """Peak MB and its ratio to the baseline's, by run (the baseline left out); None where a run failed."""
    baseline = runs["read"]["peak_rss_mb"]
    peak_mb = {work: run and run["peak_rss_mb"] for work, run in runs.items() if work != "read"}
    return peak_mb, {work: peak and round(peak / baseline, 2) for work, peak in peak_mb.items()}


def lanes_figures(args: argparse.Namespace, runs: dict[str, dict | None]) -> dict:
    baseline_s = runs["read"]["seconds"]
    seconds = {work: run and run["seconds"] for work, run in runs.items() if work != "read"}
    peak_mb, rss_ratios = memory_figures(runs)
    return {"lanes": args.lanes, "frames": args.lane_frames, "seconds": seconds, "baseline_s": baseline_s,
            "ratios": {work: value and round(value / max(baseline_s, 0.01), 2) for work, value in seconds.items()},
            "peak_rss_mb": peak_mb, "rss_ratios": rss_ratios, "baseline_rss_mb": runs["read"]["peak_rss_mb"]}


def print_lanes(args: argparse.Namespace, runs: dict[str, dict | None], setup_s: float) -> None:
    figures = lanes_figures(args, runs)
    print(f"\n{args.lanes} lane lines x {args.lane_frames} frames ({args.lanes * args.lane_frames:,} states); "
          f"setup {setup_s:.0f} s, untimed; each run in a child process")
    print(f"{'run':<10} {'seconds':>8} {'x baseline':>10} {'peak MB':>8} {'x baseline':>10}")
    print(f"{'baseline':<10} {figures['baseline_s']:>8.2f} {1:>10.1f} {figures['baseline_rss_mb']:>8.0f} {1:>10.1f}")
    for work, peak in figures["peak_rss_mb"].items():
        seconds, ratio = figures["seconds"][work], figures["ratios"][work]
        print(f"{work:<10} {'failed' if seconds is None else f'{seconds:.2f}':>8} {_ratio(ratio):>10} "
              f"{_peak(peak):>8} {_ratio(figures['rss_ratios'][work]):>10}")


def _peak(megabytes: float | None) -> str:
    return "failed" if megabytes is None else f"{megabytes:.0f}"


def _ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1f}"


def read_all(project: Project) -> int:
    return sum(1 for _ in project.store.iter_objects())


def timed(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
