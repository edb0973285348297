"""Label Studio tasks JSON with ``predictions``, imported as suggestions (``predictions`` says how they are written).

    [{"id": 7, "data": {"image": "/data/local-files/?d=clip/000003.jpg"},
      "predictions": [{"model_version": "yolo-road@3", "score": 0.8,
                       "result": [{"id": "r1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
                                   "original_width": 640, "original_height": 360, "score": 0.93,
                                   "value": {"x": 10, "y": 20, "width": 5, "height": 8, "rotation": 0,
                                             "rectanglelabels": ["traffic-light"]}}, ...]}]}, ...]

A file is a list of tasks (or one task).  A task's media is ``data.image`` or ``data.video`` (else the one value
of ``data`` with an image or video file's extension).  An image task is matched to a frame by its path as
``frame_match`` matches a dataset's entries (a local-files ``?d=`` path is read as that path, and an upload's
file name without the ``1a2b3c4d-`` Label Studio puts before it); a video task is for this project when its
file name is the project's video's.  Tasks of other sequences are counted, not read.

Coordinates are in percent of the image, so ``x`` 10 is 10% of the project's width.  Results read:

* ``rectanglelabels``: a box (a polygon of its corners for a class without boxes); rotated boxes are left out;
* ``polygonlabels``: a polygon (a line for a class of lines); ``keypointlabels``: a point;
* ``videorectangle`` (video tasks): its ``sequence`` of keyframes (``frame`` counted from 1) is a box on each
  keyframe, moving linearly from an ``enabled`` keyframe to the next one and staying after the last, as Label
  Studio shows it; all of a result's boxes are one new object;
* ``choices``: a frame-range tag over the image's frame (over the whole video for a video task);
  ``timelinelabels`` (video tasks): a tag over each of its ``ranges`` (frames counted from 1).  Choices of one
  prediction that fall on the same class and frames are one tag with all their attributes;
* ``brushlabels``: a mask (its bounds for a class without masks).  Label Studio's RLE (label-studio-converter's
  ``brush.decode_rle``) packs the RGBA pixels of the whole image: a 32-bit count of values, a 5-bit word size
  and four 4-bit run-length sizes, then runs, each a bit (1: one word repeated; 0: words as they are), a 2-bit
  choice of run-length size and the run's length less one.  A pixel is set where its alpha is.  The count must
  be the project's image's (otherwise the mask is counted and left out), and is checked before a pixel is made;
* other types are counted and left out.

Confidence is the result's ``score``, else the prediction's, else ``UNKNOWN_SCORE``.  Everything is read and
checked before anything is written; a bad file gives one line naming the task, prediction and result.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from ...core import FormatError, Geometry, GeometryKind, Project, Source
from ...core.geometry import mask_from_image
from ...core.suggestions import Suggestion
from ...core.taxonomy import ClassSpec
from ..frames import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from .frame_match import Entry, match_entries
from .import_report import fit_to_image
from .json_files import checked_score, finite_numbers, is_whole, load_json
from .predictions import (
    UNKNOWN_SCORE,
    LabelMap,
    PredictionReport,
    check_suggested,
    file_digest,
    model_name,
    write_predictions,
)

UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")  # Label Studio's prefix on an uploaded file's name
GEOMETRY_TYPES = {"rectanglelabels", "polygonlabels", "keypointlabels", "brushlabels"}
KINDS = {  # the kinds a result type may become, in order of preference
    "rectanglelabels": (GeometryKind.BOX, GeometryKind.POLYGON),
    "videorectangle": (GeometryKind.BOX, GeometryKind.POLYGON),
    "polygonlabels": (GeometryKind.POLYGON, GeometryKind.POLYLINE),
    "keypointlabels": (GeometryKind.POINT, GeometryKind.KEYPOINTS),
    "brushlabels": (GeometryKind.MASK, GeometryKind.BOX),
}


def import_label_studio(project: Project, path: str | Path, *, source: Source = Source.SUGGESTED,
                        strict: bool = False) -> PredictionReport:
    """Write the file's predictions for this project's frames as suggestions; returns the import's report."""
    check_suggested(source)
    path = Path(path)
    report = PredictionReport("label-studio", str(path), strict=strict)
    tasks = _tasks(load_json(path), path)
    reader = _Reader(project, path, report)
    images, videos = [], []
    for index, task in enumerate(tasks):
        place = f"task {task['id']}" if is_whole(task.get("id")) else f"tasks[{index}]"
        kind, name = _media(task, path, place)
        if kind == "image":
            images.append(Entry(name, path, place, task))
        elif PurePosixPath(name).name == project.source_path().name:
            videos.append((place, task))
        else:
            report.other_sequences.append(name)
    matched = match_entries(project, images, report) if images else []
    if tasks and not matched and not videos:
        raise FormatError(path, f"none of its {len(tasks)} tasks is for this project (other sequences: "
                                f"{report.other_sequences[:1]}); a video task's file name must be "
                                f"{project.source_path().name!r}")
    for frame, entry in matched:
        reader.task(entry.labels, entry.place, frame)
    for place, task in videos:
        reader.task(task, place, None)
    report.entries = len(matched) + len(videos)
    return write_predictions(project, report, reader.by_model)


def _tasks(data: Any, path: Path) -> list[dict]:
    tasks = [data] if isinstance(data, dict) else data
    if not isinstance(tasks, list) or not all(isinstance(task, dict) and isinstance(task.get("data"), dict)
                                              for task in tasks):
        raise FormatError(path, "a Label Studio file is a list of tasks (or one task), each an object with "
                                "\"data\" and \"predictions\"")
    if tasks and not any(task.get("predictions") for task in tasks):
        raise FormatError(path, "no task has \"predictions\": this format reads a model's predictions, not a "
                                "person's \"annotations\"")
    return tasks


def _media(task: dict, path: Path, place: str) -> tuple[str, str]:
    """("image" or "video", the media's path as the project's frames are named)."""
    data = task["data"]
    value = data.get("image", data.get("video"))
    if not isinstance(value, str):
        found = [item for item in data.values() if isinstance(item, str)
                 and PurePosixPath(_media_path(item)).suffix.lower() in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS]
        if len(found) != 1:
            raise FormatError(path, "the task's \"data\" needs an \"image\" or \"video\" path", place)
        value = found[0]
    name = _media_path(value)
    return ("video" if PurePosixPath(name).suffix.lower() in VIDEO_EXTENSIONS else "image"), name


def _media_path(value: str) -> str:
    """A task's media reference as a path: ``?d=`` of local files, an URL's path, an upload's bare file name."""
    parts = urlsplit(value)
    local = parse_qs(parts.query).get("d")
    name = local[0] if local else unquote(parts.path)
    if name.lstrip("/").startswith("data/upload/"):
        return UPLOAD_PREFIX.sub("", PurePosixPath(name).name)
    return name


@dataclass
class _Tag:
    first: int
    last: int
    attributes: dict
    confidence: float


@dataclass
class _Reader:
    """Reads tasks into suggestions by model, checking as it goes (nothing is written until all is read)."""

    project: Project
    path: Path
    report: PredictionReport
    by_model: dict[str, list[Suggestion]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.labels = LabelMap(self.project.taxonomy)
        self.digest = file_digest(self.path)
        self.objects = 0  # new_track numbers: each result is one object

    def task(self, task: dict, place: str, frame: int | None) -> None:
        """One task's predictions; ``frame`` is the image's frame, None for the project's video."""
        predictions = task.get("predictions", [])
        if not isinstance(predictions, list):
            raise FormatError(self.path, "\"predictions\" must be a list", place)
        for index, prediction in enumerate(predictions):
            where = f"{place}, predictions[{index}]"
            if not isinstance(prediction, dict) or not isinstance(prediction.get("result"), list):
                raise FormatError(self.path, "a prediction is an object with a \"result\" list", where)
            model = model_name(self.path, self.digest, prediction.get("model_version"))
            score = checked_score(prediction.get("score"), self.path, where, missing=UNKNOWN_SCORE)
            tags: dict[tuple[str, int, int], _Tag] = {}
            for number, result in enumerate(prediction["result"]):
                self._result(result, number, where, frame, score, model, tags)
            self.by_model[model] += [Suggestion(tag.first, tag.confidence, class_name=class_name,
                                                attributes=tag.attributes, last_frame=tag.last)
                                     for (class_name, _, _), tag in tags.items()]

    def _result(self, result: Any, number: int, where: str, frame: int | None, score: float, model: str,
                tags: dict) -> None:
        if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
            raise FormatError(self.path, "a result is an object with a \"value\" object", f"{where}, result {number}")
        place = f"{where}, result {result.get('id', number)}"
        kind = str(result.get("type", "")).lower()
        confidence = checked_score(result.get("score"), self.path, place, missing=score)
        value = result["value"]
        if kind in GEOMETRY_TYPES and frame is not None:
            self._region(kind, value, place, frame, confidence, model)
        elif kind == "videorectangle" and frame is None:
            self._video_boxes(value, place, confidence, model)
        elif kind == "choices":
            first, last = (frame, frame) if frame is not None else (0, self.project.sequence.frame_count - 1)
            for label in self._label_list(value, "choices", place):
                self._tag(label, str(result.get("from_name", "")), first, last, confidence, place, tags)
        elif kind == "timelinelabels" and frame is None:
            labels = self._label_list(value, "timelinelabels", place)
            for first, last in self._ranges(value, place):
                for label in labels:
                    self._tag(label, str(result.get("from_name", "")), first, last, confidence, place, tags)
        elif kind in GEOMETRY_TYPES | {"videorectangle", "timelinelabels"}:
            self.report.skip(self.path, f"{kind} results on a {'video' if frame is None else 'still image'}", place)
        else:
            self.report.skip(self.path, f"{kind or 'untyped'} results (not read)", place)

    # ---------------------------------------------------------- objects

    def _object_class(self, kind: str, value: dict, place: str) -> tuple[ClassSpec, dict, GeometryKind] | None:
        """The region's class, attributes and geometry kind; None (counted) when it has none to give."""
        labels = self._label_list(value, "labels" if kind == "videorectangle" else kind, place)
        if len(labels) != 1:
            self.report.skip(self.path, "regions without exactly one label", place)
            return None
        found = self.labels.object_class(labels[0])
        if found is None:
            self.report.skip(self.path, f"unknown label {labels[0]!r}", place)
            return None
        spec, attributes = found
        geometry = next((item for item in KINDS[kind] if item in spec.geometry), None)
        if geometry is None:
            self.report.skip(self.path, f"{kind} of a class that takes none of them ({spec.name})", place)
            return None
        return spec, attributes, geometry

    def _region(self, kind: str, value: dict, place: str, frame: int, confidence: float, model: str) -> None:
        found = self._object_class(kind, value, place)
        if found is None:
            return
        spec, attributes, geometry_kind = found
        if kind == "brushlabels":
            geometry = self._brush(value, geometry_kind, place)
            if geometry is not None:
                self.objects += 1
                self.by_model[model].append(Suggestion(frame, confidence, class_name=spec.name, geometry=geometry,
                                                       attributes=attributes, new_track=self.objects))
            return
        if kind == "rectanglelabels":
            points = self._box(value, place)
        elif kind == "polygonlabels":
            points = self._scaled(finite_numbers([v for point in self._point_list(value, place) for v in point],
                                                 self.path, place, "points").reshape(-1, 2))
        else:
            points = self._scaled(np.array([[self._number(value, "x", place), self._number(value, "y", place)]]))
        if points is None:
            return
        if geometry_kind is GeometryKind.POLYGON and kind == "rectanglelabels":
            (x0, y0), (x1, y1) = points
            points = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        geometry = fit_to_image(geometry_kind, points, self.project, self.report, self.path, place)
        if geometry is not None:
            self.objects += 1
            self.by_model[model].append(Suggestion(frame, confidence, class_name=spec.name, geometry=geometry,
                                                   attributes=attributes, new_track=self.objects))

    def _brush(self, value: dict, kind: GeometryKind, place: str) -> Geometry | None:
        """The brush's mask (or its bounds, for a box), cropped to its set pixels; None (counted) when it has none
        or is of another image size."""
        rle = value.get("rle")
        if value.get("format", "rle") != "rle" or not isinstance(rle, list) or not all(
                is_whole(byte) and 0 <= byte <= 255 for byte in rle):
            raise FormatError(self.path, "a brush needs \"rle\": a list of bytes (\"format\": \"rle\")", place)
        width, height = self.project.sequence.width, self.project.sequence.height
        if len(rle) >= 4 and int.from_bytes(bytes(rle[:4]), "big") != width * height * 4:
            self.report.skip(self.path, "brushes of another image size", place)  # the count of RGBA values
            return None
        try:
            pixels = decode_brush_rle(rle, width * height * 4)
        except ValueError as error:
            raise FormatError(self.path, f"brush RLE: {error}", place) from None
        mask = mask_from_image(pixels.reshape(height, width, 4)[:, :, 3] > 0, where=place)
        if mask is None:
            self.report.skip(self.path, "brushes of no pixels", place)
            return None
        if kind is GeometryKind.BOX:
            return fit_to_image(kind, np.reshape(mask.bounds(), (2, 2)), self.project, self.report, self.path, place)
        return mask

    def _video_boxes(self, value: dict, place: str, confidence: float, model: str) -> None:
        found = self._object_class("videorectangle", value, place)
        sequence = value.get("sequence")
        if not isinstance(sequence, list) or not sequence:
            raise FormatError(self.path, "a videorectangle needs a \"sequence\" of keyframes", place)
        if found is None:
            return
        spec, attributes, geometry_kind = found
        self.objects += 1
        for frame, corners in self._interpolated(sequence, place):
            where = f"{place}, frame {frame + 1}"
            if frame >= self.project.sequence.frame_count:
                self.report.skip(self.path, "boxes on frames the project does not have", where)
                continue
            if geometry_kind is GeometryKind.POLYGON:
                (x0, y0), (x1, y1) = corners
                corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            geometry = fit_to_image(geometry_kind, corners, self.project, self.report, self.path, where)
            if geometry is not None:
                self.by_model[model].append(Suggestion(frame, confidence, class_name=spec.name, geometry=geometry,
                                                       attributes=attributes, new_track=self.objects))

    def _interpolated(self, sequence: list, place: str) -> list[tuple[int, np.ndarray]]:
        """(0-based frame, box corners) on every frame the keyframes cover, as Label Studio draws them."""
        keys = []
        for index, key in enumerate(sequence):
            where = f"{place}, sequence[{index}]"
            if not isinstance(key, dict) or not is_whole(key.get("frame")) or key["frame"] < 1:
                raise FormatError(self.path, "a keyframe needs a \"frame\" counted from 1", where)
            corners = self._box(key, where)
            if corners is None:
                return []  # rotated: the whole object is left out (counted once)
            keys.append((key["frame"] - 1, corners, key.get("enabled", True) is not False, where))
        keys.sort(key=lambda item: item[0])
        boxes = []
        last_frame = self.project.sequence.frame_count - 1
        for index, (frame, corners, enabled, where) in enumerate(keys):
            if boxes and boxes[-1][0] == frame:
                raise FormatError(self.path, f"a second keyframe on frame {frame + 1}", where)
            boxes.append((frame, corners))
            if not enabled:
                continue
            following = keys[index + 1] if index + 1 < len(keys) else None
            end = min(following[0] if following else last_frame + 1, last_frame + 1)  # none past the project's
            for between in range(frame + 1, end):
                step = 0.0 if following is None else (between - frame) / (following[0] - frame)
                boxes.append((between, corners + step * ((following[1] if following else corners) - corners)))
        return boxes

    def _box(self, value: dict, place: str) -> np.ndarray | None:
        """(x0, y0), (x1, y1) in pixels of a percent box; None (counted) when it is rotated."""
        numbers = [self._number(value, name, place) for name in ("x", "y", "width", "height")]
        if value.get("rotation", 0) not in (0, 0.0, None):
            self.report.skip(self.path, "rotated boxes (rotation is not 0)", place)
            return None
        x, y, width, height = numbers
        return self._scaled(np.array([[x, y], [x + width, y + height]]))

    def _scaled(self, percent: np.ndarray) -> np.ndarray:
        return percent * [self.project.sequence.width / 100, self.project.sequence.height / 100]

    def _number(self, value: dict, name: str, place: str) -> float:
        return float(finite_numbers([value.get(name)], self.path, place, name)[0])

    def _point_list(self, value: dict, place: str) -> list:
        points = value.get("points")
        if not isinstance(points, list) or not all(isinstance(point, list) and len(point) == 2 for point in points):
            raise FormatError(self.path, "polygon \"points\" must be a list of [x, y] in percent", place)
        return points

    def _label_list(self, value: dict, key: str, place: str) -> list[str]:
        labels = value.get(key, [])
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise FormatError(self.path, f"{key!r} must be a list of labels", place)
        return labels

    # ---------------------------------------------------------- frame-range tags

    def _ranges(self, value: dict, place: str) -> list[tuple[int, int]]:
        ranges = value.get("ranges")
        if not isinstance(ranges, list):
            raise FormatError(self.path, "a timeline needs \"ranges\" [{\"start\": ..., \"end\": ...}]", place)
        found = []
        count = self.project.sequence.frame_count
        for item in ranges:
            if not isinstance(item, dict) or not is_whole(item.get("start")) or not is_whole(item.get("end")) \
                    or not 1 <= item["start"] <= item["end"]:
                raise FormatError(self.path, f"a range needs whole frames 1 <= start <= end, got {item!r}", place)
            if item["start"] > count:
                self.report.skip(self.path, "ranges on frames the project does not have", place)
                continue
            found.append((item["start"] - 1, min(item["end"], count) - 1))
        return found

    def _tag(self, label: str, control: str, first: int, last: int, confidence: float, place: str,
             tags: dict) -> None:
        found = self.labels.tag_class(label, control)
        if found is None:
            self.report.skip(self.path, f"unknown label {label!r}", place)
            return
        spec, attributes = found
        tag = tags.setdefault((spec.name, first, last), _Tag(first, last, {}, confidence))
        if any(tag.attributes.get(name, value) != value for name, value in attributes.items()):
            self.report.skip(self.path, "a second value for an attribute of one tag", place)
            return
        tag.attributes.update(attributes)
        tag.confidence = min(tag.confidence, confidence)


def decode_brush_rle(values: list[int], count: int) -> np.ndarray:
    """The ``count`` values a Label Studio brush RLE holds (the module's docstring); ValueError for another count
    (before anything is allocated) or a stream that is not whole."""
    bits = (np.unpackbits(np.asarray(values, dtype=np.uint8)) + ord("0")).tobytes().decode("ascii")
    position = 0

    def read(size: int) -> int:
        nonlocal position
        if position + size > len(bits):
            raise ValueError("the runs end before the image does")
        position += size
        return int(bits[position - size:position], 2)

    if len(bits) < 49:
        raise ValueError("too short for its header")
    held = read(32)
    if held != count:
        raise ValueError(f"holds {held:,} values, the image's RGBA pixels are {count:,}")
    word = read(5) + 1
    run_sizes = [read(4) + 1 for _ in range(4)]
    out = np.zeros(count, np.uint32)
    start = 0
    while start < count:
        repeated = read(1)
        end = start + 1 + read(run_sizes[read(2)])
        if end > count:
            raise ValueError("a run goes past the image's end")
        if repeated:
            out[start:end] = read(word)
        else:
            out[start:end] = [read(word) for _ in range(end - start)]
        start = end
    return out
