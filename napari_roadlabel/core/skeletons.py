"""Skeletons: a class's fixed set of named points, the edges between them and their left/right pairs.

A taxonomy class may declare one under its ``skeleton:`` key::

    skeleton:
      points: [head, left_hand, right_hand]   # the order of every state's rows
      edges: [[head, left_hand], [head, right_hand]]
      flip: [[left_hand, right_hand]]         # optional: swapped by a horizontal flip

A skeleton state (``GeometryKind.SKELETON``, core/geometry.py) has one row per
point in that order, each visible, occluded or absent.  The edges are drawn and
checked (QA ``limb-jump``); the flip pairs keep a mirrored image right
(:func:`flipped`) and let QA see a left/right swap (``skeleton-flip``).
:func:`template_in_box` places a standing person (COCO's point names) in a
box, a start to adjust instead of clicking every point.
Definition errors are TaxonomyErrors naming the file, the key and the reason,
e.g. ``classes.pedestrian.skeleton.edges[3]: unknown point 'knee'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import GeometryError, TaxonomyError
from .geometry import VISIBLE, Geometry, GeometryKind, make_skeleton


@dataclass(frozen=True)
class Skeleton:
    points: tuple[str, ...]  # point names in the order of a state's rows
    edges: tuple[tuple[str, str], ...]  # pairs of point names
    flip: tuple[tuple[str, str], ...] = ()  # (left, right) pairs swapped by a horizontal flip

    def index(self, point: str) -> int:
        return self.points.index(point)

    def edge_indices(self) -> list[tuple[int, int]]:
        return [(self.index(a), self.index(b)) for a, b in self.edges]

    def flip_indices(self) -> list[tuple[int, int]]:
        return [(self.index(a), self.index(b)) for a, b in self.flip]

    def to_dict(self) -> dict:
        body: dict[str, Any] = {"points": list(self.points), "edges": [list(edge) for edge in self.edges]}
        if self.flip:
            body["flip"] = [list(pair) for pair in self.flip]
        return body

    def state_from(self, points, visibility, names=None, *, where: str | None = None) -> Geometry:
        """A state in this skeleton's point order from a file's points: named by ``names`` (any order; a point
        they leave out is absent), or without names one per point in order.  GeometryError names ``where``."""
        points, visibility = np.asarray(points, dtype=np.float64), np.asarray(visibility)
        if names is None:
            if len(points) != len(self.points):
                raise GeometryError(where, f"the skeleton has {len(points)} points; its class's skeleton has "
                                           f"{len(self.points)}")
            return make_skeleton(points, visibility, where=where)
        unknown = [name for name in names if name not in self.points]
        if unknown:
            raise GeometryError(where, f"the class's skeleton has no point {unknown[0]!r}")
        order = [self.index(name) for name in names]
        placed, flags = np.full((len(self.points), 2), np.nan), np.zeros(len(self.points), np.uint8)
        placed[order], flags[order] = points, visibility
        return make_skeleton(placed, flags, where=where)

    def check(self, geometry: Geometry, where: str | None = None) -> None:
        """GeometryError unless ``geometry`` is a skeleton state with one row per point of this skeleton."""
        if geometry.kind is GeometryKind.SKELETON and len(geometry.points) != len(self.points):
            raise GeometryError(where, f"skeleton has {len(geometry.points)} points; its class's skeleton has "
                                       f"{len(self.points)} ({', '.join(self.points[:4])}, ...)")


# A person standing and facing the camera, each of COCO's points as a fraction of the person's box (0, 0 at its
# top left): their left side is on the image's right.
STANDING_PERSON = {
    "nose": (0.50, 0.08), "left_eye": (0.54, 0.06), "right_eye": (0.46, 0.06), "left_ear": (0.60, 0.08),
    "right_ear": (0.40, 0.08), "left_shoulder": (0.70, 0.20), "right_shoulder": (0.30, 0.20),
    "left_elbow": (0.78, 0.36), "right_elbow": (0.22, 0.36), "left_wrist": (0.80, 0.50), "right_wrist": (0.20, 0.50),
    "left_hip": (0.62, 0.52), "right_hip": (0.38, 0.52), "left_knee": (0.62, 0.74), "right_knee": (0.38, 0.74),
    "left_ankle": (0.62, 0.95), "right_ankle": (0.38, 0.95),
}


def template_in_box(skeleton: Skeleton, bounds, pose: dict = STANDING_PERSON, *, where: str | None = None) -> Geometry:
    """A state of ``skeleton`` with ``pose`` (point name -> fraction of the box) scaled into ``bounds`` (xmin, ymin,
    xmax, ymax), every point visible; a point the pose does not name is absent.  GeometryError naming ``where``
    when the pose names none of the skeleton's points."""
    xmin, ymin, xmax, ymax = bounds
    points, visibility = np.full((len(skeleton.points), 2), np.nan), np.zeros(len(skeleton.points), np.uint8)
    for index, name in enumerate(skeleton.points):
        if name in pose:
            u, v = pose[name]
            points[index], visibility[index] = (xmin + u * (xmax - xmin), ymin + v * (ymax - ymin)), VISIBLE
    if not visibility.any():
        raise GeometryError(where, f"no template for the skeleton's points ({', '.join(skeleton.points[:4])}, ...)")
    return make_skeleton(points, visibility, where=where)


def flipped(geometry: Geometry, skeleton: Skeleton, width: float) -> Geometry:
    """A skeleton state as it lies in the image mirrored left to right (``x -> width - x``): every point
    mirrored, and each left/right pair's rows swapped, so a left shoulder is still called left."""
    points = geometry.points.copy()
    points[:, 0] = width - points[:, 0]
    order = np.arange(len(points))
    for left, right in skeleton.flip_indices():
        order[left], order[right] = right, left
    return make_skeleton(points[order], geometry.visibility[order])


def parse_skeleton(body: Any, key: str, where) -> Skeleton:
    """A Skeleton from a taxonomy's ``skeleton:`` mapping; TaxonomyError(where, reason, key path) otherwise."""
    if not isinstance(body, dict):
        raise TaxonomyError(where, "must be a mapping with 'points', 'edges' and optional 'flip'", key)
    unknown = sorted(set(body) - {"points", "edges", "flip"})
    if unknown:
        raise TaxonomyError(where, "unknown key (allowed: ['edges', 'flip', 'points'])", f"{key}.{unknown[0]}")
    points = body.get("points")
    if not isinstance(points, list) or not points:
        raise TaxonomyError(where, "must list the skeleton's point names", f"{key}.points")
    for index, name in enumerate(points):
        if not isinstance(name, str) or not name.strip():
            raise TaxonomyError(where, f"point names must be non-empty text, got {name!r}", f"{key}.points[{index}]")
        if name in points[:index]:
            raise TaxonomyError(where, f"point {name!r} is listed twice", f"{key}.points[{index}]")
    edges = _parse_pairs(body.get("edges", []), points, f"{key}.edges", where)
    _check_edges_once(edges, f"{key}.edges", where)
    flip = _parse_pairs(body.get("flip", []), points, f"{key}.flip", where)
    _check_paired_once(flip, f"{key}.flip", where)
    return Skeleton(points=tuple(points), edges=tuple(edges), flip=tuple(flip))


def _parse_pairs(pairs: Any, points: list[str], key: str, where) -> list[tuple[str, str]]:
    if not isinstance(pairs, list):
        raise TaxonomyError(where, "must be a list of [point, point] pairs", key)
    parsed = []
    for index, pair in enumerate(pairs):
        place = f"{key}[{index}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise TaxonomyError(where, f"must be a [point, point] pair, got {pair!r}", place)
        for name in pair:
            if name not in points:
                raise TaxonomyError(where, f"unknown point {name!r}", place)
        if pair[0] == pair[1]:
            raise TaxonomyError(where, f"joins point {pair[0]!r} to itself", place)
        parsed.append((pair[0], pair[1]))
    return parsed


def _check_edges_once(edges: list[tuple[str, str]], key: str, where) -> None:
    seen = set()
    for index, edge in enumerate(edges):
        if frozenset(edge) in seen:  # a-b and b-a are one edge
            raise TaxonomyError(where, f"edge {list(edge)} is listed twice", f"{key}[{index}]")
        seen.add(frozenset(edge))


def _check_paired_once(pairs: list[tuple[str, str]], key: str, where) -> None:
    seen: set[str] = set()
    for index, pair in enumerate(pairs):
        for name in pair:
            if name in seen:
                raise TaxonomyError(where, f"point {name!r} is paired twice", f"{key}[{index}]")
            seen.add(name)
