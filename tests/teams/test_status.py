"""`roadlabel status`: a folder of sample projects in every stage, one with jobs, one corrupt, one of the older
schema; read without changing a byte."""

import json
import re
from pathlib import Path

import pytest

from napari_roadlabel.cli import EXIT_BLOCKED, main
from napari_roadlabel.core import Project, SequenceInfo, make_geometry
from napari_roadlabel.core.project import ANNOTATOR_VARIABLE
from napari_roadlabel.qa.outcome import OUTCOME_FILE, last_outcome
from napari_roadlabel.qa.review import Review
from napari_roadlabel.teams.jobs import JOBS_FOLDER, Base, Job, Move, Stage, State, write_job
from napari_roadlabel.teams.merge import apply_merge, plan_merge
from napari_roadlabel.teams.split import split_project
from napari_roadlabel.teams.stages import move_job
from napari_roadlabel.teams.status import dataset_status, find_projects
from tests.conftest import as_schema

SEQUENCE = SequenceInfo("clip.mp4", 10, 640, 360)


def labeled(folder: Path, author: str, lanes: int = 1, *, annotator: str = "") -> Project:
    project = Project.create(folder, SEQUENCE, annotator=annotator)
    project.store.author = author
    for index in range(lanes):
        lane = project.add_track("lane-line")
        curve = make_geometry("polyline", [[100 + 150 * index, 350], [200 + 150 * index, 250], [300 + 150 * index,
                                                                                              180]])
        for frame in range(SEQUENCE.frame_count):
            project.set_state(lane.id, frame, curve)
    return project


def add_job(parent: Path, name: str, frames: tuple[int, int], assignee: str, stage: Stage, state: State,
            moves: list[tuple[str, str]]) -> None:
    folder = parent / JOBS_FOLDER / name
    with labeled(folder, assignee):
        pass
    history = tuple(Move(action, by, f"2024-05-01T{10 + index:02d}:00:00+00:00", "", stage, state)
                    for index, (action, by) in enumerate(moves))
    write_job(Job(name=name, folder=folder, frames=frames, own=frames, parent=parent, base=Base("f", 1),
                  assignee=assignee, reviewer="rita", stage=stage, state=state, history=history))


@pytest.fixture
def dataset(tmp_path):
    """Sequences new, labeling, in review, rejected, signed off, one with jobs, one of schema 3, one corrupt."""
    root = tmp_path / "dataset"
    Project.create(root / "new", SEQUENCE).close()
    labeled(root / "labeling", "ana", 2).close()
    with labeled(root / "city" / "reviewing", "ana") as project:
        Review(project, "rita").accept_frames(range(5))
    with labeled(root / "city" / "rejected", "ben") as project:
        Review(project, "rita").reject_frame(3, "lane off the paint")
    with labeled(root / "signed", "ben") as project:
        review = Review(project, "rita")
        review.accept_frames(range(10))
        review.sign_off([])
    with labeled(root / "jobbed", "lead"):
        pass
    add_job(root / "jobbed", "job-01", (0, 4), "ana", Stage.REVIEW, State.NEW,
            [("split", "lead"), ("submit", "ana")])
    add_job(root / "jobbed", "job-02", (5, 9), "ben", Stage.ANNOTATION, State.REJECTED,
            [("split", "lead"), ("submit", "ben"), ("reject", "rita")])
    labeled(root / "old", "ana").close()
    as_schema(root / "old", 3, metadata=False)
    (root / "broken").mkdir()
    Project.create(root / "broken", SEQUENCE).close()
    (root / "broken" / "annotations.sqlite").write_bytes(b"not a database" * 100)
    (root / ".staging").mkdir()
    (root / ".staging" / "project.json").write_text("{}")  # hidden: never a sequence
    return root


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_project_is_found_once_jobs_under_their_parent(dataset):
    names = [folder.relative_to(dataset).as_posix() for folder in find_projects([dataset, dataset / "signed"])]
    assert names == ["broken", "city/rejected", "city/reviewing", "jobbed", "labeling", "new", "old", "signed"]
    assert find_projects([dataset / "jobbed"]) == [dataset / "jobbed"]


def test_status_json_reports_each_sequence_its_jobs_and_the_people(capsys, dataset):
    code, out, _ = run(capsys, "status", dataset, "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) == {"sequences", "people", "summary"}
    sequences = {sequence["name"]: sequence for sequence in report["sequences"]}
    assert {name: sequence["stage"] for name, sequence in sequences.items()} == {
        "new": "new", "labeling": "labeling", "reviewing": "in review", "rejected": "rejected",
        "signed": "signed off", "jobbed": "rejected", "old": "labeling", "broken": "unreadable"}
    labeling = sequences["labeling"]
    assert (labeling["frames"], labeling["objects"], labeling["keyframes"]) == (10, {"lane-line": 2}, 20)
    assert sequences["reviewing"]["review"]["frames_accepted"] == 5
    assert sequences["signed"]["signed_off"] and sequences["signed"]["review"]["sign_off"]["reviewer"] == "rita"
    assert [(job["job"], job["stage"], job["state"], job["assignee"], job["objects"])
            for job in sequences["jobbed"]["jobs"]] == [("job-01", "review", "new", "ana", 1),
                                                         ("job-02", "annotation", "rejected", "ben", 1)]
    broken = sequences["broken"]
    assert "annotations.sqlite" in broken["error"] and "\n" not in broken["error"]
    assert report["summary"]["by_stage"] == {"new": 1, "labeling": 2, "in review": 1, "rejected": 2,
                                             "signed off": 1, "unreadable": 1}
    people = {person["name"]: person for person in report["people"]}
    # ana labeled two lanes in "labeling", one in "reviewing" and one in job-01 (the log of "old" went with its
    # downgrade to schema 3); the jobs' histories give ben a rejection and rita a verdict an hour after the submit.
    assert people["ana"]["objects_made"] == 4 and people["ana"]["keyframes_made"] == 40
    assert (people["ben"]["rejections"], people["ben"]["jobs_reviewed"], people["ben"]["first_pass"]) == (1, 1, 0)
    assert people["rita"]["verdicts"] == 1 and people["rita"]["turnaround_hours"] == 1.0
    assert set(people["ana"]) >= {"objects_per_hour", "keyframes_per_hour", "first_pass_rate", "rejections",
                                  "turnaround_hours", "active_hours"}


def test_status_changes_nothing_in_the_projects(capsys, dataset, tmp_path, fingerprint):
    before = fingerprint(dataset)
    assert run(capsys, "status", dataset, "--html", tmp_path / "page.html")[0] == 0
    assert fingerprint(dataset) == before


def test_the_page_is_one_self_contained_file_with_sortable_tables_and_a_plot(capsys, dataset, tmp_path):
    page = tmp_path / "out" / "status.html"
    code, out, _ = run(capsys, "status", dataset, "--html", page)
    assert code == 0 and f"page: {page}" in out
    html = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html) and "<link" not in html
    assert "<script src" not in html and html.count("<script>") == 1
    assert html.count('class="sortable"') == 2 and 'addEventListener("click"' in html and "aria-sort" in html
    assert 'src="data:image/svg+xml;base64,' in html
    for name in ("reviewing", "rejected", "jobbed", "job-02", "rita", "ana"):
        assert name in html
    assert [path.name for path in page.parent.iterdir()] == ["status.html"]  # nothing staged left beside it


def test_the_terminal_tables_and_the_summary_line(capsys, dataset):
    code, out, _ = run(capsys, "status", dataset / "city", dataset / "jobbed")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["sequence", "stage", "frames"]
    assert any(line.startswith("jobbed") and "2: 1 review, 1 annotation rejected" in line for line in lines)
    assert lines[-1] == "3 sequences: 0 new, 0 labeling, 1 in review, 2 rejected, 0 signed off; 5/30 frames accepted"


def test_a_missing_root_is_one_line_error(capsys, tmp_path):
    code, _, err = run(capsys, "status", tmp_path / "nowhere")
    assert code == 1 and err == f"roadlabel: error: {tmp_path / 'nowhere'}: no such folder\n"


def test_qa_records_its_outcome_and_status_shows_it(capsys, dataset):
    folder = dataset / "labeling"
    assert last_outcome(folder) is None
    assert run(capsys, "qa", folder)[0] == 0
    passed = last_outcome(folder)
    assert (passed.errors, passed.blocked, passed.signed_off) == (0, False, False)
    assert run(capsys, "qa", folder, "--require-sign-off")[0] == EXIT_BLOCKED
    (sequence,) = dataset_status([folder]).sequences
    assert sequence.last_qa["blocked"] and sequence.last_qa["time"] >= passed.time
    (dataset / "signed" / OUTCOME_FILE).write_text("{not json")
    (signed,) = dataset_status([dataset / "signed"]).sequences
    assert signed.stage == "signed off" and "qa-last.json" in signed.last_qa["error"]


def test_a_split_worked_moved_and_merged_sequence_counts_each_persons_own_work(capsys, tmp_path, monkeypatch):
    """The split copies the parent's labels into the jobs and the merge copies them back: neither is anyone's."""
    monkeypatch.delenv(ANNOTATOR_VARIABLE, raising=False)
    folder = tmp_path / "data" / "seq"
    labeled(folder, "lead", 2).close()
    first, second = split_project(folder, parts=2, assignees=("ana", "ben"), reviewer="rita", by="lead")
    with Project.open(first.folder) as job:  # the job's annotator: ana
        lane = job.add_track("lane-line")
        for frame in (0, 1, 2):  # ends inside the job: no partner needed across the border
            job.set_state(lane.id, frame, make_geometry("polyline", [[40, 350], [60, 250], [80, 180]]))
    no_checks = {"blocking_findings": lambda job: []}
    move_job(first.folder, "submit", by="ana", **no_checks)
    move_job(first.folder, "reject", by="rita", comment="a lane is missing")
    move_job(first.folder, "submit", by="ana", **no_checks)
    move_job(first.folder, "approve", by="rita")
    move_job(second.folder, "start", by="ben")
    with Project.open(folder, author="lead") as project:
        apply_merge(project, plan_merge(project))
        assert project.store.activity()[-1].label == "merge jobs"
    code, out, _ = run(capsys, "status", tmp_path / "data", "--json")
    (sequence,) = json.loads(out)["sequences"]
    assert code == 0 and sequence["stage"] == "labeling" and sequence["objects"] == {"lane-line": 3}
    assert [(job["job"], job["stage"], job["state"]) for job in sequence["jobs"]] == [
        (first.name, "acceptance", "new"), (second.name, "annotation", "in progress")]
    people = {person["name"]: person for person in json.loads(out)["people"]}
    assert (people["ana"]["objects_made"], people["ana"]["keyframes_made"]) == (1, 3)
    assert (people["ana"]["jobs_reviewed"], people["ana"]["first_pass"], people["ana"]["rejections"]) == (1, 0, 1)
    assert (people["lead"]["objects_made"], people["lead"]["keyframes_made"]) == (2, 20)  # its own two lanes only
    assert "ben" not in people  # the split's copy is not ben's work, and ben has neither edited nor submitted
    assert people["rita"]["verdicts"] == 2
