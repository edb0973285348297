"""The state of every traffic light on every frame (red, yellow, green, red-yellow, off; flashing or not).

How it works:

1. **The crop.**  Each traffic-light box is cut out of its frame and turned so that its lamps run top to
   bottom in the order red, yellow, green (a track whose ``orientation`` is horizontal has red on the left:
   its crop is transposed), then resized to ``CROP_WIDTH`` x ``CROP_HEIGHT`` px.  A box under
   ``MIN_READABLE_PX`` across gives no evidence.
2. **Lamp evidence.**  A lit lamp is the most *colourful* thing in the housing: each pixel weighs its
   chroma squared (value x saturation, so grey housings, white sky and dark lenses weigh almost nothing) and
   votes for the colour band of its hue (red to magenta-purple, amber-yellow, green-cyan; blue sky votes for none).
   The lit lamp's position is the centroid of those votes along the housing (0 top, 1 bottom).
3. **Zero-shot probabilities**, with no training at all: for each lit state, the log of its colour's share of
   the votes minus a Gaussian penalty for the distance of the lit position from where that lamp sits (1/6,
   1/2, 5/6); red-yellow needs both red votes near the top and yellow votes near the middle.  "Off" comes
   from the strength of the most colourful pixels (a light with no lamp lit has none).  Colour and position
   must agree: an orange lamp whose hues are half red, half yellow is told by where it sits.
4. **Learning** (``train``), once a person has set some states (source manual or imported, a state other
   than the default): a scikit-learn logistic regression on features of the crop (the zero-shot
   log-probabilities, per-third HSV statistics, colour shares and positions, a chroma-weighted hue
   histogram).  Its probabilities replace the zero-shot ones among the states it has seen labeled; the
   zero-shot ones keep the rest.  It is validated with grouped folds (by track and blocks of time, with a
   buffer so that neighbouring frames never sit on both sides) against the zero-shot cue on the same
   held-out labels, and used only when it does at least as well.
5. **Along the track.**  A regular on/off alternation (half-periods of ``FLASH_HALF_PERIOD_S`` seconds, at
   least ``FLASH_MIN_TOGGLES`` toggles) is flashing: those frames get the lit colour as their state and
   ``flashing`` True.  Then an HMM whose states stay put with probability ``stay`` smooths the per-frame
   probabilities (a gap of n frames in the track counts as n steps): Viterbi gives the states, so a
   one-frame glitch goes while a real change stays (one frame's evidence counts at most 1 / EMISSION_FLOOR
   to 1), and forward-backward gives each frame's posterior, the suggestion's confidence.  ``state_runs``
   gives the change points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..core.annotations import Source
from ..core.errors import RoadlabelError
from ..core.geometry import Geometry, GeometryKind
from ..core.timeline import Run, frame_runs
from .base import ATTRIBUTES, Assistant, AssistContext, Suggestion, Validation
from .hmm import sticky_hmm

CLASS_NAME = "traffic-light"
STATES = ("red", "yellow", "green", "red-yellow", "off")  # what is told apart; "unknown" is the default
OFF = STATES.index("off")
UNKNOWN = "unknown"
UNSURE = 0.5  # a frame without evidence whose smoothed posterior is under this is suggested "unknown"
CROP_WIDTH, CROP_HEIGHT = 12, 36
MIN_READABLE_PX = 4
RED_FROM_HUE, YELLOW_HUES, GREEN_HUES = 285, (18, 70), (80, 200)  # degrees; red wraps round 0; sky votes none
LAMP_CENTRES = np.array([1 / 6, 1 / 2, 5 / 6])  # red, yellow, green along the housing
POSITION_SIGMA = 0.15  # spread of the lit position around its lamp's centre (housing lengths)
RED_YELLOW_PRIOR = 0.5  # red-yellow is rarer than a single lamp
OFF_STRENGTH, OFF_SCALE = 0.03, 0.008  # chroma x value of the brightest colourful pixels where "off" is even
TEMPERATURE = 1.0
HUE_BINS = 12
EMISSION_FLOOR = 0.01  # a reflection or an occluded frame can fool any one frame: at most 100:1 evidence
FLASH_HALF_PERIOD_S = (0.15, 1.0)  # an on or off phase of a flashing light (0.5-3 Hz)
FLASH_MIN_TOGGLES = 4  # two full on/off cycles
MIN_LABELS = 5  # states a person set before the classifier is trained
MIN_PER_STATE = 2  # labels of a state before the classifier speaks for it
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of the classifier against the zero-shot cue, chosen by validation
LOSS_MARGIN = 0.01
FOLDS = 5
TIME_BLOCK_S = 2.0  # labels of one track are grouped in blocks of this length for validation
DEFAULT_FPS = 30.0


# ------------------------------------------------------------------ the crop and its evidence

def light_crop(frame: np.ndarray, geometry: Geometry, orientation: str = "vertical") -> np.ndarray | None:
    """The box's pixels turned so the lamps run red (top) to green (bottom); None when too small to read."""
    x0, y0, x1, y1 = geometry.bounds()
    height, width = frame.shape[:2]
    left, top = max(int(round(x0)), 0), max(int(round(y0)), 0)
    right, bottom = min(int(round(x1)) + 1, width), min(int(round(y1)) + 1, height)
    if min(right - left, bottom - top) < MIN_READABLE_PX:
        return None
    crop = frame[top:bottom, left:right]
    return np.ascontiguousarray(crop.transpose(1, 0, 2)) if orientation == "horizontal" else crop


@dataclass(frozen=True)
class LampEvidence:
    """What a crop shows of its lamps, on the resized crop."""

    hsv: np.ndarray  # (H, W, 3) float: hue in degrees, saturation and value in 0..1
    bands: np.ndarray  # (3, H, W) bool: red, yellow, green hue bands
    weight: np.ndarray  # (H, W): chroma squared

    @classmethod
    def of(cls, crop: np.ndarray) -> LampEvidence:
        shrinking = crop.shape[0] > CROP_HEIGHT
        small = cv2.resize(crop, (CROP_WIDTH, CROP_HEIGHT),
                           interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV_FULL).astype(np.float32) * (360 / 256, 1 / 255, 1 / 255)
        hue = hsv[..., 0]
        bands = np.stack([(hue < YELLOW_HUES[0]) | (hue >= RED_FROM_HUE),
                          (hue >= YELLOW_HUES[0]) & (hue < YELLOW_HUES[1]),
                          (hue >= GREEN_HUES[0]) & (hue < GREEN_HUES[1])])
        return cls(hsv, bands, (hsv[..., 1] * hsv[..., 2]) ** 2)

    def masses(self) -> np.ndarray:
        """Chroma-weighted votes for red, yellow and green."""
        return (self.bands * self.weight).sum(axis=(1, 2))

    def shares(self) -> np.ndarray:
        masses = self.masses()
        total = masses.sum()
        return (masses + 0.02 * total + 1e-9) / (1.06 * total + 3e-9)

    def positions(self) -> np.ndarray:
        """Centroid along the housing (0 top, 1 bottom) of all colourful votes, then of each colour's."""
        rows = (np.arange(CROP_HEIGHT) + 0.5) / CROP_HEIGHT
        profiles = (self.bands * self.weight).sum(axis=2)  # (3, H)
        profiles = np.vstack([profiles.sum(axis=0), profiles])
        totals = profiles.sum(axis=1)
        return np.where(totals > 0, profiles @ rows / np.maximum(totals, 1e-12), 0.5)

    def strength(self) -> float:
        """Chroma x value of the four most colourful pixels in a lamp colour: how lit the brightest lamp is."""
        saturation, value = self.hsv[..., 1], self.hsv[..., 2]
        lit = (saturation * value * value * self.bands.any(axis=0)).ravel()
        return float(np.partition(lit, -4)[-4:].mean())


def zero_shot_probabilities(crop: np.ndarray) -> np.ndarray:
    """P(state) over STATES from the lit lamp's colour and position alone."""
    return _zero_shot(LampEvidence.of(crop))


def _zero_shot(evidence: LampEvidence) -> np.ndarray:
    shares = evidence.shares()
    lit_position, red_position, yellow_position, _ = evidence.positions()
    penalty = 1 / (2 * POSITION_SIGMA ** 2)
    single = np.log(shares) - penalty * (lit_position - LAMP_CENTRES) ** 2
    both = (np.log(2 * min(shares[0], shares[1]) * RED_YELLOW_PRIOR)
            - penalty / 2 * ((red_position - LAMP_CENTRES[0]) ** 2 + (yellow_position - LAMP_CENTRES[1]) ** 2))
    lit = _softmax(np.append(single, both) / TEMPERATURE)
    off = 1 / (1 + np.exp((evidence.strength() - OFF_STRENGTH) / OFF_SCALE))
    return np.append((1 - off) * lit, off)


def crop_features(crop: np.ndarray) -> np.ndarray:
    """The classifier's features: zero-shot log-probabilities, colour shares and positions, lit strength,
    per-third HSV statistics and colour votes, and a chroma-weighted hue histogram."""
    evidence = LampEvidence.of(crop)
    hue, saturation, value = np.moveaxis(evidence.hsv, -1, 0)
    thirds = np.array_split(np.arange(CROP_HEIGHT), 3)
    per_third = []
    for rows in thirds:
        votes = (evidence.bands[:, rows] * evidence.weight[rows]).sum(axis=(1, 2))
        per_third += [saturation[rows].mean(), value[rows].mean(), np.percentile(value[rows], 90),
                      np.sqrt(evidence.weight[rows]).mean(), *votes / (evidence.masses().sum() + 1e-9)]
    histogram, _ = np.histogram(hue, HUE_BINS, (0, 360), weights=evidence.weight)
    return np.concatenate([np.log(_zero_shot(evidence) + 1e-6), evidence.shares(), evidence.positions(),
                           [evidence.strength()], per_third, histogram / (histogram.sum() + 1e-9)])


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------ along a track

def flashing_spans(off_probability: np.ndarray, frames: Sequence[int], fps: float) -> list[tuple[int, int]]:
    """(first, last) indices of stretches where the light goes on and off regularly: runs of on and of off
    each lasting FLASH_HALF_PERIOD_S (the first and last may be cut short), at least FLASH_MIN_TOGGLES
    toggles, on consecutive frames."""
    shortest, longest = (max(1, round(seconds * fps)) for seconds in FLASH_HALF_PERIOD_S)
    runs = frame_runs(zip(frames, (bool(p > 0.5) for p in off_probability), strict=True))  # [start, end, off]
    spans: list[tuple[int, int]] = []
    chain: list[list] = []

    def close_chain() -> None:
        if len(chain) - 1 >= FLASH_MIN_TOGGLES:
            spans.append((frames.index(chain[0][0]), frames.index(chain[-1][1])))

    for run in runs:
        length = run[1] - run[0] + 1
        follows = bool(chain) and chain[-1][1] == run[0] - 1
        if follows and length <= longest and (length >= shortest or run is runs[-1]):
            chain.append(run)
            continue
        close_chain()
        chain = [run] if length <= longest else []  # a first phase may be cut short, never too long
    close_chain()
    return spans


def smooth_track(probabilities: np.ndarray, frames: Sequence[int], *, fps: float = DEFAULT_FPS,
                 stay: float = 0.98) -> tuple[list[str], list[bool], np.ndarray]:
    """States, flashing flags and posterior confidences along one track from per-frame P(state) (rows in
    frame order; an all-equal row is a frame without evidence)."""
    probabilities = np.array(probabilities, dtype=float)
    flashing = np.zeros(len(frames), bool)
    for first, last in flashing_spans(probabilities[:, OFF], list(frames), fps):
        span = slice(first, last + 1)
        lit = probabilities[span, :OFF].sum(axis=0)
        probabilities[span] = np.append(lit / lit.sum(), 0.0)  # the lit colour, whether on or off this frame
        flashing[span] = True
    path, posterior = sticky_hmm(probabilities, np.diff(np.asarray(frames)), stay, EMISSION_FLOOR)
    return [STATES[s] for s in path], flashing.tolist(), posterior[np.arange(len(path)), path]


def state_runs(suggestions: Iterable[Suggestion], track_id: int) -> list[Run]:
    """Where one track's suggested state changes: a Run per stretch of equal (state, flashing) on consecutive
    frames, its value ``"red"`` or ``"yellow flashing"``."""
    mine = sorted((s for s in suggestions if s.track_id == track_id), key=lambda s: s.frame)
    values = ((s.frame, s.attributes["state"] + (" flashing" if s.attributes.get("flashing") else ""))
              for s in mine)
    return [Run(start, end, value) for start, end, value in frame_runs(values)]


# ------------------------------------------------------------------ learning and validation

@dataclass(frozen=True)
class Label:
    track_id: int
    frame: int
    state: str


def held_out_folds(labels: Sequence[Label], fps: float, folds: int = FOLDS) -> Iterator[tuple[list, list]]:
    """(train, test) index lists: labels grouped by track and blocks of TIME_BLOCK_S (GroupKFold), and a
    training label dropped when a test label of its track is within a block's length of it, so neighbouring
    frames are never on both sides."""
    from sklearn.model_selection import GroupKFold

    block = max(1, round(TIME_BLOCK_S * fps))
    groups = [f"{label.track_id}:{label.frame // block}" for label in labels]
    splits = min(folds, len(set(groups)))
    if splits < 2:
        return
    for train, test in GroupKFold(n_splits=splits).split(np.zeros(len(labels)), groups=groups):
        tested = defaultdict(list)
        for index in test:
            tested[labels[index].track_id].append(labels[index].frame)
        kept = [int(i) for i in train
                if all(abs(labels[i].frame - frame) >= block for frame in tested.get(labels[i].track_id, ()))]
        yield kept, [int(i) for i in test]


class _Classifier:
    """A logistic regression on crop features, trained on the states labeled at least MIN_PER_STATE times
    (classes weighted equally: a rare yellow is not swallowed by red).  Among those states its probabilities
    take the zero-shot ones' share; the result is blended with the zero-shot probabilities,
    zero^(1-w) x learned^w."""

    def __init__(self, features: np.ndarray, states: Sequence[str], weight: float = 1.0):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        kept = np.isin(states, _trainable_states(states))
        self.model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, class_weight="balanced",
                                                                        max_iter=1000))
        self.model.fit(features[kept], np.asarray(states)[kept])
        self.columns = [STATES.index(state) for state in self.model.classes_]
        self.weight = weight

    def learned(self, features: np.ndarray) -> np.ndarray:
        zero = _zero_from_features(features)
        learned = zero.copy()
        learned[:, self.columns] = zero[:, self.columns].sum(axis=1, keepdims=True) * self.model.predict_proba(
            features)
        return learned

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return _blend(_zero_from_features(features), self.learned(features), self.weight)


def _zero_from_features(features: np.ndarray) -> np.ndarray:
    zero = np.exp(features[:, :len(STATES)])  # the first features are the zero-shot log-probabilities
    return zero / zero.sum(axis=1, keepdims=True)


def _blend(zero: np.ndarray, learned: np.ndarray, weight: float) -> np.ndarray:
    mixed = np.clip(zero, 1e-9, None) ** (1 - weight) * np.clip(learned, 1e-9, None) ** weight
    return mixed / mixed.sum(axis=1, keepdims=True)


def _best_weight(zero: np.ndarray, learned: np.ndarray, truth: np.ndarray) -> float:
    """The blend weight with the lowest held-out log-loss; a higher weight must beat a lower one by
    LOSS_MARGIN (with few labels the zero-shot cue is the safer bet)."""
    best, best_loss = 0.0, np.inf
    for weight in BLEND_WEIGHTS:
        loss = -np.log(_blend(zero, learned, weight)[np.arange(len(truth)), truth]).mean()
        if loss < best_loss - LOSS_MARGIN:
            best, best_loss = weight, loss
    return best


def _trainable_states(states: Sequence[str]) -> list[str]:
    return [state for state in STATES if list(states).count(state) >= MIN_PER_STATE]


def _can_train(states: Sequence[str]) -> bool:
    return len(states) >= MIN_LABELS and len(_trainable_states(states)) >= 2


# ------------------------------------------------------------------ the assistant

class LightStateAssistant(Assistant):
    name = "light-state"
    description = "traffic-light state (red, yellow, green, red-yellow, off; flashing) from each light's crop"
    produces = ATTRIBUTES
    learns = True

    def __init__(self, *, smoothing: bool = True, stay: float = 0.98):
        if not 0.5 <= stay < 1:
            raise RoadlabelError(self.name, f"stay must be at least 0.5 and below 1, got {stay}")
        self.smoothing = bool(smoothing)
        self.stay = float(stay)
        self.classifier: _Classifier | None = None

    def settings(self) -> Mapping[str, Any]:
        return {"smoothing": self.smoothing, "stay": self.stay}

    def training_labels(self, context: AssistContext) -> list[list]:
        return [[label.track_id, label.frame, label.state] for label in self._labels(context)]

    def train(self, context: AssistContext) -> Validation:
        """Check the zero-shot cue on the labeled states; with MIN_LABELS of them, two kinds MIN_PER_STATE times
        each, train the classifier on held-out folds and blend it in at the weight with the lowest held-out
        log-loss (0 keeps the zero-shot cue alone).  The accuracy is that of the chosen blend on held-out
        labels."""
        self.classifier = None
        labels = self._labels(context)
        if not labels:
            return Validation(0, method="no labeled states: colour and position of the lit lamp")
        features = self._features(context, labels)
        truth = [label.state for label in labels]
        zero = features[:, :len(STATES)].argmax(axis=1)
        if not _can_train(truth):
            return _validation(0, truth, zero, f"zero-shot, checked on {len(labels)} labeled states")
        held_out, zero_held, learned_held = [], [], []
        for train, test in held_out_folds(labels, _fps(context)):
            if _can_train([truth[i] for i in train]):
                classifier = _Classifier(features[train], [truth[i] for i in train])
                held_out += test
                zero_held.append(_zero_from_features(features[test]))
                learned_held.append(classifier.learned(features[test]))
        if not held_out:
            return _validation(0, truth, zero, f"zero-shot, checked on {len(labels)} labeled states (too few "
                                               "on separate lights or times to validate a classifier)")
        held_truth = np.array([STATES.index(truth[i]) for i in held_out])
        zero_held, learned_held = np.vstack(zero_held), np.vstack(learned_held)
        weight = _best_weight(zero_held, learned_held, held_truth)
        if weight > 0:
            self.classifier = _Classifier(features, truth, weight)
        predicted = _blend(zero_held, learned_held, weight).argmax(axis=1)
        method = (f"zero-shot blended with a classifier at weight {weight:g}" if weight else
                  "zero-shot (a classifier did no better)") + f", held out by light and {TIME_BLOCK_S:g} s blocks"
        return _validation(len(labels) if weight else 0, [truth[i] for i in held_out], predicted, method)

    def suggest(self, context: AssistContext) -> Iterator[Suggestion]:
        seen: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
        for frame in context.frame_range:
            lights = [item for item in context.project.objects_on(frame) if item.track.class_name == CLASS_NAME
                      and item.state.geometry.kind is GeometryKind.BOX]
            if lights:
                image = np.asarray(context.frames[frame])
                crops = [light_crop(image, item.state.geometry, item.track.attributes.get("orientation", "vertical"))
                         for item in lights]
                for item, probabilities in zip(lights, self._probabilities(crops), strict=True):
                    seen[item.track.id].append((frame, probabilities))
            context.step()
        fps = _fps(context)
        for track_id, observations in sorted(seen.items()):
            frames = [frame for frame, _ in observations]
            probabilities = np.array([p for _, p in observations])
            if self.smoothing:
                states, flashing, confidence = smooth_track(probabilities, frames, fps=fps, stay=self.stay)
            else:
                best = probabilities.argmax(axis=1)
                states, flashing = [STATES[s] for s in best], [False] * len(frames)
                confidence = probabilities[np.arange(len(frames)), best]
            for frame, state, flash, sure, row in zip(frames, states, flashing, confidence, probabilities,
                                                      strict=True):
                if np.ptp(row) == 0 and sure < UNSURE:  # no evidence here, and too little from its neighbours
                    state, sure = UNKNOWN, 1 - sure
                yield Suggestion(frame, float(sure), track_id=track_id,
                                 attributes={"state": state, "flashing": bool(flash)})

    # -------------------------------------------------------------- helpers

    def _probabilities(self, crops: list[np.ndarray | None]) -> list[np.ndarray]:
        readable = [crop for crop in crops if crop is not None]
        known = iter([])
        if readable:
            features = np.array([crop_features(crop) for crop in readable])
            known = iter(self.classifier.probabilities(features) if self.classifier
                         else _zero_from_features(features))
        no_evidence = np.full(len(STATES), 1 / len(STATES))
        return [no_evidence if crop is None else next(known) for crop in crops]

    def _labels(self, context: AssistContext) -> list[Label]:
        """States a person set (manual or imported, not the default) on a light box."""
        labels = []
        for track in context.project.tracks(CLASS_NAME):
            for state in context.project.states_of(track.id):
                value = state.attributes.get("state", UNKNOWN)
                if (state.source in (Source.MANUAL, Source.IMPORTED) and value in STATES
                        and state.geometry.kind is GeometryKind.BOX):
                    labels.append(Label(track.id, state.frame, value))
        return sorted(labels, key=lambda label: (label.frame, label.track_id))

    def _features(self, context: AssistContext, labels: Sequence[Label]) -> np.ndarray:
        """Crop features of every label, reading each frame once; an unreadable crop gets the features of a
        blank one (its label still counts, and the classifier learns little from it)."""
        blank = crop_features(np.zeros((CROP_HEIGHT, CROP_WIDTH, 3), np.uint8))
        by_frame: dict[int, list[Label]] = defaultdict(list)
        for label in labels:
            by_frame[label.frame].append(label)
        features = {}
        for frame, here in by_frame.items():
            image = np.asarray(context.frames[frame])
            for label in here:
                track = context.project.track(label.track_id)
                crop = light_crop(image, context.project.state(label.track_id, frame).geometry,
                                  track.attributes.get("orientation", "vertical"))
                features[label] = blank if crop is None else crop_features(crop)
        return np.array([features[label] for label in labels])


def _fps(context: AssistContext) -> float:
    return context.project.sequence.fps or DEFAULT_FPS


def _validation(labels: int, truth: Sequence[str], predicted: np.ndarray, method: str) -> Validation:
    """Accuracy, confusion matrix (rows truth, columns predicted, in STATES order) and red taken for green."""
    names = [STATES[p] for p in predicted]
    confusion = np.zeros((len(STATES), len(STATES)), int)
    for true, guess in zip(truth, names, strict=True):
        confusion[STATES.index(true), STATES.index(guess)] += 1
    accuracy = float(np.trace(confusion) / max(confusion.sum(), 1))
    red_for_green = int(confusion[STATES.index("red"), STATES.index("green")])
    return Validation(labels, accuracy if len(truth) else None, method,
                      {"states": list(STATES), "confusion": confusion.tolist(), "red_taken_for_green": red_for_green,
                       "held_out": len(truth)})
