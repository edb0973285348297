"""Export speed of every format: a long project with many objects on every frame, seconds per format.

    python benchmarks/bench_formats.py [--frames 20000] [--objects 20] [--size 640x360]

The project (setup, not timed) holds ``--objects`` tracks (lane lines, traffic
lights, crosswalks: bench_stepping's mix) with a state on every frame.  Timed:

* baseline: every state read once through ``project.store.iter_objects()``, the
  floor under any export of every frame;
* each format of the registry exported once into a temporary folder (mapping
  report included); masks, when the format exists, are reported apart (they
  draw every frame).

Goal: at most 10 s per format.  Ratios are to the baseline, measured in the
same run.  The last printed line is one JSON object with the figures (seconds
and ratios by format, baseline_s).  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_stepping import fill_project  # this folder is on sys.path when the script runs

from napari_roadlabel.core import Project, SequenceInfo
from napari_roadlabel.io.formats.registry import export_any, export_formats

GOAL_S = 10.0
SLOW_BY_NATURE = {"masks"}  # pictures of every frame: reported, not held to the goal


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--size", default="640x360", help="image size WxH")
    parser.add_argument("--formats", nargs="+", default=None, help="only these (default: every format)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    setup_s, baseline, measured = measure(args, width, height, args.formats or export_formats())
    seconds = {fmt: round(value, 2) for fmt, value in measured.items()}
    ratios = {fmt: round(value / baseline, 2) for fmt, value in measured.items()}
    print(f"{args.frames} frames x {args.objects} objects ({args.frames * args.objects:,} states), {width}x{height}; "
          f"setup {setup_s:.0f} s, untimed")
    print(f"{'format':<10} {'seconds':>8} {'x baseline':>10}  goal <= {GOAL_S:g} s")
    print(f"{'baseline':<10} {baseline:>8.1f} {1:>10.1f}  iter_objects, every state once")
    for fmt, value in seconds.items():
        verdict = "reported" if fmt in SLOW_BY_NATURE else ("met" if value <= GOAL_S else "NOT met")
        print(f"{fmt:<10} {value:>8.1f} {ratios[fmt]:>10.1f}  {verdict}")
    print(json.dumps({"frames": args.frames, "objects": args.objects, "size": args.size, "seconds": seconds,
                      "goal_s": GOAL_S, "all_met": all(value <= GOAL_S for fmt, value in seconds.items()
                                                       if fmt not in SLOW_BY_NATURE),
                      "baseline_s": round(baseline, 2), "ratios": ratios}))


def measure(args: argparse.Namespace, width: int, height: int, formats: list[str]) -> tuple[float, float, dict]:
    """Setup seconds (untimed figure), the baseline's seconds and each format's, in one project."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        sequence = SequenceInfo("clip.mp4", args.frames, width, height, 30.0)  # exports never read the video
        with Project.create(folder / "bench.roadlabel", sequence) as project:
            fill_project(project, args.frames, args.objects, width, height)
            setup_s = time.perf_counter() - began
            baseline = timed(lambda: read_all(project))
            return setup_s, baseline, {fmt: timed(lambda fmt=fmt: export_any(fmt, project, folder / f"out_{fmt}"))
                                       for fmt in formats}


def read_all(project: Project) -> int:
    return sum(1 for _ in project.store.iter_objects())


def timed(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
