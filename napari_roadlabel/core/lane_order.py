"""Which lane is which, relative to the ego vehicle: numbered outwards from the car, as OpenLane does.

A lane's position is where it crosses the bottom row of the image (carried
along its end tangent when it stops short); the car is at the middle of that
row.  Lanes left of it are -1 (left), -2 (left-left), ...; lanes right of it
are 1 (right), 2 (right-right), ...  Recomputed from the curves whenever lanes change.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .lanes import MISSING, LaneCurve

NAMES = {-2: "left-left", -1: "left", 1: "right", 2: "right-right"}


def bottom_crossing(curve: LaneCurve, height: int) -> float:
    """x where the lane meets the image's bottom row (its lowest point's x when its tangent never gets there)."""
    x = curve.extended(float(height)).sample_rows([float(height)])[0]
    if x == MISSING:
        x = curve.points[int(np.argmax(curve.points[:, 1])), 0]
    return float(x)


def order_lanes(curves: Mapping[int, LaneCurve], width: int, height: int) -> dict[int, int]:
    """Each track id's position: -1, -2, ... outwards on the left; 1, 2, ... on the right."""
    ego = width / 2
    crossings = {track_id: bottom_crossing(curve, height) for track_id, curve in curves.items()}
    left = sorted((x, track_id) for track_id, x in crossings.items() if x < ego)[::-1]
    right = sorted((x, track_id) for track_id, x in crossings.items() if x >= ego)
    return {**{track_id: -(rank + 1) for rank, (_, track_id) in enumerate(left)},
            **{track_id: rank + 1 for rank, (_, track_id) in enumerate(right)}}


def order_name(position: int) -> str:
    """'left', 'left-left', 'right', ...; further out: 'left-3', 'right-4'."""
    return NAMES.get(position, f"{'left' if position < 0 else 'right'}-{abs(position)}")
