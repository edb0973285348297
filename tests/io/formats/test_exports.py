"""Every export is checked before anything is written, and its data and mapping report appear together or not at all;
what cannot be written is one clear error naming the place; --frames must lie in the sequence."""

import os
import re
from pathlib import Path

import pytest

from napari_roadlabel.core import Project, RoadlabelError, box, make_geometry
from napari_roadlabel.io.atomic import AtomicOutputs
from napari_roadlabel.io.formats.registry import EXPORTERS, FOLDER_FORMATS, SUFFIXES, export_any, export_formats
from napari_roadlabel.io.formats.report import report_path
from napari_roadlabel.io.projects import create_project

FORMATS = export_formats()
REPORTED = sorted(EXPORTERS)  # every format but GeoJSON writes a mapping report


@pytest.fixture
def road_project(tmp_path, small_video) -> Path:
    """The 12-frame clip with a lane line and a traffic light on frames 1 and 2."""
    with create_project(tmp_path / "p", small_video) as project:
        lane, light = project.add_track("lane-line"), project.add_track("traffic-light")
        for frame in (1, 2):
            project.set_state(lane.id, frame, make_geometry("polyline", [[10, 89], [40, 50], [60, 30]]))
            project.set_state(light.id, frame, box(100, 5, 110, 30), {"state": "red"})
    return tmp_path / "p"


@pytest.fixture
def exports(tmp_path) -> Path:
    (tmp_path / "exports").mkdir()
    return tmp_path / "exports"


def _out(folder: Path, fmt: str) -> Path:
    return folder / f"out{SUFFIXES.get(fmt, '')}"


def _everything_in(folder: Path) -> dict[str, str]:
    """Every file and folder below ``folder`` (hidden staging ones included), with each file's text."""
    return {str(path.relative_to(folder)): path.read_text() if path.is_file() else "/"
            for path in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("fmt", REPORTED)
def test_an_existing_mapping_report_stops_the_export_before_anything_is_written(road_project, exports, fmt):
    out = _out(exports, fmt)
    report_path(out).write_text("mine")
    with Project.open(road_project) as project:
        with pytest.raises(RoadlabelError, match=re.escape(f"{report_path(out)}: already exists")):
            EXPORTERS[fmt](project, out)
    assert _everything_in(exports) == {report_path(out).name: "mine"}


@pytest.mark.parametrize("fmt", REPORTED)
def test_the_outputs_are_checked_before_the_work_starts(road_project, exports, fmt):
    out = _out(exports, fmt)
    report_path(out).write_text("mine")
    told = []
    with Project.open(road_project) as project, pytest.raises(RoadlabelError, match="already exists"):
        export_any(fmt, project, out, progress=told.append)
    assert told == []  # not a frame exported before the refusal


@pytest.mark.parametrize("fmt", REPORTED)
def test_overwriting_replaces_the_export_and_its_report_together(road_project, exports, fmt):
    out = _out(exports, fmt)
    out.mkdir() if fmt in FOLDER_FORMATS else out.write_text("old")
    report_path(out).write_text("old report")
    with Project.open(road_project) as project:
        report = export_any(fmt, project, out, overwrite=True)
    assert report.frames == 12 and '"frames": 12' in report_path(out).read_text()
    assert sorted(path.name for path in exports.iterdir()) == sorted([out.name, report_path(out).name])


@pytest.mark.parametrize("fmt", FORMATS)
def test_overwriting_never_puts_a_file_in_a_folders_place_nor_a_folder_in_a_files(road_project, exports, fmt):
    out = exports / "out"
    if fmt in FOLDER_FORMATS:
        out.write_text("mine")
    else:
        out.mkdir()
        (out / "mine.txt").write_text("mine")
    before = _everything_in(exports)
    found = "file" if fmt in FOLDER_FORMATS else "folder"
    with Project.open(road_project) as project:
        with pytest.raises(RoadlabelError, match=re.escape(f"{out}: is a {found}, and a ")):
            export_any(fmt, project, out, overwrite=True)
    assert _everything_in(exports) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_under_a_file_is_one_error_naming_both(road_project, exports, fmt):
    (exports / "notes.txt").write_text("mine")
    out = _out(exports / "notes.txt", fmt)
    with Project.open(road_project) as project:
        with pytest.raises(RoadlabelError, match=re.escape(f"{out}: cannot write: {exports / 'notes.txt'} is a file")):
            export_any(fmt, project, out)
    assert _everything_in(exports) == {"notes.txt": "mine"}


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's /sys, where not even root makes files")
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_into_a_folder_that_refuses_files_is_one_error_naming_the_export(road_project, fmt):
    out = _out(Path("/sys/kernel"), fmt)
    with Project.open(road_project) as project:
        with pytest.raises(RoadlabelError, match=re.escape(f"{out}: cannot write: ")):
            export_any(fmt, project, out)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("frames", [range(500, 600), range(10, 20)])
def test_frames_outside_the_sequence_are_refused_not_clipped(road_project, exports, fmt, frames):
    with Project.open(road_project) as project:
        message = f"frames {frames.start}:{frames.stop} are not all in the sequence, which has 12 frames (0:12)"
        with pytest.raises(RoadlabelError, match=re.escape(message)):
            export_any(fmt, project, _out(exports, fmt), frames=frames)
    assert _everything_in(exports) == {}


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_export_replaces_its_own_project_or_frames(road_project, tmp_path, fingerprint, fmt):
    before = fingerprint(tmp_path)
    with Project.open(road_project) as project:
        for out in (road_project, tmp_path, project.source_path()):
            with pytest.raises(RoadlabelError, match="which is never replaced"):
                export_any(fmt, project, out, overwrite=True)
    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize("existed", [False, True])
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_when_one_output_cannot_take_its_place_the_ones_before_it_are_put_back(tmp_path, kind, existed):
    data, notes = tmp_path / "data", tmp_path / "data.notes"
    if existed and kind == "file":
        data.write_text("old")
    elif existed:
        data.mkdir()
        (data / "old.txt").write_text("old")
    before = _everything_in(tmp_path)
    with pytest.raises(RoadlabelError, match=re.escape(f"{notes}: cannot write: ")):
        with AtomicOutputs(overwrite=True) as outputs:
            staged = outputs.file(data) if kind == "file" else outputs.folder(data) / "new.txt"
            staged.write_text("new")
            outputs.file(notes).write_text("new notes")
            (notes / "theirs").mkdir(parents=True)  # while writing, a folder appears where the notes go
    assert _everything_in(tmp_path) == {**before, "data.notes": "/", "data.notes/theirs": "/"}


def test_outputs_get_the_permissions_of_new_files_and_folders(tmp_path):
    umask = os.umask(0o022)
    try:
        with AtomicOutputs(overwrite=False) as outputs:
            outputs.file(tmp_path / "a.json").write_text("{}")
            outputs.folder(tmp_path / "b")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644 and (tmp_path / "b").stat().st_mode & 0o777 == 0o755
