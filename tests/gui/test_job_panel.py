"""The job box of the Label tab, in a real viewer: shown for a job only, its buttons move the job."""

from __future__ import annotations

import pytest

from napari_roadlabel._napari.widget import RoadLabelWidget
from napari_roadlabel.core import RoadlabelError
from napari_roadlabel.teams.jobs import Base, Job, Stage, State, read_job, write_job

pytestmark = pytest.mark.gui


@pytest.fixture
def job_widget(make_napari_viewer, labeled_project, monkeypatch):
    """The labeled clip made a job of frames 3..9 (by hand: the panel does not care how), opened by its annotator."""
    write_job(Job(name="job-01", folder=labeled_project, frames=(3, 9), own=(3, 9), parent=labeled_project.parent,
                  base=Base("0" * 16, 0), assignee="ana", reviewer="rui"))
    monkeypatch.setenv("ROADLABEL_REVIEWER", "ana")
    widget = RoadLabelWidget(make_napari_viewer())
    widget.open_project(labeled_project)
    return widget


def _buttons(panel) -> dict:
    return {button.text: button for button in panel.actions}


def test_a_plain_project_has_no_job_box(widget):
    assert widget.job_panel is None


def test_the_job_box_shows_the_stage_and_people_and_its_buttons_move_the_job(job_widget):
    panel = job_widget.job_panel
    assert "Job job-01" in panel.status.text() and "annotation</b> — new" in panel.status.text()
    assert "Assignee ana · reviewer rui" in panel.status.text()
    assert list(_buttons(panel)) == ["Go to frame 3", "Start", "Submit for review"]
    assert job_widget.workspace.current_frame == 3  # a job opens on its first frame
    job_widget.workspace.go_to(8)
    _buttons(panel)["Go to frame 3"].clicked()
    assert job_widget.workspace.current_frame == 3
    panel.comment.value = "lanes and lights done"
    _buttons(panel)["Submit for review"].clicked()
    job = read_job(panel.folder)
    assert (job.stage, job.state, job.history[-1].by) == (Stage.REVIEW, State.NEW, "ana")
    assert job.history[-1].comment == "lanes and lights done"
    assert "review</b> — new" in panel.status.text() and "lanes and lights done" in panel.status.text()
    assert panel.comment.value == ""


def test_stepping_outside_the_job_warns_that_edits_there_block_the_merge(job_widget):
    panel, workspace = job_widget.job_panel, job_widget.workspace
    assert panel.outside.isHidden()
    workspace.go_to(10)
    assert not panel.outside.isHidden()
    assert panel.outside.text() == "Frame 10 is outside this job (frames 3–9): an edit here blocks the merge."
    workspace.go_to(9)
    assert panel.outside.isHidden()


def test_a_refused_move_is_reported_and_changes_nothing(job_widget):
    panel = job_widget.job_panel
    panel.person.value = "rui"  # the reviewer may not start the annotator's job
    reported = []
    panel.report = reported.append
    _buttons(panel)["Start"].clicked()
    assert "only its assignee (ana)" in str(reported[0])
    assert read_job(panel.folder).state is State.NEW


def test_the_job_box_goes_when_the_project_closes(job_widget):
    job_widget.close_workspace()
    assert job_widget.job_panel is None


def test_a_broken_job_file_is_refused_before_anything_is_shown(make_napari_viewer, labeled_project):
    (labeled_project / "job.json").write_text("{")
    widget = RoadLabelWidget(make_napari_viewer())
    with pytest.raises(RoadlabelError, match="job.json: cannot be read"):
        widget.open_project(labeled_project)
    assert widget.workspace is None and widget.job_panel is None
