"""TuSimple, CULane and OpenLane: export, import, round trips, the mapping report, and bad files refused whole."""

import json
from pathlib import Path

import numpy as np
import pytest

from napari_roadlabel.core import FormatError, Project, RoadlabelError, Source, box, make_geometry
from napari_roadlabel.io.formats.culane import export_culane, import_culane
from napari_roadlabel.io.formats.openlane import export_openlane, import_openlane
from napari_roadlabel.io.formats.report import report_path
from napari_roadlabel.io.formats.tusimple import default_rows, export_tusimple, import_tusimple
from napari_roadlabel.io.projects import create_project
from napari_roadlabel.qa.lane_metrics import culane_score, tusimple_score
from napari_roadlabel.temporal.shape_distance import mean_distance

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "tusimple-lanenet6"
LEFT = [[10, 89], [40, 50], [60, 30]]  # x, y on the 160x90 clip
RIGHT = [[150, 89], [110, 50], [90, 30]]


@pytest.fixture
def lanes_project(tmp_path, small_video):
    """clip.mp4 with two lane lines on frame 1 (the right one yellow) and a traffic light on frames 1 and 2."""
    with create_project(tmp_path / "p", small_video) as project:
        right = project.add_track("lane-line", {"color": "yellow"})
        left = project.add_track("lane-line")
        light = project.add_track("traffic-light")
        project.set_state(right.id, 1, make_geometry("polyline", RIGHT))
        project.set_state(left.id, 1, make_geometry("polyline", LEFT))
        for frame in (1, 2):
            project.set_state(light.id, frame, box(100, 5, 110, 30), {"state": "red"})
    return tmp_path / "p"


def test_tusimple_export_samples_lanes_left_to_right_at_the_rows(lanes_project, tmp_path):
    rows = [30, 50, 70, 89]
    with Project.open(lanes_project) as project:
        report = export_tusimple(project, tmp_path / "t.json", frames=range(0, 3), rows=rows)
    assert report.frames == 3
    lines = [json.loads(line) for line in (tmp_path / "t.json").read_text().splitlines()]
    assert [line["raw_file"] for line in lines] == ["clip/000000.jpg", "clip/000001.jpg", "clip/000002.jpg"]
    assert lines[0]["lanes"] == [] and lines[1]["h_samples"] == rows
    left, right = lines[1]["lanes"]
    assert left[0] == 60 and left[-1] == 10 and right[0] == 90 and right[-1] == 150
    mapping = json.loads(report_path(tmp_path / "t.json").read_text())
    assert mapping["written"] == {"lane-line": 2} and mapping["frames"] == 3
    assert mapping["dropped"] == {"traffic-light": {"TuSimple holds lane lines only": 2}}
    assert mapping["attributes_not_carried"]["lane-line"]["color"] == 2


def test_tusimple_writes_minus_two_where_a_lane_misses_a_row(lanes_project, tmp_path):
    with Project.open(lanes_project) as project:
        export_tusimple(project, tmp_path / "t.json", frames=range(1, 2), rows=[10, 40, 89])
    left = json.loads((tmp_path / "t.json").read_text())["lanes"][0]
    assert left[0] == -2 and left[1] > 0 and left[2] == 10


def test_tusimple_round_trip_gives_the_same_file(lanes_project, tmp_path, small_video):
    with Project.open(lanes_project) as project:
        export_tusimple(project, tmp_path / "a.json", rows=list(range(30, 90, 5)))
    with create_project(tmp_path / "q", small_video) as fresh:
        assert import_tusimple(fresh, tmp_path / "a.json", source=Source.SUGGESTED).total == 2
        assert {state.source for track in fresh.tracks() for state in fresh.states_of(track.id)} == {Source.SUGGESTED}
        export_tusimple(fresh, tmp_path / "b.json", rows=list(range(30, 90, 5)))
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()


def test_default_rows_are_tusimples_at_720_and_scaled_elsewhere():
    assert default_rows(720) == list(range(160, 720, 10))
    assert default_rows(360)[0] == 80 and default_rows(360)[-1] == 355


def test_an_existing_export_is_kept(lanes_project, tmp_path):
    (tmp_path / "t.json").write_text("mine")
    with Project.open(lanes_project) as project, pytest.raises(RoadlabelError, match="already exists"):
        export_tusimple(project, tmp_path / "t.json")
    assert (tmp_path / "t.json").read_text() == "mine"


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 2, column 2: malformed JSON"),
    ("[" * 200_000, "line 2: JSON nested too deeply"),
    ('{"raw_file": "clip/000001.jpg", "lanes": []}', "line 2: a TuSimple line needs raw_file, lanes and h_samples"),
    ('{"raw_file": "clip/000000.jpg", "lanes": [], "h_samples": []}', "line 1 .* and line 2 .* are both for frame 0"),
    ('{"raw_file": "clip/000001.jpg", "lanes": [[1, 2]], "h_samples": [10, 20, 30]}', "2 x values for 3 h_samples"),
    ('{"raw_file": "clip/000001.jpg", "lanes": [["a", 1, 7]], "h_samples": [10, 20, 30]}', "list of numbers"),
    ('{"raw_file": "clip/000001.jpg", "lanes": [[true, 1, 7]], "h_samples": [10, 20, 30]}', "list of numbers"),
])
def test_a_bad_tusimple_file_is_refused_whole_with_its_line(lanes_project, tmp_path, line, message):
    good = '{"raw_file": "clip/000000.jpg", "lanes": [[5, 6, 7]], "h_samples": [10, 20, 30]}'
    (tmp_path / "bad.json").write_text(good + "\n" + line + "\n")
    with Project.open(lanes_project) as project:
        before = len(project.tracks())
        with pytest.raises(FormatError, match=message):
            import_tusimple(project, tmp_path / "bad.json")
        assert len(project.tracks()) == before  # the good first line was not imported either


def test_culane_export_writes_a_lines_file_per_frame_and_the_list(lanes_project, tmp_path):
    with Project.open(lanes_project) as project:
        report = export_culane(project, tmp_path / "cu", frames=range(0, 3))
    assert (tmp_path / "cu" / "list.txt").read_text().splitlines() == [
        "/clip/000000.jpg", "/clip/000001.jpg", "/clip/000002.jpg"]
    assert (tmp_path / "cu" / "clip" / "000000.lines.txt").read_text() == ""
    left, right = [np.array(line.split(), float).reshape(-1, 2)
                   for line in (tmp_path / "cu" / "clip" / "000001.lines.txt").read_text().splitlines()]
    assert left[0].tolist() == [pytest.approx(10.0, abs=0.2), 89] and right[0, 0] == pytest.approx(150, abs=0.2)
    assert (np.diff(left[:, 1]) == -10).all()  # every 10 rows, from the bottom up
    assert report.written == {"lane-line": 2} and report_path(tmp_path / "cu").is_file()


def test_culane_round_trip_gives_the_same_files(lanes_project, tmp_path, small_video):
    with Project.open(lanes_project) as project:
        export_culane(project, tmp_path / "a")
    with create_project(tmp_path / "q", small_video) as fresh:
        assert import_culane(fresh, tmp_path / "a" / "list.txt").total == 2
        export_culane(fresh, tmp_path / "b")
    for lines_file in (tmp_path / "a").rglob("*.txt"):
        assert lines_file.read_text() == (tmp_path / "b" / lines_file.relative_to(tmp_path / "a")).read_text()


@pytest.mark.parametrize("content, message", [
    ("1 2 3\n", "finite numbers in pairs"),
    ("1 2 nan 4\n", "finite numbers in pairs"),
    ("1 2 x 4\n", "expected numbers"),
])
def test_a_bad_culane_lines_file_is_refused_whole(lanes_project, tmp_path, content, message):
    with Project.open(lanes_project) as project:
        export_culane(project, tmp_path / "cu", frames=range(0, 3))
        (tmp_path / "cu" / "clip" / "000002.lines.txt").write_text(content)
        before = len(project.tracks())
        with pytest.raises(FormatError, match=f"000002.lines.txt: line 1: .*{message}"):
            import_culane(project, tmp_path / "cu")
        assert len(project.tracks()) == before


def test_a_culane_list_entry_for_another_video_is_counted_and_one_for_a_missing_frame_too(lanes_project, tmp_path):
    (tmp_path / "list.txt").write_text("/clip/000001.jpg\n/elsewhere/000777.jpg\n/clip/000777.jpg\n")
    with Project.open(lanes_project) as project:
        report = import_culane(project, tmp_path / "list.txt")
        assert report.other_sequences == ["/elsewhere/000777.jpg"] and report.missing_frames == ["/clip/000777.jpg"]
        assert "1 entry is for other sequences" in report.summary()
        with pytest.raises(FormatError, match="line 3: '/clip/000777.jpg' is in this project's folder but is not"):
            import_culane(project, tmp_path / "list.txt", strict=True)


def test_a_culane_list_with_no_entry_for_the_project_is_refused_saying_how_entries_match(lanes_project, tmp_path):
    (tmp_path / "list.txt").write_text("/elsewhere/000001.jpg\n")
    with Project.open(lanes_project) as project, pytest.raises(FormatError, match="its one entry is not .* matched"):
        import_culane(project, tmp_path / "list.txt")


def test_lanes_past_the_border_are_cut_there_and_counted(lanes_project, tmp_path):
    line = ('{"raw_file": "clip/000001.jpg", "lanes": [[5, 80, 500], [-2, -2, -2], [5, 6, 7]], '
            '"h_samples": [10, 20, 30]}')
    (tmp_path / "t.json").write_text(line + "\n")
    with Project.open(lanes_project) as project:
        report = import_tusimple(project, tmp_path / "t.json")
        with pytest.raises(FormatError, match="line 1, lane 0: cut where it leaves the image .*--strict"):
            import_tusimple(project, tmp_path / "t.json", strict=True)
    assert report.total == 2 and sum(report.clipped[str(tmp_path / "t.json")].values()) == 1
    assert report.skipped[str(tmp_path / "t.json")] == {"a line of fewer than 2 points": 1}
    assert "2 lanes: 2 lane-line; 1 object clipped at the image border; 1 object skipped" in report.summary()


@pytest.fixture
def tusimple_truth(tmp_path):
    if not (DATA / "label_data.json").is_file():
        pytest.skip(f"the TuSimple sample is not here ({DATA}; see shared/data/SOURCES.md)")
    with create_project(tmp_path / "truth", DATA / "images") as project:
        import_tusimple(project, DATA / "label_data.json")
    return tmp_path / "truth"


def test_tusimple_ground_truth_comes_back_unchanged(tusimple_truth, tmp_path):
    with Project.open(tusimple_truth) as project:
        export_tusimple(project, tmp_path / "again.json")
    original = [json.loads(line) for line in (DATA / "label_data.json").read_text().splitlines()]
    again = [json.loads(line) for line in (tmp_path / "again.json").read_text().splitlines()]
    assert [line["raw_file"] for line in again] == [line["raw_file"] for line in original]
    for before, after in zip(original, again, strict=True):
        assert sorted(after["lanes"]) == sorted(before["lanes"]) and after["h_samples"] == before["h_samples"]


def test_culane_files_made_from_tusimple_truth_come_back_unchanged(tusimple_truth, tmp_path):
    with Project.open(tusimple_truth) as project:
        export_culane(project, tmp_path / "first")
    with create_project(tmp_path / "q", DATA / "images") as fresh:
        assert import_culane(fresh, tmp_path / "first").total == 25
        export_culane(fresh, tmp_path / "second")
    for lines_file in (tmp_path / "first").rglob("*.lines.txt"):
        assert lines_file.read_text() == (tmp_path / "second" / lines_file.relative_to(tmp_path / "first")).read_text()


def test_tusimple_ground_truth_exported_again_scores_perfectly(tusimple_truth, tmp_path):
    with Project.open(tusimple_truth) as project:
        export_tusimple(project, tmp_path / "again.json")
    truth = [json.loads(line) for line in (DATA / "label_data.json").read_text().splitlines()]
    again = {line["raw_file"]: line for line in map(json.loads, (tmp_path / "again.json").read_text().splitlines())}
    score = tusimple_score((again[line["raw_file"]]["lanes"], line["lanes"], line["h_samples"]) for line in truth)
    assert (score.accuracy, score.fp, score.fn, score.frames) == (1.0, 0.0, 0.0, 6)


def test_culane_files_from_the_ground_truth_imported_and_exported_again_score_f1_one(tusimple_truth, tmp_path):
    with Project.open(tusimple_truth) as project:
        export_culane(project, tmp_path / "first")
    with create_project(tmp_path / "q", DATA / "images") as fresh:
        import_culane(fresh, tmp_path / "first")
        export_culane(fresh, tmp_path / "second")

    def lanes(folder, lines_file):
        text = (folder / lines_file.relative_to(tmp_path / "first")).read_text()
        return [np.array(line.split(), float).reshape(-1, 2) for line in text.splitlines()]

    files = sorted((tmp_path / "first").rglob("*.lines.txt"))
    counts = culane_score((lanes(tmp_path / "second", file), lanes(tmp_path / "first", file), (1280, 720))
                          for file in files)
    assert (counts.true_positives, counts.false_positives, counts.false_negatives) == (25, 0, 0)
    assert counts.f1 == 1.0


def test_openlane_keeps_track_ids_categories_and_places(lanes_project, tmp_path, small_video):
    with Project.open(lanes_project) as project:
        project.set_frame_attributes(2, 1, {"style": "dashed"})  # track 2 is the left (white) lane
        report = export_openlane(project, tmp_path / "ol", frames=range(0, 3))
    frame = json.loads((tmp_path / "ol" / "clip" / "000001.json").read_text())
    assert frame["file_path"] == "clip/000001.jpg"
    left, right = frame["lane_lines"]
    assert (left["track_id"], left["category"], left["attribute"]) == (2, 1, 2)  # white dash, left
    assert (right["track_id"], right["category"], right["attribute"]) == (1, 8, 3)  # yellow solid, right
    assert len(left["uv"]) == 2 and left["uv"][1][0] == pytest.approx(89) and left["uv"][1][-1] == pytest.approx(30)
    assert report.dropped == {"traffic-light": {"OpenLane 2D holds lane lines only": 2}}
    with create_project(tmp_path / "q", small_video) as fresh:
        assert import_openlane(fresh, tmp_path / "ol").total == 2
        imported = {track.attributes["color"]: fresh.states_of(track.id)[0] for track in fresh.tracks()}
        assert imported["white"].attributes["style"] == "dashed" and imported["yellow"].attributes["style"] == "solid"
        assert mean_distance(imported["white"].geometry, make_geometry("polyline", LEFT), lane=True) < 0.5


@pytest.mark.parametrize("content, message", [
    ("{", "malformed JSON"),
    ('{"lane_lines": []}', "needs a file_path and a lane_lines list"),
    ('{"file_path": "clip/000001.jpg", "lane_lines": [{"uv": [[1, 2]]}]}', r"lane_lines\[0\]: uv must be"),
    ('{"file_path": "clip/000001.jpg", "lane_lines": [{"uv": [["1", 2], [3, 40]]}]}', "coordinates must be numbers"),
    ('{"file_path": "clip/000001.jpg", "lane_lines": [{"uv": [[1, 2], [3, 40]], "track_id": 9}, '
     '{"uv": [[5, 6], [7, 80]], "track_id": 9}]}', r"lane_lines\[0\] and lane_lines\[1\] are both track 9 on frame 1"),
    ('{"file_path": "clip/000001.jpg", "lane_lines": [{"uv": [[1, 2], [3, 4]], "category": 99}]}',
     "unknown category 99"),
])
def test_a_bad_openlane_file_is_refused_whole(lanes_project, tmp_path, content, message):
    (tmp_path / "ol" / "clip").mkdir(parents=True)
    (tmp_path / "ol" / "clip" / "000000.json").write_text(
        '{"file_path": "clip/000000.jpg", "lane_lines": [{"uv": [[1, 2], [3, 4]], "track_id": 9}]}')
    (tmp_path / "ol" / "clip" / "000001.json").write_text(content)
    with Project.open(lanes_project) as project:
        before = len(project.tracks())
        with pytest.raises(FormatError, match=message):
            import_openlane(project, tmp_path / "ol")
        assert len(project.tracks()) == before
