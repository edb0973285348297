"""The core and the packages above it never import napari, Qt or magicgui (DESIGN.md: arrows point down)."""

import subprocess
import sys

import pytest

GUI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "vispy")
CHECK = """
import importlib, sys
importlib.import_module({module!r})
gui = sorted(m for m in sys.modules if m.split('.')[0] in {gui!r})
print(','.join(gui))
"""


@pytest.mark.parametrize("module", ["napari_roadlabel.core", "napari_roadlabel.io.frames",
                                    "napari_roadlabel.temporal.propagation", "napari_roadlabel.io.formats.geojson",
                                    "napari_roadlabel.io.projects",
                                    "napari_roadlabel.sample", "napari_roadlabel.cli",
                                    "napari_roadlabel.qa.lane_metrics", "napari_roadlabel.qa.checks",
                                    "napari_roadlabel.qa.agreement", "napari_roadlabel.qa.report",
                                    "napari_roadlabel.qa.review", "napari_roadlabel.assist",
                                    "napari_roadlabel.assist.run", "napari_roadlabel.assist.onnx_model",
                                    "napari_roadlabel.assist.lane_proposals", "napari_roadlabel.assist.boxes",
                                    "napari_roadlabel.assist.light_state", "napari_roadlabel.assist.frame_tags",
                                    "napari_roadlabel.assist.masks", "napari_roadlabel.assist.road_paint",
                                    "napari_roadlabel.teams.jobs", "napari_roadlabel.teams.stages",
                                    "napari_roadlabel.teams.split", "napari_roadlabel.teams.merge",
                                    "napari_roadlabel.teams.merge_report",
                                    "napari_roadlabel.teams.batch",
                                    "napari_roadlabel.qa.outcome", "napari_roadlabel.teams.figures",
                                    "napari_roadlabel.teams.status", "napari_roadlabel.teams.status_page"])
def test_module_does_not_import_gui_toolkits(module):
    result = subprocess.run([sys.executable, "-c", CHECK.format(module=module, gui=GUI_MODULES)],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


@pytest.mark.parametrize(("module", "allowed"), [
    ("napari_roadlabel.core", {"core"}),
    ("napari_roadlabel.core.skeletons", {"core"}),
    ("napari_roadlabel.temporal.propagation", {"core", "temporal"}),
    ("napari_roadlabel.qa.checks", {"core", "qa"}),
    ("napari_roadlabel.qa.agreement", {"core", "qa"}),
    ("napari_roadlabel.qa.review", {"core", "qa"}),
    ("napari_roadlabel.assist.run", {"core", "temporal", "io", "assist"}),
    ("napari_roadlabel.assist.onnx_model", {"core", "assist"}),
    ("napari_roadlabel.assist.lane_proposals", {"core", "assist"}),
    ("napari_roadlabel.assist.boxes", {"core", "assist"}),
    ("napari_roadlabel.assist.box_tracks", {"core", "assist"}),
    ("napari_roadlabel.assist.light_state", {"core", "assist"}),
    ("napari_roadlabel.assist.frame_tags", {"core", "assist"}),
    ("napari_roadlabel.assist.hmm", {"core", "assist"}),
    ("napari_roadlabel.assist.masks", {"core", "temporal", "assist"}),
    ("napari_roadlabel.assist.road_paint", {"core", "assist"}),
    ("napari_roadlabel.teams.batch", {"core", "io", "teams"}),
    ("napari_roadlabel.teams.jobs", {"core", "teams"}),
    ("napari_roadlabel.teams.stages", {"core", "qa", "teams"}),
    ("napari_roadlabel.teams.split", {"core", "io", "teams"}),
    ("napari_roadlabel.teams.merge", {"core", "io", "qa", "teams"}),
    ("napari_roadlabel.teams.merge_report", {"core", "io", "qa", "teams"}),
    ("napari_roadlabel.qa.outcome", {"core", "io", "qa"}),
    ("napari_roadlabel.teams.figures", {"core", "teams"}),
    ("napari_roadlabel.teams.status", {"core", "io", "qa", "teams"}),
    ("napari_roadlabel.teams.status_page", {"core", "io", "qa", "teams"}),
])
def test_module_imports_only_the_layers_below_it(module, allowed):
    code = (f"import sys, {module}; "
            "print(','.join(sorted(m for m in sys.modules if m.startswith('napari_roadlabel.') "
            f"and m.split('.')[1] not in {sorted(allowed)!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"
