"""Reading and writing the JSON formats: errors that name the file and place, files that appear whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...core import FormatError
from .report import MappingReport, export_file


def load_json(path: str | Path) -> Any:
    """The parsed file; a FormatError naming the file (and line and column) when it cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise FormatError(path, f"cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse_json(text, path)


def parse_json(text: str, path: str | Path, place: str | None = None) -> Any:
    """``text`` parsed (a line of a file at ``place``, or the whole file); FormatError when it is not JSON or is
    nested too deeply for the parser (hundreds of thousands of brackets: a hostile file, not a label file)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}" if place is None else f"{place}, column {error.colno}"
        raise FormatError(path, f"malformed JSON: {error.msg}", where) from None
    except RecursionError:
        raise FormatError(path, "JSON nested too deeply to be a label file", place) from None


def is_whole(value: Any) -> bool:
    """A JSON whole number: an int, and not a boolean (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_confidence(value: Any) -> bool:
    """A JSON number from 0 to 1 (not a boolean)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value <= 1


def checked_score(score: Any, path: str | Path, place: str, *, missing: float | None = None,
                  required: bool = False) -> float | None:
    """A JSON score from 0 to 1 as a float; ``missing`` when there is none, unless one is ``required``."""
    if score is None and not required:
        return missing
    if not is_confidence(score):
        raise FormatError(path, f"score must be a number from 0 to 1, got {score!r}", place)
    return float(score)


def finite_numbers(values: Any, path: str | Path, place: str, what: str) -> np.ndarray:
    """A JSON list of finite numbers (no strings, booleans or NaN) as a float array; FormatError naming ``what``
    ("bbox", "h_samples") otherwise."""
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                               for v in values):
        raise FormatError(path, f"{what} must be a list of numbers, got {repr(values)[:60]}", place)
    array = np.asarray(values, dtype=float)
    if not np.isfinite(array).all():
        raise FormatError(path, f"{what} must be finite numbers, got {repr(values)[:60]}", place)
    return array


class JSONArray:
    """A long JSON array held as text, encoded a batch of items at a time.

    An export builds its items a frame (or a few) at a time and encodes them at once, so that its dicts and lists
    are freed while still young.  Kept until the end, hundreds of thousands of them outlive the garbage collector's
    young generations, and each full collection walks them all again (with the project's undo history): that was
    most of a long export's time.  For the same reason exports read ``objects_on`` frame by frame rather than
    ``objects_by_frame``'s 500-frame chunks, whose objects live long enough to set off full collections (the
    queries cost about the same either way).
    """

    def __init__(self) -> None:
        self._parts: list[str] = []  # each the items of one batch, without the brackets

    def extend(self, items: list) -> None:
        if items:
            self._parts.append(json.dumps(items)[1:-1])  # one C-encoded call per batch, not per item

    def pieces(self) -> Iterator[str]:
        """The array's text, as ``json.dumps`` writes the same items in one list."""
        yield "["
        for index, part in enumerate(self._parts):
            yield ", " + part if index else part
        yield "]"


def write_export(path: str | Path, document: Any, report: MappingReport, *, overwrite: bool) -> MappingReport:
    """Write an export's JSON document whole (a JSONArray, or a dict holding some, in their place), and its
    mapping report beside it, together."""
    pieces = list(_pieces(document))  # encoded before the file is opened: an error leaves no file behind
    with export_file(path, report, overwrite=overwrite) as handle:
        handle.writelines(pieces)
        handle.write("\n")
    return report


def _pieces(document: Any) -> Iterator[str]:
    """``json.dumps(document)`` in pieces; a JSONArray, alone or as a value of the top-level dict, is its text."""
    if isinstance(document, JSONArray):
        yield from document.pieces()
    elif isinstance(document, dict) and any(isinstance(value, JSONArray) for value in document.values()):
        for index, (key, value) in enumerate(document.items()):
            yield ("{" if index == 0 else ", ") + json.dumps(key) + ": "
            yield from _pieces(value)
        yield "}"
    else:
        # one C-encoded string: json.dump to a file encodes in Python, several times slower
        yield json.dumps(document)
