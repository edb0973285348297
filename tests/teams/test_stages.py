"""A job's stages and roles, through teams.stages: who may move it, where to, and what is recorded."""

from __future__ import annotations

import json

import pytest

from napari_roadlabel.core import Project, RoadlabelError, SequenceInfo
from napari_roadlabel.core.geometry import make_geometry
from napari_roadlabel.teams.jobs import Base, Job, Stage, State, jobs_of, read_job, write_job
from napari_roadlabel.teams.stages import assign, available_actions, move_job

ANNOTATOR, REVIEWER, LEAD = "ana", "rui", "lea"


@pytest.fixture
def job_folder(tmp_path):
    """A parent project with one job over frames 10..39 (made by hand: stages do not depend on how)."""
    parent = tmp_path / "drive"
    Project.create(parent, SequenceInfo("clip.mp4", 60, 640, 360, 30.0)).close()
    folder = parent / "jobs" / "job-01"
    Project.create(folder, SequenceInfo("../../clip.mp4", 60, 640, 360, 30.0), annotator=ANNOTATOR).close()
    write_job(Job(name="job-01", folder=folder, frames=(10, 39), own=(10, 39), parent=parent,
                  base=Base("0" * 16, 0), assignee=ANNOTATOR, reviewer=REVIEWER))
    return folder


def _add_crossing_lanes(folder, frame: int) -> None:
    """Two lanes in an X: the crossing-lanes check blocks."""
    with Project.open(folder) as project:
        for points in ([(100, 350), (300, 200)], [(300, 350), (100, 200)]):
            track = project.add_track("lane-line")
            project.set_state(track.id, frame, make_geometry("polyline", points))


def test_a_job_goes_from_annotation_through_review_to_acceptance_with_each_move_recorded(job_folder):
    move_job(job_folder, "start", by=ANNOTATOR)
    move_job(job_folder, "submit", by=ANNOTATOR, comment="all lanes done")
    move_job(job_folder, "review", by=REVIEWER)
    move_job(job_folder, "approve", by=REVIEWER)
    job = move_job(job_folder, "accept", by=LEAD)
    assert (job.stage, job.state) == (Stage.ACCEPTANCE, State.DONE)
    assert [move.action for move in job.history] == ["start", "submit", "review", "approve", "accept"]
    assert [move.by for move in job.history] == [ANNOTATOR, ANNOTATOR, REVIEWER, REVIEWER, LEAD]
    assert job.history[1].comment == "all lanes done"
    assert all(move.time.endswith("+00:00") for move in job.history)
    assert read_job(job_folder) == job  # on disk, not only returned
    assert jobs_of(job_folder.parents[1]) == [job]
    assert available_actions(job) == []


def test_a_rejection_needs_a_reason_and_goes_back_to_the_same_annotator(job_folder):
    move_job(job_folder, "submit", by=ANNOTATOR)
    with pytest.raises(RoadlabelError, match="give a reason"):
        move_job(job_folder, "reject", by=REVIEWER, comment="  ")
    job = move_job(job_folder, "reject", by=REVIEWER, comment="lane 3 drifts after the overpass")
    assert (job.stage, job.state, job.assignee) == (Stage.ANNOTATION, State.REJECTED, ANNOTATOR)
    assert job.history[-1].comment == "lane 3 drifts after the overpass"
    assert [action.name for action in available_actions(job)] == ["start", "submit"]


def test_submitting_is_refused_while_the_checks_block_and_nothing_is_recorded(job_folder):
    _add_crossing_lanes(job_folder, 20)
    before = (job_folder / "job.json").read_bytes()
    blocked = r"not submitted for review: 1 blocking finding.*crossing-lanes on frame 20"
    with pytest.raises(RoadlabelError, match=blocked):
        move_job(job_folder, "submit", by=ANNOTATOR)
    assert (job_folder / "job.json").read_bytes() == before


def test_blocking_findings_outside_the_job_frames_do_not_hold_it_back(job_folder):
    _add_crossing_lanes(job_folder, 50)  # the job covers 10..39
    assert move_job(job_folder, "submit", by=ANNOTATOR).stage is Stage.REVIEW


@pytest.mark.parametrize(("action", "by", "reason"), [
    ("start", REVIEWER, "only its assignee"),
    ("approve", ANNOTATOR, "only its reviewer"),
    ("accept", ANNOTATOR, "cannot accept their own work"),
    ("review", "", "say who you are"),
    ("dance", ANNOTATOR, "no action 'dance'"),
])
def test_the_wrong_person_or_action_is_refused_in_one_line(job_folder, action, by, reason):
    if action in ("approve", "review"):
        move_job(job_folder, "submit", by=ANNOTATOR)
    if action == "accept":
        move_job(job_folder, "submit", by=ANNOTATOR)
        move_job(job_folder, "approve", by=REVIEWER)
    with pytest.raises(RoadlabelError, match=reason) as raised:
        move_job(job_folder, action, by=by)
    assert "\n" not in str(raised.value) and str(raised.value).startswith("job-01: ")


def test_an_action_from_the_wrong_stage_says_what_is_possible(job_folder):
    possible = r"cannot approve a job at annotation: new \(possible now: start, submit\)"
    with pytest.raises(RoadlabelError, match=possible):
        move_job(job_folder, "approve", by=REVIEWER)


def test_the_reviewer_can_never_be_the_assignee(job_folder):
    with pytest.raises(RoadlabelError, match="the reviewer cannot be the assignee"):
        assign(job_folder, by=LEAD, reviewer=ANNOTATOR)
    job = assign(job_folder, by=LEAD, assignee="bo")
    assert (job.assignee, job.reviewer, job.stage) == ("bo", REVIEWER, Stage.ANNOTATION)
    assert job.history[-1].action == "assign" and "bo" in job.history[-1].comment


def test_a_hand_broken_job_file_is_refused_naming_the_key(job_folder):
    data = json.loads((job_folder / "job.json").read_text())
    data["stage"] = "shipping"
    (job_folder / "job.json").write_text(json.dumps(data))
    with pytest.raises(RoadlabelError, match=r"job.json: stage: must be one of annotation, review, acceptance"):
        read_job(job_folder)


def test_the_command_line_moves_and_assigns_jobs_made_by_a_split(parent, capsys):
    from napari_roadlabel.cli import main

    assert main(["jobs", "split", str(parent), "--parts", "2", "--assign", ANNOTATOR, "--reviewer", REVIEWER]) == 0
    job = parent / "jobs" / "job-01"
    assert main(["jobs", "move", str(job), "submit", "--by", ANNOTATOR, "--comment", "done"]) == 0
    assert "job-01: review, new (submit by ana)" in capsys.readouterr().out
    assert main(["jobs", "move", str(job), "reject", "--by", REVIEWER]) == 1
    assert "job-01: reject: give a reason" in capsys.readouterr().err
    assert main(["jobs", "assign", str(job), "--reviewer", "lin", "--by", LEAD]) == 0
    assert main(["jobs", "move", str(job), "reject", "--by", "lin", "--comment", "sign value missing"]) == 0
    listed = {entry["job"]: entry for entry in _listed(main, parent, capsys)}
    assert listed["job-01"]["stage"] == "annotation" and listed["job-01"]["state"] == "rejected"
    assert listed["job-01"]["reviewer"] == "lin" and listed["job-02"]["state"] == "new"


def _listed(main, parent, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["jobs", "list", str(parent), "--json"]) == 0
    return json.loads(capsys.readouterr().out)
