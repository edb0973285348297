"""Write files so that a crash or an error never leaves half a file, and never clobbers the user's."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..core.errors import RoadlabelError


@contextlib.contextmanager
def atomic_write(path: str | Path, *, overwrite: bool = True, binary: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only when the block succeeds.

    With ``overwrite=False`` an existing ``path`` is an error (checked before and after writing).
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise RoadlabelError(path, "already exists; choose another name or allow overwriting")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _permissions_for_new_files())  # mkstemp makes 0600; others expect 0644 (umask)
        if not overwrite and path.exists():
            raise RoadlabelError(path, "appeared while writing; not overwritten")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _permissions_for_new_files() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_folder(path: str | Path, *, overwrite: bool) -> Iterator[Path]:
    """A staging folder beside ``path`` to fill; it takes ``path``'s place only when the block succeeds.

    An existing ``path`` is an error unless ``overwrite`` (then it is replaced at the end, not before).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise RoadlabelError(path, "already exists; choose another name or allow overwriting")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield staging
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
