"""Stepping and playing a long annotated video in a real napari viewer: the frames alone, today's display
(every layer live) and ours (the edited layer live, the rest in one overlay), interleaved in one process.

Run under Xvfb (napari needs an OpenGL context; see "Running napari headless" in the design notes):

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/bench_stepping.py \\
        [--frames 20000] [--objects 20] [--steps 300] [--plain-full-frames 2000] [--size 640x360] [--play-s 4]

It writes synthetic mp4v videos into a temporary folder and a project over the
long one with ``--objects`` tracks (lane lines, traffic-light boxes, crosswalk
polygons) holding a propagated state on every frame (setup, not timed).  Two
``napari.Viewer(show=True)`` of the same size each open a Workspace on that
project: ``display="layers"``, today's display, where every element and helper
layer is a live napari layer refilled on each step, with vispy as it comes (its
meshes relink their shader program on each refill: vispy #2568); and
``display="overlay"``, ours, with vispy_fixes installed.  The frames alone are
ours with every annotation layer hidden.  The three take turns in blocks of
``BLOCK`` steps over the same frames, so the machine's load drifts over all
three alike.

A step is ``viewer.dims.set_current_step(0, t)`` to the end of the paint:
``QApplication.processEvents()`` (napari's slicing, our refill, the canvas
redraw), then ``glFinish``.  Shader builds are GL program links counted during
the steps.  Playback is the tool's player asked for 25 fps for ``--play-s``
seconds, with annotations and with the frames alone, and on the bundled sample
clip (the demo project, all its annotations): the rate is frames shown per
second of wall clock.  Load is the time from adding the layers (project and
frames already open) until the first frame is drawn.  Also, as before: ours on
a 200-frame project with the same objects per frame (the step cost must not
grow with the sequence), and napari's plain approach (one Shapes layer holding
every frame's shapes as (t, y, x)).  An untimed warm-up comes first.  The last
printed line is one JSON object with every figure.  Nothing is asserted.
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
from qtpy.QtCore import QEventLoop, QTimer
from qtpy.QtWidgets import QApplication

from napari_roadlabel._napari.demo import prepare_demo_project
from napari_roadlabel._napari.display import LAYERS, OVERLAY
from napari_roadlabel._napari.playback import Player
from napari_roadlabel._napari.vispy_fixes import count_program_links, install, vispy_as_it_comes
from napari_roadlabel._napari.workspace import Workspace
from napari_roadlabel.core import Project, Source, box, default_taxonomy, make_geometry
from napari_roadlabel.io.frames import open_frames
from napari_roadlabel.io.projects import create_project, open_project_frames

SMALL_FRAMES = 200
WARM_UP_STEPS = 20
WINDOW = (1100, 650)  # logical pixels, about napari's default window here; the canvas is this less the panels
LOAD_GOAL_S = 1.0
STEP_RATIO_GOAL = 1.5  # step p95 against the frames alone
BEFORE_DRAW_GOAL_MS = 20.0  # the earlier goal for the part of a step before the redraw (our refill included)
PLAY_FPS = 25
PLAY_RATIO_GOAL = 0.9  # playback rate against the frames alone
BLOCK = 20  # steps per turn of each display
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
    parser.add_argument("--play-s", type=float, default=4.0, help="seconds each playback is measured for")
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


def painted(viewer) -> None:
    """Let Qt paint the canvas, then wait for the GPU (here Mesa's software renderer) to finish it."""
    settle()
    viewer.window._qt_viewer.canvas._scene_canvas.context.finish()  # private: glFinish on napari's canvas


def close_viewer(viewer) -> None:
    viewer.close()
    settle()
    gc.collect()


def step_range(frames: int, steps: int) -> range:
    """Consecutive frames to step to: from the middle, or from 0 when the sequence is short."""
    start = max(0, min(frames // 2, frames - 1 - steps))
    return range(start + 1, min(start + 1 + steps, frames))


def timed_steps(viewer, frames: range) -> dict:
    """Milliseconds per step onto each of ``frames`` (after an untimed jump to the one before the first), the part
    of each spent before the redraw (napari's slicing and our refill), and the GL program links."""
    viewer.dims.set_current_step(0, frames.start - 1)
    painted(viewer)
    timings, before_draw = [], []
    with count_program_links() as links:
        for frame in frames:
            began = time.perf_counter()
            viewer.dims.set_current_step(0, frame)
            stepped = time.perf_counter()
            painted(viewer)
            timings.append((time.perf_counter() - began) * 1000)
            before_draw.append((stepped - began) * 1000)
    return {"steps_ms": timings, "before_draw_ms": before_draw, "links": links.count}


def hidden_annotations(viewer, frames_layer):
    """Every layer but the frames hidden (the frames alone); returns a function that shows them again."""
    shown = [layer for layer in viewer.layers if layer is not frames_layer and layer.visible]
    for layer in shown:
        layer.visible = False
    settle()

    def show_again() -> None:
        for layer in shown:
            layer.visible = True
        settle()
    return show_again


# ---------------------------------------------------------- the runs


def open_workspace(folder: Path, display: str) -> tuple:
    """A viewer and a Workspace on the project in ``folder``, with the Lanes layer picked for editing; also the
    seconds until its first frame was drawn."""
    project = Project.open(folder)
    frames = open_project_frames(project)
    viewer = new_viewer()
    began = time.perf_counter()
    workspace = Workspace(viewer, project, frames, display=display)
    painted(viewer)
    load = time.perf_counter() - began
    lanes = workspace.layer_named("Lanes")
    if lanes is not None:  # the annotator edits the lanes: the live layer with the most objects
        viewer.layers.selection.active = lanes
        painted(viewer)
    return viewer, workspace, load


def run_interleaved(folder: Path, steps: int, play_s: float) -> dict:
    """The frames alone, today's display and ours, in turns of BLOCK steps over the same frames, then playing."""
    viewer, ours, load = open_workspace(folder, OVERLAY)  # first: its load is timed with no other window open
    with vispy_as_it_comes():
        today_viewer, today, _ = open_workspace(folder, LAYERS)
    frames = step_range(len(ours.frames), steps)
    runs = {name: {"steps_ms": [], "before_draw_ms": [], "links": 0} for name in ("image_only", "today", "ours")}
    for first in range(frames.start, frames.stop, BLOCK):
        block = range(first, min(first + BLOCK, frames.stop))
        show_again = hidden_annotations(viewer, ours.image_layer)
        add_to(runs["image_only"], timed_steps(viewer, block))
        show_again()
        with vispy_as_it_comes():
            add_to(runs["today"], timed_steps(today_viewer, block))
        add_to(runs["ours"], timed_steps(viewer, block))
    runs["ours"].update(load_s=load, canvas=canvas_size(viewer), shapes=shown_items(ours))
    runs["today"].update(canvas=canvas_size(today_viewer), shapes=shown_items(today))
    runs["image_only"].update(canvas=canvas_size(viewer), shapes=0)
    with vispy_as_it_comes():
        runs["today"]["play_fps"] = played_fps(today, play_s)
    runs["ours"]["play_fps"] = played_fps(ours, play_s)
    show_again = hidden_annotations(viewer, ours.image_layer)
    runs["image_only"]["play_fps"] = played_fps(ours, play_s)
    show_again()
    for workspace, shown_viewer in ((today, today_viewer), (ours, viewer)):
        workspace.close()
        close_viewer(shown_viewer)
    return runs


def add_to(run: dict, block: dict) -> None:
    run["steps_ms"] += block["steps_ms"]
    run["before_draw_ms"] += block["before_draw_ms"]
    run["links"] += block["links"]


def shown_items(workspace) -> int:
    """Objects and helper items shown on the current frame, live or in the overlay."""
    return sum(len(workspace.display.content(layer) or ()) for layer in workspace.viewer.layers)


def played_fps(workspace, seconds: float) -> float:
    """Frames shown per second while the tool's player plays at PLAY_FPS for ``seconds`` (from the middle)."""
    workspace.go_to(len(workspace.frames) // 3)
    painted(workspace.viewer)
    player = Player(workspace, lambda after, until: None)  # no stops: the rate is what is measured here
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    player.play(PLAY_FPS)
    loop.exec()
    player.stop()
    return round(player.rate[0], 2)


def run_ours(folder: Path, steps: int) -> dict:
    """Load seconds and step timings of our display on the project in ``folder``."""
    viewer, workspace, load = open_workspace(folder, OVERLAY)
    run = timed_steps(viewer, step_range(len(workspace.frames), steps))
    run.update(load_s=load, shapes=shown_items(workspace), canvas=canvas_size(viewer))
    workspace.close()
    close_viewer(viewer)
    return run


def run_sample_clip(out: Path, play_s: float) -> float:
    """Playback rate on the bundled sample clip with all its annotations (the demo project)."""
    viewer, workspace, _ = open_workspace(prepare_demo_project(out), OVERLAY)
    viewer.reset_view()
    rate = played_fps(workspace, play_s)
    workspace.close()
    close_viewer(viewer)
    return rate


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
    painted(viewer)
    load = time.perf_counter() - began
    run = timed_steps(viewer, step_range(len(frames), steps))
    run.update(load_s=load, shapes=len(shapes[0]) if shapes else 0, canvas=canvas_size(viewer))
    close_viewer(viewer)
    frames.close()
    return run


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
    install()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_inputs(Path(tmp), args)
        plain_paths = plain_shapes(args.frames, 1, *size)
        plain_full = plain_shapes(args.plain_full_frames, args.objects, *size)
        setup_s = time.perf_counter() - began
        run_ours(paths["small_project"], WARM_UP_STEPS)  # untimed: imports, fonts and caches of the process
        runs = run_interleaved(paths["large_project"], args.steps, args.play_s)
        runs.update({
            "ours_small": run_ours(paths["small_project"], args.steps),
            "plain_paths": run_plain(paths["large"], plain_paths, args.steps),
            "plain_full": run_plain(paths["plain_full"], plain_full, args.steps),
        })
        sample_fps = run_sample_clip(Path(tmp), args.play_s)
    results = summarize(args, runs, sample_fps, setup_s, time.perf_counter() - began)
    print_table(args, runs, results)
    print(json.dumps(results))


def summarize(args: argparse.Namespace, runs: dict, sample_fps: float, setup_s: float, total_s: float) -> dict:
    figures = {name: percentiles(run["steps_ms"]) for name, run in runs.items()}
    ours, small, today, image = (figures[name] for name in ("ours", "ours_small", "today", "image_only"))
    before_draw = {f"{name}_before_draw_{level}_ms": value for name, run in runs.items()
                   for level, value in zip(("p50", "p95"), percentiles(run["before_draw_ms"]), strict=True)}
    per_step = {name: round(run["links"] / len(run["steps_ms"]), 2) for name, run in runs.items()}
    loads = {name: round(runs[name]["load_s"], 3) for name in ("ours", "plain_paths", "plain_full")}
    play = {name: runs[name]["play_fps"] for name in ("ours", "today", "image_only")}
    step_ratio = round(ours[1] / image[1], 2)
    play_ratio = round(play["ours"] / play["image_only"], 2) if play["image_only"] else 0.0
    return {
        "frames": args.frames, "objects": args.objects, "steps": len(runs["ours"]["steps_ms"]), "block": BLOCK,
        "size": f"{args.width}x{args.height}", "canvas": runs["ours"]["canvas"],
        "ours_load_s": loads["ours"], "ours_step_p50_ms": ours[0], "ours_step_p95_ms": ours[1],
        "ours_small_frames": SMALL_FRAMES, "ours_small_step_p50_ms": small[0], "ours_small_step_p95_ms": small[1],
        "today_step_p50_ms": today[0], "today_step_p95_ms": today[1],
        "plain_paths_load_s": loads["plain_paths"], "plain_paths_step_p50_ms": figures["plain_paths"][0],
        "plain_paths_step_p95_ms": figures["plain_paths"][1],
        "plain_full_frames": args.plain_full_frames, "plain_full_shapes": runs["plain_full"]["shapes"],
        "plain_full_load_s": loads["plain_full"], "plain_full_step_p50_ms": figures["plain_full"][0],
        "plain_full_step_p95_ms": figures["plain_full"][1],
        "image_only_step_p50_ms": image[0], "image_only_step_p95_ms": image[1],
        "step_p95_ratio_to_image_only": step_ratio,
        "today_step_p95_ratio_to_image_only": round(today[1] / image[1], 2),
        "step_ratio_large_vs_small": round(ours[0] / small[0], 2),
        "load_ratio_plain_vs_ours": round(loads["plain_paths"] / loads["ours"], 2),
        "shader_builds_per_step": per_step["ours"], "today_shader_builds_per_step": per_step["today"],
        "play_requested_fps": PLAY_FPS, "play_fps_ours": play["ours"], "play_fps_image_only": play["image_only"],
        "play_fps_today": play["today"], "play_ratio_to_image_only": play_ratio, "play_fps_sample_clip": sample_fps,
        "meets_step_goal": step_ratio <= STEP_RATIO_GOAL,
        "meets_play_goal": play_ratio >= PLAY_RATIO_GOAL and sample_fps >= PLAY_FPS,
        "meets_load_goal": loads["ours"] <= LOAD_GOAL_S,
        **before_draw, "meets_step_goal_before_draw": before_draw["ours_before_draw_p95_ms"] <= BEFORE_DRAW_GOAL_MS,
        "setup_s": round(setup_s, 1), "total_s": round(total_s, 1),
    }


def print_table(args: argparse.Namespace, runs: dict, results: dict) -> None:
    rows = [
        ("frames alone (floor)", args.frames, "annotation layers hidden", "image_only"),
        ("ours (edited layer+overlay)", args.frames, "interleaved with the two above and below", "ours"),
        ("today (every layer live)", args.frames, "vispy as it comes", "today"),
        ("ours, small project", SMALL_FRAMES, "", "ours_small"),
        ("plain: one path per frame", args.frames, "", "plain_paths"),
        ("plain: every object", args.plain_full_frames, "", "plain_full"),
    ]
    print(f"{args.objects} objects per frame, {args.width}x{args.height} video, canvas {results['canvas']} px "
          f"(window {WINDOW[0]}x{WINDOW[1]}); setup (videos, projects, plain data) {results['setup_s']} s, untimed")
    print(f"{'run':<29} {'frames':>6} {'items':>7} {'steps':>5} {'p50 ms':>6} {'p95 ms':>6} {'before draw':>11} "
          f"{'links/step':>10}   note")
    for label, frames, note, name in rows:
        run = runs[name]
        p50, p95 = percentiles(run["steps_ms"])
        print(f"{label:<29} {frames:>6} {run['shapes']:>7,} {len(run['steps_ms']):>5} {p50:>6.1f} {p95:>6.1f} "
              f"{results[name + '_before_draw_p50_ms']:>11.1f} {run['links'] / len(run['steps_ms']):>10.2f}   {note}")
    print("(a step: set_current_step to the end of the paint, glFinish included; before draw: p50 ms spent in "
          "set_current_step; links: GL shader programs linked per step)")
    print(f"step p95 ours / frames alone: {results['step_p95_ratio_to_image_only']:.2f} (goal <= {STEP_RATIO_GOAL}: "
          f"{'met' if results['meets_step_goal'] else 'NOT met'}); today / frames alone: "
          f"{results['today_step_p95_ratio_to_image_only']:.2f}")
    print(f"playing at {PLAY_FPS} fps: ours {results['play_fps_ours']} fps, frames alone "
          f"{results['play_fps_image_only']} fps, today {results['play_fps_today']} fps; ratio ours / frames alone "
          f"{results['play_ratio_to_image_only']:.2f} (goal >= {PLAY_RATIO_GOAL}); sample clip "
          f"{results['play_fps_sample_clip']} fps (goal >= {PLAY_FPS}): "
          f"{'met' if results['meets_play_goal'] else 'NOT met'}")
    print(f"load at {args.frames} frames: {results['ours_load_s']:.2f} s (goal <= {LOAD_GOAL_S:g} s: "
          f"{'met' if results['meets_load_goal'] else 'NOT met'}); step p50 {args.frames} / {SMALL_FRAMES} frames: "
          f"{results['step_ratio_large_vs_small']:.2f} (goal: about 1)")
    print(f"whole run {results['total_s']} s")


if __name__ == "__main__":
    main()
