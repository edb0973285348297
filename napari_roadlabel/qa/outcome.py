"""The last QA outcome of a project: what `roadlabel qa` found when it last ran, kept beside the project.

QA opens a project read-only, so its outcome goes to a small file in the
project folder, ``PROJECT/qa-last.json``, never into the store.  Each run
replaces the file whole (written beside it and renamed: a crash leaves the old
outcome or the new one).  The dataset status (teams/status.py) reads it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core.errors import ProjectError
from ..io.atomic import atomic_write

OUTCOME_FILE = "qa-last.json"
OUTCOME_MARK = "napari-roadlabel QA outcome"


@dataclass(frozen=True)
class QAOutcome:
    time: str  # UTC, ISO 8601
    by: str  # who ran it
    errors: int  # blocking findings
    warnings: int
    notes: int
    blocked: bool  # the run exited "blocked" (blocking findings, or not signed off with --require-sign-off)
    signed_off: bool

    def to_dict(self) -> dict:
        return asdict(self)


def record_outcome(project_folder: str | Path, outcome: QAOutcome) -> Path:
    """Replace the project's last QA outcome; returns the file."""
    path = Path(project_folder) / OUTCOME_FILE
    with atomic_write(path) as handle:
        handle.write(json.dumps({"format": OUTCOME_MARK, **outcome.to_dict()}, indent=1) + "\n")
    return path


def last_outcome(project_folder: str | Path) -> QAOutcome | None:
    """The project's last QA outcome, None when QA never ran there; a broken file raises ProjectError."""
    path = Path(project_folder) / OUTCOME_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProjectError(path, f"cannot be read: {error}") from None
    if not isinstance(data, dict) or data.get("format") != OUTCOME_MARK:
        raise ProjectError(path, f"is not a {OUTCOME_MARK} file")
    kinds = {"time": str, "by": str, "errors": int, "warnings": int, "notes": int, "blocked": bool,
             "signed_off": bool}
    for key, kind in kinds.items():
        if not isinstance(data.get(key), kind) or (kind is int and isinstance(data[key], bool)):
            raise ProjectError(path, f"must be {kind.__name__}, not {data.get(key)!r}", key)
    return QAOutcome(**{key: data[key] for key in kinds})
