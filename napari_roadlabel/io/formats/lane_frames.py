"""What the lane formats (TuSimple, CULane, OpenLane) share: frame file names, and each frame's lanes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...core import FormatError, FrameObject, GeometryError, GeometryKind, Project, RoadlabelError, Source
from ...core.frame_objects import objects_by_frame
from ...core.lane_order import bottom_crossings, left_to_right
from ...core.lanes import CurveSet, is_lane_class
from .frame_match import Entry, match_entries
from .import_report import ImportReport, fit_to_image
from .report import MappingReport

LANE_CLASS = "lane-line"
LANES_AT_ONCE = 4096  # lanes fitted and sampled together (whole frames): bounds the memory an export takes


def frames_to_export(project: Project, frames: range | None, every: int) -> range:
    if every < 1:
        raise GeometryError(None, f"--every must be 1 or more, got {every}")
    check_frames(project, frames)
    chosen = frames or range(project.sequence.frame_count)
    return range(chosen.start, chosen.stop, chosen.step * every)


def check_frames(project: Project, frames: range | None) -> None:
    """An export's frames (None: all of them) must all be frames of the sequence: a range reaching past its end
    is refused rather than clipped, so that what is asked for is what is written."""
    count = project.sequence.frame_count
    if frames is not None and (not frames or frames[0] < 0 or frames[-1] >= count):
        raise RoadlabelError(project.folder, f"frames {frames.start}:{frames.stop} are not all in the sequence, "
                                             f"which has {count} frames (0:{count})")


@dataclass(frozen=True)
class Lane:
    obj: FrameObject
    place: int  # from the car: -1 left, -2 left-left, ..., 1 right, 2 right-right, ...
    samples: Any  # what the export's ``sample`` made of its curve


def lanes_by_frame(project: Project, frames: range, report: MappingReport, reason: str,
                   sample: Callable[[CurveSet], Sequence]) -> Iterator[tuple[int, list[Lane]]]:
    """(frame, its lanes left to right) for each frame; every other object counted as dropped with ``reason``.

    The lanes of consecutive frames, up to ``LANES_AT_ONCE``, are handled together, as arrays: fitted (all lanes
    with the same number of points at once), ordered, and handed to ``sample``, which returns what the export
    writes of each curve, computed for all of them at once: one lane at a time, numpy's overhead is most of the
    work.  Counting lanes rather than frames bounds the memory whatever the lanes per frame (2,000 make 44,000 in
    22 frames).
    """
    width, height = project.sequence.width, project.sequence.height
    for by_frame in objects_by_frame(project, frames):
        lanes = {frame: [obj for obj in objects if _is_lane(obj, report, reason)]
                 for frame, objects in by_frame.items()}
        for group in _frame_groups(lanes):
            yield from _lanes_of_frames(group, sample, width, height)


def _frame_groups(lanes: dict[int, list[FrameObject]]) -> Iterator[dict[int, list[FrameObject]]]:
    """Runs of consecutive frames with ``LANES_AT_ONCE`` lanes at most between them (a frame with more, alone)."""
    group: dict[int, list[FrameObject]] = {}
    count = 0
    for frame, found in lanes.items():
        if group and count + len(found) > LANES_AT_ONCE:
            yield group
            group, count = {}, 0
        group[frame] = found
        count += len(found)
    if group:
        yield group


def _lanes_of_frames(group: dict[int, list[FrameObject]], sample: Callable[[CurveSet], Sequence], width: int,
                     height: int) -> Iterator[tuple[int, list[Lane]]]:
    lanes = [obj for found in group.values() for obj in found]
    curves = CurveSet.fit([obj.state.geometry.points for obj in lanes],
                          where=[f"track {obj.track.id}, frame {obj.state.frame}" for obj in lanes])
    lane_frames = np.array([obj.state.frame for obj in lanes], dtype=int)
    order, places = left_to_right(lane_frames, bottom_crossings(curves, height), width)
    places, samples = places.tolist(), sample(curves)
    # A frame's lanes are a run of ``order``; their Lanes are made as the frame is yielded, so that
    # they die young: hundreds of thousands kept for a whole chunk make the GC's full passes frequent.
    chunk, ranked = list(group), lane_frames[order]
    starts, ends = np.searchsorted(ranked, chunk, "left").tolist(), np.searchsorted(ranked, chunk, "right").tolist()
    order = order.tolist()
    for frame, start, end in zip(chunk, starts, ends, strict=True):
        yield frame, [Lane(lanes[index], places[index], samples[index]) for index in order[start:end]]


def _is_lane(obj: FrameObject, report: MappingReport, reason: str) -> bool:
    if is_lane_class(obj.track.class_name):
        return True
    report.drop(obj.track.class_name, reason)
    return False


@dataclass
class ImportedLane:
    """One lane of one entry of a lane file, as read (not yet fitted to the image)."""

    where: str  # e.g. "line 3, lane 2"
    points: Any  # (N, 2) x, y
    track: object = None  # the file's identity of the lane across frames; None: a track of its own
    track_attributes: dict = field(default_factory=dict)
    frame_attributes: dict = field(default_factory=dict)
    file: Path | None = None  # the file it is in, when not the entry's (CULane: the frame's .lines.txt)


def import_lanes(project: Project, entries: list[Entry], report: ImportReport, source: Source,
                 lanes_of: Callable[[Entry], list[ImportedLane]] | None = None) -> ImportReport:
    """Add the lanes of the entries that are for ``project`` (see frame_match) as lane-line tracks, in one undo
    step: each fitted to the image by the border policy (import_report), all checked before the first is added.
    ``lanes_of`` reads an entry's lanes (default: they are its labels).  Returns ``report``, also written into
    the project."""
    planned = []
    for frame, entry in match_entries(project, entries, report):
        for lane in entry.labels if lanes_of is None else lanes_of(entry):
            file = lane.file or entry.file
            geometry = fit_to_image(GeometryKind.POLYLINE, lane.points, project, report, file, lane.where)
            if geometry is not None:
                planned.append((frame, lane, geometry))
    _refuse_twice_on_a_frame(planned, Path(report.source))
    tracks: dict[object, int] = {}
    with project.group(f"import {report.format} {Path(report.source).name}"):
        for index, (frame, lane, geometry) in enumerate(planned):
            key = ("own", index) if lane.track is None else lane.track
            if key not in tracks:
                tracks[key] = project.add_track(LANE_CLASS, lane.track_attributes).id
            project.set_state(tracks[key], frame, geometry, lane.frame_attributes, source=source)
            report.added(LANE_CLASS, GeometryKind.POLYLINE)
    report.write_into(project)
    return report


def _refuse_twice_on_a_frame(planned: list[tuple[int, ImportedLane, Any]], path: Path) -> None:
    first: dict[tuple[object, int], ImportedLane] = {}
    for frame, lane, _ in planned:
        if lane.track is not None:
            other = first.setdefault((lane.track, frame), lane)
            if other is not lane:
                raise FormatError(lane.file or path, f"{other.where} and {lane.where} are both track {lane.track} "
                                                     f"on frame {frame}: a track is one lane a frame")


def text_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """(line number, line) for the non-blank lines of a text file; FormatError naming ``what`` ("the list file")
    when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FormatError(path, f"cannot read {what} ({error})") from error
    return [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
