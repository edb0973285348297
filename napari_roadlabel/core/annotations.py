"""Annotation records: tracks, their per-frame states, and frame-range tags.

A track is one real-world object (a lane line, a traffic light) followed
across frames under a stable id that is never reused.  A state is the track on
one frame: its geometry, the per-frame attributes and where the state came
from.  A frame-range tag marks a span of frames (school zone active, scene).  A
relation joins two objects (a light and the lane it governs) over a span of frames.
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
    model: str = ""  # "name@version" of the assistant that proposed it, kept when a person accepts it

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
    confidence: float | None = None  # a suggested tag's
    model: str = ""  # "name@version" of the assistant that proposed it, kept when a person accepts it

    def covers(self, frame: int) -> bool:
        return self.start <= frame <= self.end


@dataclass(frozen=True)
class RelationEnd:
    """One end of a relation: a track (``right`` 0), or a lane, the space between the adjacent lane lines
    ``track`` (on its left) and ``right`` (track ids start at 1, so 0 is "none")."""

    track: int
    right: int = 0

    @classmethod
    def lane(cls, left: int, right: int) -> RelationEnd:
        return cls(left, right)

    @property
    def is_lane(self) -> bool:
        return self.right != 0

    @property
    def track_ids(self) -> tuple[int, ...]:
        return (self.track, self.right) if self.is_lane else (self.track,)

    def __str__(self) -> str:
        return f"lane {self.track}|{self.right}" if self.is_lane else f"track {self.track}"


@dataclass(frozen=True)
class Relation:
    """``source`` stands in relation ``type`` (a name the taxonomy declares) to ``target`` on frames
    ``start``..``end`` (inclusive), like a frame-range attribute."""

    id: int  # shares the id space of tracks and tags: never reused
    type: str
    source: RelationEnd
    target: RelationEnd
    start: int
    end: int

    def covers(self, frame: int) -> bool:
        return self.start <= frame <= self.end

    def __str__(self) -> str:
        return f"relation {self.id} ({self.source} {self.type} {self.target})"


class SuggestionStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for a person
    ACCEPTED = "accepted"  # a person took it: its values are labels now; the record keeps the provenance
    DISPUTED = "disputed"  # a confident model disagrees with what a person labeled: a QA finding, never applied

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class AttributeSuggestion:
    """A model's values for attributes of an object already labeled: per-frame ones on ``frame`` (a light's
    state), track-level ones (a lane's colour) on the track, recorded at the frame the model saw."""

    track_id: int  # a track's id, or a frame-range tag's (they share one id space) for a disputed tag
    frame: int
    assistant: str  # the model's name without its version: one pending suggestion per object, frame and name
    attributes: Mapping[str, Any]
    confidence: float
    model: str  # "name@version"
    status: SuggestionStatus = SuggestionStatus.PENDING


@dataclass(frozen=True)
class Rejection:
    """What a person rejected, so the same assistant does not propose it again.  ``kind`` is "geometry" (a
    proposed state: ``detail`` holds its kind and bounds), "attributes" (``detail`` the values) or "tags" (frames
    ``frame``..``last``, ``detail`` the tag's attributes)."""

    id: int
    assistant: str
    kind: str
    frame: int
    last: int
    class_name: str
    track_id: int | None
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class FrameObject:
    """What a view needs for one object on one frame: the track and its state together."""

    track: Track
    state: FrameState

    @property
    def attributes(self) -> dict[str, Any]:
        """Track-level and per-frame attributes in one mapping."""
        return {**self.track.attributes, **self.state.attributes}
