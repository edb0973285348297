"""The relation types a taxonomy declares: which objects a relation may join.

A taxonomy's top-level ``relations:`` key maps each type's name to the classes
it may start from and end at; the word ``lane`` stands for a lane, the space
between two adjacent lane lines (see relations.py)::

    relations:
      governs: {from: [traffic-light, traffic-sign], to: [lane], required_for: [traffic-light]}
      follows: {from: [lane], to: [lane]}

``required_for`` lists classes each object of which needs a relation of the
type on every frame it is on (the QA check ``ungoverned-light``).  Only object
classes may be joined: a frame-range class (a tag) has no object to point at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import TaxonomyError

LANE = "lane"  # a relation end that is a lane: a pair of adjacent lane-line tracks
_KEYS = {"from", "to", "required_for"}


@dataclass(frozen=True)
class RelationType:
    name: str
    sources: tuple[str, ...]  # class names, or LANE
    targets: tuple[str, ...]
    required_for: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        entry: dict[str, Any] = {"from": list(self.sources), "to": list(self.targets)}
        if self.required_for:
            entry["required_for"] = list(self.required_for)
        return entry


def parse_relation_types(data: Any, classes: Mapping[str, Any], where) -> dict[str, RelationType]:
    """The ``relations`` mapping of a taxonomy (None: no relations), checked against its ``classes`` (name ->
    ClassSpec); TaxonomyError naming the key otherwise."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TaxonomyError(where, "must be a mapping of relation type names to definitions", "relations")
    return {name: _parse_type(name, body, classes, where) for name, body in data.items()}


def _parse_type(name: Any, body: Any, classes: Mapping[str, Any], where) -> RelationType:
    key = f"relations.{name}"
    if not isinstance(name, str) or not name.strip():
        raise TaxonomyError(where, "relation type names must be non-empty text", key)
    if not isinstance(body, dict):
        raise TaxonomyError(where, "must be a mapping with 'from' and 'to'", key)
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise TaxonomyError(where, f"unknown key (allowed: {sorted(_KEYS)})", f"{key}.{unknown[0]}")
    sources, targets = (_ends(body.get(side), classes, f"{key}.{side}", where) for side in ("from", "to"))
    required = _names(body.get("required_for", []), f"{key}.required_for", where)
    for class_name in required:
        if class_name not in sources + targets:
            raise TaxonomyError(where, f"{class_name!r} is neither a 'from' nor a 'to' class of the relation",
                                f"{key}.required_for")
    return RelationType(name, sources, targets, required)


def _ends(value: Any, classes: Mapping[str, Any], key: str, where) -> tuple[str, ...]:
    names = _names(value, key, where)
    if not names:
        raise TaxonomyError(where, f"must list one or more classes (or {LANE!r})", key)
    for class_name in names:
        if class_name == LANE:
            continue
        if class_name not in classes:
            raise TaxonomyError(where, f"unknown class {class_name!r} (the taxonomy has {sorted(classes)} and "
                                       f"{LANE!r})", key)
        if classes[class_name].is_tag:
            raise TaxonomyError(where, f"{class_name!r} is a frame-range class: a relation joins objects", key)
    return names


def _names(value: Any, key: str, where) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TaxonomyError(where, f"must be a list of class names, got {value!r}", key)
    return tuple(value)
