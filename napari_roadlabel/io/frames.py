"""Frames of a video, an image folder or a single image, read lazily.

``open_frames(path)`` returns a ``FrameSource``: a sequence of RGB ``uint8``
frames of shape ``(height, width, 3)`` that decodes a frame only when asked.
Decoded frames go into an LRU cache bounded in bytes, and after each read a
background thread decodes the next few frames so that stepping forward
through a video hits the cache. ``FrameSource.as_array()`` wraps a source in
an array-like ``FrameArray`` that napari can show as an Image layer.

This module must not import napari or Qt: it is used headless too.
"""

from __future__ import annotations

import operator
import os
import threading
import warnings
import weakref
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from natsort import natsorted, ns
from PIL import ExifTags, Image, UnidentifiedImageError

from napari_roadlabel.core.errors import FrameSourceError, RoadlabelWarning

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm"})
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})

# FFmpeg's own messages ("partial file", "Invalid NAL unit size") would print beside our one-line errors and
# warnings; they are silenced unless the user asks for them (read when OpenCV first opens a video).
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

_TURNING = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height

DEFAULT_CACHE_BYTES = 256 * 2**20
DEFAULT_READ_AHEAD = 8
GRAB_AHEAD = 16  # frames a video read decodes forward to instead of seeking (a seek decodes from a keyframe)


def open_frames(
    path: str | PathLike,
    *,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    read_ahead: int = DEFAULT_READ_AHEAD,
) -> FrameSource:
    """Open a video file, a folder of images or one image as a lazy frame source.

    Raises ``FrameSourceError`` for a missing path, a folder without images,
    an unsupported extension, or a file OpenCV cannot decode.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FrameSourceError(path, "no such file or folder")
    options = {"cache_bytes": cache_bytes, "read_ahead": read_ahead}
    if path.is_dir():
        return ImageFolderSource(path, **options)
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return VideoSource(path, **options)
    if suffix in IMAGE_EXTENSIONS:
        return SingleImageSource(path, **options)
    supported = ", ".join(sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS))
    raise FrameSourceError(path, f"unsupported file type {suffix or '(none)'!r}; expected one of {supported}")


class FrameCache:
    """A thread-safe LRU cache of frames whose total size never exceeds ``budget_bytes``."""

    def __init__(self, budget_bytes: int):
        self.budget_bytes = max(0, int(budget_bytes))
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def get(self, index: int) -> np.ndarray | None:
        """The cached frame, marked as most recently used, or None."""
        with self._lock:
            frame = self._frames.get(index)
            if frame is not None:
                self._frames.move_to_end(index)
            return frame

    def put(self, index: int, frame: np.ndarray) -> None:
        """Store a frame, evicting the least recently used ones to stay within budget."""
        if frame.nbytes > self.budget_bytes:
            return
        with self._lock:
            old = self._frames.pop(index, None)
            if old is not None:
                self._nbytes -= old.nbytes
            while self._frames and self._nbytes + frame.nbytes > self.budget_bytes:
                _, evicted = self._frames.popitem(last=False)
                self._nbytes -= evicted.nbytes
            self._frames[index] = frame
            self._nbytes += frame.nbytes

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._nbytes = 0


class FrameSource(ABC):
    """A lazy sequence of RGB uint8 frames, all of one size.

    Subclasses open their file in ``__init__``, call ``_start`` with the first
    decoded frame, and implement ``_decode``. Decoding is serialised by one
    lock, shared by callers and the read-ahead thread, because an OpenCV
    ``VideoCapture`` is not thread-safe.
    """

    path: Path

    def __init__(self, path: Path, *, frame_count: int, fps: float | None, cache_bytes: int, read_ahead: int):
        self.path = path
        self._frame_count = frame_count
        self._fps = fps
        self.cache = FrameCache(cache_bytes)
        self._read_ahead_depth = max(0, int(read_ahead))
        self._failures: dict[int, FrameSourceError] = {}
        self._decode_lock = threading.Lock()
        # Set while a caller waits for the decoder, so the read-ahead thread yields to it.
        self._caller_waiting = threading.Event()
        self._closed = False
        self._read_ahead: _ReadAhead | None = None
        self._height = self._width = 0

    def _start(self, first_frame: np.ndarray) -> None:
        """Fix the frame size from the first frame, cache it and set up read-ahead."""
        self._height, self._width = first_frame.shape[:2]
        first_frame.setflags(write=False)
        self.cache.put(0, first_frame)
        depth = min(self._read_ahead_depth, len(self) - 1, self._frames_fitting_in_cache() - 1)
        if depth > 0:
            self._read_ahead = _ReadAhead(weakref.ref(self), depth, name=f"read-ahead {self.path.name}")
            # Stops the thread even if the source is dropped without close().
            weakref.finalize(self, self._read_ahead.stop)

    def _frames_fitting_in_cache(self) -> int:
        return self.cache.budget_bytes // (self._height * self._width * 3)

    @abstractmethod
    def _decode(self, index: int) -> np.ndarray:
        """Decode frame ``index`` (0 <= index < len) as an RGB uint8 array; raise FrameSourceError if unreadable.

        Called with the decode lock held.
        """

    def _where(self, index: int) -> Path:
        """The file that holds frame ``index``, for error messages."""
        return self.path

    def __len__(self) -> int:
        return self._frame_count

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self._width, self._height

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return len(self), self._height, self._width, 3

    @property
    def missing(self) -> set[int]:
        """Indices of the frames found unreadable so far."""
        return set(self._failures)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as a read-only RGB uint8 array of shape (height, width, 3).

        Raises IndexError outside ``0 <= index < len(self)``, and FrameSourceError
        when the frame cannot be decoded.
        """
        index = operator.index(index)
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} out of range: {self.path.name} has {len(self)} frames")
        frame = self.cache.get(index)
        if frame is None:
            frame = self._load_as_caller(index)
        if self._read_ahead is not None:
            self._read_ahead.request(index)
        return frame

    def __getitem__(self, index: int) -> np.ndarray:
        """Like ``read``, and negative indices count from the end."""
        return self.read(self._resolve_negative(index))

    def frame_name(self, index: int) -> str:
        """A name for frame ``index``: its file name, or ``<video stem>_000017`` for a video."""
        return self._frame_name(self._resolve_negative(index))

    def _frame_name(self, index: int) -> str:
        return f"{self.path.stem}_{index:06d}"

    def _resolve_negative(self, index: int) -> int:
        index = operator.index(index)
        return index + len(self) if index < 0 else index

    def as_array(self) -> FrameArray:
        return FrameArray(self)

    def close(self) -> None:
        """Stop the read-ahead thread, release the file and drop the cache. Safe to call twice."""
        self._closed = True
        if self._read_ahead is not None:
            self._read_ahead.stop()
        with self._decode_lock:
            self._release()
        self.cache.clear()

    def _release(self) -> None:  # noqa: B027 (only video sources hold a handle)
        """Release file handles; called with the decode lock held."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, frames={len(self)}, size={self.size})"

    def _load_as_caller(self, index: int) -> np.ndarray:
        self._caller_waiting.set()
        try:
            with self._decode_lock:
                return self._load_locked(index)
        finally:
            self._caller_waiting.clear()

    def _prefetch(self, index: int) -> bool:
        """Decode ``index`` into the cache for the read-ahead thread; False ends the current run."""
        if self._closed or self._caller_waiting.is_set() or index >= len(self) or index in self._failures:
            return False
        if self.cache.get(index) is not None:  # get() also refreshes it in the LRU order
            return True
        with self._decode_lock:
            try:
                self._load_locked(index)
            except FrameSourceError:
                return False
        return True

    def _load_locked(self, index: int) -> np.ndarray:
        """Decode and cache frame ``index``; failures are remembered so they are not retried."""
        frame = self.cache.get(index)  # the read-ahead thread may have just decoded it
        if frame is not None:
            return frame
        if index in self._failures:
            known = self._failures[index]
            raise FrameSourceError(known.where, known.reason, known.place)
        if self._closed:
            raise FrameSourceError(self.path, "the frame source is closed", place=f"frame {index}")
        try:
            frame = self._checked(index, self._decode(index))
        except FrameSourceError as error:
            self._failures[index] = error
            raise
        self.cache.put(index, frame)
        return frame

    def _checked(self, index: int, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        if (width, height) != self.size:
            raise FrameSourceError(
                self._where(index),
                f"frame is {width}x{height} but the first frame is {self._width}x{self._height}",
                place=f"frame {index}",
            )
        frame.setflags(write=False)
        return frame


class VideoSource(FrameSource):
    """A video file read through OpenCV, decoding sequentially when possible and seeking otherwise."""

    def __init__(self, path: Path, *, cache_bytes: int = DEFAULT_CACHE_BYTES, read_ahead: int = DEFAULT_READ_AHEAD):
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise FrameSourceError(
                path, "OpenCV cannot open this file as a video (not a video, truncated, or an unsupported codec)"
            )
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        super().__init__(
            path,
            frame_count=self._true_frame_count(path),
            fps=fps if fps > 0 else None,
            cache_bytes=cache_bytes,
            read_ahead=read_ahead,
        )
        # Index of the frame the next cap.read() returns; None when unknown (after a failure or a check).
        self._next_index: int | None = None
        try:
            first_frame = self._decode(0)
        except FrameSourceError as error:
            self._capture.release()
            raise FrameSourceError(path, "OpenCV opens this video but cannot decode its first frame") from error
        self._start(first_frame)

    def _true_frame_count(self, path: Path) -> int:
        """The header's frame count when its last frame decodes (one seek), else the frames the file holds.

        A truncated file keeps a header that claims every frame; counting its packets finds what is left.
        """
        claimed = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if claimed > 0:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, claimed - 1)
            if self._capture.grab():
                return claimed
        held = _count_packets(path)
        if claimed > 0 and held != claimed:
            warnings.warn(RoadlabelWarning(path, f"the header claims {claimed} frames, but the file holds {held} "
                                                 f"(truncated?): only those {held} are read"), stacklevel=2)
        return held

    def _decode(self, index: int) -> np.ndarray:
        if self._next_index is not None and 0 < index - self._next_index <= GRAB_AHEAD:
            # Playback that drops a few late frames: decoding them is cheaper than a seek.
            while self._next_index < index and self._capture.grab():
                self._next_index += 1
        if index != self._next_index:
            # A seek restarts decoding at the previous keyframe: only worth it for jumps.
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = self._capture.read()
        if not ok or bgr is None:
            self._next_index = None  # the capture's position is unknown after a failure: seek next time
            raise FrameSourceError(
                self.path,
                f"cannot decode this frame although the container reports {len(self)} frames; "
                "the video looks truncated or corrupt",
                place=f"frame {index}",
            )
        self._next_index = index + 1
        return _to_rgb(bgr)

    def _release(self) -> None:
        self._capture.release()


def _count_packets(path: Path) -> int:
    """The frames a video file holds, counted by demuxing its packets: it reads the file but decodes nothing.

    With a backend that has no raw mode, grab() decodes instead: slower, but the count is as true.
    """
    capture = cv2.VideoCapture(str(path))
    try:
        capture.set(cv2.CAP_PROP_FORMAT, -1)  # raw packets (the FFmpeg backend)
        count = 0
        while capture.grab():
            count += 1
        return count
    finally:
        capture.release()


class ImageFolderSource(FrameSource):
    """The images of a folder in natural order (frame_2 before frame_10), one frame per file."""

    def __init__(self, path: Path, *, cache_bytes: int = DEFAULT_CACHE_BYTES, read_ahead: int = DEFAULT_READ_AHEAD):
        self.files = image_files(path)
        if not self.files:
            supported = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise FrameSourceError(path, f"the folder holds no images ({supported})")
        _check_one_size(self.files)
        super().__init__(path, frame_count=len(self.files), fps=None, cache_bytes=cache_bytes, read_ahead=read_ahead)
        self._start(self._decode(0))

    def _decode(self, index: int) -> np.ndarray:
        return _read_image(self.files[index], place=f"frame {index}")

    def _where(self, index: int) -> Path:
        return self.files[index]

    def _frame_name(self, index: int) -> str:
        return self.files[index].name


class SingleImageSource(FrameSource):
    """One image file as a one-frame source."""

    def __init__(self, path: Path, *, cache_bytes: int = DEFAULT_CACHE_BYTES, read_ahead: int = DEFAULT_READ_AHEAD):
        super().__init__(path, frame_count=1, fps=None, cache_bytes=cache_bytes, read_ahead=read_ahead)
        self._start(self._decode(0))

    def _decode(self, index: int) -> np.ndarray:
        return _read_image(self.path, place=None)

    def _frame_name(self, index: int) -> str:
        return self.path.name


def image_files(folder: Path) -> list[Path]:
    files = [
        entry
        for entry in folder.iterdir()
        if entry.suffix.lower() in IMAGE_EXTENSIONS and not entry.name.startswith(".") and entry.is_file()
    ]
    return natsorted(files, key=lambda file: file.name, alg=ns.IGNORECASE)


def _check_one_size(files: list[Path]) -> None:
    """Refuse a file that is not an image, or an image of another size than the first, before any frame is shown.

    Only headers are read (Pillow opens lazily): about 0.1 ms a file, where decoding takes 10 ms or more.
    """
    first_size = _header_size(files[0], "frame 0")
    for index, file in enumerate(files[1:], start=1):
        size = _header_size(file, f"frame {index}")
        if size != first_size:
            raise FrameSourceError(file, f"is {size[0]}x{size[1]}, but the first image ({files[0].name}) is "
                                         f"{first_size[0]}x{first_size[1]}: a folder's images must all be one size",
                                   place=f"frame {index}")


def _header_size(path: Path, place: str) -> tuple[int, int]:
    """(width, height) of the image as OpenCV decodes it (turned by its EXIF orientation), from the header alone."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            turned = "exif" in image.info and image.getexif().get(ExifTags.Base.Orientation, 1) in _TURNING
    except UnidentifiedImageError:
        raise FrameSourceError(path, "not an image: its content is no image format Pillow knows", place) from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise FrameSourceError(path, f"cannot read the image's header ({error})", place) from None
    return (height, width) if turned else (width, height)


def _read_image(path: Path, place: str | None) -> np.ndarray:
    """Decode an image file as RGB uint8; imdecode rather than imread so non-ASCII paths work everywhere."""
    try:
        encoded = np.fromfile(path, dtype=np.uint8)
        bgr = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    except (OSError, cv2.error) as error:
        raise FrameSourceError(path, f"cannot read the image ({error})", place=place) from error
    if bgr is None:
        raise FrameSourceError(path, "OpenCV cannot decode this image (corrupt or unsupported)", place=place)
    return _to_rgb(bgr)


def _to_rgb(bgr: np.ndarray) -> np.ndarray:
    """OpenCV decodes to BGR (3 channels, uint8, with IMREAD_COLOR and VideoCapture's defaults)."""
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class _ReadAhead:
    """A daemon thread that decodes the frames after the last one read, while the caller is idle.

    It holds only a weak reference to its source, so a source dropped without
    ``close()`` is still collected (and the thread then stopped by a finalizer).
    """

    def __init__(self, source_ref: Callable[[], FrameSource | None], depth: int, name: str):
        self._source_ref = source_ref
        self._depth = depth
        self._name = name
        self._wakeup = threading.Condition()
        self._pending: int | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None

    def request(self, index: int) -> None:
        """Read ahead from ``index``, abandoning any earlier request."""
        with self._wakeup:
            if self._stopped:
                return
            self._pending = index
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wakeup.notify()

    def stop(self) -> None:
        with self._wakeup:
            self._stopped = True
            self._wakeup.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while (start := self._next_request()) is not None:
            self._prefetch_after(start)

    def _next_request(self) -> int | None:
        with self._wakeup:
            while self._pending is None and not self._stopped:
                self._wakeup.wait()
            if self._stopped:
                return None
            start, self._pending = self._pending, None
            return start

    def _prefetch_after(self, start: int) -> None:
        # The strong reference lives only in this frame, never while waiting for a request.
        source = self._source_ref()
        if source is None:
            return
        for index in range(start + 1, start + 1 + self._depth):
            if self._stopped or self._pending is not None or not source._prefetch(index):
                return


class FrameArray:
    """A read-only, array-like view of a FrameSource, shaped (count, height, width, 3), for napari.

    Indexing decodes only the frames asked for: napari asks for one frame (or a
    few) at a time. An unreadable frame never raises here: a placeholder (dark
    grey with a red diagonal cross) stands in for it and its index is recorded
    in ``source.missing``.
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, source: FrameSource):
        self.source = source
        self._placeholder: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.source.shape

    @property
    def size(self) -> int:
        """Number of elements, as for a numpy array (napari's helpers read it)."""
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: Any) -> np.ndarray:
        """Index like a numpy array whose first axis is the frame: an int, a slice, an index array, or a tuple."""
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        if first is Ellipsis:
            first, rest = slice(None), (Ellipsis, *rest)
        indices = np.arange(len(self))[first]
        if indices.ndim == 0:
            return self._frame(int(indices))[rest]
        frames = np.empty((len(indices), *self.shape[1:]), self.dtype)
        for position, index in enumerate(indices):
            frames[position] = self._frame(int(index))
        return frames[(slice(None), *rest)]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """Decode every frame into one array: fine for short clips; napari itself only asks for slices."""
        if copy is False:
            raise ValueError("a FrameArray cannot be viewed as an array without decoding (copying) its frames")
        frames = self[:]
        return frames if dtype is None else frames.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"FrameArray(shape={self.shape}, dtype=uint8, source={self.source!r})"

    def _frame(self, index: int) -> np.ndarray:
        try:
            return self.source.read(index)
        except FrameSourceError:
            return self.placeholder()

    def placeholder(self) -> np.ndarray:
        """The read-only frame shown in place of an unreadable one."""
        if self._placeholder is None:
            _, height, width, _ = self.shape
            frame = np.full((height, width, 3), 48, np.uint8)
            thickness = max(1, min(height, width) // 100)
            red = (220, 30, 30)
            cv2.line(frame, (0, 0), (width - 1, height - 1), red, thickness)
            cv2.line(frame, (width - 1, 0), (0, height - 1), red, thickness)
            frame.setflags(write=False)
            self._placeholder = frame
        return self._placeholder
