import json
import subprocess
import sys

import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import Project, make_geometry
from napari_roadlabel.core.annotations import RelationEnd


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
    assert "relations  0\n" in out


def test_info_counts_relations_by_type(capsys, tmp_path, small_video):
    run(capsys, "new", tmp_path / "p", "--source", small_video)
    with Project.open(tmp_path / "p") as project:
        lines = [project.add_track("lane-line") for _ in range(3)]
        for index, line in enumerate(lines):
            project.set_state(line.id, 0, make_geometry("polyline", [[10 + 50 * index, 89], [20 + 50 * index, 10]]))
        light = project.add_track("traffic-light")
        left, right = RelationEnd.lane(lines[0].id, lines[1].id), RelationEnd.lane(lines[1].id, lines[2].id)
        project.add_relation("governs", RelationEnd(light.id), left, 0, 11)
        project.add_relation("governs", RelationEnd(light.id), right, 0, 5)
        project.add_relation("follows", right, left, 2, 4)
    code, out, _ = run(capsys, "info", tmp_path / "p")
    assert code == 0 and "relations  3  (1 follows, 2 governs)" in out
    code, out, _ = run(capsys, "info", tmp_path / "p", "--json")
    assert json.loads(out)["relations"] == {"governs": 2, "follows": 1}


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
                          "(known: polyline, polygon, box, point, keypoints, mask, skeleton, frame-range)"


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


def _project_with_two_lane_keyframes(capsys, folder, video):
    run(capsys, "new", folder, "--source", video)
    with Project.open(folder) as project:
        lane = project.add_track("lane-line")
        light = project.add_track("traffic-light")
        project.set_state(lane.id, 2, make_geometry("polyline", [[10, 80], [60, 20]]))
        project.set_state(lane.id, 8, make_geometry("polyline", [[40, 80], [90, 20]]))
        project.set_state(light.id, 5, make_geometry("box", [[100, 5], [110, 30]]), {"state": "red"})
    return lane.id, light.id


def test_propagate_linear_fills_between_keyframes_and_says_what_it_did(capsys, tmp_path, small_video):
    lane, light = _project_with_two_lane_keyframes(capsys, tmp_path / "p", small_video)
    code, out, _ = run(capsys, "propagate", tmp_path / "p", "--method", "linear", "--track", lane)
    assert code == 0 and out.startswith("linear: 5 states written for 1 object(s)")
    with Project.open(tmp_path / "p") as project:
        states = {state.frame: state for state in project.states_of(lane)}
        assert sorted(states) == [2, 3, 4, 5, 6, 7, 8]
        assert states[5].source.value == "interpolated" and states[5].geometry.points[0].tolist() == [25, 80]
        assert len(project.states_of(light)) == 1  # not asked for


def test_propagate_flow_over_a_range_reports_skips_and_stops(capsys, tmp_path, small_video):
    lane, light = _project_with_two_lane_keyframes(capsys, tmp_path / "p", small_video)
    code, out, _ = run(capsys, "propagate", tmp_path / "p", "--from", 0, "--to", 4)
    assert code == 0 and out.startswith("flow: ")
    assert f"track {light} skipped: no keyframe in frames 0..4" in out
    with Project.open(tmp_path / "p") as project:
        derived = [state for state in project.states_of(lane) if not state.is_keyframe]
        assert derived and all(state.frame <= 4 and state.confidence is not None for state in derived)


@pytest.mark.parametrize("args, message", [
    (["--from", 9, "--to", 3], "the range ends (frame 3) before it starts (frame 9)"),
    (["--to", 12], "end frame 12 is outside the sequence (0..11)"),
    (["--track", 99], "99"),
    (["--flag-below", 2], "flag_below must be between 0 and 1"),
])
def test_propagate_refuses_bad_options_with_one_line(capsys, tmp_path, small_video, args, message):
    _project_with_two_lane_keyframes(capsys, tmp_path / "p", small_video)
    code, _, err = run(capsys, "propagate", tmp_path / "p", *args)
    assert code == 1 and message in err and "Traceback" not in err


@pytest.mark.parametrize("fmt, out", [("tusimple", "lanes.json"), ("culane", "culane")])
def test_lane_formats_export_with_a_mapping_report_and_import_back(capsys, tmp_path, small_video, fmt, out):
    run(capsys, "new", tmp_path / "a", "--source", small_video)
    run(capsys, "new", tmp_path / "b", "--source", small_video)
    with Project.open(tmp_path / "a") as project:
        lane = project.add_track("lane-line")
        light = project.add_track("traffic-light")
        for frame in (0, 4):
            project.set_state(lane.id, frame, make_geometry("polyline", [[10, 89], [60, 30]]))
            project.set_state(light.id, frame, make_geometry("box", [[100, 5], [110, 30]]))
    code, printed, _ = run(capsys, "export", tmp_path / "a", "--format", fmt, tmp_path / out, "--every", 2)
    assert code == 0 and f"{fmt}: 2 objects on 6 frames written; 2 objects" in printed
    mapping = json.loads((tmp_path / (out.split(".")[0] + ".mapping.json")).read_text())
    assert mapping["dropped"]["traffic-light"] == {f"{'TuSimple' if fmt == 'tusimple' else 'CULane'} holds lane "
                                                  f"lines only": 2}
    code, printed, _ = run(capsys, "import", tmp_path / "b", "--format", fmt, tmp_path / out, "--as", "suggested")
    assert code == 0 and "imported 2 lanes" in printed
