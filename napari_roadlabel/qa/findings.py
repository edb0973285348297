"""What an automatic check reports: a finding, with its severity and where to look."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Severity(str, enum.Enum):
    ERROR = "error"  # blocks sign-off and `roadlabel qa`
    WARNING = "warning"  # worth a look; does not block
    INFO = "info"

    def __str__(self) -> str:
        return self.value


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    check: str  # the check's name in the checks config, e.g. "crossing-lanes"
    severity: Severity
    message: str  # one line a reviewer can act on, e.g. "lanes 3 and 5 cross at (412, 300)"
    frame: int | None  # where to jump; None when the finding is about no single frame
    track_ids: tuple[int, ...] = ()  # the objects (or frame-range tags) concerned, to select on jumping
    region: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in image pixels on ``frame``

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        return (-1 if self.frame is None else self.frame, SEVERITY_ORDER[self.severity], self.check, self.track_ids)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity.value, "message": self.message, "frame": self.frame,
                "track_ids": list(self.track_ids), "region": None if self.region is None else list(self.region)}
