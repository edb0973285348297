"""The two standard lane-detection metrics: TuSimple accuracy/FP/FN and CULane precision/recall/F1.

Both are re-implemented here, with numpy, scipy and OpenCV, from the published evaluation code:

**TuSimple**: ``TuSimple/tusimple-benchmark``, ``evaluate/lane.py`` (class ``LaneEval``: ``get_angle``,
``line_accuracy``, ``bench``, ``bench_one_submit``).  Lanes are x lists at the ``h_samples`` rows.

- A negative x (TuSimple writes -2) means "no point on this row".  ``line_accuracy`` moves every such entry,
  in the prediction and in the truth, to x = -100: two missing points therefore agree, and a missing point
  never agrees with a present one (x >= 0).  The score is the share of *all* rows that agree, missing rows
  included, so a prediction with -2 where the truth has a point loses that row.
- Rows agree when ``|x_pred - x_true| < pixel_thresh / cos(angle)`` (strictly less), ``pixel_thresh`` = 20 and
  ``angle = arctan(k)``, k the slope of the least-squares line x = k * y + b through the truth lane's present
  points (angle 0 with fewer than 2 points): a slanted lane gets a wider horizontal tolerance.
- Each truth lane takes its best accuracy over all predictions; it is matched when that is >= ``pt_thresh``
  (0.85), else it is a false negative.  FP = predictions - matched truth lanes (the benchmark does not make
  the matching one-to-one, so two truth lanes close to one prediction can drive it below zero; kept as is).
- With more than 4 truth lanes the worst lane's accuracy is dropped from the sum and one false negative is
  forgiven.  accuracy = sum / max(min(4, truth lanes), 1); fp = FP / predictions (0 without predictions);
  fn = FN / max(min(truth lanes, 4), 1).
- More than ``truth lanes + 2`` predictions scores the frame as (accuracy 0, fp 0, fn 1).  A prediction list
  whose length differs from ``h_samples`` is an error (here a ``FormatError``); the benchmark's 200 ms
  run-time limit does not apply to annotations and is left out.
- ``bench_one_submit`` sums the per-frame results and divides by the number of frames.

**CULane**: ``XingangPan/SCNN``, ``tools/lane_evaluation`` (``src/lane_compare.cpp``, ``src/spline.cpp``,
``src/counter.cpp``, ``src/evaluate.cpp``, read in the copy at ``cfzd/Ultra-Fast-Lane-Detection``
``evaluation/culane/src``), checked against the Python port ``Turoad/CLRNet`` ``clrnet/utils/culane_metric.py``
(from ``Turoad/lanedet`` and LaneATT).  Lanes are (N, 2) arrays of x, y pixel points.

- A lane of 3 or more points is first densified with a natural cubic spline in x and y, parameterised by the
  chord length between points, 50 samples per segment plus the last point (``splineInterpTimes(lane, 50)``);
  a 2-point lane stays a straight segment.
- Each lane is drawn as a polyline 30 px thick (``cv::line``, points rounded to whole pixels) on a mask of the
  image size; the IoU of two lanes is the overlap of their masks.
- Predictions and truth lanes are paired one-to-one to maximise the total IoU (the C++ code's Kuhn-Munkres
  matching; here ``scipy.optimize.linear_sum_assignment``); a pair is a true positive when its IoU > 0.5.
  FP = predictions - TP, FN = truth lanes - TP.
- TP, FP and FN are summed over all frames before precision = TP / (TP + FP), recall = TP / (TP + FN) and
  F1 = 2PR / (P + R).  Where a ratio has a zero denominator it is 0 here (the C++ code prints -1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import linear_sum_assignment

from ..core import FormatError
from .pixels import PixelWindow

# --------------------------------------------------------------------------------------------------- TuSimple

ABSENT_X = -100.0  # where LaneEval moves a missing point: far left of any real x, equal to any other missing one
MAX_COUNTED_LANES = 4  # TuSimple scores the ego lanes and their neighbours: at most 4 lanes per frame
EXTRA_LANES_ALLOWED = 2  # more predictions than truth lanes + this, and the frame is a total miss


@dataclass(frozen=True)
class TuSimpleFrame:
    """One image's result, as ``LaneEval.bench`` returns it."""

    accuracy: float
    fp: float
    fn: float


@dataclass(frozen=True)
class TuSimpleScore:
    """The per-frame results averaged over ``frames`` images, as ``LaneEval.bench_one_submit`` does."""

    accuracy: float
    fp: float
    fn: float
    frames: int


def tusimple_frame(predicted: Sequence[Sequence[float]], truth: Sequence[Sequence[float]],
                   h_samples: Sequence[float], *, pixel_threshold: float = 20.0,
                   point_threshold: float = 0.85) -> TuSimpleFrame:
    """Score one image's predicted lanes against its truth lanes (x lists at ``h_samples``, -2 = no point)."""
    rows = _h_samples(h_samples)
    predictions = _tusimple_lanes(predicted, rows.size, "predicted")
    truths = _tusimple_lanes(truth, rows.size, "truth")
    _check_positive("pixel_threshold", pixel_threshold)
    if not 0.0 <= point_threshold <= 1.0:
        raise FormatError(None, f"point_threshold must be between 0 and 1, got {point_threshold!r}")
    if len(predictions) > len(truths) + EXTRA_LANES_ALLOWED:
        return TuSimpleFrame(accuracy=0.0, fp=0.0, fn=1.0)

    thresholds = [tusimple_threshold(xs, rows, pixel_threshold) for xs in truths]  # once per truth lane
    best = [max((tusimple_lane_accuracy(lane, xs, threshold) for lane in predictions), default=0.0)
            for xs, threshold in zip(truths, thresholds, strict=True)]
    matched = sum(accuracy >= point_threshold for accuracy in best)
    missed = len(truths) - matched
    total = sum(best)
    if len(truths) > MAX_COUNTED_LANES:
        # Only 4 lanes count: the worst one leaves the sum, and one miss is forgiven.
        total -= min(best)
        missed = max(missed - 1, 0)
    counted = max(min(len(truths), MAX_COUNTED_LANES), 1)
    false_positive_rate = (len(predictions) - matched) / len(predictions) if predictions else 0.0
    return TuSimpleFrame(accuracy=total / counted, fp=false_positive_rate, fn=missed / counted)


def tusimple_score(frames: Iterable[tuple[Sequence[Sequence[float]], Sequence[Sequence[float]], Sequence[float]]],
                   **options: float) -> TuSimpleScore:
    """Average ``tusimple_frame`` over ``(predicted, truth, h_samples)`` frames; options go to ``tusimple_frame``."""
    accuracy = fp = fn = 0.0
    count = 0
    for index, (predicted, truth, h_samples) in enumerate(frames):
        result = _in_frame(index, tusimple_frame, predicted, truth, h_samples, **options)
        accuracy, fp, fn, count = accuracy + result.accuracy, fp + result.fp, fn + result.fn, count + 1
    if count == 0:
        raise FormatError(None, "no frames to score: the TuSimple averages need at least one frame")
    return TuSimpleScore(accuracy=accuracy / count, fp=fp / count, fn=fn / count, frames=count)


def tusimple_threshold(truth_xs: np.ndarray, rows: np.ndarray, pixel_threshold: float = 20.0) -> float:
    """The horizontal tolerance for one truth lane: wider the more the lane leans (``pixel / cos(angle)``)."""
    return pixel_threshold / float(np.cos(tusimple_angle(truth_xs, rows)))


def tusimple_angle(truth_xs: np.ndarray, rows: np.ndarray) -> float:
    """arctan of the slope dx/dy of the least-squares line through the lane's present points (0 below 2 points)."""
    present = truth_xs >= 0
    xs, ys = truth_xs[present], rows[present]
    if xs.size < 2:
        return 0.0
    spread = float(np.sum((ys - ys.mean()) ** 2))
    if spread == 0.0:  # all points on one row: no slope to fit (a least-squares fit gives 0 too)
        return 0.0
    return float(np.arctan(np.sum((ys - ys.mean()) * (xs - xs.mean())) / spread))


def tusimple_lane_accuracy(predicted_xs: np.ndarray, truth_xs: np.ndarray, threshold: float) -> float:
    """Share of the rows where the two lanes agree within ``threshold``; missing points agree only with each other."""
    predicted_xs = np.where(predicted_xs >= 0, predicted_xs, ABSENT_X)
    truth_xs = np.where(truth_xs >= 0, truth_xs, ABSENT_X)
    return float(np.count_nonzero(np.abs(predicted_xs - truth_xs) < threshold)) / truth_xs.size


def _h_samples(h_samples: Sequence[float]) -> np.ndarray:
    rows = _float_array(h_samples, "h_samples")
    if rows.ndim != 1 or rows.size == 0:
        raise FormatError(None, f"h_samples must be a non-empty list of row numbers, got shape {rows.shape}")
    if not np.all(np.isfinite(rows)):
        raise FormatError(None, "h_samples has a value that is not a finite number (NaN or infinity)")
    return rows


def _tusimple_lanes(lanes: Sequence[Sequence[float]], rows: int, role: str) -> list[np.ndarray]:
    checked = []
    for number, lane in enumerate(lanes):
        xs = _float_array(lane, f"{role} lane {number}")
        if xs.ndim != 1 or xs.size != rows:
            raise FormatError(None, f"{role} lane {number} has {xs.size if xs.ndim == 1 else xs.shape} x values "
                                    f"but h_samples has {rows} rows: a TuSimple lane needs one x per row")
        if not np.all(np.isfinite(xs)):
            raise FormatError(None, f"{role} lane {number} has an x that is not a finite number (NaN or infinity); "
                                    "write -2 for a row without a point")
        checked.append(xs)
    return checked


# ----------------------------------------------------------------------------------------------------- CULane

SPLINE_STEPS = 50  # samples per segment between two lane points, as lane_compare.cpp asks of its spline


@dataclass(frozen=True)
class CULaneCounts:
    """True positives, false positives and false negatives of one frame, or summed over frames with ``+``."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def __add__(self, other: object) -> CULaneCounts:
        if not isinstance(other, CULaneCounts):
            return NotImplemented
        return CULaneCounts(self.true_positives + other.true_positives,
                            self.false_positives + other.false_positives,
                            self.false_negatives + other.false_negatives)

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 0 when nothing was predicted."""
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 0 when there was no truth lane."""
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall; 0 when both are 0."""
        precision, recall = self.precision, self.recall
        return _ratio(2 * precision * recall, precision + recall)


def culane_frame(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray], size: tuple[int, int], *,
                 width: int = 30, iou_threshold: float = 0.5) -> CULaneCounts:
    """Count one image's TP/FP/FN: lanes ((N, 2) x, y points) paired one-to-one by IoU, kept when IoU > threshold."""
    if not 0.0 <= iou_threshold <= 1.0:
        raise FormatError(None, f"iou_threshold must be between 0 and 1, got {iou_threshold!r}")
    ious = culane_iou_matrix(predicted, truth, size, width=width)
    if ious.size == 0:  # nothing to pair: every prediction is a false positive, every truth lane a miss
        return CULaneCounts(0, ious.shape[0], ious.shape[1])
    rows, columns = linear_sum_assignment(ious, maximize=True)
    hits = int(np.count_nonzero(ious[rows, columns] > iou_threshold))
    return CULaneCounts(hits, ious.shape[0] - hits, ious.shape[1] - hits)


def culane_score(frames: Iterable[tuple[Sequence[np.ndarray], Sequence[np.ndarray], tuple[int, int]]],
                 **options: float) -> CULaneCounts:
    """Sum ``culane_frame`` over ``(predicted, truth, size)`` frames; read precision/recall/f1 off the sum."""
    total = CULaneCounts()
    for index, (predicted, truth, size) in enumerate(frames):
        total += _in_frame(index, culane_frame, predicted, truth, size, **options)
    return total


def culane_iou_matrix(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray], size: tuple[int, int], *,
                      width: int = 30) -> np.ndarray:
    """IoU of every predicted lane (rows) with every truth lane (columns), each drawn ``width`` px thick."""
    predicted_masks = culane_windows(predicted, size, width=width, role="predicted lane")
    truth_masks = culane_windows(truth, size, width=width, role="truth lane")
    ious = np.zeros((len(predicted_masks), len(truth_masks)))
    for i, a in enumerate(predicted_masks):
        for j, b in enumerate(truth_masks):
            ious[i, j] = a.iou(b)
    return ious


def culane_windows(lanes: Sequence[np.ndarray], size: tuple[int, int], *, width: int = 30,
                   role: str = "lane") -> list[PixelWindow]:
    """Each lane ((N, 2) x, y points) drawn as CULane draws it, ``width`` px thick, once: compare any two with
    ``PixelWindow.iou`` (a lane compared with many others is not drawn again for each)."""
    shape = _image_shape(size)
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise FormatError(None, f"the lane width must be a positive whole number of pixels, got {width!r}")
    # Each lane is drawn in the part of the image it can reach, not on the whole image: the same pixels, far
    # fewer to draw and count.
    return [_lane_window(_culane_lane(lane, f"{role} {n}"), shape, int(width)) for n, lane in enumerate(lanes)]


def lane_mask(points: np.ndarray, shape: tuple[int, int], width: int = 30) -> np.ndarray:
    """The lane as CULane sees it: spline through the points, drawn ``width`` px thick on a (height, width) mask."""
    return _draw(_lane_pixels(points), shape, width)


def _lane_pixels(points: np.ndarray) -> np.ndarray:
    # cv::line takes whole pixels (Point2f is rounded); the clip keeps absurd coordinates inside int32.
    return np.clip(np.rint(densify_lane(points)), -(2**30), 2**30).astype(np.int64)


def _lane_window(points: np.ndarray, shape: tuple[int, int], width: int) -> PixelWindow:
    """The lane's mask in the part of the (rows, columns) image that the lane drawn ``width`` thick can touch."""
    pixels = _lane_pixels(points)
    low = np.clip(pixels.min(axis=0) - width, 0, [shape[1] - 1, shape[0] - 1])
    high = np.maximum(np.minimum(pixels.max(axis=0) + width + 1, [shape[1], shape[0]]), low + 1)
    window = (int(high[1] - low[1]), int(high[0] - low[0]))
    return PixelWindow(_draw(pixels - low, window, width), int(low[0]), int(low[1]))


def _draw(pixels: np.ndarray, shape: tuple[int, int], width: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    drawn = np.clip(pixels, -(2**30), 2**30).astype(np.int32)
    cv2.polylines(mask, [drawn.reshape(-1, 1, 2)], isClosed=False, color=1, thickness=int(width))
    return mask.astype(bool)


def densify_lane(points: np.ndarray) -> np.ndarray:
    """The points CULane draws: a natural cubic spline over chord length, 50 samples a segment, plus the last point."""
    points = _without_repeats(points)
    if len(points) < 3:  # a straight segment (or a dot) needs no spline, as in lane_compare.cpp
        return points
    chords = np.linalg.norm(np.diff(points, axis=0), axis=1)
    knots = np.concatenate([[0.0], np.cumsum(chords)])
    spline = CubicSpline(knots, points, axis=0, bc_type="natural")
    steps = np.arange(SPLINE_STEPS) / SPLINE_STEPS
    samples = (knots[:-1, None] + chords[:, None] * steps).ravel()
    return np.vstack([spline(samples), points[-1:]])


def _without_repeats(points: np.ndarray) -> np.ndarray:
    # A repeated point is a zero-length segment; the spline's chord parameter must strictly increase.
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(np.diff(points, axis=0) != 0, axis=1)
    return points[keep]


def _culane_lane(lane: np.ndarray, name: str) -> np.ndarray:
    points = _float_array(lane, name)
    if points.ndim != 2 or points.shape[1] != 2:
        raise FormatError(None, f"{name} must be an (N, 2) array of x, y points, got shape {points.shape}")
    if len(points) < 2:
        raise FormatError(None, f"{name} has {len(points)} point(s): a CULane lane needs at least 2")
    if not np.all(np.isfinite(points)):
        raise FormatError(None, f"{name} has a coordinate that is not a finite number (NaN or infinity)")
    return points


def _image_shape(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) -> the (rows, columns) shape of a mask, after checking both are positive whole numbers."""
    try:
        image_width, image_height = size
    except (TypeError, ValueError):
        raise FormatError(None, f"size must be (width, height), got {size!r}") from None
    for name, value in (("width", image_width), ("height", image_height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise FormatError(None, f"the image {name} must be a positive whole number of pixels, got {value!r}")
    return int(image_height), int(image_width)


# ----------------------------------------------------------------------------------------------------- shared


def _float_array(values: object, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise FormatError(None, f"{name} is not a list of numbers ({error})") from None


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value > 0):
        raise FormatError(None, f"{name} must be a positive number, got {value!r}")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _in_frame(index: int, score, *args, **options):
    """Score one frame of a sequence; a bad input names the frame it is in."""
    try:
        return score(*args, **options)
    except FormatError as error:
        raise FormatError(None, f"frame {index}: {error.reason}") from error
