"""`roadlabel jobs split` and `jobs list` on the sample clip: slices under the same ids, borders off keyframes,
re-splitting what nobody started, and bad input refused in one line with nothing written."""

from __future__ import annotations

import json
import math

import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import Project, SequenceInfo, Source, make_geometry
from napari_roadlabel.teams.jobs import Move, Stage, State, jobs_of, now, read_job, write_job
from napari_roadlabel.teams.split import slice_fingerprint, split_project


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def slice_of(project: Project, first: int, last: int) -> dict:
    """(track id, frame) -> (class, track attributes, geometry points, frame attributes, source) on the frames."""
    return {(o.track.id, o.state.frame): (o.track.class_name, dict(o.track.attributes),
                                          o.state.geometry.points.tolist(), dict(o.state.attributes),
                                          o.state.source)
            for o in project.store.iter_objects(range(first, last + 1))}


def test_split_by_parts_tiles_the_sequence_and_each_job_holds_the_parents_slice(capsys, parent):
    code, out, _ = run(capsys, "jobs", "split", parent, "--parts", 3, "--overlap", 4, "--assign", "ana,ben",
                       "--reviewer", "cy")
    assert code == 0 and "3 jobs" in out
    jobs = jobs_of(parent)
    assert [job.name for job in jobs] == ["job-01", "job-02", "job-03"]
    assert jobs[0].own[0] == 0 and jobs[-1].own[1] == 59
    assert all(a.own[1] + 1 == b.own[0] for a, b in zip(jobs, jobs[1:], strict=False))
    assert all(job.frames == (max(0, job.own[0] - 4), min(59, job.own[1] + 4)) for job in jobs)
    assert [job.assignee for job in jobs] == ["ana", "ben", "ana"] and {job.reviewer for job in jobs} == {"cy"}
    assert all(job.stage is Stage.ANNOTATION and job.state is State.NEW and job.history[0].action == "split"
               for job in jobs)
    with Project.open(parent) as whole:
        for job in jobs:
            with Project.open(job.folder) as part:
                assert slice_of(part, 0, 59) == slice_of(whole, *job.frames)  # nothing outside its frames
                assert part.source_path() == whole.source_path()  # the same video, referenced
                assert part.taxonomy.to_dict() == whole.taxonomy.to_dict()
                assert part.metadata["annotator"] == job.assignee
                assert part.store.next_id() == whole.store.next_id()  # a job's new ids are never the parent's
                assert {(t.start, t.end) for t in part.tags()} == {
                    (max(t.start, job.frames[0]), min(t.end, job.frames[1])) for t in whole.tags()
                    if t.start <= job.frames[1] and t.end >= job.frames[0]}
                assert job.base.fingerprint == slice_fingerprint(whole, *job.frames) == slice_fingerprint(
                    part, *job.frames)
                assert job.base.max_track_id == whole.store.next_id() - 1


def test_a_track_crossing_a_border_is_in_both_jobs_with_the_same_identity(parent, road):
    jobs = split_project(parent, parts=2, overlap=3)
    cut = jobs[1].own[0]
    crossing = {state.track_id for state in road.states if state.frame == cut - 1} & {
        state.track_id for state in road.states if state.frame == cut}
    assert len(crossing) >= 10
    first, second = (Project.open(job.folder) for job in jobs)
    with first, second:
        for track_id in crossing:
            assert first.track(track_id) == second.track(track_id)
            assert first.state(track_id, cut) is not None and second.state(track_id, cut - 1) is not None


def test_split_by_frames_makes_jobs_of_about_that_length(parent):
    jobs = split_project(parent, frames=25)
    assert len(jobs) == math.ceil(60 / 25)
    assert jobs[0].own[0] == 0 and jobs[-1].own[1] == 59
    assert all(a.own[1] + 1 == b.own[0] for a, b in zip(jobs, jobs[1:], strict=False))
    assert all(abs(job.own[1] - job.own[0] + 1 - 20) <= 2 for job in jobs)  # 3 parts of 20, borders moved <= 2
    assert all(job.frames == job.own for job in jobs)


def keyframed(tmp_path, keyframes: list[int]):
    """A 60-frame project with one box track on every frame; only ``keyframes`` are a person's."""
    with Project.create(tmp_path / "sparse", SequenceInfo("clip.mp4", 60, 320, 180)) as project:
        track = project.add_track("vehicle")
        for frame in range(60):
            source = Source.MANUAL if frame in keyframes else Source.INTERPOLATED
            project.set_state(track.id, frame, make_geometry("box", [[10 + frame, 10], [40 + frame, 40]]),
                              source=source)
    return tmp_path / "sparse"


def test_a_border_moves_off_the_keyframes_it_would_part(tmp_path):
    folder = keyframed(tmp_path, [0, 29, 30, 59])  # the nominal cut, before frame 30, parts 29 from 30
    cut = split_project(folder, parts=2)[1].own[0]
    assert cut != 30 and abs(cut - 30) <= 3  # moved, within a tenth of a part
    assert not {cut - 1, cut} & {29, 30} and not {cut - 2, cut + 1} & {29, 30}  # not next to them either


def test_a_border_stays_put_where_no_keyframe_is_near(tmp_path):
    folder = keyframed(tmp_path, [0, 10, 50, 59])
    assert split_project(folder, parts=2)[1].own[0] == 30


def test_jobs_list_json_gives_exactly_the_keys_of_the_issue(capsys, parent):
    run(capsys, "jobs", "split", parent, "--frames", 30, "--assign", "ana")
    code, out, _ = run(capsys, "jobs", "list", parent, "--json")
    listed = json.loads(out)
    assert code == 0 and len(listed) == 2
    assert all(set(item) == {"job", "folder", "frames", "assignee", "reviewer", "stage", "state"} for item in listed)
    assert listed[0] == {"job": "job-01", "folder": str((parent / "jobs" / "job-01").resolve()), "frames": [0, 29],
                         "assignee": "ana", "reviewer": "", "stage": "annotation", "state": "new"}
    code, out, _ = run(capsys, "jobs", "list", parent)
    assert code == 0 and len(out.splitlines()) == 2 and "frames 30..59" in out


def test_resplit_splits_again_only_the_jobs_nobody_started(capsys, parent):
    jobs = split_project(parent, parts=3, overlap=2)
    with Project.open(jobs[0].folder) as started:  # job-01: edited
        started.delete_state(1, 3)
    write_job(jobs[2].moved(Move("start", "ben", now(), "", Stage.ANNOTATION, State.IN_PROGRESS)))  # job-03: started
    code, out, _ = run(capsys, "jobs", "split", parent, "--parts", 2, "--overlap", 2, "--resplit")
    assert code == 0, out
    after = jobs_of(parent)
    assert [job.name for job in after] == ["job-01", "job-04", "job-05", "job-03"]
    assert after[0].own == jobs[0].own and after[3].own == jobs[2].own
    assert after[1].own[0] == jobs[1].own[0] and after[2].own[1] == jobs[1].own[1]
    assert after[1].own[1] + 1 == after[2].own[0]
    with Project.open(after[0].folder) as kept:
        assert kept.state(1, 3) is None  # the started job kept its work
    assert read_job(after[3].folder).state is State.IN_PROGRESS
    write_job(read_job(after[1].folder).moved(Move("start", "", now(), "", Stage.ANNOTATION, State.IN_PROGRESS)))
    write_job(read_job(after[2].folder).moved(Move("start", "", now(), "", Stage.ANNOTATION, State.IN_PROGRESS)))
    code, _, err = run(capsys, "jobs", "split", parent, "--parts", 2, "--resplit")
    assert code == 1 and "nothing to re-split" in err


@pytest.mark.parametrize(("options", "message"), [
    (["--parts", 0], "--parts must be 1 or more"),
    (["--parts", 61], "has only 60 frames"),
    (["--frames", -3], "--frames must be 1 or more"),
    (["--parts", 2, "--overlap", -1], "--overlap must be 0 or more"),
    (["--parts", 2, "--assign", "ana,ben", "--reviewer", "ben"], "the reviewer cannot be the assignee"),
    (["--parts", 2, "--resplit"], "no jobs to re-split"),
])
def test_bad_split_options_are_one_line_and_write_nothing(capsys, parent, fingerprint, options, message):
    before = fingerprint(parent)
    code, out, err = run(capsys, "jobs", "split", parent, *options)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert fingerprint(parent) == before


def test_a_second_split_is_refused_while_jobs_exist(capsys, parent, fingerprint):
    run(capsys, "jobs", "split", parent, "--parts", 2)
    before = fingerprint(parent)
    code, _, err = run(capsys, "jobs", "split", parent, "--parts", 3)
    assert code == 1 and "has 2 jobs already" in err and "--resplit" in err
    assert fingerprint(parent) == before


def test_each_job_gets_the_relations_on_its_frames_clipped_under_the_same_ids(parent):
    from napari_roadlabel.core.annotations import RelationEnd

    with Project.open(parent) as project:  # the light governs the lane between lines 2 and 3; a sign, early on
        whole = project.add_relation("governs", RelationEnd(9), RelationEnd.lane(2, 3), 0, 59)
        early = project.add_relation("governs", RelationEnd(10), RelationEnd.lane(2, 3), 5, 12)
    jobs = split_project(parent, parts=3, overlap=4)
    for job in jobs:
        first, last = job.frames
        with Project.open(job.folder) as part:
            expected = [(whole.id, first, last)] + [(early.id, max(5, first), min(12, last))] * (first <= 12)
            assert sorted((r.id, r.start, r.end) for r in part.relations()) == sorted(expected)
            assert all((r.source, r.target) == ((whole if r.id == whole.id else early).source, whole.target)
                       for r in part.relations())
