"""How far apart two shapes of one object are, in pixels: the yardstick for propagation and agreement.

* boxes: the mean distance between matching corners;
* points and keypoints: the mean distance between matching points;
* skeletons: the mean distance between matching points placed in both (their centres' distance when
  they share no placed point);
* lines, lanes, polygons and masks: the symmetric mean distance from each outline
  to the other (every point of one, densely sampled, to the nearest point of the other).
  Lanes are compared as their fitted curves.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import cKDTree

from ..core.errors import GeometryError
from ..core.geometry import ABSENT, Geometry, GeometryKind
from ..core.lanes import fit_lane

DENSE_STEP_PX = 1.0


def mean_distance(first: Geometry, second: Geometry, *, lane: bool = False) -> float:
    """Mean distance in pixels between two geometries of the same kind."""
    if first.kind is not second.kind:
        raise GeometryError(None, f"cannot compare a {first.kind} with a {second.kind}")
    if first.kind in (GeometryKind.BOX, GeometryKind.POINT, GeometryKind.KEYPOINTS):
        if len(first.points) != len(second.points):
            raise GeometryError(None, f"{first.kind} shapes have {len(first.points)} and {len(second.points)} points")
        return float(np.linalg.norm(first.points - second.points, axis=1).mean())
    if first.kind is GeometryKind.SKELETON:
        return _skeleton_distance(first, second)
    a, b = _outline(first, lane), _outline(second, lane)
    there = cKDTree(b).query(a)[0].mean()
    back = cKDTree(a).query(b)[0].mean()
    return float((there + back) / 2)


def _skeleton_distance(first: Geometry, second: Geometry) -> float:
    if len(first.points) != len(second.points):
        raise GeometryError(None, f"skeletons have {len(first.points)} and {len(second.points)} points")
    both = (first.visibility != ABSENT) & (second.visibility != ABSENT)
    if not both.any():
        return float(np.linalg.norm(first.present_points().mean(axis=0) - second.present_points().mean(axis=0)))
    return float(np.linalg.norm(first.points[both] - second.points[both], axis=1).mean())


def _outline(geometry: Geometry, lane: bool) -> np.ndarray:
    if geometry.kind is GeometryKind.MASK:
        contours, _ = cv2.findContours(geometry.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        return np.vstack([contour.reshape(-1, 2) for contour in contours]) + geometry.points[0]
    if lane:
        return fit_lane(geometry.points).polyline(DENSE_STEP_PX)
    points = geometry.points
    if geometry.kind is GeometryKind.POLYGON:
        points = np.vstack([points, points[:1]])
    return _dense(points)


def _dense(points: np.ndarray) -> np.ndarray:
    parts = [points[:1]]
    for start, end in zip(points[:-1], points[1:], strict=True):
        count = max(1, int(np.ceil(np.linalg.norm(end - start) / DENSE_STEP_PX)))
        parts.append(start + (end - start) * np.linspace(0, 1, count + 1)[1:, None])
    return np.vstack(parts)
