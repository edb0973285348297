"""Which lane is which, relative to the ego vehicle: numbered outwards from the car, as OpenLane does.

A lane's position is where it crosses the bottom row of the image (carried
along its end tangent when it stops short); the car is at the middle of that
row.  Lanes left of it are -1 (left), -2 (left-left), ...; lanes right of it
are 1 (right), 2 (right-right), ...  Recomputed from the curves whenever lanes change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .lanes import MISSING, LaneCurve, sample_rows_many

NAMES = {-2: "left-left", -1: "left", 1: "right", 2: "right-right"}


def bottom_crossing(curve: LaneCurve, height: int) -> float:
    """x where the lane meets the image's bottom row (its lowest point's x when its tangent never gets there)."""
    return float(bottom_crossings([curve], height)[0])


def bottom_crossings(curves: Sequence[LaneCurve], height: int) -> np.ndarray:
    """``bottom_crossing`` of many lanes: those that reach the row are sampled together."""
    row = float(height)
    crossings = sample_rows_many(curves, [row])[:, 0] if curves else np.zeros(0)
    for index in np.flatnonzero(crossings == MISSING):
        crossings[index] = _along_end_tangent(curves[index], row)
    return crossings


def _along_end_tangent(curve: LaneCurve, row: float) -> float:
    """Where the curve's nearer end, carried along its tangent, meets ``row``; else its lowest point's x."""
    reach = curve.end_tangent_reach(row)
    if reach is None:
        return float(curve.points[int(np.argmax(curve.points[:, 1])), 0])
    return float(reach[1][0])


def order_lanes(curves: Mapping[int, LaneCurve], width: int, height: int) -> dict[int, int]:
    """Each track id's position: -1, -2, ... outwards on the left; 1, 2, ... on the right."""
    ids = list(curves)
    return places(dict(zip(ids, bottom_crossings([curves[key] for key in ids], height), strict=True)), width)


def places(crossings: Mapping[int, float], width: int) -> dict[int, int]:
    """Positions from where each lane meets the bottom row: the car is at the middle of it."""
    ego = width / 2
    left = sorted((x, key) for key, x in crossings.items() if x < ego)[::-1]
    right = sorted((x, key) for key, x in crossings.items() if x >= ego)
    return {**{key: -(rank + 1) for rank, (_, key) in enumerate(left)},
            **{key: rank + 1 for rank, (_, key) in enumerate(right)}}


def order_name(position: int) -> str:
    """'left', 'left-left', 'right', ...; further out: 'left-3', 'right-4'."""
    return NAMES.get(position, f"{'left' if position < 0 else 'right'}-{abs(position)}")
