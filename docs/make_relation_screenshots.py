"""Pictures of skeletons and relations for docs/annotating.md.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_relation_screenshots.py [--out docs/images]

On frame 40 of the sample with its ground truth: a pedestrian dropped into a
box as a template, one point dragged to where the arm is, the left wrist
occluded and the right ear absent, and a second pedestrian half placed, the
panel naming its next point (13-skeletons.png).  Then the traffic light is
related to the lane it governs and the speed-limit sign to the lane right of
it, as an annotator does with Alt-M and Alt-L; the arrows, the lanes'
centrelines and the light's relations in the panel (14-relations.png).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from make_screenshots import DOCS, Session, look_at, new_viewer, settle, shoot, show_in_panel, show_tab

from napari_roadlabel._napari.demo import prepare_demo_project
from napari_roadlabel.core import box, make_skeleton
from napari_roadlabel.core.geometry import ABSENT, OCCLUDED
from napari_roadlabel.core.skeletons import template_in_box

FRAME = 40
LANE_LEFT_OF_EGO, LANE_RIGHT_OF_EGO, LIGHT, SPEED_SIGN = 2, 3, 9, 10  # the demo project's track ids
PERSON_BOX, SECOND_BOX = (56, 100, 100, 200), (126, 104, 160, 180)  # on the verge, left of the road
PLACED_OF_SECOND = 7  # nose to left_shoulder: the panel names left_elbow next
PANEL_WIDTH = 520


def open_demo(folder: Path, out: Path) -> Session:
    viewer = new_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-roadlabel", "Road labeling")
    widget.open_project(prepare_demo_project(folder))
    widget.workspace.go_to(FRAME)
    settle()
    return Session(viewer, dock, widget, folder, None, out)


def skeletons(session: Session) -> None:
    workspace = session.workspace
    project = workspace.project
    skeleton = project.taxonomy["pedestrian"].skeleton
    boxed = project.add_track("pedestrian")
    project.set_state(boxed.id, FRAME, box(*PERSON_BOX))
    workspace.refresh()
    workspace.select_track(boxed.id)
    workspace.skeleton_tool.place_in_box()  # the button "Skeleton in the selected box"
    person = max(track.id for track in project.tracks())
    fitted = project.state(person, FRAME).geometry
    points, visibility = fitted.points.copy(), fitted.visibility.copy()
    points[skeleton.index("right_wrist")] += [-6, -14]  # the arm raised, as the point was dragged
    visibility[skeleton.index("left_wrist")] = OCCLUDED
    points[skeleton.index("right_ear")], visibility[skeleton.index("right_ear")] = np.nan, ABSENT
    project.set_state(person, FRAME, make_skeleton(points, visibility))
    with project.group("drop the box the template was placed in"):
        project.delete_state(boxed.id, FRAME)
    workspace.refresh()
    second = template_in_box(skeleton, SECOND_BOX)
    workspace.choose_class("pedestrian", "skeleton")
    tool = workspace.skeleton_tool
    for xy in second.points[:PLACED_OF_SECOND]:
        tool.layer.add(np.array([xy[::-1]]))  # the annotator's clicks, in napari's (row, col)
    show_tab(session, "Label", PANEL_WIDTH)
    show_in_panel(session, session.widget.panel.skeleton_next)
    look_at(session.viewer, (152, 108), zoom=2.6)
    shoot(session, "13-skeletons")
    tool.stop()


def relations(session: Session) -> None:
    workspace = session.workspace
    workspace.choose_class("traffic-light")
    for source, target in ((LIGHT, LANE_LEFT_OF_EGO), (SPEED_SIGN, LANE_RIGHT_OF_EGO)):
        workspace.select_track(source)
        workspace.relating.mark_source()  # Alt-M
        workspace.select_track(target)
        workspace.relating.relate("governs")  # Alt-L
    workspace.select_track(LIGHT)
    show_in_panel(session, session.widget.panel.relations)
    scroll = session.widget._label_scroll
    relations = session.widget.panel.relations
    bottom = relations.mapTo(scroll.widget(), relations.rect().bottomLeft()).y()
    scroll.verticalScrollBar().setValue(bottom - scroll.viewport().height() + 8)  # the list and its buttons
    look_at(session.viewer, (170, 400), zoom=1.6)
    shoot(session, "14-relations")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "images", help="folder for the PNGs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        session = open_demo(Path(temporary), args.out)
        skeletons(session)
        relations(session)
        session.viewer.close()
    for path in session.shots:
        print(f"{path}  {path.stat().st_size // 1000} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
