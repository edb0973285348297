"""Tests for napari_roadlabel.sample: the synthetic road sequence and its ground truth."""

from __future__ import annotations

import json
from collections import defaultdict

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import GeometryKind, Project, SequenceInfo, Source, check_inside_image
from napari_roadlabel.sample import RoadSceneConfig, add_to_project, make_road_sequence, write_sample
from napari_roadlabel.sample.__main__ import main

SMALL = RoadSceneConfig(frames=12, width=192, height=108)
LAMP_ROW = {"red": 0, "yellow": 1, "green": 2}  # top to bottom


@pytest.fixture(scope="module")
def sequence():
    return make_road_sequence()


@pytest.fixture(scope="module")
def by_track(sequence):
    """track id -> {frame: state}"""
    states = defaultdict(dict)
    for state in sequence.states:
        states[state.track_id][state.frame] = state
    return states


def tracks_of(sequence, class_name, **attributes):
    return [track for track in sequence.tracks if track.class_name == class_name
            and all(track.attributes.get(key) == value for key, value in attributes.items())]


def luminance(frame: np.ndarray, points: np.ndarray) -> np.ndarray:
    x, y = np.round(points).astype(int).T
    return frame[y, x].astype(float).mean(axis=1)


def yellowness(frame: np.ndarray, points: np.ndarray) -> np.ndarray:
    x, y = np.round(points).astype(int).T
    pixels = frame[y, x].astype(float)
    return (pixels[:, 0] + pixels[:, 1]) / 2 - pixels[:, 2]


def beside(points: np.ndarray, metres: float, config: RoadSceneConfig) -> np.ndarray:
    """The points moved sideways by about ``metres`` on the road (same rows), kept inside the image."""
    pixels_per_metre = (points[:, 1] - config.horizon * config.height) / config.camera_height_m
    moved = points + np.stack([metres * pixels_per_metre, np.zeros(len(points))], axis=1)
    return np.clip(moved, 0, (config.width - 1, config.height - 1))


# ---------------------------------------------------------------- structure and the taxonomy


def test_every_state_is_inside_the_image_and_of_its_class_kind(sequence):
    config = RoadSceneConfig()
    assert sequence.frames.shape == (config.frames, config.height, config.width, 3)
    assert sequence.frames.dtype == np.uint8
    kinds = {"lane-line": GeometryKind.POLYLINE, "traffic-direction": GeometryKind.POLYLINE,
             "stop-line": GeometryKind.POLYLINE, "crosswalk": GeometryKind.POLYGON,
             "school-zone": GeometryKind.POLYGON, "traffic-light": GeometryKind.BOX,
             "traffic-sign": GeometryKind.BOX}
    classes = {track.id: track.class_name for track in sequence.tracks}
    seen = set()
    for state in sequence.states:
        check_inside_image(state.geometry, config.width, config.height)
        assert state.geometry.points.max(axis=0).tolist() <= [config.width - 1, config.height - 1]
        assert state.geometry.kind is kinds[classes[state.track_id]]
        assert state.source is Source.MANUAL
        assert (state.track_id, state.frame) not in seen
        seen.add((state.track_id, state.frame))


def test_ids_are_consecutive_tracks_then_tags(sequence):
    ids = [track.id for track in sequence.tracks] + [tag.id for tag in sequence.tags]
    assert ids == list(range(1, len(ids) + 1))


def test_the_scene_has_every_kind_of_object_with_its_attributes(sequence):
    assert tracks_of(sequence, "lane-line", color="yellow", kind="lane-marking")
    assert tracks_of(sequence, "lane-line", color="white", kind="lane-marking")
    assert tracks_of(sequence, "lane-line", kind="road-edge")
    assert tracks_of(sequence, "traffic-light", face="circle", orientation="vertical")
    speed_limit, = tracks_of(sequence, "traffic-sign", type="speed-limit", unit="mph")
    assert speed_limit.attributes["value"] in (25, 35, 45, 55, 65)
    assert tracks_of(sequence, "traffic-sign", type="stop")
    assert tracks_of(sequence, "traffic-direction", flow="two-way")
    for class_name in ("crosswalk", "school-zone", "stop-line"):
        assert tracks_of(sequence, class_name)
    styles = {state.attributes["style"] for state in sequence.states
              if state.track_id in {track.id for track in tracks_of(sequence, "lane-line")}}
    assert styles == {"solid", "dashed"}
    tags = {tag.class_name: tag for tag in sequence.tags}
    assert (tags["scene"].start, tags["scene"].end) == (0, RoadSceneConfig().frames - 1)
    assert tags["scene"].attributes == {"weather": "clear", "time-of-day": "day"}
    assert 0 < tags["school-zone-active"].start < tags["school-zone-active"].end


def test_add_to_project_writes_everything_in_one_undo_step(sequence, tmp_path):
    config = RoadSceneConfig()
    info = SequenceInfo("road_clip.mp4", config.frames, config.width, config.height, config.fps)
    with Project.create(tmp_path / "project", info) as project:
        add_to_project(project, sequence)
        assert [(t.id, t.class_name) for t in project.tracks()] == [(t.id, t.class_name) for t in sequence.tracks]
        assert sum(len(project.states_of(t.id)) for t in sequence.tracks) == len(sequence.states)
        assert sorted(tag.id for tag in project.tags()) == [tag.id for tag in sequence.tags]
        for state in sequence.states[::37]:
            stored = project.state(state.track_id, state.frame)
            assert stored.geometry == state.geometry
            assert stored.attributes.items() >= dict(state.attributes).items()
        project.undo()
        assert project.tracks() == [] and project.tags() == []


def test_add_to_project_can_mark_the_states_as_imported(tmp_path):
    sequence = make_road_sequence(SMALL)
    info = SequenceInfo("clip.mp4", SMALL.frames, SMALL.width, SMALL.height, SMALL.fps)
    with Project.create(tmp_path / "project", info) as project:
        add_to_project(project, sequence, source=Source.IMPORTED)
        assert {state.source for track in project.tracks() for state in project.states_of(track.id)} == {
            Source.IMPORTED}


def test_bad_configs_are_refused():
    for options in ({"frames": 0}, {"width": 8}, {"speed_mps": (10.0, 5.0)}, {"horizon": 0.95}):
        with pytest.raises(ValueError):
            RoadSceneConfig(**options)


# ---------------------------------------------------------------- determinism


def test_the_same_config_gives_the_same_bytes_and_truth():
    first, second = make_road_sequence(SMALL), make_road_sequence(SMALL)
    assert first.frames.tobytes() == second.frames.tobytes()
    assert first.tracks == second.tracks and first.tags == second.tags
    assert [(s.track_id, s.frame, dict(s.attributes)) for s in first.states] == [
        (s.track_id, s.frame, dict(s.attributes)) for s in second.states]
    assert all(a.geometry == b.geometry for a, b in zip(first.states, second.states, strict=True))


def test_another_seed_gives_other_frames():
    first = make_road_sequence(SMALL)
    other = make_road_sequence(RoadSceneConfig(frames=SMALL.frames, width=SMALL.width, height=SMALL.height, seed=1))
    assert not np.array_equal(first.frames, other.frames)


# ---------------------------------------------------------------- exact geometry


def test_on_a_straight_steady_road_lines_follow_the_pinhole_formula():
    """x = cx + (d - e) * (y - cy) / h for a line at d, car at e, camera h above a flat straight road."""
    config = RoadSceneConfig(frames=3, curvature=0.0, camera_shake_px=0.0, sway_m=0.0)
    sequence = make_road_sequence(config)
    offsets = {"yellow": -config.lane_width_m / 2, "dashed": config.lane_width_m / 2,
               "right": 1.5 * config.lane_width_m}
    cx, cy = (config.width - 1) / 2, config.horizon * config.height
    ids = {"yellow": tracks_of(sequence, "lane-line", color="yellow")[0].id,
           "dashed": next(s.track_id for s in sequence.states if s.attributes.get("style") == "dashed"),
           "right": tracks_of(sequence, "lane-line", color="white")[-1].id}
    for name, track_id in ids.items():
        for state in (s for s in sequence.states if s.track_id == track_id):
            x, y = state.geometry.points.T
            expected = cx + offsets[name] * (y - cy) / config.camera_height_m
            unclipped = x < config.width - 1
            np.testing.assert_allclose(x[unclipped], expected[unclipped], atol=1e-6)
            assert len(x) >= 8 and np.ptp(np.diff(y)) < 1.0  # evenly spaced rows


# ---------------------------------------------------------------- the truth matches the picture


def off_crosswalks(sequence, by_track, frame: int, points: np.ndarray) -> np.ndarray:
    """The points not under a crosswalk's paint (its bars cover the lines)."""
    for track in tracks_of(sequence, "crosswalk"):
        state = by_track[track.id].get(frame)
        if state is not None:
            outline = state.geometry.points.astype(np.float32)
            inside = [cv2.pointPolygonTest(outline, tuple(point), True) for point in points]
            points = points[np.array(inside) < -2]
    return points


def test_solid_lines_are_painted_under_their_ground_truth(sequence, by_track):
    config = RoadSceneConfig()
    white, = (t for t in tracks_of(sequence, "lane-line", color="white") if
              {s.attributes["style"] for s in by_track[t.id].values()} == {"solid"})
    yellow, = tracks_of(sequence, "lane-line", color="yellow")
    for frame, state in by_track[white.id].items():
        points = off_crosswalks(sequence, by_track, frame, state.geometry.points)
        contrast = luminance(sequence.frames[frame], points) - luminance(sequence.frames[frame],
                                                                         beside(points, 0.6, config))
        assert np.median(contrast) > 80, frame
    for frame, state in by_track[yellow.id].items():
        points = off_crosswalks(sequence, by_track, frame, state.geometry.points)
        assert np.median(yellowness(sequence.frames[frame], points)) > 100, frame
        assert np.median(yellowness(sequence.frames[frame], beside(points, -0.6, config))) < 30, frame


def test_dashes_move_down_the_picture_while_the_line_stays(sequence, by_track):
    dashed = next(s.track_id for s in sequence.states if s.attributes.get("style") == "dashed")
    before, after = by_track[dashed][0].geometry.points, by_track[dashed][10].geometry.points
    rows = np.linspace(max(before[:, 1].min(), after[:, 1].min()), min(before[:, 1].max(), after[:, 1].max()), 200)
    x_before = np.interp(rows, before[::-1, 1], before[::-1, 0])
    x_after = np.interp(rows, after[::-1, 1], after[::-1, 0])
    assert np.abs(x_before - x_after).max() < 12  # the line hardly moved
    painted_before = luminance(sequence.frames[0], np.stack([x_before, rows], axis=1)) > 170
    painted_after = luminance(sequence.frames[10], np.stack([x_after, rows], axis=1)) > 170
    assert 0.02 < painted_before.mean() < 0.7  # dashes and gaps along the line
    assert (painted_before != painted_after).mean() > 0.1  # the dashes moved


def test_the_lit_lamp_in_the_light_box_matches_the_state(sequence, by_track):
    light, = tracks_of(sequence, "traffic-light")
    checked = 0
    for frame, state in by_track[light.id].items():
        (x0, y0), (x1, y1) = state.geometry.points
        if y1 - y0 < 12:
            continue
        crop = sequence.frames[frame][int(np.ceil(y0)):int(y1) + 1, int(np.ceil(x0)):int(x1) + 1].astype(float)
        brightness = crop.max(axis=2) - crop.min(axis=2) + crop.max(axis=2)  # lit lamps are bright and saturated
        row = np.unravel_index(np.argmax(brightness), brightness.shape)[0]
        assert int(3 * row / crop.shape[0]) == LAMP_ROW[state.attributes["state"]], frame
        r, g, b = crop.reshape(-1, 3)[np.argsort(brightness.ravel())[-3:]].mean(axis=0)
        colour = "red" if g < 0.6 * r else "yellow" if r > g else "green"
        assert colour == state.attributes["state"], (frame, r, g, b)
        checked += 1
    assert checked > 20


def test_the_light_changes_state_and_grows_as_the_car_approaches(sequence, by_track):
    light, = tracks_of(sequence, "traffic-light")
    states = [state for _, state in sorted(by_track[light.id].items())]
    assert {"red", "green"} <= {state.attributes["state"] for state in states}
    heights = [state.geometry.bounds()[3] - state.geometry.bounds()[1] for state in states]
    assert heights[-1] > 2.5 * heights[0]
    assert np.all(np.diff(heights) > -0.5)  # steadily (the camera vibrates a little)


def test_the_sign_boxes_hold_their_faces(sequence, by_track):
    """Most face pixels lie inside the box, and the box is mostly face."""
    for track in tracks_of(sequence, "traffic-sign"):
        checked = 0
        for frame, state in by_track[track.id].items():
            (x0, y0), (x1, y1) = state.geometry.points
            if min(x1 - x0, y1 - y0) < 8 or x0 <= 0 or x1 >= RoadSceneConfig().width - 1:
                continue
            image = sequence.frames[frame].astype(int)
            if track.attributes["type"] == "speed-limit":  # white: bright and grey (the sky is blue)
                face = (image.min(axis=2) > 190) & (np.ptp(image, axis=2) < 20)
            else:  # a red octagon
                face = (image[..., 0] > 150) & (image[..., 1] < 80)
            near = face[int(y0) - 4:int(y1) + 6, int(x0) - 4:int(x1) + 6]
            inside = face[int(np.ceil(y0)):int(y1) + 1, int(np.ceil(x0)):int(x1) + 1]
            # a small face's share of its box varies with OpenCV's anti-aliasing from release to release
            assert inside.mean() > 0.15 and inside.sum() > 0.95 * near.sum(), (track.id, frame)
            checked += 1
        assert checked > 10


def area_mask(shape, polygon: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return mask.astype(bool)


def test_the_crosswalk_and_school_zone_polygons_cover_their_paint(sequence, by_track):
    crosswalk, = tracks_of(sequence, "crosswalk")
    zone, = tracks_of(sequence, "school-zone")
    for frame, state in by_track[crosswalk.id].items():
        image = sequence.frames[frame].astype(int)
        inside = area_mask(image.shape, state.geometry.points)
        if inside.sum() >= 200:  # white bars cover about half of it
            assert (image.min(axis=2) > 170)[inside].mean() > 0.3, frame
    for frame, state in by_track[zone.id].items():
        image = sequence.frames[frame].astype(int)
        inside = area_mask(image.shape, state.geometry.points)
        if frame in by_track[crosswalk.id]:  # the crosswalk is painted over the zone
            inside &= ~area_mask(image.shape, by_track[crosswalk.id][frame].geometry.points)
        if inside.sum() >= 200:  # lines, the arrow and the stop line are painted over it too
            red = (image[..., 0] > image[..., 1] + 40) & (image[..., 0] > image[..., 2] + 40)
            assert red[inside].mean() > 0.5, frame


def test_the_arrow_and_the_stop_line_are_on_white_paint(sequence, by_track):
    """The middle of the arrow's axis and of the stop line lie on white paint."""
    for class_name in ("traffic-direction", "stop-line"):
        track, = tracks_of(sequence, class_name)
        values = []
        for frame, state in by_track[track.id].items():
            points = state.geometry.points
            middle = points[len(points) // 2] if len(points) % 2 else points.mean(axis=0)
            values.append(luminance(sequence.frames[frame], middle[None])[0])
        assert len(values) > 10 and np.median(values) > 170, class_name


def test_passed_objects_lose_their_state(sequence, by_track):
    arrow, = tracks_of(sequence, "traffic-direction")
    frames = sorted(by_track[arrow.id])
    assert frames == list(range(frames[0], frames[-1] + 1))  # one stretch, no gaps
    assert frames[-1] < RoadSceneConfig().frames - 1  # the car drove over it
    lines = tracks_of(sequence, "lane-line")
    assert all(len(by_track[line.id]) == RoadSceneConfig().frames for line in lines)


# ---------------------------------------------------------------- files


def test_write_sample_writes_a_video_and_its_geojson(tmp_path):
    pytest.importorskip("napari_roadlabel.io.formats.geojson")
    video, truth = write_sample(tmp_path / "out", SMALL)
    assert {path.name for path in (tmp_path / "out").iterdir()} == {"road_clip.mp4", "road_clip.geojson"}
    capture = cv2.VideoCapture(str(video))
    try:
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == SMALL.frames
        ok, frame = capture.read()
        assert ok and frame.shape == (SMALL.height, SMALL.width, 3)
    finally:
        capture.release()
    collection = json.loads(truth.read_text(encoding="utf-8"))
    sequence = make_road_sequence(SMALL)
    assert collection["roadlabel"]["source"] == "road_clip.mp4"
    assert len(collection["features"]) == len(sequence.states) + len(sequence.tags)


def test_the_command_line_prints_both_paths(tmp_path, capsys):
    pytest.importorskip("napari_roadlabel.io.formats.geojson")
    main([str(tmp_path), "--frames", "3", "--width", "96", "--height", "64", "--seed", "2"])
    assert capsys.readouterr().out.split() == [str(tmp_path / "road_clip.mp4"), str(tmp_path / "road_clip.geojson")]
    capture = cv2.VideoCapture(str(tmp_path / "road_clip.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    capture.release()
