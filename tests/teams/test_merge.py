"""`roadlabel jobs merge` on the sample clip: objects each job adds from the exact truth come back as one track
each (lanes, boxes and points stitched across the borders), in one undo step, once; every kind of conflict
blocks with exit 2, writes nothing, and is in the report."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import Project, RoadlabelError, make_geometry
from napari_roadlabel.core.annotations import RelationEnd
from napari_roadlabel.teams.jobs import jobs_of
from napari_roadlabel.teams.merge import apply_merge, plan_merge
from napari_roadlabel.teams.record import RECORD_FILE
from napari_roadlabel.teams.split import split_project

from .conftest import make_parent

LANE, LIGHT, SIGN, ACTIVE = 3, 9, 11, 14  # truth ids left out of the parent: the jobs add them


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def split_parent(tmp_path_factory, road):
    """The truth less a lane, a light, a sign and the school-zone tag, split in 3 with 4 frames of overlap."""
    folder = tmp_path_factory.mktemp("split") / "parent"
    make_parent(folder, road, without={LANE, LIGHT, SIGN, ACTIVE})
    split_project(folder, parts=3, overlap=4, assignees=("ana", "ben", "cy"))
    return folder


@pytest.fixture
def parent(tmp_path, split_parent):
    return shutil.copytree(split_parent, tmp_path / "parent")


def truth_states(road, track_id: int) -> dict:
    return {state.frame: state for state in road.states if state.track_id == track_id}


def centre(geometry):
    return make_geometry("point", [geometry.points.mean(axis=0)])


def draw(job, road, track_id: int, *, class_name=None, attributes=None, shift=0.0, shape=None, frames=None) -> int:
    """Add the truth object ``track_id`` to ``job`` as a new track over the job's frames (or ``frames``)."""
    truth = next(track for track in road.tracks if track.id == track_id)
    first, last = frames or job.frames
    with Project.open(job.folder) as project, project.group("draw"):
        track = project.add_track(class_name or truth.class_name, truth.attributes if attributes is None
                                  else attributes)
        for frame, state in truth_states(road, track_id).items():
            if first <= frame <= last:
                geometry = (shape or (lambda g: g))(state.geometry)
                if shift:
                    geometry = make_geometry(geometry.kind, geometry.points + [shift, 0.0])
                project.set_state(track.id, frame, geometry, state.attributes if class_name is None else None)
    return track.id


def snapshot(folder) -> dict:
    with Project.open(folder) as project:
        return {"tracks": [(t.id, t.class_name, dict(t.attributes)) for t in project.tracks()],
                "states": [(o.track.id, o.state.frame, o.state.geometry.kind.value, o.state.geometry.to_bytes(),
                            dict(o.state.attributes), o.state.source.value) for o in project.store.iter_objects()],
                "tags": [(t.id, t.class_name, t.start, t.end, dict(t.attributes)) for t in project.tags()]}


def draw_everything(parent, road) -> dict:
    """Every job adds the lane, the light and the sign (as a point) over all its frames, and the school-zone tag
    over its part of 33..59; job-01 recolours lane 2, job-02 moves lane 1 on one of its own frames."""
    jobs = jobs_of(parent)
    for job in jobs:
        draw(job, road, LANE)
        draw(job, road, LIGHT)
        draw(job, road, SIGN, shape=centre)
        tag = next(tag for tag in road.tags if tag.id == ACTIVE)
        first, last = max(tag.start, job.frames[0]), min(tag.end, job.frames[1])
        if first <= last:
            with Project.open(job.folder) as project:
                project.add_tag(tag.class_name, first, last, tag.attributes)
    with Project.open(jobs[0].folder) as project:
        project.set_track_attributes(2, {"color": "white"})
    moved = jobs[1].own[0] + 2
    with Project.open(jobs[1].folder) as project:
        old = project.state(1, moved)
        project.set_state(1, moved, make_geometry("polyline", old.geometry.points + [1.0, 0.0]))
    return {"moved": moved}


def test_merge_stitches_lanes_boxes_points_and_tags_into_one_track_each(capsys, parent, road):
    before = snapshot(parent)
    edits = draw_everything(parent, road)
    with Project.open(parent) as project:
        plan = plan_merge(project)
        assert not plan.conflicts
        apply_merge(project, plan)
        old_ids = {track[0] for track in before["tracks"]}
        for truth_id, kind in ((LANE, "polyline"), (LIGHT, "box"), (SIGN, "point")):
            truth_track = next(track for track in road.tracks if track.id == truth_id)
            made = [t for t in project.tracks(truth_track.class_name) if t.id not in old_ids]
            assert len(made) == 1, f"{truth_track.class_name}: {len(made)} tracks for one object"
            assert dict(truth_track.attributes).items() <= dict(made[0].attributes).items()
            states = {s.frame: s for s in project.states_of(made[0].id)}
            truth = truth_states(road, truth_id)
            assert sorted(states) == sorted(truth)  # every frame, from the job that owns it
            for frame, state in truth.items():
                expected = centre(state.geometry) if kind == "point" else state.geometry
                assert states[frame].geometry == expected and states[frame].geometry.kind.value == kind
                assert dict(state.attributes).items() <= dict(states[frame].attributes).items()  # and defaults
        assert project.track(2).attributes["color"] == "white"  # job-01's change
        truth_lane_1 = truth_states(road, 1)[edits["moved"]].geometry.points
        assert np.array_equal(project.state(1, edits["moved"]).geometry.points, truth_lane_1 + [1.0, 0.0])
        tag = next(tag for tag in road.tags if tag.id == ACTIVE)
        assert [(t.start, t.end) for t in project.tags() if t.class_name == tag.class_name] == [(tag.start, tag.end)]
        assert project.undo() == "merge jobs"  # one step
    assert snapshot(parent) == before
    assert run(capsys, "jobs", "merge", parent, "--dry-run")[0] == 0
    report = json.loads((parent / "jobs" / "merge-report.json").read_text())
    assert [border["jobs"] for border in report["borders"]] == [["job-01", "job-02"], ["job-02", "job-03"]]
    assert all(border["joined"] >= 11 and border["conflicts"] == [] for border in report["borders"])
    assert (parent / "jobs" / "merge-report.html").read_text().startswith("<!doctype html>")


def test_a_second_merge_writes_nothing(capsys, parent, road, fingerprint):
    draw_everything(parent, road)
    assert run(capsys, "jobs", "merge", parent)[0] == 0
    merged = snapshot(parent)
    records = {job.name: (job.folder / RECORD_FILE).read_text() for job in jobs_of(parent)}
    code, out, _ = run(capsys, "jobs", "merge", parent)
    assert code == 0 and "0 changes, 0 new tracks, tags and relations" in out
    assert snapshot(parent) == merged
    assert {job.name: (job.folder / RECORD_FILE).read_text() for job in jobs_of(parent)} == records
    with Project.open(parent) as project:
        plan = plan_merge(project)
        assert plan.changes == 0 and not plan.new_ids and not plan.blocked


def test_a_job_changed_between_plan_and_apply_writes_nothing(parent, road):
    draw_everything(parent, road)
    before = snapshot(parent)
    second = jobs_of(parent)[1]
    with Project.open(parent) as project:
        plan = plan_merge(project)
        with Project.open(second.folder) as job:  # an annotator goes on working meanwhile
            job.delete_state(1, second.own[0] + 3)
        with pytest.raises(RoadlabelError, match="changed since the merge was planned"):
            apply_merge(project, plan)
        assert project.undo() is None  # no step was kept
    assert snapshot(parent) == before


def test_dry_run_reports_and_writes_nothing(capsys, parent, road):
    draw_everything(parent, road)
    before = snapshot(parent)
    records = [(job.folder / RECORD_FILE).read_text() for job in jobs_of(parent)]
    code, out, _ = run(capsys, "jobs", "merge", parent, "--dry-run")
    assert code == 0 and "would write" in out
    assert snapshot(parent) == before
    assert [(job.folder / RECORD_FILE).read_text() for job in jobs_of(parent)] == records
    assert json.loads((parent / "jobs" / "merge-report.json").read_text())["dry_run"] is True


def conflicts_of(parent) -> list:
    with Project.open(parent) as project:
        return plan_merge(project).conflicts


def test_unpartnered_track_blocks_with_exit_2_writes_nothing_and_is_reported(capsys, parent, road):
    first = jobs_of(parent)[0]
    drawn = draw(first, road, LIGHT)  # only job-01 draws the light, through the overlap
    before = snapshot(parent)
    code, out, _ = run(capsys, "jobs", "merge", parent)
    assert code == 2 and "not merged: 1 conflict" in out
    assert snapshot(parent) == before
    report = json.loads((parent / "jobs" / "merge-report.json").read_text())
    border = report["borders"][0]
    assert report["blocked"] and border["jobs"] == ["job-01", "job-02"]
    assert [(c["kind"], c["tracks"]) for c in border["conflicts"]] == [
        ("unpartnered", [{"job": "job-01", "track": drawn}])]
    assert "unpartnered" in (parent / "jobs" / "merge-report.html").read_text()


def test_a_track_drawn_as_another_class_across_the_border_is_a_class_conflict(parent, road):
    first, second, _ = jobs_of(parent)
    draw(first, road, LIGHT)
    draw(second, road, LIGHT, class_name="traffic-sign", attributes={})
    kinds = [c.kind for c in conflicts_of(parent) if c.jobs == ("job-01", "job-02")]
    assert kinds == ["class"]


def test_different_track_attributes_across_the_border_conflict(parent, road):
    first, second, _ = jobs_of(parent)
    draw(first, road, LANE, attributes={"color": "white"})
    draw(second, road, LANE, frames=(second.frames[0], second.own[1]), attributes={"color": "yellow"})
    found = conflicts_of(parent)
    assert [c.kind for c in found] == ["attribute"] and "'white' / 'yellow'" in found[0].detail


def test_a_track_drawn_apart_across_the_border_is_a_poor_match(parent, road):
    first, second, _ = jobs_of(parent)
    draw(first, road, LIGHT)
    draw(second, road, LIGHT, frames=(second.frames[0], second.own[1]), shift=4.0)  # light boxes are ~8 px wide
    found = conflicts_of(parent)
    assert [c.kind for c in found] == ["poor-match"] and "match poorly" in found[0].detail


def test_an_object_drawn_twice_is_a_duplicate(parent, road):
    first, second, _ = jobs_of(parent)
    draw(first, road, LIGHT)
    draw(first, road, LIGHT)
    draw(second, road, LIGHT, frames=(second.frames[0], second.own[1]))
    assert "duplicate" in {c.kind for c in conflicts_of(parent)}


def test_a_job_that_changed_frames_outside_its_range_conflicts(parent, road):
    first = jobs_of(parent)[0]
    with Project.open(first.folder) as project:
        state = project.state(1, first.frames[1])
        project.set_state(1, first.frames[1] + 10, state.geometry)
    found = conflicts_of(parent)
    assert [(c.kind, c.jobs) for c in found] == [("outside", ("job-01",))]


def test_a_job_made_from_an_older_state_of_the_sequence_is_stale(parent):
    jobs = jobs_of(parent)
    frame = jobs[1].own[0] + 5  # in job-02's frames only
    with Project.open(parent) as project:
        project.delete_state(1, frame)
    found = conflicts_of(parent)
    assert [(c.kind, c.jobs) for c in found] == [("stale", ("job-02",))]


def test_a_parent_changed_by_a_merge_of_the_same_job_is_not_stale(capsys, parent, road):
    jobs = jobs_of(parent)
    draw_everything(parent, road)
    assert run(capsys, "jobs", "merge", parent)[0] == 0
    with Project.open(jobs[2].folder) as project:  # job-03 goes on working, then merges again
        project.delete_state(1, jobs[2].own[1])
    code, out, _ = run(capsys, "jobs", "merge", parent)
    assert code == 0 and "1 change" in out
    with Project.open(parent) as project:
        assert project.state(1, jobs[2].own[1]) is None


def test_without_overlap_the_last_and_first_own_frames_are_matched(tmp_path, road):
    folder = tmp_path / "parent"
    make_parent(folder, road, without={LANE, LIGHT, SIGN, ACTIVE})
    jobs = split_project(folder, parts=2)
    for job in jobs:
        for truth_id, shape in ((LANE, None), (LIGHT, None), (SIGN, centre)):
            draw(job, road, truth_id, shape=shape)
    with Project.open(folder) as project:
        plan = plan_merge(project)
        assert not plan.conflicts and plan.borders[0].frames is None
        apply_merge(project, plan)
        for class_name in ("lane-line", "traffic-light", "traffic-sign"):
            assert len(project.tracks(class_name)) == {"lane-line": 5, "traffic-light": 1, "traffic-sign": 2}[
                class_name]


def test_skeletons_are_alike_by_their_points_placed_on_both_sides():
    from napari_roadlabel.core import make_skeleton
    from napari_roadlabel.teams.merge import similarities

    points = np.array([[100.0, 50.0], [104.0, 60.0], [96.0, 60.0]])
    here = make_skeleton(points, [2, 2, 1])
    moved_points = points + [5.0, 0.0]
    moved_points[1] = np.nan
    moved = make_skeleton(moved_points, [2, 0, 2])  # 5 px to the right, its second point absent
    far = make_skeleton(points + [40.0, 0.0], [2, 2, 2])
    scores = similarities([here, moved, far], (640, 360))
    assert scores[0, 1] == pytest.approx(1 - 5 / 20) and scores[1, 0] == scores[0, 1]
    assert scores[0, 2] == 0.0 and scores[0, 0] == 1.0


# ------------------------------------------------------------------ relations


@pytest.fixture(scope="module")
def related_split(tmp_path_factory, road):
    """As ``split_parent``, with sign 10 governing the lane between lane lines 1 and 2 on frames 0..53."""
    folder = tmp_path_factory.mktemp("related") / "parent"
    make_parent(folder, road, without={LANE, LIGHT, SIGN, ACTIVE})
    with Project.open(folder) as project:
        project.add_relation("governs", RelationEnd(10), RelationEnd.lane(1, 2), 0, 53)
    split_project(folder, parts=3, overlap=4)
    return folder


@pytest.fixture
def related(tmp_path, related_split):
    return shutil.copytree(related_split, tmp_path / "parent")


def relations_of(folder) -> list:
    with Project.open(folder) as project:
        return sorted((r.id, r.type, r.source, r.target, r.start, r.end) for r in project.relations())


def test_relations_the_jobs_kept_merge_to_nothing(capsys, related):
    before = relations_of(related)
    code, out, _ = run(capsys, "jobs", "merge", related)
    assert code == 0 and "0 changes" in out
    assert relations_of(related) == before


def test_a_new_relation_across_a_border_joins_into_one_on_the_stitched_track(related, road):
    first, second, _ = jobs_of(related)
    before, relations_before = snapshot(related), relations_of(related)
    lights = [draw(first, road, LIGHT), draw(second, road, LIGHT, frames=(second.frames[0], second.own[1]))]
    for job, light, (start, end) in zip((first, second), lights, ((0, first.frames[1]), (second.frames[0], 30)),
                                        strict=True):
        with Project.open(job.folder) as project:
            project.add_relation("governs", RelationEnd(light), RelationEnd.lane(1, 2), start, end)
    with Project.open(related) as project:
        apply_merge(project, plan_merge(project))
        (light,) = project.tracks("traffic-light")
        made = [r for r in project.relations() if r.source == RelationEnd(light.id)]
        assert [(r.type, r.target, r.start, r.end) for r in made] == [("governs", RelationEnd.lane(1, 2), 0, 30)]
        again = plan_merge(project)  # the jobs' records name the relation's parent id now
        assert again.changes == 0 and not again.new_ids and not again.blocked
        assert project.undo() == "merge jobs"
    assert snapshot(related) == before and relations_of(related) == relations_before


def test_a_job_shortening_a_relation_sets_its_frames(related):
    _, _, third = jobs_of(related)
    with Project.open(third.folder) as project:
        (relation,) = project.relations()
        project.update_relation(relation.id, end=third.own[0] + 2)
    with Project.open(related) as project:
        apply_merge(project, plan_merge(project))
    assert [(start, end) for *_, start, end in relations_of(related)] == [(0, third.own[0] + 2)]


def test_a_relation_whose_end_is_gone_blocks_and_writes_nothing(capsys, related, road):
    _, second, _ = jobs_of(related)
    sign = draw(second, road, SIGN, shape=centre, frames=(second.frames[0], second.own[0] - 1))  # overlap only
    with Project.open(second.folder) as project:
        project.add_relation("governs", RelationEnd(sign), RelationEnd.lane(1, 2), second.frames[0], second.own[1])
    before, relations_before = snapshot(related), relations_of(related)
    code, out, _ = run(capsys, "jobs", "merge", related)
    assert code == 2 and "not merged: 1 conflict" in out
    assert [c.kind for c in conflicts_of(related)] == ["relation"]
    assert snapshot(related) == before and relations_of(related) == relations_before


def test_a_relation_to_a_track_the_merge_deletes_blocks(related):
    for job in jobs_of(related):  # every job removes sign 10 from its frames but keeps the track and its relation
        with Project.open(job.folder) as project:
            for state in project.states_of(10):
                project.delete_state(10, state.frame)
    found = conflicts_of(related)
    assert [c.kind for c in found] == ["relation"] and "not in the merge" in found[0].detail


def test_a_relation_beyond_the_jobs_frames_is_outside(related):
    first = jobs_of(related)[0]
    with Project.open(first.folder) as project:
        (relation,) = project.relations()
        project.update_relation(relation.id, end=first.frames[1] + 10)
    found = conflicts_of(related)
    assert [(c.kind, c.jobs) for c in found] == [("outside", ("job-01",))] and "relations" in found[0].detail
