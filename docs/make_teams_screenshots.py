"""Pictures of team work for docs/teams.md: a job's box in napari, and the dataset status page.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_teams_screenshots.py [--out docs/images]

The sample clip with its ground truth is split into three jobs for two
annotators and a reviewer.  Job 2 is submitted, and the reviewer sends it back
with a reason; its annotator opens it in napari: the job box at the top of the
Label tab says where it stands and why (job-panel.png).  The status page over
the sample, its jobs and two more copies at other stages is rendered by
headless Chromium (status.png).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import shutil
import tempfile
from pathlib import Path

from make_screenshots import DOCS, new_viewer, shoot, show_tab

from napari_roadlabel._napari.demo import prepare_demo_project
from napari_roadlabel.core import Project, box
from napari_roadlabel.qa.browser import render_png
from napari_roadlabel.qa.checks import run_checks
from napari_roadlabel.qa.review import Review
from napari_roadlabel.teams.split import split_project
from napari_roadlabel.teams.stages import move_job
from napari_roadlabel.teams.status import dataset_status, find_projects
from napari_roadlabel.teams.status_page import write_status_html

PANEL_WIDTH = 520
ANNOTATORS, REVIEWER = ("ana", "ben"), "cy"
REASON = "the speed-limit sign has no value on frames 40-52"


class Shots:
    """What shoot() needs (the same window size and PNG rules as the guide's)."""

    def __init__(self, viewer, dock, widget, out: Path):
        self.viewer, self.dock, self.widget, self.out, self.shots = viewer, dock, widget, out, []


def jobs_with_a_rejection(folder: Path) -> Path:
    """Three jobs; the second submitted by its annotator and rejected by the reviewer; its folder."""
    jobs = split_project(folder, parts=3, overlap=5, assignees=ANNOTATORS, reviewer=REVIEWER, by="lea")
    second = jobs[1]
    move_job(second.folder, "start", by=second.assignee)
    move_job(second.folder, "submit", by=second.assignee, comment="all lanes, lights and signs")
    move_job(second.folder, "review", by=REVIEWER)
    move_job(second.folder, "reject", by=REVIEWER, comment=REASON)
    return second.folder


def work(folder: Path, author: str, boxes: int, start: datetime.datetime, seconds_apart: float) -> None:
    """``author`` draws ``boxes`` traffic lights, one keyframe each, one every ``seconds_apart`` from ``start``."""
    times = (start + datetime.timedelta(seconds=index * seconds_apart) for index in itertools.count())
    with Project.open(folder, author=author) as project:
        project.store.clock = lambda: next(times).isoformat(timespec="seconds")
        for index in range(boxes):
            light = project.add_track("traffic-light")
            x = 20 + 12 * (index % 40)
            project.set_state(light.id, index % project.sequence.frame_count, box(x, 20, x + 8, 40))


def dataset(root: Path, demo: Path) -> None:
    """Four drives: one in jobs (one done, one rejected, one being labeled), one signed off, one being labeled,
    one new; three annotators' edits spread over a morning."""
    morning = datetime.datetime(2026, 12, 7, 8, 0, tzinfo=datetime.timezone.utc)
    drive = shutil.copytree(demo, root / "drive-01")
    jobs_with_a_rejection(drive)
    first = drive / "jobs" / "job-01"
    work(first, "ana", 30, morning, 50)
    for action, by in (("submit", "ana"), ("approve", REVIEWER), ("accept", "lea")):
        move_job(first, action, by=by)
    work(drive / "jobs" / "job-03", "ana", 12, morning + datetime.timedelta(hours=1), 70)
    signed = shutil.copytree(demo, root / "drive-02")
    work(signed, "ben", 40, morning, 35)
    with Project.open(signed) as project:
        review = Review(project, REVIEWER)
        review.accept_frames(range(project.sequence.frame_count))
        review.sign_off(run_checks(project))
    work(shutil.copytree(demo, root / "drive-03"), "dee", 18, morning + datetime.timedelta(minutes=30), 90)
    shutil.copytree(demo, root / "drive-04")


def status_page(root: Path, out: Path) -> Path:
    html = root / "status.html"
    write_status_html(dataset_status(find_projects([root])), html, [root])
    return render_png(html, out / "status.png", width=1280)


def job_panel(job: Path, out: Path) -> Shots:
    viewer = new_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-roadlabel", "Road labeling")
    widget.open_project(job)
    session = Shots(viewer, dock, widget, out)
    widget.job_panel.person.value = "ben"
    show_tab(session, "Label", PANEL_WIDTH)
    widget.workspace.go_to(widget.job_panel.job.frames[0])
    shoot(session, "job-panel")
    viewer.close()
    return session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "images", help="folder for the PNGs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        demo = prepare_demo_project(Path(temporary) / "demo")
        dataset(Path(temporary) / "dataset", demo)
        session = job_panel(Path(temporary) / "dataset" / "drive-01" / "jobs" / "job-02", args.out)
        session.shots.append(status_page(Path(temporary) / "dataset", args.out))
    for path in session.shots:
        print(f"{path}  {path.stat().st_size // 1000} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
