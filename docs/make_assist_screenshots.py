"""Screenshots of the Assist tab for docs/assist.md: assistants suggest on the sample clip, a person checks.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_assist_screenshots.py [--out docs/images]

The sample's ground truth is opened as a demo project, and the traffic light's state after frame
``LABELED_UNTIL`` is taken back, as if not labeled yet (its box stays, interpolated, its state unknown).
Then, from the Assist tab, as a person would:

* assist-run.png: ``light-state`` trained on the states a person set and run on the whole sequence; the tab
  shows its validated accuracy, the strip of frames with suggestions and this frame's suggestions; the light
  on the canvas carries its suggested state and confidence.
* assist-mask.png: click to mask: a box around the stop sign and one click on it, the mask previewed.
* assist-check.png: the mask made, and ``mask-carry`` run on the next frames: a carried mask drawn dotted
  with its confidence, the light selected in the Label tab with its suggested state in the object list, in
  its attributes and as the timeline's "assist" row.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from make_screenshots import DOCS, look_at, new_viewer, settle, shoot, show_tab

from napari_roadlabel._napari.demo import PANEL, PLUGIN, prepare_demo_project
from napari_roadlabel.core import Project, Source

ASSIST_WIDTH = 560
LABELED_UNTIL = 30  # the light's states a person set: frames 0-30 (it turns green at 37)
LIGHT_FRAME = 50  # picture 1: the light green, suggested
MASK_FRAME = 52  # picture 2: the stop sign masked here
CARRIED = 10  # picture 3: the mask carried this many frames on,
CHECK_FRAME = MASK_FRAME + 6  # and looked at here
LIGHT_ZOOM, MASK_ZOOM, CHECK_ZOOM = 1.6, 9.0, 2.0
TEXT_ROOM = 35  # px the third picture looks right of the middle: the light's suggestion is written there


class Shots:
    """What shoot() needs (the same window size and PNG rules as the guide's)."""

    def __init__(self, viewer, dock, widget, out: Path):
        self.viewer, self.dock, self.widget, self.out, self.shots = viewer, dock, widget, out, []


def take_back_light_states(folder: Path) -> tuple[int, int]:
    """Unlabel the light's state after LABELED_UNTIL; the light's and the stop sign's track ids."""
    with Project.open(folder) as project:
        light = project.tracks("traffic-light")[0].id
        stop = next(track.id for track in project.tracks("traffic-sign") if track.attributes.get("type") == "stop")
        with project.group("take labels back"):
            for state in project.states_of(light):
                if state.frame > LABELED_UNTIL:
                    project.set_state(light, state.frame, state.geometry, {"state": "unknown"},
                                      source=Source.INTERPOLATED)
    return light, stop


def run_assistant(session: Shots, name: str, scope: str, first: int = 0, last: int = 0) -> None:
    panel = session.widget.assist_panel
    panel.assistant.value, panel.scope.value = name, scope
    panel.first.value, panel.last.value = first, last
    panel.run_button.clicked.emit()
    while panel.assist.running or not panel.run_button.enabled:
        settle()


def center(project: Project, track_id: int, frame: int) -> tuple[float, float]:
    x0, y0, x1, y1 = project.state(track_id, frame).geometry.bounds()
    return (y0 + y1) / 2, (x0 + x1) / 2


def light_suggested(session: Shots, light: int) -> None:
    """Picture 1: light-state's run, its validation, the light's suggested state on the canvas."""
    workspace = session.widget.workspace
    run_assistant(session, "light-state", "whole sequence")
    workspace.go_to(LIGHT_FRAME)
    show_tab(session, "Assist", ASSIST_WIDTH)
    look_at(session.viewer, center(workspace.project, light, LIGHT_FRAME), LIGHT_ZOOM)
    shoot(session, "assist-run")


def click_to_mask(session: Shots, stop: int) -> int:
    """Picture 2: a box around the stop sign, a click on it, the mask previewed; then made (its track id)."""
    workspace, tool = session.widget.workspace, session.widget.workspace.mask_tool
    controls = session.widget.assist_panel.masks
    controls.class_box.value = "custom"  # a sign's class takes no masks
    workspace.go_to(MASK_FRAME)
    workspace.select_track(None)
    x0, y0, x1, y1 = workspace.project.state(stop, MASK_FRAME).geometry.bounds()
    pad = 0.4 * max(x1 - x0, y1 - y0)
    tool.start("box and clicks")
    tool.box_layer.add_rectangles([[y0 - pad, x0 - pad], [y1 + pad, x1 + pad]])
    tool.clicks_layer.add([[(y0 + y1) / 2, (x0 + x1) / 2]])
    signs = workspace.layer_named("Signs")
    signs.visible = False  # the sign's own box would hide the mask's edge
    show_tab(session, "Assist", ASSIST_WIDTH)
    session.widget._assist_scroll.ensureWidgetVisible(session.widget.assist_panel.masks.native, 0, 40)
    look_at(session.viewer, center(workspace.project, stop, MASK_FRAME), MASK_ZOOM)
    shoot(session, "assist-mask")
    signs.visible = True
    controls.make.clicked.emit()
    return workspace.project.tracks("custom")[0].id


def carried_and_checked(session: Shots, light: int, mask: int) -> None:
    """Picture 3: the mask carried (dotted, with its confidence); the light's suggestion in the Label tab."""
    workspace = session.widget.workspace
    run_assistant(session, "mask-carry", "frame range", MASK_FRAME, MASK_FRAME + CARRIED)
    workspace.go_to(CHECK_FRAME)
    workspace.select_track(light)
    show_tab(session, "Label", ASSIST_WIDTH)
    session.widget._label_scroll.ensureWidgetVisible(session.widget.panel.timeline.text, 0, 40)
    light_y, light_x = center(workspace.project, light, CHECK_FRAME)
    mask_y, mask_x = center(workspace.project, mask, CHECK_FRAME)
    look_at(session.viewer, ((light_y + mask_y) / 2, (light_x + mask_x) / 2 + TEXT_ROOM), CHECK_ZOOM)
    shoot(session, "assist-check")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "images", help="folder for the PNGs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = prepare_demo_project(Path(scratch))
        light, stop = take_back_light_states(folder)
        viewer = new_viewer()
        dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, PANEL)
        widget.open_project(folder)
        session = Shots(viewer, dock, widget, args.out)
        light_suggested(session, light)
        mask = click_to_mask(session, stop)
        carried_and_checked(session, light, mask)
        viewer.close()
    for path in session.shots:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
