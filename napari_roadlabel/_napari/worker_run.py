"""One long computation at a time in a worker thread, with napari's progress bar and a cancel button.

The worker only computes (it reads the project, writes nothing); the result comes back to the main thread,
which writes it in one undo step (``_write``, the subclass's).  Cancelling, or an error, writes nothing.
Propagation and the assistants' runs are the two.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from napari.qt.threading import create_worker
from napari.utils import cancelable_progress
from napari.utils.notifications import show_error
from psygnal import Signal

from ..core import RoadlabelError
from .relay import ProgressRelay


class WorkerRun:
    started = Signal()
    finished = Signal(object, str)  # the result written (None if cancelled or failed), and what happened

    cancelled_error: type[Exception]  # what the computation raises when cancelled
    cancelled_message: str  # what is said then
    failure: str  # "propagation failed": the start of the message for an unexpected error

    def __init__(self, workspace):
        self.workspace = workspace
        self.worker = None
        self._cancel = threading.Event()
        self._bar = None
        self._relay = ProgressRelay()

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _launch(self, compute: Callable, *args, total: int, desc: str) -> None:
        """Run ``compute(*args, progress, cancelled)`` in a worker thread; its result goes to ``_write``."""
        self._cancel.clear()
        self._bar = cancelable_progress(total=total, desc=desc, cancel_callback=self.cancel)
        self._relay.advanced.connect(self._bar.update)
        # Errors come back through ``errored`` (cancelling is one): no re-raising in the event loop.
        self.worker = create_worker(compute, *args, self._relay.advanced.emit, self._cancel.is_set,
                                    _ignore_errors=True)
        self.worker.returned.connect(self._returned)
        self.worker.errored.connect(self._failed)
        self.worker.finished.connect(self._close_bar)
        self.started.emit()
        self.worker.start()

    def cancel(self) -> None:
        """Ask the run to stop; nothing is written."""
        self._cancel.set()

    def wait(self, timeout_ms: int = 30000) -> None:
        """Block until the worker thread ends (closing the workspace)."""
        if self.worker is not None:
            self.worker.await_workers(timeout_ms)

    def _write(self, result) -> None:
        raise NotImplementedError

    def _returned(self, result) -> None:
        self.worker = None
        if self._cancel.is_set():  # cancelled after the last step was computed, or the workspace is closing
            self.finished.emit(None, self.cancelled_message)
            return
        self._write(result)

    def _failed(self, error: Exception) -> None:
        self.worker = None
        if isinstance(error, self.cancelled_error):
            message = self.cancelled_message
            self.workspace.viewer.status = message
        elif isinstance(error, RoadlabelError):  # not enough labels, a bad model file: said in one line
            message = str(error)
            self.workspace.report(error)
        else:
            message = f"{self.failure}, nothing was changed: {error!r}"
            show_error(message)
        self.finished.emit(None, message)

    def _close_bar(self) -> None:
        self.worker = None
        if self._bar is not None:
            self._relay.advanced.disconnect(self._bar.update)
            self._bar.close()
            self._bar = None
