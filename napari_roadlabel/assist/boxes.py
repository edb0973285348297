"""Sign and light boxes: colour and shape proposals, verified by a classifier trained on the project's own boxes.

How it works:

1. **Candidates** (``box_candidates``, pure, no training), from one HSV conversion of the frame:

   * *traffic lights* start from a lit lamp: a compact, round, saturated red, yellow or green blob with a
     bright core.  Its colour says which slot of a three-lamp housing it sits in (red top or left, yellow
     middle, green bottom or right), which places the housing around it (``HOUSING_WIDTH`` and
     ``HOUSING_LENGTH`` lamp diameters).  The housing must be there: both unlit slots clearly darker than the
     lamp (vertical and horizontal are tried; the darker one wins), and so the ring of pixels around the lamp
     (a stop sign's red, as bright once compressed, has a white rim or sky around it).  The lamp's colour is the guessed
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

4. **Suggest**: per frame, candidates -> verified -> dropped when an object of the same class is already on
   that frame (IoU > ``DUPLICATE_IOU``).  Then per class, the proposals and the boxes already there are linked
   into tracks (``box_tracks``: motion prediction, one-to-one assignment, gaps of a few missed frames
   bridged) and each track's missed frames filled by interpolation, with a lower confidence.  A track that
   continues an object already there gives its ``track_id``; any other becomes one new track, and only when
   it has at least ``MIN_TRACK_DETECTIONS`` proposals, on at least ``MIN_DETECTED_SHARE`` of its frames (stray
   detections are clutter).  Track-level
   attributes (a sign's ``type``) take the value most of its detections agree on, on all its frames.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..core.annotations import Source
from ..core.frame_objects import objects_by_frame
from ..core.geometry import GeometryKind, bounds_iou, box
from .base import GEOMETRY, Assistant, AssistContext, NotEnoughLabels, Suggestion, Validation
from .box_tracks import BoxTrack, Detection, filled, link

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
LAMP_RING_CONTRAST = 60  # and the median of the ring around it: a stop sign's red has a white rim

SIGN_MIN_PX, SIGN_MAX_FRACTION = 5, 0.4  # sign width and height: at least this, at most this share of the image
WHITE_MAX_SATURATION, WHITE_MIN_VALUE = 25, 165  # 25: a blue or hazy sky is more saturated
RED_SIGN_MIN_VALUE = 100  # darker red is an unlit lamp or shade
BORDER_CONTRAST = 40  # grey levels a white sign's rim must be below its face
RIM = {"red": 0.045, "white": 0.04, "yellow": 0.0}  # a sign's rim outside the coloured region, per side

NMS_IOU, DUPLICATE_IOU, MATCH_IOU = 0.3, 0.3, 0.5
MIN_TRACK_DETECTIONS, MIN_DETECTED_SHARE = 3, 0.5  # proposals a new track needs, and on this share of its frames
TRACK_ATTRIBUTES = {SIGN: ("type",)}  # one value per track
ZERO_SHOT_FLOOR, ZERO_SHOT_SPAN = 0.2, 0.3
MIN_BOXES = 5  # a person's boxes of a class needed to train its verifier
MAX_POSITIVES = 2000  # boxes learned from per class (spread evenly over the labels)
RANDOM_NEGATIVES = 4  # random background crops per labeled frame and class
VALIDATION_FOLDS = 4
NEGATIVE_BLOCK = 30  # frames: negatives are held out in blocks of this many, as the same clutter lasts
CROP_SIZE = {LIGHT: (16, 40), SIGN: (24, 24)}  # (width, height) of the crop the features are taken from
CROP_MARGIN = 0.15  # context around the box, per side
HOG_CELL = 4
SVM_C = 0.01
MAX_TRAINING_FRAMES = 300  # labeled frames learned from (spread evenly), to bound the time training takes


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
    lights = _light_candidates(hsv)
    # A lamp is a bright disc too: a sign found inside a light is one of its lamps.
    signs = [sign for sign in _sign_candidates(hsv) if not any(_inside(sign.bounds, light.bounds) for light in lights)]
    return _best_of_overlapping(lights + signs)


def _inside(inner: Sequence[float], outer: Sequence[float]) -> bool:
    """Whether most (over half) of box ``inner`` lies in box ``outer``."""
    width = min(inner[2], outer[2]) - max(inner[0], outer[0])
    height = min(inner[3], outer[3]) - max(inner[1], outer[1])
    return width > 0 and height > 0 and width * height > 0.5 * (inner[2] - inner[0]) * (inner[3] - inner[1])


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
            lamp_value = float(np.percentile(lamp, 75))
            if lamp_value - _ring_value(value, x, y, w, h, 50) < LAMP_RING_CONTRAST:
                continue
            candidate = _housing_around(value, (x, y, w, h), colour, lamp_value)
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
    face = value[y:y + h, x:x + w]
    return float(np.percentile(face, 75)) - _ring_value(value, x, y, w, h, 25) >= BORDER_CONTRAST


def _ring_value(value: np.ndarray, x: int, y: int, w: int, h: int, percentile: float) -> float:
    """A percentile of the grey levels on the one-pixel ring around a box (inf when the box fills the image)."""
    x0, y0 = max(x - 1, 0), max(y - 1, 0)
    outer = value[y0:y + h + 1, x0:x + w + 1]
    ring = np.ones(outer.shape, bool)
    ring[y - y0:y - y0 + h, x - x0:x - x0 + w] = False
    return float(np.percentile(outer[ring], percentile)) if ring.any() else float("inf")


def _best_of_overlapping(candidates: list[Candidate]) -> list[Candidate]:
    kept: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: -c.score):
        if all(bounds_iou(candidate.bounds, other.bounds) <= NMS_IOU for other in kept):
            kept.append(candidate)
    return kept


# ----------------------------------------------------------------------------------------------- features

def box_features(image: np.ndarray, bounds: Sequence[float], class_name: str) -> np.ndarray:
    """HOG of the grey crop around ``bounds`` and its coarse colour layout, at the class's fixed crop size (a
    horizontal light is turned upright first)."""
    from skimage.feature import hog

    x0, y0, x1, y1 = bounds
    width, height = CROP_SIZE[class_name]
    upright = not (class_name == LIGHT and x1 - x0 > y1 - y0)
    margin_x, margin_y = CROP_MARGIN * (x1 - x0), CROP_MARGIN * (y1 - y0)
    crop = _crop(image, x0 - margin_x, y0 - margin_y, x1 + margin_x, y1 + margin_y,
                 (width, height) if upright else (height, width))
    if not upright:
        crop = np.ascontiguousarray(np.swapaxes(crop, 0, 1))
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


# ----------------------------------------------------------------------------------------------- the assistant

ZERO_SHOT = "no training: colour and shape only"


class BoxProposer(Assistant):
    """Boxes of traffic lights and signs on every frame, for a person to accept (see the module's notes)."""

    name = "boxes"
    description = ("traffic light and sign boxes: colour and shape, verified by a HOG + linear SVM classifier "
                   "trained on the project's own boxes")
    produces = GEOMETRY
    learns = True

    def __init__(self, *, min_boxes: int = MIN_BOXES):
        self.min_boxes = min_boxes
        self._verifiers: dict[str, Any] = {}  # class name -> fitted classifier; a class missing is unverified

    def settings(self) -> Mapping[str, Any]:
        return {"min_boxes": self.min_boxes}

    def training_labels(self, context: AssistContext) -> Any:
        return [(state.track_id, state.frame, [round(value, 2) for value in state.geometry.bounds()])
                for _, state in person_boxes(context.project)]

    def train(self, context: AssistContext) -> Validation:
        """A verifier for each class with at least ``min_boxes`` boxes a person made; the other classes stay
        colour and shape only.  No boxes at all: nothing to learn, the assistant works untrained."""
        self._verifiers = {}
        boxes = person_boxes(context.project)
        counts = {class_name: sum(1 for name, _ in boxes if name == class_name) for class_name in CLASSES}
        if not boxes:
            return Validation(0, method=ZERO_SHOT)
        trainable = [class_name for class_name in CLASSES if counts[class_name] >= self.min_boxes]
        if not trainable:
            most = max(CLASSES, key=counts.__getitem__)
            raise NotEnoughLabels(self.name, f"{most} boxes", counts[most], self.min_boxes)
        samples = _training_samples(context.frames, boxes, trainable)
        details: dict[str, Any] = {}
        for class_name in trainable:
            features, labels, groups = samples[class_name]
            details[class_name] = _validate(features, labels, groups)
            self._verifiers[class_name] = _fit(features, labels)
        for class_name in set(CLASSES) - set(trainable):
            details[class_name] = {"boxes": counts[class_name], "verified": False}
        measured = [details[name]["balanced_accuracy"] for name in trainable
                    if details[name]["balanced_accuracy"] is not None]
        return Validation(
            labels=sum(counts[name] for name in trainable),
            accuracy=float(np.mean(measured)) if measured else None,
            method=("balanced accuracy on held-out tracks (negatives held out in blocks of "
                    f"{NEGATIVE_BLOCK} frames), mean over {', '.join(trainable)}"
                    if measured else "one track per class: nothing to hold out"),
            details=details)

    def propose(self, image: np.ndarray) -> list[tuple[Candidate, float]]:
        """The candidates on one frame that pass verification, each with its confidence (the module's rule)."""
        candidates = box_candidates(image)
        kept = []
        for class_name in CLASSES:
            mine = [candidate for candidate in candidates if candidate.class_name == class_name]
            if not mine:
                continue
            if class_name not in self._verifiers:
                kept += [(c, ZERO_SHOT_FLOOR + ZERO_SHOT_SPAN * c.score) for c in mine]
                continue
            features = np.stack([box_features(image, c.bounds, class_name) for c in mine])
            chances = self._verifiers[class_name].predict_proba(features)[:, 1]
            kept += [(c, float(p)) for c, p in zip(mine, chances, strict=True) if p >= 0.5]
        return kept

    def suggest(self, context: AssistContext) -> Iterator[Suggestion]:
        detections = self._detections(context)
        numbers = iter(range(1 << 62))
        suggestions = []
        for class_name in CLASSES:
            for track in link(detections[class_name]):
                suggestions += _track_suggestions(track, class_name, numbers)
        yield from sorted(suggestions, key=lambda s: s.frame)

    def _detections(self, context: AssistContext) -> dict[str, list[list[Detection]]]:
        """Per class and frame: the boxes already there (with their track) and the verified proposals that do
        not duplicate one of them."""
        height, width = context.project.sequence.height, context.project.sequence.width
        detections: dict[str, list[list[Detection]]] = {class_name: [] for class_name in CLASSES}
        for by_frame in objects_by_frame(context.project, context.frame_range):
            for frame, objects in by_frame.items():
                found = {class_name: [] for class_name in CLASSES}
                for obj in objects:
                    if obj.track.class_name in CLASSES and obj.state.geometry.kind is GeometryKind.BOX:
                        found[obj.track.class_name].append(
                            Detection(frame, obj.state.geometry.bounds(), track_id=obj.track.id))
                for candidate, confidence in self.propose(context.frames[frame]):
                    bounds = _clipped(candidate.bounds, width, height)
                    mine = found[candidate.class_name]
                    if bounds is not None and all(bounds_iou(d.bounds, bounds) <= DUPLICATE_IOU for d in mine
                                                  if d.track_id is not None):
                        mine.append(Detection(frame, bounds, confidence, candidate.attributes))
                for class_name in CLASSES:
                    detections[class_name].append(found[class_name])
                context.step()
        return detections


def _track_suggestions(track: BoxTrack, class_name: str, numbers: Iterator[int]) -> list[Suggestion]:
    """A linked track's proposals, on every frame from its first detection to its last; none when it continues
    no object already there and is a few stray detections (fewer than ``MIN_TRACK_DETECTIONS``, or found on
    less than ``MIN_DETECTED_SHARE`` of its frames: clutter seen now and then, linked across the gaps)."""
    track_id = track.track_id
    proposed = [d for d in track.detections if d.track_id is None]
    span = track.last_frame - track.first_frame + 1
    if not proposed or (track_id is None and (len(proposed) < MIN_TRACK_DETECTIONS
                                              or len(proposed) < MIN_DETECTED_SHARE * span)):
        return []
    new_track = None if track_id is not None else next(numbers)
    held = _held_attributes(proposed, TRACK_ATTRIBUTES.get(class_name, ()))
    return [Suggestion(d.frame, d.confidence, class_name, track_id=track_id, geometry=box(*d.bounds),
                       attributes={**d.attributes, **held}, new_track=new_track)
            for d in filled(track) if d.track_id is None]


def _held_attributes(detections: list[Detection], names: Iterable[str]) -> dict[str, Any]:
    """The value of each track-level attribute most of the detections that have one agree on."""
    held = {}
    for name in names:
        values = Counter(d.attributes[name] for d in detections if name in d.attributes)
        if values:
            held[name] = values.most_common(1)[0][0]
    return held


def _clipped(bounds, width: int, height: int) -> tuple[float, float, float, float] | None:
    x0, y0, x1, y1 = max(bounds[0], 0.0), max(bounds[1], 0.0), min(bounds[2], width), min(bounds[3], height)
    return (float(x0), float(y0), float(x1), float(y1)) if x1 - x0 >= 1 and y1 - y0 >= 1 else None


# ----------------------------------------------------------------------------------------------- training

def person_boxes(project) -> list[tuple[str, Any]]:
    """(class name, state) of every light and sign box a person made (source manual or imported)."""
    return [(track.class_name, state)
            for class_name in CLASSES for track in project.tracks(class_name)
            for state in project.states_of(track.id)
            if state.source in PERSON and state.geometry.kind is GeometryKind.BOX]


def _training_samples(frames, boxes, classes: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per class: features, labels (1 = the class) and groups (a track id; negatives ``-1 - frame // block``,
    blocks of ``NEGATIVE_BLOCK`` frames or fewer on a short clip, to have some to hold out) from the frames with
    a person's boxes."""
    by_frame: dict[int, list[tuple[str, Any]]] = {}
    for class_name, state in boxes:
        by_frame.setdefault(state.frame, []).append((class_name, state))
    chosen = sorted(by_frame)
    if len(chosen) > MAX_TRAINING_FRAMES:  # spread evenly over the labels
        chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, MAX_TRAINING_FRAMES).round().astype(int)]
    block = max(1, min(NEGATIVE_BLOCK, (chosen[-1] - chosen[0] + 1) // VALIDATION_FOLDS))
    rng = np.random.default_rng(0)
    rows: dict[str, list[tuple[np.ndarray, int, int]]] = {class_name: [] for class_name in classes}
    for frame in chosen:
        image = frames[frame]
        candidates = box_candidates(image)
        labeled = [(name, state.track_id, state.geometry.bounds()) for name, state in by_frame[frame]]
        for class_name in classes:
            rows[class_name] += _frame_samples(image, -1 - frame // block, class_name, labeled, candidates, rng)
    return {class_name: (np.stack([r[0] for r in rows[class_name]]),
                         np.array([r[1] for r in rows[class_name]]),
                         np.array([r[2] for r in rows[class_name]])) for class_name in classes}


def _frame_samples(image, background: int, class_name: str, labeled, candidates,
                   rng) -> list[tuple[np.ndarray, int, int]]:
    """One frame's samples for one class: its boxes and the candidates matching them (positives), the other
    candidates of the class and random crops away from every box (negatives, in group ``background``)."""
    mine = [(track_id, bounds) for name, track_id, bounds in labeled if name == class_name]
    samples = [(box_features(image, bounds, class_name), 1, track_id) for track_id, bounds in mine]
    for candidate in candidates:
        if candidate.class_name != class_name:
            continue
        overlaps = [(bounds_iou(bounds, candidate.bounds), track_id) for track_id, bounds in mine]
        overlap, track_id = max(overlaps, default=(0.0, background))
        if overlap >= MATCH_IOU:
            samples.append((box_features(image, candidate.bounds, class_name), 1, track_id))
        elif overlap < NMS_IOU:
            samples.append((box_features(image, candidate.bounds, class_name), 0, background))
    sizes = [bounds[2:] - np.asarray(bounds[:2]) for _, bounds in mine] or [np.array(CROP_SIZE[class_name], float)]
    height, width = image.shape[:2]
    for _ in range(RANDOM_NEGATIVES):
        w, h = sizes[rng.integers(len(sizes))]
        x0, y0 = rng.uniform(0, max(width - w, 1)), rng.uniform(0, max(height - h, 1))
        crop = (x0, y0, x0 + w, y0 + h)
        if all(bounds_iou(crop, bounds) < 0.1 for _, _, bounds in labeled):
            samples.append((box_features(image, crop, class_name), 0, background))
    return samples


def _fit(features: np.ndarray, labels: np.ndarray):
    """A linear SVM on standardised features, with a sigmoid calibration for a probability."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    folds = int(min(3, np.bincount(labels, minlength=2).min()))
    svm = LinearSVC(C=SVM_C, class_weight="balanced")
    return make_pipeline(StandardScaler(), CalibratedClassifierCV(svm, cv=folds, method="sigmoid"))\
        .fit(features, labels)


def held_out_folds(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The validation fold of every sample: whole groups (a track of positives, a block of frames of negatives)
    dealt round-robin, positives and negatives separately so each fold holds out some of both; all zeros when
    there are not two groups of each."""
    positive_groups, negative_groups = np.unique(groups[labels == 1]), np.unique(groups[labels == 0])
    folds = min(VALIDATION_FOLDS, len(positive_groups), len(negative_groups))
    if folds < 2:
        return np.zeros(len(labels), int)
    fold_of = {group: index % folds for index, group in enumerate(positive_groups)}
    fold_of.update({group: index % folds for index, group in enumerate(negative_groups)})
    return np.array([fold_of[group] for group in groups])


def _validate(features: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """Balanced accuracy, precision and recall of the verifier on held-out folds (``held_out_folds``), each
    predicted by a model trained on the others."""
    fold = held_out_folds(labels, groups)
    folds = int(fold.max()) + 1
    summary: dict[str, Any] = {"positives": int(labels.sum()), "negatives": int((labels == 0).sum()),
                               "tracks": len(np.unique(groups[labels == 1])), "verified": True,
                               "balanced_accuracy": None}
    if folds < 2:
        return summary
    predicted = np.full(len(labels), -1)
    for held_out in range(folds):
        train = fold != held_out
        if np.bincount(labels[train], minlength=2).min() >= 2:
            predicted[~train] = _fit(features[train], labels[train]).predict(features[~train])
    tested = predicted >= 0
    truth, guess = labels[tested], predicted[tested]
    recall = [float(np.mean(guess[truth == value] == value)) for value in (0, 1) if (truth == value).any()]
    true_positives = int(((guess == 1) & (truth == 1)).sum())
    summary.update(balanced_accuracy=float(np.mean(recall)) if len(recall) == 2 else None,
                   precision=true_positives / max(int((guess == 1).sum()), 1),
                   recall=true_positives / max(int((truth == 1).sum()), 1), folds=folds)
    return summary
