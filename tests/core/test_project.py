import json
import sqlite3

import numpy as np
import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import (
    AnnotationError,
    Project,
    ProjectError,
    SequenceInfo,
    Source,
    box,
    default_taxonomy,
    make_geometry,
    make_mask,
)
from napari_roadlabel.core.store import SCHEMA_VERSION

LANE = make_geometry("polyline", [[100, 350], [200, 250], [300, 180]])


def test_create_writes_metadata_taxonomy_and_database(tmp_path):
    with Project.create(tmp_path / "p", SequenceInfo("../clip.mp4", 120, 1920, 1080, 30.0), annotator="ana"):
        pass
    metadata = json.loads((tmp_path / "p" / "project.json").read_text())
    assert metadata["schema_version"] == SCHEMA_VERSION and metadata["annotator"] == "ana"
    assert metadata["frame_count"] == 120 and metadata["source"] == "../clip.mp4" and metadata["created"]
    with Project.open(tmp_path / "p") as project:
        assert project.taxonomy == default_taxonomy()
        assert project.sequence.width == 1920 and project.sequence.fps == 30.0
    mode = sqlite3.connect(tmp_path / "p" / "annotations.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_create_refuses_a_non_empty_folder(tmp_path, fingerprint):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "mine.txt").write_text("keep me")
    with pytest.raises(ProjectError, match="not empty"):
        Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 640, 360))
    assert fingerprint(tmp_path / "p") == {"mine.txt": fingerprint(tmp_path / "p")["mine.txt"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no staging folder left behind


def test_tracks_states_and_frame_queries(project):
    lane = project.add_track("lane-line", {"color": "yellow"})
    light = project.add_track("traffic-light")
    project.set_state(lane.id, 5, LANE, {"style": "dashed"})
    project.set_state(light.id, 5, box(10, 20, 30, 60), {"state": "red"})
    project.set_state(light.id, 6, box(11, 20, 31, 60), source=Source.PROPAGATED, confidence=0.8)
    on_five = project.objects_on(5)
    assert [obj.track.id for obj in on_five] == [lane.id, light.id]
    assert on_five[0].attributes == {"color": "yellow", "kind": "lane-marking", "style": "dashed",
                                     "split-merge": "none"}
    assert on_five[1].state.attributes == {"state": "red", "flashing": False}
    assert project.track(lane.id).attributes["color"] == "yellow"
    assert [s.frame for s in project.states_of(light.id)] == [5, 6]
    assert [s.frame for s in project.keyframes_of(light.id)] == [5]
    assert project.objects_on(6)[0].state.confidence == 0.8
    assert project.objects_on(7) == []
    assert project.store.state_frames() == [5, 6]
    assert project.store.tracks_on(range(5, 6)) == {lane.id, light.id}
    assert project.store.tracks_on(range(6, 10)) == {light.id} and project.store.tracks_on(range(7, 10)) == set()


def test_edits_are_checked_against_taxonomy_and_frames(project):
    lane = project.add_track("lane-line")
    with pytest.raises(AnnotationError, match="unknown class 'spaceship'"):
        project.add_track("spaceship")
    with pytest.raises(AnnotationError, match="takes polyline, not box"):
        project.set_state(lane.id, 1, box(1, 1, 5, 5))
    with pytest.raises(AnnotationError, match="outside the sequence"):
        project.set_state(lane.id, 100, LANE)
    with pytest.raises(AnnotationError, match="not one of"):
        project.set_state(lane.id, 1, LANE, {"style": "wavy"})
    with pytest.raises(AnnotationError, match="confidence"):
        project.set_state(lane.id, 1, LANE, confidence=1.5)
    with pytest.raises(AnnotationError, match="no track with id 999"):
        project.set_state(999, 1, LANE)
    with pytest.raises(AnnotationError, match="frame-range class"):
        project.add_track("school-zone-active")
    assert project.states_of(lane.id) == []


def test_every_edit_undoes_and_redoes(project):
    lane = project.add_track("lane-line")
    project.set_state(lane.id, 1, LANE)
    project.set_track_attributes(lane.id, {"color": "yellow"})
    project.set_state(lane.id, 1, LANE, {"style": "dashed"})
    tag = project.add_tag("school-zone-active", 10, 20)
    project.update_tag(tag.id, end=30)
    project.delete_state(lane.id, 1)
    snapshots = []
    while True:
        snapshots.append(_snapshot(project))
        if project.undo() is None:
            break
    assert snapshots[-1] == ([], [], [])  # undone back to an empty project
    for expected in reversed(snapshots[:-1]):
        project.redo()
        assert _snapshot(project) == expected


def _snapshot(project):
    states = [(s.track_id, s.frame, s.geometry.points.tolist(), dict(s.attributes))
              for t in project.tracks() for s in project.states_of(t.id)]
    return project.tracks(), states, project.tags()


def test_delete_track_removes_all_frames_and_undo_brings_them_back(project):
    lane = project.add_track("lane-line")
    for frame in range(10):
        project.set_state(lane.id, frame, LANE)
    project.delete_track(lane.id)
    assert project.tracks() == [] and project.objects_on(3) == []
    assert project.undo() == f"delete track {lane.id}"
    assert len(project.states_of(lane.id)) == 10


def test_deleting_one_frame_keeps_the_track(project):
    lane = project.add_track("lane-line")
    project.set_state(lane.id, 1, LANE)
    project.set_state(lane.id, 2, LANE)
    project.delete_state(lane.id, 1)
    assert [s.frame for s in project.states_of(lane.id)] == [2]
    assert project.track(lane.id)


def test_group_is_one_undo_step_and_all_or_nothing(project):
    lane = project.add_track("lane-line")
    with project.group("propagate"):
        for frame in range(20):
            project.set_state(lane.id, frame, LANE, source=Source.PROPAGATED, confidence=0.9)
    assert project.undo() == "propagate"
    assert project.states_of(lane.id) == []
    with pytest.raises(AnnotationError):
        with project.group("broken run"):
            project.set_state(lane.id, 0, LANE)
            project.add_track("lane-line")
            project.set_state(lane.id, 200, LANE)  # out of range: the whole group goes
    assert project.states_of(lane.id) == [] and [t.id for t in project.tracks()] == [lane.id]
    assert project.undo() == "add lane-line"  # the failed group left no undo step


def test_ids_are_never_reused(project):
    first = project.add_track("lane-line")
    project.delete_track(first.id)
    second = project.add_track("lane-line")
    project.undo()
    project.undo()  # the first track is back, under its own id
    third = project.add_track("vehicle")
    assert len({first.id, second.id, third.id}) == 3
    with pytest.raises(AnnotationError, match="already used"):
        project.add_track("lane-line", track_id=first.id)


def test_ids_survive_reopening(tmp_path):
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 640, 360)) as project:
        used = project.add_track("lane-line").id
        project.delete_track(used)
    with Project.open(tmp_path / "p") as project:
        assert project.add_track("lane-line").id > used


def test_masks_and_points_are_stored(project):
    vehicle = project.add_track("vehicle")
    sign = project.add_track("traffic-sign", {"type": "speed-limit", "value": 65})
    pixels = np.zeros((4, 6), bool)
    pixels[1:3, 1:5] = True
    project.set_state(vehicle.id, 3, make_mask(pixels, (20, 30)))
    project.set_state(sign.id, 3, make_geometry("point", [100, 50]))
    vehicle_state, sign_state = (obj.state for obj in project.objects_on(3))
    assert np.array_equal(vehicle_state.geometry.mask, pixels)
    assert sign_state.geometry.points.tolist() == [[100, 50]]


def test_tags_span_frames(project):
    zone = project.add_tag("school-zone-active", 10, 20)
    scene = project.add_tag("scene", 0, 99, {"weather": "rain"})
    assert project.tags_on(15) == [scene, zone]
    assert project.tags_on(50) == [scene]
    with pytest.raises(AnnotationError, match="before it starts"):
        project.add_tag("scene", 20, 10)
    with pytest.raises(AnnotationError, match="not a frame-range class"):
        project.add_tag("lane-line", 1, 2)


def test_summary_counts_tracks_and_keyframes(project):
    lane = project.add_track("lane-line")
    project.set_state(lane.id, 0, LANE)
    project.set_state(lane.id, 1, LANE, source=Source.INTERPOLATED)
    summary = project.summary()
    assert summary["tracks"] == {"lane-line": 1}
    assert summary["states"] == {"lane-line": {"manual": 1, "interpolated": 1}}
    assert summary["relations"] == {}


def test_open_refuses_missing_and_corrupt_projects(tmp_path, fingerprint):
    with pytest.raises(ProjectError, match="no such project folder"):
        Project.open(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProjectError, match="project.json: missing"):
        Project.open(tmp_path / "empty")
    Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 640, 360)).close()
    (tmp_path / "p" / "annotations.sqlite").write_bytes(b"this is not sqlite" * 100)
    before = fingerprint(tmp_path / "p")
    with pytest.raises(ProjectError, match="annotations.sqlite: not a readable annotation database"):
        Project.open(tmp_path / "p")
    assert fingerprint(tmp_path / "p") == before


def test_missing_database_is_not_silently_recreated(tmp_path):
    Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 640, 360)).close()
    (tmp_path / "p" / "annotations.sqlite").unlink()
    with pytest.raises(ProjectError, match="database is missing"):
        Project.open(tmp_path / "p")
    assert not (tmp_path / "p" / "annotations.sqlite").exists()


def test_corrupt_metadata_names_the_line(tmp_path):
    Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 640, 360)).close()
    (tmp_path / "p" / "project.json").write_text('{\n"format": "napari-roadlabel project",\n')
    with pytest.raises(ProjectError, match=r"project.json: line \d+: corrupt JSON"):
        Project.open(tmp_path / "p")


@pytest.mark.parametrize(("changes", "key", "reason"), [
    ({"frame_count": "many", "width": -5}, "frame_count", "must be a whole number of at least 1, not 'many'"),
    ({"width": -5}, "width", "must be a whole number of pixels, at least 1, not -5"),
    ({"height": 540.0}, "height", "not 540.0"),
    ({"frame_count": True}, "frame_count", "not True"),
    ({"fps": "fast"}, "fps", "must be a number above 0, or null, not 'fast'"),
    ({"fps": float("nan")}, "fps", "not nan"),
    ({"source": ["clip.mp4"]}, "source", "must be the path of the video or image folder, not ['clip.mp4']"),
    ({"taxonomy": "../../elsewhere.yaml"}, "taxonomy", "must be the name of a file in the project folder"),
    ({"taxonomy": 7}, "taxonomy", "not 7"),
    ({"annotator": {"name": "ana"}}, "annotator", "must be text, not {'name': 'ana'}"),
])
def test_project_json_of_wrong_types_or_ranges_is_refused_naming_the_key(tmp_path, capsys, changes, key, reason):
    Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 960, 540)).close()
    metadata_path = tmp_path / "p" / "project.json"
    metadata_path.write_text(json.dumps({**json.loads(metadata_path.read_text()), **changes}))
    with pytest.raises(ProjectError) as raised:
        Project.open(tmp_path / "p")
    assert str(raised.value).startswith(f"{metadata_path}: {key}: ") and reason in str(raised.value)
    assert main(["info", str(tmp_path / "p")]) == 1
    assert capsys.readouterr().err == f"roadlabel: error: {raised.value}\n"


@pytest.mark.parametrize(("content", "reason"), [
    ("[1, 2, 3]", "not a napari-roadlabel project file"),
    ('"napari-roadlabel project"', "not a napari-roadlabel project file"),
    ("[" * 100_000, "nested too deeply"),
    ("\x00\x01 not json", "corrupt JSON"),
])
def test_project_json_that_is_not_an_object_is_one_line(tmp_path, capsys, content, reason):
    Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 960, 540)).close()
    (tmp_path / "p" / "project.json").write_text(content)
    assert main(["info", str(tmp_path / "p")]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"roadlabel: error: {tmp_path / 'p' / 'project.json'}: ") and reason in error
    assert error.count("\n") == 1


@pytest.mark.parametrize(("version", "reason"), [(SCHEMA_VERSION + 1, "newer napari-roadlabel"),
                                                   (0, "unsupported schema version 0")])
def test_other_schema_versions_are_refused_and_nothing_changes(tmp_path, fingerprint, version, reason):
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 640, 360)) as project:
        project.set_state(project.add_track("lane-line").id, 1, LANE)
    metadata_path = tmp_path / "p" / "project.json"
    metadata = json.loads(metadata_path.read_text())
    metadata_path.write_text(json.dumps({**metadata, "schema_version": version}))
    before = fingerprint(tmp_path / "p")
    with pytest.raises(ProjectError, match=reason) as raised:
        Project.open(tmp_path / "p")
    assert "schema_version" in str(raised.value)
    assert fingerprint(tmp_path / "p") == before


def test_database_of_another_schema_version_is_refused(tmp_path):
    Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 10, 640, 360)).close()
    db = sqlite3.connect(tmp_path / "p" / "annotations.sqlite")
    db.execute("PRAGMA user_version=7")
    db.close()
    with pytest.raises(ProjectError, match=f"database schema version 7, expected {SCHEMA_VERSION}"):
        Project.open(tmp_path / "p")


def test_per_frame_attributes_hold_until_changed(project):
    light = project.add_track("traffic-light")
    project.set_state(light.id, 0, box(10, 20, 30, 60), {"state": "red"})
    assert project.set_state(light.id, 5, box(11, 20, 31, 60)).attributes["state"] == "red"
    project.set_state(light.id, 10, box(12, 20, 32, 60), {"state": "green"})
    assert project.set_state(light.id, 12, box(12, 20, 32, 60)).attributes["state"] == "green"
    assert project.set_state(light.id, 7, box(12, 20, 32, 60)).attributes["state"] == "red"


def test_a_changed_attribute_holds_forward_until_the_next_change(project):
    light = project.add_track("traffic-light")
    for frame in range(0, 10):
        project.set_state(light.id, frame, box(10, 20, 30, 60), {"state": "red"}, source=Source.PROPAGATED,
                          confidence=0.8)
    project.set_state(light.id, 7, box(10, 20, 30, 60), {"state": "yellow"})
    project.set_frame_attributes(light.id, 3, {"state": "green"})
    states = {state.frame: state for state in project.states_of(light.id)}
    values = [states[frame].attributes["state"] for frame in range(10)]
    assert values == ["red"] * 3 + ["green"] * 4 + ["yellow", "red", "red"]  # 8 and 9 had been set red
    assert states[3].is_keyframe and states[5].source is Source.PROPAGATED and states[5].confidence == 0.8
    assert project.undo() == f"edit attributes of track {light.id} from frame 3"  # one step
    assert {state.attributes["state"] for state in project.states_of(light.id) if state.frame < 7} == {"red"}
    with pytest.raises(AnnotationError, match="not on frame 50"):
        project.set_frame_attributes(light.id, 50, {"state": "red"})


def test_copy_continue_and_end_track(project):
    lane = project.add_track("lane-line")
    project.set_state(lane.id, 3, LANE, {"style": "dashed"})
    copied = project.copy_state(lane.id, 3, 4)
    assert copied.geometry == LANE and copied.is_keyframe
    assert copied.attributes == {"style": "dashed", "split-merge": "none"}
    assert project.continue_track(lane.id, 9).geometry == LANE  # from frame 4, the closest earlier state
    assert project.continue_track(lane.id, 1).frame == 1  # nothing earlier: from the closest later one
    assert project.end_track_after(lane.id, 4) == 1
    assert [s.frame for s in project.states_of(lane.id)] == [1, 3, 4]
    assert project.undo() == f"end track {lane.id} at frame 4"
    assert [s.frame for s in project.states_of(lane.id)] == [1, 3, 4, 9]
    with pytest.raises(AnnotationError, match="no state on frame 50"):
        project.copy_state(lane.id, 50, 51)


def test_nearest_keyframe_of_any_object(project):
    lane = project.add_track("lane-line")
    project.set_state(lane.id, 10, LANE)
    project.set_state(lane.id, 20, LANE, source=Source.INTERPOLATED)
    project.set_state(lane.id, 30, LANE)
    assert project.nearest_keyframe(10, before=False) == 30
    assert project.nearest_keyframe(30, before=True) == 10
    assert project.nearest_keyframe(10, before=True) is None


def test_the_nearest_frame_to_check_is_a_propagated_state_under_the_threshold(tmp_path):
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 20, 100, 100, 10.0)) as project:
        car = project.add_track("vehicle")
        project.set_state(car.id, 2, box(1, 1, 9, 9))  # a keyframe: never to check
        for frame, confidence in ((5, 0.3), (9, 0.7), (12, 0.45)):
            project.set_state(car.id, frame, box(1, 1, 9, 9), source=Source.PROPAGATED, confidence=confidence)
        assert project.nearest_to_check(0, 0.5, before=False) == 5
        assert project.nearest_to_check(5, 0.5, before=False) == 12
        assert project.nearest_to_check(12, 0.5, before=True) == 5
        assert project.nearest_to_check(12, 0.5, before=False) is None
        assert project.nearest_to_check(5, 0.8, before=False) == 9  # a higher threshold takes in more
        assert project.nearest_to_check(0, 0.5, before=False, within=5) == 5  # playback asks a few frames ahead
        assert project.nearest_to_check(0, 0.5, before=False, within=4) is None
        assert project.nearest_to_check(12, 0.5, before=True, within=6) is None
        assert project.nearest_to_check(12, 0.5, before=True, within=7) == 5
