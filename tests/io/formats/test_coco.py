"""COCO: export, import, round trips, the mapping report, bad files refused whole, and pycocotools reading ours."""

import json

import numpy as np
import pytest

from napari_roadlabel.core import FormatError, Project, RoadlabelError, Source, box, make_geometry, make_mask
from napari_roadlabel.core.geometry import clip_polygon_to_image
from napari_roadlabel.io.formats.coco import (
    coco_categories,
    export_coco,
    import_coco,
    rle_decode,
    rle_encode,
    stroke,
)
from napari_roadlabel.io.formats.report import report_path
from napari_roadlabel.io.projects import create_project

# pycocotools 2.0.11 under numpy 2 warns from inside its own mask.decode; nothing of ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

LANE = [[10, 89], [40.25, 50], [60, 30]]  # x, y on the 160x90 clip
CROSSWALK = [[20, 60], [90.5, 60], [85, 80], [25, 80]]
WALKER = [[70, 20], [72.5, 35], [69, 50]]
PIXELS = np.zeros((5, 7), bool)
PIXELS[0, 0] = PIXELS[4, 6] = True  # the mask's corners are set: cropped to its pixels it is the same mask
PIXELS[1:4, 2:6] = True


@pytest.fixture
def coco_project(tmp_path, small_video):
    """clip.mp4 with one object of every geometry kind, a light on two frames, and two frame-range tags."""
    with create_project(tmp_path / "p", small_video) as project:
        lane = project.add_track("lane-line", {"color": "yellow"})
        project.set_state(lane.id, 1, make_geometry("polyline", LANE), {"style": "dashed"})
        light = project.add_track("traffic-light", {"face": "arrow-left"})
        project.set_state(light.id, 1, box(100, 5, 110.5, 30), {"state": "red"})
        project.set_state(light.id, 2, box(101, 5, 111, 30), {"state": "green", "flashing": True},
                          source=Source.PROPAGATED, confidence=0.75)
        crosswalk = project.add_track("crosswalk")
        project.set_state(crosswalk.id, 2, make_geometry("polygon", CROSSWALK))
        sign = project.add_track("traffic-sign", {"type": "speed-limit", "value": 30})
        project.set_state(sign.id, 3, make_geometry("point", [150.5, 10]))
        walker = project.add_track("pedestrian")
        project.set_state(walker.id, 3, make_geometry("keypoints", WALKER), {"occluded": True})
        car = project.add_track("vehicle", {"type": "truck"})
        project.set_state(car.id, 4, make_mask(PIXELS, (30, 40)))
        project.add_tag("school-zone-active", 0, 5)
        project.add_tag("scene", 8, 11, {"weather": "rain"})
    return tmp_path / "p"


def _objects(project):
    """(class, frame) -> (geometry, attributes, track-level attributes) of every object."""
    return {(obj.track.class_name, obj.state.frame): (obj.state.geometry, obj.attributes)
            for frame in range(project.sequence.frame_count) for obj in project.objects_on(frame)}


def test_export_writes_images_categories_and_annotations(coco_project, tmp_path):
    with Project.open(coco_project) as project:
        report = export_coco(project, tmp_path / "c.json")
    data = json.loads((tmp_path / "c.json").read_text())
    assert len(data["images"]) == 12
    assert data["images"][1] == {"id": 2, "file_name": "clip/000001.jpg", "width": 160, "height": 90,
                                 "frame_index": 1, "video_id": 1, "video": "clip"}
    assert data["videos"][0]["name"] == "clip" and data["videos"][0]["frame_count"] == 12
    names = [category["name"] for category in data["categories"]]
    assert names == ["lane-line", "stop-line", "crosswalk", "traffic-light", "traffic-sign", "school-zone",
                     "traffic-direction", "vehicle", "pedestrian", "cyclist", "custom"]  # no frame-range classes
    assert [category["id"] for category in data["categories"]] == list(range(1, 12))
    by_shape = {annotation["shape"]: annotation for annotation in data["annotations"][::-1]}  # the first of each
    assert len(data["annotations"]) == 7 and len({a["id"] for a in data["annotations"]}) == 7
    light = by_shape["box"]
    assert (light["image_id"], light["category_id"], light["bbox"], light["area"]) == (2, 4, [100, 5, 10.5, 25], 262.5)
    assert light["segmentation"] == [[100, 5, 110.5, 5, 110.5, 30, 100, 30]] and light["iscrowd"] == 0
    assert light["attributes"] == {"face": "arrow-left", "orientation": "vertical", "state": "red", "flashing": False}
    polygon = by_shape["polygon"]
    assert polygon["segmentation"] == [sum(CROSSWALK, [])] and polygon["area"] == pytest.approx(1305.0)
    assert by_shape["point"]["keypoints"] == [150.5, 10, 2] and by_shape["point"]["num_keypoints"] == 1
    assert by_shape["keypoints"]["keypoints"] == [70, 20, 2, 72.5, 35, 2, 69, 50, 2]
    assert by_shape["keypoints"]["num_keypoints"] == 3 and by_shape["keypoints"]["bbox"] == [69, 20, 3.5, 30]
    lane = by_shape["polyline"]
    assert lane["keypoints"] == [10, 89, 2, 40.25, 50, 2, 60, 30, 2] and lane["num_keypoints"] == 3
    x, y, w, h = lane["bbox"]
    assert 0 <= x < 10 and y < 30 and x + w > 60 and y + h == 90  # the stroke, cut at the bottom of the image
    mask = by_shape["mask"]
    assert mask["bbox"] == [30, 40, 7, 5] and mask["area"] == int(PIXELS.sum())
    assert mask["segmentation"]["size"] == [90, 160] and isinstance(mask["segmentation"]["counts"], str)
    propagated = [a for a in data["annotations"] if a["image_id"] == 3 and a["shape"] == "box"][0]
    assert propagated["score"] == 0.75 and propagated["source"] == "propagated" and "score" not in light
    assert report.frames == 12
    assert report.written == {"lane-line": 1, "traffic-light": 2, "crosswalk": 1, "traffic-sign": 1,
                              "pedestrian": 1, "vehicle": 1}
    assert report.dropped == {"school-zone-active": {"COCO has no frame-range tags": 1},
                              "scene": {"COCO has no frame-range tags": 1}}
    assert report.attributes_not_carried == {}
    assert json.loads(report_path(tmp_path / "c.json").read_text())["format"] == "coco"


def test_export_takes_every_nth_frame_and_counts_only_tags_it_covers(coco_project, tmp_path):
    with Project.open(coco_project) as project:
        report = export_coco(project, tmp_path / "c.json", frames=range(0, 6), every=3)
    data = json.loads((tmp_path / "c.json").read_text())
    assert [image["frame_index"] for image in data["images"]] == [0, 3]
    assert sorted(a["shape"] for a in data["annotations"]) == ["keypoints", "point"]
    assert report.frames == 2 and report.dropped == {"school-zone-active": {"COCO has no frame-range tags": 1}}


def test_a_long_export_numbers_annotations_in_order_and_strokes_each_line_alone(project, tmp_path):
    """Objects are computed in batches (by kind and number of points, several frames at once): each still gets
    its own fields, a stroke cut at the image's edge among them, and a line with a repeated point (frames 30..39:
    its frames take another way) too."""
    lines = {"inside": [[100, 300], [150, 200], [200, 150], [220, 100]],
             "corner": [[0, 360], [40, 300], [90, 250], [120, 200]],
             "repeated": [[300, 300], [300, 300], [350, 200], [380, 150]]}
    tracks = {name: project.add_track("lane-line").id for name in lines}
    light, crosswalk = project.add_track("traffic-light").id, project.add_track("crosswalk").id
    for frame in range(40):
        for name, points in lines.items():
            if name != "repeated" or frame >= 30:
                project.set_state(tracks[name], frame, make_geometry("polyline", np.add(points, [frame % 3, 0])))
        project.set_state(light, frame, box(500, 10, 510.5, 40 + frame % 5))
        project.set_state(crosswalk, frame, make_geometry("polygon", [[0, 340], [640, 340], [630, 360], [10, 360]]))
    export_coco(project, tmp_path / "c.json", line_width=3)
    annotations = json.loads((tmp_path / "c.json").read_text())["annotations"]
    assert [a["id"] for a in annotations] == list(range(1, 171))
    assert [(a["image_id"], a["track_id"]) for a in annotations] == [
        (frame + 1, obj.track.id) for frame in range(40) for obj in project.objects_on(frame)]
    for annotation in annotations:
        if annotation["shape"] == "polyline":
            points = np.reshape(annotation["keypoints"], (-1, 3))[:, :2]
            outline = clip_polygon_to_image(stroke(points, 1.5), 640, 360)
            assert annotation["segmentation"] == [outline.ravel().tolist()]
            assert annotation["bbox"][1] + annotation["bbox"][3] <= 360  # cut where it reached outside
    boxes = [a for a in annotations if a["shape"] == "box"]
    assert [a["bbox"] for a in boxes] == [[500, 10, 10.5, 30 + frame % 5] for frame in range(40)]


def test_round_trip_gives_back_geometries_attributes_and_tracks(coco_project, tmp_path, small_video):
    with Project.open(coco_project) as project:
        export_coco(project, tmp_path / "a.json")
        original = _objects(project)
    with create_project(tmp_path / "q", small_video) as fresh:
        report = import_coco(fresh, tmp_path / "a.json", source=Source.SUGGESTED)
        assert (report.total, report.entries, report.clipped, report.skipped) == (7, 12, {}, {})
        imported = _objects(fresh)
        assert imported.keys() == original.keys()
        for key, (geometry, attributes) in original.items():
            assert imported[key][0] == geometry, key  # exactly: boxes, polygons, points, keypoints, lines, masks
            assert imported[key][1] == attributes, key
        lights = fresh.tracks("traffic-light")
        assert len(lights) == 1 and [s.frame for s in fresh.states_of(lights[0].id)] == [1, 2]  # linked by track_id
        assert {s.source for t in fresh.tracks() for s in fresh.states_of(t.id)} == {Source.SUGGESTED}
        assert fresh.state(lights[0].id, 2).confidence == 0.75
        assert fresh.tags() == []
        fresh.undo()  # the import is one undo step
        assert fresh.tracks() == []


def test_an_existing_export_is_kept(coco_project, tmp_path):
    (tmp_path / "c.json").write_text("mine")
    with Project.open(coco_project) as project, pytest.raises(RoadlabelError, match="already exists"):
        export_coco(project, tmp_path / "c.json")
    assert (tmp_path / "c.json").read_text() == "mine"


def test_pycocotools_reads_the_export(coco_project, tmp_path):
    coco_module = pytest.importorskip("pycocotools.coco")
    with Project.open(coco_project) as project:
        export_coco(project, tmp_path / "c.json")
    written = {a["id"]: a for a in json.loads((tmp_path / "c.json").read_text())["annotations"]}
    coco = coco_module.COCO(str(tmp_path / "c.json"))
    assert sorted(coco.getImgIds()) == list(range(1, 13)) and len(coco.getCatIds()) == 11
    light = coco.getCatIds(catNms=["traffic-light"])
    assert light == [4]
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[2, 3], catIds=light))
    assert [(a["image_id"], a["bbox"], a["track_id"]) for a in anns] == [(2, [100, 5, 10.5, 25], 2),
                                                                          (3, [101, 5, 10, 25], 2)]
    assert coco.loadAnns(coco.getAnnIds()) == [written[i] for i in sorted(written)]
    by_shape = {a["shape"]: a for a in coco.loadAnns(coco.getAnnIds(imgIds=[2, 3, 4, 5]))[::-1]}
    mask = coco.annToMask(by_shape["mask"])
    expected = np.zeros((90, 160), np.uint8)
    expected[40:45, 30:37] = PIXELS
    assert np.array_equal(mask, expected)  # our RLE is pycocotools' RLE
    crosswalk = coco.annToMask(by_shape["polygon"])
    assert crosswalk.shape == (90, 160) and abs(int(crosswalk.sum()) - by_shape["polygon"]["area"]) < 100
    lights = coco.annToMask(by_shape["box"])
    assert lights[6:29, 101:110].all() and lights.sum() == pytest.approx(262.5, abs=30)
    lane = coco.annToMask(by_shape["polyline"])
    assert lane[50, 39:42].all() and 0 < lane.sum() < 0.1 * lane.size  # a thin stroke along the line
    assert coco.getAnnIds(areaRng=[-1, 0.5]) == [by_shape["point"]["id"]]


def test_rle_is_pycocotools_compressed_rle():
    mask_module = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(7)
    for _ in range(50):
        pixels = rng.random(tuple(rng.integers(1, 40, 2))) < rng.random()
        ours = rle_encode(pixels)
        theirs = mask_module.encode(np.asfortranarray(pixels.astype(np.uint8)))
        assert ours["counts"] == theirs["counts"].decode() and ours["size"] == list(theirs["size"])
        assert np.array_equal(rle_decode(ours), pixels) and np.array_equal(mask_module.decode(ours), pixels)
        flat = pixels.ravel(order="F")  # uncompressed RLE: counts as a list, as COCO's crowd regions have them
        runs = np.diff(np.r_[0, np.flatnonzero(np.diff(flat.astype(int))) + 1, flat.size]).tolist()
        uncompressed = {"size": list(pixels.shape), "counts": ([0] if flat[0] else []) + runs}
        assert np.array_equal(rle_decode(uncompressed), pixels)
        assert mask_module.frPyObjects(uncompressed, *pixels.shape)["counts"].decode() == ours["counts"]


def test_a_plain_coco_file_is_imported_by_what_each_class_takes(coco_project, tmp_path):
    """No shape, no track_id, no file_name: frame_index, segmentation, keypoints and bbox decide."""
    plain = {
        "images": [{"id": 7, "frame_index": 5, "width": 160, "height": 90}],
        "categories": [{"id": 3, "name": "vehicle"}, {"id": 9, "name": "traffic-light"}, {"id": 1, "name": "dog"},
                       {"id": 4, "name": "lane-line"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [20, 60, 70.5, 20], "iscrowd": 0,
             "segmentation": [sum(CROSSWALK, []) + CROSSWALK[0]]},
            {"id": 2, "image_id": 7, "category_id": 9, "bbox": [1, 2, 3, 4], "segmentation": []},
            {"id": 3, "image_id": 7, "category_id": 3, "bbox": [1, 2, 3, 4], "iscrowd": 0,
             "segmentation": rle_encode(np.pad(PIXELS, ((40, 45), (30, 123))))},
            {"id": 4, "image_id": 7, "category_id": 4, "bbox": [0, 0, 1, 1],
             "keypoints": [10, 89, 2, 0, 0, 0, 40.25, 50, 1, 60, 30, 2], "num_keypoints": 3},
        ],
    }
    (tmp_path / "plain.json").write_text(json.dumps(plain))
    with Project.open(coco_project) as project:
        before = len(project.tracks())
        assert import_coco(project, tmp_path / "plain.json").total == 4  # the unused "dog" category is no matter
        new = {obj.state.geometry.kind.value: obj for obj in project.objects_on(5)}
        assert len(project.tracks()) == before + 4
    assert new["polygon"].state.geometry == make_geometry("polygon", CROSSWALK)  # the closing point dropped
    assert new["box"].state.geometry == box(1, 2, 4, 6) and new["box"].track.class_name == "traffic-light"
    assert new["mask"].state.geometry == make_mask(PIXELS, (30, 40))
    assert new["polyline"].state.geometry == make_geometry("polyline", LANE)  # the unlabeled keypoint left out
    assert new["polyline"].attributes["color"] == "white"  # taxonomy defaults


def _file(tmp_path, annotations, images=None):
    data = {"images": images or [{"id": 1, "file_name": "clip/000001.jpg", "width": 160, "height": 90},
                                 {"id": 2, "file_name": "clip/000002.jpg", "width": 160, "height": 90}],
            "categories": [{"id": 1, "name": "traffic-light"}, {"id": 2, "name": "pink-elephant"},
                           {"id": 3, "name": "scene"}, {"id": 4, "name": "crosswalk"}, {"id": 5, "name": "vehicle"},
                           {"id": 6, "name": "traffic-sign"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "track_id": 5},
                            *annotations]}
    (tmp_path / "bad.json").write_text(json.dumps(data))
    return tmp_path / "bad.json"


@pytest.mark.parametrize("annotation, message", [
    ({"id": 7, "image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4]}, "annotation 7: unknown category 'pink-"),
    ({"id": 7, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]}, "annotation 7: category 'scene' is a frame-"),
    ({"id": 7, "image_id": 1, "category_id": 8, "bbox": [1, 2, 3, 4]}, "annotation 7: category_id 8 is not one"),
    ({"id": 7, "image_id": 9, "category_id": 1, "bbox": [1, 2, 3, 4]}, "annotation 7: image_id 9 is not an image"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, float("nan"), 3, 4]}, "annotation 7: bbox must be finite"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}, r"annotation 7: bbox must be \[x, y, width"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": 1}, "annotation 7: a crowd region"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "attributes": {"state": "purple"}},
     "annotation 7: attribute 'state': 'purple' is not one of"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "attributes": {"rotation": 0}},
     "annotation 7: class 'traffic-light' has no attribute 'rotation'"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "shape": "polygon"},
     "annotation 7: class 'traffic-light' takes box, not polygon"),
    ({"id": 7, "image_id": 1, "category_id": 4, "bbox": [1, 2, 3, 4], "segmentation": [[1, 2, 3, float("nan"), 5, 6]]},
     "annotation 7: a polygon segmentation needs 3 or more points of finite numbers"),
    ({"id": 7, "image_id": 1, "category_id": 4, "bbox": [1, 2, 3, 4], "segmentation": [[1, 2, 3, 2, 3, 4],
                                                                                       [5, 6, 7, 6, 7, 8]]},
     "annotation 7: a polygon segmentation must be one ring"),
    # issue 14: a bow-tie is not a polygon; strings and booleans are not numbers
    ({"id": 7, "image_id": 1, "category_id": 4, "bbox": [1, 2, 3, 4],
      "segmentation": [[10, 10, 50, 40, 50, 10, 10, 40]]},
     r"annotation 7: the polygon crosses itself at \(30.0, 25.0\)"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": ["100", "50", "3", "4"]},
     r"annotation 7: bbox must be a list of numbers, got \['100'"),
    ({"id": 7, "image_id": 1, "category_id": 4, "bbox": [1, 2, 3, 4], "segmentation": [[True, False, 5, 6, 7, 8]]},
     "annotation 7: a polygon segmentation needs 3 or more points of finite numbers"),
    ({"id": 7, "image_id": 1, "category_id": 6, "bbox": [1, 2, 3, 4], "keypoints": ["100", "50", 2]},
     "annotation 7: keypoints must be finite numbers"),
    ({"id": 7, "image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4], "segmentation": {"size": [90, 160],
                                                                                         "counts": [14450, -50]}},
     "annotation 7: RLE counts: run 1 is negative"),
    ({"id": 7, "image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4], "segmentation": {"size": [90, 160],
                                                                                         "counts": [7200, "7200"]}},
     "annotation 7: RLE counts: run 1 is '7200': a run length is a whole number"),
    ({"id": 7, "image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4], "segmentation": {"size": ["90", "160"],
                                                                                         "counts": [14400]}},
     r"annotation 7: the RLE size is \['90', '160'\], the image's"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 3}, "annotation 7: score must be"),
    ({"id": 7, "image_id": 2, "category_id": 4, "bbox": [1, 2, 3, 4], "track_id": 5,
      "segmentation": [[1, 2, 3, 2, 3, 4]]}, "annotation 7: track_id 5 is traffic-light .* in annotation 1 but "
                                             "crosswalk"),
    ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "track_id": 5},
     r"annotation 7: track_id 5 is on frame 1 already \(annotation 1\)"),
    ("not an object", r"annotations\[1\]: an annotation must be an object"),
])
def test_a_bad_annotation_refuses_the_whole_file_naming_it(coco_project, tmp_path, annotation, message):
    path = _file(tmp_path, [annotation])
    with Project.open(coco_project) as project:
        before = len(project.tracks())
        with pytest.raises(FormatError, match=f"bad.json: {message}"):
            import_coco(project, path)
        assert len(project.tracks()) == before  # the good first annotation was not imported either


@pytest.mark.parametrize("content, message", [
    ("{", "bad.json: line 1, column 2: malformed JSON"),
    ('{"images": [], "annotations": []}', "bad.json: a COCO file is an object with"),
    ('[1, 2]', "bad.json: a COCO file is an object with"),
    ('{"images": [], "annotations": [], "categories": [{"id": "x", "name": "crosswalk"}]}',
     r"bad.json: categories\[0\]: a category needs an integer"),
])
def test_a_malformed_file_is_refused(coco_project, tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    with Project.open(coco_project) as project, pytest.raises(FormatError, match=message):
        import_coco(project, tmp_path / "bad.json")


@pytest.mark.parametrize("image, message", [
    ({"id": 3, "file_name": "clip/000003.jpg", "width": 1920, "height": 1080}, "image 3: the image is 1920x1080"),
    ({"id": 1, "file_name": "clip/000003.jpg"}, "image 1: a second image with this id"),
    ({"id": 3, "frame_index": 12}, "image 3: an image needs a file_name, or a frame_index that is one of the "
                                   r"project's frames \(0..11\)"),
    ({"id": 3, "frame_index": 1}, r"image 3: image 3 \(by frame_index\) and image 1 \('clip/000001.jpg'\) are both "
                                  "frame 1"),
    ({"id": 3, "file_name": "clip/000001.jpg"}, r"image 3: image 1 \('clip/000001.jpg'\) and image 3 .* are both "
                                                "for frame 1"),
])
def test_an_image_that_is_not_a_frame_of_the_project_is_refused(coco_project, tmp_path, image, message):
    images = [{"id": 1, "file_name": "clip/000001.jpg", "width": 160, "height": 90}, image]
    path = _file(tmp_path, [], images)
    with Project.open(coco_project) as project, pytest.raises(FormatError, match=f"bad.json: {message}"):
        import_coco(project, path)


def test_images_of_other_sequences_are_counted_and_their_annotations_left_out(coco_project, tmp_path):
    """Issue 13: a COCO file spanning many videos imports the images of this project's frames."""
    images = [{"id": 1, "file_name": "clip/000001.jpg", "width": 160, "height": 90},
              {"id": 2, "file_name": "other-drive/000001.jpg", "width": 1920, "height": 1080},
              {"id": 3, "file_name": "elsewhere/000777.jpg", "frame_index": 2},
              {"id": 4, "file_name": "clip/000777.jpg"}]  # this project's folder, but no such frame
    path = _file(tmp_path, [{"id": 2, "image_id": 2, "category_id": 2, "bbox": [1, 2, 3, 4]},  # not checked
                            {"id": 3, "image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4], "track_id": 8},
                            {"id": 4, "image_id": 4, "category_id": 1, "bbox": [1, 2, 3, 4]}], images)
    with Project.open(coco_project) as project:
        before = len(project.tracks())
        report = import_coco(project, path)
        (light,) = [track for track in project.tracks()[before:]]
        assert [state.frame for state in project.states_of(light.id)] == [1]
    assert report.total == 1 and report.entries == 1
    assert report.other_sequences == ["other-drive/000001.jpg", "elsewhere/000777.jpg"]
    assert report.missing_frames == ["clip/000777.jpg"]
    assert "2 entries are for other sequences" in report.summary()
    with Project.open(coco_project) as project, pytest.raises(FormatError, match="'clip/000777.jpg' is in this "
                                                                                 "project's folder but is not one"):
        import_coco(project, path, strict=True)


def test_a_file_with_no_image_of_the_project_is_refused(coco_project, tmp_path):
    path = _file(tmp_path, [], [{"id": 1, "file_name": "other-drive/000001.jpg"}])
    with Project.open(coco_project) as project:
        before = len(project.tracks())
        with pytest.raises(FormatError, match="bad.json: .* for this project's frames: 1 for other sequences"):
            import_coco(project, path)
        assert len(project.tracks()) == before


def test_geometry_past_the_border_is_clipped_or_skipped_and_counted(coco_project, tmp_path):
    path = _file(tmp_path, [
        {"id": 2, "image_id": 2, "category_id": 1, "bbox": [150, 2, 30, 4]},  # past the right edge: clipped
        {"id": 3, "image_id": 2, "category_id": 1, "bbox": [-1, 2, 3, 4], "track_id": 6},  # past the left: clipped
        {"id": 4, "image_id": 2, "category_id": 1, "bbox": [200, 2, 3, 4]},  # wholly outside: skipped
        {"id": 5, "image_id": 2, "category_id": 1, "bbox": [10, 2, 0, 4]},  # of no width: skipped
        {"id": 6, "image_id": 1, "category_id": 4, "bbox": [0, 0, 1, 1], "segmentation": [[1, 2, 300, 2, 3, 40]]},
        {"id": 7, "image_id": 1, "category_id": 5, "bbox": [0, 0, 1, 1],
         "segmentation": {"size": [90, 160], "counts": [14400]}},  # no pixel set: skipped
    ])
    with Project.open(coco_project) as project:
        before = len(project.tracks())
        report = import_coco(project, path)
        lights = [obj.state.geometry for obj in project.objects_on(2) if obj.track.id > before]
        (crosswalk,) = [obj.state.geometry for obj in project.objects_on(1) if obj.track.class_name == "crosswalk"]
        assert len(project.tracks()) == before + 4  # the first annotation, two boxes clipped, the crosswalk
    assert sorted(lights, key=lambda geometry: geometry.points[0, 0]) == [box(0, 2, 2, 6), box(150, 2, 160, 6)]
    assert crosswalk.points.max(axis=0).tolist() == [160, 40]  # cut at the right edge
    assert report.total == 4
    assert report.clipped == {str(path): {"clipped to the image": 3}}
    assert report.skipped == {str(path): {"outside the image": 1, "a box of zero width or height": 1,
                                          "a mask of no pixels": 1}}


def test_rle_counts_are_checked_before_a_pixel_is_made(coco_project, tmp_path):
    """Issue 14: run lengths that would make a mask far larger than the image are refused first."""
    import tracemalloc

    path = _file(tmp_path, [{"id": 7, "image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4],
                             "segmentation": {"size": [90, 160], "counts": [0, 1e10, 14400]}}])
    with Project.open(coco_project) as project:
        tracemalloc.start()
        try:
            with pytest.raises(FormatError, match=r"annotation 7: RLE counts: the run lengths add up to 10000014400, "
                                                  "not 90x160"):
                import_coco(project, path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 10 * 160 * 90 * 8  # a few images' worth, not 10 GB


def test_a_bad_rle_mask_is_refused(coco_project, tmp_path):
    rle = rle_encode(np.ones((90, 160), bool))
    path = _file(tmp_path, [{"id": 7, "image_id": 1, "category_id": 5, "bbox": [0, 0, 160, 90],
                             "segmentation": {"size": [90, 161], "counts": rle["counts"]}}])
    with Project.open(coco_project) as project, pytest.raises(FormatError, match=r"annotation 7: the RLE size"):
        import_coco(project, path)


def test_categories_are_the_taxonomys_object_classes_in_order(coco_project):
    with Project.open(coco_project) as project:
        categories = coco_categories(project.taxonomy)
    assert categories[0] == {"id": 1, "name": "lane-line", "supercategory": "road-default", "geometry": ["polyline"]}
    assert categories[-1]["geometry"] == ["box", "polygon", "point", "keypoints", "mask"]


def test_datumaro_imports_the_export(coco_project, tmp_path):
    datumaro = pytest.importorskip("datumaro")
    with Project.open(coco_project) as project:
        export_coco(project, tmp_path / "export.json")
    dataset = tmp_path / "dataset"  # datumaro's COCO layout: annotations/instances_<subset>.json and images/
    (dataset / "annotations").mkdir(parents=True)
    (dataset / "images").mkdir()
    (dataset / "annotations" / "instances_default.json").write_text((tmp_path / "export.json").read_text())
    imported = datumaro.Dataset.import_from(str(dataset), "coco_instances")
    written = json.loads((tmp_path / "export.json").read_text())
    assert len(imported) == len(written["images"])
    # datumaro splits an annotation into its parts (a box, a polygon, points), all with the annotation's id
    assert {annotation.id for item in imported for annotation in item.annotations} == {
        annotation["id"] for annotation in written["annotations"]}
