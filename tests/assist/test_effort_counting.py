"""The effort benchmark's counting of attribute edits (benchmarks/assist_parts/effort.py)."""

import importlib.util
from pathlib import Path

import pytest

EFFORT = Path(__file__).resolve().parents[2] / "benchmarks" / "assist_parts" / "effort.py"


@pytest.fixture(scope="module")
def attribute_edits():
    spec = importlib.util.spec_from_file_location("effort_benchmark", EFFORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.attribute_edits


def test_from_defaults_one_edit_per_stretch_of_a_true_value_not_the_default(attribute_edits):
    truth = ["red"] * 5 + ["green"] * 4 + ["unknown"] * 2 + ["red"] * 3
    assert attribute_edits(["unknown"] * len(truth), truth) == 3


def test_right_labels_need_no_edit(attribute_edits):
    truth = ["red", "red", "green", "yellow"]
    assert attribute_edits(list(truth), truth) == 0


def test_each_wrong_stretch_is_one_edit_however_it_is_wrong(attribute_edits):
    truth = ["red"] * 6 + ["green"] * 6
    labeled = ["red", "green", "yellow", "red", "red", "red"] + ["green"] * 3 + ["red"] + ["green"] * 2
    assert attribute_edits(labeled, truth) == 2  # frames 1-2 (two wrong values, one stretch), frame 9


def test_a_wrong_stretch_across_a_change_of_truth_is_two_edits(attribute_edits):
    assert attribute_edits(["off"] * 4, ["red", "red", "green", "green"]) == 2


def test_lengths_must_agree(attribute_edits):
    with pytest.raises(ValueError, match="3 labeled values against 2"):
        attribute_edits(["red"] * 3, ["red"] * 2)
