"""Masks: a semantic and an instance PNG per frame, for segmentation training code.

Export writes, into a new folder ``OUT``:

    OUT/classes.json                   {"classes": {"background": 0, "lane-line": 1, ...}, "lane_width": 8, ...}
    OUT/semantic/clip/000017.png       uint8, one grey level a pixel: the class id (0 background)
    OUT/instance/clip/000017.png       uint16, the track id a pixel (0 none), the same id on every frame

Frames are named as the lane formats name them (``clip/000017.jpg``), with ``.png``
for the extension.  Every chosen frame gets both PNGs, empty frames too.

Class ids: every class that can be drawn (one with polyline, polygon, box or
mask geometry) gets an id from 1 up in taxonomy order; ``classes.json`` lists
the others under ``not_drawn``.  Objects are drawn in three layers, each over
the one before: ``areas`` (polygons and masks: school zone, crosswalk, vehicle
outlines), then ``boxes`` (filled rectangles: lights, signs, vehicles), then
``lines`` (polylines: lane lines along their fitted curve, stop lines and
traffic-direction arrows through their points as placed, ``lane_width`` px
wide).  Within a layer the object covering more pixels is drawn first, so the
smaller, more specific one shows (a crosswalk inside a school zone, a stop line
across a lane); on a tie the lower track id first.  Both PNGs use the same
order, so where semantic says a class, instance says a track of that class.

Coordinates are napari's, as everywhere in the project: pixel (column c, row
r) has its centre at x = c, y = r.  A pixel belongs to a shape when its centre
lies inside it, a centre on the edge counting for the shape to its right or
below (so a box from x0 to x1 covers columns ceil(x0) up to, not including,
ceil(x1), and shapes that share an edge neither overlap nor leave a gap); a
line covers the pixels whose centre lies less than ``lane_width / 2`` from it,
plus the pixels it passes through (so a 1-px line stays unbroken); a mask's
pixels sit at its offset, rounded.  Nothing is rounded before drawing, so a
4 px box is 4 pixels wide wherever it sits, and an 8 px line 8 pixels across.

Points, keypoints and frame-range tags are not drawn, nor a shape too small to
cover a pixel centre: the mapping report counts them as dropped.  No attribute
is carried (the report counts them too).

The folder is built beside ``OUT`` and renamed into place, so a failed export
leaves nothing.  There is no import: a mask does not give back the points.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from ...core import FrameObject, GeometryError, GeometryKind, Project, RoadlabelError
from ...core.lanes import fit_lane, fit_lanes, is_lane_class
from .frame_match import frame_files
from .lane_frames import frames_to_export
from .report import MappingReport, export_into_folder

CLASSES_NAME = "classes.json"
SEMANTIC, INSTANCE = "semantic", "instance"
LAYERS = (("areas", (GeometryKind.POLYGON, GeometryKind.MASK)), ("boxes", (GeometryKind.BOX,)),
          ("lines", (GeometryKind.POLYLINE,)))
LAYER_OF = {kind: index for index, (_, kinds) in enumerate(LAYERS) for kind in kinds}
CURVE_STEP = 2.0  # px of arc between the points a lane's curve is drawn through
STROKE_STEP = 2.0  # px: longer segments are split so each one's neighbourhood is a small fixed window
TRACE_STEP = 0.5  # px between the points whose pixels a line passes through
EDGE = 1e-6  # px: a line moved up and left by this leaves out the centres on its right and bottom edges
MAX_CLASSES = 255  # uint8
MAX_TRACK_ID = 65535  # uint16
NOT_DRAWN = {GeometryKind.POINT: "points are not drawn in masks", GeometryKind.KEYPOINTS: "keypoints are not "
             "drawn in masks", GeometryKind.SKELETON: "skeletons are not drawn in masks"}
TAG_NOT_DRAWN = "frame-range tags are not drawn in masks"
TOO_SMALL = "covers no pixel centre"
BAD_LANE = "a lane needs 2 distinct points"


def export_masks(project: Project, folder: str | Path, *, frames: range | None = None, every: int = 1,
                 lane_width: int = 8, overwrite: bool = False,
                 progress: Callable[[int], None] | None = None) -> MappingReport:
    """Write the folder described above and the mapping report beside it."""
    if isinstance(lane_width, bool) or not isinstance(lane_width, int) or lane_width < 1:
        raise GeometryError(None, f"the lane width must be a whole number of pixels, 1 or more, got {lane_width!r}")
    ids = class_ids(project)
    return export_into_folder("masks", folder, partial(_write_folder, project, ids=ids, frames=frames, every=every,
                                                       lane_width=lane_width), overwrite=overwrite, progress=progress)


def class_ids(project: Project) -> dict[str, int]:
    """Class name -> grey level: background 0, then every class that can be drawn, in taxonomy order."""
    drawn = [spec.name for spec in project.taxonomy if any(kind in LAYER_OF for kind in spec.geometry)]
    if len(drawn) > MAX_CLASSES:
        raise RoadlabelError(None, f"the taxonomy has {len(drawn)} classes to draw; an 8-bit mask holds "
                                   f"{MAX_CLASSES}")
    return {"background": 0, **{name: index for index, name in enumerate(drawn, start=1)}}


def _write_folder(project: Project, staging: Path, report: MappingReport, *, ids: dict[str, int],
                  frames: range | None, every: int, lane_width: int) -> MappingReport:
    names = frame_files(project)
    shape = (project.sequence.height, project.sequence.width)
    tags = project.tags()
    for frame in frames_to_export(project, frames, every):
        semantic, instance = np.zeros(shape, np.uint8), np.zeros(shape, np.uint16)
        drawn = _shapes(project.objects_on(frame), shape, lane_width, report)
        for *_, obj, rows, cols in sorted(drawn, key=lambda item: item[:3]):
            semantic[rows, cols] = ids[obj.track.class_name]
            instance[rows, cols] = obj.track.id
            report.wrote(obj.track.class_name, obj.attributes)
        for tag in tags:
            if tag.covers(frame):
                report.drop(tag.class_name, TAG_NOT_DRAWN)
        stem = PurePosixPath(names[frame]).with_suffix(".png")
        _write_png(staging / SEMANTIC / stem, semantic)
        _write_png(staging / INSTANCE / stem, instance)
        report.frame_done()
    classes = {"classes": ids, "not_drawn": [spec.name for spec in project.taxonomy if spec.name not in ids],
               "lane_width": lane_width, "drawing_order": [{"layer": name, "geometry": [kind.value for kind in kinds]}
                                                           for name, kinds in LAYERS],
               "within_a_layer": "more pixels first, then by track id"}
    (staging / CLASSES_NAME).write_text(json.dumps(classes, indent=2) + "\n", encoding="utf-8")
    return report


def _shapes(objects: list[FrameObject], shape: tuple[int, int], lane_width: int, report: MappingReport):
    """(layer, -pixels, track id, object, rows, cols) of each object drawn; the rest counted in the report."""
    lanes = [obj for obj in objects if obj.state.geometry.kind is GeometryKind.POLYLINE
             and is_lane_class(obj.track.class_name)]
    curves = _curves(lanes, report)
    for obj in objects:
        geometry = obj.state.geometry
        if geometry.kind not in LAYER_OF:
            report.drop(obj.track.class_name, NOT_DRAWN.get(geometry.kind, f"{geometry.kind} is not drawn in masks"))
            continue
        if obj.track.id > MAX_TRACK_ID:
            raise RoadlabelError(None, f"track {obj.track.id} does not fit a 16-bit instance mask (ids up to "
                                       f"{MAX_TRACK_ID})")
        if geometry.kind is GeometryKind.POLYLINE:
            points = curves[obj.track.id] if obj.track.id in curves else geometry.points
            if points is None:
                continue  # a lane that could not be fitted, already reported
            rows, cols = stroke_pixels(points, lane_width, shape)
        elif geometry.kind is GeometryKind.POLYGON:
            rows, cols = polygon_pixels(geometry.points, shape)
        elif geometry.kind is GeometryKind.BOX:
            rows, cols = box_pixels(geometry.points, shape)
        else:
            rows, cols = mask_pixels(geometry.points[0], geometry.mask, shape)
        if len(rows) == 0:
            report.drop(obj.track.class_name, TOO_SMALL)
            continue
        yield LAYER_OF[geometry.kind], -len(rows), obj.track.id, obj, rows, cols


def _curves(lanes: list[FrameObject], report: MappingReport) -> dict[int, np.ndarray | None]:
    """Track id -> the points a lane's fitted curve is drawn through (None when it cannot be fitted)."""
    if not lanes:
        return {}
    try:
        fitted = fit_lanes([obj.state.geometry.points for obj in lanes])
    except GeometryError:  # one bad lane: fit one at a time to find it
        fitted = []
        for obj in lanes:
            try:
                fitted.append(fit_lane(obj.state.geometry.points))
            except GeometryError:
                report.drop(obj.track.class_name, BAD_LANE)
                fitted.append(None)
    return {obj.track.id: None if curve is None else curve.polyline(CURVE_STEP)
            for obj, curve in zip(lanes, fitted, strict=True)}


def box_pixels(corners: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels whose centre lies in the box (left and top edges in, right and bottom out)."""
    height, width = shape
    (x0, y0), (x1, y1) = corners
    left, right = (int(np.clip(np.ceil(value), 0, width)) for value in (x0, x1))
    top, bottom = (int(np.clip(np.ceil(value), 0, height)) for value in (y0, y1))
    rows, cols = np.mgrid[top:bottom, left:right]
    return rows.ravel(), cols.ravel()


def polygon_pixels(points: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels whose centre lies inside the polygon (even-odd rule), by scanlines: on
    row r, each edge crossing it (top end in, bottom end out) gives an x, and between the 1st and 2nd, the 3rd
    and 4th, ... x the columns ceil(x_a) up to, not including, ceil(x_b) are in."""
    height, width = shape
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    down = y0 <= y1  # each edge is computed from its top end, so two polygons sharing it agree to the last bit
    x_top, top = np.where(down, x0, x1), np.where(down, y0, y1)
    x_bottom, bottom = np.where(down, x1, x0), np.where(down, y1, y0)
    rows = np.arange(max(0, int(np.ceil(top.min()))), min(height, int(np.ceil(bottom.max()))))
    at = rows[:, None].astype(float)
    crosses = (top[None] <= at) & (at < bottom[None])  # a flat edge crosses no row
    slope = np.divide(x_bottom - x_top, bottom - top, out=np.zeros_like(x0), where=bottom != top)
    xs = np.sort(np.where(crosses, x_top[None] + (at - top[None]) * slope[None], np.inf), axis=1)
    pairs = xs[:, : xs.shape[1] // 2 * 2].reshape(len(rows), -1, 2)  # (rows, runs, start and stop x)
    starts = np.clip(np.ceil(pairs[..., 0]), 0, width)
    stops = np.clip(np.ceil(pairs[..., 1]), 0, width)
    keep = np.isfinite(pairs[..., 1]) & (stops > starts)
    return _runs(np.broadcast_to(rows[:, None], keep.shape)[keep], starts[keep].astype(np.int64),
                 stops[keep].astype(np.int64))


def _runs(rows: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels of runs ``starts[i] <= column < stops[i]`` on ``rows[i]``."""
    lengths = stops - starts
    run = np.repeat(np.arange(len(lengths)), lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows[run], starts[run] + within


def mask_pixels(offset: np.ndarray, mask: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a mask's set pixels, placed at its rounded offset, inside the image."""
    rows, cols = np.nonzero(mask)
    rows, cols = rows + int(np.round(offset[1])), cols + int(np.round(offset[0]))
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    return rows[inside], cols[inside]


def stroke_pixels(points: np.ndarray, width: float, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels whose centre lies less than ``width / 2`` from the polyline, and of the
    pixels it passes through; round ends and joins, as a brush of that width would paint."""
    height, image_width = shape
    dense = _densified(np.asarray(points, dtype=float) - EDGE, STROKE_STEP)  # ties: like polygons' edges
    starts, ends = dense[:-1], dense[1:]
    half = width / 2
    # Every segment is at most STROKE_STEP long, so a fixed window around its start holds its neighbourhood.
    reach = int(np.ceil(STROKE_STEP + half)) + 1
    offsets = np.arange(-reach, reach + 1)
    base = np.floor(starts).astype(np.int64)
    cols = base[:, 0, None, None] + offsets[None, None, :]  # (S, 1, K)
    rows = base[:, 1, None, None] + offsets[None, :, None]  # (S, K, 1)
    direction = ends - starts
    length2 = np.maximum((direction**2).sum(axis=1), 1e-12)[:, None, None]
    px, py = cols - starts[:, 0, None, None], rows - starts[:, 1, None, None]
    t = np.clip((px * direction[:, 0, None, None] + py * direction[:, 1, None, None]) / length2, 0.0, 1.0)
    distance2 = (px - t * direction[:, 0, None, None]) ** 2 + (py - t * direction[:, 1, None, None]) ** 2
    near = distance2 < half * half
    rows, cols = np.broadcast_to(rows, near.shape)[near], np.broadcast_to(cols, near.shape)[near]
    trace = np.floor(_densified(dense, TRACE_STEP) + 0.5).astype(np.int64)
    rows, cols = np.concatenate([rows, trace[:, 1]]), np.concatenate([cols, trace[:, 0]])
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < image_width)
    return _distinct(rows[inside], cols[inside])


def _distinct(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel once (the windows around a line's segments overlap), in row-major order."""
    if len(rows) == 0:
        return rows, cols
    top, left = rows.min(), cols.min()
    seen = np.zeros((rows.max() - top + 1, cols.max() - left + 1), bool)
    seen[rows - top, cols - left] = True
    rows, cols = np.nonzero(seen)
    return rows + top, cols + left


def _densified(points: np.ndarray, step: float) -> np.ndarray:
    """The same polyline with points added so that no segment is longer than ``step``."""
    if len(points) < 2:
        return np.vstack([points, points])
    lengths = np.sqrt((np.diff(points, axis=0) ** 2).sum(axis=1))
    pieces = np.maximum(1, np.ceil(lengths / step).astype(np.int64))
    segment = np.repeat(np.arange(len(lengths)), pieces)
    fraction = (np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)) / np.repeat(pieces, pieces)
    dense = points[segment] + fraction[:, None] * (points[segment + 1] - points[segment])
    return np.vstack([dense, points[-1:]])


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise RoadlabelError(path, "OpenCV could not encode the PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded.tobytes())
