"""What the lane-only formats (TuSimple, CULane) share: frame file names, and a frame's lanes left to right."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from ...core import FrameObject, GeometryError, Project
from ...core.lane_order import order_lanes
from ...core.lanes import LaneCurve, fit_lane, is_lane_class
from ..frames import VIDEO_EXTENSIONS, image_files
from .report import MappingReport


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


def lanes_left_to_right(project: Project, frame: int, report: MappingReport,
                        reason: str) -> Iterator[tuple[FrameObject, LaneCurve]]:
    """The frame's lane lines with their curves, leftmost first; every other object counted as dropped."""
    lanes = {}
    for obj in project.objects_on(frame):
        if is_lane_class(obj.track.class_name):
            lanes[obj.track.id] = (obj, fit_lane(obj.state.geometry.points, where=f"track {obj.track.id}"))
        else:
            report.drop(obj.track.class_name, reason)
    order = order_lanes({track_id: curve for track_id, (_, curve) in lanes.items()}, project.sequence.width,
                        project.sequence.height)
    for track_id in sorted(lanes, key=order.get):
        yield lanes[track_id]


