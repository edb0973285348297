"""The QA checks of relations: a light no lane is governed by, a relation whose end is absent, lanes following
each other in a circle."""

import pytest

from napari_roadlabel.core import Project, SequenceInfo, box, make_geometry
from napari_roadlabel.core.annotations import RelationEnd
from napari_roadlabel.core.taxonomy import default_taxonomy, taxonomy_from_dict
from napari_roadlabel.qa.checks import run_checks
from napari_roadlabel.qa.findings import Severity

LINES = ([[100, 360], [250, 150]], [[320, 360], [320, 150]], [[540, 360], [390, 150]])


def taxonomy_requiring_governs():
    data = default_taxonomy().to_dict()
    data["relations"]["governs"]["required_for"] = ["traffic-light"]
    return taxonomy_from_dict(data)


@pytest.fixture
def scene(tmp_path):
    """A light and three lane lines on frames 0..19 of 30; the taxonomy requires lights to govern a lane."""
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 30, 640, 360),
                        taxonomy=taxonomy_requiring_governs()) as project:
        lines = []
        with project.group("scene"):
            for points in LINES:
                lines.append(project.add_track("lane-line").id)
                for frame in range(20):
                    project.set_state(lines[-1], frame, make_geometry("polyline", points))
            light = project.add_track("traffic-light").id
            for frame in range(20):
                project.set_state(light, frame, box(300, 20, 315, 60))
        yield project, light, lines


def found(project, check):
    return [finding for finding in run_checks(project) if finding.check == check]


def test_a_light_governing_no_lane_where_the_taxonomy_requires_one_is_a_warning(scene):
    project, light, (one, two, _) = scene
    project.add_relation("governs", RelationEnd(light), RelationEnd.lane(one, two), 5, 9)
    project.add_relation("governs", RelationEnd(light), RelationEnd.lane(one, two), 12, 19)
    findings = found(project, "ungoverned-light")
    assert [(item.frame, item.track_ids, item.severity) for item in findings] == [
        (0, (light,), Severity.WARNING), (10, (light,), Severity.WARNING)]
    assert "traffic-light" in findings[0].message and "frames 0-4" in findings[0].message
    assert "'governs'" in findings[1].message and "frames 10-11" in findings[1].message


def test_lights_need_no_relation_where_the_taxonomy_does_not_require_one(tmp_path):
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 5, 640, 360)) as project:
        project.set_state(project.add_track("traffic-light").id, 0, box(300, 20, 315, 60))
        assert found(project, "ungoverned-light") == []


def test_a_relation_on_frames_where_an_end_is_absent_is_an_error(scene):
    project, light, (one, two, three) = scene
    fine = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(two, three), 0, 19)
    late = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(one, two), 0, 24)
    assert found(project, "relation-absent-end")[0].message.startswith(f"relation {late.id} ")
    project.delete_state(three, 7)
    findings = found(project, "relation-absent-end")
    assert [(item.frame, item.track_ids, item.severity) for item in findings] == [
        (7, (light, two, three), Severity.ERROR), (20, (light, one, two), Severity.ERROR)]
    assert f"relation {fine.id} (track {light} governs lane {two}|{three}) holds on frame 7 " in findings[0].message
    assert "frames 20-24" in findings[1].message
    assert [item.frame for item in run_checks(project, frames=range(0, 10))
            if item.check == "relation-absent-end"] == [7]


def test_lanes_following_each_other_in_a_circle_are_an_error(scene):
    project, _, (one, two, three) = scene
    first, second = RelationEnd.lane(one, two), RelationEnd.lane(two, three)
    ahead = project.add_relation("follows", first, second, 0, 19)
    assert found(project, "contradictory-follows") == []
    back = project.add_relation("follows", second, first, 4, 6)
    (finding,) = found(project, "contradictory-follows")
    assert (finding.frame, finding.track_ids, finding.severity) == (4, (one, two, three), Severity.ERROR)
    assert f"follows relations {ahead.id}, {back.id}" in finding.message and "frames 4-6" in finding.message
