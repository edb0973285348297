"""Propagation in the viewer: the run in a worker thread, its progress bar and cancel, and the panel's controls.

The plan is read from the store on the main thread, the frames are read and
tracked in a worker thread (which opens its own frame source: the viewer keeps
reading the workspace's), and the result is written on the main thread in one
undo step.  Annotating goes on meanwhile; a keyframe drawn during the run is
kept (see ``write_propagation``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from magicgui.widgets import CheckBox, ComboBox, Container, Label, PushButton, SpinBox
from napari.utils.notifications import show_info

from ..core import RoadlabelError
from ..io.frames import open_frames
from ..temporal.propagation import (
    METHODS,
    PropagationCancelled,
    PropagationPlan,
    PropagationResult,
    compute_propagation,
    plan_propagation,
    write_propagation,
)
from .worker_run import WorkerRun

SCOPES = ("selected", "all")
UNTIL = ("next keyframe", "N frames", "end")
DIRECTIONS = ("forward", "backward")


@dataclass
class PropagationOptions:
    """What the panel's controls say: which objects, how, and how far from the current frame."""

    scope: str = "selected"
    method: str = "flow"
    until: str = "next keyframe"  # backward: the previous keyframe, N frames back, or the first frame
    frames: int = 30
    direction: str = "forward"
    extend_tags: bool = False  # frame tags (a school zone active) covering the first frame last to the last


def plan_for(workspace, options: PropagationOptions) -> PropagationPlan:
    """The plan for ``options`` from the workspace's current frame and selection."""
    tracks = None
    if options.scope == "selected":
        tracks = workspace.selected_tracks() or ([workspace.selected_track]
                                                 if workspace.selected_track is not None else [])
        if not tracks:
            raise RoadlabelError(None, "select an object to propagate (or choose 'all')")
    current, last = workspace.current_frame, workspace.frame_count - 1
    forward = options.direction == "forward"
    if options.until == "N frames":
        start, end = (current, min(last, current + options.frames)) if forward else (
            max(0, current - options.frames), current)
    else:
        start, end = (current, last) if forward else (0, current)
    to_keyframe = options.until == "next keyframe"
    return plan_propagation(workspace.project, method=options.method, tracks=tracks, start=start, end=end,
                            to_next_keyframe=to_keyframe and forward, to_previous_keyframe=to_keyframe and not forward,
                            extend_tags=options.extend_tags)


class PropagationRunner(WorkerRun):
    """One propagation at a time for a workspace: started, computed in a thread, written, or cancelled."""

    cancelled_error = PropagationCancelled
    cancelled_message = str(PropagationCancelled())
    failure = "propagation failed"

    def __init__(self, workspace):
        super().__init__(workspace)
        self.options = PropagationOptions()

    def start(self) -> None:
        """Propagate with the current options; raises RoadlabelError when there is nothing to do."""
        if self.running:
            raise RoadlabelError(None, "a propagation is already running: wait for it or cancel it")
        plan = plan_for(self.workspace, self.options)
        if not plan.spans:
            reasons = "; ".join(f"track {track}: {why}" for track, why in plan.skipped)
            raise RoadlabelError(None, f"nothing to propagate ({reasons or 'no objects'})")
        self._launch(_compute, plan, str(self.workspace.project.source_path()), total=plan.work,
                     desc=f"Propagating ({plan.method})")

    def _write(self, result: PropagationResult) -> None:
        written = write_propagation(self.workspace.project, result)
        summary = result.summary()
        self.workspace.after_edit(f"propagated: {written} states written")
        show_info(summary)
        self.finished.emit(result, summary)


def _compute(plan: PropagationPlan, source: str, progress: Callable[[int], None],
             cancelled: Callable[[], bool]) -> PropagationResult:
    """The worker thread's part: its own frame source, no store access."""
    frames = open_frames(source) if plan.method == "flow" else None
    try:
        return compute_propagation(plan, frames, progress=progress, cancelled=cancelled)
    finally:
        if frames is not None:
            frames.close()


class PropagationControls(Container):
    """Propagate the selected object or all, forward or back, to the next keyframe, by N frames or to the end."""

    def __init__(self, runner: PropagationRunner, report: Callable[[RoadlabelError], None]):
        options = runner.options
        self.runner = runner
        self.report = report
        self.scope = ComboBox(label="Objects", choices=SCOPES, value=options.scope)
        self.method = ComboBox(label="by", choices=METHODS, value=options.method,
                               tooltip="flow: optical flow, blended between keyframes; linear, smooth: "
                                       "interpolation between keyframes only")
        self.direction = ComboBox(label="Direction", choices=DIRECTIONS, value=options.direction)
        self.until = ComboBox(label="until", choices=UNTIL, value=options.until,
                              tooltip="Backward: the previous keyframe, N frames back, or the first frame")
        self.frames = SpinBox(label="N", value=options.frames, min=1, max=100000,
                              tooltip="How many frames 'N frames' goes")
        self.extend_tags = CheckBox(text="Extend frame tags", value=options.extend_tags,
                                    tooltip="Frame tags on the first frame of the run (a school zone active) "
                                            "last to its last frame")
        self.button = PushButton(text="Propagate (Alt-P)", tooltip="Carry the objects from their keyframes "
                                                                   "through the other frames; one undo step")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.next_to_check = PushButton(text="Next to check (Alt-Right)",
                                        tooltip="Go to the next frame with a propagated state under confidence 0.5")
        self.summary = Label(value="")
        rows = [Container(widgets=widgets, layout="horizontal", labels=True) for widgets in (
            [self.scope, self.method], [self.direction], [self.until, self.frames], [self.button, self.cancel_button])]
        super().__init__(widgets=[*rows[:3], self.extend_tags, rows[3], self.summary, self.next_to_check],
                         labels=False)
        for field_name in ("scope", "method", "direction", "until", "frames", "extend_tags"):
            getattr(self, field_name).changed.connect(
                lambda value, name=field_name: setattr(runner.options, name, value))
        self.button.changed.connect(self._start)
        self.cancel_button.changed.connect(lambda *args: runner.cancel())
        self.next_to_check.changed.connect(lambda *args: runner.workspace.jump_to_check(forward=True))
        runner.started.connect(lambda: self._show_running(True))
        runner.finished.connect(self._show_result)

    def _start(self, *args) -> None:
        try:
            self.runner.start()
        except RoadlabelError as error:
            self.report(error)

    def _show_running(self, running: bool) -> None:
        self.button.enabled = not running
        self.cancel_button.enabled = running
        if running:
            self.summary.value = "propagating…"

    def _show_result(self, result: PropagationResult | None, message: str) -> None:
        """One short line here; the whole summary (each stop, each skip) in its tooltip and napari's message."""
        self._show_running(False)
        self.summary.value = _brief(result) if result is not None else message.splitlines()[0]
        self.summary.tooltip = message


def _brief(result: PropagationResult) -> str:
    stopped = f", {len(result.stops)} stopped" if result.stops else ""
    return f"{result.plan.method}: {len(result.states)} states, {len(result.flagged)} to check{stopped}"
