"""Dataset splits by sequence: deterministic, disjoint, by the ratios, with statistics."""

import json

import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import FormatError, RoadlabelError, make_geometry
from napari_roadlabel.io.formats.geojson import export_geojson
from napari_roadlabel.io.projects import create_project
from napari_roadlabel.io.splits import assign_splits, parse_ratios, split_dataset

NAMES = [f"drive{index:02d}" for index in range(10)]


def test_every_sequence_lands_in_exactly_one_split_by_the_ratios():
    splits = assign_splits(NAMES, (0.7, 0.2, 0.1), seed=1)
    assert [len(splits[name]) for name in ("train", "val", "test")] == [7, 2, 1]
    assert sorted(sum(splits.values(), [])) == NAMES


def test_the_same_seed_gives_the_same_split_whatever_the_order_of_the_projects():
    assert assign_splits(NAMES, (0.5, 0.3, 0.2), seed=7) == assign_splits(NAMES[::-1], (0.5, 0.3, 0.2), seed=7)
    assert assign_splits(NAMES, (0.5, 0.3, 0.2), seed=7) != assign_splits(NAMES, (0.5, 0.3, 0.2), seed=8)


def test_remainders_go_to_the_largest_fractions():
    assert [len(part) for part in assign_splits(NAMES[:3], (0.8, 0.1, 0.1), seed=0).values()] == [3, 0, 0]
    assert [len(part) for part in assign_splits(NAMES[:4], (0.5, 0.25, 0.25), seed=0).values()] == [2, 1, 1]


@pytest.mark.parametrize("text", ["0.8,0.1", "0.8,0.3,0.1", "a,b,c", "1.2,-0.1,-0.1"])
def test_bad_ratios_are_refused(text):
    with pytest.raises(FormatError, match="ratios must be"):
        parse_ratios(text)


@pytest.fixture
def drives(tmp_path, small_video):
    paths = []
    for index in range(4):
        with create_project(tmp_path / f"drive{index}", small_video) as project:
            lane = project.add_track("lane-line", {"color": "yellow" if index % 2 else "white"})
            for frame in range(index + 1):
                project.set_state(lane.id, frame, make_geometry("polyline", [[10, 89], [60, 30]]))
        paths.append(tmp_path / f"drive{index}")
    return paths


def test_split_exports_each_sequence_into_its_split_with_statistics(drives, tmp_path):
    result = split_dataset(drives, tmp_path / "out", ratios=(0.5, 0.25, 0.25), seed=0, fmt="geojson",
                           export=export_geojson)
    written = json.loads((tmp_path / "out" / "splits.json").read_text())
    assert written["splits"] == result["splits"] and written["seed"] == 0
    for split, members in written["splits"].items():
        assert sorted(path.stem for path in (tmp_path / "out" / split).glob("*.geojson")) == sorted(members)
    stats = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert sum(stats[split]["objects"]["lane-line"] for split in stats) == 1 + 2 + 3 + 4
    assert sum(stats[split]["frames"] for split in stats) == 4 * 12
    colors = [stats[split]["attributes"]["lane-line"]["color"] for split in stats if stats[split]["objects"]]
    assert sum(count.get("yellow", 0) for count in colors) == 2 + 4


def test_split_keeps_an_existing_output_and_refuses_twin_names(drives, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(RoadlabelError, match="already exists"):
        split_dataset(drives, tmp_path / "out", ratios=(1, 0, 0), seed=0, fmt="geojson", export=export_geojson)
    with pytest.raises(RoadlabelError, match="two projects are named 'drive0'"):
        split_dataset([drives[0], drives[0]], tmp_path / "other", ratios=(1, 0, 0), seed=0, fmt="geojson",
                      export=export_geojson)
    assert not (tmp_path / "other").exists()


def test_the_split_command(drives, tmp_path, capsys):
    code = main(["split", *map(str, drives), "--ratios", "0.5,0.25,0.25", "--seed", "2", "--format", "tusimple",
                 str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert code == 0 and "train: 2 sequences" in printed and "val: 1 sequences" in printed
    assert len(list((tmp_path / "out").rglob("*.mapping.json"))) == 4


def test_split_never_replaces_its_own_projects_nor_a_file_even_when_overwriting(drives, tmp_path, fingerprint):
    (tmp_path / "notes.txt").write_text("mine")
    before = fingerprint(tmp_path)
    for out, message in [(tmp_path, "which is never replaced"), (tmp_path / "notes.txt", "is a file, and a folder")]:
        with pytest.raises(RoadlabelError, match=message):
            split_dataset(drives, out, ratios=(1, 0, 0), seed=0, fmt="geojson", export=export_geojson, overwrite=True)
    assert fingerprint(tmp_path) == before and not list(tmp_path.glob(".*"))
