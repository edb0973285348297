"""The automatic QA checks: each fires on a crafted fault and stays quiet on clean work; the config file; the run."""

from __future__ import annotations

import numpy as np
import pytest

from napari_roadlabel.core import FormatError, FrameState, Source, box, make_geometry
from napari_roadlabel.core.geometry import Geometry, GeometryKind
from napari_roadlabel.core.review import ReviewMark, ReviewStatus
from napari_roadlabel.qa import checks
from napari_roadlabel.qa.check_config import config_for, load_check_config
from napari_roadlabel.qa.checks import CHECKS, CHUNK_FRAMES, run_checks
from napari_roadlabel.qa.findings import Severity

# ---------------------------------------------------------------- helpers


def add(project, class_name: str, frames, geometry, attributes=None, *, track_attributes=None,
        source: Source = Source.MANUAL, confidence: float | None = None) -> int:
    """A track of ``class_name`` with ``geometry`` on each of ``frames``; returns its id."""
    track_id = project.add_track(class_name, track_attributes).id
    with project.group("test"):
        for frame in frames:
            project.set_state(track_id, frame, geometry, attributes, source=source, confidence=confidence)
    return track_id


def lane(project, points, frames=(5,), attributes=None) -> int:
    return add(project, "lane-line", frames, make_geometry("polyline", points), attributes)


def found(project, check: str, config=None, **kwargs) -> list:
    return [finding for finding in run_checks(project, config, **kwargs) if finding.check == check]


def config_file(tmp_path, text: str):
    path = tmp_path / "qa.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_finding(finding, check: str, severity: Severity, frame: int, track_ids: tuple, *words: str) -> None:
    assert (finding.check, finding.severity, finding.frame, finding.track_ids) == (check, severity, frame, track_ids)
    for track_id in track_ids:
        assert str(track_id) in finding.message
    assert f"frame {frame}" in finding.message or f"frames {frame}-" in finding.message
    for word in words:
        assert word in finding.message, f"{word!r} not in {finding.message!r}"


def light(project, states: list[str], flashing: list[bool] | None = None) -> int:
    """A traffic light on frames 0.. showing ``states`` in turn."""
    track_id = project.add_track("traffic-light").id
    flashing = flashing or [False] * len(states)
    with project.group("light"):
        for frame, (state, flash) in enumerate(zip(states, flashing, strict=True)):
            project.set_state(track_id, frame, box(300, 20, 312, 50), {"state": state, "flashing": flash})
    return track_id


# ---------------------------------------------------------------- crossing-lanes


def test_crossing_lanes_are_an_error_once_per_pair_per_frame(project):
    first = lane(project, [[100, 350], [300, 150]], frames=(5, 6))
    second = lane(project, [[300, 350], [100, 150]], frames=(5, 6))
    findings = found(project, "crossing-lanes")
    assert [finding.frame for finding in findings] == [5, 6]
    assert_finding(findings[0], "crossing-lanes", Severity.ERROR, 5, (first, second), "(200, 250)")
    x0, y0, x1, y1 = findings[0].region
    assert x0 < 200 < x1 and y0 < 250 < y1


@pytest.mark.parametrize("first_points, second_points, attributes", [
    ([[100, 350], [200, 150]], [[200, 350], [300, 150]], None),  # parallel
    ([[100, 350], [200, 150]], [[300, 350], [200, 150]], None),  # both end at (200, 150): a V, they touch
    ([[100, 350], [300, 150]], [[300, 350], [199, 249]], None),  # ends on the first lane, 1.4 px past it
    ([[100, 350], [300, 150]], [[300, 350], [100, 150]], {"split-merge": "merge"}),  # crosses where they merge
])
def test_lanes_that_touch_or_merge_do_not_cross(project, first_points, second_points, attributes):
    lane(project, first_points)
    lane(project, second_points, attributes=attributes)
    assert found(project, "crossing-lanes") == []


def test_many_lanes_on_a_frame_are_checked_a_block_at_a_time_with_the_same_findings(project, monkeypatch):
    tops = np.random.default_rng(7).permutation(30)  # 30 straight lanes, their tops shuffled: a pair crosses
    fan = [lane(project, [[15 + 20 * bottom, 350], [15 + 20 * top, 50]], frames=(2, 3))  # where the order flips
           for bottom, top in enumerate(tops)]
    crossing = {(fan[i], fan[j]) for i in range(30) for j in range(i + 1, 30) if tops[i] > tops[j]}
    for offset in (0, 40, 80):  # frame 4: the other pairwise and lane-by-lane checks
        lane(project, [[100 + offset, 300], [300, 300], [300, 200], [200 + offset, 200], [200, 350]], frames=(4,))
        add(project, "vehicle", [4], box(100 + offset / 40, 100, 200, 200))
    lane(project, [[400, 350], [500, 150]], frames=(4,))
    lane(project, [[401, 350], [501, 150]], frames=(4,))
    jumping = lane(project, [[500, 350], [600, 150]], frames=(4,))
    project.set_state(jumping, 5, make_geometry("polyline", [[100, 350], [200, 150]]))
    whole = run_checks(project)
    monkeypatch.setattr(checks, "PAIRS_AT_ONCE", 5)
    monkeypatch.setattr(checks, "LANES_AT_ONCE", 2)
    assert run_checks(project) == whole
    found_crossings = [finding for finding in whole if finding.check == "crossing-lanes" and finding.frame in (2, 3)]
    assert len(found_crossings) == 2 * len(crossing) and {finding.track_ids for finding in found_crossings} == crossing
    assert {finding.check for finding in whole if finding.frame == 4} >= {"lane-shape", "near-duplicate"}
    assert "track-jump" in {finding.check for finding in whole}


# ---------------------------------------------------------------- lane-shape


@pytest.mark.parametrize("points, words", [
    ([[100, 300], [150, 200], [200, 300]], ("folds back", "100 px")),  # up the image, then down again
    ([[100, 300], [300, 300], [300, 200], [200, 200], [200, 350]], ("crosses itself",)),  # a loop
])
def test_lane_that_folds_back_or_loops_is_an_error(project, points, words):
    track_id = lane(project, points, frames=(7,))
    [finding] = found(project, "lane-shape")
    assert_finding(finding, "lane-shape", Severity.ERROR, 7, (track_id,), *words)


@pytest.mark.parametrize("points", [[[50.0, 50.0], [50.0, 50.0]], [[50.0, 50.0]]])
def test_lane_with_fewer_than_two_points_is_an_error(project, points):
    track_id = project.add_track("lane-line").id  # the model refuses one point, so write straight to the store
    geometry = Geometry(GeometryKind.POLYLINE, np.array(points))
    project.store.put_state(FrameState(track_id, 3, geometry))
    [finding] = found(project, "lane-shape")
    assert_finding(finding, "lane-shape", Severity.ERROR, 3, (track_id,), "at least 2 distinct points")
    assert found(project, "crossing-lanes") == []  # the other lane checks pass it by


def test_ordinary_lanes_have_a_good_shape(project):
    lane(project, [[100, 350], [180, 250], [230, 180], [260, 130]])  # curving up the image
    lane(project, [[50, 200], [300, 202], [600, 199]])  # across the image, rows wobbling under the tolerance
    assert found(project, "lane-shape") == []


# ---------------------------------------------------------------- track-gap


def test_gap_in_a_track_is_a_warning_per_gap(project):
    track_id = add(project, "vehicle", [0, 1, 2, 3, 4, 8, 9, 11], box(10, 10, 50, 50))
    first, second = found(project, "track-gap")
    assert_finding(first, "track-gap", Severity.WARNING, 5, (track_id,), "frames 5-7 (3 frames)", "4 and 8")
    assert_finding(second, "track-gap", Severity.WARNING, 10, (track_id,), "frame 10,", "9 and 11")
    assert first.region == (10, 10, 50, 50)  # where it was last seen


def test_continuous_tracks_have_no_gap(project):
    add(project, "vehicle", range(0, 30), box(10, 10, 50, 50))
    add(project, "vehicle", range(50, 60), box(10, 10, 50, 50))
    assert found(project, "track-gap") == []


# ---------------------------------------------------------------- track-jump


def test_object_jumping_is_a_warning(project):
    track_id = project.add_track("vehicle").id
    for frame, x in enumerate([10, 20, 30, 130, 140]):
        project.set_state(track_id, frame, box(x, 100, x + 40, 140))
    [finding] = found(project, "track-jump")
    assert_finding(finding, "track-jump", Severity.WARNING, 3, (track_id,), "100 px", "from frame 2", "limit 40")
    assert finding.region == (30, 100, 170, 140)


def test_lane_jumping_sideways_is_a_warning(project):
    track_id = project.add_track("lane-line").id
    for frame, shift in enumerate([0, 5, 65]):
        project.set_state(track_id, frame, make_geometry("polyline", [[100 + shift, 350], [100 + shift, 150]]))
    [finding] = found(project, "track-jump")
    assert_finding(finding, "track-jump", Severity.WARNING, 2, (track_id,), "60 px", "from frame 1")


def test_steady_motion_a_slow_gap_and_a_lane_growing_are_no_jumps(project):
    add_moving = project.add_track("vehicle").id
    for frame in range(10):
        project.set_state(add_moving, frame, box(10 + 30 * frame, 100, 50 + 30 * frame, 140))  # 30 px per frame
    slow = project.add_track("vehicle").id
    project.set_state(slow, 0, box(10, 200, 50, 240))
    project.set_state(slow, 5, box(110, 200, 150, 240))  # 100 px over 5 frames
    growing = project.add_track("lane-line").id
    for frame, bottom in enumerate([200, 280, 350]):  # the near end comes into view, 70-80 px a frame
        project.set_state(growing, frame, make_geometry("polyline", [[400, 100], [400 + (bottom - 100) / 2, bottom]]))
    assert found(project, "track-jump") == []


# ---------------------------------------------------------------- light-flicker


def test_light_state_too_short_between_two_others_is_a_warning(project):
    track_id = light(project, ["red"] * 10 + ["green"] + ["red"] * 10)
    [finding] = found(project, "light-flicker")
    assert_finding(finding, "light-flicker", Severity.WARNING, 10, (track_id,), "green", "between red and red",
                   "at least 3")


@pytest.mark.parametrize("states, flashing", [
    (["red"] * 5 + ["green"] * 3 + ["yellow"] * 3 + ["red"] * 5, None),  # every state long enough
    (["green"] + ["red"] * 10 + ["yellow"], None),  # short at the start and at the end of the track
    (["red"] * 4 + ["yellow", "off"] * 4 + ["red"] * 4, [False] * 4 + [True] * 8 + [False] * 4),  # flashing
])
def test_normal_light_cycles_do_not_flicker(project, states, flashing):
    light(project, states, flashing)
    assert found(project, "light-flicker") == []


# ---------------------------------------------------------------- outside-image


def test_geometry_outside_the_image_is_an_error(project):
    track_id = project.add_track("vehicle").id
    project.store.put_state(FrameState(track_id, 12, box(600, 300, 700, 400)))  # set_state would refuse it
    [finding] = found(project, "outside-image")
    assert_finding(finding, "outside-image", Severity.ERROR, 12, (track_id,), "640x360", "x 600.0..700.0")
    assert finding.region == (600, 300, 700, 400)


def test_geometry_up_to_the_border_is_inside(project):
    add(project, "vehicle", [0], box(0, 0, 640, 360))
    lane(project, [[0, 360], [640, 0]])
    assert found(project, "outside-image") == []


# ---------------------------------------------------------------- missing-attribute


def test_speed_limit_without_value_is_one_error_per_track(project):
    track_id = add(project, "traffic-sign", range(3, 9), box(500, 50, 520, 70),
                   track_attributes={"type": "speed-limit"})
    [finding] = found(project, "missing-attribute")
    assert_finding(finding, "missing-attribute", Severity.ERROR, 3, (track_id,), "value", "type is speed-limit")


def test_signs_with_what_they_need_pass(project):
    add(project, "traffic-sign", range(3, 9), box(500, 50, 520, 70), track_attributes={"type": "speed-limit",
                                                                                        "value": 50})
    add(project, "traffic-sign", range(3, 9), box(400, 50, 420, 70), track_attributes={"type": "stop"})
    assert found(project, "missing-attribute") == []


# ---------------------------------------------------------------- school-zone-tag

ZONE = make_geometry("polygon", [[100, 300], [500, 300], [400, 200], [200, 200]])


def test_tag_without_zone_polygon_is_a_warning(project):
    add(project, "school-zone", range(10, 21), ZONE)
    tag = project.add_tag("school-zone-active", 10, 30)
    [finding] = found(project, "school-zone-tag")
    assert_finding(finding, "school-zone-tag", Severity.WARNING, 21, (tag.id,), "frames 21-30 (10 frames)")


def test_zone_polygon_no_tag_covers_is_a_warning(project):
    zone = add(project, "school-zone", range(40, 51), ZONE)
    [finding] = found(project, "school-zone-tag")
    assert_finding(finding, "school-zone-tag", Severity.WARNING, 40, (zone,), "frames 40-50 (11 frames)")
    assert finding.region == (100, 200, 500, 300)


def test_zone_polygon_after_its_tag_ends_is_a_warning(project):
    zone = add(project, "school-zone", range(5, 26), ZONE)
    project.add_tag("school-zone-active", 10, 20)
    [finding] = found(project, "school-zone-tag")  # frames 5-9: the zone seen ahead, fine
    assert_finding(finding, "school-zone-tag", Severity.WARNING, 21, (zone,), "frames 21-25")


def test_zone_seen_ahead_then_entered_agrees_with_its_tag(project):
    add(project, "school-zone", range(0, 31), ZONE)
    project.add_tag("school-zone-active", 12, 30)
    add(project, "school-zone", range(50, 61), ZONE)
    project.add_tag("school-zone-active", 50, 60)
    assert found(project, "school-zone-tag") == []


# ---------------------------------------------------------------- near-duplicate


def test_boxes_of_one_class_on_top_of_each_other_are_a_warning(project):
    first = add(project, "vehicle", [4], box(100, 100, 200, 200))
    second = add(project, "vehicle", [4], box(101, 101, 201, 201))
    [finding] = found(project, "near-duplicate")
    assert_finding(finding, "near-duplicate", Severity.WARNING, 4, (first, second), "IoU 0.96")


@pytest.mark.parametrize("second_points", [
    [[101, 350], [251, 150]],  # 1 px beside
    [[250, 151], [100, 351]],  # drawn the other way
])
def test_lanes_on_top_of_each_other_are_a_warning(project, second_points):
    first = lane(project, [[100, 350], [250, 150]])
    second = lane(project, second_points)
    [finding] = found(project, "near-duplicate")
    assert_finding(finding, "near-duplicate", Severity.WARNING, 5, (first, second), "mean distance 1.")


def test_different_classes_and_separate_objects_are_not_duplicates(project):
    add(project, "vehicle", [4], box(100, 100, 200, 200))
    add(project, "pedestrian", [4], box(100, 100, 200, 200))  # another class
    add(project, "vehicle", [4], box(150, 100, 250, 200))  # IoU 1/3
    lane(project, [[100, 350], [250, 150]])
    lane(project, [[150, 350], [300, 150]])  # the next lane
    add(project, "traffic-sign", [4], make_geometry("point", [[400, 50]]))
    add(project, "traffic-sign", [4], make_geometry("point", [[410, 50]]))
    assert found(project, "near-duplicate") == []


# ---------------------------------------------------------------- unreviewed-low-confidence


def flagged_track(project) -> int:
    """A propagated vehicle: confidence 0.3 on frames 10-14 and 20-21, 0.9 in between."""
    track_id = project.add_track("vehicle").id
    with project.group("propagated"):
        for frame in range(10, 22):
            confidence = 0.3 if frame <= 14 or frame >= 20 else 0.9
            project.set_state(track_id, frame, box(10, 10, 50, 50), source=Source.PROPAGATED, confidence=confidence)
    return track_id


def mark(project, track_id, frame, status=ReviewStatus.ACCEPTED) -> None:
    project.store.put_review(ReviewMark(track_id, frame, status, "checked", "tester", "2026-01-01T00:00:00+00:00"))


def test_unreviewed_low_confidence_is_an_error_per_run(project):
    track_id = flagged_track(project)
    first, second = found(project, "unreviewed-low-confidence")
    assert_finding(first, "unreviewed-low-confidence", Severity.ERROR, 10, (track_id,), "frames 10-14 (5 frames)",
                   "below confidence 0.5", "0.30")
    assert_finding(second, "unreviewed-low-confidence", Severity.ERROR, 20, (track_id,), "frames 20-21")


def test_review_marks_on_the_object_the_frame_or_the_track_clear_it(project):
    track_id = flagged_track(project)
    mark(project, track_id, 10)  # the object on frame 10
    mark(project, None, 11, ReviewStatus.REJECTED)  # frame 11 as a whole: rejected is reviewed too
    assert [finding.frame for finding in found(project, "unreviewed-low-confidence")] == [12, 20]
    mark(project, track_id, None)  # the whole track
    assert found(project, "unreviewed-low-confidence") == []


def test_confident_or_manual_states_need_no_review(project):
    add(project, "vehicle", range(10), box(10, 10, 50, 50), source=Source.PROPAGATED, confidence=0.6)
    add(project, "vehicle", range(10), box(100, 10, 150, 50), confidence=0.1)  # manual, whatever the confidence
    add(project, "vehicle", range(10), box(200, 10, 250, 50), source=Source.PROPAGATED)  # no confidence
    assert found(project, "unreviewed-low-confidence") == []


# ---------------------------------------------------------------- the sample's ground truth


def test_sample_ground_truth_has_no_warnings_or_errors(tmp_path):
    from napari_roadlabel._napari.sample_data import sample_files
    from napari_roadlabel.io.formats.geojson import import_geojson
    from napari_roadlabel.io.projects import create_project

    video, truth = sample_files()
    with create_project(tmp_path / "sample", video) as project:
        import_geojson(project, truth)
        findings = [finding for finding in run_checks(project) if finding.severity is not Severity.INFO]
    assert findings == [], "\n".join(finding.message for finding in findings)


# ---------------------------------------------------------------- config


def test_defaults_cover_every_check():
    from napari_roadlabel.temporal.propagation import FLAG_BELOW

    config = load_check_config()
    assert sorted(config.checks) == sorted(CHECKS)
    assert all(settings.enabled for settings in config.checks.values())
    assert config["crossing-lanes"].severity is Severity.ERROR and config["track-gap"].severity is Severity.WARNING
    assert (config["track-jump"]["max_speed"], config["track-gap"]["max_gap"]) == (40, 0)
    assert (config["light-flicker"]["min_state_frames"], config["near-duplicate"]["duplicate_iou"]) == (3, 0.9)
    assert config["unreviewed-low-confidence"]["min_confidence"] == FLAG_BELOW  # the same flag as propagation


def test_override_file_changes_only_what_it_gives(tmp_path):
    path = config_file(tmp_path, "checks:\n  track-jump: {max_speed: 80}\n  track-gap: {severity: info}\n")
    config, defaults = load_check_config(path), load_check_config()
    assert config["track-jump"]["max_speed"] == 80 and config["track-jump"].severity is Severity.WARNING
    assert config["track-gap"].severity is Severity.INFO and config["track-gap"]["max_gap"] == 0
    assert {name: settings for name, settings in config.checks.items() if name not in ("track-jump", "track-gap")} \
        == {name: settings for name, settings in defaults.checks.items() if name not in ("track-jump", "track-gap")}
    assert load_check_config(config_file(tmp_path, "")) == defaults  # an empty file changes nothing


def test_project_config_is_read_from_the_project_folder(project):
    add(project, "vehicle", [0, 1, 2, 5], box(10, 10, 50, 50))
    assert [finding.severity for finding in found(project, "track-gap", config_for(project))] == [Severity.WARNING]
    (project.folder / "qa.yaml").write_text("checks:\n  track-gap: {max_gap: 2}\n", encoding="utf-8")
    assert config_for(project)["track-gap"]["max_gap"] == 2
    assert found(project, "track-gap") == []  # run_checks reads it when no config is given


def test_disabled_check_finds_nothing_and_severity_follows_the_config(project, tmp_path):
    track_id = project.add_track("vehicle").id
    project.store.put_state(FrameState(track_id, 12, box(600, 300, 700, 400)))
    disabled = load_check_config(config_file(tmp_path, "checks:\n  outside-image: {enabled: false}\n"))
    assert found(project, "outside-image", disabled) == []
    milder = load_check_config(config_file(tmp_path, "checks:\n  outside-image: {severity: warning}\n"))
    assert [finding.severity for finding in found(project, "outside-image", milder)] == [Severity.WARNING]


@pytest.mark.parametrize("text, key, reason", [
    ("checks:\n  no-such-check: {enabled: true}\n", "checks.no-such-check", "unknown check"),
    ("checks:\n  track-jump: {max_sped: 3}\n", "checks.track-jump.max_sped", "unknown key"),
    ("checks:\n  track-jump: {max_speed: fast}\n", "checks.track-jump.max_speed", "must be a number"),
    ("checks:\n  track-jump: {max_speed: -3}\n", "checks.track-jump.max_speed", "must not be negative"),
    ("checks:\n  track-gap: {max_gap: 1.5}\n", "checks.track-gap.max_gap", "whole number"),
    ("checks:\n  track-jump: {severity: fatal}\n", "checks.track-jump.severity", "error, warning or info"),
    ("checks:\n  track-jump: {severity: [error]}\n", "checks.track-jump.severity", "error, warning or info"),
    ("checks:\n  track-jump: {enabled: 1}\n", "checks.track-jump.enabled", "true or false"),
    ("checks:\n  track-jump: 40\n", "checks.track-jump", "must map setting names"),
    ("checks: [track-jump]\n", "checks", "must map check names"),
    ("check:\n  track-jump: {}\n", "check", "one key, 'checks'"),
    ("checks: {track-jump: {max_speed: 3}\n", "line 2, column 1", "not valid YAML"),
])
def test_bad_config_names_file_key_and_reason(tmp_path, text, key, reason):
    path = config_file(tmp_path, text)
    with pytest.raises(FormatError) as caught:
        load_check_config(path)
    assert (caught.value.where, caught.value.place) == (str(path), key)
    assert reason in caught.value.reason
    assert str(path) in str(caught.value) and key in str(caught.value)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(FormatError, match="cannot read"):
        load_check_config(tmp_path / "nowhere.yaml")


# ---------------------------------------------------------------- the run


def test_findings_are_sorted_and_progress_adds_up(project):
    track_id = project.add_track("vehicle").id
    for frame in (80, 3):
        project.store.put_state(FrameState(track_id, frame, box(600, 300, 700, 400)))
    told = []
    findings = run_checks(project, progress=told.append)
    assert findings == sorted(findings, key=lambda finding: finding.sort_key())
    assert [finding.frame for finding in findings if finding.check == "outside-image"] == [3, 80]
    assert sum(told) == project.sequence.frame_count and all(n <= CHUNK_FRAMES for n in told)


def test_frames_limit_what_is_checked(project):
    track_id = project.add_track("vehicle").id
    for frame in (3, 80):
        project.store.put_state(FrameState(track_id, frame, box(600, 300, 700, 400)))
    project.add_tag("school-zone-active", 40, 90)  # no polygon anywhere
    findings = run_checks(project, frames=range(0, 50))
    assert [(finding.check, finding.frame) for finding in findings] == [("outside-image", 3),
                                                                       ("school-zone-tag", 40)]
    assert "frames 40-49" in findings[1].message  # the tag's frames within the range only
