"""What the lane formats (TuSimple, CULane, OpenLane) share: frame file names, and each frame's lanes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ...core import FormatError, FrameObject, GeometryError, Project, Source, make_geometry
from ...core.frame_objects import objects_by_frame
from ...core.lane_order import bottom_crossings, left_to_right
from ...core.lanes import CurveSet, is_lane_class
from ..frames import VIDEO_EXTENSIONS, image_files
from .report import MappingReport

LANES_AT_ONCE = 4096  # lanes fitted and sampled together (whole frames): bounds the memory an export takes


def frame_files(project: Project) -> list[str]:
    """Each frame's file name as the lane formats list it: ``<folder>/<image>`` for an image folder, and
    ``<video stem>/<frame:06d>.jpg`` for a video (the frames one would extract from it)."""
    source = project.source_path()
    if source.is_dir():
        return [str(PurePosixPath(source.name, file.name)) for file in image_files(source)]
    stem = source.stem if source.suffix.lower() in VIDEO_EXTENSIONS else source.name
    return [str(PurePosixPath(stem, f"{index:06d}.jpg")) for index in range(project.sequence.frame_count)]


def frame_lookup(project: Project) -> dict[str, int]:
    """Frame index by file name: the whole relative name, and the bare file name where it is unique."""
    names = frame_files(project)
    lookup = {name: index for index, name in enumerate(names)}
    bare = [PurePosixPath(name).name for name in names]
    for index, name in enumerate(bare):
        if bare.count(name) == 1:
            lookup.setdefault(name, index)
    return lookup


def find_frame(lookup: dict[str, int], name: str) -> int | None:
    """The frame a file name refers to, by its whole name (leading ./ or / ignored) or its bare name."""
    cleaned = str(PurePosixPath(name.replace("\\", "/").lstrip("/")))
    return lookup.get(cleaned, lookup.get(PurePosixPath(cleaned).name))


def frames_to_export(project: Project, frames: range | None, every: int) -> range:
    if every < 1:
        raise GeometryError(None, f"--every must be 1 or more, got {every}")
    chosen = frames or range(project.sequence.frame_count)
    return range(chosen.start, chosen.stop, chosen.step * every)


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


def add_lanes(project: Project, lanes: list[tuple[int, np.ndarray]], label: str, source: Source) -> int:
    """Each (frame, points) as a lane-line track of its own (the formats have no identity across frames)."""
    with project.group(label):
        for frame, points in lanes:
            track = project.add_track("lane-line")
            project.set_state(track.id, frame, make_geometry("polyline", points), source=source)
    return len(lanes)


def text_lines(path: Path, what: str) -> list[str]:
    """The non-blank lines of a text file; FormatError naming ``what`` ("the list file") when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FormatError(path, f"cannot read {what} ({error})") from error
    return [line for line in text.splitlines() if line.strip()]
