"""`roadlabel demo`: napari on the sample clip, with the Road labeling panel docked."""

from __future__ import annotations

from pathlib import Path

from ..io.formats.geojson import export_geojson, import_geojson
from ..io.projects import create_project
from .sample_data import sample_files

PLUGIN = "napari-roadlabel"
PANEL = "Road labeling"


def prepare_demo_project(out: Path) -> Path:
    """The demo project (sample clip plus its ground truth); made once, then reopened with your edits."""
    folder = out / "project"
    if not folder.exists():
        video, truth = sample_files()
        with create_project(folder, video, annotator="demo") as project:
            import_geojson(project, truth)
    return folder


def run_demo(out: Path, *, headless: bool = False) -> int:
    import napari

    folder = prepare_demo_project(out)
    viewer = napari.Viewer(title="napari-roadlabel demo")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, PANEL)
    widget.open_project(folder)
    viewer.reset_view()
    if not headless:
        print(f"Opened {folder} in napari; edits are saved in the project as you make them.")
        napari.run()
        return 0
    _show_a_traffic_light(widget.workspace)
    screenshot = out / "screenshot.png"
    exported = out / "annotations.geojson"
    viewer.window._qt_window.resize(1400, 850)  # a readable size for the picture
    napari.qt.get_qapp().processEvents()
    viewer.reset_view()
    viewer.screenshot(path=str(screenshot), canvas_only=False)
    count = export_geojson(widget.workspace.project, exported, overwrite=True)
    viewer.close()
    print(f"demo project:  {folder.resolve()}")
    print(f"screenshot:    {screenshot.resolve()}")
    print(f"annotations:   {exported.resolve()} ({count} features)")
    return 0


def _show_a_traffic_light(workspace) -> None:
    """For the picture: a frame part-way in, with the traffic light selected (its attributes and timeline)."""
    lights = workspace.project.tracks("traffic-light")
    if lights:
        states = workspace.project.states_of(lights[0].id)
        workspace.go_to(states[len(states) // 2].frame)
        workspace.select_track(lights[0].id)
