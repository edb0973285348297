"""Suggestions as first-class data: written by a run, accepted, rejected, undone, never over a person's label."""

from __future__ import annotations

import json

import pytest

from napari_roadlabel.assist import Assistant, Suggestion
from napari_roadlabel.assist.run import compute_suggestions, suggest
from napari_roadlabel.core import GeometryKind, Project, SequenceInfo, Source, box, make_geometry
from napari_roadlabel.core.annotations import SuggestionStatus
from napari_roadlabel.core.errors import RoadlabelError
from napari_roadlabel.core.suggestion_writing import DISPUTE_AT
from napari_roadlabel.core.suggestions import (
    accept,
    accept_all,
    disputes,
    least_confidence_by_frame,
    pending_suggestions,
    reject,
)
from napari_roadlabel.io.formats.geojson import export_geojson, import_geojson
from napari_roadlabel.qa.checks import run_checks
from tests.conftest import as_schema

LIGHT = box(100, 50, 120, 100)


class Scripted(Assistant):
    """An assistant that proposes what the test tells it to; its version follows ``labels``."""

    name = "scripted"
    description = "proposes what it is given"
    produces = "attributes"

    def __init__(self, suggestions, labels=None):
        self.suggestions, self.labels = suggestions, labels

    def training_labels(self, context):
        return self.labels

    def suggest(self, context):
        context.step(len(context.frame_range))
        return [item for item in self.suggestions if item.frame in context.frame_range]


class ScriptedLanes(Scripted):
    name = "scripted-lanes"  # another assistant: its run leaves the other's suggestions alone


def light_track(project: Project, frames=range(10), source=Source.INTERPOLATED) -> int:
    track = project.add_track("traffic-light")
    with project.group("lights"):
        for frame in frames:
            project.set_state(track.id, frame, LIGHT, source=source)
    return track.id


def states(track_id, frames, value, confidence=0.8):
    return [Suggestion(frame, confidence, track_id=track_id, attributes={"state": value}) for frame in frames]


def test_attribute_suggestions_are_written_pending_with_their_model_and_confidence(project):
    light = light_track(project)
    run, written = suggest(project, Scripted(states(light, range(10), "red", 0.7)), None)
    assert written.attributes == 10 and run.model.startswith("scripted@") and len(run.model) == len("scripted@") + 8
    pending = pending_suggestions(project)
    assert [item.frame for item in pending] == list(range(10))
    assert {(item.model, item.confidence, item.attributes["state"]) for item in pending} == {(run.model, 0.7, "red")}
    assert project.state(light, 3).attributes["state"] == "unknown"  # nothing is applied before a person says so


def test_accepting_makes_a_label_keeps_the_provenance_and_undoes_in_one_step(project):
    light = light_track(project)
    run, _ = suggest(project, Scripted(states(light, range(10), "green")), None)
    assert accept_all(project, pending_suggestions(project, frames=range(2, 6))) == 4
    assert [project.state(light, frame).attributes["state"] for frame in range(10)] == \
        ["unknown"] * 2 + ["green"] * 4 + ["unknown"] * 4
    accepted = project.store.attribute_suggestions(statuses=(SuggestionStatus.ACCEPTED,))
    assert {(row.frame, row.model) for row in accepted} == {(frame, run.model) for frame in range(2, 6)}
    assert len(pending_suggestions(project)) == 6
    project.undo()
    assert all(project.state(light, frame).attributes["state"] == "unknown" for frame in range(10))
    assert len(pending_suggestions(project)) == 10
    project.redo()
    assert project.state(light, 4).attributes["state"] == "green"


def test_a_rejected_suggestion_is_gone_and_not_proposed_again_by_the_same_model(project):
    light = light_track(project)
    assistant = Scripted(states(light, range(10), "red"))
    suggest(project, assistant, None)
    target = pending_suggestions(project, frames=range(4, 5))[0]
    reject(project, target)
    assert 4 not in [item.frame for item in pending_suggestions(project)]
    _, written = suggest(project, assistant, None)  # a rerun: the rejected one stays out
    assert written.skipped == {"rejected before": 1} and written.replaced == 9
    assert 4 not in [item.frame for item in pending_suggestions(project)]
    suggest(project, Scripted(states(light, [4], "green")), None)  # another value is another proposal
    assert [item.attributes for item in pending_suggestions(project, frames=range(4, 5))] == [{"state": "green"}]
    project.undo()
    project.undo()
    project.undo()  # the reject
    assert 4 in [item.frame for item in pending_suggestions(project)]


def test_people_labels_are_never_overwritten_and_a_confident_disagreement_is_a_dispute(project):
    light = light_track(project, range(5), Source.MANUAL)
    project.set_frame_attributes(light, 2, {"state": "red"})
    _, written = suggest(project, Scripted(states(light, range(5), "green", DISPUTE_AT)), None)
    # frames 0 and 1 hold the default ("unknown": not set by a person); frames 2-4 are red by a person
    assert written.attributes == 2 and written.disputed == 3
    assert [project.state(light, frame).attributes["state"] for frame in range(5)] == ["unknown"] * 2 + ["red"] * 3
    assert [(row.frame, row.attributes) for row in disputes(project)] == [(f, {"state": "green"}) for f in (2, 3, 4)]
    accept(project, disputes(project, range(2, 3))[0])  # a reviewer sides with the model
    assert project.state(light, 2).attributes["state"] == "green"
    _, written = suggest(project, Scripted(states(light, [3], "green", DISPUTE_AT - 0.01)), None)
    assert written.disputed == 0 and written.skipped == {"set by a person": 1}


def test_retraining_replaces_only_the_assistants_pending_suggestions(project):
    light = light_track(project)
    first, _ = suggest(project, Scripted(states(light, range(10), "red"), labels=[1]), None)
    accept(project, pending_suggestions(project, frames=range(0, 1))[0])
    second, written = suggest(project, Scripted(states(light, range(10), "green"), labels=[1, 2]), None)
    assert first.model != second.model  # new training labels, new version
    assert written.replaced == 9
    assert project.state(light, 0).attributes["state"] == "red"  # accepted: a person's label now
    assert {item.model for item in pending_suggestions(project)} == {second.model}
    assert [item.frame for item in pending_suggestions(project)] == list(range(1, 10))


def test_geometry_suggestions_become_new_objects_accepted_or_rejected(project):
    lane = make_geometry(GeometryKind.POLYLINE, [(100, 350), (200, 200)])
    proposals = [Suggestion(frame, 0.6, class_name="lane-line", geometry=lane, new_track=1,
                            attributes={"style": "dashed", "color": "yellow"}) for frame in range(3)]
    proposals.append(Suggestion(0, 0.4, class_name="traffic-light", geometry=LIGHT))
    run, written = suggest(project, Scripted(proposals), None)
    assert (written.states, written.new_tracks) == (4, 2)
    lane_track = project.tracks("lane-line")[0]
    assert lane_track.attributes["color"] == "yellow"
    assert [(state.source, state.model, state.attributes["style"]) for state in project.states_of(lane_track.id)] \
        == [(Source.SUGGESTED, run.model, "dashed")] * 3
    accept(project, pending_suggestions(project, track_id=lane_track.id)[0])
    assert project.state(lane_track.id, 0).source is Source.MANUAL
    assert project.state(lane_track.id, 0).model == run.model
    light_item = next(item for item in pending_suggestions(project) if item.target != lane_track.id)
    reject(project, light_item)
    assert project.tracks("traffic-light") == []  # a proposed object with nothing left is gone
    _, written = suggest(project, Scripted(proposals), None)
    assert written.skipped == {"rejected before": 1, "where a person labeled one": 1}  # the accepted lane state
    assert project.tracks("traffic-light") == []
    assert project.state(lane_track.id, 0).source is Source.MANUAL


def test_tag_suggestions_leave_out_frames_a_person_tagged(project):
    project.add_tag("school-zone-active", 20, 29)
    proposal = Suggestion(10, 0.8, class_name="school-zone-active", last_frame=39)
    _, written = suggest(project, Scripted([proposal]), None)
    suggested = [tag for tag in project.tags() if tag.source is Source.SUGGESTED]
    assert written.tags == 2 and [(tag.start, tag.end) for tag in suggested] == [(10, 19), (30, 39)]
    reject(project, next(item for item in pending_suggestions(project) if item.frame == 30))
    _, written = suggest(project, Scripted([proposal]), None)
    assert [(tag.start, tag.end) for tag in project.tags() if tag.source is Source.SUGGESTED] == [(10, 19)]
    accept(project, pending_suggestions(project)[0])
    assert {(tag.start, tag.source) for tag in project.tags()} == {(10, Source.MANUAL), (20, Source.MANUAL)}


def test_min_confidence_and_frames_limit_what_is_written(project):
    light = light_track(project)
    proposals = [Suggestion(frame, frame / 10, track_id=light, attributes={"state": "red"}) for frame in range(10)]
    run = compute_suggestions(project, Scripted(proposals), None, frame_range=range(2, 8), min_confidence=0.5)
    written = run.write(project)
    assert [item.frame for item in pending_suggestions(project)] == [5, 6, 7]
    assert written.skipped == {"below the minimum confidence": 3}
    with pytest.raises(RoadlabelError, match="min-confidence: must be between 0 and 1"):
        compute_suggestions(project, Scripted([]), None, min_confidence=1.5)


def test_a_failing_assistant_writes_nothing(project):
    light = light_track(project)
    bad = [Suggestion(0, 0.9, track_id=light, attributes={"state": "red"}),
           Suggestion(1, 0.9, track_id=light, attributes={"state": "purple"})]
    with pytest.raises(RoadlabelError, match="'purple'"):
        suggest(project, Scripted(bad), None)
    assert pending_suggestions(project) == []


def test_a_schema_2_project_gains_suggestions_on_opening(tmp_path):
    folder = tmp_path / "old"
    with Project.create(folder, SequenceInfo("clip.mp4", 10, 640, 360)) as project:
        light = light_track(project, range(3), Source.MANUAL)
        project.add_tag("school-zone-active", 1, 2)
    as_schema(folder, 2, metadata=False)
    with Project.open(folder) as project:
        assert project.state(light, 1).model == "" and project.tags()[0].model == ""
        suggest(project, Scripted(states(light, range(3), "red")), None)
    with Project.open(folder) as project:
        assert len(pending_suggestions(project)) == 3


def test_geojson_carries_pending_attribute_suggestions_and_provenance_both_ways(project, tmp_path):
    light = light_track(project, range(3))
    run, _ = suggest(project, Scripted(states(light, range(3), "green", 0.75)), None)
    accept(project, pending_suggestions(project, frames=range(0, 1))[0])
    lane = make_geometry(GeometryKind.POLYLINE, [(100, 350), (200, 200)])
    suggest(project, ScriptedLanes([Suggestion(1, 0.6, class_name="lane-line", geometry=lane)]), None)
    path = tmp_path / "out.geojson"
    export_geojson(project, path)
    features = json.loads(path.read_text())["features"]
    on_light = {feature["properties"]["frame"]: feature["properties"] for feature in features
                if feature["properties"]["class"] == "traffic-light"}
    assert "suggested" not in on_light[0] and on_light[0]["attributes"]["state"] == "green"
    assert on_light[2]["suggested"] == {"attributes": {"state": "green"}, "confidence": 0.75, "model": run.model}
    (lane_properties,) = [feature["properties"] for feature in features if feature["properties"]["class"] ==
                          "lane-line"]
    assert lane_properties["source"] == "suggested" and lane_properties["model"].startswith("scripted-lanes@")
    with Project.create(tmp_path / "copy", project.sequence) as copy:
        import_geojson(copy, path)
        assert [(item.kind, item.frame, item.model) for item in pending_suggestions(copy)] == [
            ("attributes", 1, run.model), ("geometry", 1, lane_properties["model"]), ("attributes", 2, run.model)]


@pytest.mark.parametrize("suggested", [{"attributes": {"state": "red"}, "confidence": 2, "model": "a@1"},
                                       {"attributes": "red", "confidence": 0.5, "model": "a@1"},
                                       {"attributes": {"state": "red"}, "confidence": 0.5, "model": "no version"}])
def test_a_malformed_suggested_property_is_refused_in_one_line(project, tmp_path, suggested):
    path = tmp_path / "bad.geojson"
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[1, 1], [9, 1], [9, 9], [1, 9],
                                                                                    [1, 1]]]},
               "properties": {"frame": 0, "track_id": 1, "class": "traffic-light", "shape": "box",
                              "attributes": {}, "suggested": suggested}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(RoadlabelError, match="feature 0: property \"suggested\" must be"):
        import_geojson(project, path)
    assert project.tracks() == []


def test_a_confident_disagreement_is_one_qa_finding_per_run_of_frames(project):
    light = light_track(project, range(6), Source.MANUAL)
    project.set_frame_attributes(light, 0, {"state": "red"})
    suggest(project, Scripted(states(light, [1, 2, 3, 5], "green", 0.95)), None)
    findings = [finding for finding in run_checks(project) if finding.check == "suggestion-disagrees"]
    assert [(finding.frame, finding.track_ids) for finding in findings] == [(1, (light,)), (5, (light,))]
    assert "traffic-light" in findings[0].message and "frames 1-3" in findings[0].message
    assert "labeled state 'red'" in findings[0].message and "says state 'green'" in findings[0].message
    assert findings[0].region == LIGHT.bounds() and not findings[0].blocking
    assert project.state(light, 2).attributes["state"] == "red"  # listed, never applied


def test_the_least_sure_suggestion_of_each_frame_is_read_in_one_pass(project):
    light = light_track(project, range(4))
    lane = make_geometry(GeometryKind.POLYLINE, [(100, 350), (200, 200)])
    suggest(project, Scripted([*states(light, [0, 1], "red", 0.7),
                               Suggestion(1, 0.4, class_name="lane-line", geometry=lane),
                               Suggestion(2, 0.9, class_name="school-zone-active", last_frame=3)]), None)
    assert least_confidence_by_frame(project) == {0: 0.7, 1: 0.4, 2: 0.9, 3: 0.9}
    accept_all(project, pending_suggestions(project, frames=range(1, 2)))
    assert least_confidence_by_frame(project) == {0: 0.7, 2: 0.9, 3: 0.9}
