"""The frame-tag assistant on synthetic clips with known truth: day then night, and a purple zone on the road."""

from __future__ import annotations

import numpy as np
import pytest

from napari_roadlabel.assist import AssistContext, NotEnoughLabels, make_assistant
from napari_roadlabel.assist.frame_tags import find_targets, time_block_splits
from napari_roadlabel.core import Project, RoadlabelError, SequenceInfo, Source, box
from napari_roadlabel.qa.review import Review

FRAMES, WIDTH, HEIGHT = 120, 96, 54
NIGHT_FROM = 60  # frames 0..59 are day, 60..119 night
ZONE = (40, 89)  # frames with the purple zone painted on the road


def make_clip() -> np.ndarray:
    """Noisy grey road under a sky, dark at night, with a purple band across the road inside ZONE."""
    rng = np.random.default_rng(0)
    frames = np.empty((FRAMES, HEIGHT, WIDTH, 3), np.uint8)
    for index in range(FRAMES):
        frame = np.empty((HEIGHT, WIDTH, 3), float)
        frame[:HEIGHT // 3] = (120, 160, 220)  # sky
        frame[HEIGHT // 3:] = (110, 110, 110)  # road
        if ZONE[0] <= index <= ZONE[1]:
            frame[2 * HEIGHT // 3:, 20:76] = (150, 60, 190)
        if index >= NIGHT_FROM:
            frame *= 0.2
        frames[index] = np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8)
    return frames


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return make_clip()


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "project", SequenceInfo("clip.mp4", FRAMES, WIDTH, HEIGHT, 30.0)) as opened:
        yield opened


def tag_like_a_person(project: Project) -> None:
    """A few tagged frames of each kind, away from the changes, each kind by day and by night; the zone's
    negatives are frames worked on without a zone tag."""
    project.add_tag("scene", 0, 9, {"time-of-day": "day"})
    project.add_tag("scene", 40, 44, {"time-of-day": "day"})
    project.add_tag("scene", 75, 79, {"time-of-day": "night"})
    project.add_tag("scene", 110, 119, {"time-of-day": "night"})
    project.add_tag("school-zone-active", 45, 49)
    project.add_tag("school-zone-active", 70, 74)
    Review(project, "reviewer").accept_frames([*range(0, 5), *range(95, 100)])  # frame marks: no zone there
    track = project.add_track("vehicle")
    for frame in (*range(20, 25), *range(115, 120)):  # keyframes: no zone there either
        project.set_state(track.id, frame, box(1, 1, 10, 10))


def context(project: Project, clip: np.ndarray) -> AssistContext:
    return AssistContext(project, clip, range(FRAMES))


def test_day_night_and_zone_become_the_right_ranges_with_their_confidence(project, clip):
    tag_like_a_person(project)
    assistant = make_assistant("frame-tags")
    validation = assistant.train(context(project, clip))
    suggestions = list(assistant.suggest(context(project, clip)))

    scenes = [(s.frame, s.last_frame, dict(s.attributes)) for s in suggestions if s.class_name == "scene"]
    assert scenes == [(0, NIGHT_FROM - 1, {"time-of-day": "day"}), (NIGHT_FROM, FRAMES - 1, {"time-of-day": "night"})]
    zones = [(s.frame, s.last_frame, dict(s.attributes)) for s in suggestions if s.class_name == "school-zone-active"]
    assert zones == [(*ZONE, {})]
    assert all(0.8 < s.confidence <= 1 for s in suggestions)
    assert validation.method.startswith("5 held-out blocks of time")
    assert validation.labels == 50  # frames: some have both a scene and a zone label
    targets = validation.details["targets"]
    assert targets["scene.time-of-day"]["accuracy"] == 1.0 and targets["scene.time-of-day"]["held_out"] == 30
    assert targets["school-zone-active"]["labels"] == {"False": 20, "True": 10}
    assert "scene.weather" in validation.details["not learned"]  # every tag says "unknown": nothing to learn


def test_validation_is_honest_about_a_tag_the_frames_do_not_show(project, clip):
    """Weather tagged at random stretches: neighbouring frames would give it away, held-out time cannot."""
    for start, weather in ((0, "rain"), (30, "clear"), (65, "rain"), (95, "clear")):
        project.add_tag("scene", start, start + 9, {"weather": weather})
    validation = make_assistant("frame-tags").train(context(project, clip))
    assert validation.details["targets"]["scene.weather"]["held_out"] == 40
    assert validation.accuracy <= 0.5


def test_a_presence_class_is_not_proposed_where_it_is_absent_and_the_range_is_honoured(project, clip):
    tag_like_a_person(project)
    suggestions = list(make_assistant("frame-tags").suggest(AssistContext(project, clip, range(50, 100))))
    zones = [(s.frame, s.last_frame) for s in suggestions if s.class_name == "school-zone-active"]
    assert zones == [(50, ZONE[1])]
    assert all(50 <= s.frame <= s.last_frame < 100 for s in suggestions)


@pytest.mark.parametrize("labelled", [
    np.random.default_rng(1).choice(1000, 80, replace=False),  # scattered frames
    np.r_[0:40, 200:230, 600:700],  # three tagged ranges
    np.r_[300:420],  # one long tagged range
])
def test_held_out_blocks_never_have_a_training_frame_near_them(labelled):
    splits = time_block_splits(labelled, blocks=5, gap=20)
    assert len(splits) == 5
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested.tolist()) == list(range(len(labelled)))  # every labelled frame is held out once
    for train, test in splits:
        assert len(train) > 0
        assert np.abs(labelled[train][:, None] - labelled[test][None, :]).min() > 20


def test_a_block_never_bridges_two_stretches_of_time():
    labelled = np.r_[0:10, 100:110]
    splits = time_block_splits(labelled, blocks=2, gap=20)
    assert sorted(sorted(labelled[test].tolist()) for _, test in splits) == [list(range(10)), list(range(100, 110))]
    assert all(len(train) == 10 for train, _ in splits)


def test_too_few_labels_says_how_many_more(project, clip):
    project.add_tag("scene", 0, 9, {"time-of-day": "day"})
    project.add_tag("school-zone-active", 45, 49)  # positives, but no frame anyone worked on outside it
    with pytest.raises(NotEnoughLabels) as raised:
        make_assistant("frame-tags").train(context(project, clip))
    assert str(raised.value).startswith("frame-tags: 1 kinds of frame")
    assert str(raised.value).endswith("2 needed to train: label 1 more")


def test_only_a_persons_tags_teach_and_they_are_only_read(project, clip):
    tag_like_a_person(project)
    assistant = make_assistant("frame-tags")
    version = assistant.version(context(project, clip))
    project.add_tag("scene", 50, 59, {"time-of-day": "night"}, source=Source.SUGGESTED)  # a model's, not a person's
    assert assistant.version(context(project, clip)) == version
    tags, undo = project.tags(), project.store.undo_label()

    assistant.train(context(project, clip))
    list(assistant.suggest(context(project, clip)))
    assert project.tags() == tags and project.store.undo_label() == undo


@pytest.mark.parametrize("edit", ["add", "move", "relabel", "review"])
def test_the_version_changes_when_the_labels_do(project, clip, edit):
    tag_like_a_person(project)
    assistant = make_assistant("frame-tags")
    version = assistant.version(context(project, clip))
    first = project.tags()[0]
    if edit == "add":
        project.add_tag("school-zone-active", 50, 52)
    elif edit == "move":
        project.update_tag(first.id, end=12)
    elif edit == "relabel":
        project.update_tag(first.id, attributes={"weather": "rain"})
    else:
        Review(project, "reviewer").accept_frame(60)
    assert assistant.version(context(project, clip)) != version


def test_a_presence_is_learned_from_its_tags_and_the_frames_people_worked_on(project):
    project.add_tag("school-zone-active", 10, 12)
    project.add_tag("school-zone-active", 30, 30, source=Source.SUGGESTED)  # not a person's: ignored
    Review(project, "reviewer").accept_frames([0, 11])
    track = project.add_track("vehicle")
    for frame in (5, 12, 50):
        project.set_state(track.id, frame, box(1, 1, 10, 10))
    project.set_state(track.id, 60, box(1, 1, 10, 10), source=Source.INTERPOLATED)  # no one looked at it
    zone = next(target for target in find_targets(project, FRAMES) if target.class_name == "school-zone-active")
    assert zone.attribute is None
    assert zone.labels == {0: False, 5: False, 50: False, 10: True, 11: True, 12: True}


@pytest.mark.parametrize("options", [{"blocks": 1}, {"gap": -1}, {"stay": 1.0}])
def test_bad_settings_are_one_line_naming_the_setting(options):
    with pytest.raises(RoadlabelError, match=f"^frame-tags: {next(iter(options))} must be") as raised:
        make_assistant("frame-tags", **options)
    assert "\n" not in str(raised.value)
