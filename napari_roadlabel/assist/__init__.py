"""Assistants that propose labels for a person to accept: learned from the project's own labels, classical
vision, or a team's own model file.  Pure like temporal/: never imports napari or Qt."""

from .base import Assistant, AssistContext, NotEnoughLabels, Suggestion, Validation
from .registry import assistant_class, assistant_names, make_assistant

__all__ = ["AssistContext", "Assistant", "NotEnoughLabels", "Suggestion", "Validation", "assistant_class",
           "assistant_names", "make_assistant"]
