"""Click to mask and mask carrying, on the sample clip rendered at 960x540 with its exact truth.

    python benchmarks/assist_parts/masks.py [--quick]

Objects: the sample's crosswalk and school zone (polygons), traffic light and signs (boxes; a stop
sign's truth is the octagon in its box), rasterised as truth masks, on every ``EVERY``-th frame
where they are at least ``MIN_SIDE_PX`` across.

Clicks: the box is the truth mask's bounds, as a person drags it.  Each click goes where a person
would put it (the usual protocol of interactive segmentation benchmarks): in the middle (farthest
from its edge) of the largest wrong region, an include click in a missed region, an exclude click
in a false one; the person stops once the mask reaches the goal.  IoU after the box alone and
after 1, 2 and 3 clicks, the share of objects at the goal, and the clicks needed (NoC@85).
Goal: IoU >= 0.85 after at most 3 clicks.  Also given without the crosswalk: its truth outline
takes in the road between its stripes, which no colour-based cut can call one object (a person
draws it as a polygon).

Carrying: from each object's truth mask, ``carry_mask`` over the next ``CARRY_FRAMES`` frames (with
and without the GrabCut refinement), against the truth mask moved by the truth's own centroid shift
(the best a centroid-only carry can do: it knows where the object went, but not its new shape).

Times: ms per ``mask_from_box`` call (with 3 clicks) and per carry step at 960x540.
Nothing is asserted; ``measure`` returns JSON-ready figures.
"""

from __future__ import annotations

import json
import sys
import time

import cv2
import numpy as np
from scipy import ndimage

from napari_roadlabel.assist.masks import carry_mask, mask_from_box
from napari_roadlabel.core.geometry import GeometryKind
from napari_roadlabel.sample import RoadSceneConfig, make_road_sequence

CLASSES = ("crosswalk", "school-zone", "traffic-light", "traffic-sign")
MIN_SIDE_PX = 12  # objects smaller than this on a side are not what a person masks by hand
EVERY = 10  # frames between the objects measured
CARRY_FRAMES = 10
CLICKS = 3
GOAL_IOU = 0.85


def measure(quick: bool = False) -> dict:
    config = RoadSceneConfig(width=960, height=540, frames=45 if quick else 90)
    sequence = make_road_sequence(config)
    objects = _objects(sequence, config)
    clicks, click_ms = _clicking(sequence.frames, objects)
    carrying, carry_ms = _carrying(sequence.frames, objects, _truth_by_frame(sequence, config))
    return {"objects": len(objects), "classes": sorted({name for name, *_ in objects}),
            "click_iou": clicks, "carry_iou": carrying,
            "ms_mask_from_box": click_ms, "ms_per_frame": carry_ms, "goal_iou": GOAL_IOU}


def _truth_by_frame(sequence, config) -> dict:
    """(track, frame) -> (class name, truth mask) for every state of the measured classes."""
    names = {track.id: track for track in sequence.tracks}
    truth = {}
    for state in sequence.states:
        track = names[state.track_id]
        if track.class_name in CLASSES:
            truth[state.track_id, state.frame] = (track.class_name, _rasterised(state.geometry, track.attributes,
                                                                               (config.height, config.width)))
    return truth


def _objects(sequence, config) -> list[tuple[str, int, int, np.ndarray]]:
    objects = []
    for (track, frame), (name, mask) in sorted(_truth_by_frame(sequence, config).items()):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if frame % EVERY == 0 and rows.size and min(np.ptp(rows), np.ptp(cols)) + 1 >= MIN_SIDE_PX:
            objects.append((name, track, frame, mask))
    return objects


def _rasterised(geometry, attributes, shape) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    if geometry.kind is GeometryKind.POLYGON:
        outline = geometry.points
    else:  # a box: the pixels whose centres lie in it; a stop sign is the octagon filling it
        (x0, y0), (x1, y1) = geometry.points
        outline = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        if attributes.get("type") == "stop":
            cut = (x1 - x0) / (2 + np.sqrt(2)), (y1 - y0) / (2 + np.sqrt(2))
            outline = np.array([[x0 + cut[0], y0], [x1 - cut[0], y0], [x1, y0 + cut[1]], [x1, y1 - cut[1]],
                                [x1 - cut[0], y1], [x0 + cut[0], y1], [x0, y1 - cut[1]], [x0, y0 + cut[1]]])
    cv2.fillPoly(mask, [np.round(outline * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    return mask.astype(bool)


def _iou(found: np.ndarray, truth: np.ndarray) -> float:
    union = (found | truth).sum()
    return float((found & truth).sum() / union) if union else 1.0


def next_click(found: np.ndarray, truth: np.ndarray) -> tuple[tuple[int, int], bool] | None:
    """Where a person clicks next: the middle of the largest wrong region; True for an include click."""
    wrong = found ^ truth
    pieces, count = ndimage.label(wrong)
    if count == 0:
        return None
    largest = pieces == 1 + int(np.argmax(np.bincount(pieces.ravel())[1:]))
    depth = ndimage.distance_transform_edt(np.pad(largest, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return (int(x), int(y)), bool(truth[y, x])


def _clicking(frames: np.ndarray, objects) -> tuple[dict, float]:
    per_class: dict[str, list[list[float]]] = {}
    seconds = calls = 0
    for name, _, frame, truth in objects:
        rows, cols = np.flatnonzero(truth.any(axis=1)), np.flatnonzero(truth.any(axis=0))
        box = (cols[0], rows[0], cols[-1], rows[-1])
        include, exclude, scores = [], [], []
        for _ in range(CLICKS + 1):
            if scores and scores[-1] >= GOAL_IOU:  # the person is content and stops clicking
                scores.append(scores[-1])
                continue
            start = time.perf_counter()
            found = mask_from_box(frames[frame], box, include, exclude)
            seconds, calls = seconds + time.perf_counter() - start, calls + 1
            scores.append(_iou(found, truth))
            click = next_click(found, truth)
            if click is not None:
                (include if click[1] else exclude).append(click[0])
        per_class.setdefault(name, []).append(scores)
    summary = {name: _click_summary(np.array(scores)) for name, scores in per_class.items()}
    summary["all"] = _click_summary(np.array([row for rows in per_class.values() for row in rows]))
    summary["all_but_crosswalk"] = _click_summary(np.array([row for name, rows in per_class.items()
                                                            for row in rows if name != "crosswalk"]))
    return summary, 1000 * seconds / calls


def _click_summary(scores: np.ndarray) -> dict:
    """Mean IoU after 0..3 clicks, the share of objects at the goal after each, and the clicks needed (NoC@85,
    counted as 4 where 3 did not reach it)."""
    reached = scores >= GOAL_IOU
    needed = np.where(reached.any(axis=1), reached.argmax(axis=1), CLICKS + 1)
    return {"count": len(scores), "mean_iou_after_clicks": np.round(scores.mean(axis=0), 3).tolist(),
            "share_at_goal_after_clicks": np.round(reached.mean(axis=0), 3).tolist(),
            "mean_clicks_to_goal": round(float(needed.mean()), 2)}


def _carrying(frames: np.ndarray, objects, truth: dict) -> tuple[dict, float]:
    results: dict[str, dict[str, list[float]]] = {}
    seconds = steps = 0
    for name, track, frame, mask in objects:
        later = [f for f in range(frame + 1, frame + 1 + CARRY_FRAMES) if (track, f) in truth]
        if len(later) < CARRY_FRAMES:
            continue
        scores = results.setdefault(name, {"flow": [], "flow_refined": [], "centroid": []})
        for method, refine in (("flow", False), ("flow_refined", True)):
            carried = mask
            for f in later:
                if carried is not None:
                    start = time.perf_counter()
                    carried, _ = carry_mask(frames[f - 1], frames[f], carried, refine=refine)
                    if not refine:  # the assistant's default
                        seconds, steps = seconds + time.perf_counter() - start, steps + 1
                scores[method].append(_iou(carried, truth[track, f][1]) if carried is not None else 0.0)
        scores["centroid"] += [_iou(_centroid_moved(mask, truth[track, f][1]), truth[track, f][1]) for f in later]
    summary = {name: {method: round(float(np.mean(values)), 3) for method, values in scores.items()}
               for name, scores in results.items()}
    summary["all"] = {method: round(float(np.mean([v for scores in results.values() for v in scores[method]])), 3)
                      for method in ("flow", "flow_refined", "centroid")}
    return summary, 1000 * seconds / max(steps, 1)


def _centroid_moved(mask: np.ndarray, target: np.ndarray) -> np.ndarray:
    shift = np.subtract(ndimage.center_of_mass(target), ndimage.center_of_mass(mask))
    return ndimage.shift(mask.astype(np.uint8), shift, order=0) > 0


if __name__ == "__main__":
    print(json.dumps(measure(quick="--quick" in sys.argv[1:]), indent=1))
