"""The checks' settings: whether each runs, its severity and thresholds, from ``checks.yaml`` and PROJECT/qa.yaml.

The packaged ``checks.yaml`` holds every check's defaults; a project's
``qa.yaml`` overrides only the keys it gives.  Both go through the same
validation, and a mistake names the file, the key and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ..core.errors import FormatError
from ..core.project import Project
from .findings import Severity

DEFAULTS_FILE = Path(__file__).with_name("checks.yaml")
PROJECT_CONFIG_FILE = "qa.yaml"  # in the project folder: overrides some of the defaults


@dataclass(frozen=True)
class CheckSettings:
    """One check's settings: whether it runs, the severity of its findings, its thresholds by name."""

    enabled: bool
    severity: Severity
    thresholds: Mapping[str, float]

    def __getitem__(self, key: str) -> float:
        return self.thresholds[key]


@dataclass(frozen=True)
class CheckConfig:
    """Every check's settings, by check name (read-only)."""

    checks: Mapping[str, CheckSettings]

    def __getitem__(self, name: str) -> CheckSettings:
        return self.checks[name]


def load_check_config(path: str | Path | None = None) -> CheckConfig:
    """The defaults of ``checks.yaml``, with the keys a user file (e.g. PROJECT/qa.yaml) gives replaced.

    A bad file raises FormatError naming the file, the key (``checks.track-jump.max_speed``) and the reason.
    """
    defaults = _read_yaml(DEFAULTS_FILE)
    merged = _overlay(defaults["checks"], defaults, DEFAULTS_FILE)  # checks the packaged file like a user's
    if path is not None:
        merged = _overlay(merged, _read_yaml(Path(path)), Path(path))
    return CheckConfig(MappingProxyType({name: _settings(body) for name, body in merged.items()}))


def config_for(project: Project) -> CheckConfig:
    """The project's checks config: PROJECT/qa.yaml over the defaults when the file exists, else the defaults."""
    path = project.folder / PROJECT_CONFIG_FILE
    return load_check_config(path if path.is_file() else None)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FormatError(path, f"cannot read: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise FormatError(path, f"not valid YAML: {getattr(error, 'problem', None) or error}", place) from None


def _overlay(base: dict[str, dict], data: Any, path: Path) -> dict[str, dict]:
    """``base`` (check name -> key -> value) with the values ``data`` gives, each checked against the base's."""
    if data is None:
        return base  # an empty file changes nothing
    if not isinstance(data, dict) or set(data) - {"checks"}:
        raise FormatError(path, "must be a mapping with one key, 'checks'", _first_unknown(data, {"checks"}))
    checks = data.get("checks") or {}
    if not isinstance(checks, dict):
        raise FormatError(path, "must map check names to their settings", "checks")
    merged = {name: dict(body) for name, body in base.items()}
    for name, body in checks.items():
        key = f"checks.{name}"
        if name not in base:
            raise FormatError(path, f"unknown check (known: {', '.join(sorted(base))})", key)
        if not isinstance(body, dict):
            raise FormatError(path, "must map setting names to values", key)
        for setting, value in body.items():
            if setting not in base[name]:
                raise FormatError(path, f"unknown key (allowed: {', '.join(base[name])})", f"{key}.{setting}")
            merged[name][setting] = _checked_value(setting, value, base[name][setting], path, f"{key}.{setting}")
    return merged


def _first_unknown(data: Any, known: set[str]) -> str | None:
    unknown = sorted(str(key) for key in data if key not in known) if isinstance(data, dict) else []
    return unknown[0] if unknown else None


def _checked_value(setting: str, value: Any, default: Any, path: Path, key: str) -> Any:
    if setting == "enabled":
        if not isinstance(value, bool):
            raise FormatError(path, f"must be true or false, got {value!r}", key)
    elif setting == "severity":
        if value not in tuple(severity.value for severity in Severity):
            raise FormatError(path, f"must be error, warning or info, got {value!r}", key)
    elif isinstance(default, int) and not isinstance(default, bool):  # a count of frames: whole numbers only
        if isinstance(value, bool) or not isinstance(value, int):
            raise FormatError(path, f"must be a whole number, got {value!r}", key)
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FormatError(path, f"must be a number, got {value!r}", key)
    if setting not in ("enabled", "severity") and value < 0:
        raise FormatError(path, f"must not be negative, got {value!r}", key)
    return value


def _settings(body: dict[str, Any]) -> CheckSettings:
    thresholds = {key: value for key, value in body.items() if key not in ("enabled", "severity")}
    return CheckSettings(body["enabled"], Severity(body["severity"]), MappingProxyType(thresholds))
