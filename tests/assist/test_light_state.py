"""The traffic-light state assistant on drawn lights with a known lit lamp, and on a few real crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from napari_roadlabel.assist import AssistContext, make_assistant
from napari_roadlabel.assist.light_state import (
    Label,
    LightStateAssistant,
    held_out_folds,
    state_runs,
)
from napari_roadlabel.core import Project, SequenceInfo, Source, box
from napari_roadlabel.core.errors import RoadlabelError
from napari_roadlabel.core.timeline import Run
from tests.conftest import SHARED_DATA

WIDTH, HEIGHT, FPS = 320, 180, 30.0
LAMP_COLOURS = {"red": (255, 50, 40), "yellow": (255, 190, 30), "green": (40, 230, 130)}
DARK_LENS = (50, 50, 48)
HOUSING = (32, 34, 32)


def draw_light(image: np.ndarray, x: int, y: int, lit: str, *, horizontal: bool = False,
               colours: dict | None = None, size: tuple[int, int] = (12, 34)) -> tuple[int, int, int, int]:
    """A three-lamp light (red, yellow, green from the top, or from the left) with ``lit`` on ("red-yellow":
    two lamps, "off": none); returns its box."""
    colours = colours or LAMP_COLOURS
    short, long = size
    light = np.empty((long, short, 3), np.uint8)
    light[:] = HOUSING
    for index, name in enumerate(("red", "yellow", "green")):
        on = name in lit.split("-")
        centre, radius = (short // 2, round(long * (2 * index + 1) / 6)), short * 2 // 5
        cv2.circle(light, centre, radius, colours[name] if on else DARK_LENS, -1, cv2.LINE_AA)
        if on and name + "-right" in colours:  # a two-tone lamp
            cv2.ellipse(light, centre, (radius, radius), 0, -90, 90, colours[name + "-right"], -1, cv2.LINE_AA)
    if horizontal:
        light = light.transpose(1, 0, 2)
    height, width = light.shape[:2]
    image[y:y + height, x:x + width] = light
    return x, y, x + width - 1, y + height - 1


def jpeg(image: np.ndarray) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1], cv2.IMREAD_COLOR)


def background(rng: np.random.Generator) -> np.ndarray:
    image = np.full((HEIGHT, WIDTH, 3), (150, 175, 205), np.uint8)
    image[HEIGHT // 2:] = 90
    return np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)


def make_project(tmp_path, frame_count: int) -> Project:
    return Project.create(tmp_path / "project", SequenceInfo("clip", frame_count, WIDTH, HEIGHT, FPS))


def light_track(project: Project, frames: np.ndarray, lit_per_frame: list[str], x: int = 40, y: int = 20, *,
                horizontal: bool = False, colours: dict | None = None) -> int:
    """Draw one light on every frame with the given lit lamps; add its track with unlabeled (propagated)
    states; returns its id."""
    track = project.add_track("traffic-light", {"orientation": "horizontal" if horizontal else "vertical"})
    for frame, lit in enumerate(lit_per_frame):
        corners = draw_light(frames[frame], x, y, lit, horizontal=horizontal, colours=colours)
        project.set_state(track.id, frame, box(*corners), source=Source.PROPAGATED)
    return track.id


def suggested(assistant, project: Project, frames: np.ndarray) -> dict[tuple[int, int], dict]:
    context = AssistContext(project, np.array([jpeg(frame) for frame in frames]), range(len(frames)))
    return {(s.track_id, s.frame): {**s.attributes, "confidence": s.confidence} for s in assistant.suggest(context)}


@pytest.mark.parametrize("horizontal", [False, True], ids=["vertical", "horizontal"])
def test_zero_shot_reads_the_lit_lamp_from_colour_and_position(tmp_path, horizontal):
    lit_states = ["red", "yellow", "green", "red-yellow", "off"]
    frames = np.stack([background(np.random.default_rng(frame)) for frame in range(3)])
    with make_project(tmp_path, 3) as project:
        tracks = {lit: light_track(project, frames, [lit] * 3, x=20 + 55 * index, horizontal=horizontal)
                  for index, lit in enumerate(lit_states)}
        result = suggested(LightStateAssistant(), project, frames)
    for lit, track_id in tracks.items():
        for frame in range(3):
            assert result[track_id, frame]["state"] == lit, (lit, frame)
            assert result[track_id, frame]["flashing"] is False
            assert result[track_id, frame]["confidence"] > 0.5


def test_where_the_lamp_sits_tells_an_orange_lamp_apart(tmp_path):
    """A lamp half red, half yellow by hue could be either by colour alone: in the middle it is yellow, on top
    red."""
    half_red, half_yellow = (255, 45, 30), (255, 170, 30)
    amber = {**LAMP_COLOURS, "red": half_red, "red-right": half_yellow, "yellow": half_red,
             "yellow-right": half_yellow}
    frames = np.stack([background(np.random.default_rng(1))] * 2)
    with make_project(tmp_path, 2) as project:
        on_top = light_track(project, frames, ["red"] * 2, x=30, colours=amber)
        in_middle = light_track(project, frames, ["yellow"] * 2, x=90, colours=amber)
        result = suggested(LightStateAssistant(), project, frames)
    assert {result[on_top, frame]["state"] for frame in range(2)} == {"red"}
    assert {result[in_middle, frame]["state"] for frame in range(2)} == {"yellow"}


def test_smoothing_removes_a_one_frame_glitch_and_keeps_a_real_change(tmp_path):
    lit = ["red"] * 40 + ["green"] * 40
    lit[15] = "green"  # a reflection on one frame
    frames = np.stack([background(np.random.default_rng(0))] * len(lit))
    with make_project(tmp_path, len(lit)) as project:
        track_id = light_track(project, frames, lit)
        context = AssistContext(project, np.array([jpeg(frame) for frame in frames]), range(len(lit)))
        smoothed = list(LightStateAssistant().suggest(context))
        per_frame = list(LightStateAssistant(smoothing=False).suggest(context))
    assert state_runs(smoothed, track_id) == [Run(0, 39, "red"), Run(40, 79, "green")]
    assert state_runs(per_frame, track_id) == [Run(0, 14, "red"), Run(15, 15, "green"), Run(16, 39, "red"),
                                               Run(40, 79, "green")]
    confidence = {s.frame: s.confidence for s in smoothed}
    assert confidence[15] < confidence[5]  # the glitch leaves some doubt


def test_a_regular_on_off_alternation_is_flashing_with_the_lit_colour(tmp_path):
    flashing = (["yellow"] * 10 + ["off"] * 10) * 4 + ["yellow"] * 5  # 1.5 Hz at 30 fps
    steady = ["red"] * 50 + ["off"] + ["red"] * 34  # one dark frame is a glitch, not flashing
    frames = np.stack([background(np.random.default_rng(0))] * len(flashing))
    with make_project(tmp_path, len(flashing)) as project:
        blinking = light_track(project, frames, flashing, x=40)
        still = light_track(project, frames, steady, x=120)
        result = suggested(LightStateAssistant(), project, frames)
    for frame in range(len(flashing)):
        assert result[blinking, frame]["state"] == "yellow" and result[blinking, frame]["flashing"] is True
        assert result[still, frame]["state"] == "red" and result[still, frame]["flashing"] is False
    assert state_runs(result_suggestions(result, blinking), blinking) == [Run(0, 84, "yellow flashing")]


def result_suggestions(result: dict, track_id: int) -> list:
    from napari_roadlabel.assist import Suggestion

    return [Suggestion(frame, value["confidence"], track_id=track, attributes=value)
            for (track, frame), value in result.items() if track == track_id]


def test_learning_from_labeled_states_reads_a_light_the_zero_shot_cue_cannot(tmp_path):
    """Lights whose yellow lamp looks red: by colour the zero-shot cue calls them red; once a person labels
    some, the classifier learns that a red-looking lamp in the middle is yellow."""
    red_yellow_lamp = {**LAMP_COLOURS, "yellow": LAMP_COLOURS["red"]}
    lights, stretch = 8, 60
    frames = np.stack([background(np.random.default_rng(frame)) for frame in range(lights * stretch)])
    with make_project(tmp_path, len(frames)) as project:
        tracks = []  # each light on its own stretch of frames, yellow and red in turn
        for index in range(lights):
            lit = "yellow" if index % 2 else "red"
            track = project.add_track("traffic-light")
            for frame in range(index * stretch, (index + 1) * stretch):
                corners = draw_light(frames[frame], 30 + 40 * (index % 4), 20, lit, colours=red_yellow_lamp)
                project.set_state(track.id, frame, box(*corners), source=Source.PROPAGATED)
            tracks.append((track.id, lit))
        context = AssistContext(project, np.array([jpeg(frame) for frame in frames]), range(len(frames)))
        assistant = LightStateAssistant()
        assert assistant.train(context).labels == 0
        before = {(s.track_id, s.frame): s.attributes["state"] for s in assistant.suggest(context)}
        for track_id, lit in tracks[:6]:  # a person labels the first six lights, three frames each
            for state in project.states_of(track_id)[::25]:
                project.set_state(track_id, state.frame, state.geometry, {"state": lit}, source=Source.MANUAL)
        validation = assistant.train(context)
        after = {(s.track_id, s.frame): s.attributes["state"] for s in assistant.suggest(context)}
    assert validation.labels == 18 and validation.accuracy >= 0.9
    assert validation.details["red_taken_for_green"] == 0
    assert sum(map(sum, validation.details["confusion"])) == validation.details["held_out"] > 0
    unlabeled_yellow, unlabeled_red = tracks[7][0], tracks[6][0]
    assert {state for (track, _), state in before.items() if track == unlabeled_yellow} == {"red"}
    assert {state for (track, _), state in after.items() if track == unlabeled_yellow} == {"yellow"}
    assert {state for (track, _), state in after.items() if track == unlabeled_red} == {"red"}


def test_validation_never_puts_neighbouring_frames_on_both_sides():
    labels = [Label(track, frame, "red" if frame < 150 else "green") for track in (1, 2) for frame in range(300)]
    tested = []
    for train, test in held_out_folds(labels, FPS):
        test_frames = {(labels[i].track_id, labels[i].frame) for i in test}
        for i in train:
            for near in (-1, 1):
                assert (labels[i].track_id, labels[i].frame + near) not in test_frames
        assert train and test
        tested += test
    assert sorted(tested) == list(range(len(labels)))


def test_version_changes_when_a_person_labels_a_state_not_when_a_suggestion_arrives(tmp_path):
    frames = np.stack([background(np.random.default_rng(0))] * 4)
    with make_project(tmp_path, 4) as project:
        track_id = light_track(project, frames, ["red"] * 4)
        context = AssistContext(project, frames, range(4))
        assistant = make_assistant("light-state")
        first = assistant.version(context)
        geometry = project.state(track_id, 1).geometry
        project.set_state(track_id, 1, geometry, {"state": "red"}, source=Source.SUGGESTED)
        assert assistant.version(context) == first
        project.set_state(track_id, 2, geometry, {"state": "red"}, source=Source.MANUAL)
        labeled = assistant.version(context)
        assert labeled != first
        assert assistant.training_labels(context) == [[track_id, 2, "red"]]
        project.set_state(track_id, 2, geometry, {"state": "green"}, source=Source.MANUAL)
        assert assistant.version(context) not in (first, labeled)
        assert LightStateAssistant(stay=0.9).version(context) != assistant.version(context)


def test_a_box_too_small_to_read_is_unknown(tmp_path):
    frames = np.stack([background(np.random.default_rng(0))] * 3)
    with make_project(tmp_path, 3) as project:
        track = project.add_track("traffic-light")
        for frame in range(3):
            project.set_state(track.id, frame, box(50, 20, 52, 22), source=Source.PROPAGATED)
        result = suggested(LightStateAssistant(), project, frames)
    assert {result[track.id, frame]["state"] for frame in range(3)} == {"unknown"}


def test_bad_settings_are_refused_in_one_line():
    with pytest.raises(RoadlabelError, match="stay must be"):
        LightStateAssistant(stay=1.0)


CROPS = SHARED_DATA / "traffic-light-crops"


@pytest.mark.skipif(not CROPS.is_dir(), reason=f"real traffic-light crops not found in {CROPS}")
def test_real_crops_pasted_into_frames(tmp_path):
    crops = []
    for state in ("red", "yellow", "green"):
        readable = (cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
                    for path in sorted((CROPS / state).glob("*.jpg")))
        crops += [(state, crop) for crop in readable if crop.shape[0] < HEIGHT - 20][:8]
    frames = np.stack([background(np.random.default_rng(index)) for index in range(len(crops))])
    with make_project(tmp_path, len(crops)) as project:
        truth = {}
        for frame, (state, crop) in enumerate(crops):
            height, width = crop.shape[:2]
            frames[frame, 10:10 + height, 100:100 + width] = crop
            track = project.add_track("traffic-light")
            project.set_state(track.id, frame, box(100, 10, 100 + width - 1, 10 + height - 1),
                              source=Source.PROPAGATED)
            truth[track.id, frame] = state
        result = suggested(LightStateAssistant(), project, frames)
    right = sum(result[key]["state"] == state for key, state in truth.items())
    assert right >= 0.9 * len(truth)
    assert not any(state == "red" and result[key]["state"] == "green" for key, state in truth.items())
