"""TuSimple and CULane lane metrics: the published rules on small constructed lanes, and on real TuSimple labels."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from napari_roadlabel.core.errors import FormatError
from napari_roadlabel.qa.lane_metrics import (
    CULaneCounts,
    TuSimpleFrame,
    culane_frame,
    culane_iou_matrix,
    culane_score,
    tusimple_frame,
    tusimple_lane_accuracy,
    tusimple_score,
    tusimple_threshold,
)

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
TUSIMPLE_LABELS = SHARED_DATA / "tusimple-lanenet6" / "label_data.json"

ROWS = list(range(160, 720, 10))  # TuSimple's 56 h_samples
SIZE = (640, 600)  # (width, height) for the CULane drawings


def vertical(x: float) -> list[float]:
    """A TuSimple lane straight up the image at column x."""
    return [float(x)] * len(ROWS)


def slanted(x_top: float, slope: float) -> list[float]:
    """A TuSimple lane that moves ``slope`` px right for each px down."""
    return [x_top + slope * (row - ROWS[0]) for row in ROWS]


def segment(x: float, top: float = 100.0, bottom: float = 500.0) -> np.ndarray:
    """A CULane lane: a vertical 2-point segment at column x."""
    return np.array([[x, top], [x, bottom]])


# ----------------------------------------------------------------------------------------------------- TuSimple


def test_tusimple_identical_lanes_score_perfectly():
    lanes = [vertical(200), vertical(400), slanted(600, 0.5), vertical(900)]
    assert tusimple_frame(lanes, lanes, ROWS) == TuSimpleFrame(accuracy=1.0, fp=0.0, fn=0.0)


@pytest.mark.parametrize(("shift", "matched"), [(10, True), (19, True), (25, False)])
def test_tusimple_a_shifted_lane_matches_within_20_px(shift, matched):
    result = tusimple_frame([vertical(400 + shift)], [vertical(400)], ROWS)
    if matched:
        assert result == TuSimpleFrame(1.0, 0.0, 0.0)
    else:  # every row is off: accuracy 0, the truth lane missed, the prediction a false positive
        assert result == TuSimpleFrame(0.0, 1.0, 1.0)


def test_tusimple_angle_threshold_lets_a_steep_lane_pass():
    steep = slanted(100, 1.5)  # 1.5 px right per px down: about 56 degrees from vertical
    shifted = [x + 30 for x in steep]
    threshold = tusimple_threshold(np.array(steep), np.array(ROWS, dtype=float))
    assert threshold == pytest.approx(20 / math.cos(math.atan(1.5)))  # = 20 * sqrt(1 + 1.5**2), about 36 px
    assert tusimple_lane_accuracy(np.array(shifted), np.array(steep), 20.0) == 0.0  # a fixed 20 px fails
    assert tusimple_frame([shifted], [steep], ROWS) == TuSimpleFrame(1.0, 0.0, 0.0)
    # the same 30 px shift on an upright lane is a miss
    assert tusimple_frame([vertical(430)], [vertical(400)], ROWS).fn == 1.0


def test_tusimple_missing_lane_is_a_false_negative():
    truth = [vertical(100), vertical(300), vertical(500), vertical(700)]
    result = tusimple_frame(truth[:3], truth, ROWS)
    assert result == TuSimpleFrame(accuracy=0.75, fp=0.0, fn=0.25)


def test_tusimple_extra_lane_is_a_false_positive():
    truth = [vertical(100), vertical(300), vertical(500)]
    result = tusimple_frame([*truth, vertical(1000)], truth, ROWS)
    assert result == TuSimpleFrame(accuracy=1.0, fp=0.25, fn=0.0)


def test_tusimple_more_than_four_truth_lanes_drops_the_worst():
    truth = [vertical(x) for x in (100, 300, 500, 700, 900)]
    # 4 of 5 found: the unfound one is dropped and its miss forgiven
    assert tusimple_frame(truth[:4], truth, ROWS) == TuSimpleFrame(1.0, 0.0, 0.0)
    # 3 of 5 found: one of the two misses is forgiven, and the divisor stays 4
    assert tusimple_frame(truth[:3], truth, ROWS) == TuSimpleFrame(accuracy=0.75, fp=0.0, fn=0.25)
    # with exactly 4 truth lanes nothing is forgiven
    assert tusimple_frame(truth[:3], truth[:4], ROWS) == TuSimpleFrame(accuracy=0.75, fp=0.0, fn=0.25)
    assert tusimple_frame(truth[:2], truth[:4], ROWS) == TuSimpleFrame(accuracy=0.5, fp=0.0, fn=0.5)


def test_tusimple_more_than_two_extra_predictions_is_a_total_miss():
    truth = [vertical(300)]
    predictions = [vertical(x) for x in (300, 500, 700, 900)]  # truth + 3
    assert tusimple_frame(predictions, truth, ROWS) == TuSimpleFrame(accuracy=0.0, fp=0.0, fn=1.0)
    assert tusimple_frame(predictions[:3], truth, ROWS) == TuSimpleFrame(accuracy=1.0, fp=2 / 3, fn=0.0)


def test_tusimple_minus_two_rows():
    truth = [-2.0] * 6 + vertical(400)[6:]  # no point on the 6 top rows
    # missing where the truth is missing: those rows agree
    assert tusimple_frame([truth], [truth], ROWS) == TuSimpleFrame(1.0, 0.0, 0.0)
    # points where the truth has none: those rows disagree, 50 of 56 still match (>= 0.85)
    assert tusimple_frame([vertical(400)], [truth], ROWS).accuracy == pytest.approx(50 / 56)
    # -2 where the truth has points: 9 rows lost, 47 of 56 < 0.85, so the lane is missed
    holes = truth[:6] + [-2.0] * 9 + truth[15:]
    result = tusimple_frame([holes], [truth], ROWS)
    assert result.accuracy == pytest.approx(47 / 56)
    assert (result.fp, result.fn) == (1.0, 1.0)


def test_tusimple_matching_is_not_one_to_one_so_fp_can_go_negative():
    # As in LaneEval.bench: one prediction between two close truth lanes matches both of them.
    result = tusimple_frame([vertical(305)], [vertical(300), vertical(310)], ROWS)
    assert result == TuSimpleFrame(accuracy=1.0, fp=-1.0, fn=0.0)


def test_tusimple_score_averages_frames():
    truth = [vertical(100), vertical(300), vertical(500), vertical(700)]
    frames = [(truth, truth, ROWS), (truth[:2], truth, ROWS), ([*truth, vertical(900)], truth, ROWS)]
    score = tusimple_score(frames)
    assert score.frames == 3
    assert score.accuracy == pytest.approx((1 + 0.5 + 1) / 3)
    assert score.fp == pytest.approx((0 + 0 + 0.2) / 3)
    assert score.fn == pytest.approx((0 + 0.5 + 0) / 3)


def test_tusimple_score_passes_thresholds_through():
    frames = [([vertical(425)], [vertical(400)], ROWS)]
    assert tusimple_score(frames).fn == 1.0
    assert tusimple_score(frames, pixel_threshold=30.0).fn == 0.0


@pytest.mark.parametrize(("predicted", "truth", "rows", "message"), [
    ([[math.nan] * 56], [vertical(400)], ROWS, "predicted lane 0 has an x that is not a finite number"),
    ([vertical(400)], [[math.nan] * 56], ROWS, "truth lane 0 has an x that is not a finite number"),
    ([vertical(400)[:-1]], [vertical(400)], ROWS, "predicted lane 0 has 55 x values but h_samples has 56 rows"),
    ([vertical(400)], [vertical(400) + [1.0]], ROWS, "truth lane 0 has 57 x values but h_samples has 56 rows"),
    ([], [], [], "h_samples must be a non-empty list"),
    ([], [], [1.0, math.nan], "h_samples has a value that is not a finite number"),
    ([["a"] * 56], [vertical(400)], ROWS, "predicted lane 0 is not a list of numbers"),
])
def test_tusimple_bad_input_raises(predicted, truth, rows, message):
    with pytest.raises(FormatError, match=message):
        tusimple_frame(predicted, truth, rows)


def test_tusimple_score_names_the_bad_frame_and_refuses_no_frames():
    good = ([vertical(400)], [vertical(400)], ROWS)
    with pytest.raises(FormatError, match="frame 1: predicted lane 0 has 3 x values"):
        tusimple_score([good, ([[1.0, 2.0, 3.0]], [vertical(400)], ROWS)])
    with pytest.raises(FormatError, match="no frames to score"):
        tusimple_score([])


# ------------------------------------------------------------------------------------------------------- CULane


def test_culane_identical_lanes_score_perfectly():
    curve = np.array([[100.0, 550.0], [180.0, 400.0], [230.0, 250.0], [250.0, 120.0]])
    lanes = [segment(300), curve, segment(500, top=50, bottom=590)]
    counts = culane_frame(lanes, lanes, SIZE)
    assert counts == CULaneCounts(3, 0, 0)
    assert (counts.precision, counts.recall, counts.f1) == (1.0, 1.0, 1.0)


def test_culane_iou_of_30_px_lines():
    ious = culane_iou_matrix([segment(300), segment(305), segment(340)], [segment(300)], SIZE).ravel()
    assert ious[0] == 1.0
    assert 0.5 < ious[1] < 0.8  # about (30 - 5) / (30 + 5)
    assert ious[2] == 0.0


def test_culane_shift_5_px_matches_40_px_does_not():
    assert culane_frame([segment(305)], [segment(300)], SIZE) == CULaneCounts(1, 0, 0)
    assert culane_frame([segment(340)], [segment(300)], SIZE) == CULaneCounts(0, 1, 1)


def test_culane_a_spline_through_collinear_points_is_the_straight_line():
    three = np.array([[100.0, 100.0], [200.0, 300.0], [300.0, 500.0]])
    two = three[[0, 2]]
    assert culane_iou_matrix([three], [two], SIZE)[0, 0] == 1.0


def test_culane_hungarian_matching_beats_greedy():
    # Truth lanes A (x=300) and B (x=309); predictions P (x=302) and Q (x=295).
    # The best single pair is P-A; a greedy matcher takes it and leaves Q-B below 0.5: one hit.
    # Pairing P-B and Q-A has the larger total IoU and both pairs above 0.5: two hits.
    predicted, truth = [segment(302), segment(295)], [segment(300), segment(309)]
    ious = culane_iou_matrix(predicted, truth, SIZE)
    assert ious.argmax() == 0 and ious[1, 1] < 0.5 < min(ious[0, 1], ious[1, 0])
    assert culane_frame(predicted, truth, SIZE) == CULaneCounts(2, 0, 0)


def test_culane_unmatched_and_empty_frames():
    assert culane_frame([segment(100), segment(300)], [segment(300)], SIZE) == CULaneCounts(1, 1, 0)
    assert culane_frame([segment(300)], [segment(100), segment(300)], SIZE) == CULaneCounts(1, 0, 1)
    assert culane_frame([segment(100), segment(300)], [], SIZE) == CULaneCounts(0, 2, 0)
    assert culane_frame([], [segment(300)], SIZE) == CULaneCounts(0, 0, 1)
    empty = culane_frame([], [], SIZE)
    assert empty == CULaneCounts(0, 0, 0)
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)


def test_culane_score_sums_frames_before_the_ratios():
    frames = [
        ([segment(100), segment(300)], [segment(100), segment(300)], SIZE),  # 2 TP
        ([segment(100), segment(500)], [segment(100), segment(300)], SIZE),  # 1 TP, 1 FP, 1 FN
        ([segment(200)], [segment(100), segment(300), segment(500)], SIZE),  # 0 TP, 1 FP, 3 FN
    ]
    total = culane_score(frames)
    assert total == CULaneCounts(3, 2, 4)
    assert total == sum((culane_frame(*frame) for frame in frames), CULaneCounts())
    assert total.precision == pytest.approx(3 / 5)
    assert total.recall == pytest.approx(3 / 7)
    assert total.f1 == pytest.approx(2 * (3 / 5) * (3 / 7) / (3 / 5 + 3 / 7))  # = 2TP / (2TP + FP + FN) = 1/2
    assert total.f1 == pytest.approx(0.5)


def test_culane_score_passes_options_through():
    frames = [([segment(312)], [segment(300)], SIZE)]  # IoU about 18 / 42 = 0.43
    assert culane_score(frames).true_positives == 0
    assert culane_score(frames, iou_threshold=0.3).true_positives == 1
    assert culane_score(frames, width=60).true_positives == 1


@pytest.mark.parametrize(("predicted", "truth", "size", "message"), [
    ([np.array([[1.0, math.nan], [5.0, 9.0]])], [], SIZE, "predicted lane 0 has a coordinate that is not a finite"),
    ([], [segment(1), np.array([[3.0, 4.0]])], SIZE, "truth lane 1 has 1 point.*needs at least 2"),
    ([np.array([1.0, 2.0, 3.0])], [], SIZE, r"predicted lane 0 must be an \(N, 2\) array"),
    ([], [], (0, 600), "the image width must be a positive whole number"),
    ([], [], (640, -1), "the image height must be a positive whole number"),
    ([], [], (640.5, 600), "the image width must be a positive whole number"),
    ([], [], 640, r"size must be \(width, height\)"),
])
def test_culane_bad_input_raises(predicted, truth, size, message):
    with pytest.raises(FormatError, match=message):
        culane_frame(predicted, truth, size)


@pytest.mark.parametrize(("options", "message"), [
    ({"width": 0}, "the lane width must be a positive whole number"),
    ({"iou_threshold": 1.5}, "iou_threshold must be between 0 and 1"),
])
def test_culane_bad_options_raise(options, message):
    with pytest.raises(FormatError, match=message):
        culane_frame([segment(300)], [segment(300)], SIZE, **options)


def test_culane_score_names_the_bad_frame():
    with pytest.raises(FormatError, match="frame 1: truth lane 0 has 1 point"):
        culane_score([([], [], SIZE), ([], [np.array([[1.0, 2.0]])], SIZE)])


# ---------------------------------------------------------------------------------------- real TuSimple labels


def _tusimple_labels() -> list[dict]:
    if not TUSIMPLE_LABELS.is_file():
        pytest.skip(f"real TuSimple labels not found at {TUSIMPLE_LABELS}")
    return [json.loads(line) for line in TUSIMPLE_LABELS.read_text().splitlines() if line.strip()]


def _as_points(label: dict) -> list[np.ndarray]:
    return [np.array([(x, y) for x, y in zip(lane, label["h_samples"], strict=True) if x >= 0], dtype=float)
            for lane in label["lanes"]]


def test_real_tusimple_labels_against_themselves():
    labels = _tusimple_labels()
    score = tusimple_score((label["lanes"], label["lanes"], label["h_samples"]) for label in labels)
    assert score.frames == len(labels) == 6
    assert (score.accuracy, score.fp, score.fn) == (1.0, 0.0, 0.0)  # one frame has 5 lanes: the >4 rule applies


def test_real_tusimple_labels_as_culane_points_against_themselves():
    labels = _tusimple_labels()
    counts = culane_score((_as_points(label), _as_points(label), (1280, 720)) for label in labels)
    assert counts.true_positives == sum(len(label["lanes"]) for label in labels)
    assert (counts.false_positives, counts.false_negatives) == (0, 0)
    assert counts.f1 == 1.0
