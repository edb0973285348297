"""Relation ends over a long drive: the QA check ``relation-absent-end`` and the Alt-L walk, at the users' scale.

    python benchmarks/bench_relations.py [--frames 5000] [--lines 5] [--lights 3] [--vehicles 8]

A project (setup, untimed, built through the store a thousand frames per
group) has ``--lines`` lane lines, ``--lights`` traffic lights and
``--vehicles`` vehicles on every frame, every ``KEYFRAME_EVERY``-th state a
keyframe, the rest propagated.  The lines converge towards the horizon and
sway a little from frame to frame; on the middle ``INSERTED_SHARE`` of the
drive one more line runs between the last two, so the lane they make is absent
there.  Relations: each light governs a lane (one of them the interrupted
lane), and each lane follows the lane on its right, all over the whole drive.

Timed, in this process, after one untimed read to warm the database's pages:

- baseline: every state read once (``project.store.iter_objects()``);
- ``dangling_relations`` over the whole drive (what ``roadlabel qa`` runs for
  ``relation-absent-end``);
- ``last_frame_with`` (Alt-L) from frame 0 for a light and the first lane: a
  walk over the whole drive;
- the same for the interrupted lane from ``SHORT_WALK`` frames before it is
  interrupted: a short walk, which must stay quick too.

The default run takes about 5 s on a 2-core machine (the build 2-3 s).
Nothing is asserted; each figure is printed with its ratio to the baseline,
and the last printed line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_roadlabel.core import FrameState, Project, SequenceInfo, Source, box, make_geometry
from napari_roadlabel.core.annotations import RelationEnd
from napari_roadlabel.core.relations import dangling_relations, last_frame_with
from napari_roadlabel.core.taxonomy import Scope

WIDTH, HEIGHT = 1280, 720
KEYFRAME_EVERY = 30
GROUP_FRAMES = 1000  # frames written per group while building
INSERTED_SHARE = (0.4, 0.5)  # where in the drive the extra line runs
SHORT_WALK = 20  # frames the short Alt-L walk covers


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=5000, help="frames of the drive")
    parser.add_argument("--lines", type=int, default=5, help="lane lines on every frame")
    parser.add_argument("--lights", type=int, default=3, help="traffic lights on every frame, each governing a lane")
    parser.add_argument("--vehicles", type=int, default=8, help="vehicles on every frame")
    return parser.parse_args()


# ---------------------------------------------------------- the drive


def line(position: float, frame: int):
    """A lane line meeting the bottom row at ``position`` (0..1 of the width), converging to the horizon."""
    bottom = WIDTH * position + 6 * np.sin(frame / 50 + position)
    xs = bottom + (WIDTH / 2 - bottom) * np.array([0.0, 0.25, 0.5, 0.7])
    return make_geometry("polyline", np.column_stack([xs, HEIGHT * np.array([0.98, 0.8, 0.62, 0.5])]))


def positions(lines: int) -> list[float]:
    return [0.05 + 0.9 * index / (lines - 1) for index in range(lines)]


def build(folder: Path, args: argparse.Namespace) -> dict:
    """The drive, its tracks and relations; returns the ends the walks use."""
    frames = args.frames
    inserted = range(int(frames * INSERTED_SHARE[0]), int(frames * INSERTED_SHARE[1]))
    with Project.create(folder, SequenceInfo("drive.mp4", frames, WIDTH, HEIGHT, 30.0)) as project:
        store = project.store
        defaults = {name: project.taxonomy[name].defaults(Scope.FRAME)
                    for name in ("lane-line", "traffic-light", "vehicle")}
        at = positions(args.lines)
        lines = [project.add_track("lane-line").id for _ in at]
        extra = project.add_track("lane-line").id
        lights = [project.add_track("traffic-light").id for _ in range(args.lights)]
        vehicles = [project.add_track("vehicle").id for _ in range(args.vehicles)]

        def put(track_id: int, class_name: str, frame: int, geometry) -> None:
            source = Source.MANUAL if frame % KEYFRAME_EVERY == 0 else Source.PROPAGATED
            store.put_state(FrameState(track_id, frame, geometry, defaults[class_name], source,
                                       None if source is Source.MANUAL else 0.9))

        for first in range(0, frames, GROUP_FRAMES):
            with project.group("bulk"):
                for frame in range(first, min(first + GROUP_FRAMES, frames)):
                    for track_id, position in zip(lines, at, strict=True):
                        put(track_id, "lane-line", frame, line(position, frame))
                    if frame in inserted:
                        put(extra, "lane-line", frame, line((at[-2] + at[-1]) / 2, frame))
                    for index, track_id in enumerate(lights):
                        x = WIDTH * (0.3 + 0.15 * index)
                        put(track_id, "traffic-light", frame, box(x, 40, x + 20, 90))
                    for index, track_id in enumerate(vehicles):
                        x = WIDTH * (0.05 + 0.9 * index / max(1, len(vehicles))) + 3 * np.sin(frame / 30)
                        put(track_id, "vehicle", frame, box(x, 400, x + 80, 460))
        lanes = [RelationEnd.lane(left, right) for left, right in zip(lines, lines[1:], strict=False)]
        interrupted = lanes[-1]
        for index, light in enumerate(lights):
            governed = interrupted if index == 0 else lanes[index % len(lanes)]
            project.add_relation("governs", RelationEnd(light), governed, 0, frames - 1)
        for left, right in zip(lanes, lanes[1:], strict=False):
            project.add_relation("follows", left, right, 0, frames - 1)
        return {"light": RelationEnd(lights[0]), "first_lane": lanes[0], "interrupted": interrupted,
                "short_start": inserted.start - SHORT_WALK, "relations": len(project.relations()),
                "extra_frames": len(inserted)}


# ---------------------------------------------------------- timing


def timed(work) -> tuple[float, object]:
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def measure(folder: Path, drive: dict) -> dict:
    with Project.open(folder, read_only=True) as project:
        sum(1 for _ in project.store.iter_objects())  # warm the database's pages
        read_s, states = timed(lambda: sum(1 for _ in project.store.iter_objects()))
        dangling_s, dangling = timed(lambda: dangling_relations(project))
        long_s, long_last = timed(lambda: last_frame_with(project, drive["light"], drive["first_lane"], 0))
        short_s, short_last = timed(lambda: last_frame_with(project, drive["light"], drive["interrupted"],
                                                            drive["short_start"]))
    return {"states": states, "baseline_read_s": read_s, "dangling_s": dangling_s,
            "dangling_relations": len(dangling), "dangling_frames": sum(last - start + 1 for item in dangling
                                                                        for start, last in item.runs),
            "long_walk_s": long_s, "long_walk_frames": long_last + 1,
            "short_walk_s": short_s, "short_walk_frames": short_last - drive["short_start"] + 1}


def summarize(args: argparse.Namespace, drive: dict, figures: dict) -> dict:
    read_s = figures["baseline_read_s"]
    results = {"benchmark": "relations", "frames": args.frames, "lines": args.lines, "lights": args.lights,
               "vehicles": args.vehicles, "relations": drive["relations"], "states": figures["states"],
               "build_s": round(drive["build_s"], 1), "baseline_read_s": round(read_s, 3)}
    for step in ("dangling", "long_walk", "short_walk"):
        results[f"{step}_s"] = round(figures[f"{step}_s"], 3)
        results[f"{step}_ratio_read"] = round(figures[f"{step}_s"] / read_s, 2)
    results.update({key: figures[key] for key in ("dangling_relations", "dangling_frames", "long_walk_frames",
                                                  "short_walk_frames")})
    return results


def print_table(results: dict) -> None:
    print(f"{results['frames']:,} frames: {results['lines']} lane lines, {results['lights']} lights, "
          f"{results['vehicles']} vehicles ({results['states']:,} states), {results['relations']} relations over "
          f"the whole drive; built in {results['build_s']:.0f} s (untimed)")
    print(f"   {'step':<44} {'seconds':>8} {'x read':>7}   result")
    print(f"   {'baseline: read every state once':<44} {results['baseline_read_s']:>8.3f} {1:>7.2f}")
    rows = [("dangling", "dangling_relations, whole drive",
             f"{results['dangling_relations']} relations dangle on {results['dangling_frames']:,} frames"),
            ("long_walk", "Alt-L walk from frame 0",
             f"holds on {results['long_walk_frames']:,} frames"),
            ("short_walk", "Alt-L walk ending soon", f"holds on {results['short_walk_frames']} frames")]
    for step, label, note in rows:
        print(f"   {label:<44} {results[f'{step}_s']:>8.3f} {results[f'{step}_ratio_read']:>7.2f}   {note}")


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "drive"
        began = time.perf_counter()
        drive = build(folder, args)
        drive["build_s"] = time.perf_counter() - began
        figures = measure(folder, drive)
    results = summarize(args, drive, figures)
    print_table(results)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
