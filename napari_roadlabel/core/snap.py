"""Snap a lane curve onto the painted marking nearby: an optional refinement after the annotator's clicks.

How it works, all vectorised over the samples of one curve:

1. Samples every ``spacing`` px of arc along the curve (at most ``LOOK_EVERY`` px apart
   while looking for paint), each with its unit normal.
2. Two paint-likeness channels, Gaussian-smoothed in a box around the curve only:
   brightness (white paint) and yellowness, ``(R + G) / 2 - B`` (yellow paint,
   which can be no brighter than light concrete).  A grey image has brightness only.
3. An intensity profile across the curve at each sample, along the normal within
   ``max_shift`` plus room for the filter, averaged over a few px along the curve.
4. A bar response at every offset of every profile and for a few paint widths:
   the mean over the bar minus the brighter of its two flanks.  A painted line is
   brighter than the road on *both* sides, so an edge (a shadow, the kerb, a car)
   scores nothing.
5. Significance against the profile's own background: each response is divided by
   the noise of its profile, 1.4826 x the MAD of its pixel-to-pixel steps (the
   paint adds only its two edges to those, however wide it is), and must also
   exceed ``min_contrast`` grey levels.  Because the threshold is relative, dim
   paint on a dark night road counts as much as fresh paint by day, and an empty
   road (a gap between dashes, worn-off paint) finds nothing.
6. At each sample the strongest significant local peak within +-``max_shift`` is the
   paint; a peak on the rim of the band is refused (the paint is further away).
   A peak counts only when another sample within ``NEIGHBOURS`` of it along the
   curve saw paint too, and when its shift agrees with their median (an outlier
   is a car, a crack or noise; the paint line is continuous).  Sub-pixel peaks are
   kept as they are: smoothing them would pull the ends of a curved line inwards.
7. Samples without evidence: between two samples with evidence at most ``max_gap`` px
   of arc apart (the gap of a dashed line) the shift is interpolated; otherwise it
   fades linearly to zero over ``taper`` px, so the curve is left where the
   annotator put it where no paint is seen, without a kink.  Shifts never exceed
   ``max_shift``.

The result's ``controls`` are the moved samples, ``spacing`` px apart: the new control
points to store, for the (default) Catmull-Rom curve, which runs through points that
close like a polyline.  A y-spline through them can swing between points a few px apart
in y on a flat lane.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import map_coordinates

from .errors import GeometryError
from .lanes import LaneCurve

WIDTHS = (3, 5, 9, 15, 25)  # paint widths tried, px: far thin lines to near wide ones
MIN_SCORE = 8.0  # a peak must stand this many times the noise of its profile above its flanks
MIN_CONTRAST = 2.0  # and be at least this bright against its flanks, grey levels (0..255)
SMOOTHING = 1.0  # sigma of the Gaussian blur of the paint channels, px
ALONG = 3.0  # profiles are averaged over -ALONG, 0, +ALONG px along the curve
NEIGHBOURS = 2  # a peak is checked against the peaks of this many samples either side
SUPPORT = 2  # paint must be seen at this many samples of such a window, agreeing, to count
LOOK_EVERY = 10.0  # px of arc: paint is looked for at least this often along the curve
TAPER = 30.0  # px of arc over which a shift fades to nothing past the last paint seen
SPREAD_FLOOR = 0.25  # grey levels: the least noise assumed (a synthetic flat image has none)


@dataclass(frozen=True)
class SnapResult:
    """Where a curve's samples were and where they moved, in x, y pixels."""

    controls: np.ndarray  # (N, 2) the moved samples: the new control points of the lane
    samples: np.ndarray  # (N, 2) the samples on the input curve, every ``spacing`` px of arc
    shifts: np.ndarray  # (N,) signed move along the curve's normal, px; 0 where the curve was left alone
    found: np.ndarray  # (N,) paint seen at this sample (after the outlier check)

    @property
    def moved_max(self) -> float:
        """The largest move of any sample, px."""
        return float(np.abs(self.shifts).max()) if self.shifts.size else 0.0

    @property
    def evidence(self) -> float:
        """The fraction of samples where paint was seen."""
        return float(self.found.mean()) if self.found.size else 0.0


def snap_to_paint(curve: LaneCurve, image: np.ndarray, *, max_shift: float = 8.0, spacing: float = 10.0,
                  max_gap: float = 160.0, taper: float = TAPER, widths: tuple[int, ...] = WIDTHS,
                  min_score: float = MIN_SCORE, min_contrast: float = MIN_CONTRAST,
                  where: str | None = None) -> SnapResult:
    """Move ``curve`` onto the painted marking within ``max_shift`` px of it, where there is paint to see.

    ``image`` is the frame, (H, W, 3) RGB or (H, W) grey, uint8.  The result has a
    sample every ``spacing`` px of arc (paint is looked for at least every
    ``LOOK_EVERY`` px whatever the spacing); samples off the image are left alone.
    ``max_gap`` is the longest stretch without paint that a shift is carried across
    (the gap of a dashed line); ``taper`` is how far a shift fades out past the last
    paint seen elsewhere.
    """
    return snap_many([curve], image, max_shift=max_shift, spacing=spacing, max_gap=max_gap, taper=taper,
                     widths=widths, min_score=min_score, min_contrast=min_contrast, where=where)[0]


def snap_many(curves: list[LaneCurve], image: np.ndarray, *, max_shift: float = 8.0, spacing: float = 10.0,
              max_gap: float = 160.0, taper: float = TAPER, widths: tuple[int, ...] = WIDTHS,
              min_score: float = MIN_SCORE, min_contrast: float = MIN_CONTRAST,
              where: str | None = None) -> list[SnapResult]:
    """``snap_to_paint`` of many curves on one frame, each giving what it gives alone (to 1e-6 px: sums run in
    another order).

    The paint response is computed once, over the band of the image the curves' profiles reach, and
    the profiles of every sample of every curve are read and scored together.
    """
    where = where or "snap to paint"
    image = np.asarray(image)
    channels = _check(image, max_shift, spacing, max_gap, taper, widths, where)
    looks = [_arc_steps(curve.length, min(spacing, LOOK_EVERY)) for curve in curves]
    points = [curve.at_arc_length(look) for curve, look in zip(curves, looks, strict=True)]
    normals = [_normals(curve, look) for curve, look in zip(curves, looks, strict=True)]
    height, width = image.shape[:2]
    on_image = [(p[:, 0] >= 0) & (p[:, 0] <= width - 1) & (p[:, 1] >= 0) & (p[:, 1] <= height - 1) for p in points]
    raw, seen = _find_paint_of_curves(channels, points, normals, on_image, max_shift, widths, min_score,
                                      min_contrast)
    results = []
    for curve, look, shifts, found in zip(curves, looks, raw, seen, strict=True):
        shifts, found = _consistent(shifts, found, max_shift)
        shifts = _fill(shifts, found, look, max_gap, taper)
        arc = _arc_steps(curve.length, spacing)
        samples = curve.at_arc_length(arc)
        shifts = np.clip(np.interp(arc, look, shifts), -max_shift, max_shift)
        found = np.interp(arc, look, found.astype(float)) >= 0.5
        results.append(SnapResult(samples + shifts[:, None] * _normals(curve, arc), samples, shifts, found))
    return results


def _find_paint_of_curves(channels, points, normals, on_image, max_shift, widths, min_score, min_contrast):
    """Each curve's shifts and found flags at its look samples (zero and False off the image), in one pass."""
    counts = [int(inside.sum()) for inside in on_image]
    shifts = [np.zeros(len(inside)) for inside in on_image]
    found = [np.zeros(len(inside), bool) for inside in on_image]
    if sum(counts):
        curve_of = np.repeat(np.arange(len(counts)), counts)
        raw, seen = _find_paint(channels, np.vstack([p[i] for p, i in zip(points, on_image, strict=True)]),
                                np.vstack([n[i] for n, i in zip(normals, on_image, strict=True)]), curve_of,
                                max_shift, widths, min_score, min_contrast)
        for index, (inside, part) in enumerate(zip(on_image, np.split(np.arange(len(raw)), np.cumsum(counts)[:-1]),
                                                   strict=True)):
            shifts[index][inside], found[index][inside] = raw[part], seen[part]
    return shifts, found


def _arc_steps(length: float, step: float) -> np.ndarray:
    """Arc lengths from 0 to ``length``, equally spaced at most ``step`` apart."""
    return np.linspace(0.0, length, max(2, int(np.ceil(length / step)) + 1))


def _check(image: np.ndarray, max_shift, spacing, max_gap, taper, widths, where: str) -> list[np.ndarray]:
    """The image's channels (R, G, B or grey) when every argument is valid; a GeometryError naming the bad one."""
    for name, value, least in (("max_shift", max_shift, 0.0), ("spacing", spacing, 0.0), ("taper", taper, 0.0)):
        if not np.isfinite(value) or value <= least:
            raise GeometryError(where, f"{name} must be a positive number of pixels, got {value}")
    if not np.isfinite(max_gap) or max_gap < 0:
        raise GeometryError(where, f"max_gap must be 0 or more pixels, got {max_gap}")
    if not widths or min(widths) < 1:
        raise GeometryError(where, f"paint widths must be whole pixels >= 1, got {widths}")
    if image.dtype != np.uint8:
        raise GeometryError(where, f"the image must be uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 3 and image.size:
        return [image[..., 0], image[..., 1], image[..., 2]]
    if image.ndim == 2 and image.size:
        return [image]
    raise GeometryError(where, f"the image must be (H, W, 3) RGB or (H, W) grey, got shape {image.shape}")


def _normals(curve: LaneCurve, arc: np.ndarray) -> np.ndarray:
    """Unit normals of the curve at these arc lengths: the tangent turned by 90 degrees, (-ty, tx)."""
    step = min(2.0, curve.length / 4)
    tangent = curve.at_arc_length(arc + step) - curve.at_arc_length(arc - step)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)
    return np.column_stack([-tangent[:, 1], tangent[:, 0]])


def _find_paint(channels, samples, normals, curve_of, max_shift, widths, min_score, min_contrast):
    """The signed offset of the paint along the normal at each sample, and whether any was found.

    ``curve_of`` gives each sample's curve: a profile's noise floor is taken over its own curve.
    """
    search = int(np.ceil(max_shift)) + 1
    reach = search + max(half + flank for half, flank in _halves(widths))
    offsets = np.arange(-reach, reach + 1, dtype=float)
    along = np.array([-ALONG, 0.0, ALONG])
    tangents = np.column_stack([normals[:, 1], -normals[:, 0]])
    points = (samples[:, None, None, :] + along[None, :, None, None] * tangents[:, None, None, :]
              + offsets[None, None, :, None] * normals[:, None, None, :])  # (N, along, offsets, 2)
    profiles = _profiles(channels, points)  # each (N, offsets)
    centre = slice(reach - search, reach + search + 1)  # offsets -search..search
    score = np.full((len(samples), 2 * search + 1), -np.inf)
    for profile in profiles:
        noise = _background_spread(profile, curve_of)[:, None]
        score = np.maximum(score, bar_significance(profile, widths, min_contrast, noise)[0][:, centre])
    best = np.argmax(score, axis=1)
    rows = np.arange(len(samples))
    peak = score[rows, best]
    interior = (best > 0) & (best < 2 * search)
    found = interior & (peak >= min_score)
    # sub-pixel: a parabola through the peak and its neighbours
    left = score[rows, np.clip(best - 1, 0, 2 * search)]
    right = score[rows, np.clip(best + 1, 0, 2 * search)]
    with np.errstate(invalid="ignore", divide="ignore"):
        curvature = left - 2 * peak + right
        delta = np.where(np.isfinite(left) & np.isfinite(right) & (curvature < 0),
                         0.5 * (left - right) / curvature, 0.0)
    shift = best - search + np.clip(np.nan_to_num(delta), -0.5, 0.5)
    found &= np.abs(shift) <= max_shift
    return np.where(found, shift, 0.0), found


def _profiles(channels: list[np.ndarray], points: np.ndarray) -> list[np.ndarray]:
    """Paint-likeness profiles (brightness, and yellowness for colour) at (N, along, offsets, 2) x, y points."""
    margin = 4 * SMOOTHING + 2
    height, width = channels[0].shape
    low = np.floor(np.clip(points.reshape(-1, 2).min(axis=0) - margin, 0, None)).astype(int)
    high = np.ceil(np.minimum(points.reshape(-1, 2).max(axis=0) + margin + 1, [width, height])).astype(int)
    crop = paint_channels([channel[low[1]:high[1], low[0]:high[0]] for channel in channels])
    coordinates = [points[..., 1].ravel() - low[1], points[..., 0].ravel() - low[0]]
    result = []
    for smooth in crop:
        values = map_coordinates(smooth, coordinates, order=1, mode="nearest").reshape(points.shape[:-1])
        result.append(values.mean(axis=1))  # average along the curve
    return result


def paint_channels(channels: list[np.ndarray]) -> list[np.ndarray]:
    """Paint-likeness images from R, G, B (brightness and yellowness) or from grey (itself), float32, smoothed.

    Yellowness is ``(R + G) / 2 - B``: yellow paint can be no brighter than light concrete, but is far
    yellower.  Each is Gaussian-blurred (sigma ``SMOOTHING``) so that sensor noise makes no peaks.
    """
    planes = [np.asarray(channel, dtype=np.float32) for channel in channels]
    if len(planes) == 3:
        red, green, blue = planes
        planes = [0.299 * red + 0.587 * green + 0.114 * blue, (red + green) / 2 - blue]
    return [cv2.GaussianBlur(plane, (0, 0), SMOOTHING, borderType=cv2.BORDER_REFLECT) for plane in planes]


def bar_significance(profile: np.ndarray, widths: tuple[int, ...] = WIDTHS, min_contrast: float = MIN_CONTRAST,
                     noise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """How paint-like each position of (N, M) profiles is: (significance, contrast), each (N, M).

    The contrast is the bar response of the best paint width (the bar's mean minus its brighter flank,
    grey levels); the significance is that contrast over the noise, -inf where the contrast is under
    ``min_contrast`` or the bar does not fit (near the ends).  The noise is each profile's own
    (``_background_spread``) unless ``noise`` gives it, broadcast against the profiles (a local noise
    for image rows, which cross road, verge and trees).
    """
    profile = np.asarray(profile)
    spread = _background_spread(profile)[:, None] if noise is None else noise
    cumulative = np.zeros((profile.shape[0], profile.shape[1] + 1))
    np.cumsum(profile, axis=1, out=cumulative[:, 1:])
    significance = np.full(profile.shape, -np.inf)
    contrast = np.zeros(profile.shape)
    for half, flank in _halves(widths):
        response = _bar_response(cumulative, half, flank)
        with np.errstate(invalid="ignore"):
            ratio = response / spread
            better = (response >= min_contrast) & (ratio > significance)
        significance = np.where(better, ratio, significance)
        contrast = np.where(better, response, contrast)
    return significance, contrast


def _halves(widths: tuple[int, ...]) -> list[tuple[int, int]]:
    """(half bar, flank) in px for each paint width."""
    return [(int(width) // 2, max(2, int(width) // 2)) for width in widths]


def _bar_response(cumulative: np.ndarray, half: int, flank: int) -> np.ndarray:
    """Mean over a bar of 2*half+1 samples minus the brighter of the two flanks beside it; NaN near the ends.

    ``cumulative`` is each profile's running sum with a 0 in front, (N, M + 1): every mean is a difference of
    two of its columns, taken for all positions at once by slicing.
    """
    count = cumulative.shape[1] - 1
    reach = half + flank
    result = np.full((len(cumulative), count), np.nan)
    valid = count - 2 * reach  # positions reach..count-reach-1 have the bar and both flanks inside
    if valid <= 0:
        return result

    def mean(start: int, length: int) -> np.ndarray:  # over offsets start..start+length-1 from each position
        first = reach + start
        return (cumulative[:, first + length:first + length + valid] - cumulative[:, first:first + valid]) / length

    flanks = np.maximum(mean(-half - flank, flank), mean(half + 1, flank))
    result[:, reach:count - reach] = mean(-half, 2 * half + 1) - flanks
    return result


def _background_spread(profile: np.ndarray, curve_of: np.ndarray | None = None) -> np.ndarray:
    """The noise of each profile: 1.4826 x the MAD of its steps from one pixel to the next.

    Steps see the texture of the road and not the paint, which adds only its two
    edges, however wide it is.  Floored at half the typical noise of the profile's curve (``curve_of`` gives
    each profile's; all one curve without it), so that one flat profile does not make every wrinkle paint.
    """
    steps = np.diff(profile, axis=1)
    spread = 1.4826 * np.median(np.abs(steps - np.median(steps, axis=1, keepdims=True)), axis=1)
    if curve_of is None:
        curve_of = np.zeros(len(spread), int)
    typical = np.zeros(curve_of.max() + 1 if len(curve_of) else 0)
    for curve in np.unique(curve_of):  # a median per curve: a handful of curves per frame
        typical[curve] = np.median(spread[curve_of == curve])
    return np.maximum(spread, np.maximum(0.5 * typical[curve_of], SPREAD_FLOOR))


def _consistent(shifts: np.ndarray, found: np.ndarray, max_shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Drop found shifts that are alone, or that disagree with the median of their neighbours."""
    tolerance = max(1.5, 0.25 * max_shift)
    for _ in range(2):  # the second pass judges against neighbours that survived the first
        window = _neighbour_shifts(shifts, found)  # (N, 2*NEIGHBOURS+1), NaN where no evidence
        support = np.isfinite(window).sum(axis=1)
        median = _median_of_finite(window, support)
        found = found & (support >= SUPPORT) & (np.abs(shifts - median) <= tolerance)
    return np.where(found, shifts, 0.0), found


def _median_of_finite(window: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Each row's median over its finite values (0 for a row with none)."""
    return np.where(support > 0, finite_medians(window), 0.0)


def finite_medians(values: np.ndarray) -> np.ndarray:
    """Each row's median over its finite values, NaN for a row with none: np.nanmedian without its warning,
    and faster on many small rows."""
    values = np.where(np.isfinite(values), values, np.nan)
    ordered = np.sort(values, axis=1)  # NaN sorts last
    support = np.isfinite(values).sum(axis=1)
    rows = np.arange(len(values))
    low, high = np.maximum(support - 1, 0) // 2, np.minimum(support // 2, values.shape[1] - 1)
    median = (ordered[rows, low] + ordered[rows, high]) / 2
    return np.where(support > 0, median, np.nan)


def _neighbour_shifts(shifts: np.ndarray, found: np.ndarray) -> np.ndarray:
    padded = np.pad(np.where(found, shifts, np.nan), NEIGHBOURS, constant_values=np.nan)
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * NEIGHBOURS + 1)


def _fill(shifts: np.ndarray, found: np.ndarray, arc: np.ndarray, max_gap: float, taper: float) -> np.ndarray:
    """Shifts where no paint was seen: across short gaps interpolated, elsewhere fading to zero."""
    if not found.any():
        return np.zeros_like(shifts)
    known = np.flatnonzero(found)
    index = np.arange(len(shifts))
    before = np.maximum.accumulate(np.where(found, index, -1))  # the last found sample at or before each
    after = np.minimum.accumulate(np.where(found, index, len(shifts))[::-1])[::-1]
    has_before, has_after = before >= 0, after < len(shifts)
    b, a = np.clip(before, 0, None), np.clip(after, None, len(shifts) - 1)
    gap = arc[a] - arc[b]
    bridged = has_before & has_after & (gap <= max_gap)
    interpolated = np.interp(arc, arc[known], shifts[known])
    fade_before = np.where(has_before, shifts[b] * np.clip(1 - (arc - arc[b]) / taper, 0, 1), 0.0)
    fade_after = np.where(has_after, shifts[a] * np.clip(1 - (arc[a] - arc) / taper, 0, 1), 0.0)
    nearer_before = ~has_after | (has_before & (arc - arc[b] <= arc[a] - arc))
    faded = np.where(nearer_before, fade_before, fade_after)
    return np.where(found, shifts, np.where(bridged, interpolated, faded))
