"""`roadlabel ingest` (a dataset in, one project per sequence) and `roadlabel import` with --strict and its summary."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import Project
from napari_roadlabel.io.projects import create_project
from tests.conftest import SHARED_DATA

WIDTH, HEIGHT = 64, 36
ROWS = [10, 20, 30]
CLIPS = {  # clip folder -> its lanes on 20.jpg (x at ROWS, -2: none); the last lane of 0313-1/200 runs past x = 64
    "clips/0313-1/100": [[10, 12, 14], [40, 42, 44]],
    "clips/0313-1/200": [[20, 22, 24], [50, 60, 70]],
    "clips/0531/300": [[-2, 30, 31]],
}


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def frames(folder: Path, names=("1.jpg", "10.jpg", "20.jpg")) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        cv2.imwrite(str(folder / name), np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    return folder


def tusimple_file(path: Path, clips: dict) -> Path:
    path.write_text("".join(json.dumps({"raw_file": f"{clip}/20.jpg", "lanes": lanes, "h_samples": ROWS}) + "\n"
                            for clip, lanes in clips.items()))
    return path


@pytest.fixture
def tusimple_tree(tmp_path):
    """ROOT/clips/<clip>/{1,10,20}.jpg for each clip of CLIPS, and the label file for them."""
    root = tmp_path / "root"
    for clip in CLIPS:
        frames(root / clip)
    return root, tusimple_file(tmp_path / "label_data.json", CLIPS)


def test_ingest_makes_a_project_per_clip_mirroring_the_clip_folders(capsys, tmp_path, tusimple_tree):
    root, labels = tusimple_tree
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "ingest", "--format", "tusimple", labels, "--images", root, out)
    assert code == 0, stderr
    lines = stdout.splitlines()
    for clip, lanes in CLIPS.items():
        project = out / clip
        assert (project / "project.json").is_file()
        assert any(line.startswith(f"{project}: imported {len(lanes)} lane") for line in lines), stdout
        code, info, _ = run(capsys, "info", project)
        assert code == 0 and f"({WIDTH}x{HEIGHT}" in info and str(root / clip) in info
        row = next(line.split() for line in info.splitlines() if line.startswith("lane-line"))
        assert row[1] == str(len(lanes))
        with Project.open(project) as opened:
            assert {state.frame for track in opened.tracks() for state in opened.states_of(track.id)} == {2}
    assert sorted(path.parent for path in out.rglob("project.json")) == sorted(out / clip for clip in CLIPS)
    assert lines[-1].startswith(f"ingested 3 sequences of 3 into {out}")
    clipped = next(line for line in lines if line.startswith(f"{out / 'clips/0313-1/200'}:"))
    assert "1 object clipped at the image border" in clipped
    with Project.open(out / "clips/0313-1/200") as project:
        points = [project.states_of(track.id)[0].geometry.points for track in project.tracks()]
    assert any(np.allclose(line, [[50, 10], [60, 20], [WIDTH, 24]]) for line in points)  # cut at x = 64


def test_ingest_reports_a_clip_without_images_and_still_makes_the_others(capsys, tmp_path, tusimple_tree):
    root, _ = tusimple_tree
    labels = tusimple_file(tmp_path / "more.json", {**CLIPS, "clips/0601/999": [[10, 12, 14]]})
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "ingest", "--format", "tusimple", labels, "--images", root, out)
    assert code == 1
    assert [line for line in stderr.splitlines() if "clips/0601/999" in line][0].startswith("roadlabel: error: ")
    assert "Traceback" not in stderr
    assert not (out / "clips/0601/999").exists()
    assert sorted(path.parent for path in out.rglob("project.json")) == sorted(out / clip for clip in CLIPS)
    assert stdout.splitlines()[-1].startswith(f"ingested 3 sequences of 4 into {out}; 1 failed")


def test_ingest_refuses_to_make_a_project_where_one_exists(capsys, tmp_path, tusimple_tree):
    root, labels = tusimple_tree
    out = tmp_path / "out"
    assert run(capsys, "ingest", "--format", "tusimple", labels, "--images", root, out)[0] == 0
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file() and path.parent.name != "imports"}
    code, _, stderr = run(capsys, "ingest", "--format", "tusimple", labels, "--images", root, out)
    assert code == 1 and stderr.count("exists already") == 3
    assert {path: path.read_bytes() for path in before} == before


@pytest.fixture
def clip_project(tmp_path):
    folder = frames(tmp_path / "data" / "clips" / "0313-1" / "100")
    create_project(tmp_path / "p", folder).close()
    return tmp_path / "p"


def test_import_strict_refuses_a_file_with_nothing_for_the_project(capsys, tmp_path, clip_project):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    code, stdout, stderr = run(capsys, "import", clip_project, empty, "--format", "tusimple", "--strict")
    assert code == 1 and stdout == ""
    assert stderr.startswith("roadlabel: error: ") and len(stderr.splitlines()) == 1 and "--strict" in stderr
    with Project.open(clip_project) as project:
        assert project.tracks() == []


def test_import_without_strict_warns_when_nothing_is_imported(capsys, tmp_path, clip_project):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    code, stdout, stderr = run(capsys, "import", clip_project, empty, "--format", "tusimple")
    assert code == 0
    assert stderr.startswith("roadlabel: warning: nothing was imported") and str(empty) in stderr
    assert stdout.startswith("imported nothing")


@pytest.mark.parametrize("fmt, content", [("tusimple", ""), ("bdd100k", "[]"), ("culane", ""), ("openlane", None)])
def test_an_empty_input_warns_and_is_refused_with_strict(capsys, tmp_path, clip_project, fmt, content):
    labels = tmp_path / "labels"
    if content is None:
        labels.mkdir()  # an OpenLane folder without frame files
    else:
        labels = tmp_path / ("list.txt" if fmt == "culane" else "labels.json")
        labels.write_text(content)
    code, stdout, stderr = run(capsys, "import", clip_project, labels, "--format", fmt)
    assert code == 0 and stderr.startswith("roadlabel: warning: nothing was imported") and "imported nothing" in stdout
    code, _, stderr = run(capsys, "import", clip_project, labels, "--format", fmt, "--strict")
    assert code == 1 and stderr.startswith("roadlabel: error: ") and len(stderr.splitlines()) == 1


def test_a_culane_list_naming_only_frames_the_project_lacks_is_refused(capsys, tmp_path, clip_project):
    listing = tmp_path / "list.txt"
    listing.write_text("/clips/0313-1/100/99.jpg\n/clips/0313-1/100/98.jpg\n")
    code, stdout, stderr = run(capsys, "import", clip_project, listing, "--format", "culane")
    assert code == 1 and stdout == "" and len(stderr.splitlines()) == 1
    assert "none of its 2 entries" in stderr and "'/clips/0313-1/100/99.jpg'" in stderr


def test_import_strict_refuses_a_lane_past_the_border_naming_file_and_line(capsys, tmp_path, clip_project):
    labels = tusimple_file(tmp_path / "l.json", {"clips/0313-1/100": [[10, 12, 14], [50, 60, 70]]})
    code, _, stderr = run(capsys, "import", clip_project, labels, "--format", "tusimple", "--strict")
    assert code == 1 and stderr.startswith(f"roadlabel: error: {labels}: line 1, lane 1: ")
    assert len(stderr.splitlines()) == 1
    code, stdout, _ = run(capsys, "import", clip_project, labels, "--format", "tusimple")
    assert code == 0 and stdout.startswith("imported 2 lanes: 2 lane-line; 1 object clipped at the image border")


def test_import_names_what_it_imported_by_class(capsys, tmp_path):
    folder = frames(tmp_path / "vid-a", [f"vid-a-{n:07d}.jpg" for n in (1, 2)])
    create_project(tmp_path / "p", folder).close()
    boxes = [{"id": str(n), "category": category, "box2d": {"x1": 1, "y1": 1, "x2": 9, "y2": 9}}
             for n, category in enumerate(["car", "car", "bus", "pedestrian", "rider"])]
    labels = tmp_path / "tracks.json"
    labels.write_text(json.dumps([{"name": "vid-a-0000001.jpg", "videoName": "vid-a", "frameIndex": 0,
                                   "labels": boxes},
                                  {"name": "vid-b-0000001.jpg", "videoName": "vid-b", "frameIndex": 0, "labels": []}]))
    code, stdout, _ = run(capsys, "import", tmp_path / "p", labels, "--format", "bdd100k")
    assert code == 0
    assert stdout.startswith("imported 5 boxes: 3 vehicle, 1 pedestrian, 1 cyclist; "
                             "1 entry is for other sequences")
    assert "lanes" not in stdout
    assert len(list((tmp_path / "p" / "imports").glob("*-bdd100k-tracks.json.json"))) == 1


def test_import_strict_refuses_the_real_culane_files_naming_a_lines_file(capsys, tmp_path):
    culane = SHARED_DATA / "culane-night-labels"
    if not (culane / "list.txt").is_file():
        pytest.skip(f"the real CULane files are not here ({culane}; see shared/data/SOURCES.md)")
    names = [Path(line).name for line in (culane / "list.txt").read_text().split()]
    folder = tmp_path / "05312336_0004.MP4"
    folder.mkdir()
    for name in names:
        cv2.imwrite(str(folder / name), np.zeros((590, 1640, 3), np.uint8))
    create_project(tmp_path / "p", folder).close()
    code, _, stderr = run(capsys, "import", tmp_path / "p", culane / "list.txt", "--format", "culane", "--strict")
    assert code == 1 and len(stderr.splitlines()) == 1
    assert stderr.startswith(f"roadlabel: error: {culane / '05312336_0004.MP4'}/") and ".lines.txt: line " in stderr


def test_ingest_of_the_official_tusimple_file_makes_its_six_clips(capsys, tmp_path):
    tusimple = SHARED_DATA / "tusimple-lanenet6"
    if not (tusimple / "label_data_0601_first6_verbatim.json").is_file():
        pytest.skip(f"the TuSimple sample is not here ({tusimple}; see shared/data/SOURCES.md)")
    root = tmp_path / "root"
    for line in map(json.loads, (tusimple / "label_data.json").read_text().splitlines()):
        (root / line["source_raw_file"]).parent.mkdir(parents=True)
        cv2.imwrite(str(root / line["source_raw_file"]), cv2.imread(str(tusimple / line["raw_file"])))
    labels = tusimple / "label_data_0601_first6_verbatim.json"
    official = [json.loads(line) for line in labels.read_text().splitlines()]
    code, stdout, stderr = run(capsys, "ingest", "--format", "tusimple", labels, "--images", root, tmp_path / "out")
    assert code == 0, stderr
    for line in official:
        lanes = sum(sum(x >= 0 for x in xs) >= 2 for xs in line["lanes"])
        project = tmp_path / "out" / Path(line["raw_file"]).parent
        assert f"{project}: imported {lanes} lanes: {lanes} lane-line" in stdout
    assert stdout.splitlines()[-1].startswith(f"ingested 6 sequences of 6 into {tmp_path / 'out'}")
