"""The QA report's picture for the docs: the sample clip, with a few mistakes made on purpose, half reviewed.

    python docs/make_report_screenshot.py [--out docs/images/qa-report.png] [--html report.html]

In a temporary folder the script makes a project over the sample video,
imports the sample's ground truth, then spoils it the way annotators do: a
lane left out on three frames, a light that turns yellow for one frame, a
lane dragged across its neighbour.  A reviewer accepts the first frames,
rejects one and comments.  The automatic checks find the mistakes, and the
top of the report, rendered by headless Chromium, is saved as a PNG.  Needs
no display; needs Chromium (scripts/system_deps.sh installs it).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from napari_roadlabel._napari.sample_data import sample_files
from napari_roadlabel.core import Project, make_geometry
from napari_roadlabel.io.formats.geojson import import_geojson
from napari_roadlabel.io.projects import create_project
from napari_roadlabel.qa.browser import render_png
from napari_roadlabel.qa.checks import run_checks
from napari_roadlabel.qa.report import report_with_frames, write_report
from napari_roadlabel.qa.review import Review

DOCS = Path(__file__).resolve().parent
SIZE = (1280, 1530)  # the top of the report: header, summary, counts and findings
# Ground-truth track ids of the sample (napari_roadlabel/sample).
DASHED_LINE, LIGHT, SPEED_SIGN = 3, 9, 10
GAP_FRAMES = range(40, 43)  # the dashed line is left out here
FLICKER_FRAME = 20  # inside the light's red phase (frames 8-36): yellow for this frame only
CROSSING_FRAME = 60  # the dashed line's far end is dragged across the yellow line
REVIEWED = range(30)  # accepted by the reviewer ...
REJECTED_FRAME = CROSSING_FRAME  # ... and this one rejected


def spoil(project: Project) -> None:
    """The mistakes the checks are to find."""
    for frame in GAP_FRAMES:
        project.delete_state(DASHED_LINE, frame)
    light = project.state(LIGHT, FLICKER_FRAME)
    project.set_state(LIGHT, FLICKER_FRAME, light.geometry, {"state": "yellow"})
    points = project.state(DASHED_LINE, CROSSING_FRAME).geometry.points.copy()
    points[points[:, 1] < 190, 0] -= 120  # its far end dragged across the yellow line
    project.set_state(DASHED_LINE, CROSSING_FRAME, make_geometry("polyline", points))


def review(project: Project) -> None:
    reviewer = Review(project, "rita")
    reviewer.accept_frames(REVIEWED)
    reviewer.reject_frame(REJECTED_FRAME, "dashed line crosses the yellow line near the car")
    reviewer.add_comment("Is the dashed line really gone here? Paint is visible.", frame=GAP_FRAMES[0],
                         track_id=DASHED_LINE)
    done = reviewer.add_comment("Speed limit value checked against the sign.", track_id=SPEED_SIGN)
    reviewer.resolve(done.id)


def make_report(folder: Path, html: Path, png: Path) -> None:
    video, truth = sample_files()
    with create_project(folder / "road_clip", video) as project:
        import_geojson(project, truth)
        spoil(project)
        review(project)
        report = report_with_frames(project, run_checks(project))
    write_report(report, html, None, overwrite=True)
    render_png(html, png, width=SIZE[0], height=SIZE[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "images" / "qa-report.png")
    parser.add_argument("--html", type=Path, help="also keep the report's HTML here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roadlabel-report-") as scratch:
        html = Path(scratch) / "report.html"
        make_report(Path(scratch), html, args.out)
        if args.html:
            shutil.copyfile(html, args.html)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
