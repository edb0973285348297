"""QA over a long project: checks, agreement, report and accepting every frame, against reading every state once.

    python benchmarks/bench_qa.py [--frames 20000] [--objects 20] [--size 640x360] [--seed 0]

Two projects (setup, not timed) hold ``--objects`` tracks (lane lines, traffic
lights, crosswalks: bench_stepping's mix) with a state on every frame; in the
second each object is shifted by up to ``JITTER_PX`` in x and y (a seeded RNG),
so the agreement matches real pairs that differ.  Timed, in this order:

* baseline: every state read once through ``project.store.iter_objects()``,
  the floor under any pass over the whole sequence;
* checks: ``run_checks(project)`` with the default config;
* agreement: ``compare_projects(first, second)``: it reads both projects, so
  its floor is about twice the baseline;
* report: ``build_report(project, findings).to_html()``, no thumbnails;
* accept all: ``Review(project, "bench").accept_frames(range(frames))``, one
  transaction and one undo step.

Ratios are to the baseline, measured in the same run.  The last printed line
is one JSON object with the figures.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_stepping import KINDS, fill_project, object_xy, to_geometry  # this folder is on sys.path when run

from napari_roadlabel.core import Project, SequenceInfo, Source
from napari_roadlabel.qa.agreement import compare_projects
from napari_roadlabel.qa.checks import run_checks
from napari_roadlabel.qa.report import build_report
from napari_roadlabel.qa.review import Review

JITTER_PX = 2.0  # largest shift of an object of the second project, in x and in y


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--size", default="640x360", help="image size WxH")
    parser.add_argument("--seed", type=int, default=0, help="seed of the second project's jitter")
    return parser.parse_args()


def fill_jittered(project: Project, args: argparse.Namespace, rng: np.random.Generator) -> None:
    """bench_stepping's objects, each shifted by a uniform offset in [-JITTER_PX, JITTER_PX] on every frame."""
    tracks = [project.add_track(KINDS[index % len(KINDS)]).id for index in range(args.objects)]
    offsets = rng.uniform(-JITTER_PX, JITTER_PX, size=(args.frames, args.objects, 2))
    with project.group("bulk"):
        for frame in range(args.frames):
            for index, track_id in enumerate(tracks):
                kind, points = object_xy(frame, index, args.objects, args.width, args.height)
                project.set_state(track_id, frame, to_geometry(kind, points + offsets[frame, index]),
                                  source=Source.PROPAGATED)


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def read_all(project: Project) -> int:
    return sum(1 for _ in project.store.iter_objects())


def report_html(project: Project, findings: list) -> str:
    return build_report(project, findings).to_html()


def measure(first: Project, second: Project, frames: int) -> dict:
    """Every timing, and what each timed call produced."""
    baseline_s, states = timed(lambda: read_all(first))
    checks_s, findings = timed(lambda: run_checks(first))
    agreement_s, agreement = timed(lambda: compare_projects(first, second))
    report_s, html = timed(lambda: report_html(first, findings))
    accept_s, accepted = timed(lambda: Review(first, "bench").accept_frames(range(frames)))
    overall = agreement.to_dict()["overall"]
    return {"baseline_read_s": baseline_s, "states": states, "checks_s": checks_s, "findings": len(findings),
            "agreement_s": agreement_s, "culane_f1": overall["lanes"]["culane"]["f1"],
            "boxes_f1": overall["boxes"]["f1"], "report_s": report_s, "report_html_bytes": len(html.encode()),
            "accept_all_s": accept_s, "accepted": accepted, "undo_label": first.store.undo_label()}


def run(args: argparse.Namespace, folder: Path) -> tuple[float, dict]:
    """Setup seconds (untimed figure) and the measurements."""
    began = time.perf_counter()
    sequence = SequenceInfo("clip.mp4", args.frames, args.width, args.height, 30.0)  # QA never reads the video
    with Project.create(folder / "a.roadlabel", sequence) as first, \
            Project.create(folder / "b.roadlabel", sequence) as second:
        fill_project(first, args.frames, args.objects, args.width, args.height)
        fill_jittered(second, args, np.random.default_rng(args.seed))
        setup_s = time.perf_counter() - began
        return setup_s, measure(first, second, args.frames)


def summarize(args: argparse.Namespace, figures: dict) -> dict:
    base = figures["baseline_read_s"]
    return {"benchmark": "qa", "frames": args.frames, "objects_per_frame": args.objects, "size": args.size,
            "states": figures["states"], "baseline_read_s": round(base, 3),
            "checks_s": round(figures["checks_s"], 3), "checks_ratio": round(figures["checks_s"] / base, 2),
            "findings": figures["findings"], "agreement_s": round(figures["agreement_s"], 3),
            "agreement_ratio": round(figures["agreement_s"] / base, 2), "culane_f1": figures["culane_f1"],
            "boxes_f1": figures["boxes_f1"], "report_s": round(figures["report_s"], 3),
            "report_html_bytes": figures["report_html_bytes"], "accept_all_s": round(figures["accept_all_s"], 3),
            "accepted_frames": figures["accepted"]}


def print_table(results: dict, figures: dict, setup_s: float) -> None:
    base = figures["baseline_read_s"]
    print(f"{results['frames']} frames x {results['objects_per_frame']} objects ({results['states']:,} states), "
          f"{results['size']}; setup of two projects {setup_s:.0f} s, untimed")
    print(f"{'step':<35} {'seconds':>8} {'x baseline':>10}   result")
    rows = [
        ("baseline: iter_objects, every state", base, f"{results['states']:,} states read"),
        ("run_checks", figures["checks_s"], f"{results['findings']:,} findings"),
        ("compare_projects (reads both)", figures["agreement_s"],
         f"CULane F1 {_figure(results['culane_f1'])}, boxes F1 {_figure(results['boxes_f1'])}"),
        ("build_report + to_html", figures["report_s"], f"{results['report_html_bytes']:,} bytes of HTML"),
        ("accept_frames(every frame)", figures["accept_all_s"],
         f"{results['accepted_frames']:,} frames, undo step {figures['undo_label']!r}"),
    ]
    for label, seconds, note in rows:
        print(f"{label:<35} {seconds:>8.2f} {seconds / base:>10.1f}   {note}")


def _figure(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def main() -> None:
    args = parse_args()
    args.width, args.height = (int(part) for part in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        setup_s, figures = run(args, Path(tmp))
    results = summarize(args, figures)
    print_table(results, figures, setup_s)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
