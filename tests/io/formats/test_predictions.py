"""Predictions from elsewhere as suggestions: Label Studio tasks with predictions and COCO results.

The files follow real structures, made smaller:

* Label Studio's documented pre-annotation import (HumanSignal/label-studio docs/source/guide/predictions.md:
  tasks ``[{"data": {"image": ...}, "predictions": [{"model_version": "one", "score": 0.5, "result": [{"id":
  "result1", "type": "rectanglelabels", "from_name": "label", "to_name": "image", "original_width": 600,
  "original_height": 403, "image_rotation": 0, "value": {"rotation": 0, "x": 4.98, ...}}, {"type": "choices",
  ...}]}]}]``), with ``/data/local-files/?d=`` paths as its local storage gives them;
* Label Studio's video fixtures (HumanSignal/label-studio web/libs/editor tests: ``simpleVideoResult``, a
  ``videorectangle`` whose ``sequence`` has an enabled keyframe on frame 1 and a disabled one on frame 3; the
  timeline fixture's ``{"ranges": [{"start": 5, "end": 15}], "timelinelabels": [...]}``);
* cocoapi's ``results/instances_val2014_fakebbox100_results.json`` (``[{"image_id": 42, "category_id": 18,
  "bbox": [258.15, 41.29, 348.26, 243.78], "score": 0.236}, ...]``) and ``fakesegm100`` (compressed RLE).
"""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import FormatError, Project, RoadlabelError, SequenceInfo, Source, box
from napari_roadlabel.core.suggestion_writing import DISPUTE_AT
from napari_roadlabel.core.suggestions import TAGS, accept, disputes, pending_suggestions, reject
from napari_roadlabel.io.formats.coco_results import import_coco_results
from napari_roadlabel.io.formats.label_studio import import_label_studio
from napari_roadlabel.io.formats.predictions import UNKNOWN_SCORE, model_name

# pycocotools 2.0.11 under numpy 2 warns from inside its own mask.decode; nothing of ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

WIDTH, HEIGHT = 640, 360  # the `project` fixture: 100 frames of clip.mp4


def rectangle(result_id, x, y, width, height, label, score=None, rotation=0):
    result = {"id": result_id, "type": "rectanglelabels", "from_name": "label", "to_name": "image",
              "original_width": WIDTH, "original_height": HEIGHT, "image_rotation": 0,
              "value": {"rotation": rotation, "x": x, "y": y, "width": width, "height": height,
                        "rectanglelabels": [label]}}
    if score is not None:
        result["score"] = score
    return result


def choice(from_name, *values):
    return {"id": f"choice-{from_name}", "type": "choices", "from_name": from_name, "to_name": "image",
            "value": {"choices": list(values)}}


def image_task(frame, results, model_version="one", score=0.5, task_id=None):
    task = {"data": {"image": f"/data/local-files/?d=clip/{frame:06d}.jpg"},
            "predictions": [{"model_version": model_version, "score": score, "result": results}]}
    if task_id is not None:
        task["id"] = task_id
    return task


def video_task(results, model_version="tracker@2", video="/data/upload/1/0f2dc246-clip.mp4"):
    return {"id": 9, "data": {"video": video}, "predictions": [{"model_version": model_version, "result": results}]}


def write(tmp_path, data, name="predictions.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def suggested_boxes(project, class_name=None):
    """(frame, bounds, confidence, model) of every suggested state, in track and frame order."""
    return [(state.frame, tuple(round(v, 6) for v in state.geometry.bounds()), state.confidence, state.model)
            for track in project.tracks(class_name) for state in project.states_of(track.id)
            if state.source is Source.SUGGESTED]


def suggested_tags(project):
    return sorted((tag.class_name, tag.start, tag.end, dict(tag.attributes), tag.confidence, tag.model)
                  for tag in project.tags() if tag.source is Source.SUGGESTED)


# ---------------------------------------------------------------- Label Studio: images


def test_percent_boxes_land_on_pixels_with_their_scores_and_model(project, tmp_path):
    tasks = [image_task(3, [rectangle("result1", 4.98, 12.82, 32.52, 44.91, "Vehicle", score=0.9),
                            rectangle("result2", 75.47, 82.33, 5.74, 7.40, "traffic light")], task_id=1),
             image_task(7, [rectangle("r", 50, 50, 10, 10, "traffic_light")], model_version="yolo-road@3",
                        score=None)]
    report = import_label_studio(project, write(tmp_path, tasks))
    one = next(model for model in report.written if model.startswith("one@"))
    assert len(one) == len("one@") + 8  # the name is the model_version; the version, the file's hash
    assert suggested_boxes(project, "vehicle") == [
        (3, (31.872, 46.152, 240.0, 207.828), 0.9, one)]  # 4.98% of 640 px, 12.82% of 360 px, ...
    assert suggested_boxes(project, "traffic-light") == [
        (3, (483.008, 296.388, 519.744, 323.028), 0.5, one),  # no result score: the prediction's
        (7, (320.0, 180.0, 384.0, 216.0), UNKNOWN_SCORE, "yolo-road@3")]  # model_version "name@version" as it is
    assert report.total == 3 and "model yolo-road@3: wrote 1 suggested state" in report.summary()


@pytest.mark.parametrize(("model_version", "model"), [
    ("yolo-road@3", "yolo-road@3"), ("µSAM/vit_h", "SAM-vit_h@1a2b3c4d"),  # as a public brush-prediction script has it
    ("one", "one@1a2b3c4d"), (None, "preds@1a2b3c4d"), ("", "preds@1a2b3c4d"), (7, "7@1a2b3c4d"),
    ("@", "preds@1a2b3c4d"), ("bad name@v 2", "bad-name@v-2"),
])
def test_model_names(model_version, model):
    assert model_name(Path("runs/preds.json"), "1a2b3c4d", model_version) == model


def test_labels_map_to_classes_and_attributes_and_unknown_ones_are_counted(project, tmp_path):
    results = [rectangle("a", 10, 10, 5, 5, "Traffic-Light.State=red"), rectangle("b", 20, 20, 5, 5, "Person"),
               rectangle("c", 30, 30, 5, 5, "Person"), rectangle("d", 40, 40, 5, 5, "vehicle", rotation=30),
               {"id": "e", "type": "textarea", "value": {"text": ["a car"]}},
               {"id": "f", "type": "polygonlabels", "value": {"points": [[0, 0], [10, 0], [10, 10]],
                                                                "polygonlabels": ["crosswalk"]}},
               {"id": "g", "type": "keypointlabels", "value": {"x": 50, "y": 50, "width": 1,
                                                                 "keypointlabels": ["traffic sign"]}}]
    path = write(tmp_path, [image_task(0, results)])
    report = import_label_studio(project, path)
    light = project.tracks("traffic-light")[0]
    assert project.state(light.id, 0).attributes["state"] == "red"
    assert project.state(project.tracks("crosswalk")[0].id, 0).geometry.points.tolist() == \
        [[0, 0], [64, 0], [64, 36]]
    assert project.state(project.tracks("traffic-sign")[0].id, 0).geometry.points.tolist() == [[320, 180]]
    assert report.as_dict()["files"][str(path)]["skipped"] == {
        "unknown label 'Person'": 2, "rotated boxes (rotation is not 0)": 1, "textarea results (not read)": 1}
    with pytest.raises(FormatError, match=r"tasks\[0\], predictions\[0\], result b: unknown label 'Person'.*--strict"):
        import_label_studio(project, path, strict=True)


def test_a_rerun_replaces_its_pending_suggestions_and_keeps_out_what_was_rejected(project, tmp_path):
    path = write(tmp_path, [image_task(frame, [rectangle("r", 10 + frame, 10, 5, 5, "vehicle", 0.7)])
                            for frame in range(4)])
    import_label_studio(project, path)
    reject(project, pending_suggestions(project, frames=range(1, 2))[0])
    accept(project, pending_suggestions(project, frames=range(2, 3))[0])
    report = import_label_studio(project, path)
    written = next(iter(report.written.values()))
    assert written.replaced == 2 and written.skipped == {"rejected before": 1, "where a person labeled one": 1}
    assert [item.frame for item in pending_suggestions(project)] == [0, 3]  # none twice, none over the accepted one
    assert len(project.tracks("vehicle")) == 3


def test_a_persons_labels_are_untouched_and_a_confident_disagreement_is_a_dispute(project, tmp_path):
    light = project.add_track("traffic-light")
    project.set_state(light.id, 2, box(100, 50, 120, 100), source=Source.MANUAL)
    person_tag = project.add_tag("scene", 0, 4, {"weather": "clear"})
    tasks = [image_task(frame, [choice("scene", "rain"), rectangle("r", 50, 50, 5, 5, "traffic-light")],
                        score=DISPUTE_AT) for frame in (2, 6)]
    import_label_studio(project, write(tmp_path, tasks))
    assert project.state(light.id, 2).source is Source.MANUAL and project.state(light.id, 2).geometry.bounds() == \
        (100, 50, 120, 100)
    assert project.store.tag(person_tag.id).attributes["weather"] == "clear"
    assert [(tag[0], tag[1], tag[2], tag[3]["weather"]) for tag in suggested_tags(project)] == \
        [("scene", 6, 6, "rain")]
    assert [(row.frame, row.attributes) for row in disputes(project)] == [(0, {"weather": "rain"})]


def test_choices_become_tags_by_class_name_by_control_and_merged(project, tmp_path):
    tasks = [image_task(5, [choice("scene", "Rain"), choice("scene.time-of-day", "night"),
                            choice("flags", "school zone active"), choice("other", "Airbus")], score=0.6)]
    report = import_label_studio(project, write(tmp_path, tasks))
    model = next(iter(report.written))
    assert suggested_tags(project) == [
        ("scene", 5, 5, {"weather": "rain", "time-of-day": "night"}, 0.6, model),
        ("school-zone-active", 5, 5, {}, 0.6, model)]
    assert report.as_dict()["skipped"] == 1  # "Airbus" names nothing


def brush_rle(mask: np.ndarray) -> list[int]:
    """Label Studio's brush RLE of a mask, as label-studio-converter's ``brush.mask2rle`` makes it (the RGBA
    pixels, every channel 255 where set) and its ``decode_rle`` reads it: header, then a literal run of the
    first three values and repeated runs of 8-bit words with 16-bit lengths."""
    values = np.repeat(mask.ravel().astype(np.int64) * 255, 4)
    fields = [f"{len(values):032b}", f"{8 - 1:05b}", f"{16 - 1:04b}" * 4,
              "0" + "00" + f"{3 - 1:016b}" + "".join(f"{value:08b}" for value in values[:3])]
    edges = [3, *(np.flatnonzero(np.diff(values[3:])) + 4), len(values)]
    for start, end in zip(edges[:-1], edges[1:], strict=True):
        for first in range(start, end, 1 << 16):
            length = min(end, first + (1 << 16)) - first
            fields.append("1" + "00" + f"{length - 1:016b}" + f"{values[start]:08b}")
    bits = "".join(fields)
    bits += "0" * (-len(bits) % 8)
    return [int(bits[index:index + 8], 2) for index in range(0, len(bits), 8)]


def brush(result_id, mask, label):
    return {"id": result_id, "type": "brushlabels", "from_name": "tag", "to_name": "image",
            "original_width": mask.shape[1], "original_height": mask.shape[0], "image_rotation": 0,
            "value": {"format": "rle", "rle": brush_rle(mask), "brushlabels": [label]}}


def test_brushes_become_masks_or_their_bounds(project, tmp_path):
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[100:180, 200:330] = True
    mask[300, 500] = True
    small = np.zeros((90, 160), bool)
    small[10:20, 10:20] = True
    results = [brush("car", mask, "vehicle"), brush("light", mask, "traffic-light"), brush("other", small, "vehicle")]
    report = import_label_studio(project, write(tmp_path, [image_task(4, results)]))
    state = project.state(project.tracks("vehicle")[0].id, 4)
    x0, y0, x1, y1 = map(int, state.geometry.bounds())
    assert (x0, y0, x1, y1) == (200, 100, 501, 301) and np.array_equal(state.geometry.mask, mask[y0:y1, x0:x1])
    assert suggested_boxes(project, "traffic-light")[0][1] == (200, 100, 501, 301)
    assert report.as_dict()["files"][str(tmp_path / "predictions.json")]["skipped"] == \
        {"brushes of another image size": 1}
    cut = brush("cut", mask, "vehicle")
    cut["value"]["rle"] = cut["value"]["rle"][:-3]
    with pytest.raises(FormatError, match="result cut: brush RLE: the runs end before the image does"):
        import_label_studio(project, write(tmp_path, [image_task(4, [cut])]))


# ---------------------------------------------------------------- Label Studio: video


SIMPLE_VIDEO = {"id": "RRxnu061g3", "from_name": "box", "to_name": "video", "type": "videorectangle",
                "origin": "manual", "score": 0.8,
                "value": {"framesCount": 100, "duration": 3.3, "labels": ["vehicle"], "sequence": [
                    {"frame": 1, "enabled": True, "rotation": 0, "x": 10, "y": 20, "width": 30, "height": 40,
                     "time": 0.033},
                    {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0, "enabled": False, "frame": 3,
                     "time": 0.1}]}}


def test_a_video_rectangle_is_one_new_object_over_its_keyframes(project, tmp_path):
    moving = json.loads(json.dumps(SIMPLE_VIDEO))
    moving["id"], moving["score"] = "moving", 0.6
    moving["value"]["sequence"] = [
        {"frame": 96, "enabled": True, "rotation": 0, "x": 0, "y": 0, "width": 10, "height": 10},
        {"frame": 91, "enabled": True, "rotation": 0, "x": 40, "y": 0, "width": 10, "height": 10}]  # any order
    report = import_label_studio(project, write(tmp_path, [video_task([SIMPLE_VIDEO, moving])]))
    first, second = project.tracks("vehicle")
    assert [(state.frame, state.geometry.bounds(), state.confidence, state.model)
            for state in project.states_of(first.id)] == [(frame, (64, 72, 256, 216), 0.8, "tracker@2")
                                                          for frame in (0, 1, 2)]  # disabled after frame 3
    moved = {state.frame: round(state.geometry.bounds()[0], 6) for state in project.states_of(second.id)}
    assert moved == {90: 256, 91: 204.8, 92: 153.6, 93: 102.4, 94: 51.2, 95: 0, 96: 0, 97: 0, 98: 0, 99: 0}
    assert report.written["tracker@2"].new_tracks == 2


def test_keyframes_past_the_videos_end_stop_at_the_projects_last_frame(project, tmp_path):
    far = json.loads(json.dumps(SIMPLE_VIDEO))
    far["value"]["sequence"] = [{**far["value"]["sequence"][0], "frame": 98},
                                {**far["value"]["sequence"][1], "frame": 2 ** 63}]
    report = import_label_studio(project, write(tmp_path, [video_task([far])]))
    assert [state.frame for state in project.states_of(project.tracks("vehicle")[0].id)] == [97, 98, 99]
    assert report.as_dict()["skipped"] == 1  # the keyframe on a frame the project does not have


def test_timelines_become_tags_and_other_videos_are_counted(project, tmp_path):
    timeline = {"id": "timeline_region_1", "from_name": "timeline", "to_name": "video", "type": "timelinelabels",
                "origin": "manual",
                "value": {"ranges": [{"start": 5, "end": 15}, {"start": 90, "end": 120}],
                          "timelinelabels": ["school-zone-active"]}}
    weather = {"id": "w", "type": "choices", "from_name": "scene", "to_name": "video", "value": {"choices": ["fog"]}}
    tasks = [video_task([timeline, weather]), video_task([SIMPLE_VIDEO], video="/data/upload/1/0f2dc246-other.mp4")]
    report = import_label_studio(project, write(tmp_path, tasks))
    assert [tag[:4] for tag in suggested_tags(project)] == [
        ("scene", 0, 99, {"weather": "fog", "time-of-day": "unknown"}),
        ("school-zone-active", 4, 14, {}), ("school-zone-active", 89, 99, {})]
    assert report.other_sequences == ["other.mp4"] and project.tracks() == []
    assert {item.kind for item in pending_suggestions(project)} == {TAGS}


# ---------------------------------------------------------------- bad files


GOOD_TASK = image_task(0, [rectangle("ok", 1, 1, 5, 5, "vehicle")])


@pytest.mark.parametrize(("content", "message"), [
    ("[{\"data\": ", r"predictions\.json: line 1, column 11: malformed JSON"),
    ({"tasks": [GOOD_TASK]}, "a Label Studio file is a list of tasks"),
    ([GOOD_TASK, image_task(1, [rectangle("r", 1, 1, 5, 5, "vehicle", score=1.5)], task_id=4)],
     r"task 4, predictions\[0\], result r: score must be a number from 0 to 1, got 1.5"),
    ([GOOD_TASK, image_task(1, [rectangle("r", "1", 1, 5, 5, "vehicle")])], r"result r: x must be a list of numbers"),
    ([{"data": {"image": "/data/local-files/?d=elsewhere/000001.jpg"}, "predictions": [{"result": []}]}],
     "its one entry is not for this project's frames"),
    ([GOOD_TASK, {"data": {"text": "hello"}, "predictions": [{"result": []}]}], "needs an \"image\" or \"video\""),
    ([{"data": {"image": "a.jpg"}, "annotations": [{"result": []}]}], "no task has \"predictions\""),
])
def test_a_bad_label_studio_file_gives_one_line_and_writes_nothing(project, tmp_path, content, message):
    path = tmp_path / "predictions.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(FormatError, match=message) as error:
        import_label_studio(project, path)
    assert "\n" not in str(error.value)
    assert project.tracks() == [] and pending_suggestions(project) == []


def test_a_box_past_the_border_follows_the_import_policy(project, tmp_path):
    path = write(tmp_path, [image_task(0, [rectangle("r", 90, 90, 20, 20, "vehicle")])])
    with pytest.raises(FormatError, match="clipped to the image.*--strict"):
        import_label_studio(project, path, strict=True)
    assert project.tracks() == []
    report = import_label_studio(project, path)
    assert suggested_boxes(project)[0][1] == (576, 324, 640, 360) and report.as_dict()["clipped"] == 1


def test_predictions_are_only_ever_suggestions(project, tmp_path):
    with pytest.raises(RoadlabelError, match="--as: predictions are imported as suggestions, not as manual"):
        import_label_studio(project, write(tmp_path, [image_task(0, [])]), source=Source.MANUAL)


# ---------------------------------------------------------------- COCO results


CATEGORIES = [{"id": 3, "name": "vehicle", "supercategory": "vehicle"},
              {"id": 10, "name": "traffic light", "supercategory": "outdoor"},
              {"id": 1, "name": "person", "supercategory": "person"}]


def images_json(tmp_path, frames=(2, 5)):
    """A COCO annotation file of two frames of the project, as a dataset (or our export) names them."""
    images = [{"id": 40 + frame, "file_name": f"clip/{frame:06d}.jpg", "width": WIDTH, "height": HEIGHT}
              for frame in frames]
    return write(tmp_path, {"images": images, "categories": CATEGORIES, "annotations": []}, "instances.json")


def test_coco_results_agree_with_pycocotools(project, tmp_path):
    coco = pytest.importorskip("pycocotools.coco")
    mask_tools = pytest.importorskip("pycocotools.mask")
    pixels = np.zeros((HEIGHT, WIDTH), np.uint8, order="F")
    pixels[100:140, 200:260] = 1
    rle = mask_tools.encode(pixels)
    rle["counts"] = rle["counts"].decode()
    boxes = [{"image_id": 42, "category_id": 3, "bbox": [258.15, 41.29, 348.26, 243.78], "score": 0.236},
             {"image_id": 45, "category_id": 10, "bbox": [10.5, 20.25, 4, 9], "score": 0.91},
             {"image_id": 45, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]
    masks = [{"image_id": 45, "category_id": 3, "segmentation": rle, "score": 0.7}]
    annotations = images_json(tmp_path)
    reference = coco.COCO(str(annotations))
    for detections in (boxes, masks):
        results = write(tmp_path, detections, "results.json")
        report = import_coco_results(project, results, images_json=annotations)
        model = next(iter(report.written))
        loaded = reference.loadRes(str(results))
        expected = []
        for ann in loaded.dataset["annotations"]:
            if ann["category_id"] == 1:
                continue  # "person" is no class of ours: counted, left out
            x, y, w, h = ann["bbox"]
            expected.append((ann["image_id"] - 40, (x, y, x + w, y + h), ann["score"]))
        states = [state for track in project.tracks() for state in project.states_of(track.id)
                  if state.model == model]
        assert sorted((s.frame, tuple(s.geometry.bounds()), s.confidence) for s in states) == sorted(expected)
    mask_state = next(s for track in project.tracks() for s in project.states_of(track.id)
                      if s.geometry.kind.value == "mask")
    whole = np.zeros((HEIGHT, WIDTH), bool)
    x0, y0 = map(int, mask_state.geometry.bounds()[:2])
    crop = mask_state.geometry.mask
    whole[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
    assert np.array_equal(whole, loaded.annToMask(loaded.dataset["annotations"][0]).astype(bool))


def test_coco_results_without_images_json_use_the_projects_export_ids(project, tmp_path):
    from napari_roadlabel.io.formats.coco import coco_categories

    vehicle = next(item["id"] for item in coco_categories(project.taxonomy) if item["name"] == "vehicle")
    results = write(tmp_path, [{"image_id": 1, "category_id": vehicle, "bbox": [0, 0, 10, 10], "score": 0.4},
                               {"image_id": 100, "category_id": vehicle, "bbox": [5, 5, 10, 10], "score": 0.6}])
    report = import_coco_results(project, results)
    model = next(iter(report.written))
    assert model.startswith("predictions@")
    assert suggested_boxes(project) == [(0, (0, 0, 10, 10), 0.4, model), (99, (5, 5, 15, 15), 0.6, model)]


@pytest.mark.parametrize(("detection", "message"), [
    ({"image_id": 42, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 1.2}, "detection 1: score must be a number"),
    ({"image_id": 43, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.2},
     r"detection 1: image_id 43 is not an image of .*instances\.json"),
    ({"image_id": 42, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 0.2}, "category_id 7 is not a category"),
    ({"image_id": 42, "category_id": 3, "bbox": [1, 2, 3], "score": 0.2}, r"bbox must be \[x, y, width, height\]"),
    ({"image_id": 42, "category_id": 3, "bbox": [630, 2, 30, 4], "score": 0.2}, "clipped to the image.*--strict"),
])
def test_a_bad_coco_results_file_gives_one_line_and_writes_nothing(project, tmp_path, detection, message):
    good = {"image_id": 42, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}
    results = write(tmp_path, [good, detection])
    with pytest.raises(FormatError, match=message) as error:
        import_coco_results(project, results, images_json=images_json(tmp_path), strict=True)
    assert "\n" not in str(error.value) and project.tracks() == []


# ---------------------------------------------------------------- mutated files (as test_import_fuzz does)


def _valid_files(tmp_path) -> dict[str, tuple[object, dict]]:
    """format -> (valid content, importer options): every kind of result and detection read."""
    timeline = {"id": "t", "type": "timelinelabels", "from_name": "timeline",
                "value": {"ranges": [{"start": 2, "end": 4}], "timelinelabels": ["school-zone-active"]}}
    polygon = {"id": "p", "type": "polygonlabels", "score": 0.4,
               "value": {"points": [[1, 1], [20, 1], [20, 20]], "polygonlabels": ["crosswalk"]}}
    tasks = [image_task(1, [rectangle("r", 10, 10, 5, 5, "vehicle", 0.7), choice("scene", "rain"), polygon],
                        task_id=1),
             video_task([SIMPLE_VIDEO, timeline])]
    detections = [{"image_id": 42, "category_id": 3, "bbox": [258.15, 41.29, 348.26, 243.78], "score": 0.236},
                  {"image_id": 45, "category_id": 10, "segmentation": [[10, 10, 30, 10, 30, 40]], "score": 0.9}]
    return {"label-studio": (tasks, {}), "coco-results": (detections, {"images_json": images_json(tmp_path)})}


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("fmt", ["label-studio", "coco-results"])
def test_a_mutated_prediction_file_is_refused_in_one_line_or_imported_as_suggestions(project, tmp_path, fmt, seed):
    from napari_roadlabel.io.formats.registry import IMPORTERS
    from tests.io.formats.test_import_fuzz import JSON_MUTATIONS, _mutated

    content, options = _valid_files(tmp_path)[fmt]
    text = json.dumps(content)
    for mutation in JSON_MUTATIONS:
        if mutation.startswith("string-") and fmt == "coco-results":
            continue  # a results file holds no string values
        texts, what = _mutated(fmt, mutation, {"p.json": text}, random.Random(f"{fmt}/{mutation}/{seed}"))
        path = tmp_path / "p.json"
        path.write_text(texts["p.json"])
        case = f"{fmt} {what}"
        try:
            report = IMPORTERS[fmt](project, path, strict=bool(seed), **options)
        except RoadlabelError as error:
            assert "\n" not in str(error) and str(error).startswith(str(path)), f"{case}: {error}"
            assert project.tracks() == [] and project.tags() == [] and project.undo() is None, case
            continue
        states = [state for track in project.tracks() for state in project.states_of(track.id)]
        assert {state.source for state in states} | {tag.source for tag in project.tags()} <= {Source.SUGGESTED}, case
        assert report.total == len(states) + len(project.tags()), f"{case}: {report.summary()}"
        for state in states:
            x0, y0, x1, y1 = state.geometry.bounds()
            assert 0 <= x0 <= x1 <= WIDTH and 0 <= y0 <= y1 <= HEIGHT, case
        if report.total:
            project.undo()  # one step takes it all back, for the next mutation
        assert project.tracks() == [] and project.tags() == [], case


# ---------------------------------------------------------------- the command line


def test_roadlabel_import_prints_the_model_and_what_was_written(capsys, tmp_path):
    folder = tmp_path / "p"
    with Project.create(folder, SequenceInfo("clip.mp4", 100, WIDTH, HEIGHT, 30.0)):
        pass
    tasks = write(tmp_path, [image_task(3, [rectangle("r", 10, 10, 5, 5, "vehicle", 0.8)], model_version="yolo@7")])
    assert main(["import", str(folder), str(tasks), "--format", "label-studio"]) == 0
    out = capsys.readouterr().out
    assert "model yolo@7: wrote 1 suggested state (1 new object)" in out
    results = write(tmp_path, [{"image_id": 45, "category_id": 10, "bbox": [1, 2, 3, 4], "score": 0.9}], "dets.json")
    args = ["import", str(folder), str(results), "--format", "coco-results", "--images-json",
            str(images_json(tmp_path))]
    assert main(args) == 0
    assert "model dets@" in capsys.readouterr().out
    assert main(["import", str(folder), str(tasks), "--format", "label-studio", "--images-json", str(results)]) != 0
    assert "--images-json: is for --format coco-results" in capsys.readouterr().err
