"""One writer at a time, tested with real processes: a holder process writes, another `roadlabel` runs beside it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import Project, SequenceInfo, make_geometry

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = {**os.environ, "PYTHONPATH": str(ROOT)}
LANE = make_geometry("polyline", [[100, 350], [200, 250], [300, 180]])

# Opens the project and starts writing (an edit, or writing=True as the napari panel does), then waits for a line.
HOLDER = """
import sys
from napari_roadlabel.core import Project, make_geometry
project = Project.open(sys.argv[1], writing=True) if sys.argv[2] == "open" else Project.open(sys.argv[1])
if sys.argv[2] == "edit":
    project.set_state(project.add_track("lane-line").id, 0, make_geometry("polyline", [[10, 300], [90, 200]]))
print("writing", flush=True)
sys.stdin.readline()
project.close()
"""


def roadlabel(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "napari_roadlabel.cli", *map(str, args)], capture_output=True,
                          text=True, env=ENVIRONMENT, cwd=ROOT, timeout=120)


@pytest.fixture
def geojson(tmp_path) -> Path:
    """A GeoJSON file with track 100 (ids are kept when the project has never used them)."""
    with Project.create(tmp_path / "source", SequenceInfo("clip.mp4", 10, 640, 360)) as source:
        track = source.add_track("lane-line", track_id=100)
        source.set_state(track.id, 3, LANE)
    assert main(["export", str(tmp_path / "source"), str(tmp_path / "lanes.geojson"), "--format", "geojson"]) == 0
    return tmp_path / "lanes.geojson"


@pytest.fixture
def target(tmp_path) -> Path:
    Project.create(tmp_path / "target", SequenceInfo("clip.mp4", 10, 640, 360)).close()
    return tmp_path / "target"


def start_holder(project: Path, how: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(project), how], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=ENVIRONMENT, cwd=ROOT)
    assert holder.stdout.readline() == "writing\n"
    return holder


@pytest.mark.parametrize("how", ["edit", "open"])
def test_a_second_writer_is_refused_naming_the_first_and_may_write_once_it_is_done(geojson, target, how):
    holder = start_holder(target, how)
    try:
        refused = roadlabel("import", target, geojson, "--format", "geojson")
        assert refused.returncode == 1
        assert refused.stderr == (f"roadlabel: error: {target}: project is busy: another roadlabel process "
                                  f"(pid {holder.pid}) is writing; try again when it has finished\n")
    finally:
        holder.communicate("done\n", timeout=60)
    imported = roadlabel("import", target, geojson, "--format", "geojson")
    assert imported.returncode == 0, imported.stderr
    with Project.open(target) as project:
        assert [track.id for track in project.tracks()] == ([1, 100] if how == "edit" else [100])


def test_readers_are_not_blocked_by_a_writer(geojson, target, tmp_path):
    holder = start_holder(target, "edit")
    try:
        assert roadlabel("info", target).returncode == 0
        exported = roadlabel("export", target, tmp_path / "out.geojson", "--format", "geojson")
        assert exported.returncode == 0, exported.stderr
    finally:
        holder.communicate("done\n", timeout=60)


def test_a_killed_writer_leaves_no_lock_behind(geojson, target):
    holder = start_holder(target, "edit")
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    imported = roadlabel("import", target, geojson, "--format", "geojson")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("imported 1 lane: 1 lane-line")


def test_a_reader_sees_the_project_as_it_was_when_opened(target):
    with Project.open(target) as reader:
        holder = start_holder(target, "edit")  # adds a lane on frame 0 while the reader is open
        holder.communicate("done\n", timeout=60)
        assert reader.tracks() == [] and reader.objects_on(0) == []
    with Project.open(target) as later:
        assert len(later.tracks()) == 1 and len(later.objects_on(0)) == 1


def test_one_process_may_open_a_project_twice_for_writing(target):
    with Project.open(target, writing=True) as first, Project.open(target, writing=True) as second:
        first.add_track("lane-line")
        second.add_track("crosswalk")
    with Project.open(target) as project:
        assert [track.class_name for track in project.tracks()] == ["lane-line", "crosswalk"]


def test_propagate_takes_the_lock_as_it_opens(target):
    holder = start_holder(target, "open")
    try:
        refused = roadlabel("propagate", target, "--method", "linear")
        assert refused.returncode == 1 and f"project is busy: another roadlabel process (pid {holder.pid})" in \
            refused.stderr
    finally:
        holder.communicate("done\n", timeout=60)
