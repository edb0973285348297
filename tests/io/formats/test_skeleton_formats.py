"""Skeletons through the formats: GeoJSON and COCO keypoints round trips, pycocotools reading the export.

CVAT skeleton tracks are tested in test_cvat.py."""

import json

import numpy as np
import pytest

from napari_roadlabel.core import FormatError, Project, SequenceInfo, Source, box, make_skeleton
from napari_roadlabel.core.geometry import ABSENT, OCCLUDED, VISIBLE
from napari_roadlabel.io.formats.coco import export_coco, import_coco
from napari_roadlabel.io.formats.geojson import export_geojson, import_geojson
from napari_roadlabel.io.formats.registry import EXPORTERS, SUFFIXES
from napari_roadlabel.io.projects import create_project

SEQUENCE = SequenceInfo("clip.mp4", 100, 640, 360, 30.0)
# A pedestrian's 17 COCO points (x, y), 30 px wide and 60 px tall, and a cyclist's 21 (body, then bicycle).
PERSON = np.array([[15, 0], [12, 2], [18, 2], [9, 3], [21, 3], [5, 12], [25, 12], [3, 24], [27, 24], [2, 34],
                   [28, 34], [9, 34], [21, 34], [9, 47], [21, 47], [9, 60], [21, 60]], dtype=float)
BICYCLE = np.array([[30, 30], [5, 36], [40, 60], [-10, 60]], dtype=float)


def _skeleton(points, offset, absent=(), occluded=()):
    points = np.array(points, dtype=float) + offset
    visibility = np.full(len(points), VISIBLE)
    visibility[list(occluded)] = OCCLUDED
    visibility[list(absent)] = ABSENT
    points[visibility == ABSENT] = np.nan
    return make_skeleton(points, visibility)


def _fill(project: Project) -> None:
    """Two pedestrians over frames (absent and occluded points, fractional coordinates), a cyclist and a car."""
    walker = project.add_track("pedestrian")
    for frame in range(3):
        project.set_state(walker.id, frame, _skeleton(PERSON, (100.25 + 2 * frame, 50 + 1 / 3), absent=[3, 4],
                                                      occluded=[9]), {"occluded": frame == 1})
    project.set_state(walker.id, 3, _skeleton(PERSON, (106.5, 50.5)), source=Source.PROPAGATED, confidence=0.5)
    other = project.add_track("pedestrian")
    project.set_state(other.id, 1, _skeleton(PERSON, (300, 200), absent=range(10, 17)))
    rider = project.add_track("cyclist")
    project.set_state(rider.id, 2, _skeleton(np.vstack([PERSON, BICYCLE]), (450, 100), occluded=[18]))
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, box(10, 20, 90, 80))


def _content(project: Project) -> list:
    return [(o.track, o.state.frame, o.state.geometry, dict(o.state.attributes), o.state.source,
             o.state.confidence) for o in project.store.iter_objects()]


@pytest.fixture
def labeled(tmp_path) -> Project:
    with Project.create(tmp_path / "labeled", SEQUENCE) as project:
        _fill(project)
        yield project


@pytest.fixture
def empty(tmp_path) -> Project:
    with Project.create(tmp_path / "empty", SEQUENCE) as project:
        yield project


# ------------------------------------------------------------------ GeoJSON


def test_geojson_round_trips_skeletons_exactly(labeled, empty, tmp_path):
    out = tmp_path / "labels.geojson"
    export_geojson(labeled, out)
    report = import_geojson(empty, out)
    assert _content(empty) == _content(labeled)
    assert (report.clipped, report.skipped) == ({}, {})


def test_geojson_writes_names_visibility_and_null_for_absent_points(labeled, tmp_path):
    out = tmp_path / "labels.geojson"
    export_geojson(labeled, out)
    features = json.loads(out.read_text())["features"]
    walker = next(f for f in features if f["properties"]["class"] == "pedestrian")
    assert walker["geometry"]["type"] == "MultiPoint"
    coordinates = walker["geometry"]["coordinates"]
    assert coordinates[3] is None and coordinates[4] is None and coordinates[0] == [115.25, 50 + 1 / 3]
    skeleton = walker["properties"]["skeleton"]
    assert skeleton["points"][:2] == ["nose", "left_eye"] and len(skeleton["points"]) == 17
    assert skeleton["visibility"][3:5] == [0, 0] and skeleton["visibility"][9] == 1 and skeleton["visibility"][0] == 2


def _person_feature(coordinates, skeleton, frame=0):
    return {"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": coordinates},
            "properties": {"frame": frame, "track_id": 1, "class": "pedestrian", "skeleton": skeleton}}


def test_geojson_import_reads_named_points_in_any_order_and_makes_points_outside_the_image_absent(empty, tmp_path):
    path = tmp_path / "other.geojson"
    features = [_person_feature([[20, 30], [10, 10], None], {"points": ["right_ankle", "nose", "left_eye"],
                                                               "visibility": [1, 2, 0]}),
                _person_feature([[20, 30], [700, 10]], {"points": ["right_ankle", "nose"]}, frame=1)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = import_geojson(empty, path)
    first, second = (state.geometry for state in empty.states_of(empty.tracks()[0].id))
    assert first.visibility.tolist() == [2] + [0] * 15 + [1]
    np.testing.assert_array_equal(first.points[[0, 16]], [[10, 10], [20, 30]])
    assert second.visibility.tolist() == [0] * 16 + [2]  # the nose at x 700 is outside the 640 px image
    assert report.clipped == {str(path): {"skeleton points outside the image made absent": 1}}


@pytest.mark.parametrize(
    ("coordinates", "skeleton", "reason"),
    [
        ([[1, 2], None], {"points": ["nose", "knee"]}, "class 'pedestrian': the class's skeleton has no point 'knee'"),
        ([[1, 2], [3, 4]], {"visibility": [2, 2]}, "the skeleton has 2 points; its class's skeleton has 17"),
        ([[1, 2], None], {"points": ["nose", "left_eye"], "visibility": [2, 2]}, "visibility 2 but no position"),
        ([[1, 2]], {"points": ["nose", "nose"]}, "must name each of the 1 positions once"),
        ([["a", 2]], {"points": ["nose"]}, "coordinates must be numbers"),
        ([[1, 2]], {"points": ["nose"], "visibility": [True]}, "visibility must be a list of 0, 1 or 2"),
    ],
)
def test_geojson_import_refuses_bad_skeletons_naming_the_feature(empty, tmp_path, coordinates, skeleton, reason):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [_person_feature(coordinates, skeleton)]}))
    with pytest.raises(FormatError) as raised:
        import_geojson(empty, path)
    assert f"{path}: feature 0: " in str(raised.value) and reason in str(raised.value)
    assert empty.tracks() == []


# ------------------------------------------------------------------ COCO keypoints


def test_coco_round_trips_skeletons_exactly(labeled, empty, tmp_path):
    out = tmp_path / "coco.json"
    export_coco(labeled, out)
    report = import_coco(empty, out, source=Source.MANUAL)
    assert (report.clipped, report.skipped) == ({}, {})
    imported = {(o.track.class_name, o.state.frame, o.state.geometry.kind): (o.state.geometry, o.attributes)
                for o in empty.store.iter_objects()}
    original = {(o.track.class_name, o.state.frame, o.state.geometry.kind): (o.state.geometry, o.attributes)
                for o in labeled.store.iter_objects()}
    assert imported.keys() == original.keys()
    for key, value in original.items():
        assert imported[key] == value, key


def test_coco_export_writes_keypoints_num_keypoints_and_the_categorys_skeleton(labeled, tmp_path):
    out = tmp_path / "coco.json"
    export_coco(labeled, out)
    data = json.loads(out.read_text())
    person = next(c for c in data["categories"] if c["name"] == "pedestrian")
    assert person["keypoints"][:3] == ["nose", "left_eye", "right_eye"] and len(person["keypoints"]) == 17
    assert [16, 14] in person["skeleton"] and [6, 7] in person["skeleton"] and len(person["skeleton"]) == 19
    vehicle = next(c for c in data["categories"] if c["name"] == "vehicle")
    assert "keypoints" not in vehicle and "skeleton" not in vehicle
    first = next(a for a in data["annotations"] if a["shape"] == "skeleton")
    assert first["num_keypoints"] == 15 and first["keypoints"][9:15] == [0, 0, 0, 0, 0, 0]
    assert first["keypoints"][27:30] == pytest.approx([102.25, 84 + 1 / 3, 1])  # the occluded left wrist
    assert first["bbox"] == pytest.approx([102.25, 50 + 1 / 3, 26, 60])


def test_pycocotools_loads_the_keypoints_and_scores_the_export_against_itself_perfectly(labeled, tmp_path):
    coco_module = pytest.importorskip("pycocotools.coco")
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    out = tmp_path / "coco.json"
    export_coco(labeled, out)
    truth = coco_module.COCO(str(out))
    people = truth.getCatIds(catNms=["pedestrian"])
    annotations = truth.loadAnns(truth.getAnnIds(catIds=people))
    assert len(annotations) == 5 and all(len(a["keypoints"]) == 3 * 17 for a in annotations)
    for names, sigmas in ((["pedestrian"], None), (["cyclist"], np.full(21, 0.05))):
        categories = truth.getCatIds(catNms=names)
        detections = [{**a, "score": 1.0} for a in truth.loadAnns(truth.getAnnIds(catIds=categories))]
        evaluation = cocoeval.COCOeval(truth, truth.loadRes(detections), iouType="keypoints")
        evaluation.params.catIds = categories
        if sigmas is not None:  # pycocotools' own sigmas are for COCO's 17 person points
            evaluation.params.kpt_oks_sigmas = sigmas
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
        assert evaluation.stats[0] == pytest.approx(1.0), names


def test_a_person_keypoints_file_from_another_tool_imports_as_skeletons(empty, tmp_path):
    names = list(empty.taxonomy["pedestrian"].skeleton.points)
    keypoints = []
    for index in range(17):
        keypoints += [0, 0, 0] if index in (1, 2) else [100 + index, 50 + 3 * index, 2 if index != 5 else 1]
    ring = [[90, 40, 140, 40, 140, 120, 90, 120]]
    data = {"images": [{"id": 7, "frame_index": 4, "width": 640, "height": 360}],
            "categories": [{"id": 1, "name": "pedestrian", "supercategory": "person", "keypoints": names,
                            "skeleton": [[16, 14], [14, 12]]}],
            "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [90, 40, 50, 80], "area": 4000,
                             "iscrowd": 0, "segmentation": ring, "keypoints": keypoints, "num_keypoints": 15},
                            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [300, 40, 20, 40], "area": 800,
                             "iscrowd": 0, "keypoints": [0, 0, 0] * 17, "num_keypoints": 0}]}
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(data))
    import_coco(empty, path)
    states = {o.state.geometry.kind.value: o.state.geometry for o in empty.objects_on(4)}
    assert sorted(states) == ["box", "skeleton"]  # no labeled keypoint: what else the annotation has
    skeleton = states["skeleton"]
    assert skeleton.visibility.tolist() == [2, 0, 0, 2, 2, 1] + [2] * 11
    np.testing.assert_array_equal(skeleton.points[16], [116, 98])


def test_datumaros_person_keypoints_export_imports_as_skeletons(empty, tmp_path):
    """Another tool's own output: datumaro writes positions for absent (v=0) points too; they stay absent."""
    datumaro = pytest.importorskip("datumaro")
    from datumaro.components.annotation import AnnotationType, Bbox, LabelCategories, Points, PointsCategories

    names = list(empty.taxonomy["pedestrian"].skeleton.points)
    shown = {1: Points.Visibility.absent, 2: Points.Visibility.absent, 5: Points.Visibility.hidden}
    coordinates = [value for index in range(17) for value in (100 + index, 50 + 3 * index)]
    visibility = [shown.get(index, Points.Visibility.visible) for index in range(17)]
    frame = datumaro.DatasetItem(id="000004", media=datumaro.Image.from_numpy(np.zeros((360, 640, 3), np.uint8)),
                                 annotations=[Points(coordinates, visibility, label=0, id=1, group=1),
                                              Bbox(90, 40, 50, 80, label=0, id=1, group=1)])
    categories = {AnnotationType.label: LabelCategories.from_iterable(["pedestrian"]),
                  AnnotationType.points: PointsCategories.from_iterable([(0, names, [[16, 14], [14, 12]])])}
    datumaro.Dataset.from_iterable([frame], categories=categories).export(
        str(tmp_path / "dataset"), "coco_person_keypoints", save_media=False)
    import_coco(empty, tmp_path / "dataset" / "annotations" / "person_keypoints_default.json")
    states = {o.state.geometry.kind.value: o.state.geometry for o in empty.objects_on(4)}
    skeleton = states["skeleton"]
    assert skeleton.visibility.tolist() == [VISIBLE, ABSENT, ABSENT, VISIBLE, VISIBLE, OCCLUDED] + [VISIBLE] * 11
    assert np.isnan(skeleton.points[[1, 2]]).all()  # datumaro wrote (101, 53) and (102, 56) for them
    np.testing.assert_array_equal(skeleton.points[16], [116, 98])


def test_a_skeleton_whose_keypoints_do_not_fit_the_class_is_refused_naming_it(empty, tmp_path):
    data = {"images": [{"id": 1, "frame_index": 0, "width": 640, "height": 360}],
            "categories": [{"id": 1, "name": "pedestrian", "keypoints": ["nose", "tail"]}],
            "annotations": [{"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10],
                             "keypoints": [5, 5, 2, 6, 6, 2], "num_keypoints": 2}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match=r"bad.json: annotation 3: the class's skeleton has no point 'tail'"):
        import_coco(empty, path)
    assert empty.tracks() == []


# ------------------------------------------------------------------ the other exports


@pytest.mark.parametrize("fmt", sorted(set(EXPORTERS) - {"coco", "cvat"}))  # CVAT: test_cvat.py
def test_the_other_exports_count_the_skeletons_they_drop(tmp_path, small_video, fmt):
    with create_project(tmp_path / "p", small_video) as project:
        walker, car = project.add_track("pedestrian"), project.add_track("vehicle")
        for frame in (1, 2):
            project.set_state(walker.id, frame, _skeleton(PERSON, (40 + frame, 10), absent=[3]))
            project.set_state(car.id, frame, box(100, 20, 150, 60))
        report = EXPORTERS[fmt](project, tmp_path / f"out{SUFFIXES.get(fmt, '')}")
    assert "pedestrian" not in report.written
    assert sum(report.dropped["pedestrian"].values()) == 2
