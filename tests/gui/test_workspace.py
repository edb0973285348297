"""The napari shell with a real viewer (run under Xvfb)."""

import numpy as np
import pytest

from napari_roadlabel._napari.widget import RoadLabelWidget, project_folder_for
from napari_roadlabel.core import Project, box, make_geometry
from napari_roadlabel.io.formats.geojson import export_geojson
from napari_roadlabel.io.projects import create_project


@pytest.fixture
def labeled_project(tmp_path, small_video):
    folder = tmp_path / "clip.roadlabel"
    with create_project(folder, small_video) as project:
        lane = project.add_track("lane-line")
        light = project.add_track("traffic-light")
        sign = project.add_track("traffic-sign", {"type": "speed-limit", "value": 65})
        project.set_state(lane.id, 2, make_geometry("polyline", [[10, 80], [60, 40], [90, 20]]))
        project.set_state(light.id, 2, box(100, 5, 110, 30), {"state": "red"})
        project.set_state(sign.id, 2, make_geometry("point", [140, 20]))
        project.set_state(light.id, 5, box(101, 6, 112, 32), {"state": "green"})
    return folder


def test_widget_shows_the_current_frame_in_napari_order(make_napari_viewer, labeled_project):
    viewer = make_napari_viewer()
    widget = RoadLabelWidget(viewer)
    widget.open_project(labeled_project)
    workspace = widget.workspace
    assert workspace.image_layer.data.shape == (12, 90, 160, 3)
    assert len(workspace.shapes_layer.data) == 0  # frame 0 has nothing
    viewer.dims.set_current_step(0, 2)
    shapes = workspace.shapes_layer
    assert shapes.shape_type == ["path", "rectangle"]
    np.testing.assert_allclose(shapes.data[0], [[80, 10], [40, 60], [20, 90]])  # (y, x) in napari
    np.testing.assert_allclose(shapes.data[1].min(axis=0), [5, 100])
    assert list(shapes.features["class"]) == ["lane-line", "traffic-light"]
    assert list(shapes.features["label"]) == ["lane-line 1", "light red"]
    np.testing.assert_allclose(workspace.points_layer.data, [[20, 140]])
    assert list(workspace.points_layer.features["label"]) == ["speed-limit 65"]
    assert "Frame 2: 1 lane-line, 1 traffic-light, 1 traffic-sign" in widget._frame_summary.text()


def test_stepping_swaps_the_layer_contents(make_napari_viewer, labeled_project):
    viewer = make_napari_viewer()
    widget = RoadLabelWidget(viewer)
    widget.open_project(labeled_project)
    seen = {}
    for frame in range(12):
        viewer.dims.set_current_step(0, frame)
        seen[frame] = list(widget.workspace.shapes_layer.features["label"])
    assert seen[2] == ["lane-line 1", "light red"]
    assert seen[5] == ["light green"]
    assert all(seen[frame] == [] for frame in (0, 1, 3, 4, 6, 11))


def test_opening_a_video_creates_its_project_beside_it(make_napari_viewer, small_video):
    viewer = make_napari_viewer()
    widget = RoadLabelWidget(viewer)
    folder = widget.open_source(small_video)
    assert folder == project_folder_for(small_video) and (folder / "project.json").is_file()
    assert widget.workspace.project.sequence.frame_count == 12
    widget.open_source(small_video)  # the second time, the same project opens again
    assert len(viewer.layers) == 3


def test_reader_opens_a_project_and_the_panel_adopts_it(make_napari_viewer, labeled_project, qtbot):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-roadlabel", "Road labeling")
    viewer.open(str(labeled_project), plugin="napari-roadlabel")
    qtbot.waitUntil(lambda: widget.workspace is not None)
    assert widget.workspace is not None and widget.workspace.project.folder == labeled_project
    assert [layer.name for layer in viewer.layers] == ["clip.roadlabel", "Annotations", "Points"]


def test_reader_and_writer_round_trip_geojson(make_napari_viewer, labeled_project, tmp_path):
    with Project.open(labeled_project) as project:
        export_geojson(project, tmp_path / "labels.geojson")
    viewer = make_napari_viewer()
    layers = viewer.open(str(tmp_path / "labels.geojson"), plugin="napari-roadlabel")
    assert [layer.name for layer in layers] == ["labels shapes", "labels points"]
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
    lanes = [label for label in layers[1].features["class"] if label == "lane-line"]
    assert len(lanes) >= image.data.shape[0]  # lane lines on every frame


def test_bad_project_is_reported_not_crashing(make_napari_viewer, tmp_path, labeled_project):
    viewer = make_napari_viewer()
    widget = RoadLabelWidget(viewer)
    (labeled_project.parent / "clip.mp4").unlink()
    from napari_roadlabel.core import RoadlabelError

    with pytest.raises(RoadlabelError, match="clip.mp4"):
        widget.open_project(labeled_project)
    assert widget.workspace is None and len(viewer.layers) == 0
