"""Assistants other packages publish under the entry point group ``roadlabel.assistants``, tested for real: each
test writes a tiny installed distribution (a module and its ``*.dist-info`` with ``entry_points.txt``) into a
folder on ``sys.path``, so ``importlib.metadata`` finds it as it would a pip-installed package."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from napari_roadlabel.assist import AssistContext, assistant_class, assistant_names, make_assistant
from napari_roadlabel.assist.registry import BUILT_IN
from napari_roadlabel.core.errors import RoadlabelError

PLUGIN = '''
from napari_roadlabel.assist import Assistant, Suggestion
from napari_roadlabel.assist.base import TAGS


class DarkMeansRain(Assistant):
    """Tags every frame darker than ``threshold`` (mean grey level) as rainy."""

    name = "dark-rain"
    description = "dark frames are rainy"
    produces = TAGS

    def __init__(self, threshold=100):
        self.threshold = threshold

    def settings(self):
        return {"threshold": self.threshold}

    def suggest(self, context):
        for frame in context.frame_range:
            context.step()
            if context.frames[frame].mean() < self.threshold:
                yield Suggestion(frame, 0.8, class_name="scene", attributes={"weather": "rain"}, last_frame=frame)


NOT_AN_ASSISTANT = object()
'''
BROKEN = '''
raise RuntimeError("this plug-in needs a GPU\\nand says so on two lines")
'''
ENTRY_POINTS = """
[roadlabel.assistants]
dark-rain = roadlabel_demo_plugin:DarkMeansRain
not-an-assistant = roadlabel_demo_plugin:NOT_AN_ASSISTANT
broken-import = roadlabel_demo_broken:Anything
missing-module = roadlabel_demo_absent:Anything
onnx = roadlabel_demo_plugin:DarkMeansRain
"""
MODULES = ("roadlabel_demo_plugin", "roadlabel_demo_broken")


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """The demo distribution, installed in a folder put first on sys.path."""
    (tmp_path / "roadlabel_demo_plugin.py").write_text(PLUGIN, encoding="utf-8")
    (tmp_path / "roadlabel_demo_broken.py").write_text(BROKEN, encoding="utf-8")
    dist_info = tmp_path / "roadlabel_demo-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: roadlabel-demo\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in MODULES:
        sys.modules.pop(module, None)


def test_plugins_are_listed_after_the_built_in_assistants(installed_plugin):
    names = assistant_names()
    assert names[:len(BUILT_IN)] == list(BUILT_IN)
    assert names[len(BUILT_IN):] == ["broken-import", "dark-rain", "missing-module", "not-an-assistant"]


def test_without_the_distribution_only_the_built_in_assistants_are_listed():
    assert assistant_names() == list(BUILT_IN)


def test_a_plugin_runs_through_the_same_interface(installed_plugin, project):
    cls = assistant_class("dark-rain")
    assert cls.__module__ == "roadlabel_demo_plugin"
    assert sys.modules[cls.__module__].__file__ == str(installed_plugin / "roadlabel_demo_plugin.py")

    frames = [np.full((360, 640, 3), level, np.uint8) for level in (40, 200, 60, 90)]
    steps = []
    context = AssistContext(project, frames, range(len(frames)), progress=steps.append)
    assistant = make_assistant("dark-rain", threshold=80)
    assert assistant.train(context).labels == 0
    suggestions = list(assistant.suggest(context))
    assert [(s.frame, s.last_frame, s.class_name, dict(s.attributes), s.kind) for s in suggestions] == [
        (0, 0, "scene", {"weather": "rain"}, "tags"), (2, 2, "scene", {"weather": "rain"}, "tags")]
    assert steps == [1, 1, 1, 1]
    assert make_assistant("dark-rain", threshold=100).version(context) != assistant.version(context)


def test_a_plugin_cannot_take_a_built_in_name(installed_plugin):
    assert assistant_names().count("onnx") == 1
    assert assistant_class("onnx").__module__ == "napari_roadlabel.assist.onnx_model"


@pytest.mark.parametrize(("name", "message"), [
    ("broken-import", "roadlabel_demo_broken:Anything: the plug-in 'broken-import' cannot be loaded "
                      "(this plug-in needs a GPU)"),
    ("missing-module", "roadlabel_demo_absent:Anything: the plug-in 'missing-module' cannot be loaded "
                       "(No module named 'roadlabel_demo_absent')"),
    ("not-an-assistant", "roadlabel_demo_plugin:NOT_AN_ASSISTANT: the plug-in 'not-an-assistant' is not an "
                         "Assistant subclass"),
])
def test_a_broken_plugin_is_one_line_naming_it(installed_plugin, name, message):
    with pytest.raises(RoadlabelError) as caught:
        assistant_class(name)
    assert str(caught.value) == message


def test_an_unknown_name_lists_the_plugins_too(installed_plugin):
    with pytest.raises(RoadlabelError) as caught:
        assistant_class("dark-snow")
    assert str(caught.value).startswith("dark-snow: no such assistant (known: light-state, ")
    assert "dark-rain" in str(caught.value)
