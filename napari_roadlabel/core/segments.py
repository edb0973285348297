"""Where polylines cross: each other (two lanes), themselves (a lane folding over), or a polygon its own edges."""

from __future__ import annotations

import numpy as np


def segment_crossings(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where polyline a[k] meets polyline b[k], for (K, N, 2) arrays: (k of each hit, hit points), in order along a.

    ``mask`` (N-1, N-1) limits the segment pairs looked at.  Parallel segments never count.
    """
    start, step = a[:, :-1, None], np.diff(a, axis=1)[:, :, None]  # (K, N-1, 1, 2)
    hits, t = segment_hits(start, step, b[:, None, :-1], np.diff(b, axis=1)[:, None])  # b's: (K, 1, M-1, 2)
    if mask is not None:
        hits &= mask
    k, i, j = np.nonzero(hits)
    return k, a[k, i] + t[k, i, j, None] * (a[k, i + 1] - a[k, i])


def segment_hits(start: np.ndarray, step: np.ndarray, other: np.ndarray,
                 other_step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether the segments start..start+step meet the segments other..other+step (arrays of points that
    broadcast), and where along the first (0..1).  Parallel segments never meet."""
    denominator = cross(step, other_step)
    offset = other - start
    with np.errstate(divide="ignore", invalid="ignore"):
        t = cross(offset, other_step) / denominator
        u = cross(offset, step) / denominator
    return (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1), t  # NaN and infinity (parallel) compare false


def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def polygon_self_crossing(points: np.ndarray) -> np.ndarray | None:
    """Where a polygon's outline (N, 2, not closed) crosses itself (a bow-tie), else None.

    Edges that share a corner are not compared: they always meet there.
    """
    ring = np.concatenate([points, points[:1]])[None]
    edges = len(points)
    apart = np.triu(np.ones((edges, edges), dtype=bool), k=2)
    apart[0, -1] = False  # the first and last edges share the first corner
    _, hits = segment_crossings(ring, ring, apart)
    return hits[0] if len(hits) else None
