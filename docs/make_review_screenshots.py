"""Screenshots of review mode for docs/review.md: the sample clip reviewed in napari, findings to signed off.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_review_screenshots.py [--out docs/images]

The sample's ground truth is opened as a demo project, with two mistakes an
annotator could make (a speed-limit sign without its value, a lane drawn
across another).  The reviewer runs the checks, accepts what they watched,
rejects a frame, pins a comment on a point, and goes to the first finding:
picture 11.  Then every finding is fixed, the frames are accepted, the
comment resolved, and the sequence signed off: picture 12.  The QA report's
picture comes from make_report_screenshot.py.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from make_screenshots import DOCS, look_at, new_viewer, settle, shoot, show_tab

from napari_roadlabel._napari.demo import prepare_demo_project
from napari_roadlabel.core import Project, make_geometry

REVIEW_WIDTH = 560  # the dock, wide enough for the findings' lines
ACCEPTED_UP_TO = 35  # the reviewer has watched this far
REJECTED_FRAME = 12
SIGN_FRAME = 24  # where the sign without a speed value is
CROSSING_FRAME = 30
FINDING_VIEW = ((200, 400), 1.7)  # centre (y, x) and zoom: the road ahead, the sign and the comment

class Shots:
    """What shoot() needs, for a review session (the same window size and PNG rules as the guide's)."""

    def __init__(self, viewer, dock, widget, out: Path):
        self.viewer, self.dock, self.widget, self.out, self.shots = viewer, dock, widget, out, []


def plant_mistakes(folder: Path) -> tuple[int, int]:
    with Project.open(folder) as project:
        sign = project.add_track("traffic-sign", {"type": "speed-limit"})
        project.set_state(sign.id, SIGN_FRAME, make_geometry("box", [[430, 150], [446, 168]]))
        lane = project.state(project.tracks("lane-line")[0].id, CROSSING_FRAME).geometry.points
        bottom, top = lane[np.argmax(lane[:, 1])], lane[np.argmin(lane[:, 1])]
        crossing = project.add_track("lane-line")
        ends = [[min(project.sequence.width - 1, bottom[0] + 60), bottom[1]], [max(0, top[0] - 30), top[1]]]
        project.set_state(crossing.id, CROSSING_FRAME, make_geometry("polyline", ends))
    return sign.id, crossing.id


def wait_for_checks(review) -> None:
    review.run_checks()
    while review._worker is not None or not review.checked:
        settle()


def review_in_progress(session: Shots) -> None:
    """Picture 11: findings listed and outlined, frames accepted and one rejected, a comment pinned."""
    workspace, review, panel = session.widget.workspace, session.widget.workspace.review, session.widget.review_panel
    panel.reviewer.value = "rita"
    wait_for_checks(review)
    workspace.go_to(ACCEPTED_UP_TO)
    review.accept_up_to_here()
    workspace.go_to(REJECTED_FRAME)
    panel.text.value = "the stop line is missing on this frame"
    review.reject_frame()
    workspace.go_to(0)
    review.next_finding()
    panel.text.value = "is this lane real? nothing painted here"
    review.comment(point=(300.0, 250.0))
    wait_for_checks(review)
    show_tab(session, "Review", REVIEW_WIDTH)
    look_at(session.viewer, FINDING_VIEW[0], FINDING_VIEW[1])
    shoot(session, "11-review")


def sign_off(session: Shots, sign: int, crossing: int) -> None:
    """Picture 12: every finding fixed, every frame accepted, the comment resolved: signed off."""
    workspace, review = session.widget.workspace, session.widget.workspace.review
    workspace.set_attributes(sign, {"value": 25})
    workspace.select_track(crossing)
    workspace.delete_selected(whole_track=True)
    review.review.accept_frame(REJECTED_FRAME)  # the annotator drew the stop line; the reviewer looked again
    for comment in review.review.comments(open_only=True):
        review.resolve(comment.id)
    workspace.go_to(workspace.frame_count - 1)
    review.accept_up_to_here()
    review.sign_off()
    wait_for_checks(review)
    look_at(session.viewer)
    shoot(session, "12-signed-off")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "images", help="folder for the PNGs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        project = prepare_demo_project(Path(folder))
        sign, crossing = plant_mistakes(project)
        viewer = new_viewer()
        dock, widget = viewer.window.add_plugin_dock_widget("napari-roadlabel", "Road labeling")
        widget.open_project(project)
        session = Shots(viewer, dock, widget, args.out)
        review_in_progress(session)
        sign_off(session, sign, crossing)
        viewer.close()
    for path in session.shots:
        print(f"{path}  {path.stat().st_size // 1000} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
