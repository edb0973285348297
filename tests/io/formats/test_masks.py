"""Mask export: semantic and instance PNGs per frame, the class map, the drawing order and the mapping report."""

import json

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import GeometryError, Project, RoadlabelError, box, make_geometry, make_mask
from napari_roadlabel.core.lanes import fit_lane
from napari_roadlabel.io.formats.masks import TAG_NOT_DRAWN, box_pixels, export_masks, stroke_pixels
from napari_roadlabel.io.formats.report import report_path
from napari_roadlabel.io.projects import create_project

LANE = [[40, 89], [40, 45], [40, 10]]  # x, y on the 160x90 clip: straight down column 40
CROSSWALK = [[20, 40], [70, 40], [70, 80], [20, 80]]  # rows 40..79, columns 20..69
VEHICLE = np.ones((10, 20), bool)  # at x 120, y 60: rows 60..69, columns 120..139
VEHICLE[4:6, 5:8] = False


@pytest.fixture
def scene_project(tmp_path, small_video):
    """clip.mp4 with, on frame 1, a lane over a crosswalk, a traffic light, a vehicle mask and a sign as a point;
    the light is on frames 0..11 and the whole clip is tagged as a scene."""
    with create_project(tmp_path / "p", small_video) as project:
        ids = {}
        for name, cls in (("crosswalk", "crosswalk"), ("lane", "lane-line"), ("light", "traffic-light"),
                          ("vehicle", "vehicle"), ("sign", "traffic-sign")):
            ids[name] = project.add_track(cls).id
        project.set_state(ids["crosswalk"], 1, make_geometry("polygon", CROSSWALK))
        project.set_state(ids["lane"], 1, make_geometry("polyline", LANE))
        for frame in range(12):
            project.set_state(ids["light"], frame, box(100, 5, 110, 30), {"state": "red"})
        project.set_state(ids["vehicle"], 1, make_mask(VEHICLE, (120, 60)))
        project.set_state(ids["sign"], 1, make_geometry("point", [150, 10]))
        project.add_tag("scene", 0, 11)
    return tmp_path / "p", ids


def _read(folder, layer, frame):
    return cv2.imread(str(folder / layer / "clip" / f"{frame:06d}.png"), cv2.IMREAD_UNCHANGED)


def _classes(folder):
    return json.loads((folder / "classes.json").read_text())


def test_every_frame_gets_a_semantic_and_an_instance_png_of_the_frame_size(scene_project, tmp_path):
    path, _ = scene_project
    with Project.open(path) as project:
        report = export_masks(project, tmp_path / "m")
    assert report.frames == 12
    assert sorted(p.name for p in (tmp_path / "m" / "semantic" / "clip").iterdir()) == [
        f"{frame:06d}.png" for frame in range(12)]
    for frame in (0, 1, 11):
        semantic, instance = _read(tmp_path / "m", "semantic", frame), _read(tmp_path / "m", "instance", frame)
        assert semantic.shape == instance.shape == (90, 160)
        assert semantic.dtype == np.uint8 and instance.dtype == np.uint16


def test_lane_pixels_carry_its_class_and_track_id_at_the_lane_width(scene_project, tmp_path):
    path, ids = scene_project
    with Project.open(path) as project:
        export_masks(project, tmp_path / "m", frames=range(1, 2), lane_width=8)
    semantic, instance = _read(tmp_path / "m", "semantic", 1), _read(tmp_path / "m", "instance", 1)
    lane_id = _classes(tmp_path / "m")["classes"]["lane-line"]
    for row in (15, 30, 85):  # outside the crosswalk: 8 pixels across, centred on x = 40
        assert np.flatnonzero(semantic[row] == lane_id).tolist() == list(range(36, 44))
        assert np.flatnonzero(instance[row] == ids["lane"]).tolist() == list(range(36, 44))


def test_a_curved_lane_is_drawn_along_its_fitted_curve(tmp_path, small_video):
    points = [[20, 89], [60, 50], [120, 20]]
    with create_project(tmp_path / "p", small_video) as project:
        track = project.add_track("lane-line")
        project.set_state(track.id, 0, make_geometry("polyline", points))
        export_masks(project, tmp_path / "m", frames=range(0, 1), lane_width=2)
    instance = _read(tmp_path / "m", "instance", 0)
    curve = fit_lane(points)
    rows = np.arange(25, 85, 5)
    xs = curve.sample_rows(rows)
    assert all(instance[row, int(round(x))] == track.id for row, x in zip(rows, xs, strict=True))
    assert (instance == track.id).sum() == pytest.approx(2 * curve.length, rel=0.1)  # 2 px wide, no more


def test_areas_boxes_and_masks_are_filled_and_lines_win_over_areas(scene_project, tmp_path):
    path, ids = scene_project
    with Project.open(path) as project:
        export_masks(project, tmp_path / "m", frames=range(1, 2))
    semantic, instance = _read(tmp_path / "m", "semantic", 1), _read(tmp_path / "m", "instance", 1)
    classes = _classes(tmp_path / "m")["classes"]
    crosswalk = np.zeros((90, 160), bool)
    crosswalk[40:80, 20:70] = True
    crosswalk[:, 36:44] = False  # the lane crosses it
    assert (semantic[crosswalk] == classes["crosswalk"]).all() and (instance[crosswalk] == ids["crosswalk"]).all()
    assert (semantic[40:80, 36:44] == classes["lane-line"]).all()  # the lane wins where it crosses
    assert (semantic[[39, 80], 20:36] == 0).all() and (semantic[[39, 80], 44:70] == 0).all()  # edges: out
    assert (semantic[40:80, 19] == 0).all() and (semantic[40:80, 70] == 0).all()
    light = instance == ids["light"]
    assert np.argwhere(light).min(axis=0).tolist() == [5, 100] and np.argwhere(light).max(axis=0).tolist() == [29, 109]
    assert light.sum() == 25 * 10 and (semantic[light] == classes["traffic-light"]).all()
    assert np.array_equal(instance[60:70, 120:140] == ids["vehicle"], VEHICLE)
    assert (instance == ids["vehicle"]).sum() == VEHICLE.sum()


def test_classes_json_maps_every_drawable_class_in_taxonomy_order_and_matches_the_pixels(scene_project, tmp_path):
    path, ids = scene_project
    with Project.open(path) as project:
        export_masks(project, tmp_path / "m", frames=range(1, 2), lane_width=6)
        taxonomy = [spec.name for spec in project.taxonomy]
        track_class = {track.id: track.class_name for track in project.tracks()}
    info = _classes(tmp_path / "m")
    classes = info["classes"]
    assert list(classes) == ["background"] + [name for name in taxonomy if name in classes]
    assert list(classes.values()) == list(range(len(classes)))
    assert info["not_drawn"] == ["school-zone-active", "scene"]
    assert set(classes) | set(info["not_drawn"]) == set(taxonomy) | {"background"}
    assert info["lane_width"] == 6
    assert [layer["layer"] for layer in info["drawing_order"]] == ["areas", "boxes", "lines"]
    semantic, instance = _read(tmp_path / "m", "semantic", 1), _read(tmp_path / "m", "instance", 1)
    assert set(np.unique(semantic)) == {0} | {classes[name] for name in ("lane-line", "crosswalk", "traffic-light",
                                                                         "vehicle")}
    for track_id in np.unique(instance):  # semantic and instance agree pixel by pixel
        expected = 0 if track_id == 0 else classes[track_class[int(track_id)]]
        assert (semantic[instance == track_id] == expected).all()


def test_points_and_tags_are_reported_not_drawn(scene_project, tmp_path):
    path, ids = scene_project
    with Project.open(path) as project:
        report = export_masks(project, tmp_path / "m", frames=range(0, 4))
    mapping = json.loads(report_path(tmp_path / "m").read_text())
    assert mapping["format"] == "masks" and mapping["frames"] == 4
    assert mapping["written"] == {"traffic-light": 4, "crosswalk": 1, "lane-line": 1, "vehicle": 1}
    assert mapping["dropped"] == {"traffic-sign": {"points are not drawn in masks": 1}, "scene": {TAG_NOT_DRAWN: 4}}
    assert report.attributes_not_carried["traffic-light"]["state"] == 4
    assert not (_read(tmp_path / "m", "instance", 1) == ids["sign"]).any()
    assert not (_read(tmp_path / "m", "semantic", 1) == _classes(tmp_path / "m")["classes"]["traffic-sign"]).any()


def test_within_a_layer_the_smaller_shape_is_drawn_over_the_larger(project, tmp_path):
    crosswalk = project.add_track("crosswalk")  # the lower id: drawn first were the order by id
    zone = project.add_track("school-zone")
    lane, stop = project.add_track("lane-line"), project.add_track("stop-line")
    project.set_state(crosswalk.id, 0, make_geometry("polygon", [[200, 200], [300, 200], [300, 250], [200, 250]]))
    project.set_state(zone.id, 0, make_geometry("polygon", [[100, 150], [500, 150], [500, 350], [100, 350]]))
    project.set_state(lane.id, 0, make_geometry("polyline", [[250, 359], [250, 100]]))
    project.set_state(stop.id, 0, make_geometry("polyline", [[200, 180], [300, 180]]))
    export_masks(project, tmp_path / "m", frames=range(0, 1))
    instance = _read(tmp_path / "m", "instance", 0)
    assert instance[225, 220] == crosswalk.id and instance[300, 150] == zone.id
    assert instance[180, 250] == stop.id and instance[120, 250] == lane.id and instance[225, 250] == lane.id


def test_boxes_sharing_an_edge_and_lines_on_any_position_take_their_exact_size():
    left, right = box(10.3, 2, 20.7, 8), box(20.7, 2, 30, 8)
    left_rows, left_cols = box_pixels(left.points, (20, 40))
    right_rows, right_cols = box_pixels(right.points, (20, 40))
    assert sorted(set(left_cols)) == list(range(11, 21)) and sorted(set(right_cols)) == list(range(21, 30))
    assert sorted(set(left_rows)) == list(range(2, 8))
    for x in (10.0, 10.25, 10.5, 10.75):
        for width in (1, 2, 3, 8):
            image = np.zeros((20, 40), bool)
            image[stroke_pixels(np.array([[x, 0.0], [x, 19.0]]), width, (20, 40))] = True
            assert image[10].sum() == width, (x, width)


def test_frames_and_every_choose_the_frames(scene_project, tmp_path):
    path, _ = scene_project
    with Project.open(path) as project:
        report = export_masks(project, tmp_path / "m", frames=range(1, 8), every=3)
    assert report.frames == 3
    for layer in ("semantic", "instance"):
        assert sorted(p.name for p in (tmp_path / "m" / layer / "clip").iterdir()) == [
            "000001.png", "000004.png", "000007.png"]


def test_an_existing_folder_is_refused_unless_overwriting(scene_project, tmp_path, fingerprint):
    path, _ = scene_project
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "mine.txt").write_text("mine")
    with Project.open(path) as project:
        with pytest.raises(RoadlabelError, match="already exists"):
            export_masks(project, tmp_path / "m")
        assert fingerprint(tmp_path / "m") == {"mine.txt": fingerprint(tmp_path / "m")["mine.txt"]}
        export_masks(project, tmp_path / "m", frames=range(0, 2), overwrite=True)
    assert not (tmp_path / "m" / "mine.txt").exists() and (tmp_path / "m" / "classes.json").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".m.")] == []  # no staging folder left


def test_bad_lane_width_and_track_ids_past_16_bits_are_refused_leaving_nothing(project, tmp_path):
    track = project.add_track("traffic-light", track_id=70000)
    project.set_state(track.id, 0, box(1, 1, 5, 5))
    for width in (0, 2.5, True):
        with pytest.raises(GeometryError, match="lane width"):
            export_masks(project, tmp_path / "m", lane_width=width)
    with pytest.raises(RoadlabelError, match="track 70000 does not fit a 16-bit"):
        export_masks(project, tmp_path / "m", frames=range(0, 2))
    assert not (tmp_path / "m").exists() and list(tmp_path.glob(".m.*")) == []  # nor a staging folder
