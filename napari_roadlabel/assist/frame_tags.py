"""Frame tags learned from the frames a person tagged: weather, time of day, school zone active, or any
frame-range class of the taxonomy, proposed as frame ranges with their confidence.

How it works:

1. **Targets.**  Each frame-range class gives one or more things to learn, from a person's tags only (source
   manual or imported):

   * a class with choice attributes (``scene``): each attribute is a target whose labels are the values on
     the person's tags, on every frame a tag covers (frames where two tags disagree are left out);
   * a class without them (``school-zone-active``) is a presence target.  Frames inside a person's tag are
     positive.  Negative are the frames a person evidently worked on without tagging them: frames holding a
     manual state (a keyframe) or a frame review mark, outside every tag of that class.  So to teach where
     the school zone is *not*, draw or review something on such frames.

   A target is trained when its labels have at least two values; when none has, ``NotEnoughLabels``.
2. **Features** of each frame, cheap and cached for the run: the frame is shrunk to 160x90, cut into three
   horizontal bands (sky, horizon, road), and each band described by its colour (RGB and saturation and
   brightness means and spreads, a saturation-weighted hue histogram), a brightness histogram, its edges
   (Canny density, mean Sobel gradient) and texture (a histogram of gradient orientations).
3. **A classifier** per target: scikit-learn's standard scaler and a class-balanced, strongly regularised
   logistic regression (a fold that holds one value only predicts that value).
4. **Honest validation**: the labelled frames are cut into ``blocks`` blocks of time (stretches of labelled
   frames, the longest cut in parts); each block is predicted by a model trained on the others without the
   frames within ``gap`` frames of it, so the accuracy is never measured on a near copy of a training frame
   (neighbouring frames of a video are).
5. **Suggestions**: probabilities on every frame of the range, smoothed in time by the most likely sequence of
   an HMM (Viterbi) that stays in its class with probability ``stay`` from frame to frame, cut into runs of
   equal values.  A run's confidence is the mean probability of its values (for a class with several
   attributes, their product).  A presence class is proposed only where it is present.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..core.annotations import FrameRangeTag, Source
from ..core.errors import RoadlabelError
from ..core.project import Project
from ..core.taxonomy import AttributeType, ClassSpec
from .base import TAGS, Assistant, AssistContext, NotEnoughLabels, Suggestion, Validation
from .hmm import sticky_hmm

SMALL = (160, 90)  # frames are shrunk to this (width, height) before any feature is computed
BANDS = 3  # horizontal bands: sky, horizon, road
HUE_BINS, BRIGHTNESS_BINS, ORIENTATION_BINS = 12, 8, 8
MAX_TRAINING_FRAMES = 2000  # per target, evenly spread in time: a tag over 20,000 frames teaches no more
PEOPLE = frozenset({Source.MANUAL, Source.IMPORTED})
NEED = 2  # values a target needs to be learned
VITERBI_FLOOR = 1e-9  # a frame's probabilities are evidence however sure it is
REGULARISATION = 0.1  # logistic regression's C: strong, as a few dozen labelled frames meet 120 features


# ---------------------------------------------------------------------------- features

def frame_features(frame: np.ndarray) -> np.ndarray:
    """A vector describing one HxWx3 uint8 RGB frame: colour, brightness, edges and texture of three bands."""
    small = cv2.resize(frame, SMALL, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(grey, 50, 150)
    magnitude, angle = cv2.cartToPolar(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    bands = np.array_split(np.arange(SMALL[1]), BANDS)
    return np.concatenate([_band_features(small[rows], hsv[rows], edges[rows], magnitude[rows], angle[rows])
                           for rows in bands]).astype(np.float32)


def _band_features(rgb, hsv, edges, magnitude, angle) -> np.ndarray:
    pixels = rgb.reshape(-1, 3) / 255.0
    hue, saturation, value = (hsv[..., channel].ravel() for channel in range(3))
    saturation, value = saturation / 255.0, value / 255.0
    hue_histogram = np.bincount(hue * HUE_BINS // 180, weights=saturation, minlength=HUE_BINS) / hue.size
    brightness = np.bincount(np.minimum(value * BRIGHTNESS_BINS, BRIGHTNESS_BINS - 1).astype(int),
                             minlength=BRIGHTNESS_BINS) / value.size
    # Unsigned orientation (a line looks the same both ways), weighted by gradient strength.
    orientation = (angle.ravel() % np.pi) * ORIENTATION_BINS / np.pi
    texture = np.bincount(np.minimum(orientation, ORIENTATION_BINS - 1).astype(int), weights=magnitude.ravel(),
                          minlength=ORIENTATION_BINS)
    texture /= max(texture.sum(), 1e-6)
    return np.concatenate([pixels.mean(0), pixels.std(0), [saturation.mean(), saturation.std(), value.mean(),
                           value.std(), (edges > 0).mean(), magnitude.mean() / 255.0], hue_histogram, brightness,
                           texture])


# ---------------------------------------------------------------------------- what a person labelled

@dataclass(frozen=True, eq=False)  # one object per target, used as a key by identity
class Target:
    """One thing to learn: an attribute of a frame-range class, or (``attribute`` None) the class's presence."""

    class_name: str
    attribute: str | None
    labels: dict[int, Any]  # frame -> value (True / False for a presence)

    @property
    def name(self) -> str:
        return self.class_name if self.attribute is None else f"{self.class_name}.{self.attribute}"

    @property
    def values(self) -> list:
        return sorted(set(self.labels.values()), key=str)


def people_tags(project: Project) -> list[FrameRangeTag]:
    """The frame-range tags a person made (or imported), in id order."""
    return sorted((tag for tag in project.tags() if tag.source in PEOPLE), key=lambda tag: tag.id)


def worked_frames(project: Project) -> set[int]:
    """Frames a person evidently looked at: those holding a manual state (a keyframe) or a frame review mark."""
    frames = {mark.frame for mark in project.store.review_marks() if mark.track_id is None and mark.frame is not None}
    frame = project.nearest_keyframe(-1, before=False)
    while frame is not None:
        frames.add(frame)
        frame = project.nearest_keyframe(frame, before=False)
    return frames


def find_targets(project: Project, frame_count: int) -> list[Target]:
    """Every target of the taxonomy's frame-range classes with the labels a person gave it (maybe none)."""
    tags, worked = people_tags(project), None
    targets = []
    for spec in (spec for spec in project.taxonomy if spec.is_tag):
        mine = [tag for tag in tags if tag.class_name == spec.name]
        choices = _choice_attributes(spec)
        for attribute in choices:
            targets.append(Target(spec.name, attribute, _values_on_frames(mine, attribute, frame_count)))
        if not choices:
            worked = worked_frames(project) if worked is None else worked
            inside = {frame for tag in mine for frame in _covered(tag, frame_count)}
            labels = {frame: False for frame in worked if frame < frame_count} | dict.fromkeys(inside, True)
            targets.append(Target(spec.name, None, labels))
    return targets


def _choice_attributes(spec: ClassSpec) -> list[str]:
    return [name for name, attribute in spec.attributes.items() if attribute.type is AttributeType.CHOICE]


def _covered(tag: FrameRangeTag, frame_count: int) -> range:
    return range(tag.start, min(tag.end, frame_count - 1) + 1)


def _values_on_frames(tags: Iterable[FrameRangeTag], attribute: str, frame_count: int) -> dict[int, Any]:
    """Frame -> the attribute's value, on frames whose tags agree on it."""
    seen: dict[int, set] = {}
    for tag in tags:
        if attribute in tag.attributes:
            for frame in _covered(tag, frame_count):
                seen.setdefault(frame, set()).add(tag.attributes[attribute])
    return {frame: next(iter(values)) for frame, values in seen.items() if len(values) == 1}


# ---------------------------------------------------------------------------- validation across time

def time_block_splits(frames: Sequence[int], blocks: int, gap: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs over ``frames`` (in any order) that hold out blocks of time: no training frame
    lies within ``gap`` frames of a test frame, and every frame is held out once.

    Labelled frames at most ``gap`` apart chain into one stretch of time; when there are fewer stretches than
    ``blocks``, the longest are cut into parts of equal counts, so a block never bridges two stretches."""
    frames = np.asarray(frames)
    order = np.argsort(frames, kind="stable")
    stretches = np.split(order, np.flatnonzero(np.diff(frames[order]) > gap) + 1)
    parts = np.ones(len(stretches), int)
    while parts.sum() < blocks and np.any(parts < [len(stretch) for stretch in stretches]):
        parts[np.argmax([len(stretch) / count for stretch, count in zip(stretches, parts, strict=True)])] += 1
    groups = np.empty(len(frames), int)
    for group, piece in enumerate(piece for stretch, count in zip(stretches, parts, strict=True)
                                  for piece in np.array_split(stretch, count)):
        groups[piece] = group
    splits = []
    for train, test in GroupKFold(n_splits=min(blocks, int(parts.sum()))).split(frames, groups=groups):
        splits.append((train[_distance_to(np.sort(frames[test]), frames[train]) > gap], test))
    return splits


def _distance_to(points: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's distance to the nearest of the sorted ``points``."""
    after = np.clip(np.searchsorted(points, values), 0, len(points) - 1)
    before = np.clip(after - 1, 0, None)
    return np.minimum(np.abs(values - points[before]), np.abs(values - points[after]))


def _fit(features: np.ndarray, labels: np.ndarray) -> Pipeline | DummyClassifier:
    if len(set(labels)) < 2:  # a fold may hold one value only: it can only ever predict that one
        return DummyClassifier(strategy="most_frequent").fit(features, labels)
    classifier = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=1000)
    return make_pipeline(StandardScaler(), classifier).fit(features, labels)


def _validate(splits, features: np.ndarray, labels: np.ndarray, count: int) -> tuple[int, int]:
    """Predictions of each held-out block by a model of the rest: (right, tested)."""
    right = tested = 0
    for train, test in splits:
        if len(train) == 0:  # everything else is near this block: it cannot be tested
            continue
        predicted = _probabilities(_fit(features[train], labels[train]), features[test], count).argmax(1)
        right += int(np.sum(predicted == labels[test]))
        tested += len(test)
    return right, tested


def _probabilities(model, features: np.ndarray, count: int) -> np.ndarray:
    """The model's probabilities of value 0..count-1 (a fold's model may know fewer)."""
    result = np.zeros((len(features), count))
    result[:, model.classes_] = model.predict_proba(features)
    return result


# ---------------------------------------------------------------------------- smoothing in time

def smooth_in_time(probabilities: np.ndarray, stay: float) -> np.ndarray:
    """The most likely class of each frame (column index) under an HMM that keeps its class from one frame to
    the next with probability ``stay`` and emits the classifier's probabilities (Viterbi)."""
    count, classes = probabilities.shape
    if classes == 1 or count == 0:
        return np.zeros(count, int)
    return sticky_hmm(np.clip(probabilities, None, 1.0), np.ones(count - 1), stay, VITERBI_FLOOR)[0]


def runs(values: np.ndarray) -> Iterator[tuple[int, int]]:
    """(first, last) index, inclusive, of each run of equal rows of ``values`` (1-D or 2-D)."""
    if len(values) == 0:
        return
    changes = np.flatnonzero(np.any(np.reshape(values[1:] != values[:-1], (len(values) - 1, -1)), axis=1)) + 1
    starts = np.concatenate([[0], changes])
    ends = np.concatenate([changes - 1, [len(values) - 1]])
    yield from zip(starts.tolist(), ends.tolist(), strict=True)


# ---------------------------------------------------------------------------- the assistant

class FrameTagAssistant(Assistant):
    name = "frame-tags"
    description = "frame ranges (scene, school zone active, ...) learned from the frames a person tagged"
    produces = TAGS
    learns = True

    def __init__(self, *, blocks: int = 5, gap: int = 15, stay: float = 0.99):
        if not (isinstance(blocks, int) and blocks >= 2):
            raise RoadlabelError(self.name, f"blocks must be a whole number of at least 2, not {blocks!r}")
        if not (isinstance(gap, int) and gap >= 0):
            raise RoadlabelError(self.name, f"gap must be a whole number of frames >= 0, not {gap!r}")
        if not 0.5 <= stay < 1:
            raise RoadlabelError(self.name, f"stay must be a probability in [0.5, 1), not {stay!r}")
        self.blocks, self.gap, self.stay = blocks, gap, stay
        self._models: dict[Target, Pipeline | DummyClassifier] = {}
        self._cache_source: Any = None
        self._cache: dict[int, np.ndarray] = {}

    def settings(self) -> dict[str, Any]:
        return {"blocks": self.blocks, "gap": self.gap, "stay": self.stay}

    def training_labels(self, context: AssistContext) -> Any:
        tags = [(tag.id, tag.class_name, tag.start, tag.end, dict(tag.attributes)) for tag in
                people_tags(context.project)]
        worked = np.array(sorted(worked_frames(context.project)), int)
        spans = runs(worked - np.arange(len(worked)))  # consecutive frames share frame - index
        return {"tags": tags, "worked": [(int(worked[first]), int(worked[last])) for first, last in spans]}

    # ------------------------------------------------------------------ train

    def train(self, context: AssistContext) -> Validation:
        candidates = find_targets(context.project, len(context.frames))
        if not candidates:
            raise RoadlabelError(self.name, "the taxonomy has no frame-range class to learn")
        targets = [target for target in candidates if len(target.values) >= NEED]
        if not targets:
            raise NotEnoughLabels(self.name, "kinds of frame (day and night, in and out of a school zone, ...)",
                                  max(len(target.values) for target in candidates), NEED)
        details: dict[str, Any] = {"gap": self.gap, "targets": {}, "not learned": {
            target.name: f"{len(target.values)} value(s) labeled" for target in candidates if target not in targets}}
        self._models, correct, scored, labelled, blocks = {}, 0, 0, set(), 0
        for target in targets:
            frames, labels = _training_set(target)
            features = self._features(context, frames)
            splits = time_block_splits(frames, self.blocks, self.gap)
            right, tested = _validate(splits, features, labels, len(target.values))
            details["targets"][target.name] = {"accuracy": right / tested if tested else None, "held_out": tested,
                                               "labels": {str(value): int(np.sum(labels == index))
                                                          for index, value in enumerate(target.values)}}
            self._models[target] = _fit(features, labels)
            correct, scored, labelled = correct + right, scored + tested, labelled | set(frames.tolist())
            blocks = max(blocks, len(splits))
        method = f"{blocks} held-out blocks of time, {self.gap} frames either side kept out of training"
        return Validation(len(labelled), correct / scored if scored else None, method, details)

    # ------------------------------------------------------------------ suggest

    def suggest(self, context: AssistContext) -> Iterable[Suggestion]:
        if not self._models:
            self.train(context)
        frames = np.asarray(list(context.frame_range), int)
        if len(frames) == 0:
            return []
        features = self._features(context, frames, step=True)
        by_class: dict[str, list[Target]] = {}
        for target in self._models:
            by_class.setdefault(target.class_name, []).append(target)
        suggestions = []
        for class_name, targets in by_class.items():
            suggestions += self._suggest_class(class_name, targets, frames, features)
        return sorted(suggestions, key=lambda suggestion: (suggestion.frame, suggestion.class_name))

    def _suggest_class(self, class_name: str, targets: list[Target], frames, features) -> list[Suggestion]:
        """One class's ranges: where the smoothed value of every one of its targets stays the same."""
        chosen, confidence = [], np.ones(len(frames))
        for target in targets:
            probabilities = _probabilities(self._models[target], features, len(target.values))
            path = smooth_in_time(probabilities, self.stay)
            chosen.append(path)
            confidence *= probabilities[np.arange(len(frames)), path]
        chosen = np.stack(chosen, axis=1)
        suggestions = []
        for first, last in runs(chosen):
            values = {target: target.values[chosen[first, column]] for column, target in enumerate(targets)}
            if any(target.attribute is None and not value for target, value in values.items()):
                continue  # a presence class is proposed where it is present only
            attributes = {target.attribute: value for target, value in values.items() if target.attribute}
            suggestions.append(Suggestion(int(frames[first]), float(confidence[first:last + 1].mean()), class_name,
                                          attributes=attributes, last_frame=int(frames[last])))
        return suggestions

    # ------------------------------------------------------------------ features, cached for the run

    def _features(self, context: AssistContext, frames: np.ndarray, *, step: bool = False) -> np.ndarray:
        if self._cache_source is not context.frames:
            self._cache_source, self._cache = context.frames, {}
        rows = []
        for frame in frames.tolist():
            if frame not in self._cache:
                self._cache[frame] = frame_features(np.asarray(context.frames[frame]))
            rows.append(self._cache[frame])
            if step:
                context.step()
        return np.stack(rows)


def _training_set(target: Target) -> tuple[np.ndarray, np.ndarray]:
    """The target's frames (at most MAX_TRAINING_FRAMES, evenly spread in time) and their labels, as indices
    into ``target.values``."""
    frames = np.array(sorted(target.labels))
    if len(frames) > MAX_TRAINING_FRAMES:
        frames = frames[np.linspace(0, len(frames) - 1, MAX_TRAINING_FRAMES).round().astype(int)]
    values = target.values
    return frames, np.array([values.index(target.labels[frame]) for frame in frames.tolist()], int)
