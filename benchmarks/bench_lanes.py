"""How close lane curves through a few clicks come to TuSimple ground truth, how fast they are, and what snapping does.

An annotator is simulated on the 6 TuSimple frames in ``shared/data/tusimple-lanenet6``:
for every ground-truth lane (its points with x != -2), k clicks are placed evenly by
arc length along the ground-truth polyline, both ends included, each moved by
Gaussian click noise (sigma 1.5 px, fixed seed, several trials).  The clicks are
fitted with both curve methods (centripetal Catmull-Rom and the y-spline) and
sampled at the ground-truth rows; the baseline is a straight polyline through the
same clicks (``np.interp`` of x over y).  Reported: the mean and max |x error| in
px over the rows a curve reaches, TuSimple point accuracy (the fraction of ground
truth points within 20 px; a row the curve misses counts as wrong) and coverage.

Snap to paint: each fitted curve is snapped onto the frame (``snap_to_paint``),
refitted through the snapped points (Catmull-Rom: they are 10 px apart) and
sampled again, at two ``max_shift`` values.
Two more figures explain what it does: where the TuSimple lines sit relative to
the centre of the paint (the ground-truth curves snapped themselves), and the same
simulation on rendered frames where the truth *is* the centre of the paint (the
same lanes painted on a synthetic road, dashed lanes dashed, by day and by night).

Speed: ``fit_lanes`` + ``sample_rows_many`` on 1,000 lanes (the 4-click lanes,
jittered), best of several runs, for both methods; the goal is 50 ms.

    python benchmarks/bench_lanes.py [--clicks 3 4 6] [--noise 1.5] [--trials 10] [--seed 0]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from napari_roadlabel.core.lanes import MISSING, fit_lanes, sample_rows_many  # noqa: E402
from napari_roadlabel.core.snap import snap_to_paint  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tusimple-lanenet6"
METHODS = {"catmull_rom": "catmull-rom", "y_spline": "y-spline"}
ACCURACY_PX = 20.0  # TuSimple's threshold for a correct point
GOAL_MEAN_PX = 2.0  # with 4 clicks
GOAL_RATIO = 2.0  # at least this many times lower than the polyline
GOAL_MS = 50.0
SPEED_LANES = 1000
SPEED_RUNS = 7
DASHED = 3  # TuSimple-category lane class "dashed"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, nargs="+", default=[3, 4, 6], help="clicks per lane")
    parser.add_argument("--noise", type=float, default=1.5, help="click noise sigma, px")
    parser.add_argument("--trials", type=int, default=10, help="noise draws per lane")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-shift", type=float, nargs="+", default=[3.0, 8.0], help="snap distances, px")
    return parser.parse_args()


def load_frames() -> list[dict]:
    """Each frame's RGB image, ground-truth lanes ((N, 2) x, y arrays) and lane classes."""
    labels = DATA / "label_data.json"
    if not labels.is_file():
        sys.exit(f"bench_lanes: the TuSimple sample is missing: {labels} not found "
                 f"(expected at <repo>/../shared/data/tusimple-lanenet6, see shared/data/SOURCES.md)")
    frames = []
    for line in labels.read_text().splitlines():
        record = json.loads(line)
        image = cv2.imread(str(DATA / record["raw_file"]), cv2.IMREAD_COLOR)
        if image is None:
            sys.exit(f"bench_lanes: cannot read {DATA / record['raw_file']}")
        rows = np.asarray(record["h_samples"], float)
        lanes = []
        for xs in record["lanes"]:
            xs = np.asarray(xs, float)
            keep = xs != MISSING
            if keep.sum() >= 2:
                lanes.append(np.column_stack([xs[keep], rows[keep]]))
        frames.append({"image": cv2.cvtColor(image, cv2.COLOR_BGR2RGB), "lanes": lanes,
                       "classes": record.get("lane_classes", [0] * len(lanes))})
    return frames


def clicks_on(truth: np.ndarray, count: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``count`` clicks evenly by arc length along a ground-truth polyline, ends included, with click noise."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(truth, axis=0), axis=1))])
    at = np.linspace(0.0, arc[-1], count)
    exact = np.column_stack([np.interp(at, arc, truth[:, 0]), np.interp(at, arc, truth[:, 1])])
    return exact + rng.normal(0.0, noise, exact.shape)


def polyline_rows(clicks: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The straight polyline through the clicks, x at each row; MISSING outside the clicked rows."""
    order = np.argsort(clicks[:, 1])
    ys, xs = clicks[order, 1], clicks[order, 0]
    x = np.interp(rows, ys, xs)
    return np.where((rows >= ys[0]) & (rows <= ys[-1]), x, MISSING)


class Score:
    """Errors of one method collected over lanes and trials."""

    def __init__(self):
        self.errors: list[np.ndarray] = []
        self.points = 0
        self.correct = 0

    def add(self, predicted: np.ndarray, truth_x: np.ndarray) -> None:
        reached = predicted != MISSING
        error = np.abs(predicted[reached] - truth_x[reached])
        self.errors.append(error)
        self.points += truth_x.size
        self.correct += int((error <= ACCURACY_PX).sum())

    def figures(self) -> dict:
        errors = np.concatenate(self.errors) if self.errors else np.zeros(0)
        return {"mean_px": round(float(errors.mean()), 3), "max_px": round(float(errors.max()), 2),
                "accuracy": round(self.correct / self.points, 4), "coverage": round(errors.size / self.points, 4)}


def snapped(curve, image, max_shift: float):
    """The curve snapped onto the image, refitted through the snapped points.

    The snapped points come every 10 px of arc, so they are refitted with Catmull-Rom,
    which runs through them as a polyline would; a natural y-spline through points that
    close (a few px apart in y on a flat lane) swings far between them.
    """
    result = snap_to_paint(curve, image, max_shift=max_shift)
    return fit_lanes([result.controls])[0], result


def simulate(frames, args, shifts) -> tuple[dict, dict, float]:
    """Scores by (method, clicks) without snapping, and by (method, clicks, max_shift) with it."""
    rng = np.random.default_rng(args.seed)
    plain: dict = {}
    snap: dict = {}
    snap_seconds, snap_count = 0.0, 0
    for frame in frames:
        for truth in frame["lanes"]:
            rows, truth_x = truth[:, 1], truth[:, 0]
            for count in args.clicks:
                for _ in range(args.trials):
                    clicks = clicks_on(truth, count, args.noise, rng)
                    plain.setdefault(("polyline", count), Score()).add(polyline_rows(clicks, rows), truth_x)
                    for key, method in METHODS.items():
                        curve = fit_lanes([clicks], method=method)[0]
                        plain.setdefault((key, count), Score()).add(curve.sample_rows(rows), truth_x)
                        for max_shift in shifts:
                            start = time.perf_counter()
                            moved, _ = snapped(curve, frame["image"], max_shift)
                            snap_seconds += time.perf_counter() - start
                            snap_count += 1
                            snap.setdefault((key, count, max_shift), Score()).add(moved.sample_rows(rows), truth_x)
    return plain, snap, snap_seconds / max(snap_count, 1) * 1000


def truth_to_paint(frames, max_shift: float = 12.0) -> dict:
    """Where TuSimple's lines sit relative to the paint: each ground-truth curve snapped itself (no click noise)."""
    offsets, found, total = [], 0, 0
    for frame in frames:
        curves = fit_lanes([truth for truth in frame["lanes"]])
        for curve in curves:
            result = snap_to_paint(curve, frame["image"], max_shift=max_shift)
            offsets.append(np.abs(result.shifts[result.found]))
            found += int(result.found.sum())
            total += result.found.size
    offsets = np.concatenate(offsets)
    return {"paint_seen": round(found / total, 3), "median_px": round(float(np.median(offsets)), 2),
            "p90_px": round(float(np.percentile(offsets, 90)), 2),
            "over_3px": round(float((offsets > 3).mean()), 3)}


def repeatability(frames, args, max_shift: float) -> dict:
    """Where paint is seen: distance of curve samples to the paint centre, before and after snapping.

    The paint centre is where the ground-truth curve snaps to (<= 12 px); the
    curves are the Catmull-Rom curves through 4 noisy clicks.  This asks whether
    snapping puts different annotators' curves on the same line, whatever
    convention the ground truth follows.
    """
    rng = np.random.default_rng(args.seed + 2)
    before, after = [], []
    for frame in frames:
        for truth in frame["lanes"]:
            reference = snap_to_paint(fit_lanes([truth])[0], frame["image"], max_shift=12.0)
            if reference.found.sum() < 3:
                continue
            centre = fit_lanes([reference.controls])[0].polyline(0.5)
            seen = reference.controls[reference.found]
            for _ in range(args.trials):
                result = snap_to_paint(fit_lanes([clicks_on(truth, 4, args.noise, rng)])[0], frame["image"],
                                       max_shift=max_shift)
                near = result.found & (_nearest(result.controls, seen) < 12.0)
                before.append(_nearest(result.samples[near], centre))
                after.append(_nearest(result.controls[near], centre))
    before, after = np.concatenate(before), np.concatenate(after)
    return {"samples": int(before.size), "before_median_px": round(float(np.median(before)), 2),
            "before_mean_px": round(float(before.mean()), 2), "after_median_px": round(float(np.median(after)), 2),
            "after_mean_px": round(float(after.mean()), 2), "after_p90_px": round(float(np.percentile(after, 90)), 2)}


def _nearest(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    if not len(points):
        return np.zeros(0)
    return np.sqrt(((points[:, None, :] - line[None, :, :]) ** 2).sum(axis=2)).min(axis=1)


def render(frame: dict, night: bool, seed: int) -> np.ndarray:
    """The frame's lanes painted 6 px wide on a synthetic noisy road (dashed lanes dashed): truth = paint centre."""
    rng = np.random.default_rng(seed)
    height, width = frame["image"].shape[:2]
    level, noise, paint = (25.0, 3.0, 70.0) if night else (100.0, 8.0, 220.0)
    road = level + rng.normal(0, noise, (height, width)) + cv2.GaussianBlur(rng.normal(0, noise * 3, (height, width)),
                                                                            (0, 0), 3)
    mask = np.zeros((height, width), np.uint8)
    for truth, kind in zip(frame["lanes"], frame["classes"], strict=False):
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(truth, axis=0), axis=1))])
        dense_arc = np.arange(0.0, arc[-1], 1.0)
        dense = np.column_stack([np.interp(dense_arc, arc, truth[:, 0]), np.interp(dense_arc, arc, truth[:, 1])])
        keep = (dense_arc % 100) < 40 if kind == DASHED else np.ones(len(dense), bool)
        for piece in np.split(dense, np.flatnonzero(np.diff(keep.astype(int))) + 1):
            if keep[int(np.flatnonzero((dense == piece[0]).all(axis=1))[0])] and len(piece) > 1:
                cv2.polylines(mask, [np.round(piece * 16).astype(np.int32)], False, 255, 6, cv2.LINE_AA, shift=4)
    alpha = mask / 255.0
    gray = np.clip(road * (1 - alpha) + paint * alpha, 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def rendered_scores(frames, args, max_shift: float) -> dict:
    """Catmull-Rom with 4 clicks, without and with snapping, on rendered day and night frames."""
    rng = np.random.default_rng(args.seed + 1)
    scores: dict = {}
    for night in (False, True):
        for index, frame in enumerate(frames):
            image = render(frame, night, args.seed + index)
            for truth in frame["lanes"]:
                rows, truth_x = truth[:, 1], truth[:, 0]
                for _ in range(args.trials):
                    curve = fit_lanes([clicks_on(truth, 4, args.noise, rng)])[0]
                    scores.setdefault((night, False), Score()).add(curve.sample_rows(rows), truth_x)
                    moved, _ = snapped(curve, image, max_shift)
                    scores.setdefault((night, True), Score()).add(moved.sample_rows(rows), truth_x)
    return {("night" if night else "day", on): score.figures() for (night, on), score in scores.items()}


def speed(frames, noise: float, seed: int) -> dict:
    """Best-of-runs ms to fit and sample SPEED_LANES lanes: the 4-click lanes of every frame, jittered."""
    rng = np.random.default_rng(seed)
    truths = [truth for frame in frames for truth in frame["lanes"]]
    lanes = [clicks_on(truths[index % len(truths)], 4, noise, rng) for index in range(SPEED_LANES)]
    rows = np.arange(160.0, 720.0, 10.0)
    figures = {}
    for key, method in METHODS.items():
        best = np.inf
        for _ in range(SPEED_RUNS):
            start = time.perf_counter()
            sample_rows_many(fit_lanes(lanes, method=method), rows)
            best = min(best, time.perf_counter() - start)
        figures[key] = best * 1000
    start = time.perf_counter()
    for curve in fit_lanes(lanes):
        curve.sample_rows(rows)
    figures["catmull_rom_lane_by_lane"] = (time.perf_counter() - start) * 1000
    return figures


def main() -> None:
    args = parse_args()
    frames = load_frames()
    lanes = sum(len(frame["lanes"]) for frame in frames)
    points = sum(len(truth) for frame in frames for truth in frame["lanes"])
    plain, snap, snap_ms = simulate(frames, args, args.max_shift)
    offsets = truth_to_paint(frames)
    repeat = repeatability(frames, args, max(args.max_shift))
    rendered = rendered_scores(frames, args, max(args.max_shift))
    timing = speed(frames, args.noise, args.seed)

    print(f"{lanes} TuSimple lanes in {len(frames)} frames, {points} ground-truth points; clicks evenly by arc "
          f"length with {args.noise} px noise, {args.trials} trials per lane")
    print(f"{'curve':<30} {'clicks':>6} {'mean px':>8} {'max px':>8} {'accuracy':>9} {'coverage':>9}")
    results: dict = {}
    for count in args.clicks:
        for key in (*METHODS, "polyline"):
            figures = plain[(key, count)].figures()
            results.setdefault(key, {})[str(count)] = figures
            print(f"{key:<30} {count:>6} {figures['mean_px']:>8.2f} {figures['max_px']:>8.1f} "
                  f"{figures['accuracy']:>9.3f} {figures['coverage']:>9.3f}")
    print()
    snap_results: dict = {}
    for max_shift in args.max_shift:
        for count in args.clicks:
            for key in METHODS:
                figures = snap[(key, count, max_shift)].figures()
                before = results[key][str(count)]["mean_px"]
                snap_results.setdefault(f"max_shift_{max_shift:g}", {}).setdefault(key, {})[str(count)] = figures
                label = f"{key} + snap <= {max_shift:g} px"
                print(f"{label:<30} {count:>6} {figures['mean_px']:>8.2f} {figures['max_px']:>8.1f} "
                      f"{figures['accuracy']:>9.3f} {figures['coverage']:>9.3f}   "
                      f"{'lower' if figures['mean_px'] < before else 'HIGHER'} than {before:.2f} without")
    print(f"snap: {snap_ms:.1f} ms per lane")
    print(f"TuSimple lines against the paint centre (ground-truth curves snapped, <= 12 px): paint seen at "
          f"{offsets['paint_seen']:.0%} of samples, offset median {offsets['median_px']} px, "
          f"90th percentile {offsets['p90_px']} px, over 3 px at {offsets['over_3px']:.0%}")
    print(f"where paint is seen, distance of a 4-click catmull-rom curve to the paint centre: median "
          f"{repeat['before_median_px']} px (mean {repeat['before_mean_px']}) before snapping, "
          f"{repeat['after_median_px']} px (mean {repeat['after_mean_px']}, p90 {repeat['after_p90_px']}) after")
    for light in ("day", "night"):
        off, on = rendered[(light, False)], rendered[(light, True)]
        print(f"rendered {light} frames (truth = paint centre), catmull-rom, 4 clicks: mean {off['mean_px']:.2f} "
              f"-> {on['mean_px']:.2f} px with snap <= {max(args.max_shift):g} px, max {off['max_px']:.1f} "
              f"-> {on['max_px']:.1f} px")
    print()

    four = str(4) if 4 in args.clicks else str(args.clicks[0])
    spline_mean = results["catmull_rom"][four]["mean_px"]
    ratio = results["polyline"][four]["mean_px"] / spline_mean
    meets_mean, meets_ratio = spline_mean <= GOAL_MEAN_PX, ratio >= GOAL_RATIO
    fastest_needed = max(timing[key] for key in METHODS)
    meets_speed = fastest_needed <= GOAL_MS
    snap_lower = {shift: all(snap_results[shift][key][str(count)]["mean_px"] < results[key][str(count)]["mean_px"]
                             for key in METHODS for count in args.clicks) for shift in snap_results}

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(f"goal: {four} clicks, catmull-rom mean <= {GOAL_MEAN_PX:g} px: {spline_mean:.2f} px, {verdict(meets_mean)}")
    print(f"goal: {four} clicks, >= {GOAL_RATIO:g}x lower than the polyline: x{ratio:.2f}, {verdict(meets_ratio)}")
    for shift, lower in snap_lower.items():
        print(f"goal: snap lowers the mean error ({shift.replace('max_shift_', '<= ')} px, every method and click "
              f"count): {verdict(lower)}")
    print(f"goal: fit + sample {SPEED_LANES:,} lanes <= {GOAL_MS:g} ms: catmull-rom {timing['catmull_rom']:.1f} ms, "
          f"y-spline {timing['y_spline']:.1f} ms, {verdict(meets_speed)} "
          f"(catmull-rom lane by lane with LaneCurve.sample_rows: {timing['catmull_rom_lane_by_lane']:.1f} ms)")
    print(json.dumps({
        "lanes": lanes, "points": points, "noise_px": args.noise, "trials": args.trials, **results,
        "snap": snap_results, "snap_ms_per_lane": round(snap_ms, 2), "truth_to_paint": offsets,
        "paint_repeatability": repeat,
        "rendered_snap": {f"{light}_{'on' if on else 'off'}": figures for (light, on), figures in rendered.items()},
        "fit_sample_1000_ms": round(timing["catmull_rom"], 2),
        "fit_sample_1000_ms_y_spline": round(timing["y_spline"], 2),
        "fit_sample_1000_ms_lane_by_lane": round(timing["catmull_rom_lane_by_lane"], 2),
        "meets_accuracy_goal": bool(meets_mean and meets_ratio), "meets_mean_goal": bool(meets_mean),
        "meets_polyline_ratio_goal": bool(meets_ratio), "polyline_ratio": round(ratio, 2),
        "snap_lowers_error": {shift: bool(lower) for shift, lower in snap_lower.items()},
        "meets_speed_goal": bool(meets_speed),
    }))


if __name__ == "__main__":
    main()
