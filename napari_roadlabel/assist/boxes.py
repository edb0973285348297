"""Sign and light boxes: colour and shape proposals, verified by a classifier trained on the project's own boxes.

How it works:

1. **Candidates** (``box_candidates``, pure, no training), from one HSV conversion of the frame:

   * *traffic lights* start from a lit lamp: a compact, round, saturated red, yellow or green blob with a
     bright core.  Its colour says which slot of a three-lamp housing it sits in (red top or left, yellow
     middle, green bottom or right), which places the housing around it (``HOUSING_WIDTH`` and
     ``HOUSING_LENGTH`` lamp diameters).  The housing must be there: both unlit slots clearly darker than the
     lamp (vertical and horizontal are tried; the darker one wins).  The lamp's colour is the guessed
     ``state``.
   * *signs* are outlines (holes filled, so text does not matter) of red, white and yellow regions with a
     sign's shape: a red octagon or disc (a *stop* when the outline has eight corners) or triangle (a
     *yield*), a white upright rectangle with a dark border (a speed limit and the like) or a yellow diamond.
     Size, aspect, extent (area / box) and solidity (area / hull) are the tests.

   Every candidate has a score in 0..1 (lamp contrast, shape solidity); overlapping candidates keep the
   better one.

2. **Verification** (``train``): HOG features of the grey crop (plus a coarse colour layout) resized to a
   fixed size per class, and a linear SVM per class with a sigmoid calibration for a probability.
   Positives are the boxes a person made (source manual or imported) and the candidates that match them
   (IoU >= 0.5, so the verifier knows a candidate's slightly-off box); negatives are the candidates and
   random crops on the same frames that touch no labeled box of that class (a frame where a person boxed a
   light or sign is taken to have all of them boxed).  Validation holds out whole tracks (and blocks of
   frames for the negatives), so one object never sits on both sides, and reports the balanced accuracy.

3. **Confidence rule.**  A verified class: the classifier's probability; candidates below 0.5 are dropped.
   A class without a verifier (no labels, or fewer than ``MIN_BOXES``): ``0.2 + 0.3 * score``, in 0.2..0.5,
   so an unverified guess never outranks a verified one.

4. **Suggest**, per frame: candidates -> verified -> dropped when an object of the same class is already on
   that frame (IoU > ``DUPLICATE_IOU``) -> a box Suggestion with the guessed attributes.  Proposals are
   linked to the previous frame's objects of the same class by IoU (``LINK_IOU``): continuing an existing
   track gives its ``track_id``, continuing a proposal gives the same ``new_track`` number.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..core.annotations import Source
from ..core.frame_objects import objects_by_frame
from ..core.geometry import GeometryKind, box
from .base import GEOMETRY, Assistant, AssistContext, NotEnoughLabels, Suggestion, Validation

LIGHT, SIGN = "traffic-light", "traffic-sign"
CLASSES = (LIGHT, SIGN)
PERSON = (Source.MANUAL, Source.IMPORTED)

# Lamps, in OpenCV's HSV (hue 0..180): hue ranges, and the slot of a three-lamp housing each colour sits in.
LAMP_HUES = {"red": ((0, 10), (165, 180)), "yellow": ((11, 34),), "green": ((40, 100),)}
LAMP_SLOT = {"red": 0, "yellow": 1, "green": 2}
LAMP_MIN_SATURATION, LAMP_MIN_VALUE = 70, 150
LAMP_GLOW = 230  # a lit lamp's coloured pixels are this bright (90th percentile): a red sign's paint is not
LAMP_MIN_PX, LAMP_MAX_PX = 2, 80  # lamp diameter
HOUSING_WIDTH, HOUSING_LENGTH = 1.45, 3.8  # in lamp diameters
UNLIT_CONTRAST = 50  # grey levels an unlit slot must be below the lamp

SIGN_MIN_PX, SIGN_MAX_FRACTION = 5, 0.4  # sign width and height: at least this, at most this share of the image
WHITE_MAX_SATURATION, WHITE_MIN_VALUE = 25, 165  # 25: a blue or hazy sky is more saturated
RED_SIGN_MIN_VALUE = 100  # darker red is an unlit lamp or shade
BORDER_CONTRAST = 40  # grey levels a white sign's rim must be below its face
RIM = {"red": 0.045, "white": 0.04, "yellow": 0.0}  # a sign's rim outside the coloured region, per side

NMS_IOU, DUPLICATE_IOU, LINK_IOU, MATCH_IOU = 0.3, 0.3, 0.3, 0.5
ZERO_SHOT_FLOOR, ZERO_SHOT_SPAN = 0.2, 0.3
MIN_BOXES = 10  # a person's boxes of a class needed to train its verifier
MAX_POSITIVES = 2000  # boxes learned from per class (spread evenly over the labels)
RANDOM_NEGATIVES = 4  # random background crops per labeled frame and class
VALIDATION_FOLDS = 4
NEGATIVE_BLOCK = 30  # frames: negatives are held out in blocks of this many, as the same clutter lasts
CROP_SIZE = {LIGHT: (16, 40), SIGN: (24, 24)}  # (width, height) of the crop the features are taken from
CROP_MARGIN = 0.15  # context around the box, per side
HOG_CELL = 4


@dataclass(frozen=True)
class Candidate:
    """A proposed box (x0, y0, x1, y1 in pixels), its class, how well colour and shape fit (0..1), and the
    attributes its look suggests."""

    x0: float
    y0: float
    x1: float
    y1: float
    class_name: str
    score: float
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.x0, self.y0, self.x1, self.y1


# ----------------------------------------------------------------------------------------------- candidates

def box_candidates(image: np.ndarray) -> list[Candidate]:
    """Traffic lights and signs found by colour and shape alone in an HxWx3 uint8 RGB image, best first."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    found = _light_candidates(hsv) + _sign_candidates(hsv)
    return _best_of_overlapping(found)


def _hue_mask(hsv: np.ndarray, hues: Iterable[tuple[int, int]], min_saturation: int, min_value: int) -> np.ndarray:
    """uint8 mask (0 or 255) of the pixels in any of the hue ranges, saturated and bright enough."""
    mask = np.zeros(hsv.shape[:2], np.uint8)
    for low, high in hues:
        mask |= cv2.inRange(hsv, (low, min_saturation, min_value), (high, 255, 255))
    return mask


def _regions(mask: np.ndarray, min_px: int, max_size: tuple[float, float]) -> Iterator[tuple[int, int, np.ndarray]]:
    """Each outer outline of the mask whose box is ``min_px`` to ``max_size`` (width, height): its box's
    top-left corner and the region inside the outline (holes filled) as a 0/1 array of the box's size."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if min(w, h) >= min_px and w <= max_size[0] and h <= max_size[1]:
            yield x, y, cv2.drawContours(np.zeros((h, w), np.uint8), [contour], -1, 1, cv2.FILLED, offset=(-x, -y))


def _light_candidates(hsv: np.ndarray) -> list[Candidate]:
    value = hsv[..., 2]
    found = []
    for colour, hues in LAMP_HUES.items():
        mask = _hue_mask(hsv, hues, LAMP_MIN_SATURATION, LAMP_MIN_VALUE)
        # A lit lamp's core saturates to near white: join it to the coloured halo around it.
        hot = cv2.inRange(value, 235, 255) & cv2.dilate(mask, np.ones((5, 5), np.uint8))
        for x, y, region in _regions(mask | hot, LAMP_MIN_PX, (LAMP_MAX_PX, LAMP_MAX_PX)):
            h, w = region.shape
            if max(w, h) > 2 * min(w, h) or region.sum() < 0.5 * w * h:
                continue
            lamp = value[y:y + h, x:x + w]
            coloured = lamp[(region > 0) & (mask[y:y + h, x:x + w] > 0)]
            if coloured.size == 0 or np.percentile(coloured, 90) < LAMP_GLOW:
                continue
            candidate = _housing_around(value, (x, y, w, h), colour, float(np.percentile(lamp, 75)))
            if candidate is not None:
                found.append(candidate)
    return found


def _housing_around(value: np.ndarray, lamp: tuple[int, int, int, int], colour: str,
                    lamp_value: float) -> Candidate | None:
    """The housing a lamp of ``colour`` sits in, vertical or horizontal, when both unlit slots are dark."""
    x, y, w, h = lamp
    diameter = (w + h) / 2
    centre = np.array([x + w / 2, y + h / 2])
    best = None
    for axis, orientation in ((1, "vertical"), (0, "horizontal")):
        slot = diameter * HOUSING_LENGTH / 3
        start = centre[axis] - slot * (LAMP_SLOT[colour] + 0.5)  # the housing's top (left) edge
        unlit = [_mean_near(value, _moved(centre, axis, start + slot * (index + 0.5)), diameter / 3)
                 for index in range(3) if index != LAMP_SLOT[colour]]
        if None in unlit:  # the housing would leave the image
            continue
        contrast = lamp_value - max(unlit)
        if contrast < UNLIT_CONTRAST or (best is not None and contrast <= best[0]):
            continue
        low, high = centre.copy(), centre.copy()
        low[axis], high[axis] = start, start + 3 * slot
        low[1 - axis] -= diameter * HOUSING_WIDTH / 2
        high[1 - axis] += diameter * HOUSING_WIDTH / 2
        best = contrast, Candidate(*low, *high, LIGHT, min(1.0, contrast / 150),
                                   {"state": colour, "orientation": orientation})
    return None if best is None else best[1]


def _moved(point: np.ndarray, axis: int, to: float) -> np.ndarray:
    moved = point.copy()
    moved[axis] = to
    return moved


def _mean_near(value: np.ndarray, point: np.ndarray, radius: float) -> float | None:
    """Mean grey level of the square of half-side ``radius`` (at least a pixel) around ``point``."""
    radius = max(radius, 0.5)
    x0, y0 = np.floor(point - radius).astype(int)
    x1, y1 = np.ceil(point + radius).astype(int)
    if x0 < 0 or y0 < 0 or x1 > value.shape[1] or y1 > value.shape[0]:
        return None
    return float(value[y0:y1, x0:x1].mean())


def _sign_candidates(hsv: np.ndarray) -> list[Candidate]:
    value = hsv[..., 2]
    masks = {
        "red": _hue_mask(hsv, LAMP_HUES["red"], 60, RED_SIGN_MIN_VALUE),  # 60: small signs' letters blur pink
        "white": cv2.inRange(hsv, (0, 0, WHITE_MIN_VALUE), (180, WHITE_MAX_SATURATION, 255)),
        "yellow": _hue_mask(hsv, ((15, 34),), 100, 120),
    }
    height, width = value.shape
    found = []
    for colour, mask in masks.items():
        for x, y, region in _regions(mask, SIGN_MIN_PX, (SIGN_MAX_FRACTION * width, SIGN_MAX_FRACTION * height)):
            if colour == "white" and not _has_dark_rim(value, x, y, *region.shape[::-1]):
                continue
            candidate = _sign_shape(region, colour, x, y)
            if candidate is not None:
                found.append(candidate)
    return found


def _sign_shape(region: np.ndarray, colour: str, x: int, y: int) -> Candidate | None:
    """A candidate when a region (holes filled: letters do not count) has a sign's shape for its colour."""
    h, w = region.shape
    contour = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0][0]
    # Areas in pixels, not the outline's: that misses half a pixel all round, a lot on a small sign.
    area = int(region.sum())
    extent = area / (w * h)
    solidity = area / max(int(cv2.fillConvexPoly(np.zeros_like(region), cv2.convexHull(contour), 1).sum()), 1)
    aspect = h / w
    corners = len(cv2.approxPolyDP(contour, 0.04 * cv2.arcLength(contour, True), True))
    attributes: dict[str, Any] = {}
    if colour == "red" and 0.75 <= aspect <= 1.33 and 0.68 <= extent <= 0.93 and solidity >= 0.8:
        if min(w, h) >= 12 and 7 <= corners <= 9:
            attributes = {"type": "stop"}
    elif colour == "red" and 0.7 <= aspect <= 1.1 and 0.4 <= extent <= 0.62 and solidity >= 0.85 and corners == 3:
        attributes = {"type": "yield"}
    elif not ((colour == "white" and 0.9 <= aspect <= 1.7 and extent >= 0.75 and solidity >= 0.85)
              or (colour == "yellow" and 0.75 <= aspect <= 1.33 and 0.4 <= extent <= 0.62 and solidity >= 0.85
                  and corners == 4)):
        return None
    rim_x, rim_y = RIM[colour] * w, RIM[colour] * h
    score = float(np.clip((solidity - 0.8) / 0.2, 0, 1))
    return Candidate(x - rim_x, y - rim_y, x + w + rim_x, y + h + rim_y, SIGN, score, attributes)


def _has_dark_rim(value: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    """A white face is framed by a dark border (or stands against something darker): the darker quarter of the
    one-pixel ring around its box is well below its bright pixels (letters make the face's median dark)."""
    x0, y0 = max(x - 1, 0), max(y - 1, 0)
    outer = value[y0:y + h + 1, x0:x + w + 1]
    ring = np.ones(outer.shape, bool)
    ring[y - y0:y - y0 + h, x - x0:x - x0 + w] = False
    face = value[y:y + h, x:x + w]
    return bool(ring.any()) and float(np.percentile(face, 75)) - float(np.percentile(outer[ring], 25)) >= BORDER_CONTRAST


def _best_of_overlapping(candidates: list[Candidate]) -> list[Candidate]:
    kept: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: -c.score):
        if all(box_iou(candidate.bounds, other.bounds) <= NMS_IOU for other in kept):
            kept.append(candidate)
    return kept


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# ----------------------------------------------------------------------------------------------- features

def box_features(image: np.ndarray, bounds: Sequence[float], class_name: str) -> np.ndarray:
    """HOG of the grey crop around ``bounds`` and its coarse colour layout, at the class's fixed crop size (a
    horizontal light is turned upright first)."""
    from skimage.feature import hog

    x0, y0, x1, y1 = bounds
    if class_name == LIGHT and x1 - x0 > y1 - y0:
        image, (x0, y0, x1, y1) = np.ascontiguousarray(np.swapaxes(image, 0, 1)), (y0, x0, y1, x1)
    margin_x, margin_y = CROP_MARGIN * (x1 - x0), CROP_MARGIN * (y1 - y0)
    crop = _crop(image, x0 - margin_x, y0 - margin_y, x1 + margin_x, y1 + margin_y, CROP_SIZE[class_name])
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    shape = hog(grey, orientations=9, pixels_per_cell=(HOG_CELL, HOG_CELL), cells_per_block=(2, 2),
                feature_vector=True)
    colour = cv2.resize(crop, (4, 4 * crop.shape[0] // crop.shape[1]), interpolation=cv2.INTER_AREA)
    return np.concatenate([shape, colour.ravel() / 255.0]).astype(np.float32)


def _crop(image: np.ndarray, x0: float, y0: float, x1: float, y1: float, size: tuple[int, int]) -> np.ndarray:
    """The whole pixels covering the box, resized to ``size`` (width, height); the image's edge is repeated
    where the box leaves it."""
    height, width = image.shape[:2]
    ix0, iy0 = int(np.floor(x0)), int(np.floor(y0))
    ix1, iy1 = max(int(np.ceil(x1)), ix0 + 1), max(int(np.ceil(y1)), iy0 + 1)
    pad = max(0, -ix0, -iy0, ix1 - width, iy1 - height)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    piece = image[iy0 + pad:iy1 + pad, ix0 + pad:ix1 + pad]
    shrinking = piece.shape[1] > size[0]
    return cv2.resize(piece, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
