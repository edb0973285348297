"""A project: one folder holding a labeling job for one frame sequence.

    PROJECT/
      project.json          metadata: frame source, frame count and size, annotator, schema version
      taxonomy.yaml         the taxonomy in force for this project
      annotations.sqlite    the annotations (see store.py), WAL mode

``Project`` is the public face of the annotation model: it checks every edit
against the taxonomy and the frame range, then hands it to the store, which
commits it at once and makes it undoable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import getpass
import json
import math
import os
import reprlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import __version__
from .annotations import FrameObject, FrameRangeTag, FrameState, Relation, RelationEnd, Source, Track
from .errors import AnnotationError, ProjectError
from .geometry import Geometry, check_inside_image
from .lanes import is_lane_class
from .relation_types import LANE
from .store import MIGRATABLE_VERSIONS, SCHEMA_VERSION, AnnotationStore
from .taxonomy import ClassSpec, Scope, Taxonomy, default_taxonomy, load_taxonomy

METADATA_FILE = "project.json"
TAXONOMY_FILE = "taxonomy.yaml"
DATABASE_FILE = "annotations.sqlite"
PROJECT_MARK = "napari-roadlabel project"
ANNOTATOR_VARIABLE = "ROADLABEL_ANNOTATOR"


@dataclass(frozen=True)
class SequenceInfo:
    """What a project knows of its frames without opening them."""

    source: str  # path of the video or image folder, relative to the project folder when possible
    frame_count: int
    width: int
    height: int
    fps: float | None = None


class Project:
    """Annotations of one sequence, durable on disk.  Use ``Project.create`` or ``Project.open``."""

    def __init__(self, folder: Path, metadata: dict, taxonomy: Taxonomy, store: AnnotationStore):
        self.folder = folder
        self.metadata = metadata
        self.taxonomy = taxonomy
        self.store = store
        self.sequence = SequenceInfo(**{key: metadata[key] for key in SequenceInfo.__dataclass_fields__})

    # ---------------------------------------------------------- create / open

    @classmethod
    def create(cls, folder: str | Path, sequence: SequenceInfo, *, taxonomy: Taxonomy | None = None,
               annotator: str = "") -> Project:
        """Make a new project folder; refuses to touch an existing non-empty folder."""
        folder = Path(folder)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ProjectError(folder, "already exists and is not empty; choose a new folder")
        _check_sequence(sequence, folder)
        metadata = {
            "format": PROJECT_MARK,
            "schema_version": SCHEMA_VERSION,
            **sequence.__dict__,
            "taxonomy": TAXONOMY_FILE,
            "annotator": annotator,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "created_by": f"napari-roadlabel {__version__}",
        }
        taxonomy = taxonomy or default_taxonomy()
        # Build in a sibling temporary folder, then rename: a crash leaves no half-made project.
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
            (staging / TAXONOMY_FILE).write_text(yaml.safe_dump(taxonomy.to_dict(), sort_keys=False),
                                                 encoding="utf-8")
            AnnotationStore.create(staging / DATABASE_FILE).close()
            if folder.exists():
                folder.rmdir()  # empty, checked above
            os.replace(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return cls.open(folder)

    @classmethod
    def open(cls, folder: str | Path, *, writing: bool = False, read_only: bool = False,
             author: str | None = None) -> Project:
        """Open a project folder; anything missing, corrupt or of another schema raises ProjectError.

        Its first edit takes the project's write lock (see write_lock.py), or ``writing=True`` takes it now: an
        editor then learns at once, not at its first edit, that another process is writing.  ``read_only``
        changes nothing in the folder, not even an older schema (it is migrated in memory); an edit raises
        ProjectError.  Edits are logged as ``author``'s (see ``default_author``).
        """
        if writing and read_only:
            raise ProjectError(folder, "cannot be opened both for writing and read-only")
        folder = Path(folder)
        if not folder.is_dir():
            raise ProjectError(folder, "no such project folder")
        metadata = _read_metadata(folder / METADATA_FILE)
        taxonomy_path = folder / metadata.get("taxonomy", TAXONOMY_FILE)
        if not taxonomy_path.is_file():
            raise ProjectError(taxonomy_path, "the project's taxonomy file is missing")
        taxonomy = load_taxonomy(taxonomy_path)
        store = AnnotationStore.open(folder / DATABASE_FILE, read_only=read_only,  # migrates an older database
                                     author=default_author(metadata) if author is None else author)
        if writing:
            try:
                store.lock_for_writing()
            except ProjectError:
                store.close()
                raise
        if metadata["schema_version"] != SCHEMA_VERSION:
            metadata["schema_version"] = SCHEMA_VERSION
            if not read_only:
                _write_metadata(folder / METADATA_FILE, metadata)
        return cls(folder, metadata, taxonomy, store)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def source_path(self) -> Path:
        """The frame source, resolved against the project folder."""
        return (self.folder / self.sequence.source).resolve()

    # ---------------------------------------------------------- reading

    def track(self, track_id: int) -> Track:
        return self.store.track(track_id)

    def has_track(self, track_id: int) -> bool:
        return self.store.has_track(track_id)

    def tracks(self, class_name: str | None = None) -> list[Track]:
        return [t for t in self.store.tracks() if class_name is None or t.class_name == class_name]

    def tags(self) -> list[FrameRangeTag]:
        return self.store.tags()

    def tags_on(self, frame: int) -> list[FrameRangeTag]:
        return [tag for tag in self.store.tags() if tag.covers(frame)]

    def relations(self, frame: int | None = None) -> list[Relation]:
        """Every relation (holding on ``frame``), by first frame then id."""
        return [relation for relation in self.store.relations() if frame is None or relation.covers(frame)]

    def relation(self, relation_id: int) -> Relation:
        return self.store.relation(relation_id)

    def objects_on(self, frame: int) -> list[FrameObject]:
        """Everything on one frame; costs time in proportion to the objects on that frame."""
        return self.store.objects_on(frame)

    def states_of(self, track_id: int) -> list[FrameState]:
        return self.store.states_of(track_id)

    def keyframes_of(self, track_id: int) -> list[FrameState]:
        return self.store.states_of(track_id, source=Source.MANUAL)

    def state(self, track_id: int, frame: int) -> FrameState | None:
        return self.store.state(track_id, frame)

    def summary(self) -> dict[str, Any]:
        """Counts for `roadlabel info`: tracks per class, states per class and source, tags, relations per type."""
        tracks: dict[str, int] = {}
        for track in self.store.tracks():
            tracks[track.class_name] = tracks.get(track.class_name, 0) + 1
        states: dict[str, dict[str, int]] = {}
        for (class_name, source), count in self.store.count_states().items():
            states.setdefault(class_name, {})[source] = count
        relations: dict[str, int] = {}
        for relation in self.store.relations():
            relations[relation.type] = relations.get(relation.type, 0) + 1
        return {"tracks": tracks, "states": states, "tags": len(self.store.tags()), "relations": relations}

    # ---------------------------------------------------------- editing

    def add_track(self, class_name: str, attributes: Mapping[str, Any] | None = None, *,
                  track_id: int | None = None) -> Track:
        """A new track of ``class_name``; track-level attributes not given take the taxonomy's defaults."""
        spec = self._object_class(class_name)
        values = {**spec.defaults(Scope.TRACK), **spec.check_attributes(attributes or {}, Scope.TRACK,
                                                                         f"new {class_name} track")}
        with self.store.group(f"add {class_name}"):
            track = Track(self.store.allocate_id(track_id), class_name, values)
            self.store.put_track(track, f"add {class_name}")
        return track

    def set_track_attributes(self, track_id: int, attributes: Mapping[str, Any]) -> Track:
        """Change some track-level attributes (the others keep their values)."""
        track = self.store.track(track_id)
        spec = self.taxonomy[track.class_name]
        checked = spec.check_attributes(attributes, Scope.TRACK, f"track {track_id}")
        updated = Track(track.id, track.class_name, {**track.attributes, **checked})
        self.store.put_track(updated, f"edit track {track_id}")
        return updated

    def set_state(self, track_id: int, frame: int, geometry: Geometry,
                  attributes: Mapping[str, Any] | None = None, *, source: Source = Source.MANUAL,
                  confidence: float | None = None, model: str = "") -> FrameState:
        """Put the track on ``frame`` with this geometry (a keyframe when source is manual).

        Per-frame attributes not given keep the value the track has on this
        frame: a value holds until a later state changes it, so it comes from
        this frame's state, else the nearest earlier one, else the taxonomy's
        defaults.
        """
        track = self.store.track(track_id)
        spec = self.taxonomy[track.class_name]
        where = f"track {track_id}, frame {frame}"
        self._check_frame(frame, where)
        if geometry.kind not in spec.geometry:
            allowed = ", ".join(kind.value for kind in spec.geometry)
            raise AnnotationError(None, f"class {spec.name!r} takes {allowed}, not {geometry.kind.value}", where)
        if spec.skeleton is not None:
            spec.skeleton.check(geometry, where)
        check_inside_image(geometry, self.sequence.width, self.sequence.height, where=where)
        if confidence is not None and not 0.0 <= confidence <= 1.0:
            raise AnnotationError(None, f"confidence must be between 0 and 1, got {confidence}", where)
        previous = self.store.state(track_id, frame) or self.store.nearest_state(track_id, frame, before=True)
        base = dict(previous.attributes) if previous else spec.defaults(Scope.FRAME)
        checked = spec.check_attributes(attributes or {}, Scope.FRAME, where)
        state = FrameState(track_id, frame, geometry, {**base, **checked}, Source(source), confidence, model)
        self.store.put_state(state, f"edit {spec.name} on frame {frame}")
        return state

    def set_frame_attributes(self, track_id: int, frame: int, attributes: Mapping[str, Any]) -> FrameState:
        """Change per-frame attributes from ``frame`` on (one undo step); returns the state on ``frame``.

        ``frame`` becomes a keyframe with the new values.  Each value then holds
        forward: later states that still had the old value take the new one, up
        to the first state where the annotator had set something else (a red
        light set green on frame 120 is green until the frame it turned yellow).
        """
        state = self.store.state(track_id, frame)
        if state is None:
            raise AnnotationError(None, f"track {track_id} is not on frame {frame}: per-frame attributes are set "
                                        "where the object is")
        with self.group(f"edit attributes of track {track_id} from frame {frame}"):
            changed = self.set_state(track_id, frame, state.geometry, attributes)
            for name in attributes:
                self._carry_forward(track_id, frame, name, state.attributes.get(name), changed.attributes[name])
        return changed

    def _carry_forward(self, track_id: int, frame: int, name: str, old: Any, new: Any) -> None:
        if old == new:
            return
        for later in sorted(self.store.states_of(track_id), key=lambda state: state.frame):
            if later.frame <= frame:
                continue
            if later.attributes.get(name) != old:
                return
            self.set_state(track_id, later.frame, later.geometry, {name: new}, source=later.source,
                           confidence=later.confidence, model=later.model)

    def copy_state(self, track_id: int, source_frame: int, target_frame: int) -> FrameState:
        """Put the track's state of ``source_frame`` on ``target_frame`` too, as a keyframe."""
        state = self.store.state(track_id, source_frame)
        if state is None:
            raise AnnotationError(None, f"track {track_id} has no state on frame {source_frame} to copy")
        return self.set_state(track_id, target_frame, state.geometry, state.attributes)

    def continue_track(self, track_id: int, frame: int) -> FrameState:
        """Carry the track onto ``frame`` from its closest earlier state (or later, when there is none)."""
        nearest = (self.store.nearest_state(track_id, frame, before=True)
                   or self.store.nearest_state(track_id, frame, before=False))
        if nearest is None:
            raise AnnotationError(None, f"track {track_id} has no state to continue from")
        return self.copy_state(track_id, nearest.frame, frame)

    def end_track_after(self, track_id: int, frame: int) -> int:
        """End the track on ``frame``: remove its states on every later frame, and end its relations there too (a
        relation starting later goes), in one undo step; returns how many states went."""
        later = [state.frame for state in self.store.states_of(track_id) if state.frame > frame]
        outliving = [relation for relation in self.store.relations_of(track_id) if relation.end > frame]
        also = f" and {len(outliving)} relation{'s' * (len(outliving) != 1)}" if outliving else ""
        with self.group(f"end track {track_id}{also} at frame {frame}"):
            for later_frame in later:
                self.store.delete_state(track_id, later_frame)
            for relation in outliving:
                if relation.start > frame:
                    self.store.delete_relation(relation.id, f"delete relation {relation.id}")
                else:
                    self.store.put_relation(dataclasses.replace(relation, end=frame), f"edit relation {relation.id}")
        return len(later)

    def nearest_keyframe(self, frame: int, *, before: bool) -> int | None:
        """The closest frame before (or after) ``frame`` with a keyframe of any object, or None."""
        return self.store.nearest_keyframe(frame, before=before)

    def nearest_to_check(self, frame: int, threshold: float, *, before: bool, within: int | None = None) -> int | None:
        """The closest frame before (or after) ``frame``, at most ``within`` frames away when given, with a
        propagated state whose confidence is under ``threshold`` (flagged for review), or None."""
        return self.store.nearest_below_confidence(frame, threshold, before=before, within=within)

    def delete_state(self, track_id: int, frame: int) -> None:
        """Remove the track from one frame; the track and its other frames stay."""
        self.store.delete_state(track_id, frame, f"delete track {track_id} on frame {frame}")

    def delete_track(self, track_id: int) -> list[Relation]:
        """Remove the track from every frame, and the relations it is an end of (one undo step, whose label says
        how many); returns those relations."""
        count = len(self.store.relations_of(track_id))
        also = f" and its {count} relation{'s' * (count != 1)}" if count else ""
        return self.store.delete_track(track_id, f"delete track {track_id}{also}")

    def add_tag(self, class_name: str, start: int, end: int, attributes: Mapping[str, Any] | None = None, *,
                source: Source = Source.MANUAL, tag_id: int | None = None, confidence: float | None = None,
                model: str = "") -> FrameRangeTag:
        """Tag frames ``start``..``end`` (inclusive) with a frame-range class (school zone active, scene); a
        suggested tag carries its ``confidence`` and the ``model`` that proposed it."""
        spec = self.taxonomy[class_name]
        if not spec.is_tag:
            raise AnnotationError(None, f"class {class_name!r} is not a frame-range class")
        values = self._check_tag(spec, start, end, attributes or {})
        with self.store.group(f"tag {class_name}"):
            tag = FrameRangeTag(self.store.allocate_id(tag_id), class_name, start, end, values, Source(source),
                                confidence, model)
            self.store.put_tag(tag, f"tag {class_name}")
        return tag

    def update_tag(self, tag_id: int, *, start: int | None = None, end: int | None = None,
                   attributes: Mapping[str, Any] | None = None) -> FrameRangeTag:
        old = self.store.tag(tag_id)
        spec = self.taxonomy[old.class_name]
        start = old.start if start is None else start
        end = old.end if end is None else end
        values = self._check_tag(spec, start, end, {**old.attributes, **(attributes or {})})
        tag = dataclasses.replace(old, start=start, end=end, attributes=values)
        self.store.put_tag(tag, f"edit tag {tag_id}")
        return tag

    def delete_tag(self, tag_id: int) -> None:
        self.store.delete_tag(tag_id, f"delete tag {tag_id}")

    def add_relation(self, type_name: str, source: RelationEnd, target: RelationEnd, start: int, end: int, *,
                     relation_id: int | None = None) -> Relation:
        """Relate ``source`` to ``target`` on frames ``start``..``end`` (inclusive) by a relation type of the
        taxonomy; both ends must exist and be of classes the type allows (a lane: two lane lines)."""
        with self.store.group(f"relate {type_name}"):
            relation = self._checked_relation(Relation(self.store.allocate_id(relation_id), type_name, source,
                                                       target, start, end))
            self.store.put_relation(relation, f"relate {type_name}")
        return relation

    def update_relation(self, relation_id: int, *, source: RelationEnd | None = None,
                        target: RelationEnd | None = None, start: int | None = None,
                        end: int | None = None) -> Relation:
        """Change a relation's ends or frame range (what is not given stays)."""
        old = self.store.relation(relation_id)
        changes = {key: value for key, value in (("source", source), ("target", target), ("start", start),
                                                 ("end", end)) if value is not None}
        relation = self._checked_relation(dataclasses.replace(old, **changes))
        self.store.put_relation(relation, f"edit relation {relation_id}")
        return relation

    def delete_relation(self, relation_id: int) -> None:
        self.store.delete_relation(relation_id, f"delete relation {relation_id}")

    # ---------------------------------------------------------- undo

    def group(self, label: str) -> contextlib.AbstractContextManager:
        """Edits inside become one transaction and one undo step."""
        return self.store.group(label)

    def undo(self) -> str | None:
        return self.store.undo()

    def redo(self) -> str | None:
        return self.store.redo()

    # ---------------------------------------------------------- checks

    def _object_class(self, class_name: str) -> ClassSpec:
        spec = self.taxonomy[class_name]
        if spec.is_tag:
            raise AnnotationError(None, f"class {class_name!r} is a frame-range class: use add_tag")
        return spec

    def _check_frame(self, frame: int, where: str) -> None:
        if not isinstance(frame, int) or isinstance(frame, bool) or not 0 <= frame < self.sequence.frame_count:
            raise AnnotationError(None, f"frame {frame!r} is outside the sequence (0..{self.sequence.frame_count - 1})",
                                  where)

    def _checked_relation(self, relation: Relation) -> Relation:
        where = f"{relation.type} relation"
        kind = self.taxonomy.relations.get(relation.type)
        if kind is None:
            raise AnnotationError(None, f"unknown relation type {relation.type!r}; the taxonomy "
                                        f"{self.taxonomy.name!r} has {sorted(self.taxonomy.relations)}")
        self._check_frame(relation.start, where)
        self._check_frame(relation.end, where)
        if relation.end < relation.start:
            raise AnnotationError(None, f"ends (frame {relation.end}) before it starts (frame {relation.start})", where)
        if relation.source == relation.target:
            raise AnnotationError(None, f"{relation.source} cannot be related to itself", where)
        self._check_end(relation.source, kind.sources, "from", where)
        self._check_end(relation.target, kind.targets, "to", where)
        return relation

    def _check_end(self, end: RelationEnd, allowed: tuple[str, ...], side: str, where: str) -> None:
        for track_id in end.track_ids:
            if not self.store.has_track(track_id):
                raise AnnotationError(None, f"{side} {end}: no track with id {track_id}", where)
        if end.is_lane and end.track == end.right:
            raise AnnotationError(None, f"{side} {end}: a lane lies between two different lane lines", where)
        if end.is_lane:
            lines = [self.store.track(track_id) for track_id in end.track_ids]
            if any(not is_lane_class(line.class_name) for line in lines):
                raise AnnotationError(None, f"{side} {end}: a lane lies between two lane lines, not "
                                            f"{' and '.join(line.class_name for line in lines)}", where)
        name = LANE if end.is_lane else self.store.track(end.track).class_name
        if name not in allowed:
            raise AnnotationError(None, f"{side} {end}: a {name} cannot be a {side!r} end (allowed: "
                                        f"{list(allowed)})", where)

    def _check_tag(self, spec: ClassSpec, start: int, end: int, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """The tag's attributes with defaults filled in, after checking its frame span."""
        where = f"{spec.name} tag"
        self._check_frame(start, where)
        self._check_frame(end, where)
        if end < start:
            raise AnnotationError(None, f"ends (frame {end}) before it starts (frame {start})", where)
        return {**spec.defaults(Scope.TRACK), **spec.check_attributes(attributes, Scope.TRACK, where)}


def default_author(metadata: Mapping[str, Any]) -> str:
    """Whose edits a project's activity log records: $ROADLABEL_ANNOTATOR, else the project's annotator, else
    the login name."""
    try:
        return os.environ.get(ANNOTATOR_VARIABLE) or metadata.get("annotator") or getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return ""


def _check_sequence(sequence: SequenceInfo, folder: Path) -> None:
    if sequence.frame_count < 1 or sequence.width < 1 or sequence.height < 1:
        raise ProjectError(folder, f"the frame source has no frames or no size: {sequence}")


def _read_metadata(path: Path) -> dict:
    if not path.is_file():
        raise ProjectError(path, "missing: this folder is not a napari-roadlabel project")
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ProjectError(path, f"corrupt JSON: {error.msg}", f"line {error.lineno}") from None
    except RecursionError:
        raise ProjectError(path, "corrupt JSON: nested too deeply") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(path, f"cannot read: {error}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != PROJECT_MARK:
        raise ProjectError(path, f"not a napari-roadlabel project file (no \"format\": \"{PROJECT_MARK}\")")
    version = metadata.get("schema_version")
    if version != SCHEMA_VERSION and version not in MIGRATABLE_VERSIONS:
        raise ProjectError(path, _schema_message(version), "schema_version")
    missing = [key for key in SequenceInfo.__dataclass_fields__ if key not in metadata and key != "fps"]
    if missing:
        raise ProjectError(path, f"missing key {missing[0]!r}")
    metadata.setdefault("fps", None)
    _check_fields(path, metadata)
    return metadata


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_rate(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                             and math.isfinite(value) and value > 0)


def _is_file_name(value: Any) -> bool:
    return isinstance(value, str) and value not in ("", ".", "..") and Path(value).name == value


# What each key of project.json that the code reads must hold (a hand-edited file is checked before it is used).
_FIELDS = {
    "source": (lambda value: isinstance(value, str) and value != "", "the path of the video or image folder"),
    "frame_count": (_is_count, "a whole number of at least 1"),
    "width": (_is_count, "a whole number of pixels, at least 1"),
    "height": (_is_count, "a whole number of pixels, at least 1"),
    "fps": (_is_rate, "a number above 0, or null"),
    "taxonomy": (_is_file_name, "the name of a file in the project folder"),
    "annotator": (lambda value: isinstance(value, str), "text"),
}


def _check_fields(path: Path, metadata: dict) -> None:
    for key, (valid, wanted) in _FIELDS.items():
        if key in metadata and not valid(metadata[key]):
            raise ProjectError(path, f"must be {wanted}, not {reprlib.repr(metadata[key])}", key)


def _write_metadata(path: Path, metadata: dict) -> None:
    """Replace project.json whole: a crash leaves the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _schema_message(version: Any) -> str:
    if isinstance(version, int) and version > SCHEMA_VERSION:
        return (f"the project has schema version {version}, made by a newer napari-roadlabel; "
                f"this one ({__version__}) reads version {SCHEMA_VERSION}: upgrade napari-roadlabel")
    return f"unsupported schema version {version!r} (this napari-roadlabel reads version {SCHEMA_VERSION})"

