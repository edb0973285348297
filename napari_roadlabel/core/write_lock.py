"""One writer at a time: a project's write lock, an ``flock`` on ``PROJECT/annotations.lock``.

A store takes the lock at its first write (or when opened for writing) and keeps it until it is closed; another
process that wants to write meanwhile is refused with the writer's pid, never left to interleave its edits.
Readers never take it.  The kernel releases an ``flock`` when its process ends, however it ends, so a killed
process cannot leave the project locked: the pid in the file is only what the refusal names.  Within one process
the lock is shared (a test, or the napari panel and a reader, may open a project twice).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .errors import ProjectError

try:
    import fcntl
except ImportError:  # Windows: no flock, so writers are not serialised there
    fcntl = None

_held: dict[Path, list[int]] = {}  # lock file -> [file descriptor, holders in this process]
_guard = threading.Lock()


class WriteLock:
    """The write lock of one store over ``path``: ``acquire`` (once; raises ProjectError while another process
    writes) and ``release``."""

    def __init__(self, path: Path):
        self.path = path  # as the user named it, for messages
        self._key = path.resolve()
        self.held = False

    def acquire(self) -> None:
        if self.held:
            return
        with _guard:
            if self._key not in _held:
                _held[self._key] = [_lock(self.path), 0]
            _held[self._key][1] += 1
        self.held = True

    def release(self) -> None:
        if not self.held:
            return
        with _guard:
            entry = _held[self._key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[self._key]
                os.ftruncate(entry[0], 0)  # no pid left behind: the file is as it was before
                os.close(entry[0])
        self.held = False


def _lock(path: Path) -> int:
    """The lock file's descriptor, locked, with this process's pid written in it."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes (PEP 446)
    except OSError as error:
        raise ProjectError(path, f"cannot lock the project for writing: {error.strerror}") from None
    if fcntl is None:
        return descriptor
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(descriptor, 20, 0).decode("ascii", "replace").strip()
        os.close(descriptor)
        writer = f"another roadlabel process (pid {pid})" if pid.isdigit() else "another roadlabel process"
        raise ProjectError(path.parent, f"project is busy: {writer} is writing; try again when it has finished") \
            from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, str(os.getpid()).encode("ascii"), 0)
    return descriptor
