"""Dataset splits by sequence: frames of one drive never land in both train and test.

``split_dataset`` shuffles the projects (one sequence each) with a fixed seed,
deals them into train / val / test by the ratios, exports each with the chosen
format into ``OUT/<split>/``, and writes ``OUT/splits.json`` (which sequence
went where, the seed and ratios) and ``OUT/statistics.json`` (per split: frames,
objects per class, attribute values per class).  ``OUT`` is built beside itself
and renamed into place, so a failed run leaves nothing.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..core import FormatError, Project, RoadlabelError
from .atomic import atomic_folder, check_spared
from .formats.registry import SUFFIXES

SPLITS = ("train", "val", "test")

Exporter = Callable[..., object]  # export_<format>(project, out, *, overwrite=...)


def parse_ratios(text: str) -> tuple[float, float, float]:
    """'0.8,0.1,0.1' -> (0.8, 0.1, 0.1): three non-negative numbers adding up to 1."""
    try:
        ratios = tuple(float(part) for part in text.split(","))
    except ValueError as error:
        raise FormatError(None, f"ratios must be three numbers like 0.8,0.1,0.1, got {text!r}") from error
    if len(ratios) != 3 or min(ratios) < 0 or not np.isclose(sum(ratios), 1.0):
        raise FormatError(None, f"ratios must be three non-negative numbers adding up to 1, got {text!r}")
    return ratios


def assign_splits(names: Sequence[str], ratios: Sequence[float], seed: int) -> dict[str, list[str]]:
    """Each sequence name's split: sorted, shuffled with ``seed``, dealt by the ratios (largest remainders)."""
    order = sorted(names)
    np.random.default_rng(seed).shuffle(order)
    wanted = np.asarray(ratios, dtype=float) * len(order)
    counts = np.floor(wanted).astype(int)
    for index in np.argsort(-(wanted - counts), kind="stable")[: len(order) - counts.sum()]:
        counts[index] += 1
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return {split: order[bounds[i]:bounds[i + 1]] for i, split in enumerate(SPLITS)}


def statistics(project: Project) -> dict:
    """Frames, objects per class, and how often each attribute value occurs per class."""
    objects: Counter = Counter()
    values: defaultdict = defaultdict(lambda: defaultdict(Counter))
    for obj in project.store.iter_objects():
        objects[obj.track.class_name] += 1
        for name, value in obj.attributes.items():
            values[obj.track.class_name][name][str(value)] += 1
    attributes = {cls: {name: dict(counts) for name, counts in names.items()} for cls, names in values.items()}
    return {"frames": project.sequence.frame_count, "objects": dict(objects), "attributes": attributes}


def split_dataset(projects: Sequence[Path], out: Path, *, ratios: Sequence[float], seed: int, fmt: str,
                  export: Exporter, overwrite: bool = False) -> dict:
    """Split, export and describe; returns the contents of splits.json with the statistics."""
    names = _sequence_names(projects)
    check_spared(out, projects)
    assignment = assign_splits(list(names), ratios, seed)
    summary = {"seed": seed, "ratios": list(ratios), "format": fmt,
               "splits": {split: assignment[split] for split in SPLITS}}
    with atomic_folder(out, overwrite=overwrite) as staging:
        stats = {split: _export_split(assignment[split], names, staging / split, fmt, export) for split in SPLITS}
        (staging / "splits.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (staging / "statistics.json").write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return {**summary, "statistics": stats}


def _sequence_names(projects: Sequence[Path]) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for project in projects:
        name = Path(project).resolve().name
        if name in names:
            raise RoadlabelError(project, f"two projects are named {name!r}; each sequence needs its own name")
        names[name] = Path(project)
    if not names:
        raise RoadlabelError(None, "no projects to split")
    return names


def _export_split(members: list[str], names: dict[str, Path], folder: Path, fmt: str, export: Exporter) -> dict:
    folder.mkdir(parents=True)
    totals = {"sequences": len(members), "frames": 0, "objects": Counter(),
              "attributes": defaultdict(lambda: defaultdict(Counter))}
    for name in members:
        with Project.open(names[name]) as project:
            export(project, folder / f"{name}{SUFFIXES.get(fmt, '')}")
            _add(totals, statistics(project))
    return {"sequences": totals["sequences"], "frames": totals["frames"], "objects": dict(totals["objects"]),
            "attributes": {cls: {attr: dict(counts) for attr, counts in attrs.items()}
                           for cls, attrs in totals["attributes"].items()}}


def _add(totals: dict, stats: dict) -> None:
    totals["frames"] += stats["frames"]
    totals["objects"].update(stats["objects"])
    for class_name, attributes in stats["attributes"].items():
        for name, counts in attributes.items():
            totals["attributes"][class_name][name].update(counts)
