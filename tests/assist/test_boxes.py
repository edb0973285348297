"""Sign and light box proposals on drawn road frames whose boxes are known."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from napari_roadlabel.assist import AssistContext, NotEnoughLabels, make_assistant
from napari_roadlabel.assist.boxes import LIGHT, SIGN, BoxProposer, box_candidates, held_out_folds
from napari_roadlabel.core import Source, box
from napari_roadlabel.core.geometry import bounds_iou

WIDTH, HEIGHT = 640, 360
LAMPS = {"red": (255, 48, 36), "yellow": (255, 192, 24), "green": (36, 232, 120)}


def road(seed: int = 0) -> np.ndarray:
    """Sky over grass and asphalt with a yellow centre line and white dashes, a little sensor noise."""
    image = np.empty((HEIGHT, WIDTH, 3), np.float32)
    rows = np.linspace(0, 1, 150)[:, None]
    image[:150] = (np.float32((92, 138, 204)) * (1 - rows) + np.float32((198, 210, 224)) * rows)[:, None]
    image[150:] = (76, 112, 50)
    cv2.fillPoly(image, [np.int32([[300, 150], [340, 150], [640, 360], [0, 360]])], (98, 98, 102))
    cv2.line(image, (318, 150), (200, 360), (238, 182, 38), 4)
    for y in range(170, 360, 50):
        cv2.line(image, (330 + (y - 150) // 2, y), (330 + (y - 130) // 2, y + 20), (234, 234, 228), 3)
    image += np.random.default_rng(seed).normal(0, 1.5, image.shape[:2])[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def draw_light(image: np.ndarray, x: int, y: int, width: int = 20, lit: str = "red") -> tuple:
    """A vertical three-lamp light, its top-left corner at (x, y); returns its box."""
    height = round(width * 8 / 3)
    cv2.rectangle(image, (x, y), (x + width - 1, y + height - 1), (30, 32, 30), -1)
    for index, colour in enumerate(("red", "yellow", "green")):
        centre = (x + width // 2, y + round(height * (2 * index + 1) / 6))
        bright = colour == lit
        cv2.circle(image, centre, round(width / 3), LAMPS[colour] if bright else (60, 40, 30), -1, cv2.LINE_AA)
        if bright:
            cv2.circle(image, centre, round(width / 6), (255, 200, 190), -1, cv2.LINE_AA)
    return x, y, x + width, y + height


def octagon(cx: float, cy: float, radius: float) -> np.ndarray:
    angles = np.deg2rad(22.5 + 45 * np.arange(8))
    return np.int32(np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1).round())


def draw_stop(image: np.ndarray, cx: int, cy: int, size: int = 40) -> tuple:
    """A red octagon with a white rim and STOP; returns its box."""
    radius = size / 2 / math.cos(math.pi / 8)
    cv2.fillPoly(image, [octagon(cx, cy, radius)], (244, 244, 240), cv2.LINE_AA)
    cv2.fillPoly(image, [octagon(cx, cy, radius * 0.9)], (196, 22, 28), cv2.LINE_AA)
    scale = size / 110
    (w, h), _ = cv2.getTextSize("STOP", cv2.FONT_HERSHEY_DUPLEX, scale, 1)
    cv2.putText(image, "STOP", (cx - w // 2, cy + h // 2), cv2.FONT_HERSHEY_DUPLEX, scale, (244, 244, 240), 1)
    return cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2


def draw_distractors(image: np.ndarray, x: int, y: int) -> None:
    """A dark car's rear with two red tail-lights, and a plain red disc on a pole (a shop sign)."""
    cv2.rectangle(image, (x, y), (x + 90, y + 40), (40, 40, 46), -1)
    for lamp_x in (x + 6, x + 72):
        cv2.rectangle(image, (lamp_x, y + 6), (lamp_x + 12, y + 16), (255, 40, 40), -1)
        cv2.rectangle(image, (lamp_x + 3, y + 9), (lamp_x + 9, y + 13), (255, 235, 235), -1)
    cv2.circle(image, (x + 150, y - 40), 18, (210, 30, 30), -1, cv2.LINE_AA)


def matches(found, truth, class_name) -> bool:
    return any(c.class_name == class_name and bounds_iou(c.bounds, truth) >= 0.5 for c in found)


def test_a_light_and_a_stop_sign_are_found_at_their_boxes_with_their_classes():
    image = road()
    light = draw_light(image, 420, 40, lit="red")
    stop = draw_stop(image, 560, 120)
    found = box_candidates(image)
    assert matches(found, light, LIGHT) and matches(found, stop, SIGN)
    assert len(found) == 2
    by_class = {candidate.class_name: candidate.attributes for candidate in found}
    assert by_class[LIGHT]["state"] == "red" and by_class[SIGN] == {"type": "stop"}


@pytest.mark.parametrize("lit", ["yellow", "green"])
def test_the_lit_lamp_places_the_housing_and_names_the_state(lit):
    image = road(1)
    light = draw_light(image, 200, 30, width=14, lit=lit)
    (found,) = box_candidates(image)
    assert bounds_iou(found.bounds, light) >= 0.5 and found.attributes["state"] == lit


def test_an_empty_road_has_no_proposals():
    assert box_candidates(road(2)) == []


def training_frames(count: int) -> tuple[np.ndarray, list[tuple[int, str, int, tuple]]]:
    """Frames with a light, a stop sign and the distractors at places that change; (frame, class, track, box)
    of the light and the sign, three tracks of each class."""
    rng = np.random.default_rng(5)
    frames, boxes = [], []
    for frame in range(count):
        image = road(frame)
        x = int(rng.integers(40, 300))
        draw_distractors(image, x, 250)
        light = draw_light(image, int(rng.integers(350, 600)), int(rng.integers(10, 60)),
                           width=int(rng.integers(12, 24)), lit=("red", "yellow", "green")[frame % 3])
        stop = draw_stop(image, int(rng.integers(40, 250)), int(rng.integers(60, 110)), int(rng.integers(24, 44)))
        frames.append(image)
        boxes += [(frame, LIGHT, 1 + frame % 3, light), (frame, SIGN, 4 + frame % 3, stop)]
    return np.stack(frames), boxes


def labeled(project, boxes) -> None:
    for track_id in sorted({track_id for _, _, track_id, _ in boxes}):
        project.add_track(LIGHT if track_id <= 3 else SIGN, track_id=track_id)
    for frame, _, track_id, bounds in boxes:
        project.set_state(track_id, frame, box(*bounds), source=Source.MANUAL)


def precision(assistant: BoxProposer, image: np.ndarray, truth: list[tuple]) -> float:
    proposed = assistant.propose(image)
    right = sum(any(bounds_iou(c.bounds, t) >= 0.5 and c.class_name == name for name, t in truth) for c, _ in proposed)
    return right / max(len(proposed), 1)


def test_training_on_labeled_boxes_drops_tail_lights_and_a_red_disc(project):
    frames, boxes = training_frames(12)
    labeled(project, boxes)
    test = road(99)
    draw_distractors(test, 120, 260)
    truth = [(LIGHT, draw_light(test, 480, 30, lit="green")), (SIGN, draw_stop(test, 90, 90, 36))]
    assistant = BoxProposer()
    untrained = precision(assistant, test, truth)
    validation = assistant.train(AssistContext(project, frames, range(len(frames))))
    assert untrained < 0.7  # the tail-lights look like red lamps in a dark housing, the disc like a sign
    assert precision(assistant, test, truth) == 1.0
    assert all(any(bounds_iou(c.bounds, t) >= 0.5 for c, _ in assistant.propose(test)) for _, t in truth)
    assert validation.labels == 24 and validation.details[LIGHT]["tracks"] == 3
    assert validation.accuracy is not None and validation.accuracy > 0.8


def test_without_labels_it_works_untrained_with_lower_confidence(project):
    image = road()
    draw_light(image, 420, 40)
    assistant = make_assistant("boxes")
    validation = assistant.train(AssistContext(project, image[None], range(1)))
    assert validation.labels == 0 and "colour and shape only" in validation.method
    ((_, confidence),) = assistant.propose(image)
    assert 0.2 <= confidence <= 0.5


def test_a_few_boxes_are_not_enough_to_train(project):
    frames, boxes = training_frames(3)
    labeled(project, boxes)
    with pytest.raises(NotEnoughLabels, match="label 2 more"):
        BoxProposer().train(AssistContext(project, frames, range(3)))


def moving_clip() -> np.ndarray:
    frames = []
    for frame in range(3):
        image = road(frame)
        draw_light(image, 400 + 3 * frame, 40 + frame, lit="green")
        draw_stop(image, 100 - 2 * frame, 100, 30 + frame)
        frames.append(image)
    return np.stack(frames)


def test_existing_boxes_are_not_proposed_again_and_new_tracks_link_across_frames(project):
    frames = moving_clip()
    track = project.add_track(LIGHT)
    first_light = box_candidates(frames[0])
    light_bounds = next(c.bounds for c in first_light if c.class_name == LIGHT)
    project.set_state(track.id, 0, box(*light_bounds), source=Source.MANUAL)
    suggestions = list(BoxProposer().suggest(AssistContext(project, frames, range(3))))
    lights = [s for s in suggestions if s.class_name == LIGHT]
    signs = [s for s in suggestions if s.class_name == SIGN]
    assert [s.frame for s in lights] == [1, 2]  # frame 0's light is there already
    assert all(s.track_id == track.id and s.new_track is None for s in lights)  # it continues that track
    assert [s.frame for s in signs] == [0, 1, 2]
    assert len({s.new_track for s in signs}) == 1 and signs[0].track_id is None
    assert all(s.geometry.kind.value == "box" and s.attributes == {"type": "stop"} for s in signs)


def test_held_out_folds_never_split_a_track():
    labels = np.array([1] * 9 + [0] * 9)
    groups = np.array([7, 7, 7, 8, 8, 9, 9, 9, 9] + [-1, -1, -2, -2, -2, -3, -4, -4, -4])
    folds = held_out_folds(labels, groups)
    assert len(set(folds.tolist())) == 3
    for group in set(groups.tolist()):
        assert len(set(folds[groups == group].tolist())) == 1
    for fold in set(folds.tolist()):  # every fold holds out some of both kinds
        assert set(labels[folds == fold].tolist()) == {0, 1}
