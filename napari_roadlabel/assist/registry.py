"""The assistants, by name: the built-in ones and those other packages publish under the entry point group
``roadlabel.assistants`` (a class with the ``Assistant`` interface).  The command line and the panel both
list and make assistants here."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from ..core.errors import RoadlabelError
from .base import Assistant

ENTRY_POINT_GROUP = "roadlabel.assistants"
BUILT_IN = {  # name -> "module:class", imported only when used (each pulls its own libraries)
    "light-state": "napari_roadlabel.assist.light_state:LightStateAssistant",
    "frame-tags": "napari_roadlabel.assist.frame_tags:FrameTagAssistant",
    "lanes": "napari_roadlabel.assist.lane_proposals:LaneProposer",
    "boxes": "napari_roadlabel.assist.boxes:BoxProposer",
    "road-paint": "napari_roadlabel.assist.road_paint:RoadPaintProposer",
    "mask-carry": "napari_roadlabel.assist.masks:MaskCarrier",
    "onnx": "napari_roadlabel.assist.onnx_model:OnnxAssistant",
}


def assistant_names() -> list[str]:
    """Every assistant's name: the built-in ones first, then the plug-ins'."""
    return list(BUILT_IN) + sorted(name for name in _plugins() if name not in BUILT_IN)


def assistant_class(name: str) -> type[Assistant]:
    """The class of the assistant called ``name``; RoadlabelError naming the known ones otherwise."""
    if name in BUILT_IN:
        module, _, attribute = BUILT_IN[name].partition(":")
        return getattr(importlib.import_module(module), attribute)
    plugins = _plugins()
    if name not in plugins:
        raise RoadlabelError(name, f"no such assistant (known: {', '.join(assistant_names())})")
    try:
        loaded = plugins[name].load()
    except Exception as error:  # a plug-in is someone else's code: any failure to import is theirs, named
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]  # one line, whatever it raised
        raise RoadlabelError(plugins[name].value, f"the plug-in {name!r} cannot be loaded ({reason})") from None
    if not (isinstance(loaded, type) and issubclass(loaded, Assistant)):
        raise RoadlabelError(plugins[name].value, f"the plug-in {name!r} is not an Assistant subclass")
    return loaded


def make_assistant(name: str, **options) -> Assistant:
    """The assistant ``name`` with these settings; a setting it does not take is one clear error."""
    cls = assistant_class(name)
    try:
        return cls(**options)
    except TypeError as error:
        raise RoadlabelError(name, f"does not take the settings {sorted(options)} ({error})") from None


def _plugins() -> dict:
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}
