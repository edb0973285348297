"""What every assistant is: a name, what it proposes, and three calls (``train``, ``suggest``, ``settings``).

An assistant never writes to the project.  It reads the project's labels (to learn from them) and the frames,
and returns ``Suggestion`` records; ``assist.run`` filters them (what a person set, what was rejected, the
minimum confidence) and writes them as one undo step.  Like ``temporal/``, this package never imports napari
or Qt, so the command line, the panel and a cluster worker run the same code.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..core.errors import RoadlabelError
from ..core.project import Project
from ..core.suggestions import ATTRIBUTES, GEOMETRY, TAGS, Suggestion

Progress = Callable[[int], None]  # called with the units of work just done (frames)
Cancelled = Callable[[], bool]

__all__ = ["ATTRIBUTES", "GEOMETRY", "TAGS", "AssistCancelled", "AssistContext", "Assistant", "NotEnoughLabels",
           "Suggestion", "Validation"]


class NotEnoughLabels(RoadlabelError):
    """The project has too few labels to train on; the message says how many more are needed."""

    def __init__(self, assistant: str, what: str, have: int, need: int):
        super().__init__(assistant, f"{have} {what} labeled, {need} needed to train: label {need - have} more")
        self.have, self.need = have, need


class AssistCancelled(RoadlabelError):
    def __init__(self, assistant: str):
        super().__init__(assistant, "cancelled")


@dataclass(frozen=True)
class Validation:
    """How well the assistant did on labels it did not train on, measured before anything is suggested."""

    labels: int  # labels the assistant learned from (0 when it works without training)
    accuracy: float | None = None  # on held-out labels; None when there was nothing to hold out
    method: str = ""  # how it was measured, for people: "5 held-out blocks of time", "no training"
    details: Mapping[str, Any] = field(default_factory=dict)  # confusion matrix and the like, JSON-ready

    def describe(self) -> str:
        trained = f"learned from {self.labels:,} labels" if self.labels else "no training"
        if self.accuracy is None:
            return f"{trained}; accuracy not measured" + (f" ({self.method})" if self.method else "")
        return f"{trained}; validated accuracy {self.accuracy:.1%}" + (f" ({self.method})" if self.method else "")


@dataclass
class AssistContext:
    """What an assistant works with: the project, its frames, the frames to suggest on, and a user's model."""

    project: Project
    frames: Any  # a FrameSource (or any sequence of HxWx3 uint8 RGB frames with len())
    frame_range: range
    model_file: Path | None = None
    progress: Progress | None = None
    cancelled: Cancelled | None = None

    def step(self, units: int = 1) -> None:
        """Report progress, and stop with AssistCancelled when the user asked to."""
        if self.cancelled is not None and self.cancelled():
            raise AssistCancelled("assistant")
        if self.progress is not None:
            self.progress(units)


class Assistant(ABC):
    """An assistant: subclass it, give it a ``name``, and register it (``registry.register``) or publish it under
    the entry point group ``roadlabel.assistants``."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line for `roadlabel assistants` and the panel
    produces: ClassVar[str]  # ATTRIBUTES, GEOMETRY or TAGS
    learns: ClassVar[bool] = False  # True when it trains on the project's labels
    needs_model_file: ClassVar[bool] = False

    def settings(self) -> Mapping[str, Any]:
        """The options that change what it proposes (JSON-ready): part of its version."""
        return {}

    def train(self, context: AssistContext) -> Validation:
        """Learn from the project's labels and validate on held-out ones; NotEnoughLabels when there are too
        few.  An assistant that does not learn returns ``Validation(0, method="no training")``."""
        return Validation(0, method="no training")

    def training_labels(self, context: AssistContext) -> Any:
        """What it learned from, JSON-ready (e.g. [(track, frame, state), ...]): part of its version, so the
        version changes when the labels do."""
        return None

    @abstractmethod
    def suggest(self, context: AssistContext) -> Iterable[Suggestion]:
        """Proposals on ``context.frame_range`` (call ``context.step()`` once per frame)."""

    def version(self, context: AssistContext) -> str:
        """Eight hex digits that change when the settings or the training labels change."""
        text = json.dumps([self.settings(), self.training_labels(context)], sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:8]
