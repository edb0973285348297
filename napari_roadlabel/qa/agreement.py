"""Agreement between two annotations of one sequence: two annotators' projects, or a model's suggestions
against the labels of the same project.

Frame by frame, the reference's objects are matched to the candidate's:

- **boxes** and **polygons**, per class, one-to-one by IoU (Hungarian method, the largest total IoU); a pair
  needs IoU >= ``iou_threshold``.  Polygon IoU is counted in pixels on the image grid, in the bounds the pair
  shares: a pixel belongs to a polygon when its centre is inside (``polygon_mask``), so two 10 px squares
  overlapping by half have IoU 50 / 150 = 1/3 exactly.  **Masks** count as polygons (their IoU is on their
  pixels), so a vehicle drawn as a polygon in one project and painted as a mask in the other still matches.
- **lanes** (``core.lanes.LANE_CLASSES``), sampled as the exporters write them: TuSimple accuracy/FP/FN
  (``tusimple_frame``) at the TuSimple rows, on the lanes TuSimple labels (up to two a side of the car);
  CULane TP/FP/FN (``culane_frame``) on the CULane rows' points.
  ``culane_frame`` gives counts, not pairs, so lanes are paired for the attribute comparison on their own:
  one-to-one (the same Hungarian matcher) by the mean horizontal gap on the TuSimple rows both reach, a pair
  needing a gap under ``LANE_PAIR_DISTANCE`` (TuSimple's 20 px), whatever the track ids.
- **attributes**: every attribute (track and per-frame, ``FrameObject.attributes``) either object of a
  matched pair has; one missing on one side disagrees.  ``light_states`` is a traffic light's ``state`` and
  ``flashing`` together: a flashing red against a steady red disagrees.

Left out: points, keypoints and polylines that are not lanes (stop lines, traffic directions).  States with
source ``SUGGESTED`` are nobody's annotation yet: ``compare_projects`` leaves them out of both projects, and
``compare_suggestions`` compares them (the candidate) with the project's other states (the reference).

Rates are counted over all frames: precision = matched / candidate objects, recall = matched / reference
objects, F1 = 2 matched / (reference + candidate); TuSimple's means are over the frames with a lane on either
side.  Where there was nothing to compare a value is None, never a 0 that reads as total disagreement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields

import numpy as np
from scipy.optimize import linear_sum_assignment
from skimage.draw import polygon2mask

from ..core import FormatError, FrameObject, Geometry, GeometryKind, Project, ProjectError, SequenceInfo, Source
from ..core.frame_objects import objects_by_frame
from ..core.lane_order import order_lanes
from ..core.lanes import MISSING, LaneCurve, culane_rows, fit_lanes, is_lane_class, sample_rows_many, tusimple_rows
from .lane_metrics import CULaneCounts, culane_frame, tusimple_frame
from .pixels import PixelWindow

TUSIMPLE_SIDE_LANES = 2  # lanes a side of the car that TuSimple scores
LANE_PAIR_DISTANCE = 20.0  # px: lanes further apart on average are not the same lane (TuSimple's pixel threshold)
LIGHT_CLASS = "traffic-light"
LIGHT_STATE = ("state", "flashing")
BOX_KINDS = frozenset({GeometryKind.BOX})
REGION_KINDS = frozenset({GeometryKind.POLYGON, GeometryKind.MASK})

Pair = tuple[FrameObject, FrameObject]  # (reference, candidate)


# ------------------------------------------------------------------------------------------------- the counts


def _share(part: float, whole: float) -> float | None:
    return float(part / whole) if whole else None


def _detection(matched: int, reference: int, candidate: int) -> dict[str, float | None]:
    return {"precision": _share(matched, candidate), "recall": _share(matched, reference),
            "f1": _share(2 * matched, reference + candidate)}


class _Sum:
    """Counts that add up field by field, from frames to the whole sequence."""

    def add(self, other: _Sum) -> None:
        for name in (item.name for item in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Matches(_Sum):
    """Objects on each side and the pairs matched between them (with their IoU summed)."""

    reference: int = 0
    candidate: int = 0
    matched: int = 0
    iou_sum: float = 0.0

    def to_dict(self) -> dict:
        return {"reference": self.reference, "candidate": self.candidate, "matched": self.matched,
                **_detection(self.matched, self.reference, self.candidate),
                "mean_iou": _share(self.iou_sum, self.matched)}


@dataclass
class Tally(_Sum):
    """Values compared, and how many of them agreed."""

    compared: int = 0
    agreeing: int = 0

    def count(self, same: bool) -> None:
        self.compared += 1
        self.agreeing += same

    def to_dict(self) -> dict:
        return {"compared": self.compared, "agreeing": self.agreeing, "rate": _share(self.agreeing, self.compared)}


@dataclass
class TuSimpleMeans(_Sum):
    """TuSimple's per-frame results summed, for their means over the frames with lanes."""

    accuracy: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    frames: int = 0

    def to_dict(self) -> dict:
        return {name: _share(getattr(self, name), self.frames) for name in ("accuracy", "fp", "fn")}


def _culane_dict(counts: CULaneCounts) -> dict:
    tp, fp, fn = counts.true_positives, counts.false_positives, counts.false_negatives
    return {"tp": tp, "fp": fp, "fn": fn, **_detection(tp, tp + fn, tp + fp)}


@dataclass(frozen=True)
class FrameAgreement:
    """One frame's row of the report."""

    frame: int
    lanes_tusimple_accuracy: float | None
    lanes_culane_f1: float | None
    boxes_f1: float | None
    polygons_f1: float | None
    attributes_rate: float | None
    light_states_rate: float | None


@dataclass
class Totals:
    """Everything counted, on one frame or summed over many."""

    tusimple: TuSimpleMeans = field(default_factory=TuSimpleMeans)
    culane: CULaneCounts = field(default_factory=CULaneCounts)
    boxes: Matches = field(default_factory=Matches)
    polygons: Matches = field(default_factory=Matches)
    attributes: Tally = field(default_factory=Tally)
    by_attribute: dict[str, Tally] = field(default_factory=dict)  # "<class>.<attribute>"
    light_states: Tally = field(default_factory=Tally)

    def add(self, other: Totals) -> None:
        for name in ("tusimple", "boxes", "polygons", "attributes", "light_states"):
            getattr(self, name).add(getattr(other, name))
        self.culane += other.culane
        for key, tally in other.by_attribute.items():
            self.by_attribute.setdefault(key, Tally()).add(tally)

    def row(self, frame: int) -> FrameAgreement:
        return FrameAgreement(frame, self.tusimple.to_dict()["accuracy"], _culane_dict(self.culane)["f1"],
                              self.boxes.to_dict()["f1"], self.polygons.to_dict()["f1"],
                              self.attributes.to_dict()["rate"], self.light_states.to_dict()["rate"])

    def to_dict(self) -> dict:
        by_attribute = {key: self.by_attribute[key].to_dict() for key in sorted(self.by_attribute)}
        return {"lanes": {"tusimple": self.tusimple.to_dict(), "culane": _culane_dict(self.culane)},
                "boxes": self.boxes.to_dict(), "polygons": self.polygons.to_dict(),
                "attributes": {**self.attributes.to_dict(), "by_attribute": by_attribute},
                "light_states": self.light_states.to_dict()}


@dataclass
class Agreement:
    """How far the candidate annotation agrees with the reference; ``to_dict`` is the report's JSON."""

    reference: str
    candidate: str
    iou_threshold: float
    overall: Totals = field(default_factory=Totals)
    per_frame: list[FrameAgreement] = field(default_factory=list)

    @property
    def frames_compared(self) -> int:
        return len(self.per_frame)

    def add_frame(self, frame: int, totals: Totals) -> None:
        self.per_frame.append(totals.row(frame))
        self.overall.add(totals)

    def to_dict(self) -> dict:
        return {"reference": self.reference, "candidate": self.candidate, "frames_compared": self.frames_compared,
                "iou_threshold": self.iou_threshold, "overall": self.overall.to_dict(),
                "per_frame": [asdict(row) for row in self.per_frame]}


# ------------------------------------------------------------------------------------------------ public API


def compare_projects(reference: Project, candidate: Project, *, frames: range | None = None,
                     iou_threshold: float = 0.5, progress: Callable[[int], None] | None = None) -> Agreement:
    """Compare two annotators' projects of one sequence (same frame count and image size), frame by frame."""
    if _describe(reference.sequence) != _describe(candidate.sequence):
        raise ProjectError(reference.folder, f"cannot be compared with {candidate.folder}: not the same sequence "
                                             f"({_describe(reference.sequence)} against "
                                             f"{_describe(candidate.sequence)})")
    chosen = _checked(reference, frames, iou_threshold)
    chunks = zip(objects_by_frame(reference, chosen), objects_by_frame(candidate, chosen), strict=True)
    triples = ((frame, _split(objects)[0], _split(theirs[frame])[0])
               for ours, theirs in chunks for frame, objects in ours.items())
    return _compare(Agreement(str(reference.folder), str(candidate.folder), iou_threshold), triples,
                    reference.sequence, progress)


def compare_suggestions(project: Project, *, frames: range | None = None, iou_threshold: float = 0.5,
                        progress: Callable[[int], None] | None = None) -> Agreement:
    """Compare a model's suggestions (the candidate) with the project's other states (the reference)."""
    chosen = _checked(project, frames, iou_threshold)
    triples = ((frame, *_split(objects)) for chunk in objects_by_frame(project, chosen)
               for frame, objects in chunk.items())
    agreement = Agreement(f"{project.folder} (labels)", f"{project.folder} (suggestions)", iou_threshold)
    return _compare(agreement, triples, project.sequence, progress)


def _describe(sequence: SequenceInfo) -> str:
    return f"{sequence.frame_count} frames of {sequence.width}x{sequence.height}"


def _checked(project: Project, frames: range | None, iou_threshold: float) -> range:
    """The frames to compare, after checking them and the threshold."""
    # At 0, shapes that do not touch at all would "match".
    if not 0.0 < iou_threshold <= 1.0:
        raise FormatError(None, f"iou_threshold must be above 0 and at most 1, got {iou_threshold!r}")
    count = project.sequence.frame_count
    chosen = range(count) if frames is None else frames
    if chosen.step < 0 or (len(chosen) and not 0 <= min(chosen) <= max(chosen) < count):
        raise ProjectError(project.folder, f"frames {chosen} must go forward inside the sequence (0..{count - 1})")
    return chosen


def _split(objects: list[FrameObject]) -> tuple[list[FrameObject], list[FrameObject]]:
    """(labels, suggestions) of one frame."""
    suggested = [obj.state.source is Source.SUGGESTED for obj in objects]
    return ([obj for obj, flag in zip(objects, suggested, strict=True) if not flag],
            [obj for obj, flag in zip(objects, suggested, strict=True) if flag])


def _compare(agreement: Agreement, triples: Iterable[tuple[int, list[FrameObject], list[FrameObject]]],
             sequence: SequenceInfo, progress: Callable[[int], None] | None) -> Agreement:
    for frame, reference, candidate in triples:
        agreement.add_frame(frame, _compare_frame(reference, candidate, sequence, agreement.iou_threshold))
        if progress is not None:
            progress(1)
    return agreement


# ------------------------------------------------------------------------------------------------ one frame


def _compare_frame(reference: list[FrameObject], candidate: list[FrameObject], sequence: SequenceInfo,
                   iou_threshold: float) -> Totals:
    totals = Totals()
    pairs = _match_shapes(_of_kind(reference, BOX_KINDS), _of_kind(candidate, BOX_KINDS), box_ious,
                          iou_threshold, totals.boxes)
    pairs += _match_shapes(_of_kind(reference, REGION_KINDS), _of_kind(candidate, REGION_KINDS), region_ious,
                           iou_threshold, totals.polygons)
    pairs += _compare_lanes(_lanes(reference), _lanes(candidate), sequence, totals)
    for pair in pairs:
        _compare_attributes(*pair, totals)
    return totals


def _of_kind(objects: list[FrameObject], kinds: frozenset[GeometryKind]) -> list[FrameObject]:
    return [obj for obj in objects if obj.state.geometry.kind in kinds]


def _lanes(objects: list[FrameObject]) -> list[FrameObject]:
    return [obj for obj in objects if is_lane_class(obj.track.class_name)
            and obj.state.geometry.kind is GeometryKind.POLYLINE]


def _match_shapes(reference: list[FrameObject], candidate: list[FrameObject],
                  ious_of: Callable[[list[Geometry], list[Geometry]], np.ndarray], iou_threshold: float,
                  matches: Matches) -> list[Pair]:
    """Pair the objects of each class one-to-one by IoU; count them into ``matches``."""
    pairs = []
    for class_name in sorted({obj.track.class_name for obj in reference + candidate}):
        ours = [obj for obj in reference if obj.track.class_name == class_name]
        theirs = [obj for obj in candidate if obj.track.class_name == class_name]
        ious = ious_of([obj.state.geometry for obj in ours], [obj.state.geometry for obj in theirs])
        matched = _one_to_one(ious, ious >= iou_threshold)
        matches.add(Matches(len(ours), len(theirs), len(matched), float(sum(ious[i, j] for i, j in matched))))
        pairs += [(ours[i], theirs[j]) for i, j in matched]
    return pairs


def _one_to_one(scores: np.ndarray, acceptable: np.ndarray) -> list[tuple[int, int]]:
    """Rows and columns paired to maximise the total score of acceptable pairs (Hungarian method)."""
    if scores.size == 0:
        return []
    # Unacceptable pairs weigh nothing, so they never displace an acceptable one.
    rows, columns = linear_sum_assignment(np.where(acceptable, scores, 0.0), maximize=True)
    return [(i, j) for i, j in zip(rows.tolist(), columns.tolist(), strict=True) if acceptable[i, j]]


def _compare_attributes(ours: FrameObject, theirs: FrameObject, totals: Totals) -> None:
    mine, other = ours.attributes, theirs.attributes
    for name in sorted(mine.keys() | other.keys()):
        same = mine.get(name) == other.get(name)
        totals.attributes.count(same)
        totals.by_attribute.setdefault(f"{ours.track.class_name}.{name}", Tally()).count(same)
    if ours.track.class_name == LIGHT_CLASS:
        totals.light_states.count(all(mine.get(name) == other.get(name) for name in LIGHT_STATE))


# ------------------------------------------------------------------------------------------------ shapes' IoU


def _bounds(geometries: list[Geometry]) -> np.ndarray:
    return np.array([geometry.bounds() for geometry in geometries], dtype=float).reshape(-1, 4)


def _overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Area shared by every box of ``a`` (N, 4: x0, y0, x1, y1) with every box of ``b`` -> (N, M)."""
    low = np.maximum(a[:, None, :2], b[None, :, :2])
    high = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.prod(np.clip(high - low, 0.0, None), axis=2)


def box_ious(ours: list[Geometry], theirs: list[Geometry]) -> np.ndarray:
    a, b = _bounds(ours), _bounds(theirs)
    shared = _overlaps(a, b)
    areas_a, areas_b = np.prod(a[:, 2:] - a[:, :2], axis=1), np.prod(b[:, 2:] - b[:, :2], axis=1)
    return shared / (areas_a[:, None] + areas_b[None, :] - shared)  # boxes have area: never 0 / 0


def _pixels(geometry: Geometry) -> PixelWindow:
    if geometry.kind is GeometryKind.MASK:
        x, y = np.rint(geometry.points[0]).astype(int).tolist()
        return PixelWindow(geometry.mask, x, y)
    x0, y0 = np.floor(geometry.points.min(axis=0)).astype(int).tolist()
    x1, y1 = np.ceil(geometry.points.max(axis=0)).astype(int).tolist()
    return PixelWindow(polygon_mask(geometry.points - [x0, y0], (max(y1 - y0, 1), max(x1 - x0, 1))), x0, y0)


def polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A (rows, columns) boolean image of the pixels whose centre is inside the polygon (x, y points, relative to
    the image's top-left corner).  Pixel (column c, row r) covers x c..c+1, y r..r+1, so its centre is at
    (c + 0.5, r + 0.5): skimage puts pixel centres on whole numbers, hence the half-pixel shift."""
    return polygon2mask(shape, points[:, ::-1] - 0.5)


def region_ious(ours: list[Geometry], theirs: list[Geometry]) -> np.ndarray:
    """Pixel IoU of polygons and masks; only shapes whose bounds overlap are rasterised, each once."""
    ious = np.zeros((len(ours), len(theirs)))
    touching = np.argwhere(_overlaps(_bounds(ours), _bounds(theirs)) > 0).tolist()
    pixels_a = {i: _pixels(ours[i]) for i, _ in touching}
    pixels_b = {j: _pixels(theirs[j]) for _, j in touching}
    for i, j in touching:
        ious[i, j] = pixels_a[i].iou(pixels_b[j])
    return ious


# ------------------------------------------------------------------------------------------------------ lanes


def _compare_lanes(reference: list[FrameObject], candidate: list[FrameObject], sequence: SequenceInfo,
                   totals: Totals) -> list[Pair]:
    """Score the frame's lanes (TuSimple and CULane, candidate as the prediction) and pair them."""
    if not reference and not candidate:
        return []
    both = reference + candidate
    curves = fit_lanes([obj.state.geometry.points for obj in both],
                       where=[f"track {obj.track.id}, frame {obj.state.frame}" for obj in both])
    ours, theirs = curves[:len(reference)], curves[len(reference):]
    rows = tusimple_rows(sequence.height)
    our_xs, their_xs = sample_rows_many(ours, rows), sample_rows_many(theirs, rows)
    truth = _on_rows(our_xs[_near_the_car(ours, sequence)])
    predicted = _on_rows(their_xs[_near_the_car(theirs, sequence)])
    if truth or predicted:  # lanes that miss every TuSimple row are not in a TuSimple file either
        result = tusimple_frame(predicted, truth, rows)
        totals.tusimple.add(TuSimpleMeans(result.accuracy, result.fp, result.fn, frames=1))
    totals.culane = culane_frame(list(_culane_lanes(theirs, sequence.height)),
                                 list(_culane_lanes(ours, sequence.height)), (sequence.width, sequence.height))
    closeness = _lane_closeness(our_xs, their_xs)
    return [(reference[i], candidate[j]) for i, j in _one_to_one(closeness, closeness > 0)]


def _near_the_car(curves: list[LaneCurve], sequence: SequenceInfo) -> list[int]:
    """The lanes TuSimple labels: the car's own and the next ones out (at most two a side).  Its accuracy
    averages over at most 4 lanes, so more would score above 1 (curbs and road edges are lane lines here)."""
    places = order_lanes(dict(enumerate(curves)), sequence.width, sequence.height)
    return [index for index, place in sorted(places.items()) if abs(place) <= TUSIMPLE_SIDE_LANES]


def _on_rows(xs: np.ndarray) -> list[np.ndarray]:
    """The TuSimple lanes (x per row) that reach at least one row, as the TuSimple export keeps them."""
    return [lane for lane in xs if (lane != MISSING).any()]


def _culane_lanes(curves: list[LaneCurve], height: int) -> Iterator[np.ndarray]:
    """The lanes as the CULane export writes them: points on its rows, 2 or more of them."""
    rows = culane_rows(height)
    for xs in sample_rows_many(curves, rows):
        reached = xs != MISSING
        if reached.sum() >= 2:
            yield np.column_stack([xs[reached], rows[reached]])


def _lane_closeness(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """(N, M): 1 for lanes on top of each other, down to 0 at a mean gap of ``LANE_PAIR_DISTANCE`` px on the
    rows both lanes reach (0 when they share no row)."""
    both = (ours[:, None] != MISSING) & (theirs[None] != MISSING)
    shared = both.sum(axis=2)
    gaps = np.where(both, np.abs(ours[:, None] - theirs[None]), 0.0).sum(axis=2) / np.maximum(shared, 1)
    return np.where(shared > 0, np.clip(1.0 - gaps / LANE_PAIR_DISTANCE, 0.0, 1.0), 0.0)
