"""Stepping through a long annotated video in a real napari viewer: our Workspace against one plain Shapes layer.

Run under Xvfb (napari needs an OpenGL context; see "Running napari headless" in the design notes):

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/bench_stepping.py \\
        [--frames 20000] [--objects 20] [--steps 300] [--plain-full-frames 2000] [--size 640x360]

It writes synthetic mp4v videos into a temporary folder and a project over the
long one with ``--objects`` tracks (lane lines, traffic-light boxes, crosswalk
polygons) holding a state on every frame, written in one group (setup, not
timed).  Then, each in a fresh ``napari.Viewer(show=True)`` of the same size,
with the same frames as an image layer underneath:

* ours: ``Workspace(viewer, project, frames)``, whose element layers hold only
  the current frame's objects and are refilled on each step; also on a
  200-frame project with the same objects per frame (the "small" figures);
* plain_paths: napari's plain approach, one Shapes layer holding every frame as
  (t, y, x) shapes, with one path per frame (the issue's quoted measurement);
* plain_full: the same plain layer holding all the objects of every frame, on
  ``--plain-full-frames`` frames only (napari gets slow to load it);
* image: the frames alone, no annotation layer: the floor under every step.

Load is the time from adding the layers (project and frames already open) until
the first frame is drawn.  A step is ``viewer.dims.set_current_step(0, t)`` to
the next frame plus ``QApplication.processEvents()``, so napari's slicing and
the canvas redraw are counted; ``--steps`` consecutive steps from the middle of
the sequence (fewer on a shorter one).  The plain layers draw no text labels
and one colour per shape; ours draws a label per object and styles by
attribute, so the comparison favours the plain layer.  An untimed warm-up run
comes first; its Workspace installs ``_napari/vispy_fixes`` (meshes keep their GL
programs across refills, vispy #2568), so every run draws with it, the plain ones
too.  Each run also counts the GL programs linked (shaders built) per step.  The
last printed line is one JSON object with every figure.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path

import napari
import numpy as np
from bench_frames import write_video  # this folder is on sys.path when the script runs
from qtpy.QtWidgets import QApplication

from napari_roadlabel._napari.vispy_fixes import count_program_links
from napari_roadlabel._napari.workspace import Workspace
from napari_roadlabel.core import Project, Source, box, default_taxonomy, make_geometry
from napari_roadlabel.io.frames import open_frames
from napari_roadlabel.io.projects import create_project, open_project_frames

SMALL_FRAMES = 200
WARM_UP_STEPS = 20
WINDOW = (1100, 650)  # logical pixels, about napari's default window here; the canvas is this less the panels
LOAD_GOAL_S = 1.0
STEP_GOAL_MS = 20.0
KINDS = ("lane-line", "lane-line", "lane-line", "traffic-light", "crosswalk")  # object i is KINDS[i % 5]
SHAPE_TYPES = {"lane-line": "path", "traffic-light": "rectangle", "crosswalk": "polygon"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000, help="frames in the long video and project")
    parser.add_argument("--objects", type=int, default=20, help="objects on every frame")
    parser.add_argument("--steps", type=int, default=300, help="consecutive steps timed in each run")
    parser.add_argument("--plain-full-frames", type=int, default=2_000,
                        help="frames held by the plain layer with every object (its load grows with them)")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the generated videos")
    args = parser.parse_args()
    args.width, args.height = (int(part) for part in args.size.lower().split("x"))
    args.plain_full_frames = min(args.plain_full_frames, args.frames)
    return args


# ---------------------------------------------------------- the objects, as x, y pixels inside the image


def object_xy(frame: int, index: int, count: int, width: int, height: int) -> tuple[str, np.ndarray]:
    """Class and corner / vertex points of object ``index`` on ``frame``; it drifts a little from frame to frame."""
    kind = KINDS[index % len(KINDS)]
    x = width * (0.05 + 0.85 * index / max(count, 1)) + (frame % 7) * width / 640
    if kind == "lane-line":
        return kind, lane_xy(x, width, height)
    if kind == "traffic-light":
        x0, y0, x1, y1 = x, height * 0.05, x + width * 0.02, height * 0.12
    else:
        x0, y0, x1, y1 = x, height * 0.8, x + width * 0.05, height * 0.9
    return kind, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def lane_xy(x: float, width: int, height: int) -> np.ndarray:
    """A lane line from (x, near the bottom) up the image, towards the middle."""
    xs = x + (width / 2 - x) * np.array([0.0, 0.2, 0.4, 0.55])
    return np.column_stack([xs, height * np.array([0.95, 0.8, 0.65, 0.5])])


def to_geometry(kind: str, points: np.ndarray):
    if kind == "traffic-light":
        return box(*points[0], *points[2])
    return make_geometry("polyline" if kind == "lane-line" else "polygon", points)


def fill_project(project: Project, frames: int, objects: int, width: int, height: int) -> None:
    tracks = [project.add_track(KINDS[index % len(KINDS)]).id for index in range(objects)]
    with project.group("bulk"):
        for frame in range(frames):
            for index, track_id in enumerate(tracks):
                geometry = to_geometry(*object_xy(frame, index, objects, width, height))
                project.set_state(track_id, frame, geometry, source=Source.PROPAGATED)


def plain_shapes(frames: int, objects: int, width: int, height: int) -> tuple[list, list[str], list[str]]:
    """(t, y, x) arrays, napari shape types and edge colours of ``objects`` objects on each of ``frames`` frames."""
    taxonomy = default_taxonomy()
    data, shape_types, colors = [], [], []
    for frame in range(frames):
        for index in range(objects):
            kind, points = object_xy(frame, index, objects, width, height)
            data.append(np.column_stack([np.full(len(points), frame), points[:, ::-1]]))
            shape_types.append(SHAPE_TYPES[kind])
            colors.append(taxonomy[kind].color)
    return data, shape_types, colors


# ---------------------------------------------------------- the viewer


def settle() -> None:
    QApplication.processEvents()


def new_viewer():
    viewer = napari.Viewer(show=True)
    viewer.window.resize(*WINDOW)
    for _ in range(3):
        settle()
    return viewer


def canvas_size(viewer) -> str:
    """Width x height of the canvas in pixels: what the software renderer fills on every step."""
    height, width = viewer.window._qt_viewer.canvas.size  # private, but only read for the report
    return f"{width}x{height}"


def close_viewer(viewer) -> None:
    viewer.close()
    settle()
    gc.collect()


def step_range(frames: int, steps: int) -> range:
    """Consecutive frames to step to: from the middle, or from 0 when the sequence is short."""
    start = max(0, min(frames // 2, frames - 1 - steps))
    return range(start + 1, min(start + 1 + steps, frames))


def timed_steps(viewer, frames: range) -> tuple[list[float], list[float], float]:
    """Milliseconds per step onto each of ``frames``, after an untimed jump to the one before the first.

    Also the part of each step spent before the redraw: napari's slicing and, for ours, the refill; and the
    GL programs linked (shaders built) per step, several ms each under a software renderer.
    """
    viewer.dims.set_current_step(0, frames.start - 1)
    settle()
    timings, before_draw = [], []
    with count_program_links() as links:
        for frame in frames:
            began = time.perf_counter()
            viewer.dims.set_current_step(0, frame)
            stepped = time.perf_counter()
            settle()
            timings.append((time.perf_counter() - began) * 1000)
            before_draw.append((stepped - began) * 1000)
    return timings, before_draw, links.count / len(frames)


# ---------------------------------------------------------- the runs


def run_ours(folder: Path, steps: int) -> dict:
    """Load seconds and step timings of our Workspace on the project in ``folder``."""
    project = Project.open(folder)
    frames = open_project_frames(project)
    viewer = new_viewer()
    began = time.perf_counter()
    workspace = Workspace(viewer, project, frames)
    settle()
    load = time.perf_counter() - began
    timings, before_draw, links = timed_steps(viewer, step_range(len(frames), steps))
    held = sum(len(layer.data) for layer in workspace.layers.values())
    canvas = canvas_size(viewer)
    workspace.close()
    close_viewer(viewer)
    return {"load_s": load, "steps_ms": timings, "before_draw_ms": before_draw, "links_per_step": links,
            "shapes": held, "canvas": canvas}


def run_plain(video: Path, shapes: tuple[list, list[str], list[str]] | None, steps: int) -> dict:
    """The frames and, when ``shapes`` is given, one Shapes layer holding every frame's shapes as (t, y, x)."""
    frames = open_frames(video)
    viewer = new_viewer()
    began = time.perf_counter()
    viewer.add_image(frames.as_array(), name=video.stem, rgb=True)
    if shapes is not None:
        data, shape_types, colors = shapes
        viewer.add_shapes(data, shape_type=shape_types, edge_color=colors, face_color="transparent",
                          edge_width=3, name="Annotations")
    viewer.dims.set_current_step(0, 0)
    settle()
    load = time.perf_counter() - began
    timings, before_draw, links = timed_steps(viewer, step_range(len(frames), steps))
    canvas = canvas_size(viewer)
    close_viewer(viewer)
    frames.close()
    return {"load_s": load, "steps_ms": timings, "before_draw_ms": before_draw, "links_per_step": links,
            "shapes": len(shapes[0]) if shapes else 0, "canvas": canvas}


def make_inputs(folder: Path, args: argparse.Namespace) -> dict[str, Path]:
    """Videos of each length used, and projects over the long and the 200-frame one."""
    size = (args.width, args.height)
    lengths = {"large": args.frames, "small": SMALL_FRAMES, "plain_full": args.plain_full_frames}
    paths = {}
    for name, frames in lengths.items():
        paths[name] = folder / f"clip{frames}.mp4"
        if not paths[name].exists():
            write_video(paths[name], frames, *size)
    for name in ("large", "small"):
        paths[f"{name}_project"] = folder / f"{name}.roadlabel"
        with create_project(paths[f"{name}_project"], paths[name]) as project:
            fill_project(project, lengths[name], args.objects, *size)
    return paths


def percentiles(timings: list[float]) -> tuple[float, float]:
    return round(float(np.percentile(timings, 50)), 2), round(float(np.percentile(timings, 95)), 2)


def main() -> None:
    args = parse_args()
    size = (args.width, args.height)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_inputs(Path(tmp), args)
        plain_paths = plain_shapes(args.frames, 1, *size)
        plain_full = plain_shapes(args.plain_full_frames, args.objects, *size)
        setup_s = time.perf_counter() - began
        run_ours(paths["small_project"], WARM_UP_STEPS)  # untimed: imports, fonts and caches of the process
        runs = {
            "image_only": run_plain(paths["large"], None, args.steps),
            "ours": run_ours(paths["large_project"], args.steps),
            "ours_small": run_ours(paths["small_project"], args.steps),
            "plain_paths": run_plain(paths["large"], plain_paths, args.steps),
            "plain_full": run_plain(paths["plain_full"], plain_full, args.steps),
        }
    results = summarize(args, runs, setup_s, time.perf_counter() - began)
    print_table(args, runs, results)
    print(json.dumps(results))


def summarize(args: argparse.Namespace, runs: dict, setup_s: float, total_s: float) -> dict:
    figures = {name: (round(run["load_s"], 3), *percentiles(run["steps_ms"])) for name, run in runs.items()}
    ours, small, paths, full, image = (figures[name] for name in ("ours", "ours_small", "plain_paths",
                                                                  "plain_full", "image_only"))
    before_draw = {f"{name}_before_draw_{level}_ms": value for name, run in runs.items()
                   for level, value in zip(("p50", "p95"), percentiles(run["before_draw_ms"]), strict=True)}
    links = {f"{name}_links_per_step": round(run["links_per_step"], 2) for name, run in runs.items()}
    return {
        "frames": args.frames, "objects": args.objects, "steps": len(runs["ours"]["steps_ms"]),
        "size": f"{args.width}x{args.height}", "canvas": runs["ours"]["canvas"],
        "ours_load_s": ours[0], "ours_step_p50_ms": ours[1], "ours_step_p95_ms": ours[2],
        "ours_small_frames": SMALL_FRAMES, "ours_small_step_p50_ms": small[1], "ours_small_step_p95_ms": small[2],
        "plain_paths_load_s": paths[0], "plain_paths_step_p50_ms": paths[1], "plain_paths_step_p95_ms": paths[2],
        "plain_full_frames": args.plain_full_frames, "plain_full_shapes": runs["plain_full"]["shapes"],
        "plain_full_load_s": full[0], "plain_full_step_p50_ms": full[1], "plain_full_step_p95_ms": full[2],
        "image_only_step_p50_ms": image[1], "image_only_step_p95_ms": image[2],
        "step_ratio_large_vs_small": round(ours[1] / small[1], 2),
        "load_ratio_plain_vs_ours": round(paths[0] / ours[0], 2),
        "meets_load_goal": ours[0] <= LOAD_GOAL_S, "meets_step_goal": ours[2] <= STEP_GOAL_MS,
        **before_draw, **links, "meets_step_goal_before_draw": before_draw["ours_before_draw_p95_ms"] <= STEP_GOAL_MS,
        "setup_s": round(setup_s, 1), "total_s": round(total_s, 1),
    }


def print_table(args: argparse.Namespace, runs: dict, results: dict) -> None:
    rows = [
        ("ours (Workspace)", args.frames, "current frame's only", "ours"),
        ("ours, small project", SMALL_FRAMES, "current frame's only", "ours_small"),
        ("plain: one path per frame", args.frames, "", "plain_paths"),
        ("plain: every object", args.plain_full_frames, "", "plain_full"),
        ("frames alone (floor)", args.frames, "no annotation layer", "image_only"),
    ]
    print(f"{args.objects} objects per frame, {args.width}x{args.height} video, canvas {results['canvas']} px "
          f"(window {WINDOW[0]}x{WINDOW[1]}); setup (videos, projects, plain data) {results['setup_s']} s, untimed")
    print(f"{'run':<27} {'frames':>6} {'shapes held':>11} {'load s':>6} {'steps':>5} {'p50 ms':>6} {'p95 ms':>6} "
          f"{'before draw':>11} {'links/step':>10}   note")
    for label, frames, note, name in rows:
        run = runs[name]
        p50, p95 = percentiles(run["steps_ms"])
        print(f"{label:<27} {frames:>6} {run['shapes']:>11,} {run['load_s']:>6.2f} {len(run['steps_ms']):>5} "
              f"{p50:>6.1f} {p95:>6.1f} {results[name + '_before_draw_p50_ms']:>11.1f} "
              f"{run['links_per_step']:>10.2f}   {note}")
    print("(before draw: p50 ms of the step spent in set_current_step, before processEvents redraws the canvas; "
          "links/step: GL programs linked, i.e. shaders built, per step)")
    print(f"step p50 ratio {args.frames} / {SMALL_FRAMES} frames: {results['step_ratio_large_vs_small']:.2f};  "
          f"load plain paths / ours: {results['load_ratio_plain_vs_ours']:.2f}")
    print(f"goals: load <= {LOAD_GOAL_S:g} s: {'met' if results['meets_load_goal'] else 'NOT met'} "
          f"({results['ours_load_s']:.2f} s);  step p95 <= {STEP_GOAL_MS:g} ms: "
          f"{'met' if results['meets_step_goal'] else 'NOT met'} "
          f"({results['ours_step_p95_ms']:.1f} ms with the redraw; "
          f"{'met' if results['meets_step_goal_before_draw'] else 'NOT met'} "
          f"({results['ours_before_draw_p95_ms']:.1f} ms before it)")
    print(f"whole run {results['total_s']} s")


if __name__ == "__main__":
    main()
