"""Propagation: throughput against plain decoding, annotator effort against linear interpolation, drift on real footage.

    python benchmarks/bench_propagation.py [--effort-frames 90 300] [--throughput-frames 300]
                                           [--throughput-objects 1 20 100] [--skip-drift]

Nothing is asserted: each figure is printed beside its goal, and speeds as
ratios against a baseline measured in the same run.

Throughput: the sample generator renders a 960x540 clip (written as mp4v, read
back through ``open_frames`` as the tool does).  Beside it, once per run, plain
OpenCV decoding of the same file (``cv2.VideoCapture.read`` of every frame).
Propagation is timed with about 1, 20 and 100 objects per frame
(``--throughput-objects``): whole copies of the truth scene (about 11 objects
per frame: lanes, boxes, polygons), each copy shifted 4 px further right, or
one lane line when less than half a scene is asked for.  Each track gets
keyframes on its first and last frame, and flow propagation fills everything
between (both sweeps and the blend; writing to the store is not timed).
``throughput`` is the 20-object run (the scene twice), with the time per stage
of the engine (``result.timings``, in ms per frame of video; empty on an engine
that does not report it).  ``throughput_by_objects`` gives, per object count,
fps, ms per frame and share of decode speed; ``cost_flatness`` is ms per frame
with the most objects over ms per frame with the fewest.
Goals: propagation at least 50 % of decode speed (in frames of video per
second) with 20 objects, and a cost per frame nearly flat from 1 to 100
objects (flatness near 1).

Effort: a simulated annotator on sample clips with ground truth on every frame
(curves, camera shake, speed changes).  For each track it starts with keyframes
on the first and last frame it is visible, propagates, and while some frame's
shape is more than 3 px (mean distance, ``shape_distance.mean_distance``) from
the truth, or missing, adds a keyframe at the worst frame and propagates the two
gaps around it again.  Counted per track for linear interpolation (what CVAT
does) and for flow.  Goals: flow needs at most 0.3 of linear's keyframes, and
every unoccluded track needs only its first and last keyframe (the floor).
Flagged recall: after flow's first fill of each track (first and last keyframe
only), every propagated state is compared with the truth; a state more than
3 px off is bad.  ``flagged_recall`` is the share of bad states flagged for
review (``needs_review``), ``flagged_precision`` the share of flagged states
that are bad, ``share_flagged`` the share of all states flagged (each one an
annotator steps to: fewer at the same recall is better).  Goal: recall at least 0.8.

Drift: ``shared/data/udacity-lanelines/solidWhiteRight.mp4`` (real, 221 frames,
no ground truth).  Its two ego lanes are clicked on frame 0 (four points each,
snapped to the paint), propagated by flow to the last frame; the last frame's
result is then the only keyframe and flow carries it back to frame 0.  The gap
between the forward and backward lane on each frame, in px, is reported.
Goal: at most 3 px mean and 8 px max for both lanes (``drift_goal_met``).

The last printed line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from napari_roadlabel.core import Project, SequenceInfo, Source, make_geometry  # noqa: E402
from napari_roadlabel.core.errors import GeometryError  # noqa: E402
from napari_roadlabel.core.lanes import fit_lane, is_lane_class  # noqa: E402
from napari_roadlabel.core.snap import snap_to_paint  # noqa: E402
from napari_roadlabel.io.frames import open_frames  # noqa: E402
from napari_roadlabel.sample.config import RoadSceneConfig  # noqa: E402
from napari_roadlabel.sample.sequence import make_road_sequence, write_video  # noqa: E402
from napari_roadlabel.temporal.propagation import (  # noqa: E402
    compute_propagation,
    needs_review,
    plan_propagation,
    propagate,
)
from napari_roadlabel.temporal.shape_distance import mean_distance  # noqa: E402

DRIFT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "udacity-lanelines" / "solidWhiteRight.mp4"
EGO_LANE_CLICKS = {  # frame 0 of solidWhiteRight.mp4, near to far, (x, y); snapped to the paint before use
    "left": [(190, 514), (305, 432), (400, 365), (462, 320)],
    "right": [(838, 538), (700, 445), (590, 372), (500, 318)],
}
TOLERANCE_PX = 3.0
COPY_SHIFT_PX = 4.0
MAIN_OBJECTS = 20  # objects per frame of the main throughput figure
GOAL_DECODE_SHARE = 0.5
GOAL_KEYFRAME_RATIO = 0.3
GOAL_FLAGGED_RECALL = 0.8
GOAL_DRIFT_MEAN_PX = 3.0
GOAL_DRIFT_MAX_PX = 8.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--effort-frames", type=int, nargs="+", default=[90, 300], help="lengths of the effort clips")
    parser.add_argument("--throughput-frames", type=int, default=300)
    parser.add_argument("--throughput-objects", type=float, nargs="+", default=[1, MAIN_OBJECTS, 100],
                        help=f"objects per frame to time (about; {MAIN_OBJECTS} is always timed)")
    parser.add_argument("--skip-drift", action="store_true", help="leave out the real-footage drift run")
    return parser.parse_args()


# ------------------------------------------------------------------ throughput


def throughput(frame_count: int, objects_wanted: list[float], folder: Path) -> dict:
    """The main (20-object) figure, one row per object count, and how the cost per frame grows with objects."""
    config = RoadSceneConfig(frames=frame_count, width=960, height=540)
    truth = make_road_sequence(config)
    folder.mkdir(parents=True)
    video = folder / "clip.mp4"
    write_video(video, truth)
    decode_s = _decode_seconds(video)
    runs = {}
    for wanted in sorted({*objects_wanted, MAIN_OBJECTS}):
        selection = _selection(truth, wanted)
        runs[wanted] = _throughput_run(folder / f"objects-{wanted:g}", video, config, truth, selection, decode_s)
    rows = [{key: run[key] for key in ("objects_per_frame", "propagate_fps", "ms_per_frame", "share_of_decode")}
            for run in runs.values()]
    return {"throughput": runs[MAIN_OBJECTS], "throughput_by_objects": rows,
            "cost_flatness": round(rows[-1]["ms_per_frame"] / rows[0]["ms_per_frame"], 2)}


def _selection(truth, objects: float) -> list[tuple[object, float]]:
    """(truth track, shift in px) to key for about ``objects`` per frame: whole copies of the scene, each shifted
    ``COPY_SHIFT_PX`` further right, or the first lane line alone when less than half a scene is asked for."""
    copies = round(objects / (len(truth.states) / len(truth.frames)))
    if copies == 0:
        return [(next(track for track in truth.tracks if is_lane_class(track.class_name)), 0.0)]
    return [(track, copy * COPY_SHIFT_PX) for copy in range(copies) for track in truth.tracks]


def _throughput_run(folder: Path, video: Path, config: RoadSceneConfig, truth, selection, decode_s: float) -> dict:
    with _project(folder, video.name, config) as project:
        _add_truth_keyframes(project, truth, selection)
        plan = plan_propagation(project, method="flow")
        frames = open_frames(video)
        try:
            began = time.perf_counter()
            result = compute_propagation(plan, frames)
            propagate_s = time.perf_counter() - began
        finally:
            frames.close()
    frame_count = config.frames
    objects_per_frame = (len(result.states) + sum(len(span.anchors) for span in plan.spans)) / frame_count
    timings = getattr(result, "timings", {})  # seconds per stage, from an engine that reports them
    stages = {stage: round(1000 * seconds / frame_count, 2) for stage, seconds in timings.items()}
    return {"frames": frame_count, "objects_per_frame": round(objects_per_frame, 1),
            "propagate_fps": round(frame_count / propagate_s, 1), "decode_fps": round(frame_count / decode_s, 1),
            "share_of_decode": round(decode_s / propagate_s, 3),
            "ms_per_frame": round(1000 * propagate_s / frame_count, 2), "stages_ms_per_frame": stages}


def _decode_seconds(video: Path) -> float:
    capture = cv2.VideoCapture(str(video))
    began = time.perf_counter()
    while capture.read()[0]:
        pass
    capture.release()
    return time.perf_counter() - began


def _project(folder: Path, source: str, config: RoadSceneConfig) -> Project:
    sequence = SequenceInfo(source, config.frames, config.width, config.height, config.fps)
    return Project.create(folder, sequence)


def _add_truth_keyframes(project: Project, truth, selection: list[tuple[object, float]]) -> None:
    """Each selected truth track, shifted right by its shift, keyed on its first and last frame."""
    by_track = _truth_by_track(truth)
    with project.group("keyframes"):
        for track, shift in selection:
            new = project.add_track(track.class_name, track.attributes)
            states = by_track[track.id]
            for frame in {min(states), max(states)}:
                geometry, attributes = states[frame]
                shifted = _shifted(geometry, shift, project.sequence.width)
                project.set_state(new.id, frame, shifted, attributes, source=Source.MANUAL)


def _shifted(geometry, dx: float, width: int):
    """The shape moved ``dx`` px right, clipped to the image; as it is when that leaves too little of it."""
    if dx == 0:
        return geometry
    points = geometry.points.copy()
    points[:, 0] = np.clip(points[:, 0] + dx, 0, width - 1)
    try:
        return make_geometry(geometry.kind, points)
    except GeometryError:  # a box at the right border squeezed to nothing
        return geometry


def _truth_by_track(truth) -> dict[int, dict[int, tuple]]:
    by_track: dict[int, dict[int, tuple]] = {track.id: {} for track in truth.tracks}
    for state in truth.states:
        by_track[state.track_id][state.frame] = (state.geometry, state.attributes)
    return by_track


# ------------------------------------------------------------------ effort


def effort(frame_count: int, folder: Path) -> dict:
    config = RoadSceneConfig(frames=frame_count)
    truth = make_road_sequence(config)
    by_track = _truth_by_track(truth)
    counts, first_fills = {}, {}
    for method in ("linear", "flow"):
        with _project(folder / f"effort-{frame_count}-{method}", "clip.mp4", config) as project:
            needed = {track.id: _keyframes_needed(project, truth.frames, track, by_track[track.id], method)
                      for track in truth.tracks}
        counts[method] = {track_id: keys for track_id, (keys, _) in needed.items()}
        first_fills[method] = [judged for _, review in needed.values() for judged in review]
    tracks = [{"track": track.id, "class": track.class_name, "frames": len(by_track[track.id]),
               "linear": counts["linear"][track.id], "flow": counts["flow"][track.id]} for track in truth.tracks]
    linear, flow = (sum(counts[method].values()) for method in ("linear", "flow"))
    at_ends = sum(row["flow"] <= 2 for row in tracks)
    return {"frames": frame_count, "tracks": tracks, "linear_keyframes": linear, "flow_keyframes": flow,
            "ratio": round(flow / linear, 3), "tracks_done_with_first_and_last": at_ends,
            **_flagged_figures(first_fills["flow"])}


def _flagged_figures(review: list[tuple[bool, bool]]) -> dict:
    """Recall and precision of the review flags over (bad, flagged) pairs; None where nothing to divide by."""
    bad = sum(is_bad for is_bad, _ in review)
    flagged = sum(is_flagged for _, is_flagged in review)
    caught = sum(is_bad and is_flagged for is_bad, is_flagged in review)
    return {"propagated_states": len(review), "bad_states": bad, "flagged_states": flagged,
            "flagged_recall": round(caught / bad, 3) if bad else None,
            "flagged_precision": round(caught / flagged, 3) if flagged else None,
            "share_flagged": round(flagged / len(review), 3) if review else None}


def _keyframes_needed(project: Project, frames: np.ndarray, track, truth: dict[int, tuple],
                      method: str) -> tuple[int, list[tuple[bool, bool]]]:
    """Keyframes until every frame is within tolerance, and (bad, flagged) for each state of the first fill."""
    new = project.add_track(track.class_name, track.attributes)
    lane = is_lane_class(track.class_name)
    keys = sorted({min(truth), max(truth)})
    for frame in keys:
        project.set_state(new.id, frame, *truth[frame], source=Source.MANUAL)
    review = _judged(_fill(project, frames, new.id, keys[0], keys[-1], method), truth, lane)
    while True:
        worst, error = _worst_frame(project, new.id, truth, lane)
        if error <= TOLERANCE_PX:
            return len(keys), review
        project.set_state(new.id, worst, *truth[worst], source=Source.MANUAL)
        keys = sorted([*keys, worst])
        at = keys.index(worst)
        _fill(project, frames, new.id, keys[max(at - 1, 0)], keys[min(at + 1, len(keys) - 1)], method)


def _fill(project: Project, frames: np.ndarray, track_id: int, start: int, end: int, method: str):
    if end - start > 1:
        return propagate(project, frames, method=method, tracks=[track_id], start=start, end=end)
    return None


def _judged(result, truth: dict[int, tuple], lane: bool) -> list[tuple[bool, bool]]:
    """(more than the tolerance off the truth, flagged for review) for each state a propagation computed."""
    states = [] if result is None else [state for state in result.states if state.frame in truth]
    return [(mean_distance(state.geometry, truth[state.frame][0], lane=lane) > TOLERANCE_PX, needs_review(state))
            for state in states]


def _worst_frame(project: Project, track_id: int, truth: dict[int, tuple], lane: bool) -> tuple[int, float]:
    errors = {}
    for frame, (geometry, _) in truth.items():
        state = project.state(track_id, frame)
        errors[frame] = np.inf if state is None else mean_distance(state.geometry, geometry, lane=lane)
    worst = max(errors, key=errors.get)
    return worst, errors[worst]


# ------------------------------------------------------------------ drift


def drift(folder: Path) -> dict:
    if not DRIFT_VIDEO.is_file():
        return {"skipped": f"{DRIFT_VIDEO} not found"}
    frames = open_frames(DRIFT_VIDEO)
    try:
        count, (width, height) = len(frames), frames.size
        first = np.asarray(frames[0])
        with Project.create(folder / "drift", SequenceInfo(DRIFT_VIDEO.name, count, width, height, 25.0)) as project:
            lanes = {side: project.add_track("lane-line").id for side in EGO_LANE_CLICKS}
            for side, clicks in EGO_LANE_CLICKS.items():
                snapped = snap_to_paint(fit_lane(np.array(clicks, float)), first).controls[::4]
                project.set_state(lanes[side], 0, make_geometry("polyline", snapped), {"style": "solid"})
            began = time.perf_counter()
            ahead = propagate(project, frames, method="flow", tracks=list(lanes.values()))
            forward = {track: _lane_states(project, track) for track in lanes.values()}
            back_lanes = {track: project.add_track("lane-line").id for track in lanes.values()}
            for track, back in back_lanes.items():
                last = max(forward[track])
                project.set_state(back, last, forward[track][last], {"style": "solid"})
            behind = propagate(project, frames, method="flow", tracks=list(back_lanes.values()))
            seconds = time.perf_counter() - began
            gaps = _gaps(forward, {track: _lane_states(project, back) for track, back in back_lanes.items()})
    finally:
        frames.close()
    means = {side: round(float(np.mean(list(gaps[lanes[side]].values()))), 2) for side in lanes}
    maxima = {side: round(float(np.max(list(gaps[lanes[side]].values()))), 2) for side in lanes}
    return {"frames": count, "reached": {side: max(forward[lanes[side]]) for side in lanes},
            "stops": [str(stop) for stop in ahead.stops + behind.stops],
            "gap_at_frame_0_px": {side: round(gaps[lanes[side]].get(0, np.nan), 2) for side in lanes},
            "gap_mean_px": means, "gap_max_px": maxima, "seconds": round(seconds, 2),
            "drift_goal_met": all(means[side] <= GOAL_DRIFT_MEAN_PX and maxima[side] <= GOAL_DRIFT_MAX_PX
                                  for side in lanes)}


def _lane_states(project: Project, track_id: int) -> dict[int, object]:
    return {state.frame: state.geometry for state in project.states_of(track_id)}


def _gaps(forward: dict, backward: dict) -> dict[int, dict[int, float]]:
    return {track: {frame: mean_distance(shape, backward[track][frame], lane=True)
                    for frame, shape in forward[track].items() if frame in backward[track]}
            for track in forward}


# ------------------------------------------------------------------ report


def print_table(figures: dict) -> None:
    print_throughput(figures)
    print_effort(figures["effort"])
    print_drift(figures.get("drift", {}))


def print_throughput(figures: dict) -> None:
    speed = figures["throughput"]
    print(f"Throughput, 960x540, {speed['frames']} frames, {speed['objects_per_frame']} objects per frame: "
          f"propagation {speed['propagate_fps']} fps, decoding {speed['decode_fps']} fps, "
          f"share {speed['share_of_decode']:.0%} (goal {GOAL_DECODE_SHARE:.0%} with {MAIN_OBJECTS} objects)")
    stages = speed["stages_ms_per_frame"]
    print("  ms per frame by stage: " + (", ".join(f"{stage} {ms}" for stage, ms in stages.items())
                                         if stages else "not reported by this engine"))
    print(f"  {'objects':>7} {'fps':>7} {'ms/frame':>9} {'share':>6}")
    for row in figures["throughput_by_objects"]:
        print(f"  {row['objects_per_frame']:>7} {row['propagate_fps']:>7} {row['ms_per_frame']:>9} "
              f"{row['share_of_decode']:>6.1%}")
    print(f"  cost flatness (ms per frame, most objects over fewest): {figures['cost_flatness']} "
          f"(goal: nearly flat, near 1)")


def print_effort(runs: list[dict]) -> None:
    for run in runs:
        print(f"\nEffort, {run['frames']} frames (keyframes until every frame is within {TOLERANCE_PX:g} px):")
        print(f"  {'track':>5} {'class':<18} {'frames':>6} {'linear':>6} {'flow':>6}")
        for row in run["tracks"]:
            print(f"  {row['track']:>5} {row['class']:<18} {row['frames']:>6} {row['linear']:>6} {row['flow']:>6}")
        print(f"  total: linear {run['linear_keyframes']}, flow {run['flow_keyframes']}, ratio {run['ratio']} "
              f"(goal {GOAL_KEYFRAME_RATIO}); {run['tracks_done_with_first_and_last']} of {len(run['tracks'])} "
              f"tracks need only their first and last frame with flow (goal: every unoccluded track)")
        print(f"  flow's first fill: {run['bad_states']} of {run['propagated_states']} states more than "
              f"{TOLERANCE_PX:g} px off, {run['flagged_states']} flagged; recall {run['flagged_recall']} "
              f"(goal {GOAL_FLAGGED_RECALL}), precision {run['flagged_precision']}, "
              f"share flagged {run['share_flagged']}")


def print_drift(gap: dict) -> None:
    if "gap_mean_px" in gap:
        print(f"\nDrift on {DRIFT_VIDEO.name}, {gap['frames']} frames, forward then back ({gap['seconds']} s): "
              f"gap at frame 0 {gap['gap_at_frame_0_px']} px, mean {gap['gap_mean_px']}, max {gap['gap_max_px']} "
              f"(goal mean <= {GOAL_DRIFT_MEAN_PX:g}, max <= {GOAL_DRIFT_MAX_PX:g} px per lane: "
              f"{'met' if gap['drift_goal_met'] else 'not met'})")
        for stop in gap["stops"]:
            print(f"  {stop}")
    elif gap:
        print(f"\nDrift skipped: {gap['skipped']}")


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = {**throughput(args.throughput_frames, args.throughput_objects, folder / "throughput"),
                   "effort": [effort(frames, folder) for frames in args.effort_frames]}
        if not args.skip_drift:
            figures["drift"] = drift(folder)
    print_table(figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
