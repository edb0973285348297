"""What a job remembers for merging, in ``merge-record.json`` beside its job.json.

- ``base``: the track-level attributes of its tracks and tags when it was split (id -> attributes), so that a
  merge tells a value the job changed from one it kept, whatever merges did to the parent since; and {} for
  each relation it was given, so that a merge tells a relation the job deleted from one it never had;
- ``ids``: the parent id each track or tag the job made became at a merge, so the next merge updates it
  instead of adding it again;
- ``fingerprints``: the parent's slice of the job's frames after each merge of it (see ``split.slice_fingerprint``),
  so a parent changed only by merging this job is not taken for a newer state of the sequence.

Each write replaces the file whole.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core import ProjectError

RECORD_FILE = "merge-record.json"


def empty_record() -> dict:
    return {"base": {}, "ids": {}, "fingerprints": []}


def read_record(folder: str | Path) -> dict:
    """The job's record (an empty one when it has none)."""
    path = Path(folder) / RECORD_FILE
    if not path.is_file():
        return empty_record()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"base": {int(key): dict(value) for key, value in data["base"].items()},
                "ids": {int(key): int(value) for key, value in data["ids"].items()},
                "fingerprints": [str(item) for item in data["fingerprints"]]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ProjectError(path, f"cannot be read: {error}") from None


def write_record(folder: str | Path, record: dict) -> None:
    path = Path(folder) / RECORD_FILE
    data = {"base": {str(key): value for key, value in sorted(record["base"].items())},
            "ids": {str(key): value for key, value in sorted(record["ids"].items())},
            "fingerprints": record["fingerprints"]}
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)
