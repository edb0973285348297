"""The ONNX assistant's speed: ms per 960x540 frame for each decoder, with tiny convolutional models.

    python benchmarks/assist_parts/onnx_model.py [--quick]

The models are built here with ``onnx.helper`` (fixed random weights; two strided 3x3 convolutions and a head,
about 5k parameters), so the time is mostly the assistant's own work: letterboxing and normalising the frame
(to 640x384), running onnxruntime on the CPU, and decoding (yolo: 960 candidate boxes, non-maximum suppression
and the mapping back; segmentation: a 160x96 class map sampled onto the frame and split into connected
regions; classification: whole frames, and crops of the clip's traffic lights).  The frames are the synthetic
road clip at 960x540.  ``measure()`` returns the figures (JSON-ready) and prints nothing.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

from napari_roadlabel.assist import AssistContext
from napari_roadlabel.assist.onnx_model import OnnxAssistant, load_team_model
from napari_roadlabel.core import Project, SequenceInfo
from napari_roadlabel.sample import RoadSceneConfig, add_to_project, make_road_sequence

WIDTH, HEIGHT = 960, 540
INPUT_WIDTH, INPUT_HEIGHT = 640, 384
SIDECARS = {
    "yolo": {"decoder": "yolo", "transposed": True, "labels": {0: "vehicle", 1: "pedestrian", 2: "cyclist"}},
    "segmentation": {"decoder": "segmentation", "labels": {1: "vehicle", 2: "pedestrian", 3: "cyclist"}},
    "classification": {"decoder": "classification",
                       "labels": {0: "scene.weather=clear", 1: "scene.weather=rain", 2: "scene.weather=fog"}},
    "light-crops": {"decoder": "classification", "crops_of": "traffic-light", "attribute": "state",
                    "labels": {0: "red", 1: "yellow", 2: "green", 3: "off"}},
}


def measure(quick: bool = False) -> dict:
    frames_count = 8 if quick else 40
    sequence = make_road_sequence(RoadSceneConfig(frames=frames_count, width=WIDTH, height=HEIGHT))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        project = Project.create(folder / "project", SequenceInfo("clip.mp4", frames_count, WIDTH, HEIGHT, 30.0))
        add_to_project(project, sequence)
        lights = sum(1 for state in sequence.states
                     if next(t for t in sequence.tracks if t.id == state.track_id).class_name == "traffic-light")
        timings = {name: _time_decoder(name, folder, project, sequence.frames) for name in SIDECARS}
        prepare_ms = _time_prepare(folder / "yolo.onnx", sequence.frames)
        project.close()
    by_decoder = {name: round(seconds * 1000 / frames_count, 2) for name, (seconds, _) in timings.items()}
    return {"frame": f"{WIDTH}x{HEIGHT}", "model_input": f"{INPUT_WIDTH}x{INPUT_HEIGHT}", "frames": frames_count,
            "ms_per_frame": by_decoder["yolo"], "ms_per_frame_by_decoder": by_decoder,
            "suggestions_per_frame": {name: round(count / frames_count, 1) for name, (_, count) in timings.items()},
            "prepare_ms_per_frame": round(prepare_ms, 2), "light_crops": lights,
            "ms_per_light_crop": round(timings["light-crops"][0] * 1000 / max(lights, 1), 3)}


def _time_decoder(name: str, folder: Path, project: Project, frames: np.ndarray) -> tuple[float, int]:
    """Seconds to suggest on every frame, and the number of suggestions."""
    path = _tiny_model(folder / f"{name}.onnx", name)
    assistant = OnnxAssistant()
    context = AssistContext(project, frames, range(len(frames)), model_file=path)
    assistant.train(context)  # loading and checking the model is not part of the per-frame time
    assistant.model.infer(frames[0])  # nor is onnxruntime's first run, which sets itself up
    start = time.perf_counter()
    suggestions = sum(1 for _ in assistant.suggest(context))
    return time.perf_counter() - start, suggestions


def _time_prepare(path: Path, frames: np.ndarray) -> float:
    input_spec = load_team_model(path).input
    start = time.perf_counter()
    for frame in frames:
        input_spec.prepare(frame)
    return (time.perf_counter() - start) * 1000 / len(frames)


def _tiny_model(path: Path, name: str) -> Path:
    """Two strided 3x3 convolutions (3 -> 16 -> 32 channels, 1/16 of the input) and the decoder's head."""
    rng = np.random.default_rng(0)
    crops = name == "light-crops"
    input_size = (32, 32) if crops else (INPUT_HEIGHT, INPUT_WIDTH)
    weights = {"w1": rng.normal(0, 0.3, (16, 3, 3, 3)), "w2": rng.normal(0, 0.1, (32, 16, 3, 3))}
    nodes = [helper.make_node("Conv", ["image", "w1"], ["c1"], strides=[4, 4], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"])]
    if name == "segmentation":  # a class map at 1/4 of the input: 160x96
        weights["head"] = rng.normal(0, 0.3, (4, 16, 1, 1))
        nodes.append(helper.make_node("Conv", ["r1", "head"], ["out"]))
        output_shape = [1, 4, input_size[0] // 4, input_size[1] // 4]
    else:
        nodes += [helper.make_node("Conv", ["r1", "w2"], ["c2"], strides=[4, 4], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", ["c2"], ["r2"])]
        if name == "yolo":  # 7 rows (box, 3 class scores) per cell of the 40x24 grid, YOLOv8's transposed layout
            weights["head"] = rng.normal(0, 0.3, (7, 32, 1, 1))
            weights["shape"] = np.array([1, 7, -1])
            weights["box_scale"] = np.array([INPUT_WIDTH, INPUT_HEIGHT, 60, 60, 1, 1, 1]).reshape(1, 7, 1)
            nodes += [helper.make_node("Conv", ["r2", "head"], ["grid"]),
                      helper.make_node("Reshape", ["grid", "shape"], ["rows"]),
                      helper.make_node("Sigmoid", ["rows"], ["unit"]),
                      helper.make_node("Mul", ["unit", "box_scale"], ["out"])]
            output_shape = [1, 7, (INPUT_HEIGHT // 16) * (INPUT_WIDTH // 16)]
        else:
            classes = len(SIDECARS[name]["labels"])
            weights["head"] = rng.normal(0, 0.3, (32, classes))
            nodes += [helper.make_node("GlobalAveragePool", ["r2"], ["pooled"]),
                      helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
                      helper.make_node("MatMul", ["flat", "head"], ["out"])]
            output_shape = [1, classes]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, *input_size])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, output_shape)],
        initializer=[numpy_helper.from_array(array.astype(np.int64 if key == "shape" else np.float32), key)
                     for key, array in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    sidecar = {"input": {"width": input_size[1], "height": input_size[0]}, **SIDECARS[name]}
    path.with_name(path.stem + ".roadlabel.yaml").write_text(yaml.safe_dump(sidecar), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(json.dumps(measure(quick="--quick" in sys.argv[1:]), indent=2))
