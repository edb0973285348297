"""Colours that carry meaning beyond an object's class, shared by the viewer and the QA report."""

from __future__ import annotations

LIGHT_COLORS = {"red": "#ff3030", "yellow": "#ffd000", "green": "#30ff60", "red-yellow": "#ff8000",
                "off": "#606060", "unknown": "#b0b0b0"}  # a traffic light's colour for each of its states
