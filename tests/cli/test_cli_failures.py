"""What the command line does when the system says no: a file it cannot write, a full disk, a reader gone away,
and frames that are not in the sequence: one line, exit 1 (or quietly, for a closed pipe), never a traceback."""

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from napari_roadlabel.cli import EXIT_CLOSED_PIPE, main
from napari_roadlabel.core import Project, make_geometry

REPOSITORY = Path(__file__).resolve().parents[2]  # run as `python -m`, the package imported is this one
FILE_SIZE_LIMIT = 100_000  # bytes: below the size of an export of ``lanes``


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def roadlabel(*args, **options) -> subprocess.CompletedProcess:
    options = {"stdout": subprocess.DEVNULL, **options}
    return subprocess.run([sys.executable, "-m", "napari_roadlabel.cli", *map(str, args)], cwd=REPOSITORY,
                          stderr=subprocess.PIPE, text=True, **options)


@pytest.fixture
def lanes(capsys, tmp_path, small_video) -> Path:
    """The 12-frame clip with 40 lane lines of 20 points on every frame."""
    run(capsys, "new", tmp_path / "p", "--source", small_video)
    with Project.open(tmp_path / "p") as project, project.group("lanes"):
        for index in range(40):
            track = project.add_track("lane-line").id
            points = [[index * 3 + step * 0.1, 89 - step * 4] for step in range(20)]
            for frame in range(12):
                project.set_state(track, frame, make_geometry("polyline", points))
    return tmp_path / "p"


@pytest.mark.parametrize("frames", ["500:600", "10:20"])
def test_frames_outside_the_sequence_are_one_error_naming_the_range_and_the_count(capsys, lanes, tmp_path, frames):
    code, out, err = run(capsys, "export", lanes, "--format", "tusimple", tmp_path / "t.json", "--frames", frames)
    assert code == 1 and out == ""
    assert err == f"roadlabel: error: {lanes}: frames {frames} are not all in the sequence, which has 12 frames " \
                  "(0:12)\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4", "p"]


def test_an_existing_mapping_report_is_refused_and_nothing_is_written(capsys, lanes, tmp_path):
    (tmp_path / "t.mapping.json").write_text("mine")
    code, _, err = run(capsys, "export", lanes, "--format", "bdd100k", tmp_path / "t.json")
    assert code == 1 and err == f"roadlabel: error: {tmp_path / 't.mapping.json'}: already exists; choose another " \
                                "name or allow overwriting\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4", "p", "t.mapping.json"]


def test_a_file_format_onto_a_folder_is_refused_even_when_overwriting(capsys, lanes, tmp_path):
    (tmp_path / "out").mkdir()
    code, _, err = run(capsys, "export", lanes, "--format", "tusimple", tmp_path / "out", "--overwrite")
    assert code == 1 and err == f"roadlabel: error: {tmp_path / 'out'}: is a folder, and a file is written here: " \
                                "not replaced; choose another name\n"


def test_a_disk_that_fills_up_during_an_export_is_one_line_and_leaves_nothing(lanes, tmp_path):
    whole = tmp_path / "whole.geojson"
    assert roadlabel("export", lanes, "--format", "geojson", whole).returncode == 0
    assert whole.stat().st_size > FILE_SIZE_LIMIT
    # Past RLIMIT_FSIZE every write fails (EFBIG, "File too large") as on a full disk (ENOSPC); the export only
    # reads the project, so only its own file meets the limit.
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))  # noqa: E731
    out = tmp_path / "exports" / "all.geojson"
    done = roadlabel("export", lanes, "--format", "geojson", out, preexec_fn=limit)
    assert done.returncode == 1 and done.stderr == f"roadlabel: error: {out}: cannot write: File too large\n"
    assert list((tmp_path / "exports").iterdir()) == []


def test_an_os_error_no_command_expected_is_one_line_naming_the_file_and_debug_shows_it(capsys, tmp_path, small_video):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "new", tmp_path / "notes.txt" / "p", "--source", small_video)
    assert code == 1 and err.startswith("roadlabel: error: ") and str(tmp_path / "notes.txt") in err
    assert err.count("\n") == 1 and "Traceback" not in err
    loud = roadlabel("--debug", "new", tmp_path / "notes.txt" / "p", "--source", small_video)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


def test_running_out_of_memory_is_one_line_and_leaves_no_export(capsys, lanes, tmp_path, monkeypatch):
    def exhausted(*_, **__):
        raise MemoryError

    monkeypatch.setattr("napari_roadlabel.io.formats.lane_frames.CurveSet.fit", exhausted)
    code, _, err = run(capsys, "export", lanes, tmp_path / "out.json", "--format", "tusimple")
    assert code == 1 and err.startswith("roadlabel: error: export: out of memory") and err.count("\n") == 1
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("out")) == []


def test_a_reader_that_went_away_ends_the_command_quietly(lanes):
    reader, writer = os.pipe()
    os.close(reader)  # `| head -4` that has already exited: every write to the pipe fails
    try:
        done = roadlabel("info", lanes, stdout=writer)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (EXIT_CLOSED_PIPE, "")


@pytest.mark.parametrize("args", [["qa"], ["qa", "P", "--no-such-option"], ["batch", "qa", "P", "--workers", "x"],
                                  ["jobs", "split", "P"]])
def test_a_usage_error_exits_1_never_2_which_means_blocked(capsys, args):
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 1
    assert "error:" in capsys.readouterr().err
