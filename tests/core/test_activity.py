"""The store's activity log (schema 4): one row per recorded step, with its author, time and net counts."""

import itertools
import json
import sqlite3

import pytest

from napari_roadlabel.core import Project, ProjectError, SequenceInfo, Source, box, make_geometry
from napari_roadlabel.core.project import ANNOTATOR_VARIABLE
from napari_roadlabel.core.store import SCHEMA_VERSION
from napari_roadlabel.qa.review import Review
from tests.conftest import as_schema

LANE = make_geometry("polyline", [[100, 350], [200, 250], [300, 180]])


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.delenv(ANNOTATOR_VARIABLE, raising=False)
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 50, 640, 360), annotator="ana") as opened:
        ticks = itertools.count()
        opened.store.clock = lambda: f"2024-05-01T10:{next(ticks):02d}:00+00:00"
        yield opened


def counts(project):
    return [(row.label, row.tracks_added, row.keyframes_added) for row in project.store.activity()]


def test_each_edit_is_one_row_with_its_author_time_and_counts(project):
    lane = project.add_track("lane-line")
    project.set_state(lane.id, 3, LANE)
    project.set_state(lane.id, 3, LANE)  # the same keyframe again: none made
    project.set_state(lane.id, 4, LANE, source=Source.PROPAGATED, confidence=0.9)
    project.set_state(lane.id, 4, LANE)  # a propagated state made a keyframe
    project.delete_state(lane.id, 3)
    rows = project.store.activity()
    assert [(row.tracks_added, row.keyframes_added) for row in rows] == [(1, 0), (0, 1), (0, 0), (0, 0), (0, 1),
                                                                         (0, -1)]
    assert {row.author for row in rows} == {"ana"}
    assert [row.time for row in rows] == [f"2024-05-01T10:{minute:02d}:00+00:00" for minute in range(6)]
    assert rows[0].label == "add lane-line"


def test_a_group_is_one_row_and_undo_and_redo_log_their_counts(project):
    with project.group("label two lanes"):
        for _ in range(2):
            lane = project.add_track("lane-line")
            for frame in (0, 10, 20):
                project.set_state(lane.id, frame, LANE)
            project.set_state(lane.id, 5, LANE, source=Source.INTERPOLATED)
    assert counts(project) == [("label two lanes", 2, 6)]
    assert project.undo() == "label two lanes"
    assert project.redo() == "label two lanes"
    assert counts(project)[1:] == [("undo label two lanes", -2, -6), ("redo label two lanes", 2, 6)]
    project.delete_track(lane.id)
    assert counts(project)[-1] == (f"delete track {lane.id}", -1, -3)


def test_a_failed_group_leaves_no_row(project):
    with pytest.raises(RuntimeError), project.group("half"):
        project.add_track("lane-line")
        raise RuntimeError("stop")
    assert project.store.activity() == []


def test_tracks_an_import_or_an_assistant_made_are_not_counted_as_made(project):
    with project.group("import something"):
        imported = project.add_track("vehicle")
        project.set_state(imported.id, 0, box(10, 10, 40, 40), source=Source.IMPORTED)
        suggested = project.add_track("vehicle")
        project.set_state(suggested.id, 0, box(50, 10, 90, 40), source=Source.SUGGESTED, confidence=0.5)
    project.set_state(suggested.id, 0, box(50, 10, 90, 40))  # the suggestion accepted: a keyframe made
    project.undo()
    project.undo()
    assert counts(project) == [("import something", 0, 0), ("edit vehicle on frame 0", 0, 1),
                               ("undo edit vehicle on frame 0", 0, -1), ("undo import something", 0, 0)]


def test_review_marks_and_comments_alone_are_not_logged(project):
    project.set_state(project.add_track("lane-line").id, 1, LANE)
    review = Review(project, "rita")
    review.accept_frame(1)
    review.add_comment("looks fine", frame=1)
    project.undo()
    assert [label for label, *_ in counts(project)] == ["add lane-line", "edit lane-line on frame 1"]


def test_the_author_is_the_name_given_else_the_variable_else_the_projects_annotator(project, monkeypatch):
    folder = project.folder
    project.close()
    authors = []
    for environment, given in ((None, None), ("vic", None), ("vic", "eve")):
        if environment:
            monkeypatch.setenv(ANNOTATOR_VARIABLE, environment)
        with Project.open(folder, author=given) as opened:
            opened.add_track("lane-line")
            authors.append(opened.store.activity()[-1].author)
    assert authors == ["ana", "vic", "eve"]


def make_schema_3(folder):
    """A schema-3 project as the code before the activity log wrote it."""
    with Project.create(folder, SequenceInfo("clip.mp4", 10, 640, 360)) as project:
        project.set_state(project.add_track("lane-line").id, 1, LANE)
    as_schema(folder, 3)


def test_a_schema_3_project_is_migrated_on_opening_and_logs_from_then_on(tmp_path):
    make_schema_3(tmp_path / "old")
    with Project.open(tmp_path / "old", author="ana") as project:
        assert project.store.activity() == [] and len(project.states_of(1)) == 1
        project.set_state(1, 2, LANE)
    assert json.loads((tmp_path / "old" / "project.json").read_text())["schema_version"] == SCHEMA_VERSION
    version = sqlite3.connect(tmp_path / "old" / "annotations.sqlite").execute("PRAGMA user_version").fetchone()
    assert version == (SCHEMA_VERSION,)
    with Project.open(tmp_path / "old") as project:
        assert [(row.author, row.keyframes_added) for row in project.store.activity()] == [("ana", 1)]


def test_read_only_changes_nothing_even_an_older_schema_and_refuses_edits(tmp_path, fingerprint):
    make_schema_3(tmp_path / "old")
    before = fingerprint(tmp_path / "old")
    with Project.open(tmp_path / "old", read_only=True) as project:
        assert project.store.activity() == [] and len(project.states_of(1)) == 1
        with pytest.raises(ProjectError, match="read-only"):
            project.set_state(1, 2, LANE)
        assert project.states_of(1)[0].frame == 1
    assert fingerprint(tmp_path / "old") == before
    with pytest.raises(ProjectError, match="both"):
        Project.open(tmp_path / "old", read_only=True, writing=True)
