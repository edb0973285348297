"""Which lane is which, relative to the ego vehicle: numbered outwards from the car, as OpenLane does.

A lane's position is where it crosses the bottom row of the image (carried
along its end tangent when it stops short); the car is at the middle of that
row.  Lanes left of it are -1 (left), -2 (left-left), ...; lanes right of it
are 1 (right), 2 (right-right), ...  Recomputed from the curves whenever lanes change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .lanes import MISSING, CurveSet, LaneCurve, end_tangent_reaches

NAMES = {-2: "left-left", -1: "left", 1: "right", 2: "right-right"}


def bottom_crossing(curve: LaneCurve, height: int) -> float:
    """x where the lane meets the image's bottom row (its lowest point's x when its tangent never gets there)."""
    return float(bottom_crossings([curve], height)[0])


def bottom_crossings(curves: Sequence[LaneCurve] | CurveSet, height: int) -> np.ndarray:
    """``bottom_crossing`` of many lanes: those that reach the row are sampled together, the others carried along
    their end tangents together, lanes with the same number of points at once."""
    curves = curves if isinstance(curves, CurveSet) else CurveSet.of(curves)
    row = float(height)
    crossings = curves.sample_rows([row])[:, 0]
    for group in curves.groups:
        short = crossings[group.indices] == MISSING
        if short.any():
            crossings[group.indices[short]] = _along_end_tangent(group.points[short], row)
    return crossings


def _along_end_tangent(points: np.ndarray, row: float) -> np.ndarray:
    """Where each of (L, M, 2) curves' nearer end, carried along its tangent, meets ``row``; else its lowest x."""
    _, reached, reaches = end_tangent_reaches(points, row)
    lowest = points[np.arange(len(points)), np.argmax(points[..., 1], axis=1), 0]
    return np.where(reaches, reached[:, 0], lowest)


def order_lanes(curves: Mapping[int, LaneCurve], width: int, height: int) -> dict[int, int]:
    """Each track id's position: -1, -2, ... outwards on the left; 1, 2, ... on the right."""
    ids = list(curves)
    return places(dict(zip(ids, bottom_crossings([curves[key] for key in ids], height), strict=True)), width)


def places(crossings: Mapping[int, float], width: int) -> dict[int, int]:
    """Positions from where each lane meets the bottom row: the car is at the middle of it (ties: by key)."""
    keys = sorted(crossings)
    _, place = left_to_right(np.zeros(len(keys), dtype=int), np.array([crossings[key] for key in keys], dtype=float),
                             width)
    return dict(zip(keys, place.tolist(), strict=True))


def left_to_right(frames: np.ndarray, crossings: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Lanes of many frames at once, from each one's frame and bottom crossing: the order that puts them frame by
    frame (ascending) and left to right (ties: in the order given), and each lane's position (as ``places``)."""
    order = np.lexsort((crossings, frames))
    ranked_frames, right = frames[order], crossings[order] >= width / 2
    # A frame's left lanes come first: positions count from the frame's first right lane.
    first_right = np.searchsorted(ranked_frames * 2 + right, ranked_frames * 2 + 1)
    offset = np.arange(len(order)) - first_right
    place = np.empty(len(order), dtype=int)
    place[order] = np.where(right, offset + 1, offset)
    return order, place


def order_name(position: int) -> str:
    """'left', 'left-left', 'right', ...; further out: 'left-3', 'right-4'."""
    return NAMES.get(position, f"{'left' if position < 0 else 'right'}-{abs(position)}")
