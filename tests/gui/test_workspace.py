"""The workspace in a real viewer (run under Xvfb): layers per element, stepping, reader, writer, sample."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_roadlabel._napari.style import LIGHT_COLORS, hex_to_rgba
from napari_roadlabel._napari.widget import RoadLabelWidget, project_folder_for
from napari_roadlabel.core import Project, make_geometry
from napari_roadlabel.io.formats.geojson import export_geojson
from napari_roadlabel.io.projects import create_project


def test_each_element_has_its_own_layer_in_napari_order(widget):
    workspace, viewer = widget.workspace, widget.viewer
    assert workspace.image_layer.data.shape == (12, 90, 160, 3)
    assert [layer.name for layer in viewer.layers] == ["clip.roadlabel"]  # frame 0 has nothing: no layers yet
    viewer.dims.set_current_step(0, 2)
    assert [layer.name for layer in viewer.layers] == ["clip.roadlabel", "Lane curves", "Lanes", "Traffic lights",
                                                      "Sign points"]
    lanes, lights, signs = (workspace.display.content(workspace.layer_named(name))  # live or drawn by the overlay
                            for name in ("Lanes", "Traffic lights", "Sign points"))
    np.testing.assert_allclose(lanes.data.data[0], [[80, 10], [40, 60], [20, 90]])  # (y, x) in napari
    assert lanes.data.shape_types == ["path"] and lights.data.shape_types == ["rectangle"]
    np.testing.assert_allclose(lights.data.data[0].min(axis=0), [5, 100])
    assert list(lights.table["label"]) == ["light red"]
    np.testing.assert_allclose(lights.data.edge_colors[0], hex_to_rgba(LIGHT_COLORS["red"]))  # the box shows the state
    np.testing.assert_allclose(signs.data.data, [[20, 140]])
    assert list(signs.table["label"]) == ["speed-limit 65"]
    assert "Frame 2: 1 lane-line, 1 traffic-light, 1 traffic-sign" in widget._frame_summary.text()


def test_stepping_swaps_the_layer_contents(widget):
    viewer, workspace = widget.viewer, widget.workspace
    seen = {}
    for frame in range(12):
        viewer.dims.set_current_step(0, frame)
        seen[frame] = {layer.name: list(workspace.display.content(layer).table["label"])
                       for layer in workspace.layers.values()}
    assert seen[2] == {"Lanes": [""], "Traffic lights": ["light red"], "Sign points": ["speed-limit 65"]}
    assert seen[5] == {"Lanes": [], "Traffic lights": ["light green"], "Sign points": []}
    assert all(not any(seen[frame].values()) for frame in (0, 1, 3, 4, 6, 11))


def test_the_ghost_shows_the_previous_frame_faintly(widget):
    workspace = widget.workspace
    workspace.show_ghost = True
    workspace.go_to(3)
    assert [layer.name for layer in widget.viewer.layers][:2] == ["clip.roadlabel", "Previous frame"]
    ghost = workspace.ghost_layer
    assert not workspace.display.is_live(ghost)  # never the edited layer: the frame overlay draws it
    assert sorted(workspace.display.content(ghost).data.shape_types) == ["path", "rectangle"]  # frame 2's lane, light
    workspace.go_to(4)
    assert len(workspace.display.content(ghost)) == 0
    workspace.show_ghost = False
    assert "Previous frame" not in [layer.name for layer in widget.viewer.layers]


def test_opening_a_video_creates_its_project_beside_it(make_napari_viewer, small_video):
    viewer = make_napari_viewer()
    widget = RoadLabelWidget(viewer)
    folder = widget.open_source(small_video)
    assert folder == project_folder_for(small_video) and (folder / "project.json").is_file()
    assert widget.workspace.project.sequence.frame_count == 12
    widget.open_source(small_video)  # the second time, the same project opens again
    assert len(viewer.layers) == 1


def test_reader_opens_a_project_and_the_panel_adopts_it(make_napari_viewer, labeled_project, qtbot):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-roadlabel", "Road labeling")
    viewer.open(str(labeled_project), plugin="napari-roadlabel")
    qtbot.waitUntil(lambda: widget.workspace is not None)
    assert widget.workspace is not None and widget.workspace.project.folder == labeled_project
    assert [layer.name for layer in viewer.layers] == ["clip.roadlabel"]


def test_a_video_opened_with_file_open_gets_its_project_when_the_panel_is_docked(make_napari_viewer, small_video,
                                                                                qtbot):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-roadlabel", "Road labeling")
    viewer.open(str(small_video), plugin="napari-roadlabel")
    qtbot.waitUntil(lambda: widget.workspace is not None)
    assert widget.workspace.project.folder == project_folder_for(small_video)
    assert [layer.name for layer in viewer.layers] == ["clip.roadlabel"]


def test_reader_and_writer_round_trip_geojson(make_napari_viewer, labeled_project, tmp_path):
    with Project.open(labeled_project) as project:
        export_geojson(project, tmp_path / "labels.geojson")
    viewer = make_napari_viewer()
    layers = viewer.open(str(tmp_path / "labels.geojson"), plugin="napari-roadlabel")
    assert [layer.name for layer in layers] == ["Lanes", "Traffic lights", "Sign points"]
    np.testing.assert_allclose(layers[0].data[0], [[2, 80, 10], [2, 40, 60], [2, 20, 90]])  # (frame, y, x)
    written = tmp_path / "written.geojson"
    viewer.layers.save(str(written), plugin="napari-roadlabel")
    with Project.open(labeled_project) as project, create_project(tmp_path / "copy", labeled_project.parent /
                                                                  "clip.mp4") as copy:
        from napari_roadlabel.io.formats.geojson import import_geojson

        import_geojson(copy, written)
        original = [(o.track.class_name, o.state.frame, o.state.geometry, o.attributes)
                    for o in project.store.iter_objects()]
        again = [(o.track.class_name, o.state.frame, o.state.geometry, o.attributes)
                 for o in copy.store.iter_objects()]
        assert again == original


def test_sample_data_loads(make_napari_viewer):
    viewer = make_napari_viewer()
    layers = viewer.open_sample("napari-roadlabel", "road_clip")
    image = layers[0]
    assert image.rgb and image.data.shape[0] >= 30
    lanes = next(layer for layer in layers if layer.name == "Lanes")
    assert set(lanes.features["class"]) <= {"lane-line", "stop-line"}
    lane_frames = lanes.features["frame"][lanes.features["class"] == "lane-line"]
    assert set(lane_frames) == set(range(image.data.shape[0]))  # lane lines on every frame


def test_bad_project_is_reported_not_crashing(make_napari_viewer, tmp_path, labeled_project):
    viewer = make_napari_viewer()
    widget = RoadLabelWidget(viewer)
    (labeled_project.parent / "clip.mp4").unlink()
    from napari_roadlabel.core import RoadlabelError

    with pytest.raises(RoadlabelError, match="clip.mp4"):
        widget.open_project(labeled_project)
    assert widget.workspace is None and len(viewer.layers) == 0


def test_the_writer_keeps_keypoints_as_one_object(make_napari_viewer, labeled_project, tmp_path):
    with Project.open(labeled_project) as project:
        walker = project.add_track("pedestrian")
        project.set_state(walker.id, 4, make_geometry("keypoints", [[10, 20], [12, 40], [14, 60]]))
        export_geojson(project, tmp_path / "labels.geojson")
    viewer = make_napari_viewer()
    viewer.open(str(tmp_path / "labels.geojson"), plugin="napari-roadlabel")
    written = tmp_path / "written.geojson"
    viewer.layers.save(str(written), plugin="napari-roadlabel")
    features = json.loads(written.read_text())["features"]
    [pedestrian] = [f for f in features if f["properties"]["class"] == "pedestrian"]
    assert pedestrian["geometry"] == {"type": "MultiPoint", "coordinates": [[10, 20], [12, 40], [14, 60]]}


def test_a_project_open_in_the_panel_is_not_written_by_another_process(widget, labeled_project, tmp_path):
    with Project.open(labeled_project) as project:  # reading: no lock
        export_geojson(project, tmp_path / "lanes.geojson")
    command = [sys.executable, "-m", "napari_roadlabel.cli", "import", str(labeled_project),
               str(tmp_path / "lanes.geojson"), "--format", "geojson"]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    refused = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)
    assert refused.returncode == 1
    assert f"project is busy: another roadlabel process (pid {os.getpid()}) is writing" in refused.stderr
    widget.close_workspace()
    imported = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)
    assert imported.returncode == 0, imported.stderr
