"""Reading and writing the JSON formats: errors that name the file and place, files that appear whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...core import FormatError
from ..atomic import atomic_write
from .report import MappingReport


def load_json(path: str | Path) -> Any:
    """The parsed file; a FormatError naming the file (and line and column) when it cannot be read."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as error:
        raise FormatError(path, f"cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise FormatError(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise FormatError(path, f"malformed JSON: {error.msg}", f"line {error.lineno}, column {error.colno}") from None


def write_export(path: str | Path, document: Any, report: MappingReport, *, overwrite: bool) -> MappingReport:
    """Write an export's JSON document whole, then its mapping report beside it."""
    text = json.dumps(document)  # one C-encoded string: json.dump to a file encodes in Python, several times slower
    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(text + "\n")
    report.write_beside(Path(path), overwrite=overwrite)
    return report
