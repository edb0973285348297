"""Progress from a worker thread to a progress bar, which lives on the main thread."""

from __future__ import annotations

from qtpy.QtCore import QObject
from qtpy.QtCore import Signal as QtSignal


class ProgressRelay(QObject):
    """Emit ``advanced`` from any thread; a slot connected on the main thread runs there (queued)."""

    advanced = QtSignal(int)
