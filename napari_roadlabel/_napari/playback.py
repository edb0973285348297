"""Playing the frames at a chosen rate, held by dropping the frames it is late for.

The clock is the wall clock from when playing began: each tick shows frame
``start + floor(elapsed * fps)``, so a step slower than 1/fps skips frames
instead of slowing playback down.  One single-shot precise timer is set for
when the next frame is due (at once when that time has passed), so late ticks
never queue up behind a slow step.  Before a jump, ``stop_at(after, until)``
names the first frame in between worth a look (a finding, a state to check):
playing stops on it rather than pass it, and stops at the last frame.

The rate achieved is reported about twice a second while playing and at the
stop: frames shown per second of the video played, the chosen rate times the
share of frames shown (a frame is shown on time or dropped, so this is the wall
clock rate up to the last frame shown), and the frames dropped (passed over).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from psygnal import Signal
from qtpy.QtCore import Qt, QTimer

from ..core.wording import counted

REPORT_EVERY_S = 0.5


class Player:
    """Plays a workspace's frames forward; ``stop_at(after, until)`` is the first frame in ``after+1..until``
    to stop on, or None."""

    playing_changed = Signal(bool)
    rate_changed = Signal(float, int)  # frames shown per second of video played, frames dropped

    def __init__(self, workspace, stop_at: Callable[[int, int], int | None]):
        self.workspace = workspace
        self.stop_at = stop_at
        self.fps = 1.0
        self._playing = False
        self._rate = (0.0, 0)
        self._start_time = self._reported_at = 0.0
        self._start_frame = self._shown = self._dropped = 0
        self._timer = QTimer(singleShot=True)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def rate(self) -> tuple[float, int]:
        """The last reported frames shown per second and frames dropped."""
        return self._rate

    def describe(self) -> str:
        """The last reported rate, in words: "playing 24.8 fps, 3 frames dropped"."""
        shown_fps, dropped = self._rate
        return f"{'playing' if self._playing else 'played'} {shown_fps:.1f} fps, {counted(dropped, 'frame')} dropped"

    def play(self, fps: float) -> None:
        """Play forward from the current frame at ``fps`` (nothing when playing or at the last frame)."""
        if self._playing or self.workspace.current_frame >= self.workspace.frame_count - 1:
            return
        self.fps = fps
        self._start_time = self._reported_at = time.perf_counter()
        self._start_frame = self.workspace.current_frame
        self._shown = self._dropped = 0
        self._rate = (0.0, 0)
        self._playing = True
        self.workspace.display.pause_live(True)  # nobody edits while it plays: one overlay draws it all
        self._schedule(1)
        self.playing_changed.emit(True)

    def stop(self) -> None:
        if self._playing:
            self._timer.stop()
            self._playing = False
            self.workspace.display.pause_live(False)
            self._report(time.perf_counter())
            self.playing_changed.emit(False)

    def _tick(self) -> None:
        now = time.perf_counter()
        due = self._start_frame + math.floor((now - self._start_time) * self.fps)
        here, last = self.workspace.current_frame, self.workspace.frame_count - 1
        target = min(due, last)
        if target > here:
            stop = self.stop_at(here, target)
            frame = target if stop is None else stop
            self._shown += 1
            self._dropped += frame - here - 1
            self.workspace.go_to(frame)
            if stop is not None or frame == last:
                self.stop()
                return
        if now - self._reported_at >= REPORT_EVERY_S:
            self._report(now)
        self._schedule(due + 1 - self._start_frame)

    def _schedule(self, frames: int) -> None:
        """The next tick when frame ``start + frames`` is due."""
        wait_s = self._start_time + frames / self.fps - time.perf_counter()
        self._timer.start(max(0, math.ceil(wait_s * 1000)))

    def _report(self, now: float) -> None:
        advanced = self._shown + self._dropped
        self._rate = (self.fps * self._shown / advanced if advanced else 0.0, self._dropped)
        self._reported_at = now
        self.rate_changed.emit(*self._rate)
