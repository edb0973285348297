import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_npe2_manifest_validates_with_imports():
    npe2 = shutil.which("npe2") or str(Path(sys.executable).with_name("npe2"))
    if not Path(npe2).exists():
        pytest.fail("npe2 is not installed: run `make test`, which installs the dev group")
    result = subprocess.run([npe2, "validate", "napari-roadlabel", "--imports"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout
