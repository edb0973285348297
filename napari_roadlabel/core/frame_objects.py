"""A project's objects frame by frame, read a chunk of frames per query: a pass over 20,000 frames makes
40 queries, not 20,000."""

from __future__ import annotations

from collections.abc import Iterator

from .annotations import FrameObject
from .project import Project

CHUNK = 500  # frames read at once


def objects_by_frame(project: Project, frames: range) -> Iterator[dict[int, list[FrameObject]]]:
    """The frames' objects (in track id order), ``CHUNK`` frames at a time: one query per chunk, not per frame."""
    for first in range(0, len(frames), CHUNK):
        chunk = frames[first:first + CHUNK]
        by_frame: dict[int, list[FrameObject]] = {frame: [] for frame in chunk}
        for obj in project.store.iter_objects(range(chunk[0], chunk[-1] + 1)):
            if obj.state.frame in by_frame:
                by_frame[obj.state.frame].append(obj)
        yield by_frame
