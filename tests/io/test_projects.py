"""Projects over frame sources: the source checked against what the project recorded."""

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import Project
from napari_roadlabel.core.errors import RoadlabelWarning
from napari_roadlabel.io.projects import create_project, open_project_frames

FRAMES = 40


def test_a_video_cut_short_since_the_project_was_made_is_a_warning(tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 90))
    for index in range(FRAMES):
        writer.write(np.full((90, 160, 3), index * 5, np.uint8))
    writer.release()
    create_project(tmp_path / "p", video).close()
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with Project.open(tmp_path / "p") as project, pytest.warns(RoadlabelWarning) as warned:
        frames = open_project_frames(project)
    with frames:
        assert 0 < len(frames) < FRAMES
        assert f"{video}: has {len(frames)} frames, but the project was made for {FRAMES}" in \
            [str(warning.message) for warning in warned]
