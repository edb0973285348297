"""How well lane proposals find the lanes, zero-shot, and how fast: the "lanes" part of bench_assist.

* TuSimple: the 6 real frames of ``shared/data/tusimple-lanenet6``; each frame's proposals are fitted as the
  project's lane curves, sampled at the frame's ``h_samples`` and scored with the project's TuSimple metric
  (qa/lane_metrics.py).  Goal: accuracy >= 0.85 with FP <= 0.2.  Style (dashed/solid) and colour are checked
  against the lane classes of ``fabvio/TuSimple-lane-classes`` on the truth lanes matched (accuracy >= 0.85).
* Sample clip: the synthetic clip (napari_roadlabel.sample) at 960x540, whose lane markings are exact; scored
  the same way at every 10th row, both sides cut to the rows the frame's truth lanes span (the clip labels
  lanes up to 70 m, the proposals run on to the horizon); style and colour checked on the matched lanes.
* Speed: ms per frame of ``propose_lanes`` at 960x540 (the sample clip's frames), the median of all frames.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from napari_roadlabel.assist.lane_proposals import propose_lanes  # noqa: E402
from napari_roadlabel.core.lanes import MISSING, fit_lane  # noqa: E402
from napari_roadlabel.qa.lane_metrics import (  # noqa: E402
    tusimple_lane_accuracy,
    tusimple_score,
    tusimple_threshold,
)

TUSIMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "tusimple-lanenet6"
TUSIMPLE_STYLE = {1: "solid", 2: "solid", 3: "dashed", 6: "solid"}  # fabvio classes with a clear style
TUSIMPLE_COLOR = {1: "yellow", 2: "white", 3: "white", 6: "yellow"}


def measure(quick: bool = False) -> dict:
    result = {"goal": "TuSimple accuracy >= 0.85 with FP <= 0.2; under 50 ms per frame at 960x540"}
    if (TUSIMPLE / "label_data.json").exists():
        result["tusimple"] = _tusimple()
    result["sample_clip"], result["ms_per_frame"] = _sample_clip(frames=20 if quick else 90)
    return result


def _xs(lane: np.ndarray, rows) -> list[float]:
    return fit_lane(lane).sample_rows(rows).tolist()


def _matches(predicted, truth, rows) -> list[tuple[int, int]]:
    """(truth lane, its best predicted lane) for each truth lane matched at TuSimple's 0.85."""
    pairs = []
    for t, xs in enumerate(truth):
        xs = np.asarray(xs, float)
        threshold = tusimple_threshold(xs, np.asarray(rows, float))
        scores = [tusimple_lane_accuracy(np.asarray(p, float), xs, threshold) for p in predicted]
        if scores and max(scores) >= 0.85:
            pairs.append((t, int(np.argmax(scores))))
    return pairs


def _tusimple() -> dict:
    frames, styles, colours = [], [], []
    for line in (TUSIMPLE / "label_data.json").read_text().splitlines():
        label = json.loads(line)
        image = cv2.cvtColor(cv2.imread(str(TUSIMPLE / label["raw_file"])), cv2.COLOR_BGR2RGB)
        lanes = propose_lanes(image)
        predicted = [_xs(lane.points, label["h_samples"]) for lane in lanes]
        frames.append((predicted, label["lanes"], label["h_samples"]))
        for t, p in _matches(predicted, label["lanes"], label["h_samples"]):
            kind = label["lane_classes"][t]
            if kind in TUSIMPLE_STYLE:
                styles.append(lanes[p].style == TUSIMPLE_STYLE[kind])
                colours.append(lanes[p].color == TUSIMPLE_COLOR[kind])
    score = tusimple_score(frames)
    return {"frames": score.frames, "accuracy": round(score.accuracy, 4), "fp": round(score.fp, 4),
            "fn": round(score.fn, 4), "style_accuracy": _share(styles), "color_accuracy": _share(colours),
            "met": bool(score.accuracy >= 0.85 and score.fp <= 0.2)}


def _share(flags: list[bool]) -> float | None:
    return round(float(np.mean(flags)), 4) if flags else None


def _sample_clip(frames: int) -> tuple[dict, float]:
    from napari_roadlabel.sample import RoadSceneConfig, make_road_sequence

    sequence = make_road_sequence(RoadSceneConfig(frames=frames, width=960, height=540, seed=1))
    markings = {track.id: track for track in sequence.tracks
                if track.class_name == "lane-line" and track.attributes.get("kind") == "lane-marking"}
    truth_by_frame: dict[int, list] = {}
    for state in sequence.states:
        if state.track_id in markings:
            truth_by_frame.setdefault(state.frame, []).append(state)
    scored, styles, colours, times = [], [], [], []
    for index, image in enumerate(sequence.frames):
        start = time.perf_counter()
        lanes = propose_lanes(image)
        times.append(1000 * (time.perf_counter() - start))
        states = truth_by_frame.get(index, [])
        if not states:
            continue
        tops = [state.geometry.points[:, 1].min() for state in states]
        rows = list(range(int(np.ceil(min(tops) / 10) * 10), 540, 10))
        truth = [_xs(state.geometry.points, rows) for state in states]
        predicted = [_xs(lane.points, rows) for lane in lanes]
        predicted = [xs for xs in predicted if any(x != MISSING for x in xs)]
        scored.append((predicted, truth, rows))
        kept = [lane for lane in lanes if any(x != MISSING for x in _xs(lane.points, rows))]
        for t, p in _matches(predicted, truth, rows):
            styles.append(kept[p].style == states[t].attributes.get("style"))
            colours.append(kept[p].color == markings[states[t].track_id].attributes.get("color"))
    score = tusimple_score(scored)
    figures = {"frames": score.frames, "accuracy": round(score.accuracy, 4), "fp": round(score.fp, 4),
               "fn": round(score.fn, 4), "style_accuracy": _share(styles), "color_accuracy": _share(colours)}
    return figures, round(float(np.median(times)), 2)


if __name__ == "__main__":
    print(json.dumps(measure(quick="--quick" in sys.argv), indent=2))
