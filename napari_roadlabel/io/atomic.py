"""Write files so that a crash or an error never leaves half a file, and never clobbers the user's.

Everything goes through ``AtomicOutputs``: the files and folders of one piece of work (an export and its mapping
report, say) are checked before anything is written, staged beside their targets, and renamed into place together
when the work succeeds; if one rename fails, those before it are undone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ..core.errors import RoadlabelError


class AtomicOutputs:
    """Files and folders that appear together, whole, or not at all::

        with AtomicOutputs(overwrite=False) as outputs:
            data, notes = outputs.folder(out), outputs.file(out_notes)  # both checked here, before any writing
            ...fill data, write notes...
        # both renamed into place here; after an error, neither is there and nothing is left behind

    An existing target is an error unless ``overwrite``, and even then a folder never replaces a file nor a file
    a folder (that is a mistaken name, not a file to update).  An OSError while staging, writing into a staged
    path or publishing becomes a RoadlabelError naming the target.
    """

    def __init__(self, *, overwrite: bool) -> None:
        self.overwrite = overwrite
        self._staged: list[tuple[Path, Path]] = []  # (staging path, target), in the order they are published

    def file(self, path: str | Path) -> Path:
        """A new empty file beside ``path`` to write in its place."""
        return self._stage(Path(path), folder=False)

    def folder(self, path: str | Path) -> Path:
        """A new empty folder beside ``path`` to fill in its place."""
        return self._stage(Path(path), folder=True)

    def __enter__(self) -> AtomicOutputs:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if error is None:
                self._publish()
        finally:
            for staging, _ in self._staged:
                _remove(staging)  # only what was not published is still there
        target = self._target_of(error.filename) if isinstance(error, OSError) else None
        if target is not None:
            raise _cannot_write(target, error) from error

    def _stage(self, target: Path, *, folder: bool) -> Path:
        check_target(target, folder=folder, overwrite=self.overwrite)
        with _writing(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            if folder:
                staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            else:
                descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
                os.close(descriptor)
                staging = Path(name)
        self._staged.append((staging, target))
        return staging

    def _publish(self) -> None:
        for staging, target in self._staged:
            if not self.overwrite and os.path.lexists(target):
                raise RoadlabelError(target, "appeared while writing; not overwritten")
            with _writing(target):
                _finish(staging)
        set_aside: dict[Path, Path] = {}  # target -> where its old version waits until all are published
        placed: list[Path] = []
        try:
            for index, (staging, target) in enumerate(self._staged):
                last_file = index == len(self._staged) - 1 and not staging.is_dir()
                with _writing(target):
                    if os.path.lexists(target) and not last_file:  # a last file is replaced by one (atomic) rename
                        set_aside[target] = _set_aside(target)
                    os.replace(staging, target)
                placed.append(target)
        except BaseException:
            for target in placed:
                _remove(target)
            for target, old in set_aside.items():
                os.replace(old, target)
                os.rmdir(old.parent)
            raise
        for old in set_aside.values():
            _remove(old.parent)

    def _target_of(self, filename: str | None) -> Path | None:
        """The target whose staging path holds ``filename`` (the first target for an error naming no file)."""
        if filename is None:
            return self._staged[0][1] if self._staged else None
        for staging, target in self._staged:
            if Path(filename) == staging or staging in Path(filename).parents:
                return target
        return None


def check_target(path: str | Path, *, folder: bool, overwrite: bool) -> None:
    """Refuse to write over an existing ``path`` unless ``overwrite``, and over one of the other kind at all."""
    path = Path(path)
    if not os.path.lexists(path):
        parent = next((parent for parent in path.parents if os.path.lexists(parent)), None)
        if parent is not None and not parent.is_dir():
            raise RoadlabelError(path, f"cannot write: {parent} is a file, not a folder")
        return
    if not overwrite:
        raise RoadlabelError(path, "already exists; choose another name or allow overwriting")
    if path.is_dir() != folder:
        found, written = ("folder", "file") if path.is_dir() else ("file", "folder")
        raise RoadlabelError(path, f"is a {found}, and a {written} is written here: not replaced; choose another name")


def check_spared(path: str | Path, spared: Iterable[str | Path]) -> None:
    """Refuse a target that is, or holds, one of ``spared`` (a project, its frames): no overwriting replaces those."""
    target = Path(path).resolve()
    for kept in spared:
        if target == Path(kept).resolve() or target in Path(kept).resolve().parents:
            raise RoadlabelError(path, f"is or holds {kept}, which is never replaced; choose another name")


def _cannot_write(target: Path, error: OSError) -> RoadlabelError:
    return RoadlabelError(target, f"cannot write: {error.strerror or error}")


@contextlib.contextmanager
def _writing(target: Path) -> Iterator[None]:
    """An OSError in the block as a RoadlabelError naming ``target``."""
    try:
        yield
    except OSError as error:
        raise _cannot_write(target, error) from error


def _finish(staging: Path) -> None:
    """Give a staged file or folder the permissions of a new one (mkstemp makes 0600, mkdtemp 0700), and put a
    file's bytes on disk before it is renamed into place."""
    os.chmod(staging, (0o777 if staging.is_dir() else 0o666) & ~_umask())
    if not staging.is_dir():
        descriptor = os.open(staging, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _set_aside(target: Path) -> Path:
    """Move ``target`` into a new hidden folder beside it; returns where it now is."""
    holder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    try:
        os.replace(target, holder / target.name)
    except OSError:
        os.rmdir(holder)
        raise
    return holder / target.name


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_write(path: str | Path, *, overwrite: bool = True, binary: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path``; it takes ``path``'s place only when the block succeeds.

    With ``overwrite=False`` an existing ``path`` is an error (checked before and after writing).
    """
    with AtomicOutputs(overwrite=overwrite) as outputs:
        with open_staged(outputs.file(path), binary=binary) as handle:
            yield handle


def open_staged(staging: Path, *, binary: bool = False) -> IO:
    """A staged file opened for writing: UTF-8 text unless ``binary``."""
    return open(staging, "wb") if binary else open(staging, "w", encoding="utf-8")


@contextlib.contextmanager
def atomic_folder(path: str | Path, *, overwrite: bool) -> Iterator[Path]:
    """A staging folder beside ``path`` to fill; it takes ``path``'s place only when the block succeeds.

    An existing ``path`` is an error unless ``overwrite`` (then it is replaced at the end, not before).
    """
    with AtomicOutputs(overwrite=overwrite) as outputs:
        yield outputs.folder(path)
