"""Real dataset label files (CULane, OpenLane, TuSimple, as the datasets ship them) import, with their clipping
counted, and export again to score perfectly against their own lanes cut to the image; plus TuSimple and
BDD100K files spanning many sequences, written in the datasets' own form."""

import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import FormatError, Project, Source
from napari_roadlabel.io.formats.bdd100k import import_bdd100k
from napari_roadlabel.io.formats.culane import export_culane, import_culane
from napari_roadlabel.io.formats.openlane import import_openlane
from napari_roadlabel.io.formats.tusimple import export_tusimple, import_tusimple
from napari_roadlabel.io.ingest import ingest_sequence, read_dataset
from napari_roadlabel.io.projects import create_project
from napari_roadlabel.qa.lane_metrics import culane_score, tusimple_score
from tests.conftest import SHARED_DATA

CULANE = SHARED_DATA / "culane-night-labels"
CULANE_VIDEO = "05312336_0004.MP4"
CULANE_SIZE = (1640, 590)
OPENLANE = SHARED_DATA / "openlane-results"
OPENLANE_SIZE = (1920, 1280)
TUSIMPLE = SHARED_DATA / "tusimple-lanenet6"
TUSIMPLE_VERBATIM = TUSIMPLE / "label_data_0601_first6_verbatim.json"


def needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"the real label files are not here ({path}; see shared/data/SOURCES.md)")


def black_frames(folder: Path, names, size) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        cv2.imwrite(str(folder / name), np.zeros((size[1], size[0], 3), np.uint8))
    return folder


def lines_of(path: Path) -> list[np.ndarray]:
    return [np.array(line.split(), float).reshape(-1, 2) for line in path.read_text().splitlines() if line.strip()]


def tracks_by_frame(project: Project) -> dict[int, list]:
    """frame -> its states, in track order (an import adds a lane's track in the order of the file)."""
    frames: dict[int, list] = {}
    for track in sorted(project.tracks(), key=lambda track: track.id):
        for state in project.states_of(track.id):
            frames.setdefault(state.frame, []).append((track, state))
    return frames


# ---------------------------------------------------------------- CULane


def cut_at_the_sides(lane: np.ndarray, width: float) -> np.ndarray | None:
    """The lane's part inside 0..width, cut where it crosses x = 0 or x = width (computed here, independently of
    the import: real CULane lanes leave the image only at the sides, once); None for less than 2 points."""
    inside = (lane[:, 0] >= 0) & (lane[:, 0] <= width)
    if not inside.any():
        return None
    first, last = np.flatnonzero(inside)[[0, -1]]
    assert inside[first:last + 1].all(), "a lane that leaves the image and comes back: not in these files"

    def crossing(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
        border = 0.0 if outer[0] < 0 else float(width)
        return (inner + (border - inner[0]) / (outer[0] - inner[0]) * (outer - inner))[None]

    part = [crossing(lane[first], lane[first - 1])] if first > 0 else []
    part.append(lane[first:last + 1])
    part += [crossing(lane[last], lane[last + 1])] if last < len(lane) - 1 else []
    points = np.concatenate(part)
    points = points[np.concatenate([[True], (np.diff(points, axis=0) != 0).any(axis=1)])]
    return points if len(points) >= 2 else None


def distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest segment of ``line``."""
    start, step = line[:-1], np.diff(line, axis=0)
    t = np.clip(((points[:, None] - start) * step).sum(-1) / (step ** 2).sum(-1), 0, 1)
    return np.linalg.norm(points[:, None] - (start + t[..., None] * step), axis=-1).min(axis=1)


@pytest.fixture
def culane_files():
    needs(CULANE / "list.txt")
    names = [Path(line.strip()).name for line in (CULANE / "list.txt").read_text().splitlines() if line.strip()]
    return {name: lines_of(CULANE / CULANE_VIDEO / name.replace(".jpg", ".lines.txt")) for name in names}


@pytest.fixture
def culane_frames(tmp_path, culane_files):
    return black_frames(tmp_path / CULANE_VIDEO, sorted(culane_files), CULANE_SIZE)


def test_the_real_culane_files_import_with_the_lanes_past_the_border_cut_and_counted(tmp_path, culane_files,
                                                                                     culane_frames):
    width, height = CULANE_SIZE
    assert len(culane_files) == 37
    lanes = [lane for found in culane_files.values() for lane in found]
    leaving = sum(((lane[:, 0] < 0) | (lane[:, 0] > width)).any() for lane in lanes)
    assert leaving > 0 and sum((lane[:, 1] == height).sum() for lane in lanes) > 0  # the files' own quirks

    with create_project(tmp_path / "p", culane_frames) as project:
        report = import_culane(project, CULANE / "list.txt")
        stored = tracks_by_frame(project)
        names = sorted(culane_files)
        expected = {names.index(name): [cut for lane in found if (cut := cut_at_the_sides(lane, width)) is not None]
                    for name, found in culane_files.items()}

    skipped = len(lanes) - sum(len(cuts) for cuts in expected.values())
    assert sum(sum(reasons.values()) for reasons in report.clipped.values()) == leaving
    assert sum(sum(reasons.values()) for reasons in report.skipped.values()) == skipped
    assert report.total == len(lanes) - skipped and report.entries == 37
    assert all(file.endswith(".lines.txt") for file in report.clipped)
    assert f"{leaving} objects clipped at the image border" in report.summary()
    for frame, cuts in expected.items():
        assert len(stored.get(frame, [])) == len(cuts), f"frame {frame}"
        for (track, state), cut in zip(stored.get(frame, []), cuts, strict=True):
            points = state.geometry.points
            assert track.class_name == "lane-line" and state.source == Source.IMPORTED
            assert ((points >= 0) & (points <= [width, height])).all(), points
            assert np.allclose(points, cut, rtol=0, atol=1e-6)


def test_every_stored_culane_lane_lies_on_its_original_line_and_ends_on_the_border(tmp_path, culane_files,
                                                                                    culane_frames):
    width, height = CULANE_SIZE
    names = sorted(culane_files)
    with create_project(tmp_path / "p", culane_frames) as project:
        import_culane(project, CULANE / "list.txt")
        stored = tracks_by_frame(project)
    checked_cuts = 0
    for frame, states in stored.items():
        originals = [lane for lane in culane_files[names[frame]] if cut_at_the_sides(lane, width) is not None]
        for (_, state), original in zip(states, originals, strict=True):
            points = state.geometry.points
            assert distance_to_polyline(points, original).max() < 1e-6  # on the line: cut, never clamped
            kept = (original[:, 0] >= 0) & (original[:, 0] <= width)
            on_the_bottom = original[kept & (original[:, 1] == height)]
            for point in on_the_bottom:  # points on y = 590 are inside (the border is): kept as they are
                assert (points == point).all(axis=1).any(), (frame, point)
            if not kept.all():
                ends = points[[0, -1], 0]
                assert np.isin(ends, [0.0, float(width)]).any(), ends  # the cut end is on x = 0 or x = 1640
                checked_cuts += 1
    assert checked_cuts > 0


def test_the_points_of_a_cut_culane_lane_inside_the_image_are_kept_exactly(tmp_path, culane_files, culane_frames):
    """Cutting a lane adds the crossing on the border; the file's own points inside are not moved, not even by
    floating-point rounding (which could put a point on the border just outside it)."""
    width, _ = CULANE_SIZE
    names = sorted(culane_files)
    with create_project(tmp_path / "p", culane_frames) as project:
        import_culane(project, CULANE / "list.txt")
        stored = tracks_by_frame(project)
    moved = []
    for frame, states in stored.items():
        originals = [lane for lane in culane_files[names[frame]] if cut_at_the_sides(lane, width) is not None]
        for (_, state), original in zip(states, originals, strict=True):
            points = state.geometry.points
            kept = (original[:, 0] >= 0) & (original[:, 0] <= width)
            moved += [(names[frame], point.tolist()) for point in original[kept]
                      if not (points == point).all(axis=1).any()]
    assert moved == []


def test_strict_refuses_the_real_culane_files_naming_the_lines_file(tmp_path, culane_frames):
    with create_project(tmp_path / "p", culane_frames) as project:
        with pytest.raises(FormatError) as refused:
            import_culane(project, CULANE / "list.txt", strict=True)
        assert project.tracks() == []
    message = str(refused.value)
    assert "\n" not in message and "--strict" in message
    assert message.split(":")[0].endswith(".lines.txt") and f"{CULANE_VIDEO}/" in message.split(":")[0]


def test_the_culane_import_exported_again_scores_f1_one_against_the_files_lanes_cut_to_the_image(
        tmp_path, culane_files, culane_frames):
    width, _ = CULANE_SIZE
    with create_project(tmp_path / "p", culane_frames) as project:
        import_culane(project, CULANE / "list.txt")
        export_culane(project, tmp_path / "again")
    frames, truth_lanes = [], 0
    for name, lanes in culane_files.items():
        truth = [cut for lane in lanes if (cut := cut_at_the_sides(lane, width)) is not None]
        again = lines_of(tmp_path / "again" / CULANE_VIDEO / name.replace(".jpg", ".lines.txt"))
        frames.append((again, truth, CULANE_SIZE))
        truth_lanes += len(truth)
    counts = culane_score(frames)
    assert (counts.true_positives, counts.false_positives, counts.false_negatives) == (truth_lanes, 0, 0)
    assert counts.f1 == 1.0


# ---------------------------------------------------------------- OpenLane


@pytest.fixture
def openlane_segment():
    needs(OPENLANE)
    (segment,) = [folder for folder in OPENLANE.iterdir() if folder.is_dir()]
    return segment


def openlane_frames(tmp_path: Path, segment: Path) -> Path:
    return black_frames(tmp_path / "frames" / segment.name, [f"{file.stem}.jpg" for file in segment.glob("*.json")],
                        OPENLANE_SIZE)


EXPECTED_LOOK = {1: ({"kind": "lane-marking", "color": "white"}, {"style": "dashed"}),  # OpenLane's categories
                 2: ({"kind": "lane-marking", "color": "white"}, {"style": "solid"}),
                 20: ({"kind": "curb"}, {})}


def test_the_real_openlane_results_import_as_suggestions_with_their_categories(tmp_path, openlane_segment):
    files = sorted(openlane_segment.glob("*.json"))
    records = [json.loads(file.read_text()) for file in files]
    with create_project(tmp_path / "p", openlane_frames(tmp_path, openlane_segment)) as project:
        report = import_openlane(project, OPENLANE, source=Source.SUGGESTED)
        stored = tracks_by_frame(project)
    assert report.total == sum(len(record["lane_lines"]) for record in records)
    assert not report.skipped and not report.other_sequences and not report.missing_frames
    for frame, record in enumerate(records):  # the frames are the files' timestamps, in order
        assert len(stored[frame]) == len(record["lane_lines"])
        for (track, state), lane in zip(stored[frame], record["lane_lines"], strict=True):
            assert state.source == Source.SUGGESTED
            track_attributes, frame_attributes = EXPECTED_LOOK[lane["category"]]
            assert {key: track.attributes.get(key) for key in track_attributes} == track_attributes
            assert {key: state.attributes.get(key) for key in frame_attributes} == frame_attributes
            assert np.allclose(state.geometry.points, np.array(lane["uv"]).T)  # all of it is inside


def test_an_openlane_u_past_the_border_by_rounding_and_a_lane_past_it_are_accepted_and_counted(tmp_path,
                                                                                              openlane_segment):
    width, _ = OPENLANE_SIZE
    original = sorted(openlane_segment.glob("*.json"))[0]
    record = json.loads(original.read_text())
    rounded = record["lane_lines"][1]
    at_the_edge = int(np.argmax(rounded["uv"][0]))
    rounded["uv"][0][at_the_edge] = 1920.0000000000002  # as real OpenLane labels have it
    record["lane_lines"].append({"category": 2, "uv": [[1800.0, 1900.0, 2000.0], [600.0, 650.0, 700.0]]})
    copy = tmp_path / "results" / openlane_segment.name / original.name
    copy.parent.mkdir(parents=True)
    copy.write_text(json.dumps(record))

    with create_project(tmp_path / "p", openlane_frames(tmp_path, openlane_segment)) as project:
        report = import_openlane(project, tmp_path / "results", source=Source.SUGGESTED)
        stored = tracks_by_frame(project)[0]
    reasons = report.clipped[str(copy)]
    assert sum(count for reason, count in reasons.items() if "rounding" in reason) == 1
    assert reasons["cut where it leaves the image"] == 1
    assert report.total == len(record["lane_lines"])
    assert stored[1][1].geometry.points[at_the_edge, 0] == width  # set onto the border
    assert np.allclose(stored[-1][1].geometry.points, [[1800, 600], [1900, 650], [width, 660]])  # cut at x = 1920


# ---------------------------------------------------------------- TuSimple


def lanes_with_points(line: dict) -> int:
    return sum(sum(x >= 0 for x in xs) >= 2 for xs in line["lanes"])


def test_the_tusimple_sample_imports_into_a_project_over_its_images(tmp_path):
    needs(TUSIMPLE / "label_data.json")
    lines = [json.loads(line) for line in (TUSIMPLE / "label_data.json").read_text().splitlines()]
    with create_project(tmp_path / "p", TUSIMPLE / "images") as project:
        report = import_tusimple(project, TUSIMPLE / "label_data.json")
        stored = tracks_by_frame(project)
    assert report.total == sum(lanes_with_points(line) for line in lines) and report.entries == 6
    assert sorted(len(states) for states in stored.values()) == sorted(lanes_with_points(line) for line in lines)


@pytest.fixture
def tusimple_tree(tmp_path):
    """The 6 images as TuSimple lays them out, ``ROOT/clips/0601/<clip>/20.jpg`` (from label_data.json's
    source_raw_file)."""
    needs(TUSIMPLE_VERBATIM)
    root = tmp_path / "root"
    for line in map(json.loads, (TUSIMPLE / "label_data.json").read_text().splitlines()):
        target = root / line["source_raw_file"]
        target.parent.mkdir(parents=True)
        cv2.imwrite(str(target), cv2.imread(str(TUSIMPLE / line["raw_file"])))
    return root


def test_the_official_tusimple_file_ingested_makes_a_project_per_clip_that_exports_again_perfectly(tmp_path,
                                                                                                   tusimple_tree):
    lines = [json.loads(line) for line in TUSIMPLE_VERBATIM.read_text().splitlines()]
    sequences = read_dataset("tusimple", TUSIMPLE_VERBATIM, tusimple_tree)
    assert sorted(sequences) == sorted(str(Path(line["raw_file"]).parent) for line in lines)
    for line in lines:
        clip = str(Path(line["raw_file"]).parent)
        result = ingest_sequence("tusimple", clip, sequences[clip], tusimple_tree, tmp_path / "out")
        assert result.error is None and result.project == tmp_path / "out" / clip
        assert result.report.total == lanes_with_points(line)
        with Project.open(result.project) as project:
            assert len(project.tracks("lane-line")) == lanes_with_points(line)
            assert {state.source for track in project.tracks() for state in project.states_of(track.id)} == {
                Source.IMPORTED}
            export_tusimple(project, tmp_path / f"{Path(clip).name}.json", rows=line["h_samples"])
        (again,) = map(json.loads, (tmp_path / f"{Path(clip).name}.json").read_text().splitlines())
        assert again["raw_file"].endswith("/20.jpg")
        score = tusimple_score([(again["lanes"], line["lanes"], line["h_samples"])])
        assert (score.accuracy, score.fp, score.fn) == (1.0, 0.0, 0.0), clip
    assert sorted(path.parent for path in (tmp_path / "out").rglob("project.json")) == sorted(
        tmp_path / "out" / str(Path(line["raw_file"]).parent) for line in lines)


@pytest.fixture
def clip_project(tmp_path):
    """A 64x36 project over ``data/clips/0313-1/6040`` with TuSimple's frames 1.jpg .. 20.jpg (some of them)."""
    folder = black_frames(tmp_path / "data" / "clips" / "0313-1" / "6040", ["1.jpg", "10.jpg", "20.jpg"], (64, 36))
    with create_project(tmp_path / "p", folder) as project:
        yield project


def tusimple_line(raw_file: str, lanes: list[list[int]]) -> str:
    return json.dumps({"raw_file": raw_file, "lanes": lanes, "h_samples": [10, 20, 30]})


def test_a_tusimple_lane_that_is_all_minus_two_is_skipped_and_other_clips_are_counted(tmp_path, clip_project):
    labels = tmp_path / "label_data.json"
    labels.write_text("\n".join([
        tusimple_line("clips/0313-2/520/20.jpg", [[10, 12, 14]]),
        tusimple_line("clips/0313-1/6040/20.jpg", [[-2, -2, -2], [30, 32, 34], [-2, 40, 44]]),
        tusimple_line("clips/0313-2/530/20.jpg", [[10, 12, 14]]),
        tusimple_line("clips/0601/1494452381594376146/20.jpg", [[-2, -2, -2]]),
    ]) + "\n")
    report = import_tusimple(clip_project, labels)
    assert report.total == 2 and len(clip_project.tracks("lane-line")) == 2
    assert dict(report.skipped[str(labels)]) == {"a line of fewer than 2 points": 1}
    assert len(report.other_sequences) == 3
    summary = report.summary()
    assert "imported 2 lanes: 2 lane-line" in summary
    assert "1 object skipped" in summary and "3 entries are for other sequences" in summary
    frames = {state.frame for track in clip_project.tracks() for state in clip_project.states_of(track.id)}
    assert frames == {2}  # 20.jpg


def test_a_tusimple_file_with_nothing_for_the_project_fails_naming_it(tmp_path, clip_project):
    labels = tmp_path / "label_data.json"
    labels.write_text(tusimple_line("clips/0313-2/520/20.jpg", [[10, 12, 14]]) + "\n"
                      + tusimple_line("clips/0313-2/530/20.jpg", [[-2, -2, -2]]) + "\n")
    with pytest.raises(FormatError, match=r"label_data.json: none of its 2 entries is for this project") as refused:
        import_tusimple(clip_project, labels)
    assert "\n" not in str(refused.value) and clip_project.tracks() == []


# ---------------------------------------------------------------- BDD100K


def test_a_bdd100k_tracking_file_of_several_videos_names_boxes_by_class_and_clips_them(tmp_path):
    width, height = 64, 48
    frames = black_frames(tmp_path / "b1c66a42-6f7d68ca", [f"b1c66a42-6f7d68ca-{n:07d}.jpg" for n in (1, 2, 3)],
                          (width, height))

    def label(track, category, x1, y1, x2, y2):
        return {"id": track, "category": category, "attributes": {"occluded": False, "truncated": False,
                                                                   "crowd": False},
                "box2d": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}}

    def frame(video, index, labels):
        return {"name": f"{video}-{index + 1:07d}.jpg", "videoName": video, "frameIndex": index, "labels": labels}

    ours = "b1c66a42-6f7d68ca"
    records = [
        frame(ours, 0, [label("1", "car", 10, 10, 20, 20), label("2", "pedestrian", 30, 5, 35, 25)]),
        frame(ours, 1, [label("1", "car", 50, 30, 70, 60),  # partly outside: clipped to 64x48
                        label("2", "pedestrian", 31, 5, 36, 25), label("3", "truck", 80, 10, 90, 20)]),  # outside
        frame(ours, 2, [label("1", "car", -5, 30, 10, 40), label("4", "bus", 0, 0, 3, 3)]),  # partly outside
        frame("b1c9c847-3bda4659", 0, [label("9", "car", 1, 1, 5, 5)]),
        frame("b1c9c847-3bda4659", 1, [label("9", "car", 1, 1, 5, 5)]),
        frame("b1d0091f-75824d0d", 0, []),
    ]
    labels = tmp_path / "tracks.json"
    labels.write_text(json.dumps(records))
    with create_project(tmp_path / "p", frames) as project:
        report = import_bdd100k(project, labels)
        boxes = {(track.attributes.get("type"), state.frame): state.geometry.points.tolist()
                 for track in project.tracks() for state in project.states_of(track.id)}

    classes = Counter({"vehicle": 4, "pedestrian": 2})  # car x3, bus; the truck is wholly outside
    assert report.total == sum(classes.values())
    summary = report.summary()
    assert summary.startswith("imported 6 boxes: 4 vehicle, 2 pedestrian")
    assert "lane" not in summary
    assert "2 objects clipped at the image border" in summary and "1 object skipped" in summary
    assert "3 entries are for other sequences" in summary
    assert boxes[("car", 1)] == [[50, 30], [width, height]]  # x2, y2 are inclusive: the edge is one further
    assert boxes[("car", 2)] == [[0, 30], [11, 41]]
    assert ("truck", 1) not in boxes

