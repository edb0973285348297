"""The ONNX assistant end to end: tiny models built here with onnx.helper, whose outputs are known (a constant, or
a simple function of the input), run through the sidecar's preprocessing and decoder; the suggestions must land
exactly where the model put them, in frame pixels.  Bad files give one line naming the file and the key."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from napari_roadlabel.assist import AssistContext, assistant_class, make_assistant
from napari_roadlabel.assist.base import ATTRIBUTES, GEOMETRY, TAGS
from napari_roadlabel.assist.onnx_model import OnnxAssistant, load_team_model
from napari_roadlabel.core.errors import RoadlabelError
from napari_roadlabel.core.geometry import GeometryKind, box

WIDTH, HEIGHT = 640, 360  # the `project` fixture's frames
SIZE = 64  # the tiny models' square input: a 640x360 frame letterboxes to 64x36 at 1/10, 14 rows of padding above


# ---------------------------------------------------------------- tiny models


def save_model(path, nodes, output_shape, *, input_shape=(1, 3, SIZE, SIZE), initializers=()):
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, list(output_shape))],
        initializer=[numpy_helper.from_array(float32(array), name) for name, array in initializers])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def float32(array):
    """Numbers as float32 (ONNX does not mix float widths); index arrays kept as they are."""
    array = np.asarray(array)
    return array.astype(np.float32) if array.dtype.kind == "f" else array


def constant_model(path, constant, **options):
    """Outputs ``constant`` whatever the image (plus 0 x the image's sum, so the input is used)."""
    nodes = [helper.make_node("ReduceSum", ["image"], ["sum"], keepdims=0),
             helper.make_node("Mul", ["sum", "zero"], ["nothing"]),
             helper.make_node("Add", ["constant", "nothing"], ["out"])]
    return save_model(path, nodes, np.shape(constant), initializers=[("constant", constant), ("zero", 0.0)],
                      **options)


def channel_mean_model(path):
    """Class scores = the mean of each input channel: [1, 3]."""
    nodes = [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["out"], axis=1)]
    return save_model(path, nodes, (1, 3))


def red_segmentation_model(path, stride=1):
    """Two class channels: background 0.5 everywhere, foreground the input's first channel (so a pure red pixel
    with scale 1/255 is foreground); ``stride`` 2 averages 2x2 cells (a coarser output than the input)."""
    nodes = [helper.make_node("Slice", ["image", "start", "end", "axis"], ["red"]),
             helper.make_node("Mul", ["red", "zero"], ["flat"]),
             helper.make_node("Add", ["flat", "half"], ["background"]),
             helper.make_node("Concat", ["background", "red"], ["scores"], axis=1),
             helper.make_node("AveragePool", ["scores"], ["out"], kernel_shape=[stride, stride],
                              strides=[stride, stride])]
    first = np.array([0], np.int64)
    initializers = [("start", first), ("end", first + 1), ("axis", first + 1), ("zero", 0.0), ("half", 0.5)]
    return save_model(path, nodes, (1, 2, SIZE // stride, SIZE // stride), initializers=initializers)


def write_sidecar(model_path, sidecar, suffix=".roadlabel.yaml"):
    path = model_path.with_name(model_path.stem + suffix)
    path.write_text(json.dumps(sidecar) if suffix.endswith("json") else yaml.safe_dump(sidecar), encoding="utf-8")
    return path


def run(project, model_path, frames, **context):
    assistant = OnnxAssistant()
    context = AssistContext(project, frames, range(len(frames)), model_file=model_path, **context)
    assistant.train(context)
    return assistant, list(assistant.suggest(context))


def grey_frames(count=1):
    return [np.full((HEIGHT, WIDTH, 3), 90, np.uint8) for _ in range(count)]


# ---------------------------------------------------------------- yolo boxes

# rows [cx, cy, w, h, score(class 0), score(class 1), score(class 2)] in model-input pixels
YOLO_ROWS = [
    [32, 32, 32, 10, 0.9, 0.0, 0.0],  # vehicle: input x 16..48, y 27..37
    [33, 32, 32, 10, 0.8, 0.0, 0.0],  # the same vehicle, weaker: suppressed
    [33, 32, 32, 10, 0.0, 0.7, 0.0],  # a pedestrian at the same place: another class, kept
    [60, 32, 20, 10, 0.6, 0.0, 0.0],  # vehicle reaching past the right edge: input x 50..70, clipped
    [10, 10, 8, 8, 0.2, 0.0, 0.0],  # below the score threshold
    [20, 40, 8, 8, 0.0, 0.0, 0.95],  # class 2 has no label: ignored
    [32, 5, 10, 6, 0.9, 0.0, 0.0],  # wholly inside the letterbox's padding (input y 2..8): no area on the frame
]
YOLO_SIDECAR = {"input": {"width": SIZE, "height": SIZE}, "decoder": "yolo",
                "labels": {0: "vehicle", 1: "pedestrian"}, "score_threshold": 0.5, "iou_threshold": 0.5}


def yolo_model(tmp_path, *, objectness=False, transposed=False, resize="letterbox"):
    rows = np.array(YOLO_ROWS, np.float32)
    if objectness:  # the same scores as objectness 0.5 x class score 2x
        rows = np.concatenate([rows[:, :4], np.full((len(rows), 1), 0.5), rows[:, 4:] * 2], axis=1)
    output = rows.T[None] if transposed else rows[None]
    path = constant_model(tmp_path / "detector.onnx", output)
    write_sidecar(path, {**YOLO_SIDECAR, "input": {**YOLO_SIDECAR["input"], "resize": resize},
                         "objectness": objectness, "transposed": transposed})
    return path


def boxes(suggestions, frame=0):
    """(class, bounds, confidence) of a frame's box suggestions, rounded, in a fixed order."""
    return sorted((s.class_name, tuple(round(v, 6) for v in s.geometry.bounds()), round(s.confidence, 6))
                  for s in suggestions if s.frame == frame)


@pytest.mark.parametrize(("objectness", "transposed"), [(False, False), (True, False), (False, True)])
def test_yolo_boxes_come_back_through_the_letterbox_to_frame_pixels(project, tmp_path, objectness, transposed):
    path = yolo_model(tmp_path, objectness=objectness, transposed=transposed)
    assistant, suggestions = run(project, path, grey_frames(2))

    assert assistant.produces == GEOMETRY
    assert all(s.track_id is None and s.new_track is None and s.kind == GEOMETRY for s in suggestions)
    assert boxes(suggestions, 1) == boxes(suggestions, 0)
    # input x = frame x / 10, input y = frame y / 10 + 14
    assert boxes(suggestions) == [("pedestrian", (170, 130, 490, 230), 0.7),
                                  ("vehicle", (160, 130, 480, 230), 0.9),
                                  ("vehicle", (500, 130, 640, 230), 0.6)]


def test_yolo_boxes_come_back_through_a_stretch(project, tmp_path):
    _, suggestions = run(project, yolo_model(tmp_path, resize="stretch"), grey_frames())
    y = HEIGHT / SIZE  # input y = frame y * 64 / 360
    assert boxes(suggestions) == [("pedestrian", (170, 27 * y, 490, 37 * y), 0.7),
                                  ("vehicle", (160, 27 * y, 480, 37 * y), 0.9),
                                  ("vehicle", (270, 2 * y, 370, 8 * y), 0.9),  # no padding: on the frame now
                                  ("vehicle", (500, 27 * y, 640, 37 * y), 0.6)]


# ---------------------------------------------------------------- segmentation masks

RED, BLUE = (255, 0, 0), (0, 0, 255)
# frame rectangles on the 20-px grid, so that they fall on whole cells of a stride-2 output too
RED_RECTANGLES = [(100, 60, 200, 160), (300, 200, 420, 300)]  # x0, y0, x1, y1
SMALL_RED = (560, 40, 580, 60)  # 400 px


def segmentation_frame():
    frame = grey_frames()[0]
    for colour, (x0, y0, x1, y1) in [*((RED, r) for r in RED_RECTANGLES), (RED, SMALL_RED),
                                     (BLUE, (440, 100, 520, 180))]:
        frame[y0:y1, x0:x1] = colour
    return frame


def rectangle_mask(rectangles):
    mask = np.zeros((HEIGHT, WIDTH), bool)
    for x0, y0, x1, y1 in rectangles:
        mask[y0:y1, x0:x1] = True
    return mask


def on_frame(geometry):
    """A mask geometry painted onto a frame-sized boolean image."""
    image = np.zeros((HEIGHT, WIDTH), bool)
    x, y = geometry.points[0].astype(int)
    h, w = geometry.mask.shape
    image[y:y + h, x:x + w] = geometry.mask
    return image


def segmentation_model(tmp_path, stride=1, **sidecar):
    path = red_segmentation_model(tmp_path / "segmenter.onnx", stride)
    write_sidecar(path, {"input": {"width": SIZE, "height": SIZE}, "decoder": "segmentation",
                         "labels": {1: "vehicle"}, "min_area": 500, **sidecar})
    return path


@pytest.mark.parametrize("stride", [1, 2])
def test_segmentation_masks_land_exactly_on_the_regions_the_model_found(project, tmp_path, stride):
    assistant, suggestions = run(project, segmentation_model(tmp_path, stride), [segmentation_frame()])

    assert assistant.produces == GEOMETRY
    assert [s.class_name for s in suggestions] == ["vehicle", "vehicle"]  # the 400-px square is under min_area
    assert all(s.geometry.kind is GeometryKind.MASK for s in suggestions)
    found = sorted((on_frame(s.geometry) for s in suggestions), key=lambda mask: np.argwhere(mask)[0][1])
    for mask, rectangle in zip(found, RED_RECTANGLES, strict=True):
        np.testing.assert_array_equal(mask, rectangle_mask([rectangle]))
    expected = np.exp(1.0) / (np.exp(0.5) + np.exp(1.0))  # softmax of (0.5 background, 1.0 red)
    assert [s.confidence for s in suggestions] == pytest.approx([expected, expected], abs=1e-5)


def test_segmentation_per_class_makes_one_mask_of_every_region(project, tmp_path):
    path = segmentation_model(tmp_path, instances=False, min_area=1)
    _, suggestions = run(project, path, [segmentation_frame()])
    assert len(suggestions) == 1
    np.testing.assert_array_equal(on_frame(suggestions[0].geometry), rectangle_mask([*RED_RECTANGLES, SMALL_RED]))


def test_segmentation_reads_the_channels_in_the_sidecars_order(project, tmp_path):
    path = segmentation_model(tmp_path, input={"width": SIZE, "height": SIZE, "channels": "bgr"})
    _, suggestions = run(project, path, [segmentation_frame()])
    assert len(suggestions) == 1  # the blue square is the model's first channel now
    np.testing.assert_array_equal(on_frame(suggestions[0].geometry), rectangle_mask([(440, 100, 520, 180)]))


# ---------------------------------------------------------------- classification

def coloured_frames(*colours):
    return [np.broadcast_to(np.array(colour, np.uint8), (HEIGHT, WIDTH, 3)).copy() for colour in colours]


def confidence_of(colour, fraction):
    """The channel-mean model's softmax confidence on a letterboxed image of one ``colour`` covering ``fraction``
    of the input (the rest is the letterbox's grey 114)."""
    means = (fraction * np.array(colour) + (1 - fraction) * 114) / 255
    return float(np.exp(means.max()) / np.exp(means).sum())


def classifier(tmp_path, **sidecar):
    path = channel_mean_model(tmp_path / "classifier.onnx")
    write_sidecar(path, {"input": {"width": SIZE, "height": SIZE}, "decoder": "classification", **sidecar})
    return path


def test_whole_frame_classification_gives_one_tag_per_run_of_frames(project, tmp_path):
    path = classifier(tmp_path, labels={0: "scene.weather=rain", 1: "scene.weather=clear", 2: None})
    frames = coloured_frames(*[(200, 40, 40)] * 3, *[(40, 200, 40)] * 2, (40, 40, 200), (210, 40, 40))
    assistant, suggestions = run(project, path, frames)

    assert assistant.produces == TAGS
    assert [(s.frame, s.last_frame, s.class_name, dict(s.attributes)) for s in suggestions] == [
        (0, 2, "scene", {"weather": "rain"}), (3, 4, "scene", {"weather": "clear"}),
        (6, 6, "scene", {"weather": "rain"})]  # the blue frame 5 is the null label: no tag
    expected = [confidence_of((200, 40, 40), 36 / 64), confidence_of((40, 200, 40), 36 / 64)]
    assert [s.confidence for s in suggestions[:2]] == pytest.approx(expected, abs=1e-5)
    assert all(s.kind == TAGS for s in suggestions)


def test_classification_normalises_each_channel_in_the_models_order(project, tmp_path):
    frames = coloured_frames((200, 150, 0))
    labels = {0: "school-zone-active", 1: None, 2: None}
    _, plain = run(project, classifier(tmp_path, labels=labels), frames)
    # (200/255 - 0.5) < 150/255: the mean taken from the first channel makes green the best class
    shifted = classifier(tmp_path, labels=labels, input={"width": SIZE, "height": SIZE, "mean": [0.5, 0, 0]})
    _, normalised = run(project, shifted, frames)
    assert [(s.class_name, dict(s.attributes)) for s in plain] == [("school-zone-active", {})]
    assert normalised == []


def test_crop_classification_suggests_each_lights_state(project, tmp_path):
    lights = {"red": (100, 50, 120, 100), "green": (400, 60, 420, 110)}
    tracks = {}
    for colour, corners in lights.items():
        tracks[colour] = project.add_track("traffic-light").id
        for frame in range(3):
            project.set_state(tracks[colour], frame, box(*corners))
    other = project.add_track("vehicle").id
    project.set_state(other, 0, box(10, 10, 50, 50))
    frames = grey_frames(4)
    for frame in frames[:3]:
        frame[50:100, 100:120] = (230, 20, 20)
        frame[60:110, 400:420] = (20, 230, 20)
    path = classifier(tmp_path, labels={0: "red", 1: "green", 2: "off"}, crops_of="traffic-light", attribute="state")
    assistant, suggestions = run(project, path, frames)

    assert assistant.produces == ATTRIBUTES
    assert sorted((s.frame, s.track_id, dict(s.attributes)) for s in suggestions) == sorted(
        (frame, tracks[colour], {"state": colour}) for frame in range(3) for colour in lights)
    assert all(s.kind == ATTRIBUTES for s in suggestions)
    # a 20x50 crop letterboxes to 26x64 of the 64x64 input
    expected = {"red": confidence_of((230, 20, 20), 26 / 64), "green": confidence_of((20, 230, 20), 26 / 64)}
    assert [s.confidence for s in suggestions] == pytest.approx([expected[s.attributes["state"]]
                                                                 for s in suggestions], abs=1e-5)


# ---------------------------------------------------------------- the assistant's interface

def test_the_registry_makes_it_and_the_version_follows_the_model_and_sidecar(project, tmp_path):
    path = yolo_model(tmp_path)
    assert assistant_class("onnx") is OnnxAssistant and OnnxAssistant.needs_model_file and not OnnxAssistant.learns
    assistant = make_assistant("onnx", model_file=path)
    context = AssistContext(project, grey_frames(), range(1))
    first = assistant.version(context)
    assert assistant.settings()["sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert assistant.train(context).labels == 0

    write_sidecar(path, {**YOLO_SIDECAR, "score_threshold": 0.3})
    assert make_assistant("onnx", model_file=path).version(context) != first
    write_sidecar(path, YOLO_SIDECAR)
    assert make_assistant("onnx", model_file=path).version(context) == first
    constant_model(path, np.array(YOLO_ROWS, np.float32)[None] + 1)
    assert make_assistant("onnx", model_file=path).version(context) != first


def test_the_model_file_may_name_the_sidecar_and_the_sidecar_may_be_json(project, tmp_path):
    path = channel_mean_model(tmp_path / "classifier.onnx")
    sidecar = write_sidecar(path, {"input": {"width": SIZE, "height": SIZE}, "decoder": "classification",
                                   "labels": {"0": "school-zone-active"}}, suffix=".roadlabel.json")
    assert load_team_model(sidecar).path == path
    _, suggestions = run(project, sidecar, coloured_frames((250, 0, 0)))
    assert [s.class_name for s in suggestions] == ["school-zone-active"]


# ---------------------------------------------------------------- bad input: one line naming the file and key

NO_THRESHOLDS = {"score_threshold": None, "iou_threshold": None}  # yolo's keys, unknown to the other decoders


def with_changes(sidecar, changes):
    """The sidecar with ``changes`` made (None removes a key)."""
    return {key: value for key, value in {**sidecar, **changes}.items() if value is not None}


def one_line_error(call) -> str:
    with pytest.raises(RoadlabelError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_and_broken_model_files(project, tmp_path):
    assert one_line_error(lambda: load_team_model(tmp_path / "absent.onnx")) == f"{tmp_path / 'absent.onnx'}: " \
                                                                                 "no such file"
    lonely = channel_mean_model(tmp_path / "lonely.onnx")
    assert "no sidecar: expected lonely.roadlabel.yaml" in one_line_error(lambda: load_team_model(lonely))

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not a protobuf")
    write_sidecar(broken, {"input": {"width": SIZE, "height": SIZE}, "decoder": "classification",
                           "labels": {0: "scene"}})
    assert one_line_error(lambda: load_team_model(broken)).startswith(f"{broken}: not a model onnxruntime can run")

    orphan = tmp_path / "orphan.roadlabel.yaml"
    orphan.write_text("decoder: yolo\n")
    assert one_line_error(lambda: load_team_model(orphan)) == f"{tmp_path / 'orphan.onnx'}: no such file"

    assistant = OnnxAssistant()
    assert "needs a model file" in one_line_error(lambda: assistant.train(AssistContext(project, [], range(0))))


def test_a_model_that_does_not_take_one_float_image_is_one_line(tmp_path):
    path = tmp_path / "bytes.onnx"
    graph = helper.make_graph(
        [helper.make_node("Cast", ["image"], ["floats"], to=TensorProto.FLOAT),
         helper.make_node("GlobalAveragePool", ["floats"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["out"], axis=1)], "bytes",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    write_sidecar(path, {"input": {"width": SIZE, "height": SIZE}, "decoder": "classification",
                         "labels": {0: "school-zone-active"}})
    assert one_line_error(lambda: load_team_model(path)) == (f"{path}: its input is a tensor(uint8); a float "
                                                             "tensor is needed")


@pytest.mark.parametrize(("change", "place", "reason"), [
    ({"input": {"width": 32, "height": SIZE}}, "input.width", "is 32 but the model's input [1, 3, 64, 64] is 64"),
    ({"input": {"width": SIZE, "height": SIZE, "layout": "nhwc"}}, "input.layout", "has 64 channels"),
    ({"input": {"width": SIZE, "height": SIZE, "resize": "crop"}}, "input.resize", "must be one of"),
    ({"input": {"width": SIZE, "height": SIZE, "std": [1, 0, 1]}}, "input.std", "above 0"),
    ({"decoder": "masks"}, "decoder", "must be one of"),
    ({"decoder": "segmentation", **NO_THRESHOLDS}, "decoder", "is not a [1, C, h, w] map"),
    ({"labels": {3: "vehicle"}}, "labels", "label 3 is beyond the 3 classes"),
    ({"labels": {"car": "vehicle"}}, "labels", "'car' is not a class index"),
    ({"score_threshold": 2}, "score_threshold", "between 0 and 1"),
    ({"instances": True}, "instances", "unknown key"),
])
def test_a_sidecar_that_does_not_fit_the_model_is_one_line_naming_the_key(tmp_path, change, place, reason):
    path = yolo_model(tmp_path)
    sidecar = write_sidecar(path, with_changes(YOLO_SIDECAR, change))
    message = one_line_error(lambda: load_team_model(path))
    assert message.startswith(f"{sidecar}: {place}: ") and reason in message


def test_a_sidecar_that_is_not_yaml_names_the_line(tmp_path):
    path = yolo_model(tmp_path)
    sidecar = path.with_name("detector.roadlabel.yaml")
    sidecar.write_text("input: {width: 64\ndecoder: yolo\n")
    assert one_line_error(lambda: load_team_model(path)).startswith(f"{sidecar}: line 2, column 8: not valid YAML")


@pytest.mark.parametrize(("sidecar", "place", "reason"), [
    ({"labels": {0: "truck"}}, "labels.0", "class 'truck' is not in the project's taxonomy"),
    ({"labels": {0: "lane-line"}}, "labels.0", "class 'lane-line' has no box geometry"),
    ({"labels": {1: "vehicle"}, "decoder": "classification", **NO_THRESHOLDS}, "decoder", "is not a [1, C] row"),
])
def test_labels_that_do_not_fit_the_taxonomy_stop_before_any_suggestion(project, tmp_path, sidecar, place, reason):
    path = yolo_model(tmp_path)
    sidecar_path = write_sidecar(path, with_changes(YOLO_SIDECAR, sidecar))
    context = AssistContext(project, grey_frames(), range(1), model_file=path)
    message = one_line_error(lambda: OnnxAssistant().train(context))
    assert message.startswith(f"{sidecar_path}: {place}: ") and reason in message


@pytest.mark.parametrize(("sidecar", "place", "reason"), [
    ({"labels": {0: "vehicle"}}, "labels.0", "'vehicle' is not a frame-range class"),
    ({"labels": {0: "scene.weather=hail"}}, "labels.0", "'hail' is not one of"),
    ({"labels": {0: "scene.season=winter"}}, "labels.0", "has no attribute 'season'"),
    ({"labels": {0: "purple"}, "crops_of": "traffic-light", "attribute": "state"}, "labels.0", "'purple' is not"),
    ({"labels": {0: "red"}, "crops_of": "traffic-light", "attribute": "colour"}, "attribute", "no attribute"),
    ({"labels": {0: "red"}, "crops_of": "scene", "attribute": "weather"}, "crops_of", "frame-range class"),
    ({"labels": {0: "red"}, "crops_of": "traffic-light"}, "attribute", "crops_of and attribute go together"),
])
def test_classification_labels_must_be_the_taxonomys(project, tmp_path, sidecar, place, reason):
    path = classifier(tmp_path, **sidecar)
    context = AssistContext(project, grey_frames(), range(1), model_file=path)
    message = one_line_error(lambda: OnnxAssistant().train(context))
    assert message.startswith(f"{path.with_name('classifier.roadlabel.yaml')}: {place}: ") and reason in message


def test_an_output_that_changes_shape_at_run_time_is_one_line(project, tmp_path):
    """A model whose output size depends on its input passes the load check; the run checks the real shape."""
    path = tmp_path / "dynamic.onnx"
    nodes = [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["out"], axis=1)]
    save_model(path, nodes, (1, "classes"), input_shape=(1, "channels", SIZE, SIZE))
    sidecar = write_sidecar(path, {"input": {"width": SIZE, "height": SIZE}, "decoder": "classification",
                                   "labels": {3: "school-zone-active"}})
    context = AssistContext(project, grey_frames(), range(1), model_file=path)
    assistant = OnnxAssistant()
    assistant.train(context)
    message = one_line_error(lambda: list(assistant.suggest(context)))
    assert message.startswith(f"{sidecar}: labels: label 3 is beyond the 3 classes of the model's output on a "
                              "640x360 image")
