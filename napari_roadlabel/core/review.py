"""Review records: a reviewer's verdict on a frame, a track or one object on one frame, and comments.

A mark's target is given by which of ``track_id`` and ``frame`` are set:

    track_id  frame   target
    None      F       frame F as a whole
    T         None    track T on every frame
    T         F       track T on frame F only
    None      None    the whole sequence (a sign-off)

Reviewing writes only these records, never geometry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ReviewStatus(str, enum.Enum):
    UNREVIEWED = "unreviewed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ReviewMark:
    track_id: int | None
    frame: int | None
    status: ReviewStatus
    reason: str  # why it was rejected (may also note an acceptance)
    reviewer: str
    time: str  # UTC, ISO 8601

    @property
    def target(self) -> str:
        if self.track_id is None:
            return "sequence" if self.frame is None else f"frame {self.frame}"
        return f"track {self.track_id}" + ("" if self.frame is None else f" on frame {self.frame}")


@dataclass(frozen=True)
class Comment:
    """A note anchored to a frame, a track, a point of a frame, or any of these together."""

    id: int  # shares the id space of tracks: never reused
    text: str
    author: str
    time: str
    frame: int | None = None
    track_id: int | None = None
    point: tuple[float, float] | None = None  # (x, y) in image pixels, on ``frame``
    resolved_by: str = ""
    resolved_time: str = ""

    @property
    def resolved(self) -> bool:
        return bool(self.resolved_by)
