"""Propagation: throughput against plain decoding, annotator effort against linear interpolation, drift on real footage.

    python benchmarks/bench_propagation.py [--effort-frames 90 300] [--throughput-frames 300] [--skip-drift]

Throughput: the sample generator renders a 960x540 clip (written as mp4v, read
back through ``open_frames`` as the tool does).  Every ground-truth track is
taken twice (the copy shifted 4 px), so about 20 objects (lanes, boxes,
polygons) are on each frame; each track gets keyframes on its first and last
frame, and flow propagation fills everything between (both sweeps and the
blend; writing to the store is not timed).  Beside it, in the same run, plain
OpenCV decoding of the same file (``cv2.VideoCapture.read`` of every frame).
Goal: propagation at least 50 % of decode speed, in frames of video per second.

Effort: a simulated annotator on sample clips with ground truth on every frame
(curves, camera shake, speed changes).  For each track it starts with keyframes
on the first and last frame it is visible, propagates, and while some frame's
shape is more than 3 px (mean distance, ``shape_distance.mean_distance``) from
the truth, or missing, adds a keyframe at the worst frame and propagates the two
gaps around it again.  Counted per track for linear interpolation (what CVAT
does) and for flow.  Goal: flow needs at most a fifth of linear's keyframes.

Drift: ``shared/data/udacity-lanelines/solidWhiteRight.mp4`` (real, 221 frames,
no ground truth).  Its two ego lanes are clicked on frame 0 (four points each,
snapped to the paint), propagated by flow to the last frame; the last frame's
result is then the only keyframe and flow carries it back to frame 0.  The gap
between the forward and backward lane on each frame, in px, is reported.

The last printed line is one JSON object with every figure.  Nothing is asserted.
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
from napari_roadlabel.core.lanes import fit_lane, is_lane_class  # noqa: E402
from napari_roadlabel.core.snap import snap_to_paint  # noqa: E402
from napari_roadlabel.io.frames import open_frames  # noqa: E402
from napari_roadlabel.sample.config import RoadSceneConfig  # noqa: E402
from napari_roadlabel.sample.sequence import make_road_sequence, write_video  # noqa: E402
from napari_roadlabel.temporal.propagation import compute_propagation, plan_propagation, propagate  # noqa: E402
from napari_roadlabel.temporal.shape_distance import mean_distance  # noqa: E402

DRIFT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "udacity-lanelines" / "solidWhiteRight.mp4"
EGO_LANE_CLICKS = {  # frame 0 of solidWhiteRight.mp4, near to far, (x, y); snapped to the paint before use
    "left": [(190, 514), (305, 432), (400, 365), (462, 320)],
    "right": [(838, 538), (700, 445), (590, 372), (500, 318)],
}
TOLERANCE_PX = 3.0
COPY_SHIFT_PX = 4.0
GOAL_DECODE_SHARE = 0.5
GOAL_KEYFRAME_RATIO = 0.2


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--effort-frames", type=int, nargs="+", default=[90, 300], help="lengths of the effort clips")
    parser.add_argument("--throughput-frames", type=int, default=300)
    parser.add_argument("--skip-drift", action="store_true", help="leave out the real-footage drift run")
    return parser.parse_args()


# ------------------------------------------------------------------ throughput


def throughput(frame_count: int, folder: Path) -> dict:
    config = RoadSceneConfig(frames=frame_count, width=960, height=540)
    truth = make_road_sequence(config)
    folder.mkdir(parents=True)
    video = folder / "clip.mp4"
    write_video(video, truth)
    with _project(folder / "project", video.name, config) as project:
        _add_truth_keyframes(project, truth, copies=2)
        plan = plan_propagation(project, method="flow")
        frames = open_frames(video)
        try:
            began = time.perf_counter()
            result = compute_propagation(plan, frames)
            propagate_s = time.perf_counter() - began
        finally:
            frames.close()
    decode_s = _decode_seconds(video)
    objects_per_frame = (len(result.states) + sum(len(span.anchors) for span in plan.spans)) / frame_count
    return {"frames": frame_count, "objects_per_frame": round(objects_per_frame, 1),
            "propagate_fps": round(frame_count / propagate_s, 1), "decode_fps": round(frame_count / decode_s, 1),
            "share_of_decode": round(decode_s / propagate_s, 3)}


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


def _add_truth_keyframes(project: Project, truth, copies: int) -> None:
    """Each truth track ``copies`` times (each copy shifted right), keyed on its first and last frame."""
    by_track = _truth_by_track(truth)
    with project.group("keyframes"):
        for copy in range(copies):
            for track in truth.tracks:
                new = project.add_track(track.class_name, track.attributes)
                states = by_track[track.id]
                for frame in {min(states), max(states)}:
                    geometry, attributes = states[frame]
                    shifted = _shifted(geometry, copy * COPY_SHIFT_PX, project.sequence.width)
                    project.set_state(new.id, frame, shifted, attributes, source=Source.MANUAL)


def _shifted(geometry, dx: float, width: int):
    if dx == 0:
        return geometry
    points = geometry.points.copy()
    points[:, 0] = np.clip(points[:, 0] + dx, 0, width - 1)
    return make_geometry(geometry.kind, points)


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
    counts = {}
    for method in ("linear", "flow"):
        with _project(folder / f"effort-{frame_count}-{method}", "clip.mp4", config) as project:
            counts[method] = {track.id: _keyframes_needed(project, truth.frames, track, by_track[track.id], method)
                              for track in truth.tracks}
    tracks = [{"track": track.id, "class": track.class_name, "frames": len(by_track[track.id]),
               "linear": counts["linear"][track.id], "flow": counts["flow"][track.id]} for track in truth.tracks]
    linear, flow = (sum(counts[method].values()) for method in ("linear", "flow"))
    at_ends = sum(row["flow"] <= 2 for row in tracks)
    return {"frames": frame_count, "tracks": tracks, "linear_keyframes": linear, "flow_keyframes": flow,
            "ratio": round(flow / linear, 3), "tracks_done_with_first_and_last": at_ends}


def _keyframes_needed(project: Project, frames: np.ndarray, track, truth: dict[int, tuple], method: str) -> int:
    new = project.add_track(track.class_name, track.attributes)
    lane = is_lane_class(track.class_name)
    keys = sorted({min(truth), max(truth)})
    for frame in keys:
        project.set_state(new.id, frame, *truth[frame], source=Source.MANUAL)
    _fill(project, frames, new.id, keys[0], keys[-1], method)
    while True:
        worst, error = _worst_frame(project, new.id, truth, lane)
        if error <= TOLERANCE_PX:
            return len(keys)
        project.set_state(new.id, worst, *truth[worst], source=Source.MANUAL)
        keys = sorted([*keys, worst])
        at = keys.index(worst)
        _fill(project, frames, new.id, keys[max(at - 1, 0)], keys[min(at + 1, len(keys) - 1)], method)


def _fill(project: Project, frames: np.ndarray, track_id: int, start: int, end: int, method: str) -> None:
    if end - start > 1:
        propagate(project, frames, method=method, tracks=[track_id], start=start, end=end)


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
    return {"frames": count, "reached": {side: max(forward[lanes[side]]) for side in lanes},
            "stops": [str(stop) for stop in ahead.stops + behind.stops],
            "gap_at_frame_0_px": {side: round(gaps[lanes[side]].get(0, np.nan), 2) for side in lanes},
            "gap_mean_px": {side: round(float(np.mean(list(gaps[lanes[side]].values()))), 2) for side in lanes},
            "gap_max_px": {side: round(float(np.max(list(gaps[lanes[side]].values()))), 2) for side in lanes},
            "seconds": round(seconds, 2)}


def _lane_states(project: Project, track_id: int) -> dict[int, object]:
    return {state.frame: state.geometry for state in project.states_of(track_id)}


def _gaps(forward: dict, backward: dict) -> dict[int, dict[int, float]]:
    return {track: {frame: mean_distance(shape, backward[track][frame], lane=True)
                    for frame, shape in forward[track].items() if frame in backward[track]}
            for track in forward}


# ------------------------------------------------------------------ report


def print_table(figures: dict) -> None:
    speed = figures["throughput"]
    print(f"Throughput, 960x540, {speed['frames']} frames, {speed['objects_per_frame']} objects per frame: "
          f"propagation {speed['propagate_fps']} fps, decoding {speed['decode_fps']} fps, "
          f"share {speed['share_of_decode']:.0%} (goal {GOAL_DECODE_SHARE:.0%})")
    for run in figures["effort"]:
        print(f"\nEffort, {run['frames']} frames (keyframes until every frame is within {TOLERANCE_PX:g} px):")
        print(f"  {'track':>5} {'class':<18} {'frames':>6} {'linear':>6} {'flow':>6}")
        for row in run["tracks"]:
            print(f"  {row['track']:>5} {row['class']:<18} {row['frames']:>6} {row['linear']:>6} {row['flow']:>6}")
        print(f"  total: linear {run['linear_keyframes']}, flow {run['flow_keyframes']}, ratio {run['ratio']} "
              f"(goal {GOAL_KEYFRAME_RATIO}); {run['tracks_done_with_first_and_last']} of {len(run['tracks'])} "
              f"tracks need only their first and last frame with flow")
    gap = figures.get("drift", {})
    if "gap_mean_px" in gap:
        print(f"\nDrift on {DRIFT_VIDEO.name}, {gap['frames']} frames, forward then back ({gap['seconds']} s): "
              f"gap at frame 0 {gap['gap_at_frame_0_px']} px, mean {gap['gap_mean_px']}, max {gap['gap_max_px']}")
        for stop in gap["stops"]:
            print(f"  {stop}")
    elif gap:
        print(f"\nDrift skipped: {gap['skipped']}")


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = {"throughput": throughput(args.throughput_frames, folder / "throughput"),
                   "effort": [effort(frames, folder) for frames in args.effort_frames]}
        if not args.skip_drift:
            figures["drift"] = drift(folder)
    print_table(figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
