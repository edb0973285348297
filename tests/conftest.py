"""Shared fixtures: small projects made through the public API."""

from __future__ import annotations

import hashlib
import json
import sqlite3
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


# What each schema version added to the store, undone newest first to make an older project (migration tests).
_ADDED_BY_SCHEMA = {
    2: "DROP TABLE reviews; DROP TABLE comments;",
    3: "DROP TABLE suggestions; DROP TABLE rejections; ALTER TABLE states DROP COLUMN model; "
       "ALTER TABLE tags DROP COLUMN confidence; ALTER TABLE tags DROP COLUMN model;",
    4: "DROP TABLE activity;",
    5: "DROP TABLE relations;",
}


def place_track(project: Project, class_name: str, geometry, frames, attributes=None) -> int:
    """A new track of ``class_name`` (with track ``attributes``) holding ``geometry`` on each of ``frames``; its id."""
    track = project.add_track(class_name, attributes)
    for frame in frames:
        project.set_state(track.id, frame, geometry)
    return track.id


def as_schema(folder: Path, version: int, *, metadata: bool = True) -> None:
    """Make the (closed) project in ``folder`` look as the code of schema ``version`` left it: what later
    schemas added to the store dropped, and the versions set (in project.json too, unless ``metadata`` is
    False)."""
    newer = [script for added, script in sorted(_ADDED_BY_SCHEMA.items(), reverse=True) if added > version]
    db = sqlite3.connect(folder / "annotations.sqlite")
    db.executescript(" ".join(newer) + f" PRAGMA user_version={version};")
    db.close()
    if metadata:
        path = folder / "project.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": version}))

