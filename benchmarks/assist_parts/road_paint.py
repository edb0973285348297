"""Road paint proposals (stop lines, crosswalks, school zones) on sample clips with exact truth.

Per class: of the truth's frames, the share with a proposal within ``TOLERANCE_PX`` (mean distance, as the
effort benchmark's "done"), and of the proposals, the share that are within it (the rest a person deletes).
Proposals are the assistant's own tracks (``suggest``), on the clips of seeds 1-5 (seed 0 is the effort
benchmark's).  ``ms_per_frame`` is the per-frame finding at 960x540.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from napari_roadlabel.assist.base import AssistContext  # noqa: E402
from napari_roadlabel.assist.road_paint import RoadPaintProposer, find_markings  # noqa: E402
from napari_roadlabel.sample import RoadSceneConfig, make_road_sequence  # noqa: E402
from napari_roadlabel.temporal.shape_distance import mean_distance  # noqa: E402

TOLERANCE_PX = 3.0
SEEDS = (1, 2, 3, 4, 5)


class _NoLabels:
    """A project with nothing labeled: the assistant only reads its tracks."""

    def tracks(self):
        return []


def measure(quick: bool = False) -> dict:
    seeds = SEEDS[:2] if quick else SEEDS
    counts: Counter = Counter()
    for seed in seeds:
        sequence = make_road_sequence(RoadSceneConfig(seed=seed))
        names = {track.id: track.class_name for track in sequence.tracks}
        truth = {(names[state.track_id], state.frame): state.geometry for state in sequence.states
                 if names[state.track_id] in RoadPaintProposer.CLASSES}
        frames = list(sequence.frames)
        for name, _ in truth:
            counts[name, "truth"] += 1
        for item in RoadPaintProposer().suggest(AssistContext(_NoLabels(), frames, range(len(frames)))):
            true = truth.get((item.class_name, item.frame))
            right = true is not None and mean_distance(item.geometry, true) <= TOLERANCE_PX
            counts[item.class_name, "proposed"] += 1
            counts[item.class_name, "right"] += right
    per_class = {name: {"truth_frames": counts[name, "truth"], "proposed": counts[name, "proposed"],
                        "recall": round(counts[name, "right"] / max(counts[name, "truth"], 1), 3),
                        "precision": round(counts[name, "right"] / max(counts[name, "proposed"], 1), 3)}
                 for name in RoadPaintProposer.CLASSES}
    return {"seeds": list(seeds), "tolerance_px": TOLERANCE_PX, "classes": per_class,
            "ms_per_frame": _ms_per_frame(quick)}


def _ms_per_frame(quick: bool) -> float:
    sequence = make_road_sequence(RoadSceneConfig(seed=1, frames=10 if quick else 30, width=960, height=540))
    frames = list(sequence.frames)
    began = time.perf_counter()
    for frame in frames:
        find_markings(frame)
    return round(1000 * (time.perf_counter() - began) / len(frames), 1)


if __name__ == "__main__":
    print(json.dumps(measure(quick="--quick" in sys.argv), indent=2))
