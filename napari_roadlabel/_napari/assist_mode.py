"""Assist mode: an assistant's run in a worker thread, and a person checking its suggestions (the Assist tab and
the keys call these).

A run trains the assistant and collects its suggestions in a worker thread (``assist.run.compute_suggestions``:
it reads the project, writes nothing), with napari's progress bar and a cancel button; the main thread then
writes them in one undo step and remembers the assistant's validation, which the tab shows.  Accepting and
rejecting go through ``core.suggestions`` (one undo step each, bulk ones included) and then the workspace's
usual refresh, so every view shows what the store holds.  Accepting in bulk is refused until this session has
shown the validated accuracy of each assistant concerned.
"""

from __future__ import annotations

from dataclasses import dataclass

from napari.utils.notifications import show_info
from psygnal import Signal

from ..assist.base import AssistCancelled, Validation
from ..assist.registry import make_assistant
from ..assist.run import AssistRun, compute_suggestions
from ..core import RoadlabelError
from ..core.suggestions import (
    GEOMETRY,
    TAGS,
    Pending,
    accept,
    accept_all,
    pending_suggestions,
    reject,
    reject_all,
)
from ..core.wording import counted
from ..io.frames import open_frames
from .worker_run import WorkerRun

SCOPES = ("this frame", "frame range", "whole sequence")
BULK_CONFIDENCE = 0.8  # the tab's default for "accept all ... above"


@dataclass
class AssistOptions:
    """What the tab's controls say: which assistant, on which frames, from what confidence on."""

    assistant: str = ""
    scope: str = "this frame"
    first: int = 0  # "frame range", inclusive
    last: int = 0
    min_confidence: float = 0.0  # suggestions below are not written
    bulk_confidence: float = BULK_CONFIDENCE  # accept-all takes suggestions at least this sure


def describe_pending(item: Pending, class_name: str = "") -> str:
    """One line for a person: "state: green? 0.83", "traffic-light? 0.61", "weather: rain? 0.70 (frames 3-9)".

    A proposed object shows its class only: its state's attributes are mostly the taxonomy's defaults."""
    values = ", ".join(f"{name}: {value}" for name, value in item.attributes.items())
    text = f"{class_name or 'object'}?" if item.kind == GEOMETRY else f"{values or class_name}?"
    where = f" (frames {item.frame}-{item.last_frame})" if item.kind == TAGS else ""
    return f"{text} {item.confidence:.2f}{where}"


def order_key(item: Pending) -> tuple:
    """Lowest confidence first, then frame order."""
    return (item.confidence, item.frame, item.target, item.kind)


class AssistMode(WorkerRun):
    focused = Signal(object)  # the Pending now in focus (or None)

    cancelled_error = AssistCancelled
    cancelled_message = "cancelled: nothing was written"
    failure = "the assistant failed"

    def __init__(self, workspace):
        super().__init__(workspace)
        self.options = AssistOptions(last=workspace.frame_count - 1)
        self.validations: dict[str, Validation] = {}  # assistant name -> the validation shown this session
        self.focus: Pending | None = None  # the suggestion "next" went to; acted on first on its frame
        self.here: list[Pending] = []  # the shown frame's suggestions (read_frame)

    @property
    def project(self):
        return self.workspace.project

    # ---------------------------------------------------------- running an assistant

    def frame_range(self) -> range:
        """The frames the options say, from the current frame."""
        options, count = self.options, self.workspace.frame_count
        if options.scope == "this frame":
            return range(self.workspace.current_frame, self.workspace.current_frame + 1)
        if options.scope == "frame range":
            if not 0 <= options.first <= options.last < count:
                raise RoadlabelError(None, f"frames {options.first}-{options.last}: not a range of frames 0-"
                                           f"{count - 1}")
            return range(options.first, options.last + 1)
        return range(count)

    def start(self) -> None:
        """Train the chosen assistant and collect its suggestions in a worker thread; they are written when it
        ends.  RoadlabelError when one is running, or the options are wrong."""
        if self.running:
            raise RoadlabelError(None, "an assistant is running: wait for it or cancel it")
        if not self.options.assistant:
            raise RoadlabelError(None, "choose an assistant first")
        frames = self.frame_range()
        try:
            assistant = make_assistant(self.options.assistant)
        except ImportError as error:  # a built-in whose libraries are missing
            raise RoadlabelError(self.options.assistant, f"cannot be loaded ({error})") from None
        self._launch(_compute, self.project, assistant, str(self.project.source_path()), frames,
                     self.options.min_confidence, total=len(frames), desc=f"Assistant {assistant.name}")

    def _write(self, run: AssistRun) -> None:
        written = run.write(self.project)
        self.validations[run.assistant] = run.validation
        summary = f"{run.assistant}: {run.validation.describe()}\n{written.describe()}"
        self.workspace.after_edit(f"{run.assistant}: {written.describe()}")
        show_info(summary)
        self.finished.emit(run, summary)

    # ---------------------------------------------------------- what is pending

    def read_frame(self, frame: int) -> None:
        """Read the suggestions on ``frame`` (a tag's if it covers the frame), lowest confidence first, into
        ``here``: the workspace calls this each time it shows a frame (every edit shows it again), before any
        view is told, so every view uses the one reading."""
        self.here = sorted(pending_suggestions(self.project, frames=range(frame, frame + 1)), key=order_key)

    def current(self) -> Pending:
        """The suggestion Alt-Enter and Alt-Backspace act on: the selected object's on this frame, else the one
        "next" went to, else this frame's least sure one."""
        here = self.here
        if not here:
            raise RoadlabelError(None, f"no suggestion on frame {self.workspace.current_frame}")
        selected = set(self.workspace.selected_tracks())
        for item in here:
            if item.kind != TAGS and item.target in selected:
                return item
        return self.focus if self.focus in here else here[0]

    def describe(self, item: Pending) -> str:
        return describe_pending(item, self._class_of(item))

    def _class_of(self, item: Pending) -> str:
        store = self.project.store
        if item.kind == TAGS:
            return store.tag(item.target).class_name
        return store.track(item.target).class_name if store.has_track(item.target) else ""

    # ---------------------------------------------------------- accepting and rejecting

    def accept_current(self) -> Pending:
        item = self.current()
        accept(self.project, item)
        self.workspace.after_edit(f"accepted {self.describe(item)}")
        return item

    def reject_current(self) -> Pending:
        item = self.current()
        reject(self.project, item)
        self.workspace.after_edit(f"rejected {self.describe(item)}")
        return item

    def accept_all_on_frame(self, min_confidence: float | None = None) -> int:
        """Accept this frame's suggestions at least ``min_confidence`` sure (default: the tab's), in one undo
        step."""
        frame = self.workspace.current_frame
        return self._accept_bulk(pending_suggestions(self.project, frames=range(frame, frame + 1),
                                                     min_confidence=self._bulk(min_confidence)), f"frame {frame}")

    def accept_all_on_track(self, min_confidence: float | None = None) -> int:
        """Accept every suggestion of the selected object (on every frame) at least ``min_confidence`` sure."""
        track_id = self._selected_track()
        return self._accept_bulk(pending_suggestions(self.project, track_id=track_id,
                                                     min_confidence=self._bulk(min_confidence)), f"track {track_id}")

    def reject_all_on_track(self) -> int:
        """Reject every suggestion of the selected object, on every frame, in one undo step: a proposed object
        that is not one goes at once, however many frames it spans."""
        track_id = self._selected_track()
        items = pending_suggestions(self.project, track_id=track_id)
        if not items:
            raise RoadlabelError(None, f"track {track_id} has no suggestion waiting")
        count = reject_all(self.project, items, f"reject {counted(len(items), 'suggestion')} on track {track_id}")
        self.workspace.after_edit(f"rejected {counted(count, 'suggestion')} on track {track_id}")
        return count

    def _selected_track(self) -> int:
        selected = self.workspace.selected_tracks()
        if not selected:
            raise RoadlabelError(None, "select an object first")
        return selected[0]

    def _bulk(self, min_confidence: float | None) -> float:
        return self.options.bulk_confidence if min_confidence is None else min_confidence

    def _accept_bulk(self, items: list[Pending], where: str) -> int:
        if not items:
            raise RoadlabelError(None, f"no suggestion on {where} is that sure")
        unshown = sorted({item.assistant for item in items} - set(self.validations))
        if unshown:
            raise RoadlabelError(None, f"run {', '.join(unshown)} in the Assist tab first: its validated accuracy "
                                       f"is shown before anything is accepted in bulk")
        count = accept_all(self.project, items, f"accept {counted(len(items), 'suggestion')} on {where}")
        self.workspace.after_edit(f"accepted {counted(count, 'suggestion')} on {where}")
        return count

    # ---------------------------------------------------------- going to the next one

    def next_suggestion(self) -> Pending | None:
        """Go to the least sure suggestion after the one in focus (over the whole sequence), select its object;
        None when nothing is pending."""
        ordered = sorted(pending_suggestions(self.project), key=order_key)
        if not ordered:
            self.workspace.viewer.status = "no suggestion is waiting"
            self.focus = None
            return None
        later = [item for item in ordered if self.focus is None or order_key(item) > order_key(self.focus)]
        self.focus = (later or ordered)[0]
        self.workspace.go_to(self.focus.frame)
        if self.focus.kind != TAGS:
            self.workspace.select_track(self.focus.target)
        self.workspace.viewer.status = f"to check: {self.describe(self.focus)}"
        self.focused.emit(self.focus)
        return self.focus

    def close(self) -> None:
        self.cancel()
        self.wait()


def _compute(project, assistant, source: str, frames: range, min_confidence: float, progress,
             cancelled) -> AssistRun:
    """The worker thread's part: its own frame source; the project is only read (its store is shared safely)."""
    frame_source = open_frames(source)
    try:
        return compute_suggestions(project, assistant, frame_source, frame_range=frames,
                                   min_confidence=min_confidence, progress=progress, cancelled=cancelled)
    finally:
        frame_source.close()
