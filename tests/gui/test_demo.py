"""`roadlabel demo --headless`: the README's first command, end to end (needs the Xvfb display)."""

import json
import subprocess
import sys

import numpy as np
from skimage.io import imread


def test_headless_demo_saves_a_screenshot_and_the_annotations(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "napari_roadlabel.cli", "demo", "--headless", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"screenshot:    {out / 'screenshot.png'}" in result.stdout
    picture = imread(out / "screenshot.png")
    assert picture.shape[0] > 400 and picture.shape[1] > 600
    assert np.unique(picture.reshape(-1, picture.shape[-1])[::97], axis=0).shape[0] > 50  # a real picture, not blank
    features = json.loads((out / "annotations.geojson").read_text())["features"]
    assert {"lane-line", "traffic-light", "traffic-sign", "crosswalk"} <= {f["properties"]["class"] for f in features}
    again = subprocess.run([sys.executable, "-m", "napari_roadlabel.cli", "demo", "--headless", "--out", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr  # the second run reopens the same project
    assert json.loads((out / "annotations.geojson").read_text())["features"] == features
