"""COCO object detection / segmentation JSON: one file, one image per exported frame.

    {"info": {...}, "licenses": [],
     "videos": [{"id": 1, "name": "clip", "file_name": "../clip.mp4", "frame_count": 12, "fps": 10.0}],
     "images": [{"id": 2, "file_name": "clip/000001.jpg", "width": 160, "height": 90,
                 "frame_index": 1, "video_id": 1, "video": "clip"}, ...],
     "categories": [{"id": 4, "name": "traffic-light", "supercategory": "road-default", "geometry": ["box"]}, ...],
     "annotations": [{"id": 1, "image_id": 2, "category_id": 4, "bbox": [100, 5, 10, 25], "area": 250,
                      "iscrowd": 0, "segmentation": [[100, 5, 110, 5, 110, 30, 100, 30]], "shape": "box",
                      "track_id": 3, "attributes": {"state": "red", ...}, "source": "manual"}, ...]}

Images: ``id`` is the frame index + 1, ``file_name`` names the frame as the
other formats do (``lane_frames.frame_files``), ``frame_index`` is 0-based.
Categories: every class of the taxonomy except frame-range classes, ids 1..N
in taxonomy order.  Annotations, one per object per exported frame, by
geometry (``shape`` says which, so an import gets the same kind back):

    box        bbox; segmentation is the box's rectangle (so mask tools see it)
    polygon    segmentation [[x, y, ...]] (one ring); bbox its bounds; area by the shoelace formula
    polyline   keypoints [x, y, 2, ...] in drawing order: the line exactly.  For mask tools also a
               segmentation: the line stroked ``line_width`` px wide (default 4) and cut to the image;
               bbox and area are the stroke's.  Import reads the keypoints.
    point      keypoints [x, y, 2], num_keypoints 1; bbox [x, y, 0, 0], area 0
    keypoints  keypoints [x, y, 2, ...] (unnamed, any number); bbox their bounds, area the bbox's
    mask       segmentation as pycocotools' compressed RLE over the whole image
               ({"size": [h, w], "counts": "..."}, column-major); bbox the set pixels', area their count
    skeleton   COCO keypoints: keypoints [x, y, v, ...] in the category's point order (v 2 visible,
               1 occluded; an absent point 0, 0, 0), num_keypoints the placed points; bbox their
               bounds, area the bbox's.  The class's category has "keypoints" (its point names) and
               "skeleton" (its edges as 1-based point numbers), as COCO's person category does

Coordinates are written as the project holds them, unshifted: the project's
image spans 0..width x 0..height as COCO's does, so a COCO box on the image
border imports as it is.  (Read as pixel centres, as ``masks.py`` does, COCO's
pixel edges sit half a pixel further out.)

Every annotation has ``iscrowd`` 0, ``track_id`` (ours: the same object on
other frames), ``attributes`` (track-level and per-frame together), ``source``
and, where known, ``score`` (the state's confidence).  Frame-range tags have no
place in COCO: each tag that covers an exported frame is counted as dropped in
the mapping report.

Import reads and checks the whole file first: JSON, the three lists, each
image's frame (by ``file_name``, as ``frame_match`` matches a dataset's entries
to a project's frames; by ``frame_index`` only for an image without a
``file_name``; its size must be the project's), each annotation's category (by
name: it must be a class of the project's taxonomy), numbers (finite, not
strings or booleans), attributes against the taxonomy, and that annotations
sharing a ``track_id`` agree on class and track-level attributes and are on
different frames.  Images of other sequences (a file spanning many videos) are
counted in the import's report and their annotations left out; the import fails
only when no image is for this project.  Geometry at or past the image border
is fitted to it by the import policy (``import_report``: clipped or skipped, and
counted); a self-crossing polygon is refused.  Then, in one undo step, one track
per ``track_id`` (an annotation without one is a track of its own) gets a state
on each of its frames.  The geometry kind is ``shape`` when given, else the
first the class takes of: an RLE segmentation (mask), a polygon segmentation
(polygon), keypoints (polyline, point, keypoints; points with visibility 0 are
left out) and the bbox (box); but when the category names its points (``keypoints``,
as a person_keypoints file does), keypoints with a labeled point are a skeleton if the
class has one (named points map to the class's by name, those left out are absent),
and are otherwise passed over (COCO's unlabeled people come in as their box).  A box is the bounds of its one-polygon
segmentation when it has one, else the bbox.  A mask comes back cropped to its
set pixels; RLE counts may be a list or pycocotools' compressed string, and are
checked (whole, non-negative, covering the image) before a pixel is made.
Refused: crowd regions (iscrowd 1) and segmentations of several polygons (our
polygons have one ring).
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ... import __version__
from ...core import (
    FormatError,
    FrameObject,
    Geometry,
    GeometryError,
    GeometryKind,
    Project,
    RoadlabelError,
    Source,
)
from ...core.geometry import ABSENT, clip_polygon_to_image, mask_from_image
from ...core.taxonomy import ClassSpec, Taxonomy
from .frame_match import Entry, frame_files, match_entries
from .geojson import check_run_lengths
from .import_report import ImportReport, fit_skeleton_to_image, fit_to_image
from .json_files import JSONArray, checked_score, finite_numbers, is_whole, load_json, write_export
from .lane_frames import frames_to_export
from .report import MappingReport

LINE_WIDTH = 4.0  # px: how wide a polyline's segmentation stroke is
VIDEO_ID = 1
VISIBLE = 2  # COCO keypoint visibility: labeled and visible
OBJECTS_AT_ONCE = 100  # objects whose fields are computed together (see _in_groups)
NO_TAGS = "COCO has no frame-range tags"
KEYPOINT_KINDS = (GeometryKind.POLYLINE, GeometryKind.POINT, GeometryKind.KEYPOINTS)


# ---------------------------------------------------------------- export


def coco_categories(taxonomy: Taxonomy) -> list[dict]:
    """The COCO categories of a taxonomy: every class but the frame-range ones, ids 1..N in taxonomy order."""
    carried = [spec for spec in taxonomy if not spec.is_tag]
    return [{"id": number, "name": spec.name, "supercategory": taxonomy.name,
             "geometry": [kind.value for kind in spec.geometry], **_skeleton_category(spec)}
            for number, spec in enumerate(carried, start=1)]


def _skeleton_category(spec: ClassSpec) -> dict:
    """A skeleton class's point names and edges (1-based point numbers), as COCO's keypoint categories have."""
    if spec.skeleton is None:
        return {}
    return {"keypoints": list(spec.skeleton.points),
            "skeleton": [[first + 1, second + 1] for first, second in spec.skeleton.edge_indices()]}


def export_coco(project: Project, path: str | Path, *, frames: range | None = None, every: int = 1,
                line_width: float = LINE_WIDTH, overwrite: bool = False,
                progress: Callable[[int], None] | None = None) -> MappingReport:
    """Write one COCO JSON file for the frames (every ``every``-th of ``frames``) and the mapping report beside it."""
    if not (isinstance(line_width, (int, float)) and math.isfinite(line_width) and line_width > 0):
        raise GeometryError(None, f"the line width must be a positive number of pixels, got {line_width!r}")
    width, height = project.sequence.width, project.sequence.height
    names = frame_files(project)
    video = PurePosixPath(names[0]).parent.name or project.source_path().stem
    categories = coco_categories(project.taxonomy)
    category_ids = {category["name"]: category["id"] for category in categories}
    report = MappingReport("coco", progress=progress)
    chosen = frames_to_export(project, frames, every)
    images, annotations = JSONArray(), JSONArray()
    written = 0
    for group, objects in _in_groups(project, chosen):
        images.extend([{"id": frame + 1, "file_name": names[frame], "width": width, "height": height,
                        "frame_index": frame, "video_id": VIDEO_ID, "video": video} for frame in group])
        annotations.extend(_annotations(objects, written + 1, category_ids, width, height, line_width))
        written += len(objects)
        for obj in objects:
            report.wrote(obj.track.class_name, {})  # COCO carries every attribute
        report.frame_done(len(group))
    for tag in project.tags():
        if any(tag.covers(frame) for frame in chosen):
            report.drop(tag.class_name, NO_TAGS)
    document = {"info": _info(project), "licenses": [], "videos": [_video(project, video)], "images": images,
                "categories": categories, "annotations": annotations}
    return write_export(path, document, report, overwrite=overwrite)


def _in_groups(project: Project, chosen: range) -> Iterator[tuple[list[int], list[FrameObject]]]:
    """The chosen frames with their objects, a few frames at a time: enough objects that numpy's cost per call is
    shared, few enough that they are freed before the garbage collector takes them for long-lived (see JSONArray)."""
    frames: list[int] = []
    objects: list[FrameObject] = []
    for frame in chosen:
        frames.append(frame)
        objects += project.objects_on(frame)
        if len(objects) >= OBJECTS_AT_ONCE:
            yield frames, objects
            frames, objects = [], []
    if frames:
        yield frames, objects


def _annotations(objects: list[FrameObject], first_id: int, category_ids: dict[str, int], width: int, height: int,
                 line_width: float) -> list[dict]:
    """The objects' annotations, numbered from ``first_id``."""
    fields = _fields([obj.state.geometry for obj in objects], width, height, line_width)
    return [_annotation_of(obj, number, category_ids[obj.track.class_name], shape_fields)
            for number, (obj, shape_fields) in enumerate(zip(objects, fields, strict=True), first_id)]


def _annotation_of(obj: FrameObject, number: int, category_id: int, shape_fields: dict) -> dict:
    state = obj.state
    annotation = {"id": number, "image_id": state.frame + 1, "category_id": category_id, **shape_fields,
                  "shape": state.geometry.kind.value, "track_id": obj.track.id, "attributes": obj.attributes,
                  "source": state.source.value}
    if state.confidence is not None:
        annotation["score"] = state.confidence
    return annotation


def _info(project: Project) -> dict:
    return {"description": f"napari-roadlabel export of {project.sequence.source}", "version": "1.0",
            "year": datetime.date.today().year, "contributor": project.metadata.get("annotator", ""),
            "date_created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "url": "", "producer": f"napari-roadlabel {__version__}"}


def _video(project: Project, name: str) -> dict:
    sequence = project.sequence
    return {"id": VIDEO_ID, "name": name, "file_name": sequence.source, "frame_count": sequence.frame_count,
            "fps": sequence.fps, "width": sequence.width, "height": sequence.height}


# ---------------------------------------------------------------- annotation fields, by geometry


def _fields(geometries: list[Geometry], width: int, height: int, line_width: float) -> list[dict]:
    """bbox, area, iscrowd, and segmentation and/or keypoints of each geometry (see the module docstring).

    Geometries of one kind and number of points go through numpy together, a call per batch: one call per object
    (a dozen of them for a stroke) was most of a long export's time.
    """
    batches: dict[tuple[GeometryKind, int], list[int]] = defaultdict(list)
    for index, geometry in enumerate(geometries):
        batches[geometry.kind, len(geometry.points)].append(index)
    fields: list[dict] = [{}] * len(geometries)
    for (kind, _), indices in batches.items():
        found = _batch_fields(kind, [geometries[index] for index in indices], width, height, line_width)
        for index, one in zip(indices, found, strict=True):
            fields[index] = one
    return fields


def _batch_fields(kind: GeometryKind, geometries: list[Geometry], width: int, height: int,
                  line_width: float) -> list[dict]:
    """The fields of geometries of one kind and number of points."""
    if kind is GeometryKind.MASK:
        return [_mask_fields(geometry, width, height) for geometry in geometries]
    if kind is GeometryKind.SKELETON:
        return [_skeleton_fields(geometry) for geometry in geometries]
    points = np.stack([geometry.points for geometry in geometries])
    if kind is GeometryKind.POLYLINE:
        return [{**shape, **keypoints} for shape, keypoints in
                zip(_stroke_fields(points, line_width / 2, width, height), _keypoints(points), strict=True)]
    if kind is GeometryKind.POLYGON:
        return _ring_fields(points)
    bboxes = _bboxes(points)
    if kind is GeometryKind.BOX:  # for mask tools also its rectangle as segmentation
        return [{"bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": 0,
                 "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]]}
                for bbox, (x0, y0, x1, y1) in zip(bboxes, points.reshape(-1, 4).tolist(), strict=True)]
    return [{"bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": 0, **keypoints}  # point, keypoints
            for bbox, keypoints in zip(bboxes, _keypoints(points), strict=True)]


def _stroke_fields(lines: np.ndarray, half_width: float, width: int, height: int) -> list[dict]:
    """The ring fields of each line's stroke, cut to the image: the strokes together, and one at a time only the
    ones to cut (and lines with a zero-length segment, whose outline is shorter)."""
    if not (np.diff(lines, axis=1) != 0).any(axis=2).all():
        return [_cut_ring_fields(stroke(line, half_width), width, height) for line in lines]
    outlines = strokes(lines, half_width)
    inside = ((outlines >= 0) & (outlines <= [width, height])).all(axis=(1, 2))
    whole = iter(_ring_fields(outlines[inside]))
    return [next(whole) if ok else _cut_ring_fields(outline, width, height)
            for outline, ok in zip(outlines, inside, strict=True)]


def _cut_ring_fields(outline: np.ndarray, width: int, height: int) -> dict:
    return _ring_fields(clip_polygon_to_image(outline, width, height)[None])[0]


def _ring_fields(rings: np.ndarray) -> list[dict]:
    """Polygons ((M, N, 2)) as one-ring segmentations, with their bounds and shoelace areas."""
    flat = rings.reshape(len(rings), 2 * rings.shape[1]).tolist()  # M may be 0: no -1 to infer
    return [{"bbox": bbox, "area": area, "iscrowd": 0, "segmentation": [ring]}
            for bbox, area, ring in zip(_bboxes(rings), _areas(rings), flat, strict=True)]


def _mask_fields(geometry: Geometry, width: int, height: int) -> dict:
    full = _full_mask(geometry, width, height)
    ys, xs = np.nonzero(full)
    x0, y0 = int(xs.min()), int(ys.min())
    return {"bbox": [x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0], "area": int(full.sum()),
            "iscrowd": 0, "segmentation": rle_encode(full)}


def _bboxes(points: np.ndarray) -> list[list[float]]:
    """[x, y, width, height] of each of ``points`` ((M, N, 2))."""
    low, high = points.min(axis=1), points.max(axis=1)
    return np.concatenate([low, high - low], axis=1).tolist()


def _areas(rings: np.ndarray) -> list[float]:
    """The shoelace area of each ring ((M, N, 2)).  Each dot product is one ring's, on the memory layout it always
    had (x strided, the rolled y contiguous): BLAS may sum in another order otherwise, and an area would change in
    its last digits."""
    xs, ys = rings[:, :, 0], rings[:, :, 1]
    x_next = np.concatenate([xs[:, 1:], xs[:, :1]], axis=1)  # np.roll(xs, -1, axis=1), in a fraction of the time
    y_next = np.concatenate([ys[:, 1:], ys[:, :1]], axis=1)
    return (np.abs(np.subtract(list(map(np.dot, xs, y_next)), list(map(np.dot, ys, x_next)))) / 2).tolist()


def _keypoints(points: np.ndarray) -> list[dict]:
    """Each of ``points`` ((M, N, 2)) as COCO keypoints [x, y, visibility, ...]."""
    visible = np.full((*points.shape[:2], 1), VISIBLE)
    return [{"keypoints": values, "num_keypoints": points.shape[1]}
            for values in np.concatenate([points, visible], axis=2).reshape(len(points), -1).tolist()]


def _skeleton_fields(geometry: Geometry) -> dict:
    placed = geometry.visibility != ABSENT
    keypoints = []
    for (x, y), visibility in zip(np.nan_to_num(geometry.points).tolist(), geometry.visibility.tolist(), strict=True):
        keypoints += [x, y, visibility]  # an absent point: 0, 0, 0
    (bbox,) = _bboxes(geometry.points[placed][None])
    return {"bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": 0, "keypoints": keypoints,
            "num_keypoints": int(placed.sum())}


def stroke(points: np.ndarray, half_width: float) -> np.ndarray:
    """The outline of a polyline drawn ``2 * half_width`` wide: one side forward, the other back."""
    points = np.asarray(points, dtype=float)
    keep = np.concatenate([[True], (np.diff(points, axis=0) != 0).any(axis=1)])
    points = points[keep]  # no zero-length segments
    if len(points) < 2:  # every point the same: a square around it
        (x, y), h = points[0], half_width
        return np.array([[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h]])
    return strokes(points[None], half_width)[0]


def strokes(lines: np.ndarray, half_width: float) -> np.ndarray:
    """``stroke`` of many lines of as many points at once ((M, N, 2) -> (M, 2N, 2)); none may have a zero-length
    segment."""
    segments = np.diff(lines, axis=1)
    segment_lengths = np.hypot(segments[..., 0], segments[..., 1])[..., None]
    normals = np.stack([-segments[..., 1], segments[..., 0]], axis=-1) / segment_lengths
    at_points = np.concatenate([normals[:, :1], normals[:, :-1] + normals[:, 1:], normals[:, -1:]], axis=1)
    lengths = np.hypot(at_points[..., 0], at_points[..., 1])[..., None]
    at_points = np.where(lengths > 1e-9, at_points / np.maximum(lengths, 1e-9),
                         np.concatenate([normals, normals[:, -1:]], axis=1))
    return np.concatenate([lines + at_points * half_width, (lines - at_points * half_width)[:, ::-1]], axis=1)


def _full_mask(geometry: Geometry, width: int, height: int) -> np.ndarray:
    """The mask placed on a whole ``height`` x ``width`` image (cut where it would reach outside)."""
    x0, y0 = np.round(geometry.points[0]).astype(int).tolist()
    h, w = geometry.mask.shape
    full = np.zeros((height, width), dtype=bool)
    top, left = max(0, y0), max(0, x0)
    bottom, right = min(height, y0 + h), min(width, x0 + w)
    if bottom > top and right > left:
        full[top:bottom, left:right] = geometry.mask[top - y0:bottom - y0, left - x0:right - x0]
    return full


# ---------------------------------------------------------------- RLE, as pycocotools writes it


def rle_encode(mask: np.ndarray) -> dict:
    """COCO's compressed RLE of a boolean image: column-major runs starting with zeros, as pycocotools encodes."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return {"size": list(mask.shape), "counts": _compress(runs)}


def rle_decode(rle: dict) -> np.ndarray:
    """The boolean image of a COCO RLE (counts a list, or pycocotools' compressed string).  ValueError if bad."""
    height, width = rle["size"]
    counts = rle["counts"]
    runs = check_run_lengths(_decompress(counts) if isinstance(counts, str) else counts, height, width)
    values = np.arange(len(runs)) % 2 == 1  # the runs are checked to cover the image: no more is allocated
    return np.repeat(values, runs).reshape((height, width), order="F")


def _compress(runs: list[int]) -> str:
    """pycocotools' rleToString: each count (after the second, as a difference) in 5-bit groups from '0'."""
    text = []
    for index, count in enumerate(runs):
        value = count - runs[index - 2] if index > 2 else count
        more = True
        while more:
            chunk = value & 0x1F
            value >>= 5
            more = value != -1 if chunk & 0x10 else value != 0
            text.append(chr(chunk + 48 + (0x20 if more else 0)))
    return "".join(text)


def _decompress(text: str) -> list[int]:
    """pycocotools' rleFrString."""
    runs: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(text):
                raise ValueError("the compressed counts end in the middle of a number")
            chunk = ord(text[position]) - 48
            if not 0 <= chunk < 64:
                raise ValueError(f"{text[position]!r} is not a compressed RLE character")
            value |= (chunk & 0x1F) << 5 * shift
            more = bool(chunk & 0x20)
            position += 1
            shift += 1
            if not more and chunk & 0x10:
                value |= -1 << 5 * shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class _Parsed:
    place: str
    frame: int
    class_name: str
    track_key: object
    track_attributes: dict
    frame_attributes: dict
    geometry: Geometry | None  # None: skipped by the border policy
    confidence: float | None


def import_coco(project: Project, path: str | Path, *, source: Source = Source.IMPORTED,
                strict: bool = False) -> ImportReport:
    """Add the annotations of the file's images of this project's frames as states of tracks (one per track_id);
    images of other sequences are counted, not imported.  Returns the import's report, also written into the
    project.

    All or nothing: the whole file is checked before anything is added, and the additions are one undo step.
    """
    path = Path(path)
    report = ImportReport("coco", str(path), strict=strict)
    data = _load(path)
    images, frames = image_frames(data["images"], path, project, report)
    categories = category_names(data["categories"], path)
    point_names = category_points(data["categories"], path)
    parsed = [_annotation(annotation, index, path, project, images, frames, categories, point_names, report)
              for index, annotation in enumerate(data["annotations"])]
    tracks = _tracks([item for item in parsed if item is not None], path)
    with project.group(f"import COCO {path.name}"):
        for members in tracks.values():
            kept = sorted((item for item in members if item.geometry is not None), key=lambda item: item.frame)
            if not kept:
                continue  # every state skipped by the border policy
            track = project.add_track(members[0].class_name, members[0].track_attributes)
            for item in kept:
                project.set_state(track.id, item.frame, item.geometry, item.frame_attributes, source=source,
                                  confidence=item.confidence)
                report.added(item.class_name, item.geometry.kind)
    report.write_into(project)
    return report


def _load(path: Path) -> dict:
    data = load_json(path)
    if not isinstance(data, dict) or not all(isinstance(data.get(key), list)
                                             for key in ("images", "annotations", "categories")):
        raise FormatError(path, "a COCO file is an object with \"images\", \"annotations\" and \"categories\" lists")
    return data


def image_frames(images: list, path: Path, project: Project, report: ImportReport) -> tuple[set[int], dict[int, int]]:
    """The file's image ids, and image id -> frame for its images of this project: by ``file_name`` as
    frame_match matches entries (the others counted in ``report``), by ``frame_index`` for an image without one.
    An image of the project must have its size."""
    ids: set[int] = set()
    named: list[Entry] = []
    frames: dict[int, int] = {}
    count = project.sequence.frame_count
    for index, image in enumerate(images):
        if not isinstance(image, dict) or not is_whole(image.get("id")):
            raise FormatError(path, "an image needs an integer \"id\"", f"images[{index}]")
        place = f"image {image['id']}"
        if image["id"] in ids:
            raise FormatError(path, "a second image with this id", place)
        ids.add(image["id"])
        name, number = image.get("file_name"), image.get("frame_index")
        if isinstance(name, str) and name:
            named.append(Entry(name, path, place, image))
        elif name is None and is_whole(number) and 0 <= number < count:
            frames[image["id"]] = number
        else:
            raise FormatError(path, f"an image needs a file_name, or a frame_index that is one of the project's frames "
                                    f"(0..{count - 1}); got file_name {name!r}, frame_index {number!r}", place)
    by_index = {frame: image_id for image_id, frame in frames.items()}
    for frame, entry in match_entries(project, named, report):
        if frame in by_index:
            raise FormatError(path, f"image {by_index[frame]} (by frame_index) and {entry.place} ({entry.name!r}) are "
                                    f"both frame {frame}", f"image {by_index[frame]}")
        frames[entry.labels["id"]] = frame
    for image in images:
        if image["id"] in frames:
            _check_size(image, project, path)
    return ids, frames


def _check_size(image: dict, project: Project, path: Path) -> None:
    sequence = project.sequence
    size = (image.get("width", sequence.width), image.get("height", sequence.height))
    if size != (sequence.width, sequence.height):
        raise FormatError(path, f"the image is {size[0]}x{size[1]}, the project's frames are "
                                f"{sequence.width}x{sequence.height}", f"image {image['id']}")


def category_names(categories: list, path: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    for index, category in enumerate(categories):
        place = f"categories[{index}]"
        if not isinstance(category, dict) or not is_whole(category.get("id")) or not isinstance(category.get("name"),
                                                                                                  str):
            raise FormatError(path, "a category needs an integer \"id\" and a \"name\"", place)
        if category["id"] in names:
            raise FormatError(path, f"a second category with id {category['id']}", place)
        names[category["id"]] = category["name"]
    return names


def category_points(categories: list, path: Path) -> dict[int, tuple[str, ...]]:
    """Category id -> its keypoints' names, for the categories that name them (checked: text, each once)."""
    names = {}
    for index, category in enumerate(categories):
        points = category.get("keypoints")
        if points is None:
            continue
        if not isinstance(points, list) or not all(isinstance(name, str) for name in points) or \
                len(set(points)) != len(points):
            raise FormatError(path, f"a category's \"keypoints\" must name its points, each once, got "
                                    f"{repr(points)[:80]}", f"categories[{index}]")
        names[category["id"]] = tuple(points)
    return names


def _annotation(annotation: Any, index: int, path: Path, project: Project, images: set[int], frames: dict[int, int],
                categories: dict[int, str], point_names: dict[int, tuple[str, ...]],
                report: ImportReport) -> _Parsed | None:
    """The annotation checked, its geometry fitted to the image (None: skipped); None for an image of another
    sequence."""
    has_id = isinstance(annotation, dict) and is_whole(annotation.get("id"))
    place = f"annotation {annotation['id']}" if has_id else f"annotations[{index}]"
    if not isinstance(annotation, dict):
        raise FormatError(path, "an annotation must be an object", place)
    image_id, category_id = annotation.get("image_id"), annotation.get("category_id")
    if not is_whole(image_id) or image_id not in images:
        raise FormatError(path, f"image_id {image_id!r} is not an image of the file", place)
    if image_id not in frames:
        return None  # an image of another sequence (counted with the images)
    if not is_whole(category_id) or category_id not in categories:
        raise FormatError(path, f"category_id {category_id!r} is not one of the file's categories", place)
    spec = _class_of(categories[category_id], project.taxonomy, path, place)
    if annotation.get("iscrowd", 0) not in (0, False):
        raise FormatError(path, "a crowd region (iscrowd 1) is not one object; napari-roadlabel cannot hold it",
                          place)
    bbox = finite_numbers(annotation.get("bbox"), path, place, "bbox")
    if len(bbox) != 4 or (bbox[2:] < 0).any():
        raise FormatError(path, f"bbox must be [x, y, width, height] with width and height >= 0, got {bbox.tolist()}",
                          place)
    try:
        names = point_names.get(category_id)
        kind = _kind(annotation, spec, named=names is not None)
        geometry = _skeleton(annotation, names, spec, project, report, path, place) \
            if kind is GeometryKind.SKELETON else _geometry(kind, annotation, bbox, project, report, path, place)
        attributes = annotation.get("attributes", {})
        if not isinstance(attributes, dict):
            raise FormatError(None, "\"attributes\" must be an object")
        track_attributes, frame_attributes = spec.split_attributes(attributes)
    except RoadlabelError as error:
        raise FormatError(path, error.reason, place) from None
    track_id = annotation.get("track_id")
    if track_id is not None and not is_whole(track_id):
        raise FormatError(path, f"track_id must be an integer, got {track_id!r}", place)
    return _Parsed(place, frames[image_id], spec.name, ("track", track_id) if track_id is not None else ("own", index),
                   track_attributes, frame_attributes, geometry, checked_score(annotation.get("score"), path, place))


def _class_of(name: str, taxonomy: Taxonomy, path: Path, place: str) -> ClassSpec:
    if name not in taxonomy:
        raise FormatError(path, f"unknown category {name!r} (the project's taxonomy has {sorted(taxonomy.classes)})",
                          place)
    spec = taxonomy[name]
    if spec.is_tag:
        raise FormatError(path, f"category {name!r} is a frame-range class: it has no per-frame annotations", place)
    return spec


def _kind(annotation: dict, spec: ClassSpec, *, named: bool) -> GeometryKind:
    """The geometry kind: ``shape`` when given, else the first the class takes of what the annotation has (a
    skeleton first, for labeled keypoints of a category that ``named`` its points)."""
    allowed = ", ".join(kind.value for kind in spec.geometry)
    shape = annotation.get("shape")
    if shape is not None:
        kinds = {kind.value: kind for kind in GeometryKind if kind is not GeometryKind.TAG}
        if shape not in kinds:
            raise FormatError(None, f"unknown shape {shape!r} (known: {', '.join(kinds)})")
        if kinds[shape] not in spec.geometry:
            raise FormatError(None, f"class {spec.name!r} takes {allowed}, not {shape}")
        return kinds[shape]
    segmentation, keypoints = annotation.get("segmentation"), annotation.get("keypoints")
    candidates = []
    if named and isinstance(keypoints, list) and any(isinstance(v, (int, float)) and v > 0 for v in keypoints[2::3]):
        candidates.append(GeometryKind.SKELETON)  # a category's named points are a skeleton's, or nothing
    if isinstance(segmentation, dict):
        candidates.append(GeometryKind.MASK)
    elif isinstance(segmentation, list) and segmentation:
        candidates.append(GeometryKind.POLYGON)
    if isinstance(keypoints, list) and keypoints and not named:
        one = len(keypoints) == 3 or annotation.get("num_keypoints") == 1
        candidates += [GeometryKind.POLYLINE, GeometryKind.POINT, GeometryKind.KEYPOINTS] if one else \
            [GeometryKind.POLYLINE, GeometryKind.KEYPOINTS, GeometryKind.POINT]
    candidates.append(GeometryKind.BOX)
    for kind in candidates:
        if kind in spec.geometry:
            return kind
    raise FormatError(None, f"class {spec.name!r} takes {allowed}; the annotation has none of them")


def _geometry(kind: GeometryKind, annotation: dict, bbox: np.ndarray, project: Project, report: ImportReport,
              path: Path, place: str) -> Geometry | None:
    """The annotation's geometry of ``kind``, fitted to the image by the import policy (None: skipped)."""
    segmentation = annotation.get("segmentation")
    if kind is GeometryKind.MASK:
        return rle_mask(segmentation, project, report, path, place)
    if kind is GeometryKind.BOX and isinstance(segmentation, list) and len(segmentation) == 1:
        outline = polygon_ring(segmentation)
        points = [outline.min(axis=0), outline.max(axis=0)]
    elif kind is GeometryKind.BOX:
        x, y, w, h = bbox.tolist()
        points = [[x, y], [x + w, y + h]]
    elif kind is GeometryKind.POLYGON:
        points = polygon_ring(segmentation)
    else:
        points = _visible_keypoints(kind, annotation.get("keypoints"))
    return fit_to_image(kind, points, project, report, path, place)


def _visible_keypoints(kind: GeometryKind, values: Any) -> np.ndarray:
    triples = _keypoint_triples(kind, values)
    return triples[triples[:, 2] > 0, :2]


def _keypoint_triples(kind: GeometryKind, values: Any) -> np.ndarray:
    """COCO keypoints [x, y, v, ...] as (N, 3), checked: finite numbers, v 0, 1 or 2."""
    if not isinstance(values, list) or not values or len(values) % 3:
        raise FormatError(None, f"{kind} needs keypoints [x, y, v, ...], got {repr(values)[:80]}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise FormatError(None, f"keypoints must be finite numbers, got {repr(values)[:80]}")
    triples = np.asarray(values, dtype=float).reshape(-1, 3)
    if not np.isin(triples[:, 2], (0, 1, 2)).all():
        raise FormatError(None, "keypoint visibility must be 0, 1 or 2")
    return triples


def _skeleton(annotation: dict, names: tuple[str, ...] | None, spec: ClassSpec, project: Project,
              report: ImportReport, path: Path, place: str) -> Geometry | None:
    """The annotation's keypoints as a skeleton of the class (by the category's point names when it has them),
    fitted to the image by the import policy (None: skipped)."""
    triples = _keypoint_triples(GeometryKind.SKELETON, annotation.get("keypoints"))
    if names is not None and len(names) != len(triples):
        raise FormatError(None, f"{len(triples)} keypoints, but the category names {len(names)}")
    points = np.where(triples[:, 2:] > 0, triples[:, :2], np.nan)  # an absent point's 0, 0 is no position
    skeleton = spec.skeleton.state_from(points, triples[:, 2].astype(np.uint8), names)
    return fit_skeleton_to_image(skeleton, project, report, path, place)


def polygon_ring(segmentation: Any) -> np.ndarray:
    if not isinstance(segmentation, list) or len(segmentation) != 1 or not isinstance(segmentation[0], list):
        count = len(segmentation) if isinstance(segmentation, list) else 0
        raise FormatError(None, f"a polygon segmentation must be one ring [[x, y, ...]] (got {count}); "
                                "napari-roadlabel polygons have no holes or parts")
    ring = segmentation[0]
    if len(ring) < 6 or len(ring) % 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in ring):
        raise FormatError(None, "a polygon segmentation needs 3 or more points of finite numbers [x, y, x, y, ...]")
    points = np.asarray(ring, dtype=float).reshape(-1, 2)
    if len(points) > 3 and (points[0] == points[-1]).all():
        points = points[:-1]  # closed the GeoJSON way
    return points


def rle_mask(segmentation: Any, project: Project, report: ImportReport, path: Path, place: str) -> Geometry | None:
    """The mask of an RLE over the whole image, cropped to its set pixels (None: no pixel set, skipped).  Its size
    and runs are checked before a pixel is made: no file allocates more than the image."""
    height, width = project.sequence.height, project.sequence.width
    if not isinstance(segmentation, dict) or not {"size", "counts"} <= segmentation.keys():
        raise FormatError(None, "an RLE segmentation needs \"size\" [h, w] and \"counts\"")
    if segmentation["size"] != [height, width]:
        raise FormatError(None, f"the RLE size is {repr(segmentation['size'])[:40]}, the image's [height, width] is "
                                f"{[height, width]}")
    try:
        full = rle_decode(segmentation)
    except ValueError as error:
        raise FormatError(None, f"RLE counts: {error}") from None
    geometry = mask_from_image(full)
    if geometry is None:
        report.skip(path, "a mask of no pixels", place)
    return geometry


def _tracks(parsed: list[_Parsed], path: Path) -> dict[object, list[_Parsed]]:
    """The annotations by track, in the order the tracks first appear; a track keeps one class and its
    track-level attributes, and is once on a frame."""
    tracks: dict[object, list[_Parsed]] = {}
    for item in parsed:
        members = tracks.setdefault(item.track_key, [])
        if members:
            first = members[0]
            label = f"track_id {item.track_key[1]}"
            if (first.class_name, first.track_attributes) != (item.class_name, item.track_attributes):
                raise FormatError(path, f"{label} is {first.class_name} {first.track_attributes} in {first.place} "
                                        f"but {item.class_name} {item.track_attributes} here", item.place)
            twice = next((other for other in members if other.frame == item.frame), None)
            if twice is not None:
                raise FormatError(path, f"{label} is on frame {item.frame} already ({twice.place})", item.place)
        members.append(item)
    return tracks
