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
import shutil
import tempfile
from pathlib import Path

from make_screenshots import DOCS, new_viewer, shoot, show_tab

from napari_roadlabel._napari.demo import prepare_demo_project
from napari_roadlabel.teams.split import split_project
from napari_roadlabel.teams.stages import move_job

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
        folder = prepare_demo_project(Path(temporary))
        session = job_panel(jobs_with_a_rejection(folder), args.out)
    for path in session.shots:
        print(f"{path}  {path.stat().st_size // 1000} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
