import json
import subprocess
import sys

import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import Project, make_geometry


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_new_info_taxonomy(capsys, tmp_path, small_video):
    code, out, _ = run(capsys, "new", tmp_path / "p", "--source", small_video, "--annotator", "ana")
    assert code == 0 and "12 frames of 160x90" in out
    code, out, _ = run(capsys, "info", tmp_path / "p", "--json")
    info = json.loads(out)
    assert code == 0 and (info["frames"], info["width"], info["height"], info["fps"]) == (12, 160, 90, 10.0)
    code, out, _ = run(capsys, "taxonomy", tmp_path / "p")
    assert code == 0 and any(line.startswith("traffic-light") and "state[frame]" in line for line in out.splitlines())


def test_info_counts_keyframes_by_class(capsys, tmp_path, small_video):
    run(capsys, "new", tmp_path / "p", "--source", small_video)
    with Project.open(tmp_path / "p") as project:
        lane = project.add_track("lane-line")
        project.set_state(lane.id, 0, make_geometry("polyline", [[1, 80], [50, 20]]))
        project.set_state(lane.id, 4, make_geometry("polyline", [[2, 80], [52, 20]]))
    code, out, _ = run(capsys, "info", tmp_path / "p")
    row = next(line.split() for line in out.splitlines() if line.startswith("lane-line"))
    assert code == 0 and row == ["lane-line", "1", "2", "0"]


def test_export_then_import(capsys, tmp_path, small_video):
    run(capsys, "new", tmp_path / "a", "--source", small_video)
    run(capsys, "new", tmp_path / "b", "--source", small_video)
    with Project.open(tmp_path / "a") as project:
        lane = project.add_track("lane-line")
        project.set_state(lane.id, 3, make_geometry("polyline", [[1, 80], [50, 20]]))
    out_file = tmp_path / "a.geojson"
    code, out, _ = run(capsys, "export", tmp_path / "a", "--format", "geojson", out_file)
    assert code == 0 and "exported 1 features" in out
    code, _, err = run(capsys, "export", tmp_path / "a", "--format", "geojson", out_file)
    assert code == 1 and "already exists" in err
    code, out, _ = run(capsys, "import", tmp_path / "b", "--format", "geojson", out_file, "--as", "suggested")
    assert code == 0
    with Project.open(tmp_path / "b") as project:
        [state] = project.states_of(project.tracks()[0].id)
        assert state.frame == 3 and state.source.value == "suggested"


def test_taxonomy_file_is_checked(capsys, tmp_path):
    bad = tmp_path / "team.yaml"
    bad.write_text("classes:\n  x: {geometry: [blob]}\n")
    code, _, err = run(capsys, "taxonomy", bad)
    assert code == 1
    assert err.strip() == f"roadlabel: error: {bad}: classes.x.geometry: unknown geometry kind 'blob' " \
                          "(known: polyline, polygon, box, point, keypoints, mask, frame-range)"


@pytest.mark.parametrize("args", [["info", "{tmp}/nowhere"], ["new", "{tmp}/p", "--source", "{tmp}/missing.mp4"]])
def test_errors_are_one_line_without_traceback(capsys, tmp_path, args):
    code, _, err = run(capsys, *(arg.format(tmp=tmp_path) for arg in args))
    assert code == 1 and err.count("\n") == 1 and err.startswith("roadlabel: error: ")
    assert "Traceback" not in err


def test_console_script_exit_code_and_debug(tmp_path):
    command = [sys.executable, "-m", "napari_roadlabel.cli", "info", str(tmp_path / "nowhere")]
    quiet = subprocess.run(command, capture_output=True, text=True)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr and "no such project folder" in quiet.stderr
    loud = subprocess.run(command[:3] + ["--debug"] + command[3:], capture_output=True, text=True)
    assert loud.returncode == 1 and "Traceback" in loud.stderr
