"""Projects over frame sources: what needs both the core and the frame readers."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..core import Project, ProjectError, SequenceInfo, Taxonomy
from ..core.errors import RoadlabelWarning
from .frames import FrameSource, open_frames


def create_project(folder: str | Path, source: str | Path, *, taxonomy: Taxonomy | None = None,
                   annotator: str = "") -> Project:
    """A new project over a video or image folder; the frames are counted and measured, never copied.

    The source is recorded relative to the project folder, so both can move together.
    """
    folder, source = Path(folder), Path(source)
    with open_frames(source) as frames:
        width, height = frames.size
        count, fps = len(frames), frames.fps
    relative = os.path.relpath(source.resolve(), folder.resolve())
    sequence = SequenceInfo(source=relative, frame_count=count, width=width, height=height, fps=fps)
    return Project.create(folder, sequence, taxonomy=taxonomy, annotator=annotator)


def open_project_frames(project: Project) -> FrameSource:
    """The project's frame source, checked against what the project recorded when it was made.

    Frames of another size are refused; another number of frames (a video cut short since) is a warning: the
    annotations are all kept, and those on frames the source lacks are not shown.
    """
    frames = open_frames(project.source_path())
    expected = (project.sequence.width, project.sequence.height)
    if frames.size != expected:
        frames.close()
        raise ProjectError(project.source_path(), f"frames are {frames.size[0]}x{frames.size[1]}, but the project "
                                                  f"was made for {expected[0]}x{expected[1]}")
    if len(frames) != project.sequence.frame_count:
        warnings.warn(RoadlabelWarning(project.source_path(), f"has {len(frames)} frames, but the project was made "
                                                              f"for {project.sequence.frame_count}"), stacklevel=2)
    return frames
