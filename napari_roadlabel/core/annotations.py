"""Annotation records: tracks, their per-frame states, and frame-range tags.

A track is one real-world object (a lane line, a traffic light) followed
across frames under a stable id that is never reused.  A state is the track on
one frame: its geometry, the per-frame attributes and where the state came
from.  A frame-range tag marks a span of frames (school zone active, scene).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .geometry import Geometry


class Source(str, enum.Enum):
    MANUAL = "manual"  # drawn or edited by a person: a keyframe
    INTERPOLATED = "interpolated"  # computed between keyframes
    PROPAGATED = "propagated"  # carried by image-based tracking; has a confidence
    IMPORTED = "imported"  # ground truth brought in from a file
    SUGGESTED = "suggested"  # a model's prediction waiting for a person

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Track:
    id: int
    class_name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)  # track-level


@dataclass(frozen=True)
class FrameState:
    track_id: int
    frame: int
    geometry: Geometry
    attributes: Mapping[str, Any] = field(default_factory=dict)  # per-frame
    source: Source = Source.MANUAL
    confidence: float | None = None

    @property
    def is_keyframe(self) -> bool:
        return self.source is Source.MANUAL


@dataclass(frozen=True)
class FrameRangeTag:
    id: int  # shares the id space of tracks: never reused
    class_name: str
    start: int  # first frame, inclusive
    end: int  # last frame, inclusive
    attributes: Mapping[str, Any] = field(default_factory=dict)
    source: Source = Source.MANUAL

    def covers(self, frame: int) -> bool:
        return self.start <= frame <= self.end


@dataclass(frozen=True)
class FrameObject:
    """What a view needs for one object on one frame: the track and its state together."""

    track: Track
    state: FrameState

    @property
    def attributes(self) -> dict[str, Any]:
        """Track-level and per-frame attributes in one mapping."""
        return {**self.track.attributes, **self.state.attributes}
