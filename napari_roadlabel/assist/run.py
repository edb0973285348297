"""Run an assistant on a project: train it, collect its suggestions, write them.

Two parts, so the panel can run the first in a worker thread: ``compute_suggestions`` trains the assistant and
collects its proposals (it reads the project, writes nothing); ``AssistRun.write`` writes them as one undo step
by the rules of ``core.suggestion_writing`` (nothing a person made, set or accepted is ever touched).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import RoadlabelError
from ..core.project import Project
from ..core.suggestion_writing import Written, write_suggestions
from ..core.suggestions import assistant_of
from .base import Assistant, AssistContext, Cancelled, Progress, Suggestion, Validation
from .registry import make_assistant


@dataclass
class AssistRun:
    """What an assistant proposed on a project, not yet written."""

    model: str  # "name@version"
    validation: Validation
    suggestions: list[Suggestion]
    frame_range: range
    min_confidence: float = 0.0

    @property
    def assistant(self) -> str:
        return assistant_of(self.model)

    def write(self, project: Project) -> Written:
        return write_suggestions(project, self.model, self.suggestions, frames=self.frame_range,
                                 min_confidence=self.min_confidence)


def compute_suggestions(project: Project, assistant: str | Assistant, frames, *, frame_range: range | None = None,
                        model_file: str | Path | None = None, min_confidence: float = 0.0,
                        progress: Progress | None = None, cancelled: Cancelled | None = None,
                        **options) -> AssistRun:
    """Train the assistant (a registered name, or one made already) where it learns, and collect its
    suggestions on ``frame_range`` (the whole sequence by default).  Writes nothing; NotEnoughLabels, a bad
    model file and the like raise first."""
    if not 0.0 <= min_confidence <= 1.0:
        raise RoadlabelError("--min-confidence", f"must be between 0 and 1, got {min_confidence}")
    if isinstance(assistant, str):
        assistant = make_assistant(assistant, **options)
    if assistant.needs_model_file and model_file is None:
        raise RoadlabelError(assistant.name, "this assistant runs a model file: give one with --model FILE")
    frame_range = frame_range if frame_range is not None else range(project.sequence.frame_count)
    context = AssistContext(project, frames, frame_range, Path(model_file) if model_file else None, progress,
                            cancelled)
    validation = assistant.train(context)
    model = f"{assistant.name}@{assistant.version(context)}"
    suggestions = list(assistant.suggest(context))
    return AssistRun(model, validation, suggestions, frame_range, min_confidence)


def suggest(project: Project, assistant: str | Assistant, frames, **options) -> tuple[AssistRun, Written]:
    """Compute and write in one call (the command line's path)."""
    run = compute_suggestions(project, assistant, frames, **options)
    return run, run.write(project)
