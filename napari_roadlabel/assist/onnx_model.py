"""A team's own model: an ONNX file run with onnxruntime, described by a small sidecar file.

Files.  ``MODEL.onnx`` and beside it its sidecar ``MODEL.roadlabel.yaml`` (or ``MODEL.roadlabel.yml`` or
``MODEL.roadlabel.json``; exactly one of them).  The model file the assistant is given (``--model FILE``) may
name either the ``.onnx`` file or its sidecar.

The sidecar (YAML or JSON)::

    input:                  # how a frame (or a crop) becomes the model's single float input
      width: 640            # may be left out where the model fixes it; must match it where given
      height: 384
      channels: rgb         # rgb | bgr: the order the model expects
      layout: nchw          # nchw | nhwc
      resize: letterbox     # letterbox: keep the aspect ratio, centre, pad | stretch: fill the input
      pad: 114              # the letterbox's grey level
      scale: 0.00392156862745098   # input = (pixel * scale - mean) / std, per channel in the model's order
      mean: [0, 0, 0]
      std: [1, 1, 1]
    decoder: yolo           # yolo | segmentation | classification
    labels:                 # the model's class index -> what it means; an index left out (or null) proposes
      0: vehicle            # nothing
      2: pedestrian
    # yolo only
    objectness: false       # rows [cx, cy, w, h, class scores...] (YOLOv8) or [cx, cy, w, h, objectness,
                            # class scores...] (YOLOv5)
    transposed: false       # true when the output is [1, 4+C, N] rather than [1, N, 4+C] (YOLOv8 exports)
    score_threshold: 0.25   # class score (times objectness)
    iou_threshold: 0.45     # non-maximum suppression within each class
    # segmentation only
    instances: true         # one mask per connected region (true) or one per class and frame (false)
    min_area: 20            # frame pixels; smaller regions are dropped
    # segmentation and classification
    softmax: true           # the outputs are logits (true) or already probabilities (false)
    # classification only: the labels are "class" or "class.attribute=value" of a frame-range class, or with
    crops_of: traffic-light # each box of this class on each frame is cropped and classified, and the labels
    attribute: state        # are values of this attribute of that class

The decoders:

* **yolo**: the first output, [1, N, R] (or [1, R, N] when ``transposed``), R = 4 + C (+ 1 with objectness):
  boxes as centre and size in model-input pixels.  Per-class non-maximum suppression (OpenCV), then each box
  is taken back through the letterbox (or the stretch) to frame pixels exactly and clipped to the frame: one
  box suggestion per detection, each a new track.
* **segmentation**: the first output, [1, C, h, w], covering the model input (h, w may be smaller: a strided
  output).  Each frame pixel takes the class of the output cell under its centre (nearest sampling through the
  letterbox), so regions land exactly where the model put them; a mask per connected region or per class,
  its confidence the mean probability of its class over its pixels.
* **classification**: the first output, [1, C].  On whole frames: runs of frames with the same label become
  one frame-tag suggestion (its confidence the mean over the run).  With ``crops_of``: an attribute suggestion
  on the object's track on that frame, for each object of that class (its geometry's bounds are the crop).

Checks.  The sidecar is checked against the model as the model loads (one image input; its size, channels and
type; the output's rank and sizes against the decoder and the labels), against the project's taxonomy when the
assistant meets a project (``train`` and ``suggest``), and the outputs' real shapes on every run.  Every
mismatch, a missing or broken file, is one ``RoadlabelError`` line naming the file, the key and the reason,
raised before the first suggestion.  ``settings()`` holds the model's sha256 and the sidecar (defaults filled
in), so the assistant's version changes when either does.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import yaml

from ..core.errors import AnnotationError, RoadlabelError
from ..core.frame_objects import objects_by_frame
from ..core.geometry import Geometry, GeometryKind, box, make_mask
from ..core.taxonomy import AttributeSpec, AttributeType, Taxonomy
from .base import ATTRIBUTES, GEOMETRY, TAGS, Assistant, AssistContext, Suggestion, Validation

SIDECAR_SUFFIXES = (".roadlabel.yaml", ".roadlabel.yml", ".roadlabel.json")
DECODERS = ("yolo", "segmentation", "classification")


# ---------------------------------------------------------------- the assistant


class OnnxAssistant(Assistant):
    """Runs a team's ONNX model (see the module's docstring).  ``produces`` is GEOMETRY until a model is loaded;
    then it is what the sidecar's decoder gives (geometry, attributes or tags)."""

    name = "onnx"
    description = "a team's own ONNX model, described by a sidecar file (boxes, masks, tags or attributes)"
    produces = GEOMETRY
    learns = False
    needs_model_file = True

    def __init__(self, model_file: str | Path | None = None):
        self.model: TeamModel | None = None
        if model_file is not None:
            self._load(Path(model_file))

    def settings(self) -> Mapping[str, Any]:
        return {} if self.model is None else self.model.settings()

    def train(self, context: AssistContext) -> Validation:
        self._model_for(context)  # loads and checks the model, so a bad file stops the run before anything
        return Validation(0, method="a team's model: no training")

    def version(self, context: AssistContext) -> str:
        self._model_for(context)
        return super().version(context)

    def suggest(self, context: AssistContext) -> Iterator[Suggestion]:
        model = self._model_for(context)
        yield from model.decoder.suggest(model, context)

    def _model_for(self, context: AssistContext) -> TeamModel:
        """The context's model file (loaded once), or the one given to the constructor; checked against the
        project's taxonomy."""
        if context.model_file is not None and (self.model is None or not self.model.is_from(context.model_file)):
            self._load(Path(context.model_file))
        if self.model is None:
            raise RoadlabelError(self.name, "needs a model file (an .onnx file with its .roadlabel.yaml sidecar)")
        self.model.decoder.check_taxonomy(context.project.taxonomy, self.model.sidecar_path)
        return self.model

    def _load(self, path: Path) -> None:
        self.model = load_team_model(path)
        self.produces = self.model.decoder.produces  # what this model proposes, not the class's guess


# ---------------------------------------------------------------- the model and its input


@dataclass(frozen=True)
class Placement:
    """Where an image sits in the model input: input pixel = image pixel * scale + pad (per axis)."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Model-input (x, y) points as image points."""
        return (points - [self.pad_x, self.pad_y]) / [self.scale_x, self.scale_y]

    def cells(self, size: int, axis: int, input_size: int, output_size: int) -> np.ndarray:
        """For each image pixel along ``axis`` (0 x, 1 y), the index of the output cell under its centre, when
        ``output_size`` cells cover ``input_size`` input pixels."""
        scale, pad = (self.scale_x, self.pad_x) if axis == 0 else (self.scale_y, self.pad_y)
        centres = (np.arange(size) + 0.5) * scale + pad
        return np.clip(np.floor(centres * output_size / input_size).astype(int), 0, output_size - 1)


@dataclass(frozen=True)
class InputSpec:
    """How an RGB uint8 image becomes the model's input tensor."""

    width: int
    height: int
    channels: str = "rgb"
    layout: str = "nchw"
    resize: str = "letterbox"
    pad: int = 114
    scale: float = 1 / 255
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Placement]:
        """The image as a 1-image batch for the model, and where it sits in it."""
        height, width = image.shape[:2]
        if self.resize == "stretch":
            new_width, new_height = self.width, self.height
        else:
            factor = min(self.width / width, self.height / height)
            new_width, new_height = max(1, round(width * factor)), max(1, round(height * factor))
        pad_x, pad_y = (self.width - new_width) // 2, (self.height - new_height) // 2
        canvas = np.full((self.height, self.width, 3), self.pad, np.uint8)
        canvas[pad_y:pad_y + new_height, pad_x:pad_x + new_width] = (
            image if (new_width, new_height) == (width, height)
            else cv2.resize(image, (new_width, new_height), interpolation=cv2.INTER_LINEAR))
        if self.channels == "bgr":
            canvas = canvas[..., ::-1]
        std = np.asarray(self.std, np.float32)
        tensor = canvas * (np.float32(self.scale) / std) - np.asarray(self.mean, np.float32) / std  # one pass
        if self.layout == "nchw":
            tensor = tensor.transpose(2, 0, 1)
        return np.ascontiguousarray(tensor[None], np.float32), Placement(
            new_width / width, new_height / height, pad_x, pad_y)


class TeamModel:
    """A loaded, checked model: its onnxruntime session, input spec and decoder."""

    def __init__(self, path: Path, sidecar_path: Path, session, decoder: Decoder, input_spec: InputSpec):
        self.path, self.sidecar_path, self.session = path, sidecar_path, session
        self.decoder, self.input = decoder, input_spec
        self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        self._input_name = session.get_inputs()[0].name
        self._output_name = session.get_outputs()[0].name

    def is_from(self, path: str | Path) -> bool:
        return Path(path).resolve() in (self.path.resolve(), self.sidecar_path.resolve())

    def settings(self) -> dict[str, Any]:
        return {"model": self.path.name, "sha256": self.sha256, "input": asdict(self.input),
                "decoder": self.decoder.settings()}

    def infer(self, image: np.ndarray) -> tuple[np.ndarray, Placement]:
        """The model's first output on ``image`` (its batch axis kept), and where the image sat in its input."""
        tensor, placement = self.input.prepare(image)
        try:
            output = self.session.run([self._output_name], {self._input_name: tensor})[0]
        except Exception as error:  # onnxruntime's errors have no common type: name the file, keep the first line
            raise RoadlabelError(self.path, f"the model failed to run: {_first_line(error)}") from None
        self.decoder.check_output([int(size) for size in output.shape], self.sidecar_path,
                                  f"the model's output on a {image.shape[1]}x{image.shape[0]} image")
        return output, placement


def load_team_model(path: str | Path) -> TeamModel:
    """The model ``path`` names (the .onnx file or its sidecar), checked against its sidecar; RoadlabelError
    naming the file, the key and the reason otherwise."""
    model_path, sidecar_path = model_files(Path(path))
    sidecar = _read_sidecar(sidecar_path)
    session = _open_session(model_path)
    decoder = _parse_decoder(sidecar, sidecar_path)
    input_spec = _parse_input(sidecar.get("input"), session, model_path, sidecar_path)
    output = session.get_outputs()[0]
    decoder.check_output([size if isinstance(size, int) else None for size in output.shape], sidecar_path,
                         f"the model's output {_shape_text(output.shape)}")
    return TeamModel(model_path, sidecar_path, session, decoder, input_spec)


def model_files(path: Path) -> tuple[Path, Path]:
    """(model, sidecar) for ``path``: MODEL.onnx -> MODEL.roadlabel.yaml|yml|json; a sidecar -> MODEL.onnx."""
    for suffix in SIDECAR_SUFFIXES:
        if path.name.endswith(suffix):
            return path.with_name(path.name[:-len(suffix)] + ".onnx"), _existing(path)
    model = _existing(path)
    stem = model.name[:-len(".onnx")] if model.name.endswith(".onnx") else model.stem
    sidecars = [model.with_name(stem + suffix) for suffix in SIDECAR_SUFFIXES
                if model.with_name(stem + suffix).is_file()]
    if len(sidecars) != 1:
        reason = "more than one sidecar: " if sidecars else "no sidecar: expected "
        names = [p.name for p in sidecars] if sidecars else [stem + suffix for suffix in SIDECAR_SUFFIXES]
        raise RoadlabelError(model, reason + " or ".join(names) + " beside it")
    return model, sidecars[0]


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise RoadlabelError(path, "no such file")
    return path


def _open_session(path: Path):
    import onnxruntime  # only here: listing assistants does not load it

    _existing(path)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: the user sees our one line, not onnxruntime's warnings
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # InvalidProtobuf, Fail, InvalidGraph, ...: all mean a file onnxruntime refuses
        raise RoadlabelError(path, f"not a model onnxruntime can run: {_first_line(error)}") from None


def _read_sidecar(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except OSError as error:
        raise RoadlabelError(path, f"cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise RoadlabelError(path, "not a text file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise RoadlabelError(path, f"not valid YAML or JSON: {getattr(error, 'problem', None) or error}",
                             place) from None
    if not isinstance(data, dict):
        raise RoadlabelError(path, "must be a mapping with 'input', 'decoder' and 'labels'")
    return data


def _parse_input(data: Any, session, model_path: Path, where: Path) -> InputSpec:
    if not isinstance(data, dict):
        raise RoadlabelError(where, "must be a mapping (width, height, channels, layout, ...)", "input")
    _reject_unknown(data, InputSpec.__dataclass_fields__, "input", where)
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise RoadlabelError(model_path, f"has {len(inputs)} inputs; one image input is needed")
    if inputs[0].type != "tensor(float)":
        raise RoadlabelError(model_path, f"its input is a {inputs[0].type}; a float tensor is needed")
    shape = inputs[0].shape
    if len(shape) != 4:
        raise RoadlabelError(where, f"the model's input {_shape_text(shape)} is not a 4-D image batch", "input")
    layout = _choice(data, "layout", ("nchw", "nhwc"), "input", where)
    model_sizes = dict(zip(("batch", "channels", "height", "width") if layout == "nchw"
                           else ("batch", "height", "width", "channels"), shape, strict=True))
    for name, wanted in (("batch", 1), ("channels", 3)):
        if isinstance(model_sizes[name], int) and model_sizes[name] != wanted:
            raise RoadlabelError(where, f"the model's input {_shape_text(shape)} has {model_sizes[name]} "
                                        f"{name} in {layout} layout; {wanted} needed", "input.layout")
    sizes = {name: _size(data, name, model_sizes[name], shape, where) for name in ("width", "height")}
    values = {name: _choice(data, name, options, "input", where)
              for name, options in (("channels", ("rgb", "bgr")), ("resize", ("letterbox", "stretch")))}
    numbers = {name: _number(data, name, "input", where, default=InputSpec.__dataclass_fields__[name].default)
               for name in ("pad", "scale")}
    triples = {name: _triple(data, name, where) for name in ("mean", "std")}
    if not 0 <= numbers["pad"] <= 255:
        raise RoadlabelError(where, f"must be a grey level 0..255, got {numbers['pad']}", "input.pad")
    if not all(value > 0 for value in triples["std"]):
        raise RoadlabelError(where, f"must be three numbers above 0, got {list(triples['std'])}", "input.std")
    return InputSpec(**sizes, layout=layout, **values, pad=int(numbers["pad"]), scale=numbers["scale"], **triples)


def _size(data: dict, name: str, model_size: Any, shape: list, where: Path) -> int:
    fixed = model_size if isinstance(model_size, int) else None
    size = data.get(name, fixed)
    if size is None:
        raise RoadlabelError(where, f"needed: the model's input {_shape_text(shape)} does not fix it",
                             f"input.{name}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise RoadlabelError(where, f"must be a whole number of pixels, got {size!r}", f"input.{name}")
    if fixed is not None and size != fixed:
        raise RoadlabelError(where, f"is {size} but the model's input {_shape_text(shape)} is {fixed}",
                             f"input.{name}")
    return size


def _triple(data: dict, name: str, where: Path) -> tuple[float, float, float]:
    value = data.get(name, InputSpec.__dataclass_fields__[name].default)
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(_is_number(item) for item in value)):
        raise RoadlabelError(where, f"must be three numbers (one per channel), got {value!r}", f"input.{name}")
    return tuple(float(item) for item in value)


# ---------------------------------------------------------------- decoders


class Decoder(ABC):
    """Turns the model's output into suggestions; knows the output shape and the taxonomy it needs."""

    name: ClassVar[str]  # the sidecar's ``decoder``
    produces: ClassVar[str]
    options: ClassVar[dict[str, Any]]  # the decoder's own sidecar keys and their defaults
    labels: Mapping[int, str]

    @abstractmethod
    def check_output(self, shape: list[int | None], where: Path, what: str) -> None:
        """RoadlabelError (naming the sidecar, ``what`` and the reason) when ``shape`` (None: not fixed by the
        model) does not fit this decoder and its labels."""

    @abstractmethod
    def check_taxonomy(self, taxonomy: Taxonomy, where: Path) -> None:
        """RoadlabelError naming the sidecar key when a label does not fit the project's taxonomy."""

    @abstractmethod
    def suggest(self, model: TeamModel, context: AssistContext) -> Iterator[Suggestion]:
        """The proposals on ``context.frame_range``."""

    def settings(self) -> dict[str, Any]:
        labels = {str(index): label for index, label in self.labels.items()}  # JSON's keys are text
        return {"type": self.name, **asdict(self), "labels": labels}

    def _check_classes(self, classes: int | None, where: Path, what: str) -> None:
        if classes is not None and (classes < 1 or max(self.labels, default=-1) >= classes):
            raise RoadlabelError(where, f"label {max(self.labels)} is beyond the {max(classes, 0)} classes of "
                                        f"{what}", "labels")

    def _check_classes_allow(self, taxonomy: Taxonomy, kind: GeometryKind, where: Path) -> None:
        for index, class_name in self.labels.items():
            spec = _taxonomy_class(taxonomy, class_name, f"labels.{index}", where)
            if kind not in spec.geometry:
                raise RoadlabelError(where, f"class {class_name!r} has no {kind} geometry in the project's "
                                            f"taxonomy (it has {'/'.join(k.value for k in spec.geometry)})",
                                     f"labels.{index}")


class FrameDecoder(Decoder):
    """A decoder that proposes geometries frame by frame."""

    produces = GEOMETRY

    def suggest(self, model: TeamModel, context: AssistContext) -> Iterator[Suggestion]:
        for frame in context.frame_range:
            context.step()
            image = context.frames[frame]
            output, placement = model.infer(image)
            for class_name, geometry, confidence in self.detections(output, placement, model.input,
                                                                    image.shape[1], image.shape[0]):
                yield Suggestion(frame, confidence, class_name=class_name, geometry=geometry)

    @abstractmethod
    def detections(self, output: np.ndarray, placement: Placement, input_spec: InputSpec, width: int,
                   height: int) -> Iterator[tuple[str, Geometry, float]]:
        """(class, geometry in frame pixels, confidence) for each object the output shows."""


@dataclass(frozen=True)
class YoloDecoder(FrameDecoder):
    name: ClassVar[str] = "yolo"
    options: ClassVar[dict[str, Any]] = {"objectness": False, "transposed": False, "score_threshold": 0.25,
                                         "iou_threshold": 0.45}
    labels: Mapping[int, str]
    objectness: bool
    transposed: bool
    score_threshold: float
    iou_threshold: float

    def check_output(self, shape: list[int | None], where: Path, what: str) -> None:
        if len(shape) != 3 or shape[0] not in (1, None):
            raise RoadlabelError(where, f"{what} is not a [1, N, 4+C] batch of boxes", "decoder")
        row = shape[1] if self.transposed else shape[2]
        self._check_classes(None if row is None else row - 4 - self.objectness, where, what)

    def check_taxonomy(self, taxonomy: Taxonomy, where: Path) -> None:
        self._check_classes_allow(taxonomy, GeometryKind.BOX, where)

    def detections(self, output, placement, input_spec, width, height):
        rows = output[0].T if self.transposed else output[0]
        scores = rows[:, 4 + self.objectness:] * (rows[:, 4:5] if self.objectness else 1.0)
        classes = scores.argmax(axis=1)
        best = scores[np.arange(len(rows)), classes]
        wanted = (best >= self.score_threshold) & np.isin(classes, list(self.labels))
        rows, classes, best = rows[wanted], classes[wanted], best[wanted]
        corners = np.concatenate([rows[:, 0:2] - rows[:, 2:4] / 2, rows[:, 2:4]], axis=1)  # x, y, w, h
        kept = cv2.dnn.NMSBoxesBatched(corners.tolist(), best.tolist(), classes.tolist(), self.score_threshold,
                                       self.iou_threshold) if len(rows) else []
        for index in np.asarray(kept, dtype=int).reshape(-1):
            x, y, w, h = corners[index]
            points = np.clip(placement.to_image(np.array([[x, y], [x + w, y + h]])), 0, [width, height])
            if (points[1] > points[0]).all():  # a box wholly outside the frame has no area left
                yield self.labels[int(classes[index])], box(*points.ravel()), float(best[index])


@dataclass(frozen=True)
class SegmentationDecoder(FrameDecoder):
    name: ClassVar[str] = "segmentation"
    options: ClassVar[dict[str, Any]] = {"instances": True, "min_area": 20, "softmax": True}
    labels: Mapping[int, str]
    instances: bool
    min_area: float
    softmax: bool

    def check_output(self, shape: list[int | None], where: Path, what: str) -> None:
        if len(shape) != 4 or shape[0] not in (1, None):
            raise RoadlabelError(where, f"{what} is not a [1, C, h, w] map of class scores", "decoder")
        self._check_classes(shape[1], where, what)

    def check_taxonomy(self, taxonomy: Taxonomy, where: Path) -> None:
        self._check_classes_allow(taxonomy, GeometryKind.MASK, where)

    def detections(self, output, placement, input_spec, width, height):
        scores = _probabilities(output[0], axis=0) if self.softmax else output[0]
        rows = placement.cells(height, 1, input_spec.height, scores.shape[1])
        columns = placement.cells(width, 0, input_spec.width, scores.shape[2])
        grid = np.ix_(rows, columns)
        classes, confidence = scores.argmax(axis=0)[grid], scores.max(axis=0)[grid]
        for index, class_name in self.labels.items():
            for region, (x, y) in self._regions(classes == index):
                yield class_name, make_mask(region, (x, y)), float(confidence[y:y + region.shape[0],
                                                                              x:x + region.shape[1]][region].mean())

    def _regions(self, mask: np.ndarray) -> Iterator[tuple[np.ndarray, tuple[int, int]]]:
        """Each region of ``mask`` (a connected one, or all of it) cropped to its bounds, with its offset."""
        pixels = mask.view(np.uint8)
        if self.instances:
            count, labels, stats, _ = cv2.connectedComponentsWithStats(pixels, connectivity=8)
            regions = [(label, stats[label]) for label in range(1, count)]
        else:
            labels = pixels
            regions = [(1, [*cv2.boundingRect(pixels), int(mask.sum())])] if mask.any() else []
        for label, (x, y, w, h, area) in regions:
            if area >= self.min_area:
                yield labels[y:y + h, x:x + w] == label, (int(x), int(y))


@dataclass(frozen=True)
class FrameClassifier(Decoder):
    """Whole frames -> frame tags: labels "class" or "class.attribute=value" of a frame-range class."""

    name: ClassVar[str] = "classification"
    produces: ClassVar[str] = TAGS
    options: ClassVar[dict[str, Any]] = {"softmax": True}
    labels: Mapping[int, str]
    softmax: bool

    def check_output(self, shape: list[int | None], where: Path, what: str) -> None:
        if len(shape) != 2 or shape[0] not in (1, None):
            raise RoadlabelError(where, f"{what} is not a [1, C] row of class scores", "decoder")
        self._check_classes(shape[1], where, what)

    def check_taxonomy(self, taxonomy: Taxonomy, where: Path) -> None:
        self._meanings(taxonomy, where)

    def _meanings(self, taxonomy: Taxonomy, where: Path) -> dict[int, tuple[str, dict[str, Any]]]:
        """Each label as (frame-range class, attributes), checked against the taxonomy."""
        meanings = {}
        for index, label in self.labels.items():
            key = f"labels.{index}"
            class_name, _, assignment = label.partition(".")
            spec = _taxonomy_class(taxonomy, class_name, key, where)
            if not spec.is_tag:
                raise RoadlabelError(where, f"class {class_name!r} is not a frame-range class; a whole-frame "
                                            "classifier proposes frame tags (or use crops_of)", key)
            attributes = {}
            if assignment:
                attribute, _, value = assignment.partition("=")
                attributes[attribute] = _attribute_value(spec.attributes.get(attribute), class_name, attribute,
                                                         value, key, where)
            meanings[index] = (class_name, attributes)
        return meanings

    def suggest(self, model: TeamModel, context: AssistContext) -> Iterator[Suggestion]:
        meanings = self._meanings(context.project.taxonomy, model.sidecar_path)
        run: list[tuple[int, int, float]] = []  # (frame, label index, confidence) of consecutive frames, one label
        for frame in context.frame_range:
            context.step()
            index, confidence = self._best(model.infer(context.frames[frame])[0])
            if run and index != run[-1][1]:
                yield from self._tag(run, meanings)
                run = []
            run.append((frame, index, confidence))
        yield from self._tag(run, meanings)

    def _best(self, output: np.ndarray) -> tuple[int, float]:
        """The best class of one row of scores, and its probability."""
        scores = _probabilities(output[0], axis=0) if self.softmax else output[0]
        index = int(scores.argmax())
        return index, float(scores[index])

    @staticmethod
    def _tag(run: list[tuple[int, int, float]], meanings: dict) -> Iterator[Suggestion]:
        if run and run[0][1] in meanings:
            class_name, attributes = meanings[run[0][1]]
            yield Suggestion(run[0][0], float(np.mean([confidence for *_, confidence in run])),
                             class_name=class_name, attributes=attributes, last_frame=run[-1][0])


@dataclass(frozen=True)
class CropClassifier(FrameClassifier):
    """Each object of ``crops_of`` on each frame -> a value of its ``attribute``."""

    produces: ClassVar[str] = ATTRIBUTES
    options: ClassVar[dict[str, Any]] = {"softmax": True, "crops_of": None, "attribute": None}
    crops_of: str
    attribute: str

    def _meanings(self, taxonomy: Taxonomy, where: Path) -> dict[int, Any]:
        """Each label as a value of the attribute, checked against the taxonomy."""
        spec = _taxonomy_class(taxonomy, self.crops_of, "crops_of", where)
        if spec.is_tag:
            raise RoadlabelError(where, f"class {self.crops_of!r} is a frame-range class: it has no crops",
                                 "crops_of")
        return {index: _attribute_value(spec.attributes.get(self.attribute), self.crops_of, self.attribute, value,
                                        f"labels.{index}" if self.attribute in spec.attributes else "attribute",
                                        where)
                for index, value in self.labels.items()}

    def suggest(self, model: TeamModel, context: AssistContext) -> Iterator[Suggestion]:
        values = self._meanings(context.project.taxonomy, model.sidecar_path)
        for chunk in objects_by_frame(context.project, context.frame_range):
            for frame, objects in chunk.items():
                context.step()
                objects = [obj for obj in objects if obj.track.class_name == self.crops_of]
                image = context.frames[frame] if objects else None  # a frame without such objects is not read
                for obj in objects:
                    crop = _crop(image, obj.state.geometry)
                    if crop is None:
                        continue
                    index, confidence = self._best(model.infer(crop)[0])
                    if index in values:
                        yield Suggestion(frame, confidence, track_id=obj.track.id,
                                         attributes={self.attribute: values[index]})


def _crop(image: np.ndarray, geometry: Geometry) -> np.ndarray | None:
    """The pixels under the geometry's bounds (whole pixels, inside the image); None when none are."""
    xmin, ymin, xmax, ymax = geometry.bounds()
    height, width = image.shape[:2]
    x0, y0 = max(0, math.floor(xmin)), max(0, math.floor(ymin))
    x1, y1 = min(width, math.ceil(xmax)), min(height, math.ceil(ymax))
    return image[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else None


def _parse_decoder(data: dict, where: Path) -> Decoder:
    name = data.get("decoder")
    if name not in DECODERS:
        raise RoadlabelError(where, f"must be one of {list(DECODERS)}, got {name!r}", "decoder")
    decoder = {"yolo": YoloDecoder, "segmentation": SegmentationDecoder,
               "classification": CropClassifier if "crops_of" in data else FrameClassifier}[name]
    _reject_unknown(data, {"input", "decoder", "labels", *decoder.options}, None, where)
    options = {key: _option(data, key, default, where) for key, default in decoder.options.items()}
    for key in ("score_threshold", "iou_threshold"):
        if key in options and not 0 <= options[key] <= 1:
            raise RoadlabelError(where, f"must be between 0 and 1, got {options[key]}", key)
    return decoder(labels=_parse_labels(data.get("labels"), where), **options)


def _option(data: dict, key: str, default: Any, where: Path) -> Any:
    value = data.get(key, default)
    if default is None:  # crops_of, attribute: names, needed together
        if not isinstance(value, str) or not value:
            raise RoadlabelError(where, f"must name a {'class' if key == 'crops_of' else 'attribute'} "
                                        f"(crops_of and attribute go together), got {value!r}", key)
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise RoadlabelError(where, f"must be true or false, got {value!r}", key)
        return value
    return _number(data, key, None, where, default)


def _parse_labels(data: Any, where: Path) -> dict[int, str]:
    """{index: label} from the sidecar (JSON's keys are text); null labels dropped."""
    if not isinstance(data, dict) or not data:
        raise RoadlabelError(where, "must map the model's class indices to labels", "labels")
    labels = {}
    for key, label in data.items():
        index = key if isinstance(key, int) and not isinstance(key, bool) else (
            int(key) if isinstance(key, str) and key.isdigit() else None)
        if index is None:
            raise RoadlabelError(where, f"{key!r} is not a class index (0, 1, ...)", "labels")
        if label is not None and (not isinstance(label, str) or not label):
            raise RoadlabelError(where, f"must be text or null, got {label!r}", f"labels.{key}")
        if label is not None:
            labels[index] = label
    if not labels:
        raise RoadlabelError(where, "every label is null: the model would propose nothing", "labels")
    return labels


# ---------------------------------------------------------------- small helpers


def _taxonomy_class(taxonomy: Taxonomy, class_name: str, key: str, where: Path):
    if class_name not in taxonomy:
        raise RoadlabelError(where, f"class {class_name!r} is not in the project's taxonomy "
                                    f"{taxonomy.name!r}", key)
    return taxonomy[class_name]


def _attribute_value(spec: AttributeSpec | None, class_name: str, attribute: str, text: str, key: str,
                     where: Path | None) -> Any:
    """The label's text as a value of the attribute (numbers and true/false read as such)."""
    if spec is None:
        raise RoadlabelError(where, f"class {class_name!r} has no attribute {attribute!r}", key)
    value = text if spec.type in (AttributeType.CHOICE, AttributeType.TEXT) else yaml.safe_load(text)
    try:
        return spec.check(value)
    except AnnotationError as error:
        raise RoadlabelError(where, error.reason, key) from None


def _probabilities(scores: np.ndarray, axis: int) -> np.ndarray:
    exponents = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return exponents / exponents.sum(axis=axis, keepdims=True)


def _choice(data: dict, name: str, options: Sequence[str], section: str, where: Path) -> str:
    value = data.get(name, options[0])
    if value not in options:
        raise RoadlabelError(where, f"must be one of {list(options)}, got {value!r}", f"{section}.{name}")
    return value


def _number(data: dict, name: str, section: str | None, where: Path, default: float) -> float:
    value = data.get(name, default)
    if not _is_number(value):
        raise RoadlabelError(where, f"must be a number, got {value!r}", f"{section}.{name}" if section else name)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _reject_unknown(data: dict, known, section: str | None, where: Path) -> None:
    unknown = sorted(str(key) for key in set(data) - set(known))
    if unknown:
        raise RoadlabelError(where, f"unknown key (allowed: {sorted(known)})",
                             f"{section}.{unknown[0]}" if section else unknown[0])


def _shape_text(shape: Sequence[Any]) -> str:
    return "[" + ", ".join(str(size) if isinstance(size, int) else "?" for size in shape) + "]"


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]

