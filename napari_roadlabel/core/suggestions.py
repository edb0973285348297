"""Suggestions waiting for a person, and what accepting or rejecting one does.

A suggestion is one of three things in the store:

* a **state** with source ``suggested`` (a proposed geometry; a new object's track holds only such states),
* an **attribute suggestion** (``AttributeSuggestion``): values for attributes of an object already labeled,
* a **tag** with source ``suggested`` (a proposed frame range).

Each carries its confidence and the model that made it (``name@version``).  Accepting turns it into a label
and keeps that provenance: the state or tag becomes ``manual`` with its ``model`` kept; the attribute values
are written on that frame only (or on the track, for track-level attributes) and the suggestion's record stays,
``accepted``.  Rejecting removes it and records a ``Rejection``, so the same assistant does not propose it
again.  Every accept and reject is one undo step, so a bulk accept is undone at once.

A *disputed* attribute suggestion is a confident model disagreeing with what a person labeled: it is never
applied by itself; QA lists it (the ``suggestion-disagrees`` check) and a reviewer accepts or rejects it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .annotations import AttributeSuggestion, Rejection, Source, SuggestionStatus
from .errors import AnnotationError
from .geometry import Geometry, bounds_iou
from .project import Project

GEOMETRY, ATTRIBUTES, TAGS = "geometry", "attributes", "tags"  # the kinds of suggestion (and of rejection)
PERSON_SOURCES = frozenset({Source.MANUAL, Source.IMPORTED})  # states and tags a person made or brought in
SAME_PLACE_IOU = 0.5  # a proposal this close to a rejected one (bounds IoU) is the same proposal
LINE_MARGIN = 4.0  # px added around a line's bounds before comparing: a near-vertical lane has no area


@dataclass(frozen=True)
class Suggestion:
    """One proposal, of one of three kinds:

    * a **geometry**: ``class_name`` and ``geometry`` on ``frame``; ``track_id`` is the track it continues
      (a mask carried to the next frame), or None for a new object: geometries with the same ``new_track``
      number become one new track (a lane proposed on frames 10-40), each other one a track of its own;
    * **attribute values** on an object already labeled: ``track_id``, ``frame`` and ``attributes`` (per-frame
      attributes such as a light's state; track-level ones such as a lane's colour too);
    * a **frame tag**: a frame-range ``class_name`` over ``frame``..``last_frame`` with its ``attributes``.
    """

    frame: int
    confidence: float  # 0..1
    class_name: str | None = None
    track_id: int | None = None
    geometry: Geometry | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    last_frame: int | None = None  # tags only: the last frame, inclusive
    new_track: int | None = None  # geometries only: proposals with the same number are one new object

    @property
    def kind(self) -> str:
        if self.geometry is not None:
            return GEOMETRY
        return TAGS if self.last_frame is not None else ATTRIBUTES


@dataclass(frozen=True)
class Pending:
    """One suggestion for a person to check, whatever its kind."""

    kind: str  # GEOMETRY, ATTRIBUTES or TAGS
    frame: int  # a tag's first frame
    confidence: float
    model: str  # "name@version"
    target: int  # the track's id (GEOMETRY, ATTRIBUTES) or the tag's (TAGS)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    last_frame: int | None = None  # TAGS: its last frame

    @property
    def assistant(self) -> str:
        return assistant_of(self.model)


def assistant_of(model: str) -> str:
    """"light-state@1a2b3c4d" -> "light-state"."""
    return model.rpartition("@")[0] or model


def pending_suggestions(project: Project, *, frames: range | None = None, track_id: int | None = None,
                        assistant: str | None = None, min_confidence: float = 0.0) -> list[Pending]:
    """Every pending suggestion (on ``frames``, of one track, of one assistant, at least ``min_confidence``), in
    frame order.  Sort by ``confidence`` for "the unsure first"."""
    store = project.store
    states = store.suggested_states(frames) if track_id is None else [
        state for state in store.states_of(track_id, source=Source.SUGGESTED)
        if frames is None or state.frame in frames]
    found = [Pending(GEOMETRY, state.frame, state.confidence or 0.0, state.model, state.track_id,
                     dict(state.attributes)) for state in states]
    found += [Pending(ATTRIBUTES, row.frame, row.confidence, row.model, row.track_id, dict(row.attributes))
              for row in store.attribute_suggestions(frames=frames, track_id=track_id)]
    if track_id is None:
        found += [Pending(TAGS, tag.start, tag.confidence or 0.0, tag.model, tag.id, dict(tag.attributes), tag.end)
                  for tag in project.tags() if tag.source is Source.SUGGESTED and _overlaps(tag, frames)]
    return sorted((item for item in found if item.confidence >= min_confidence
                   and assistant in (None, item.assistant)), key=lambda item: (item.frame, item.target, item.kind))


def least_confidence_by_frame(project: Project) -> dict[int, float]:
    """Frame -> the confidence of the least sure suggestion waiting on it (a suggested tag counts on each of its
    frames); frames with none are left out."""
    least = project.store.least_pending_confidence()
    for tag in project.tags():
        if tag.source is Source.SUGGESTED:
            for frame in range(tag.start, tag.end + 1):
                least[frame] = min(least.get(frame, 1.0), tag.confidence or 0.0)
    return least


def disputes(project: Project, frames: range | None = None) -> list[AttributeSuggestion]:
    """Confident suggestions that disagree with what a person labeled (the QA check lists them)."""
    return project.store.attribute_suggestions(frames=frames, statuses=(SuggestionStatus.DISPUTED,))


def accept(project: Project, item: Pending | AttributeSuggestion) -> None:
    """Make the suggestion a label (one undo step), keeping the model that proposed it."""
    accept_all(project, [item], "accept suggestion")


def reject(project: Project, item: Pending | AttributeSuggestion) -> None:
    """Remove the suggestion and remember it, so its assistant does not propose it again (one undo step)."""
    reject_all(project, [item], "reject suggestion")


def accept_all(project: Project, items: Iterable[Pending | AttributeSuggestion], label: str = "accept suggestions"
               ) -> int:
    """Accept every one of ``items`` as one undo step; returns how many."""
    return _each(project, items, label, _accept_one)


def reject_all(project: Project, items: Iterable[Pending | AttributeSuggestion], label: str = "reject suggestions"
               ) -> int:
    """Reject every one of ``items`` as one undo step; returns how many."""
    return _each(project, items, label, _reject_one)


def _each(project: Project, items, label: str, action) -> int:
    count = 0
    with project.group(label):
        for item in items:
            action(project, item if isinstance(item, Pending) else _as_pending(item))
            count += 1
    return count


def _as_pending(row: AttributeSuggestion) -> Pending:
    return Pending(ATTRIBUTES, row.frame, row.confidence, row.model, row.track_id, dict(row.attributes))


def _accept_one(project: Project, item: Pending) -> None:
    store = project.store
    if item.kind == GEOMETRY:
        state = _suggested_state(project, item)
        store.put_state(dataclasses.replace(state, source=Source.MANUAL), "accept suggestion")
    elif item.kind == TAGS:
        tag = store.tag(item.target)
        store.put_tag(dataclasses.replace(tag, source=Source.MANUAL), "accept suggestion")
    else:
        row = _attribute_row(project, item)
        apply_attributes(project, row.track_id, row.frame, row.attributes)
        store.put_attribute_suggestion(dataclasses.replace(row, status=SuggestionStatus.ACCEPTED))


def _reject_one(project: Project, item: Pending) -> None:
    store = project.store
    if item.kind == GEOMETRY:
        state = _suggested_state(project, item)
        track = store.track(item.target)
        detail = {"kind": state.geometry.kind.value, "bounds": list(state.geometry.bounds())}
        store.add_rejection(Rejection(0, item.assistant, GEOMETRY, item.frame, item.frame, track.class_name,
                                      track.id, detail))
        if not (store.nearest_state(track.id, item.frame, before=True)
                or store.nearest_state(track.id, item.frame, before=False)):
            store.delete_track(track.id)  # a proposed object with nothing left
        else:
            store.delete_state(track.id, item.frame)
    elif item.kind == TAGS:
        tag = store.tag(item.target)
        store.add_rejection(Rejection(0, item.assistant, TAGS, tag.start, tag.end, tag.class_name, None,
                                      {"attributes": dict(tag.attributes)}))
        store.delete_tag(tag.id)
    else:
        row = _attribute_row(project, item)
        store.add_rejection(Rejection(0, row.assistant, ATTRIBUTES, row.frame, row.frame,
                                      _class_of(project, row.track_id), row.track_id,
                                      {"attributes": dict(row.attributes)}))
        store.delete_attribute_suggestion(row.track_id, row.frame, row.assistant)


def apply_attributes(project: Project, track_id: int, frame: int, values: Mapping[str, Any]) -> None:
    """Write suggested values: track-level ones on the track, per-frame ones on this frame's state only (the
    assistant has its own suggestion for each other frame).  A disputed tag's values go on the tag."""
    if not project.store.has_track(track_id):
        project.update_tag(track_id, attributes=values)
        return
    track = project.store.track(track_id)
    on_track, on_frame = project.taxonomy[track.class_name].split_attributes(values, f"track {track_id}")
    if on_track:
        project.set_track_attributes(track_id, on_track)
    if on_frame:
        state = project.store.state(track_id, frame)
        if state is None:
            raise AnnotationError(None, f"track {track_id} is no longer on frame {frame}")
        project.store.put_state(dataclasses.replace(state, attributes={**state.attributes, **on_frame}))


def is_rejected(rejections: Iterable[Rejection], kind: str, frame: int, class_name: str, *,
                track_id: int | None = None, attributes: Mapping[str, Any] | None = None,
                geometry: Geometry | None = None, last_frame: int | None = None) -> bool:
    """Whether a person already rejected this proposal: the same values on the same object and frame, a
    geometry in the same place on the same frame, or a tag with the same values over any of these frames."""
    for rejection in rejections:
        if rejection.kind != kind or rejection.class_name != class_name:
            continue
        if kind == TAGS:
            if rejection.frame <= (last_frame if last_frame is not None else frame) and frame <= rejection.last \
                    and rejection.detail.get("attributes") == dict(attributes or {}):
                return True
        elif rejection.frame != frame:
            continue
        elif kind == ATTRIBUTES:
            if rejection.track_id == track_id and rejection.detail.get("attributes") == dict(attributes or {}):
                return True
        elif geometry is not None and bounds_iou(rejection.detail["bounds"], geometry.bounds(),
                                                 margin=LINE_MARGIN) >= SAME_PLACE_IOU:
            return True
    return False


def _suggested_state(project: Project, item: Pending):
    state = project.store.state(item.target, item.frame)
    if state is None or state.source is not Source.SUGGESTED:
        raise AnnotationError(None, f"track {item.target} has no suggested state on frame {item.frame}")
    return state


def _attribute_row(project: Project, item: Pending) -> AttributeSuggestion:
    row = project.store.attribute_suggestion(item.target, item.frame, item.assistant)
    if row is None or row.status is SuggestionStatus.ACCEPTED:
        raise AnnotationError(None, f"no suggestion of {item.assistant!r} for track {item.target} on frame "
                                    f"{item.frame}")
    return row


def _class_of(project: Project, target: int) -> str:
    store = project.store
    return store.track(target).class_name if store.has_track(target) else store.tag(target).class_name


def _overlaps(tag, frames: range | None) -> bool:
    return frames is None or (tag.start < frames.stop and tag.end >= frames.start)
