"""Sign and light box proposals: precision and recall on the sample clip and on real light crops, ms per frame.

Sample clip: ``make_road_sequence`` at 960x540 (300 frames; 90 in quick mode) has a traffic light and signs
(speed limit, stop) with exact boxes on every frame they are visible.  The project gets a person's boxes
(source manual) on K keyframes spread over the clip (K = 0, 5, 10); the assistant trains on them and suggests
on every frame; proposals are scored on the other frames against the truth at IoU >= 0.5, one proposal per
true box, of the same class.  Recall is given for every true box and for those at least ``VISIBLE_PX`` px on
their short side (a far light 3 px wide has lamps of one or two pixels: below what colour and shape can find).

Real lights: the 1,187 photographs in ``shared/data/traffic-light-crops`` (tight crops of real lights,
10-70 px) pasted, at their own size, five to a frame at random places in the upper half of the six real
960x540 road stills of ``shared/data/udacity-lanelines``, each frame through JPEG (quality 90).  Scored with
no training (the crops have no labeled frames to learn from): traffic-light recall at IoU 0.5 and 0.3 (a
crop's box is the photographer's crop, which often leaves a margin), and proposals per frame on the bare
stills (false positives: nothing there is a light or a sign).

Speed: ``propose`` (candidates + verification) per 960x540 frame of the clip, trained on 10 keyframes.
Goal: under 50 ms per frame.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from napari_roadlabel.assist import AssistContext  # noqa: E402
from napari_roadlabel.assist.boxes import CLASSES, LIGHT, BoxProposer  # noqa: E402
from napari_roadlabel.core import Project, SequenceInfo, Source  # noqa: E402
from napari_roadlabel.core.geometry import bounds_iou  # noqa: E402
from napari_roadlabel.sample import RoadSceneConfig, make_road_sequence  # noqa: E402

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CROPS, BACKGROUNDS = DATA / "traffic-light-crops", DATA / "udacity-lanelines"
WIDTH, HEIGHT = 960, 540
KEYFRAME_COUNTS = (0, 5, 10)
VISIBLE_PX = 8
MATCH_IOU = 0.5
LIGHTS_PER_FRAME = 5


def measure(quick: bool = False) -> dict:
    figures: dict = {"goal": "< 50 ms per frame at 960x540"}
    figures["sample_clip"], figures["ms_per_frame"] = _sample_clip(quick)
    if CROPS.is_dir() and BACKGROUNDS.is_dir():
        figures["real_lights"] = _real_lights(quick)
    else:
        figures["real_lights"] = f"skipped: {CROPS} or {BACKGROUNDS} is missing"
    return figures


# ----------------------------------------------------------------------------------------------- sample clip

def _sample_clip(quick: bool) -> tuple[dict, float]:
    sequence = make_road_sequence(RoadSceneConfig(frames=90 if quick else 300, width=WIDTH, height=HEIGHT, seed=3))
    classes = {track.id: track.class_name for track in sequence.tracks}
    truth: dict[int, list] = {frame: [] for frame in range(len(sequence.frames))}
    for state in sequence.states:
        if classes[state.track_id] in CLASSES:
            truth[state.frame].append((classes[state.track_id], state))
    results, ms = {}, None
    for count in KEYFRAME_COUNTS:
        frames = len(sequence.frames)
        keyframes = set(np.linspace(0, frames - 1, count).round().astype(int).tolist()) if count else set()
        with tempfile.TemporaryDirectory() as folder, Project.create(
                Path(folder) / "project", SequenceInfo("clip.mp4", frames, WIDTH, HEIGHT, 30.0)) as project:
            _label(project, sequence, truth, keyframes)
            assistant = BoxProposer()
            context = AssistContext(project, sequence.frames, range(len(sequence.frames)))
            validation = assistant.train(context)
            proposals = [s for s in assistant.suggest(context) if s.frame not in keyframes]
            scored = {frame: objects for frame, objects in truth.items() if frame not in keyframes}
            results[f"{count}_keyframes"] = {"validation": validation.describe(), **_score(proposals, scored)}
            if count == max(KEYFRAME_COUNTS):
                ms = _ms_per_frame(assistant, sequence.frames[:: max(1, len(sequence.frames) // 60)])
    return results, ms


def _label(project: Project, sequence, truth: dict, keyframes: set[int]) -> None:
    """The clip's light and sign tracks, with a person's boxes on the keyframes only."""
    with project.group("keyframes"):
        for track in sequence.tracks:
            if track.class_name in CLASSES:
                project.add_track(track.class_name, track.attributes, track_id=track.id)
        for frame in keyframes:
            for _, state in truth[frame]:
                project.set_state(state.track_id, frame, state.geometry, state.attributes, source=Source.MANUAL)


def _score(proposals, truth: dict) -> dict:
    """Precision and recall at IoU 0.5 (same class, one proposal per true box), per class and overall."""
    by_frame: dict[int, list] = {}
    for proposal in proposals:
        by_frame.setdefault(proposal.frame, []).append(proposal)
    counts = {name: {"tp": 0, "fp": 0, "fn": 0, "visible": 0, "visible_found": 0} for name in CLASSES}
    for frame, objects in truth.items():
        found = set()
        for proposal in sorted(by_frame.get(frame, []), key=lambda p: -p.confidence):
            bounds = proposal.geometry.bounds()
            match = next((index for index, (name, state) in enumerate(objects) if index not in found
                          and name == proposal.class_name and bounds_iou(state.geometry.bounds(), bounds) >= MATCH_IOU),
                         None)
            counts[proposal.class_name]["tp" if match is not None else "fp"] += 1
            if match is not None:
                found.add(match)
        for index, (name, state) in enumerate(objects):
            x0, y0, x1, y1 = state.geometry.bounds()
            visible = min(x1 - x0, y1 - y0) >= VISIBLE_PX
            counts[name]["fn"] += index not in found
            counts[name]["visible"] += visible
            counts[name]["visible_found"] += visible and index in found
    figures = {name: _rates(**tally) for name, tally in counts.items()}
    figures["all"] = _rates(**{key: sum(tally[key] for tally in counts.values()) for key in counts[LIGHT]})
    return figures


def _rates(tp: int, fp: int, fn: int, visible: int, visible_found: int) -> dict:
    return {"precision": round(tp / max(tp + fp, 1), 3), "recall": round(tp / max(tp + fn, 1), 3),
            f"recall_at_least_{VISIBLE_PX}px": round(visible_found / max(visible, 1), 3),
            "true_boxes": tp + fn, "proposals": tp + fp}


def _ms_per_frame(assistant: BoxProposer, frames: np.ndarray) -> float:
    assistant.propose(frames[0])  # imports and first-call costs are not per frame
    start = time.perf_counter()
    for frame in frames:
        assistant.propose(frame)
    return round(1000 * (time.perf_counter() - start) / len(frames), 1)


# ----------------------------------------------------------------------------------------------- real lights

def _real_lights(quick: bool) -> dict:
    crops = sorted(CROPS.glob("*/*.jpg"))
    rng = np.random.default_rng(0)
    if quick:
        crops = [crops[i] for i in sorted(rng.choice(len(crops), 200, replace=False))]
    backgrounds = [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in sorted(BACKGROUNDS.glob("*.jpg"))]
    assistant = BoxProposer()  # untrained: colour and shape only
    found = {0.5: 0, 0.3: 0}
    order = rng.permutation(len(crops))
    for start in range(0, len(order), LIGHTS_PER_FRAME):
        frame, boxes = _pasted(backgrounds[start // LIGHTS_PER_FRAME % len(backgrounds)],
                               [crops[i] for i in order[start:start + LIGHTS_PER_FRAME]], rng)
        proposals = [c.bounds for c, _ in assistant.propose(frame) if c.class_name == LIGHT]
        for truth in boxes:
            best = max((bounds_iou(truth, bounds) for bounds in proposals), default=0.0)
            for threshold in found:
                found[threshold] += best >= threshold
    bare = [len(assistant.propose(_jpeg(background))) for background in backgrounds]
    return {"crops": len(crops), "light_recall_iou_0.5": round(found[0.5] / len(crops), 3),
            "light_recall_iou_0.3": round(found[0.3] / len(crops), 3),
            "proposals_per_bare_still": round(float(np.mean(bare)), 2)}


def _pasted(background: np.ndarray, crops: list[Path], rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """The crops pasted without overlap in the upper half of the background; their boxes."""
    frame, boxes = background.copy(), []
    for path in crops:
        crop = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        h, w = crop.shape[:2]
        for _ in range(50):
            x, y = int(rng.integers(0, WIDTH - w)), int(rng.integers(0, HEIGHT // 2 - h))
            if all(bounds_iou((x - 10, y - 10, x + w + 10, y + h + 10), placed) == 0 for placed in boxes):
                frame[y:y + h, x:x + w] = crop
                boxes.append((x, y, x + w, y + h))
                break
    return _jpeg(frame), boxes


def _jpeg(frame: np.ndarray) -> np.ndarray:
    _, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


if __name__ == "__main__":
    print(json.dumps(measure(quick="--quick" in sys.argv), indent=2))
