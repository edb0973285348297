"""What the prediction formats (Label Studio, COCO results) share: labels to classes, the model's name, writing.

A model's predictions are imported as *suggestions*, never as labels: each format reads its file into core
``Suggestion`` records, checking the whole file first, and ``write_predictions`` hands them to
``core.suggestion_writing.write_suggestions`` (the one way suggestions are written: nothing a person made, set or
rejected is touched, and a rerun replaces the same model's earlier pending suggestions).

**Labels to classes.**  A label names a class of the taxonomy, compared without case and with ``-``, ``_`` and
space the same (``Traffic Light`` is ``traffic-light``); ``class.attribute=value`` also gives an attribute
(``traffic-light.state=red``, ``scene.weather=rain``).  A whole-image choice or a timeline label becomes a
frame-range tag when its label names a frame-range class, or when the control's name (``from_name``) names one
(``scene``, or ``scene.weather``) and the label is a value of its attribute.  A label that maps to nothing is
counted and left out (refused with ``--strict``).

**The model's name** (``name@version``, kept on every suggestion): a Label Studio ``model_version`` of the form
``name@version`` is kept as it is; any other ``model_version``, or the file's stem when there is none, is the
name, and the version is a short hash of the file's content.  So importing the same file again replaces its
pending suggestions, and what a person rejected from it stays out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...core import Project, RoadlabelError, Source
from ...core.suggestion_writing import Written, write_suggestions
from ...core.suggestions import Suggestion
from ...core.taxonomy import AttributeType, ClassSpec, Taxonomy
from .import_report import ImportReport

UNKNOWN_SCORE = 0.5  # the confidence of a prediction without a score: below DISPUTE_AT, so it disputes nothing
NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class PredictionReport(ImportReport):
    """An import's report, with what was written as suggestions and under which model names."""

    written: dict[str, Written] = field(default_factory=dict)  # model -> what write_suggestions did

    @property
    def total(self) -> int:
        return sum(item.states + item.attributes + item.tags + item.disputed for item in self.written.values())

    def _what_was_imported(self) -> str:
        if not self.written:
            return "imported no predictions"
        return "; ".join(f"model {model}: {written.describe()}" for model, written in self.written.items())

    def as_dict(self) -> dict:
        return {**super().as_dict(), "suggestions": {model: asdict(item) for model, item in self.written.items()}}


def check_suggested(source: Source) -> None:
    """Predictions are always suggestions: ``--as`` another source is refused."""
    if source is not Source.SUGGESTED:
        raise RoadlabelError("--as", f"predictions are imported as suggestions, not as {source.value}")


def model_name(path: Path, digest: str, model_version: Any = None) -> str:
    """``name@version`` as the module's docstring says; ``digest`` is ``file_digest(path)``."""
    given = str(model_version) if model_version not in (None, "") else ""
    name, at, version = given.rpartition("@") if "@" in given else (given, "", "")
    return f"{_clean(name) or _clean(path.stem) or 'predictions'}@{(_clean(version) if at else '') or digest}"


def file_digest(path: Path) -> str:
    """A short hash of the file's content: the version of a model that gives none."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def _clean(text: str) -> str:
    return NAME_CHARACTERS.sub("-", text).strip("-.")[:60]


def _key(name: str) -> str:
    return re.sub(r"[-_ ]+", "-", name.strip().lower())


class LabelMap:
    """Labels of a model's file to the taxonomy's classes and attributes (the rules in the module's docstring)."""

    def __init__(self, taxonomy: Taxonomy):
        self.classes = {_key(spec.name): spec for spec in taxonomy}

    def object_class(self, label: str) -> tuple[ClassSpec, dict] | None:
        """(class, attributes) of an object's label, or None when it names no class with geometry."""
        found = self._named(label)
        return found if found is not None and not found[0].is_tag else None

    def tag_class(self, label: str, control: str = "") -> tuple[ClassSpec, dict] | None:
        """(frame-range class, attributes) of a choice or timeline label from the control ``control``, or None."""
        found = self._named(label)
        if found is None:
            found = self._value_of_control(label, control)
        return found if found is not None and found[0].is_tag else None

    def _named(self, label: str) -> tuple[ClassSpec, dict] | None:
        name, equals, value = label.partition("=")
        class_name, dot, attribute = name.partition(".")
        spec = self.classes.get(_key(class_name))
        if spec is None or bool(equals) != bool(dot):
            return None
        if not equals:
            return spec, {}
        return self._with_value(spec, _key(attribute), value.strip())

    def _value_of_control(self, label: str, control: str) -> tuple[ClassSpec, dict] | None:
        class_name, _, attribute = control.partition(".")
        spec = self.classes.get(_key(class_name))
        if spec is None:
            return None
        if attribute:
            return self._with_value(spec, _key(attribute), label)
        holders = [name for name, item in spec.attributes.items() if item.type is AttributeType.CHOICE
                   and _choice(item.values, label) is not None]
        return self._with_value(spec, _key(holders[0]), label) if len(holders) == 1 else None

    @staticmethod
    def _with_value(spec: ClassSpec, attribute: str, value: str) -> tuple[ClassSpec, dict] | None:
        names = {_key(name): name for name in spec.attributes}
        if attribute not in names:
            return None
        item = spec.attributes[names[attribute]]
        if item.type is AttributeType.CHOICE:
            chosen = _choice(item.values, value)
            return None if chosen is None else (spec, {item.name: chosen})
        try:
            return spec, {item.name: item.check(value)}
        except RoadlabelError:
            return None


def _choice(values: tuple[str, ...], label: str) -> str | None:
    return next((value for value in values if _key(value) == _key(label)), None)


def write_predictions(project: Project, report: PredictionReport, by_model: Mapping[str, list[Suggestion]]) -> \
        PredictionReport:
    """Write each model's suggestions, all in one undo step (nothing kept when one fails), and the report."""
    with project.group(f"import predictions {Path(report.source).name}"):
        for model, suggestions in by_model.items():
            report.written[model] = write_suggestions(project, model, suggestions)
    report.write_into(project)
    return report
