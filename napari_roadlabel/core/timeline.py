"""Where a track's per-frame attributes change: runs of equal values over its states.

A light that is red on frames 0-119 and green from 120 gives
[Run(0, 119, "red"), Run(120, 240, "green")] for its ``state`` attribute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .annotations import FrameState


@dataclass(frozen=True)
class Run:
    start: int  # first frame with the value
    end: int  # last frame with the value (inclusive)
    value: Any


def attribute_runs(states: Iterable[FrameState], attribute: str) -> list[Run]:
    """Consecutive states (in frame order) with the same value of ``attribute`` as one run each."""
    runs: list[Run] = []
    for state in sorted(states, key=lambda state: state.frame):
        value = state.attributes.get(attribute)
        if runs and runs[-1].value == value:
            runs[-1] = Run(runs[-1].start, state.frame, value)
        else:
            runs.append(Run(state.frame, state.frame, value))
    return runs


def frame_runs(values: Iterable[tuple[int, Any]]) -> list[list]:
    """[start, end, value] for each stretch of consecutive frames (given in order) with one value; a gap in the
    frames ends a stretch too."""
    runs: list[list] = []
    for frame, value in values:
        if runs and runs[-1][1] == frame - 1 and runs[-1][2] == value:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame, value])
    return runs


def describe_runs(runs: list[Run]) -> str:
    """'red 0-119, green 120-240' (a single frame shows once: 'red 7')."""
    return ", ".join(f"{run.value} {run.start}" + (f"-{run.end}" if run.end != run.start else "") for run in runs)


def true_runs(flags) -> np.ndarray:
    """(K, 2): the first index and the one past the last of each stretch of True in a 1-D array, in order."""
    edges = np.diff(np.concatenate([[0], np.asarray(flags).astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)
