"""The Qt binding: PyQt6, and the tool's viewer starts without napari or Qt warning about it (needs the Xvfb display).

napari 0.9 warns once per process on PyQt5 (a notification when the window is first shown, and a UserWarning
about system theme detection), so the viewer is started in a fresh interpreter: in this one another test may
already have shown a window and used the notice up.
"""

import json
import subprocess
import sys

import qtpy

# Runs the demo's path (napari.Viewer, the panel docked, the sample project opened, a screenshot) and prints
# every warning, napari notification and log record it raised, as JSON (Qt's own messages go to stderr).
START_THE_VIEWER = """
import json, logging, sys, warnings
from pathlib import Path

import qtpy
from napari.utils.notifications import notification_manager

from napari_roadlabel._napari.demo import run_demo


class Keep(logging.Handler):
    said = []

    def emit(self, record):
        self.said.append(record.getMessage())


logging.getLogger().addHandler(Keep())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    run_demo(Path(sys.argv[1]), headless=True)
said = Keep.said + [str(warning.message) for warning in caught]
said += [str(notification.message) for notification in notification_manager.records]
ours = [f"{warning.filename}: {warning.message}" for warning in caught if "napari_roadlabel" in warning.filename]
print(json.dumps({"binding": qtpy.API_NAME, "said": said, "ours": ours}))
"""

BINDING_WORDS = ("pyqt", "pyside", "qt5", "qt6", "backend", "binding")


def test_the_test_environment_runs_on_pyqt6():
    assert qtpy.API_NAME == "PyQt6"


def test_the_viewer_starts_without_a_warning_about_the_qt_binding_or_from_the_tool(tmp_path):
    result = subprocess.run([sys.executable, "-c", START_THE_VIEWER, str(tmp_path / "demo")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["binding"] == "PyQt6"
    messages = report["said"] + result.stderr.splitlines()
    about_the_binding = [message for message in messages if any(word in message.lower() for word in BINDING_WORDS)]
    assert about_the_binding == []
    assert report["ours"] == []  # nor any warning raised in the tool's own code (napari's private-access one)
