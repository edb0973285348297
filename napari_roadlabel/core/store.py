"""The durable annotation store: SQLite in WAL mode, with undo and redo.

Every edit is a list of row changes (table, key, row before, row after).  It
is written in one transaction, so a killed process loses at most the edit in
flight, and kept on the undo stack, so undo writes the "before" rows back and
redo the "after" rows.  ``group()`` makes many edits one transaction and one
undo step (a propagation run, an import).

Reading one frame's objects is an indexed lookup on ``states(frame)``: its
cost follows the objects on that frame, not the length of the sequence.

Review marks and comments (see review.py) live here too, so they are as
durable and as undoable as the edits they judge; so do the assistants'
attribute suggestions and what people rejected (schema 3; a suggested geometry
is a state with source ``suggested``, a suggested tag a tag).

Schema 4 keeps an activity log: every recorded edit, undo and redo adds one row
in its own transaction (a group is one row) with the time, the store's
``author``, the step's label and the net count of tracks and keyframes it made
(an undo counts them back).  Team figures (teams/figures.py) read it; review
marks and comments carry their own reviewer and time, so steps of those alone
are not logged.

Schema 5 keeps relations (a light governs a lane, see relations.py): one row
each with its type, its two ends as (track, right) pairs of columns (right is
0 for a track, the right lane line's track for a lane) and its frame range.
Deleting a track deletes the relations it is an end of in the same step.
``open(..., read_only=True)`` never writes: an older database
is migrated in memory, the file stays as it is.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .annotations import (
    AttributeSuggestion,
    FrameObject,
    FrameRangeTag,
    FrameState,
    Rejection,
    Relation,
    RelationEnd,
    Source,
    SuggestionStatus,
    Track,
)
from .errors import AnnotationError, ProjectError
from .geometry import Geometry
from .review import Comment, ReviewMark, ReviewStatus
from .write_lock import WriteLock

SCHEMA_VERSION = 5
MAX_UNDO_STEPS = 500

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tracks (
    id INTEGER PRIMARY KEY,
    class TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE TABLE states (
    track_id INTEGER NOT NULL REFERENCES tracks(id),
    frame INTEGER NOT NULL,
    kind TEXT NOT NULL,
    geometry BLOB NOT NULL,
    attributes TEXT NOT NULL,
    source TEXT NOT NULL,
    confidence REAL,
    PRIMARY KEY (track_id, frame)
) WITHOUT ROWID;
CREATE INDEX states_by_frame ON states (frame, track_id);
CREATE INDEX states_by_source ON states (source, frame);
CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    class TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    source TEXT NOT NULL
);
"""
# Schema 2: review marks and comments.  Sentinels instead of NULL keep the primary key unique:
# track_id 0 is "no track" (ids start at 1), frame -1 is "no frame".
_REVIEW_SCHEMA = """
CREATE TABLE reviews (
    track_id INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (track_id, frame)
) WITHOUT ROWID;
CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    time TEXT NOT NULL,
    frame INTEGER,
    track_id INTEGER,
    x REAL,
    y REAL,
    resolved_by TEXT NOT NULL,
    resolved_time TEXT NOT NULL
);
"""
# Schema 3: provenance of states and tags (the model that proposed them), attribute suggestions and
# rejections.  New columns go at the end of their tables, so a migrated database and a new one are alike.
_SUGGESTION_SCHEMA = """
ALTER TABLE states ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE tags ADD COLUMN confidence REAL;
ALTER TABLE tags ADD COLUMN model TEXT NOT NULL DEFAULT '';
CREATE TABLE suggestions (
    track_id INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    assistant TEXT NOT NULL,
    attributes TEXT NOT NULL,
    confidence REAL NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (track_id, frame, assistant)
) WITHOUT ROWID;
CREATE INDEX suggestions_by_frame ON suggestions (frame, status);
CREATE TABLE rejections (
    id INTEGER PRIMARY KEY,
    assistant TEXT NOT NULL,
    kind TEXT NOT NULL,
    frame INTEGER NOT NULL,
    last INTEGER NOT NULL,
    class TEXT NOT NULL,
    track_id INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX rejections_by_assistant ON rejections (assistant, frame);
"""
# Schema 4: the activity log (one row per recorded step, see the module's docstring).
_ACTIVITY_SCHEMA = """
CREATE TABLE activity (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    author TEXT NOT NULL,
    label TEXT NOT NULL,
    tracks_added INTEGER NOT NULL,
    keyframes_added INTEGER NOT NULL
);
"""
# Schema 5: relations between objects (see the module's docstring).
_RELATION_SCHEMA = """
CREATE TABLE relations (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    source_track INTEGER NOT NULL,
    source_right INTEGER NOT NULL,
    target_track INTEGER NOT NULL,
    target_right INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL
);
"""
# version -> the script that brings it to version + 1
_MIGRATIONS = {1: _REVIEW_SCHEMA, 2: _SUGGESTION_SCHEMA, 3: _ACTIVITY_SCHEMA, 4: _RELATION_SCHEMA}
MIGRATABLE_VERSIONS = frozenset(_MIGRATIONS)
_TABLES = {"meta", "tracks", "states", "tags"}
_KEY_COLUMNS = {"tracks": ("id",), "tags": ("id",), "comments": ("id",), "states": ("track_id", "frame"),
                "reviews": ("track_id", "frame"), "suggestions": ("track_id", "frame", "assistant"),
                "rejections": ("id",), "relations": ("id",)}
NO_TRACK, NO_FRAME = 0, -1
_SOURCES = {source.value: source for source in Source}
_STATE_COLUMNS = "track_id, frame, kind, geometry, attributes, source, confidence, model"
_SUGGESTION_COLUMNS = "track_id, frame, assistant, attributes, confidence, model, status"
_STATUSES = {status.value: status for status in SuggestionStatus}
_UNLOGGED_TABLES = {"reviews", "comments"}  # a step that changes only these is a reviewer's, with its own record
_MACHINE_SOURCES = {Source.IMPORTED.value, Source.SUGGESTED.value}
_SOURCE_COLUMN = 5  # of a states row


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RowChange:
    table: str  # "tracks", "states" or "tags"
    key: tuple  # primary key values
    before: tuple | None  # full row, None when the row did not exist
    after: tuple | None  # full row, None when the row is deleted


@dataclass
class UndoStep:
    label: str
    changes: list[RowChange] = field(default_factory=list)


@dataclass(frozen=True)
class Activity:
    """One recorded step: when, by whom, what, and the tracks and keyframes it made (negative: took away)."""

    time: str  # UTC, ISO 8601
    author: str
    label: str
    tracks_added: int
    keyframes_added: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def step_counts(changes: list[RowChange]) -> tuple[int, int]:
    """The net (tracks, keyframes) a step made.

    A tracks row that appears is a track made, one that goes away a track removed; but a track that the step
    gives (or, removing it, took) imported or suggested states was made by a machine, not by the author, and
    is not counted.  A state that becomes manual is a keyframe made; a manual one that goes, or stops being
    manual, one taken away.  The counts chain through a step that changes a row twice.
    """
    tracks: dict[int, int] = {}
    machine_made: set[int] = set()
    keyframes = 0
    for change in changes:
        if change.table == "tracks" and (change.before is None) != (change.after is None):
            tracks[change.key[0]] = tracks.get(change.key[0], 0) + (1 if change.before is None else -1)
        elif change.table == "states":
            was_manual, is_manual = (row is not None and row[_SOURCE_COLUMN] == Source.MANUAL.value
                                     for row in (change.before, change.after))
            keyframes += is_manual - was_manual
            if any(row is not None and row[_SOURCE_COLUMN] in _MACHINE_SOURCES
                   for row in (change.before, change.after)):
                machine_made.add(change.key[0])
    return sum(count for track_id, count in tracks.items() if track_id not in machine_made), keyframes


def _dumps(attributes) -> str:
    return json.dumps(dict(attributes), sort_keys=True, separators=(",", ":"))


def _track_row(track: Track) -> tuple:
    return (track.id, track.class_name, _dumps(track.attributes))


def _state_row(state: FrameState) -> tuple:
    return (state.track_id, state.frame, state.geometry.kind.value, state.geometry.to_bytes(),
            _dumps(state.attributes), state.source.value, state.confidence, state.model)


def _tag_row(tag: FrameRangeTag) -> tuple:
    return (tag.id, tag.class_name, tag.start, tag.end, _dumps(tag.attributes), tag.source.value, tag.confidence,
            tag.model)


def _relation_row(relation: Relation) -> tuple:
    return (relation.id, relation.type, relation.source.track, relation.source.right, relation.target.track,
            relation.target.right, relation.start, relation.end)


def _relation_from_row(row) -> Relation:
    return Relation(id=row[0], type=row[1], source=RelationEnd(row[2], row[3]), target=RelationEnd(row[4], row[5]),
                    start=row[6], end=row[7])


def _suggestion_row(suggestion: AttributeSuggestion) -> tuple:
    return (suggestion.track_id, suggestion.frame, suggestion.assistant, _dumps(suggestion.attributes),
            suggestion.confidence, suggestion.model, suggestion.status.value)


def _suggestion_from_row(row) -> AttributeSuggestion:
    return AttributeSuggestion(track_id=row[0], frame=row[1], assistant=row[2], attributes=json.loads(row[3]),
                               confidence=row[4], model=row[5], status=_STATUSES[row[6]])


def _rejection_row(rejection: Rejection) -> tuple:
    return (rejection.id, rejection.assistant, rejection.kind, rejection.frame, rejection.last,
            rejection.class_name, rejection.track_id, _dumps(rejection.detail))


def _rejection_from_row(row) -> Rejection:
    return Rejection(id=row[0], assistant=row[1], kind=row[2], frame=row[3], last=row[4], class_name=row[5],
                     track_id=row[6], detail=json.loads(row[7]))


def _review_row(mark: ReviewMark) -> tuple:
    return _review_key(mark.track_id, mark.frame) + (mark.status.value, mark.reason, mark.reviewer, mark.time)


def _review_key(track_id: int | None, frame: int | None) -> tuple[int, int]:
    return (NO_TRACK if track_id is None else track_id, NO_FRAME if frame is None else frame)


def _comment_row(comment: Comment) -> tuple:
    x, y = comment.point if comment.point is not None else (None, None)
    return (comment.id, comment.text, comment.author, comment.time, comment.frame, comment.track_id, x, y,
            comment.resolved_by, comment.resolved_time)


def _review_from_row(row) -> ReviewMark:
    return ReviewMark(track_id=None if row[0] == NO_TRACK else row[0], frame=None if row[1] == NO_FRAME else row[1],
                      status=ReviewStatus(row[2]), reason=row[3], reviewer=row[4], time=row[5])


def _comment_from_row(row) -> Comment:
    point = None if row[6] is None else (row[6], row[7])
    return Comment(id=row[0], text=row[1], author=row[2], time=row[3], frame=row[4], track_id=row[5], point=point,
                   resolved_by=row[8], resolved_time=row[9])


def _track_from_row(row) -> Track:
    return Track(id=row[0], class_name=row[1], attributes=json.loads(row[2]))


def _state_from_row(row) -> FrameState:
    # Every state read comes through here: most have no per-frame attributes, and a dict lookup is much faster
    # than the enum's call.
    attributes = {} if row[4] == "{}" else json.loads(row[4])
    return FrameState(track_id=row[0], frame=row[1], geometry=Geometry.from_bytes(row[2], row[3]),
                      attributes=attributes, source=_SOURCES[row[5]], confidence=row[6], model=row[7])


def _tag_from_row(row) -> FrameRangeTag:
    return FrameRangeTag(id=row[0], class_name=row[1], start=row[2], end=row[3],
                         attributes=json.loads(row[4]), source=Source(row[5]), confidence=row[6], model=row[7])


class AnnotationStore:
    """Tracks, states and tags in one SQLite file; all writes go through undoable row changes."""

    def __init__(self, connection: sqlite3.Connection, path: Path, write_lock: WriteLock | None = None, *,
                 author: str = "", read_only: bool = False):
        self._db = connection
        self.path = path
        self.author = author  # whose edits these are, in the activity log
        self.clock: Callable[[], str] = utc_now  # the activity log's time (a test may set its own)
        self.read_only = read_only
        self._lock = threading.RLock()  # one connection, shared by the UI and worker threads
        self._write_lock = write_lock or WriteLock(lock_path(path))
        self._group: UndoStep | None = None
        self._undo: list[UndoStep] = []
        self._redo: list[UndoStep] = []
        if not self._write_lock.held:
            # Until its first write, a store reads one snapshot: another process's writes cannot reach its
            # caches half-way (a state whose track it has never seen).
            self._db.execute("BEGIN")
        self._read_caches()

    def _read_caches(self) -> None:
        self._tracks = {row[0]: _track_from_row(row) for row in self._db.execute("SELECT * FROM tracks")}
        self._tags = {row[0]: _tag_from_row(row) for row in self._db.execute("SELECT * FROM tags")}
        self._reviews = {tuple(row[:2]): _review_from_row(row) for row in self._db.execute("SELECT * FROM reviews")}
        self._comments = {row[0]: _comment_from_row(row) for row in self._db.execute("SELECT * FROM comments")}
        self._relations = {row[0]: _relation_from_row(row) for row in self._db.execute("SELECT * FROM relations")}

    # ---------------------------------------------------------- open / create

    @classmethod
    def create(cls, path: Path) -> AnnotationStore:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA + _REVIEW_SCHEMA + _SUGGESTION_SCHEMA + _ACTIVITY_SCHEMA + _RELATION_SCHEMA)
        db.execute("INSERT INTO meta VALUES ('next_id', '1')")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        _configure(db)
        lock_path(path).touch()  # there from the start, so that taking the lock adds no file to the project
        return cls(db, path)

    @classmethod
    def open(cls, path: Path, *, author: str = "", read_only: bool = False) -> AnnotationStore:
        """Open an existing store; a missing, foreign or corrupt file raises ProjectError (nothing is created).

        ``read_only``: every write raises ProjectError and the file is never changed, an older database is
        migrated in a copy in memory.
        """
        if not path.is_file():
            raise ProjectError(path, "the annotation database is missing")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None,
                                 check_same_thread=False)
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise ProjectError(path, f"not a readable annotation database ({error})") from None
        if not _TABLES <= tables:
            db.close()
            raise ProjectError(path, f"not an annotation database: tables {sorted(_TABLES - tables)} are missing")
        write_lock = WriteLock(lock_path(path))
        try:
            if version in _MIGRATIONS and read_only:
                db = _in_memory(db)
                _migrate(db)
            elif version in _MIGRATIONS:
                write_lock.acquire()  # a migration writes
                _migrate(db)
            elif version != SCHEMA_VERSION:
                raise ProjectError(path, f"database schema version {version}, expected {SCHEMA_VERSION}")
            _configure(db)
            return cls(db, path, write_lock, author=author, read_only=read_only)
        except BaseException as error:
            db.close()
            write_lock.release()
            if isinstance(error, (sqlite3.DatabaseError, ValueError)):
                raise ProjectError(path, f"corrupt annotation database ({error})") from None
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._write_lock.release()

    def lock_for_writing(self) -> None:
        """Take the project's write lock now (done by the first write otherwise); ProjectError while another
        process writes.  The caches are read again: another writer may have changed the project since."""
        with self._lock:
            if self._write_lock.held:
                return
            if self.read_only:
                raise ProjectError(self.path, "opened read-only: not written")
            self._write_lock.acquire()
            if self._db.in_transaction:
                self._db.execute("COMMIT")  # the end of the read snapshot
            self._read_caches()

    # ---------------------------------------------------------- reading

    def track(self, track_id: int) -> Track:
        try:
            return self._tracks[track_id]
        except KeyError:
            raise AnnotationError(None, f"no track with id {track_id}") from None

    def has_track(self, track_id: int) -> bool:
        return track_id in self._tracks

    def tracks(self) -> list[Track]:
        return sorted(self._tracks.values(), key=lambda track: track.id)

    def tags(self) -> list[FrameRangeTag]:
        return sorted(self._tags.values(), key=lambda tag: (tag.start, tag.id))

    def tag(self, tag_id: int) -> FrameRangeTag:
        try:
            return self._tags[tag_id]
        except KeyError:
            raise AnnotationError(None, f"no frame-range tag with id {tag_id}") from None

    def relations(self) -> list[Relation]:
        return sorted(self._relations.values(), key=lambda relation: (relation.start, relation.id))

    def relation(self, relation_id: int) -> Relation:
        try:
            return self._relations[relation_id]
        except KeyError:
            raise AnnotationError(None, f"no relation with id {relation_id}") from None

    def relations_of(self, track_id: int) -> list[Relation]:
        """The relations with the track at either end (as the track or as a lane's line), by id."""
        return sorted((relation for relation in self._relations.values()
                       if track_id in relation.source.track_ids + relation.target.track_ids),
                      key=lambda relation: relation.id)

    def state(self, track_id: int, frame: int) -> FrameState | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_STATE_COLUMNS} FROM states WHERE track_id=? AND frame=?",
                                   (track_id, frame)).fetchone()
        return _state_from_row(row) if row else None

    def nearest_state(self, track_id: int, frame: int, *, before: bool) -> FrameState | None:
        """The track's closest state strictly before (or after) ``frame``."""
        comparison, order = ("<", "DESC") if before else (">", "ASC")
        with self._lock:
            row = self._db.execute(f"SELECT {_STATE_COLUMNS} FROM states WHERE track_id=? AND frame {comparison} ? "
                                   f"ORDER BY frame {order} LIMIT 1", (track_id, frame)).fetchone()
        return _state_from_row(row) if row else None

    def nearest_keyframe(self, frame: int, *, before: bool) -> int | None:
        """The closest frame strictly before (or after) ``frame`` that holds any manual state."""
        return self._nearest_frame(frame, "source=?", (Source.MANUAL.value,), before=before)

    def nearest_below_confidence(self, frame: int, threshold: float, *, before: bool,
                                 within: int | None = None) -> int | None:
        """The closest frame strictly before (or after) ``frame``, and at most ``within`` frames away, with a
        propagated state under ``threshold``."""
        return self._nearest_frame(frame, "source=? AND confidence < ?", (Source.PROPAGATED.value, threshold),
                                   before=before, within=within)

    def _nearest_frame(self, frame: int, condition: str, values: tuple, *, before: bool,
                       within: int | None = None) -> int | None:
        # Walked in frame order along an index that starts with the source, so it stops at the first match
        # (MIN/MAX with a condition read every later state); ``within`` bounds the walk when nothing matches.
        comparison, order, bound = ("<", "DESC", ">=") if before else (">", "ASC", "<=")
        limit = frame + (-within if before else within) if within is not None else None
        bounded = f" AND frame {bound} ?" if limit is not None else ""
        with self._lock:
            row = self._db.execute(f"SELECT frame FROM states WHERE {condition} AND frame {comparison} ?{bounded} "
                                   f"ORDER BY frame {order} LIMIT 1",
                                   (*values, frame, *([limit] if limit is not None else []))).fetchone()
        return row[0] if row else None

    def objects_on(self, frame: int) -> list[FrameObject]:
        """Every track's state on ``frame``, ordered by track id."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_STATE_COLUMNS} FROM states WHERE frame=? ORDER BY track_id",
                                    (frame,)).fetchall()
        return [FrameObject(self._tracks[row[0]], _state_from_row(row)) for row in rows]

    def iter_objects(self, frames: range | None = None, chunk: int = 1000) -> Iterator[FrameObject]:
        """Every state in (frame, track id) order, read ``chunk`` frames at a time to bound memory."""
        if frames is None:
            with self._lock:
                last = self._db.execute("SELECT MAX(frame) FROM states").fetchone()[0]
            frames = range(0 if last is None else last + 1)
        for first in range(frames.start, frames.stop, chunk):
            stop = min(first + chunk, frames.stop)
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {_STATE_COLUMNS} FROM states WHERE frame >= ? AND frame < ? ORDER BY frame, track_id",
                    (first, stop)).fetchall()
            for row in rows:
                yield FrameObject(self._tracks[row[0]], _state_from_row(row))

    def geometries_on(self, frames: range, classes: Iterable[str]) -> list[tuple[int, int, Geometry]]:
        """(track id, frame, geometry) of the states on ``frames`` of tracks of ``classes``, in (frame, track id)
        order: only the geometries are decoded, for work that needs nothing else (a relation's lanes)."""
        classes = sorted(classes)
        with self._lock:
            rows = self._db.execute(
                "SELECT states.track_id, states.frame, states.kind, states.geometry FROM states "
                "JOIN tracks ON tracks.id = states.track_id WHERE states.frame >= ? AND states.frame < ? "
                f"AND tracks.class IN ({', '.join('?' * len(classes))}) ORDER BY states.frame, states.track_id",
                (frames.start, frames.stop, *classes)).fetchall()
        return [(track_id, frame, Geometry.from_bytes(kind, blob)) for track_id, frame, kind, blob in rows]

    def frames_of(self, track_id: int) -> list[int]:
        """The frames a track has a state on, in order (no state is decoded: the key answers)."""
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT frame FROM states WHERE track_id=? ORDER BY frame",
                                                       (track_id,))]

    def state_frames(self) -> list[int]:
        """The frames that hold any state, in order (no state is decoded: the frame index answers)."""
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT DISTINCT frame FROM states ORDER BY frame")]

    def tracks_on(self, frames: range) -> set[int]:
        """The ids of the tracks with a state on ``frames`` (no state is decoded: the frame index answers)."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT track_id FROM states WHERE frame >= ? AND frame < ?",
                                    (frames.start, frames.stop)).fetchall()
        return {row[0] for row in rows}

    def states_of(self, track_id: int, *, source: Source | None = None) -> list[FrameState]:
        """A track's states in frame order, optionally only those of one source."""
        query = f"SELECT {_STATE_COLUMNS} FROM states WHERE track_id=?"
        args: tuple = (track_id,)
        if source is not None:
            query, args = query + " AND source=?", (track_id, source.value)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY frame", args).fetchall()
        return [_state_from_row(row) for row in rows]

    def count_states(self) -> dict[tuple[str, str], int]:
        """Number of states per (class, source)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT tracks.class, states.source, COUNT(*) FROM states JOIN tracks ON tracks.id = states.track_id "
                "GROUP BY tracks.class, states.source").fetchall()
        return {(class_name, source): count for class_name, source, count in rows}

    def review_marks(self) -> list[ReviewMark]:
        """Every review mark: frames, tracks, objects on frames and the sequence's sign-off."""
        return list(self._reviews.values())

    def review_mark(self, track_id: int | None, frame: int | None) -> ReviewMark | None:
        return self._reviews.get(_review_key(track_id, frame))

    def comments(self) -> list[Comment]:
        return sorted(self._comments.values(), key=lambda comment: comment.id)

    def comment(self, comment_id: int) -> Comment:
        try:
            return self._comments[comment_id]
        except KeyError:
            raise AnnotationError(None, f"no comment with id {comment_id}") from None

    def attribute_suggestions(self, *, frames: range | None = None, track_id: int | None = None,
                              assistant: str | None = None,
                              statuses: tuple[SuggestionStatus, ...] = (SuggestionStatus.PENDING,)
                              ) -> list[AttributeSuggestion]:
        """Attribute suggestions of the given statuses (pending by default), in (frame, track id) order,
        optionally only on ``frames``, of one track or of one assistant."""
        conditions = [f"status IN ({','.join('?' * len(statuses))})"]
        values: list = [status.value for status in statuses]
        for condition, value in (("track_id=?", track_id), ("assistant=?", assistant)):
            if value is not None:
                conditions.append(condition)
                values.append(value)
        if frames is not None:
            conditions.append("frame >= ? AND frame < ?")
            values += [frames.start, frames.stop]
        with self._lock:
            rows = self._db.execute(f"SELECT {_SUGGESTION_COLUMNS} FROM suggestions WHERE {' AND '.join(conditions)} "
                                    "ORDER BY frame, track_id, assistant", values).fetchall()
        return [_suggestion_from_row(row) for row in rows]

    def attribute_suggestion(self, track_id: int, frame: int, assistant: str) -> AttributeSuggestion | None:
        row = self._row_of("suggestions", (track_id, frame, assistant))
        return _suggestion_from_row(row) if row else None

    def suggested_states(self, frames: range | None = None) -> list[FrameState]:
        """Every state with source ``suggested`` (on ``frames``), in (frame, track id) order."""
        condition, values = ("", ()) if frames is None else (" AND frame >= ? AND frame < ?", (frames.start,
                                                                                              frames.stop))
        with self._lock:
            rows = self._db.execute(f"SELECT {_STATE_COLUMNS} FROM states WHERE source=?{condition} "
                                    "ORDER BY frame, track_id", (Source.SUGGESTED.value, *values)).fetchall()
        return [_state_from_row(row) for row in rows]

    def pending_attribute_frames(self, track_id: int) -> list[int]:
        """The frames where an attribute suggestion of the track waits, in order (no record is decoded)."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT frame FROM suggestions WHERE track_id=? AND status=? ORDER BY "
                                    "frame", (track_id, SuggestionStatus.PENDING.value)).fetchall()
        return [row[0] for row in rows]

    def least_pending_confidence(self) -> dict[int, float]:
        """Frame -> the confidence of its least sure pending attribute suggestion or suggested state, in two
        grouped queries (a view of where suggestions wait, however many there are)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT frame, MIN(confidence) FROM suggestions WHERE status=? GROUP BY frame UNION ALL "
                "SELECT frame, MIN(COALESCE(confidence, 0)) FROM states WHERE source=? GROUP BY frame",
                (SuggestionStatus.PENDING.value, Source.SUGGESTED.value)).fetchall()
        least: dict[int, float] = {}
        for frame, confidence in rows:
            least[frame] = min(least.get(frame, 1.0), confidence)
        return least

    def rejections(self, assistant: str | None = None) -> list[Rejection]:
        """What people rejected (of one assistant), oldest first."""
        condition, values = ("", ()) if assistant is None else (" WHERE assistant=?", (assistant,))
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM rejections{condition} ORDER BY id", values).fetchall()
        return [_rejection_from_row(row) for row in rows]

    def activity(self) -> list[Activity]:
        """The activity log, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT time, author, label, tracks_added, keyframes_added FROM activity "
                                    "ORDER BY id").fetchall()
        return [Activity(*row) for row in rows]

    def next_id(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT value FROM meta WHERE key='next_id'").fetchone()[0])

    # ---------------------------------------------------------- writing

    def allocate_id(self, wanted: int | None = None) -> int:
        """A fresh object id, never handed out before.  ``wanted`` must not be below the next free id."""
        with self._lock, self._transaction():
            next_id = self.next_id()
            if wanted is not None and wanted < next_id:
                raise AnnotationError(None, f"id {wanted} was already used in this project (next free id is {next_id})")
            chosen = next_id if wanted is None else wanted
            self._db.execute("UPDATE meta SET value=? WHERE key='next_id'", (str(chosen + 1),))
            return chosen

    def put_track(self, track: Track, label: str = "edit track") -> None:
        self._record(label, [RowChange("tracks", (track.id,), self._row_of_track(track.id), _track_row(track))])

    def put_state(self, state: FrameState, label: str = "edit state") -> None:
        key = (state.track_id, state.frame)
        self._record(label, [RowChange("states", key, self._row_of("states", key), _state_row(state))])

    def put_tag(self, tag: FrameRangeTag, label: str = "edit tag") -> None:
        self._record(label, [RowChange("tags", (tag.id,), self._row_of_tag(tag.id), _tag_row(tag))])

    def put_relation(self, relation: Relation, label: str = "edit relation") -> None:
        before = _relation_row(self._relations[relation.id]) if relation.id in self._relations else None
        self._record(label, [RowChange("relations", (relation.id,), before, _relation_row(relation))])

    def delete_relation(self, relation_id: int, label: str = "delete relation") -> None:
        before = _relation_row(self.relation(relation_id))
        self._record(label, [RowChange("relations", (relation_id,), before, None)])

    def put_review(self, mark: ReviewMark, label: str = "review") -> None:
        """Set a review mark; status UNREVIEWED removes it (the target is back to unreviewed)."""
        key = _review_key(mark.track_id, mark.frame)
        after = None if mark.status is ReviewStatus.UNREVIEWED else _review_row(mark)
        self._record(label, [RowChange("reviews", key, self._row_of_review(key), after)])

    def put_comment(self, comment: Comment, label: str = "comment") -> None:
        before = _comment_row(self._comments[comment.id]) if comment.id in self._comments else None
        self._record(label, [RowChange("comments", (comment.id,), before, _comment_row(comment))])

    def put_attribute_suggestion(self, suggestion: AttributeSuggestion, label: str = "suggest") -> None:
        key = (suggestion.track_id, suggestion.frame, suggestion.assistant)
        self._record(label, [RowChange("suggestions", key, self._row_of("suggestions", key),
                                       _suggestion_row(suggestion))])

    def delete_attribute_suggestion(self, track_id: int, frame: int, assistant: str,
                                    label: str = "remove suggestion") -> None:
        key = (track_id, frame, assistant)
        before = self._row_of("suggestions", key)
        if before is None:
            raise AnnotationError(None, f"no suggestion of {assistant!r} for track {track_id} on frame {frame}")
        self._record(label, [RowChange("suggestions", key, before, None)])

    def add_rejection(self, rejection: Rejection, label: str = "reject") -> Rejection:
        """Record a rejection under a fresh id (``rejection.id`` is ignored); returns it with its id."""
        with self._lock, self._transaction():
            last = self._db.execute("SELECT MAX(id) FROM rejections").fetchone()[0]
            stored = Rejection(**{**rejection.__dict__, "id": (last or 0) + 1})
            self._record(label, [RowChange("rejections", (stored.id,), None, _rejection_row(stored))])
        return stored

    def delete_state(self, track_id: int, frame: int, label: str = "delete state") -> None:
        key = (track_id, frame)
        before = self._row_of("states", key)
        if before is None:
            raise AnnotationError(None, f"track {track_id} has no state on frame {frame}")
        self._record(label, [RowChange("states", key, before, None)])

    def delete_track(self, track_id: int, label: str = "delete track") -> list[Relation]:
        """Delete a track, all its states and the relations it is an end of (one undo step); returns those
        relations."""
        before = self._row_of_track(track_id)
        if before is None:
            raise AnnotationError(None, f"no track with id {track_id}")
        with self._lock:
            rows = self._db.execute(f"SELECT {_STATE_COLUMNS} FROM states WHERE track_id=?", (track_id,)).fetchall()
        changes = [RowChange("states", (row[0], row[1]), tuple(row), None) for row in rows]
        changes += [RowChange("reviews", key, _review_row(mark), None)
                    for key, mark in self._reviews.items() if mark.track_id == track_id]
        with self._lock:
            rows = self._db.execute(f"SELECT {_SUGGESTION_COLUMNS} FROM suggestions WHERE track_id=?",
                                    (track_id,)).fetchall()
        changes += [RowChange("suggestions", tuple(row[:3]), tuple(row), None) for row in rows]
        relations = self.relations_of(track_id)
        changes += [RowChange("relations", (relation.id,), _relation_row(relation), None) for relation in relations]
        self._record(label, changes + [RowChange("tracks", (track_id,), before, None)])
        return relations

    def delete_tag(self, tag_id: int, label: str = "delete tag") -> None:
        before = self._row_of_tag(tag_id)
        if before is None:
            raise AnnotationError(None, f"no frame-range tag with id {tag_id}")
        self._record(label, [RowChange("tags", (tag_id,), before, None)])

    # ---------------------------------------------------------- undo

    @contextlib.contextmanager
    def group(self, label: str) -> Iterator[None]:
        """Make every edit inside one transaction and one undo step; on error, nothing is kept."""
        with self._lock:
            if self._group is not None:  # nested: the outer group owns the step
                yield
                return
            self._group = UndoStep(label)
            try:
                with self._transaction():
                    yield
                    self._log(self._group)  # in the group's transaction
            except BaseException:
                self._discard_group()
                raise
            step, self._group = self._group, None
            if step.changes:
                self._push_undo(step)

    def _discard_group(self) -> None:
        """The transaction was rolled back: bring the caches back to what the database holds."""
        step, self._group = self._group, None
        for change in reversed(step.changes):
            self._update_cache(change.table, change.key, change.before)

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    def undo(self) -> str | None:
        """Undo the last step; returns its label, or None when there is nothing to undo."""
        return self._replay(self._undo, self._redo, backwards=True)

    def redo(self) -> str | None:
        """Redo the last undone step; returns its label, or None when there is nothing to redo."""
        return self._replay(self._redo, self._undo, backwards=False)

    def _replay(self, source: list[UndoStep], target: list[UndoStep], *, backwards: bool) -> str | None:
        with self._lock:
            if not source:
                return None
            step = source.pop()
            changes = reversed(step.changes) if backwards else step.changes
            with self._transaction():
                for change in changes:
                    self._write(change.table, change.key, change.before if backwards else change.after)
                self._log(step, replay="undo" if backwards else "redo")
            target.append(step)
            return step.label

    # ---------------------------------------------------------- internals

    def _record(self, label: str, changes: list[RowChange]) -> None:
        with self._lock, self._transaction():
            for change in changes:
                self._write(change.table, change.key, change.after)
            if self._group is not None:
                self._group.changes.extend(changes)
            else:
                step = UndoStep(label, changes)
                self._log(step)
                self._push_undo(step)

    def _log(self, step: UndoStep, *, replay: str = "") -> None:
        """The step's row of the activity log (nothing for an empty step or a reviewer's alone); ``replay`` is
        "undo" (the counts taken back) or "redo"."""
        if all(change.table in _UNLOGGED_TABLES for change in step.changes):
            return
        tracks, keyframes = step_counts(step.changes)
        sign = -1 if replay == "undo" else 1
        label = f"{replay} {step.label}" if replay else step.label
        self._db.execute("INSERT INTO activity (time, author, label, tracks_added, keyframes_added) "
                         "VALUES (?, ?, ?, ?, ?)", (self.clock(), self.author, label, sign * tracks, sign * keyframes))

    def _push_undo(self, step: UndoStep) -> None:
        self._undo.append(step)
        del self._undo[:-MAX_UNDO_STEPS]
        self._redo.clear()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._write_lock.held and self._db.in_transaction:  # inside a group: the group commits
            yield
            return
        self.lock_for_writing()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _write(self, table: str, key: tuple, row: tuple | None) -> None:
        where = " AND ".join(f"{column}=?" for column in _KEY_COLUMNS[table])
        if row is None:
            self._db.execute(f"DELETE FROM {table} WHERE {where}", key)
        else:
            self._db.execute(f"INSERT OR REPLACE INTO {table} VALUES ({','.join('?' * len(row))})", row)
        self._update_cache(table, key, row)

    def _update_cache(self, table: str, key: tuple, row: tuple | None) -> None:
        cache, decode = {"tracks": (self._tracks, _track_from_row), "tags": (self._tags, _tag_from_row),
                         "comments": (self._comments, _comment_from_row),
                         "reviews": (self._reviews, _review_from_row),
                         "relations": (self._relations, _relation_from_row)}.get(table, (None, None))
        if cache is None:
            return
        cache_key = key if table == "reviews" else key[0]
        if row is None:
            cache.pop(cache_key, None)
        else:
            cache[cache_key] = decode(row)

    def _row_of_track(self, track_id: int) -> tuple | None:
        track = self._tracks.get(track_id)
        return _track_row(track) if track else None

    def _row_of_tag(self, tag_id: int) -> tuple | None:
        tag = self._tags.get(tag_id)
        return _tag_row(tag) if tag else None

    def _row_of_review(self, key: tuple) -> tuple | None:
        mark = self._reviews.get(key)
        return _review_row(mark) if mark else None

    def _row_of(self, table: str, key: tuple) -> tuple | None:
        """A row of a table that is not cached (states, suggestions), by its primary key, in the table's column
        order: the order rows are written in."""
        where = " AND ".join(f"{column}=?" for column in _KEY_COLUMNS[table])
        with self._lock:
            row = self._db.execute(f"SELECT * FROM {table} WHERE {where}", key).fetchone()
        return tuple(row) if row else None


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an older database up to SCHEMA_VERSION in one transaction (all or nothing), under the write lock."""
    db.execute("BEGIN IMMEDIATE")
    version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated it meanwhile
    try:
        while version < SCHEMA_VERSION:
            for statement in _MIGRATIONS[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            version += 1
            db.execute(f"PRAGMA user_version={version}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _in_memory(db: sqlite3.Connection) -> sqlite3.Connection:
    """A copy of the database in memory (the file's connection is closed): what a read-only store migrates."""
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    db.backup(memory)
    db.close()
    return memory


def lock_path(database: Path) -> Path:
    return database.with_suffix(".lock")


def _configure(db: sqlite3.Connection) -> None:
    # FULL: every committed edit survives a power cut too, not only a killed process.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
