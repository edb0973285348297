"""COCO results JSON (what detectors write for COCO evaluation), imported as suggestions.

    [{"image_id": 4, "category_id": 3, "bbox": [258.2, 41.3, 34.8, 43.8], "score": 0.236},
     {"image_id": 4, "category_id": 9, "segmentation": {"size": [360, 640], "counts": "..."}, "score": 0.71}, ...]

This is pycocotools' ``loadRes`` format (cocoapi's ``results/instances_val2014_fake*_results.json``): a list
of detections, each with ``image_id``, ``category_id``, ``score`` and a ``bbox`` [x, y, width, height] or a
``segmentation`` (compressed RLE over the image, as pycocotools writes it, or one polygon ring).  The ids are
those of a COCO annotation file:

* with ``images_json`` (``--images-json FILE``), that file's ``images`` and ``categories``: images are matched
  to the project's frames as the ``coco`` import matches them (``file_name``, else ``frame_index``), categories
  by name;
* without it, the ids of this project's own ``coco`` export (image id = frame index + 1; category ids 1..N in
  taxonomy order), so results of a model run on that export import as they are.

Category names map to classes as ``predictions`` says (``traffic light`` is ``traffic-light``).  The geometry
is the first the class takes of: a mask (RLE segmentation), a polygon (polygon segmentation), a box (``bbox``,
else the segmentation's bounds).  Each detection is one new object.  Every detection is checked before
anything is written: a score outside 0..1, an image id that is not an image of the file, a category id that is
not a category of it, a bbox that is not 4 numbers give one line naming the detection; a box past the image
border is clipped or skipped by the import policy (``import_report``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core import FormatError, Geometry, GeometryKind, Project, RoadlabelError, Source
from ...core.suggestions import Suggestion
from .coco import category_names, coco_categories, image_frames, polygon_ring, rle_mask
from .import_report import ImportReport, fit_to_image
from .json_files import checked_score, finite_numbers, is_whole, load_json
from .predictions import (
    LabelMap,
    PredictionReport,
    check_suggested,
    file_digest,
    model_name,
    write_predictions,
)


def import_coco_results(project: Project, path: str | Path, *, images_json: str | Path | None = None,
                        source: Source = Source.SUGGESTED, strict: bool = False) -> PredictionReport:
    """Write the file's detections on this project's frames as suggestions; returns the import's report."""
    check_suggested(source)
    path = Path(path)
    report = PredictionReport("coco-results", str(path), strict=strict)
    detections = load_json(path)
    if not isinstance(detections, list) or not all(isinstance(item, dict) for item in detections):
        raise FormatError(path, "COCO results are a list of detections {\"image_id\", \"category_id\", \"bbox\" or "
                                "\"segmentation\", \"score\"}")
    images, frames, categories = _ids(project, images_json, report)
    labels = LabelMap(project.taxonomy)
    suggestions = []
    for index, detection in enumerate(detections):
        place = f"detection {index}"
        image_id, category_id = detection.get("image_id"), detection.get("category_id")
        if not is_whole(image_id) or image_id not in images:
            raise FormatError(path, f"image_id {image_id!r} is not an image of {_where_ids(images_json)}", place)
        if not is_whole(category_id) or category_id not in categories:
            raise FormatError(path, f"category_id {category_id!r} is not a category of {_where_ids(images_json)}",
                              place)
        confidence = checked_score(detection.get("score"), path, place, required=True)
        if image_id not in frames:
            continue  # an image of another sequence (counted with the images)
        found = labels.object_class(categories[category_id])
        if found is None:
            report.skip(path, f"unknown category {categories[category_id]!r}", place)
            continue
        spec, attributes = found
        try:
            geometry = _geometry(detection, spec.geometry, project, report, path, place)
        except RoadlabelError as error:
            raise FormatError(path, error.reason, place) from None
        if geometry is not None:
            suggestions.append(Suggestion(frames[image_id], confidence, class_name=spec.name, geometry=geometry,
                                          attributes=attributes))
    report.entries = len(set(frames.values()))
    return write_predictions(project, report, {model_name(path, file_digest(path)): suggestions})


def _ids(project: Project, images_json: str | Path | None, report: ImportReport) -> tuple[set, dict, dict]:
    """(image ids, image id -> frame, category id -> name) of the annotation file, or of the project's export."""
    if images_json is None:
        count = project.sequence.frame_count
        frames = {frame + 1: frame for frame in range(count)}
        return set(frames), frames, {item["id"]: item["name"] for item in coco_categories(project.taxonomy)}
    images_json = Path(images_json)
    data = load_json(images_json)
    if not isinstance(data, dict) or not all(isinstance(data.get(key), list) for key in ("images", "categories")):
        raise FormatError(images_json, "a COCO annotation file is an object with \"images\" and \"categories\" lists")
    images, frames = image_frames(data["images"], images_json, project, report)
    return images, frames, category_names(data["categories"], images_json)


def _where_ids(images_json: str | Path | None) -> str:
    return str(images_json) if images_json is not None else "this project's COCO export (give --images-json FILE)"


def _geometry(detection: dict, kinds: tuple[GeometryKind, ...], project: Project, report: ImportReport, path: Path,
              place: str) -> Geometry | None:
    """The detection's geometry, of the first kind the class takes (module docstring); None when skipped."""
    segmentation, bbox = detection.get("segmentation"), detection.get("bbox")
    if isinstance(segmentation, dict) and GeometryKind.MASK in kinds:
        return rle_mask(segmentation, project, report, path, place)
    if isinstance(segmentation, list) and GeometryKind.POLYGON in kinds:
        return fit_to_image(GeometryKind.POLYGON, polygon_ring(segmentation), project, report, path, place)
    if GeometryKind.BOX not in kinds:
        takes = ", ".join(kind.value for kind in kinds)
        report.skip(path, f"detections of a class that takes none of their geometry ({takes})", place)
        return None
    if bbox is not None:
        box = finite_numbers(bbox, path, place, "bbox")
        if len(box) != 4 or (box[2:] < 0).any():
            raise FormatError(path, f"bbox must be [x, y, width, height] with width and height >= 0, got "
                                    f"{box.tolist()}", place)
        corners = [box[:2], box[:2] + box[2:]]
    elif isinstance(segmentation, list):
        outline = polygon_ring(segmentation)
        corners = [outline.min(axis=0), outline.max(axis=0)]
    elif isinstance(segmentation, dict):
        mask = rle_mask(segmentation, project, report, path, place)
        return None if mask is None else fit_to_image(GeometryKind.BOX, np.reshape(mask.bounds(), (2, 2)),
                                                      project, report, path, place)
    else:
        raise FormatError(path, "a detection needs a \"bbox\" or a \"segmentation\"", place)
    return fit_to_image(GeometryKind.BOX, corners, project, report, path, place)
