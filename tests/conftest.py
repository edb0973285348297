"""Shared fixtures: small projects made through the public API."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from napari_roadlabel.core import Project, SequenceInfo

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def project(tmp_path) -> Project:
    """An empty 100-frame 640x360 project (the frames themselves are not needed by the core)."""
    with Project.create(tmp_path / "project", SequenceInfo("clip.mp4", 100, 640, 360, 30.0)) as opened:
        yield opened


@pytest.fixture
def fingerprint():
    """Name -> content hash of every file below a folder: to prove that nothing changed on disk."""
    return _fingerprint


def _fingerprint(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture
def small_video(tmp_path) -> Path:
    """A 12-frame 160x90 mp4 whose frames differ (a bright square moving right)."""
    import cv2
    import numpy as np

    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 90))
    for index in range(12):
        frame = np.full((90, 160, 3), 40, np.uint8)
        frame[30:60, 10 + index * 10:40 + index * 10] = 230
        writer.write(frame)
    writer.release()
    return path
