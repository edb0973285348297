"""What every import does with geometry at or past the image border, and the report that counts it.

Real datasets draw to and past the border: CULane lanes start at x < 0 and
end on y = height, OpenLane's ``uv`` runs to x = 1920.0000000000002.  An
import keeps what lies inside the image and counts every change, per file and
per reason:

* lanes and polylines are cut exactly where they leave the image (no point is
  moved, which would bend the line); one that leaves and comes back keeps its
  longest part;
* polygons, boxes and masks are clipped to the image; points and keypoints
  outside it are left out; a skeleton's points outside it become absent;
* what has less than its kind's minimum inside (2 points for a line, an area
  for a box or polygon) is skipped;
* a coordinate past the border by less than ``BORDER_ROUNDING`` px is rounding
  in the file: it is set onto the border (and counted as such).

What is not geometry (NaN, strings, wrong structure) is refused: a FormatError
naming the file, the place and the reason.  With ``strict``, every clip or skip
is refused the same way, for pipelines that want the file to be right.

The report goes into the project as ``imports/<time>-<format>-<file>.json``
and its summary is the line the command prints.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ...core import FormatError, Geometry, GeometryError, GeometryKind, Project
from ...core.geometry import (
    ABSENT,
    as_points,
    checked_geometry,
    clip_polygon_to_image,
    clipped_to_image,
    make_skeleton,
    polyline_inside_image,
)
from ...core.lanes import is_lane_class
from ...core.segments import polygon_self_crossing
from ...core.wording import counted
from ..atomic import atomic_write

LARGEST_KEPT_ID = 2**31 - 1  # a file's ids above this get fresh ones: the store's 64-bit ids need room to grow
BORDER_ROUNDING = 1e-6  # px: past the border by less than this is the file's rounding, not a point outside
EXAMPLES = 3  # entries named in the report for each kind of entry that was not imported
NOUNS = {  # how a summary names what was imported, by geometry kind ("lanes" for lane classes)
    GeometryKind.BOX: ("box", "boxes"), GeometryKind.POLYGON: ("polygon", "polygons"),
    GeometryKind.POLYLINE: ("line", "lines"), GeometryKind.POINT: ("point", "points"),
    GeometryKind.KEYPOINTS: ("set of keypoints", "sets of keypoints"), GeometryKind.MASK: ("mask", "masks"),
    GeometryKind.TAG: ("frame-range tag", "frame-range tags"), GeometryKind.SKELETON: ("skeleton", "skeletons"),
}


@dataclass
class ImportReport:
    """Counts of one import: what was imported by class, and every entry changed or left out, with why."""

    format: str
    source: str  # the file or folder imported
    strict: bool = False
    imported: Counter = field(default_factory=Counter)  # (noun, plural, class) -> objects imported
    clipped: defaultdict = field(default_factory=lambda: defaultdict(Counter))  # file -> reason -> objects
    skipped: defaultdict = field(default_factory=lambda: defaultdict(Counter))  # file -> reason -> objects
    other_sequences: list = field(default_factory=list)  # the names of entries for other sequences
    missing_frames: list = field(default_factory=list)  # the names of entries for frames this project lacks
    entries: int = 0  # entries (frames of the file) that belong to the project

    # ---------------------------------------------------------------- counting

    def added(self, class_name: str, kind: GeometryKind) -> None:
        noun, plural = ("lane", "lanes") if is_lane_class(class_name) else NOUNS[kind]
        self.imported[(noun, plural, class_name)] += 1

    def clip(self, file: Path | str, reason: str, where: str) -> None:
        self._refuse_if_strict(file, reason, where)
        self.clipped[str(file)][reason] += 1

    def skip(self, file: Path | str, reason: str, where: str) -> None:
        self._refuse_if_strict(file, reason, where)
        self.skipped[str(file)][reason] += 1

    def _refuse_if_strict(self, file: Path | str, reason: str, where: str) -> None:
        if self.strict:
            raise FormatError(file, f"{reason} (refused with --strict; without it the import would "
                                    "clip or skip it and count it)", place=where)

    # ---------------------------------------------------------------- reading

    @property
    def total(self) -> int:
        return sum(self.imported.values())

    def summary(self) -> str:
        """One line: what was imported by class, and how many entries were clipped, skipped or not ours."""
        parts = [self._what_was_imported()]
        clipped, skipped = _total(self.clipped), _total(self.skipped)
        if clipped:
            parts.append(f"{counted(clipped, 'object')} clipped at the image border")
        if skipped:
            parts.append(f"{counted(skipped, 'object')} skipped ({_reasons(self.skipped)})")
        if self.other_sequences:
            parts.append(f"{counted(len(self.other_sequences), 'entry', 'entries')} "
                         f"{'is' if len(self.other_sequences) == 1 else 'are'} for other sequences")
        if self.missing_frames:
            missing = len(self.missing_frames)
            parts.append(f"{counted(missing, 'entry', 'entries')} {'names a frame' if missing == 1 else 'name frames'}"
                         f" this project does not have (e.g. {self.missing_frames[0]!r})")
        return "; ".join(parts)

    def _what_was_imported(self) -> str:
        if not self.imported:
            return "imported nothing"
        by_noun: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for (noun, plural, class_name), count in self.imported.items():
            by_noun[(noun, plural)][class_name] += count
        kinds = []
        for (noun, plural), classes in sorted(by_noun.items(), key=lambda item: -sum(item[1].values())):
            total = sum(classes.values())
            listed = ", ".join(f"{count:,} {name}" for name, count in classes.most_common())
            kinds.append(f"{total:,} {noun if total == 1 else plural}: {listed}")
        return "imported " + "; ".join(kinds)

    def as_dict(self) -> dict:
        files = sorted(set(self.clipped) | set(self.skipped))
        return {
            "format": self.format, "source": self.source, "strict": self.strict, "entries": self.entries,
            "imported": _nested({(class_name, plural): n for (_, plural, class_name), n in self.imported.items()}),
            "clipped": _total(self.clipped), "skipped": _total(self.skipped),
            "files": {file: {"clipped": dict(self.clipped.get(file, {})), "skipped": dict(self.skipped.get(file, {}))}
                      for file in files},
            "other_sequences": {"entries": len(self.other_sequences), "examples": self.other_sequences[:EXAMPLES]},
            "missing_frames": {"entries": len(self.missing_frames), "examples": self.missing_frames[:EXAMPLES]},
        }

    def write_into(self, project: Project) -> Path:
        """The report as ``PROJECT/imports/<UTC time>-<format>-<file>.json``; returns its path."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        path = project.folder / "imports" / f"{stamp}-{self.format}-{Path(self.source).name}.json"
        path.parent.mkdir(exist_ok=True)
        with atomic_write(path) as handle:
            json.dump(self.as_dict(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        return path


def _total(by_file: dict[str, Counter]) -> int:
    return sum(sum(reasons.values()) for reasons in by_file.values())


def _reasons(by_file: dict[str, Counter]) -> str:
    reasons: Counter = Counter()
    for counts in by_file.values():
        reasons.update(counts)
    return ", ".join(f"{count:,} {reason}" for reason, count in reasons.most_common())


def _nested(counts: dict[tuple[str, str], int]) -> dict:
    """{(class, plural noun): n} -> {plural noun: {class: n}}."""
    nested: dict[str, dict[str, int]] = defaultdict(dict)
    for (class_name, plural), count in sorted(counts.items()):
        nested[plural][class_name] = count
    return dict(nested)


def keeps_file_ids(project: Project, ids: set[int] | list[int]) -> bool:
    """Whether an import keeps a file's own track ids: when the project has never used them and they leave room
    for new tracks after them; otherwise every imported track gets a fresh id."""
    return bool(ids) and min(ids) >= project.store.next_id() and max(ids) <= LARGEST_KEPT_ID


# ---------------------------------------------------------------- the border policy

def fit_to_image(kind: GeometryKind, points, project: Project, report: ImportReport, file: Path | str,
                 where: str) -> Geometry | None:
    """``points`` as a ``kind`` geometry inside the project's image, clipped or None (skipped) as the module
    says, each case counted in ``report``; FormatError for what is not geometry."""
    try:
        array = as_points(kind, points, where=where)
    except GeometryError as error:
        raise FormatError(file, error.reason, place=where) from None
    width, height = project.sequence.width, project.sequence.height
    if len(array) and (array.min() < 0 or array[:, 0].max() > width or array[:, 1].max() > height):
        array = _onto_border(array, width, height, report, file, where)  # most geometry is inside: no work
    fitted = _FITTERS[kind](array, width, height, report, file, where)
    return None if fitted is None else checked_geometry(kind, fitted)


def fit_mask_to_image(mask: Geometry, project: Project, report: ImportReport, file: Path | str,
                      where: str) -> Geometry | None:
    """A mask cropped to the image (counted), or None when no pixel of it is inside (skipped)."""
    width, height = project.sequence.width, project.sequence.height
    xmin, ymin, xmax, ymax = mask.bounds()
    if xmin >= 0 and ymin >= 0 and xmax <= width and ymax <= height:
        return mask
    cropped = clipped_to_image(mask, width, height)
    if cropped is None:
        report.skip(file, "outside the image", where)
    else:
        report.clip(file, "mask cropped to the image", where)
    return cropped


def fit_skeleton_to_image(skeleton: Geometry, project: Project, report: ImportReport, file: Path | str,
                          where: str) -> Geometry | None:
    """A skeleton whose points outside the image are made absent (counted), or None when none is inside
    (skipped)."""
    width, height = project.sequence.width, project.sequence.height
    placed = skeleton.visibility != ABSENT
    points = _onto_border(skeleton.points, width, height, report, file, where)
    outside = placed & ~_inside(np.nan_to_num(points), width, height)
    if not outside.any():
        return make_skeleton(points, skeleton.visibility)
    if outside.sum() == placed.sum():
        report.skip(file, "outside the image", where)
        return None
    report.clip(file, "skeleton points outside the image made absent", where)
    points, visibility = points.copy(), skeleton.visibility.copy()
    points[outside], visibility[outside] = np.nan, ABSENT
    return make_skeleton(points, visibility)


def _onto_border(points: np.ndarray, width: int, height: int, report: ImportReport, file: Path | str,
                 where: str) -> np.ndarray:
    """Coordinates past the border by less than BORDER_ROUNDING set onto it."""
    limits = np.array([width, height], dtype=float)
    rounding = ((points < 0) & (points > -BORDER_ROUNDING)) | ((points > limits) & (points < limits + BORDER_ROUNDING))
    if not rounding.any():
        return points
    report.clip(file, f"on the border but for rounding (< {BORDER_ROUNDING:g} px): set onto it", where)
    return np.clip(points, 0, limits, where=rounding, out=points.copy())


def _inside(points: np.ndarray, width: int, height: int) -> np.ndarray:
    return ((points >= 0) & (points <= [width, height])).all(axis=1)


def _fit_line(points, width, height, report, file, where):
    if len(points) < 2:
        report.skip(file, "a line of fewer than 2 points", where)
        return None
    if _inside(points, width, height).all():
        return points
    parts = [part for part in map(_without_repeats, polyline_inside_image(points, width, height)) if len(part) >= 2]
    if not parts:
        report.skip(file, "fewer than 2 points inside the image", where)
        return None
    if len(parts) > 1:
        report.clip(file, "left the image and came back: its longest part kept", where)
        return max(parts, key=_length)
    report.clip(file, "cut where it leaves the image", where)
    return parts[0]


def _fit_polygon(points, width, height, report, file, where):
    points = _without_repeats(points)
    crossing = polygon_self_crossing(points) if len(points) >= 4 else None
    if crossing is not None:
        raise FormatError(file, f"the polygon crosses itself at ({crossing[0]:.1f}, {crossing[1]:.1f}): "
                                "its outline must not cross itself", place=where)
    if len(points) < 3 or _area(points) == 0:
        report.skip(file, "a polygon of no area", where)
        return None
    if _inside(points, width, height).all():
        return points
    inside = _without_repeats(clip_polygon_to_image(points, width, height))
    if len(inside) < 3 or _area(inside) == 0:
        report.skip(file, "outside the image", where)
        return None
    report.clip(file, "clipped to the image", where)
    return inside


def _fit_box(points, width, height, report, file, where):
    if len(points) != 2:
        raise FormatError(file, f"a box is 2 corners, got {len(points)}", place=where)
    low, high = points.min(axis=0), points.max(axis=0)
    if (high - low <= 0).any():
        report.skip(file, "a box of zero width or height", where)
        return None
    inside = np.clip([low, high], 0, [width, height])
    if (inside[1] - inside[0] <= 0).any():
        report.skip(file, "outside the image", where)
        return None
    if not np.array_equal(inside, [low, high]):
        report.clip(file, "clipped to the image", where)
    return inside


def _fit_points(points, width, height, report, file, where):
    inside = _inside(points, width, height)
    if not inside.any():
        report.skip(file, "outside the image", where)
        return None
    if not inside.all():
        report.clip(file, "points outside the image left out", where)
    return points[inside]


def _fit_point(points, width, height, report, file, where):
    if len(points) != 1:
        raise FormatError(file, f"a point is 1 (x, y), got {len(points)}", place=where)
    return _fit_points(points, width, height, report, file, where)


_FITTERS = {GeometryKind.POLYLINE: _fit_line, GeometryKind.POLYGON: _fit_polygon, GeometryKind.BOX: _fit_box,
            GeometryKind.POINT: _fit_point, GeometryKind.KEYPOINTS: _fit_points}


def _without_repeats(points: np.ndarray) -> np.ndarray:
    """Consecutive equal points once (a line cut at a corner of the image can touch it in one point)."""
    if len(points) < 2:
        return points
    keep = np.concatenate([[True], (np.diff(points, axis=0) != 0).any(axis=1)])
    return points[keep]


def _length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def _area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    twice = np.dot(x[:-1], y[1:]) - np.dot(y[:-1], x[1:]) + x[-1] * y[0] - y[-1] * x[0]
    return abs(float(twice)) / 2
