"""Write suggestions into a project: an assistant's run, or predictions imported from a file.

The rules:

* The earlier *pending* suggestions of the same assistant (the model's name, any version) on the frames
  written are replaced; nothing a person made or accepted is touched, nor any other assistant's suggestions.
* Below ``min_confidence``, or rejected by a person before (``core.suggestions.is_rejected``): left out.
* Attribute values: a value equal to the object's current one is no news and left out.  A value a person set
  (on a manual or imported state, or accepted before; the taxonomy's default counts as not set) is never
  overwritten: when the assistant is at least ``DISPUTE_AT`` sure of a different value, that is recorded as a
  dispute, which QA lists.  The other values are one pending suggestion per object and frame.
* Geometries: a state where the track already has one is left out, and so is a new object where a person's
  object of the class already is on that frame (bounds IoU at least ``SAME_PLACE_IOU``: made, imported or
  accepted); proposals sharing a ``new_track`` number become one new track, created only if one of its states
  is written.
* Tags: frames a person tagged with the class are left out (a confident different value there is a dispute on
  that tag), so are frames of a rejected tag with the same values; what is left becomes suggested tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .annotations import AttributeSuggestion, FrameState, Source, SuggestionStatus, Track
from .errors import AnnotationError
from .geometry import bounds_iou, clipped_to_image
from .project import Project
from .suggestions import (
    ATTRIBUTES,
    GEOMETRY,
    PERSON_SOURCES,
    SAME_PLACE_IOU,
    TAGS,
    Suggestion,
    assistant_of,
    is_rejected,
)
from .taxonomy import Scope
from .timeline import true_runs
from .wording import counted

DISPUTE_AT = 0.9  # a model this sure of a value a person labeled otherwise raises a QA finding


@dataclass
class Written:
    """What ``write_suggestions`` did, counted."""

    states: int = 0
    new_tracks: int = 0
    attributes: int = 0
    tags: int = 0
    disputed: int = 0
    replaced: int = 0  # the assistant's earlier pending suggestions on these frames
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def describe(self) -> str:
        parts = [counted(self.states, "suggested state") + (f" ({counted(self.new_tracks, 'new object')})"
                                                            if self.new_tracks else ""),
                 counted(self.attributes, "attribute suggestion"), counted(self.tags, "suggested tag")]
        text = "wrote " + ", ".join(parts)
        if self.disputed:
            text += f"; {counted(self.disputed, 'disagreement')} with people's labels (see `roadlabel qa`)"
        if self.skipped:
            text += "; left out: " + ", ".join(f"{count:,} {reason}" for reason, count in sorted(self.skipped.items()))
        return text


def write_suggestions(project: Project, model: str, suggestions: Iterable[Suggestion], *, frames: range | None = None,
                      min_confidence: float = 0.0) -> Written:
    """Write ``model``'s (``name@version``) suggestions by the rules in the module's docstring, as one undo step,
    replacing its name's earlier pending suggestions on ``frames`` (the whole sequence by default)."""
    frames = frames if frames is not None else range(project.sequence.frame_count)
    written = Written()
    with project.group(f"suggest ({model})"):
        written.replaced = _clear_pending(project, assistant_of(model), frames)
        writer = _Writer(project, model, written)
        for suggestion in suggestions:
            if suggestion.confidence < min_confidence:
                written.skip("below the minimum confidence")
            else:
                writer.write(suggestion)
    return written


def _clear_pending(project: Project, assistant: str, frames: range) -> int:
    store = project.store
    rows = store.attribute_suggestions(frames=frames, assistant=assistant,
                                       statuses=(SuggestionStatus.PENDING, SuggestionStatus.DISPUTED))
    for row in rows:
        store.delete_attribute_suggestion(row.track_id, row.frame, row.assistant)
    states = [state for state in store.suggested_states(frames) if assistant_of(state.model) == assistant]
    for state in states:
        store.delete_state(state.track_id, state.frame)
    for track_id in {state.track_id for state in states}:
        if not store.states_of(track_id):
            store.delete_track(track_id)
    tags = [tag for tag in project.tags() if tag.source is Source.SUGGESTED and assistant_of(tag.model) == assistant
            and frames.start <= tag.start and tag.end < frames.stop]
    for tag in tags:
        store.delete_tag(tag.id)
    return len(rows) + len(states) + len(tags)


class _Writer:
    def __init__(self, project: Project, model: str, written: Written):
        self.project, self.model, self.written = project, model, written
        self.store = project.store
        self.rejections = self.store.rejections(assistant_of(model))
        self.new_tracks: dict[int, Track] = {}
        self.person_objects: dict[int, list] = {}  # frame -> (class, bounds) of a person's objects on it
        self._person_tracks: dict[int, bool] = {}  # track id -> whether a person made any of its states

    def write(self, suggestion: Suggestion) -> None:
        kind = suggestion.kind
        if kind == GEOMETRY:
            self._geometry(suggestion)
        elif kind == TAGS:
            self._tag(suggestion)
        else:
            self._attributes(suggestion)

    # ---------------------------------------------------------- attribute values

    def _attributes(self, suggestion: Suggestion) -> None:
        state = self.store.state(suggestion.track_id, suggestion.frame) if suggestion.track_id else None
        if state is None:
            self.written.skip("on an object not on that frame")
            return
        track = self.store.track(state.track_id)
        spec = self.project.taxonomy[track.class_name]
        where = f"{self.model}: track {track.id}, frame {state.frame}"
        on_track, on_frame = spec.split_attributes(suggestion.attributes, where)
        current = {**track.attributes, **state.attributes}
        news = {name: value for name, value in {**on_track, **on_frame}.items() if current.get(name) != value}
        if not news:
            self.written.skip("agreeing with the label")
            return
        set_by_person = self._set_by_person(track, state, spec)
        contested = {name: value for name, value in news.items() if name in set_by_person}
        if contested and suggestion.confidence >= DISPUTE_AT:
            self._put_row(track.id, state.frame, contested, suggestion.confidence, SuggestionStatus.DISPUTED)
            self.written.disputed += 1
        open_values = {name: value for name, value in news.items() if name not in set_by_person}
        if not open_values:
            if not contested or suggestion.confidence < DISPUTE_AT:
                self.written.skip("set by a person")
        elif is_rejected(self.rejections, ATTRIBUTES, state.frame, track.class_name, track_id=track.id,
                         attributes=open_values):
            self.written.skip("rejected before")
        else:
            self._put_row(track.id, state.frame, open_values, suggestion.confidence, SuggestionStatus.PENDING)
            self.written.attributes += 1

    def _set_by_person(self, track: Track, state: FrameState, spec) -> set[str]:
        """Names of the attributes a person set on this object and frame (a default is not set)."""
        defaults = {**spec.defaults(Scope.TRACK), **spec.defaults(Scope.FRAME)}
        accepted = self.store.attribute_suggestions(frames=range(state.frame, state.frame + 1), track_id=track.id,
                                                    statuses=(SuggestionStatus.ACCEPTED,))
        names = {name for row in accepted for name in row.attributes}
        if state.source in PERSON_SOURCES:
            names |= {name for name, value in state.attributes.items() if value != defaults.get(name)}
        if state.source in PERSON_SOURCES or self._has_person_state(track.id):
            names |= {name for name, value in track.attributes.items() if value != defaults.get(name)}
        return names

    def _has_person_state(self, track_id: int) -> bool:
        """Whether a person made any state of the track: asked once per track and run (a light has a suggestion
        on each of its frames)."""
        if track_id not in self._person_tracks:
            self._person_tracks[track_id] = any(state.source in PERSON_SOURCES
                                                for state in self.store.states_of(track_id))
        return self._person_tracks[track_id]

    def _put_row(self, target: int, frame: int, values: dict, confidence: float, status: SuggestionStatus) -> None:
        self.store.put_attribute_suggestion(AttributeSuggestion(target, frame, assistant_of(self.model), values,
                                                                float(confidence), self.model, status))

    # ---------------------------------------------------------- geometries

    def _geometry(self, suggestion: Suggestion) -> None:
        size = (self.project.sequence.width, self.project.sequence.height)
        geometry = clipped_to_image(suggestion.geometry, *size)
        if geometry is None:
            self.written.skip("outside the image")
            return
        if suggestion.track_id is not None:
            class_name = self.store.track(suggestion.track_id).class_name
            if self.store.state(suggestion.track_id, suggestion.frame) is not None:
                self.written.skip("where the object already is")
                return
        else:
            class_name = suggestion.class_name
            if self._person_object_at(suggestion.frame, class_name, geometry):
                self.written.skip("where a person labeled one")
                return
        if is_rejected(self.rejections, GEOMETRY, suggestion.frame, class_name, geometry=geometry):
            self.written.skip("rejected before")
            return
        spec = self.project.taxonomy[class_name]
        on_track, on_frame = spec.split_attributes(suggestion.attributes, f"{self.model}: frame "
                                                                          f"{suggestion.frame}")
        track_id = suggestion.track_id if suggestion.track_id is not None else self._new_track(suggestion,
                                                                                                 on_track).id
        self.project.set_state(track_id, suggestion.frame, geometry, on_frame, source=Source.SUGGESTED,
                               confidence=float(suggestion.confidence), model=self.model)
        self.written.states += 1

    def _person_object_at(self, frame: int, class_name: str, geometry) -> bool:
        """Whether a person's object of the class (made, imported or accepted) is in this place on the frame."""
        if frame not in self.person_objects:  # read once a frame: what is written here is no person's
            self.person_objects[frame] = [(item.track.class_name, item.state.geometry.bounds())
                                          for item in self.store.objects_on(frame)
                                          if item.state.source in PERSON_SOURCES]
        return any(name == class_name and bounds_iou(bounds, geometry.bounds()) >= SAME_PLACE_IOU
                   for name, bounds in self.person_objects[frame])

    def _new_track(self, suggestion: Suggestion, attributes: dict) -> Track:
        key = suggestion.new_track if suggestion.new_track is not None else -1 - len(self.new_tracks)
        if key not in self.new_tracks:
            if suggestion.class_name is None:
                raise AnnotationError(None, f"{self.model} proposed a geometry without a class",
                                      f"frame {suggestion.frame}")
            self.new_tracks[key] = self.project.add_track(suggestion.class_name, attributes)
            self.written.new_tracks += 1
        return self.new_tracks[key]

    # ---------------------------------------------------------- tags

    def _tag(self, suggestion: Suggestion) -> None:
        first, last = suggestion.frame, suggestion.last_frame
        attributes = dict(suggestion.attributes)
        free = np.ones(last - first + 1, bool)
        for tag in self._person_tags(suggestion.class_name, first, last):
            free[max(tag.start, first) - first:min(tag.end, last) - first + 1] = False
            contested = {name: value for name, value in attributes.items() if tag.attributes.get(name) != value}
            if contested and suggestion.confidence >= DISPUTE_AT:
                self._put_row(tag.id, tag.start, contested, suggestion.confidence, SuggestionStatus.DISPUTED)
                self.written.disputed += 1
        for rejection in self.rejections:
            if is_rejected([rejection], TAGS, first, suggestion.class_name, attributes=attributes, last_frame=last):
                free[max(rejection.frame, first) - first:min(rejection.last, last) - first + 1] = False
        if not free.any():
            self.written.skip("tagged by a person or rejected before")
        for start, stop in true_runs(free).tolist():
            self.project.add_tag(suggestion.class_name, first + start, first + stop - 1, attributes,
                                 source=Source.SUGGESTED, confidence=float(suggestion.confidence),
                                 model=self.model)
            self.written.tags += 1

    def _person_tags(self, class_name: str, first: int, last: int) -> Iterable:
        return [tag for tag in self.project.tags() if tag.class_name == class_name and tag.source in PERSON_SOURCES
                and tag.start <= last and first <= tag.end]

