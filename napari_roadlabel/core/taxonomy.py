"""The taxonomy: which classes exist, their geometry kinds and their attributes.

Teams keep their taxonomy as a YAML or JSON file (see ``road_taxonomy.yaml``
beside this module for the default and the format).  Categories are kept
apart from annotations: an annotation names its class, the taxonomy says what
that class allows.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from .errors import AnnotationError, TaxonomyError
from .geometry import GeometryKind
from .skeletons import Skeleton, parse_skeleton

DEFAULT_TAXONOMY_FILE = Path(__file__).with_name("road_taxonomy.yaml")


class Scope(str, enum.Enum):
    TRACK = "track"  # fixed for the whole object
    FRAME = "frame"  # may change from frame to frame; holds until the next keyframe changes it


class AttributeType(str, enum.Enum):
    CHOICE = "choice"
    NUMBER = "number"
    BOOL = "bool"
    TEXT = "text"


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    scope: Scope
    type: AttributeType
    values: tuple[str, ...] = ()
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    required_if: Mapping[str, Any] = field(default_factory=dict)

    def check(self, value: Any, where: str | None = None) -> Any:
        """Return ``value`` normalised for this attribute, or raise AnnotationError."""
        if value is None:
            return None
        checker = {
            AttributeType.CHOICE: self._check_choice,
            AttributeType.NUMBER: self._check_number,
            AttributeType.BOOL: self._check_bool,
            AttributeType.TEXT: self._check_text,
        }[self.type]
        return checker(value, where)

    def _check_choice(self, value: Any, where: str | None) -> str:
        if value not in self.values:
            raise AnnotationError(where, f"attribute {self.name!r}: {value!r} is not one of {list(self.values)}")
        return value

    def _check_number(self, value: Any, where: str | None) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise AnnotationError(where, f"attribute {self.name!r}: {value!r} is not a finite number")
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise AnnotationError(where, f"attribute {self.name!r}: {value} is outside {self.minimum}..{self.maximum}")
        return value

    def _check_bool(self, value: Any, where: str | None) -> bool:
        if not isinstance(value, bool):
            raise AnnotationError(where, f"attribute {self.name!r}: {value!r} is not true or false")
        return value

    def _check_text(self, value: Any, where: str | None) -> str:
        if not isinstance(value, str):
            raise AnnotationError(where, f"attribute {self.name!r}: {value!r} is not text")
        return value


@dataclass(frozen=True)
class ClassSpec:
    name: str
    geometry: tuple[GeometryKind, ...]
    color: str
    attributes: Mapping[str, AttributeSpec]
    skeleton: Skeleton | None = None  # its named points, when the class may be labeled as a skeleton

    @property
    def is_tag(self) -> bool:
        return GeometryKind.TAG in self.geometry

    def attributes_of(self, scope: Scope) -> dict[str, AttributeSpec]:
        return {name: spec for name, spec in self.attributes.items() if spec.scope is scope}

    def defaults(self, scope: Scope) -> dict[str, Any]:
        return {name: spec.default for name, spec in self.attributes_of(scope).items() if spec.default is not None}

    def check_attributes(self, values: Mapping[str, Any], scope: Scope, where: str | None = None) -> dict[str, Any]:
        """Validate attribute values of one scope; unknown names and bad values raise AnnotationError."""
        allowed = self.attributes_of(scope)
        checked = {}
        for name, value in values.items():
            if name not in allowed:
                raise AnnotationError(
                    where, f"class {self.name!r} has no {scope.value}-level attribute {name!r} (has {sorted(allowed)})"
                )
            checked[name] = allowed[name].check(value, where)
        return checked

    def split_attributes(self, values: Mapping[str, Any], where: str | None = None) -> tuple[dict, dict]:
        """Split a flat attribute mapping into (track-level, per-frame) parts, checking each."""
        unknown = set(values) - set(self.attributes)
        if unknown:
            raise AnnotationError(where, f"class {self.name!r} has no attribute {sorted(unknown)[0]!r}")
        track = {k: v for k, v in values.items() if self.attributes[k].scope is Scope.TRACK}
        frame = {k: v for k, v in values.items() if self.attributes[k].scope is Scope.FRAME}
        return self.check_attributes(track, Scope.TRACK, where), self.check_attributes(frame, Scope.FRAME, where)

    def missing_required(self, values: Mapping[str, Any]) -> list[str]:
        """Names of attributes that ``values`` must have (by ``required_if``) but lacks."""
        return [
            name
            for name, spec in self.attributes.items()
            if spec.required_if
            and values.get(name) is None
            and all(values.get(key) == wanted for key, wanted in spec.required_if.items())
        ]


@dataclass(frozen=True)
class Taxonomy:
    name: str
    classes: Mapping[str, ClassSpec]
    version: int = 1

    def __getitem__(self, class_name: str) -> ClassSpec:
        try:
            return self.classes[class_name]
        except KeyError:
            raise AnnotationError(
                None, f"unknown class {class_name!r}; the taxonomy {self.name!r} has {sorted(self.classes)}"
            ) from None

    def __contains__(self, class_name: str) -> bool:
        return class_name in self.classes

    def __iter__(self):
        return iter(self.classes.values())

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "classes": {c.name: _class_to_dict(c) for c in self}}

    def describe(self) -> list[str]:
        """One line per class: name, geometry kinds, attributes with scope and values."""
        return [_describe_class(spec) for spec in self]


def _describe_class(spec: ClassSpec) -> str:
    kinds = "/".join(kind.value for kind in spec.geometry)
    attributes = []
    for attr in spec.attributes.values():
        detail = "|".join(attr.values) if attr.values else attr.type.value
        attributes.append(f"{attr.name}[{attr.scope.value}]={detail}")
    return f"{spec.name:<20} {kinds:<32} {' '.join(attributes)}".rstrip()


def _class_to_dict(spec: ClassSpec) -> dict:
    attributes = {}
    for attr in spec.attributes.values():
        entry: dict[str, Any] = {"scope": attr.scope.value, "type": attr.type.value}
        if attr.values:
            entry["values"] = list(attr.values)
        for key, value in (("default", attr.default), ("min", attr.minimum), ("max", attr.maximum)):
            if value is not None:
                entry[key] = value
        if attr.required_if:
            entry["required_if"] = dict(attr.required_if)
        attributes[attr.name] = entry
    body = {"geometry": [kind.value for kind in spec.geometry], "color": spec.color, "attributes": attributes}
    if spec.skeleton is not None:
        body["skeleton"] = spec.skeleton.to_dict()
    return body


# ---------------------------------------------------------------- loading


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read a taxonomy from a YAML or JSON file; errors name the file, the key and the reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TaxonomyError(path, f"cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise TaxonomyError(path, f"not a text file: byte {error.object[error.start]:#04x} at position "
                                  f"{error.start} is not UTF-8") from None
    data = _parse(text, path)
    return taxonomy_from_dict(data, where=path)


def default_taxonomy() -> Taxonomy:
    return load_taxonomy(DEFAULT_TAXONOMY_FILE)


def _parse(text: str, path: Path) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text, object_pairs_hook=partial(_unique_keys, path))
        except json.JSONDecodeError as error:
            raise TaxonomyError(path, error.msg, place=f"line {error.lineno}, column {error.colno}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no Python objects
    except yaml.reader.ReaderError as error:
        raise TaxonomyError(path, f"not a text file: character U+{error.character:04X} at position {error.position} "
                                  "is not allowed in YAML") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise TaxonomyError(path, f"not valid YAML: {getattr(error, 'problem', None) or error}", place) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load``, except that a key given twice in one mapping is an error (PyYAML keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may be overridden on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _unique_keys(path: Path, pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object as a dict, refusing a key given twice (the json module keeps the last one)."""
    mapping = {}
    for key, value in pairs:
        if key in mapping:
            raise TaxonomyError(path, f"duplicate key {key!r}")
        mapping[key] = value
    return mapping


def taxonomy_from_dict(data: Any, where: str | Path | None = None) -> Taxonomy:
    """Build a Taxonomy from parsed YAML/JSON, raising TaxonomyError(where, reason, key path)."""
    if not isinstance(data, dict):
        raise TaxonomyError(where, "the taxonomy must be a mapping with 'name' and 'classes'")
    classes = data.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise TaxonomyError(where, "must be a non-empty mapping of class names to definitions", "classes")
    parsed = {name: _parse_class(name, body, where) for name, body in classes.items()}
    version = data.get("version", 1)
    if not isinstance(version, int):
        raise TaxonomyError(where, f"must be an integer, got {version!r}", "version")
    return Taxonomy(name=str(data.get("name", "unnamed")), classes=parsed, version=version)


def _parse_class(name: Any, body: Any, where) -> ClassSpec:
    key = f"classes.{name}"
    if not isinstance(name, str) or not name.strip():
        raise TaxonomyError(where, "class names must be non-empty text", key)
    if not isinstance(body, dict):
        raise TaxonomyError(where, "must be a mapping with 'geometry' and optional 'attributes'", key)
    _reject_unknown_keys(body, {"geometry", "color", "attributes", "skeleton"}, key, where)
    kinds = body.get("geometry")
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, list) or not kinds:
        raise TaxonomyError(where, "must list one or more geometry kinds", f"{key}.geometry")
    geometry = tuple(_parse_kind(kind, f"{key}.geometry", where) for kind in kinds)
    skeleton = parse_skeleton(body["skeleton"], f"{key}.skeleton", where) if "skeleton" in body else None
    if GeometryKind.SKELETON in geometry and skeleton is None:
        raise TaxonomyError(where, "a skeleton class needs a 'skeleton:' with its points", f"{key}.geometry")
    if skeleton is not None and GeometryKind.SKELETON not in geometry:
        geometry += (GeometryKind.SKELETON,)  # declaring a skeleton is what lets a class use one
    if GeometryKind.TAG in geometry and len(geometry) > 1:
        raise TaxonomyError(where, "a frame-range class cannot have other geometry kinds", f"{key}.geometry")
    attributes = body.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise TaxonomyError(where, "must be a mapping of attribute names to definitions", f"{key}.attributes")
    specs = {attr: _parse_attribute(attr, spec, f"{key}.attributes.{attr}", where) for attr, spec in attributes.items()}
    _check_required_if(specs, f"{key}.attributes", where)
    return ClassSpec(name=name, geometry=geometry, color=_parse_color(body.get("color", "#c0c0c0"), key, where),
                     attributes=specs, skeleton=skeleton)


def _parse_kind(kind: Any, key: str, where) -> GeometryKind:
    try:
        return GeometryKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in GeometryKind)
        raise TaxonomyError(where, f"unknown geometry kind {kind!r} (known: {known})", key) from None


def _parse_color(color: Any, key: str, where) -> str:
    if not (isinstance(color, str) and len(color) == 7 and color.startswith("#")):
        raise TaxonomyError(where, f"must be a colour like '#ff8000', got {color!r}", f"{key}.color")
    try:
        int(color[1:], 16)
    except ValueError:
        raise TaxonomyError(where, f"must be a colour like '#ff8000', got {color!r}", f"{key}.color") from None
    return color


def _reject_unknown_keys(body: dict, known: set[str], key: str, where) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise TaxonomyError(where, f"unknown key (allowed: {sorted(known)})", f"{key}.{unknown[0]}")


def _parse_attribute(name: Any, body: Any, key: str, where) -> AttributeSpec:
    if not isinstance(body, dict):
        raise TaxonomyError(where, "must be a mapping with 'scope' and 'type'", key)
    _reject_unknown_keys(body, {"scope", "type", "values", "default", "min", "max", "required_if"}, key, where)
    scope = _parse_enum(Scope, body.get("scope", "track"), f"{key}.scope", where)
    kind = _parse_enum(AttributeType, body.get("type"), f"{key}.type", where)
    values = body.get("values", [])
    if kind is AttributeType.CHOICE and (
        not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values)
    ):
        raise TaxonomyError(where, "a choice attribute needs a non-empty list of text values", f"{key}.values")
    spec = AttributeSpec(
        name=name, scope=scope, type=kind, values=tuple(values) if kind is AttributeType.CHOICE else (),
        minimum=_optional_number(body, "min", key, where), maximum=_optional_number(body, "max", key, where),
        required_if=body.get("required_if") or {},
    )
    default = body.get("default")
    try:
        spec.check(default)
    except AnnotationError as error:
        raise TaxonomyError(where, error.reason, f"{key}.default") from None
    return AttributeSpec(**{**spec.__dict__, "default": default})


def _parse_enum(enum_type, value: Any, key: str, where):
    try:
        return enum_type(value)
    except ValueError:
        raise TaxonomyError(where, f"{value!r} is not one of {[e.value for e in enum_type]}", key) from None


def _optional_number(body: dict, name: str, key: str, where) -> float | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise TaxonomyError(where, f"must be a number, got {value!r}", f"{key}.{name}")
    return value


def _check_required_if(specs: dict[str, AttributeSpec], key: str, where) -> None:
    for spec in specs.values():
        if not isinstance(spec.required_if, dict):
            raise TaxonomyError(where, "must map attribute names to values", f"{key}.{spec.name}.required_if")
        for other in spec.required_if:
            if other not in specs:
                raise TaxonomyError(where, f"names unknown attribute {other!r}", f"{key}.{spec.name}.required_if")
