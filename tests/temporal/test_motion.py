"""The motion field every object of a frame pair reads: shifts, blank frames, cuts, the ground, sharing."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import Source, box
from napari_roadlabel.core.lanes import fit_lane
from napari_roadlabel.sample import RoadSceneConfig, make_road_sequence
from napari_roadlabel.sample.scene import Camera
from napari_roadlabel.temporal import propagation
from napari_roadlabel.temporal.motion import MotionEstimator, MotionFields, grey_frame
from napari_roadlabel.temporal.propagation import propagate

from .conftest import Texture

SIZE = (160, 120)  # width, height
GRID = np.stack(np.meshgrid(np.linspace(20, 140, 7), np.linspace(15, 105, 6)), axis=-1).reshape(-1, 2)
BOX = np.array([40.0, 30.0, 80.0, 60.0])
VELOCITY = np.array([1.5, 0.5])


def _field(before: np.ndarray, after: np.ndarray):
    return MotionEstimator().estimate(before, after)


@pytest.fixture(scope="module")
def road():
    """The sample road clip, 8 frames of 640x360 with exact truth."""
    return make_road_sequence(RoadSceneConfig(frames=8))


# ------------------------------------------------------------------ the field of one pair


@pytest.mark.parametrize("shift", [(2.0, -1.0), (1.3, 0.6), (-3.5, 2.25)])
def test_a_pure_shift_is_found_at_every_point_and_reversed_it_goes_back(texture, shift):
    field = _field(texture.grey(0, 0), texture.grey(*shift))
    assert not field.cut
    moved, good, error = field.track(GRID)
    assert good.all()
    assert np.abs(moved - GRID - shift).max() < 0.1
    back, good_back, _ = field.reversed().track(GRID + shift)
    assert good_back.all()
    assert np.abs(back - GRID).max() < 0.1  # the opposite motion


@pytest.mark.parametrize("after", ["blank", "textured to blank"])
def test_no_texture_gives_no_good_point(texture, after):
    blank = np.full(SIZE[::-1], 128, np.uint8)
    before = blank if after == "blank" else texture.grey(0, 0)
    field = _field(before, blank)
    _, good, _ = field.track(GRID)
    assert not good.any()
    _, good_back, _ = field.reversed().track(GRID)
    assert not good_back.any()


def test_flow_into_blank_frames_stops_or_flags_every_state_after_them(new_project, texture):
    project = new_project(12)
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, box(*BOX))
    frames = texture.video(VELOCITY, 12)
    frames[6:] = 128
    result = propagate(project, frames, method="flow")
    flagged = {state.frame for state in result.flagged}
    assert {state.frame for state in result.states if state.frame <= 5} == {1, 2, 3, 4, 5}
    assert all(state.frame in flagged for state in result.states if state.frame > 5)
    assert [stop.track_id for stop in result.stops] == [car.id]


def _cut_video(texture: Texture, count: int = 13, cut_at: int = 6, other: str = "noise") -> np.ndarray:
    """Frames 0..cut_at-1 of one texture moving, then another scene: noise, or another texture moving back."""
    frames = texture.video(VELOCITY, count)
    if other == "noise":
        frames[cut_at:] = np.random.default_rng(1).integers(0, 256, frames[cut_at:].shape, np.uint8)
    else:
        frames[cut_at:] = Texture(7).video(-VELOCITY, count - cut_at)
    return frames


def _cuts(frames: np.ndarray) -> list[bool]:
    greys = [grey_frame(frame) for frame in frames]
    estimator = MotionEstimator()
    return [estimator.estimate(before, after).cut for before, after in zip(greys, greys[1:], strict=False)]


def test_a_cut_is_seen_between_the_two_scenes_and_not_before(texture):
    cuts = _cuts(_cut_video(texture))
    assert cuts[:6] == [False] * 5 + [True]  # pairs (0, 1)..(4, 5) move; (5, 6) cuts


def test_a_cut_to_another_textured_scene_is_seen(texture):
    # Between two unrelated smooth textures the field's motion varies everywhere, so every point takes the small
    # window: measured, none of the 35 textured grid points passes the check (8 did with a 21 px window).
    assert _cuts(_cut_video(texture, other="texture"))[5]


def test_flow_stops_at_a_cut_and_writes_nothing_after_it(new_project, texture):
    project = new_project(13)
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, box(*BOX))
    result = propagate(project, _cut_video(texture), method="flow")
    assert [(stop.track_id, stop.frame) for stop in result.stops] == [(car.id, 5)]
    assert "cuts" in result.stops[0].reason
    assert sorted(state.frame for state in project.states_of(car.id)) == [*range(6)]


def test_after_an_unseen_cut_no_state_is_trusted(new_project, texture):
    project = new_project(13)
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, box(*BOX))
    result = propagate(project, _cut_video(texture, other="texture"), method="flow")
    flagged = {state.frame for state in result.flagged}
    assert all(state.frame in flagged for state in result.states if state.frame > 5)


# ------------------------------------------------------------------ the ground's motion


def _ground_error(road, frame: int, field, track_id: int) -> np.ndarray:
    """|x| px between a truth lane line of ``frame`` carried by the ground's motion and the truth on the next
    frame, at the rows of the lower half of the image (the road plane's, where it is fitted)."""
    truth = {state.frame: state.geometry.points for state in road.states if state.track_id == track_id}
    now = fit_lane(truth[frame]).polyline(2.0)
    carried = cv2.perspectiveTransform(now.reshape(-1, 1, 2), field.ground).reshape(-1, 2)
    carried = carried[carried[:, 1] >= 0.5 * road.frames.shape[1]]
    expected = fit_lane(truth[frame + 1]).sample_rows(carried[:, 1])
    reached = expected >= 0  # rows the lane still reaches on the next frame
    assert reached.sum() > 40
    return np.abs(carried[reached, 0] - expected[reached])


def _fields(road) -> list:
    estimator = MotionEstimator()
    return [estimator.estimate(grey_frame(before), grey_frame(after))
            for before, after in zip(road.frames, road.frames[1:], strict=False)]


def test_the_ground_homography_carries_the_ego_lane_lines_onto_the_next_frame(road):
    # The markings either side of the car: the ego lane (track ids 2 and 3 of this clip, checked by their place).
    ego = [track.id for track in road.tracks if track.attributes.get("kind") == "lane-marking"][:2]
    fields = _fields(road)
    fitted = [index for index, field in enumerate(fields) if field.ground is not None]
    assert len(fitted) >= len(fields) - 1 and not any(field.cut for field in fields)
    for frame in fitted:
        for track_id in ego:
            error = _ground_error(road, frame, fields[frame], track_id)
            assert np.median(error) < 1.0 and error.max() < 1.5, (frame, track_id, np.median(error), error.max())


@pytest.mark.xfail(strict=True, reason="measured: the pair (5, 6) has no ground (48.5% RANSAC inliers < 50%); the "
                                       "right-hand lines (tracks 4, 5) carried 1.6-2.1 px off (median) on pairs 1, 2")
def test_the_ground_is_fitted_on_every_pair_and_carries_every_lane_line_within_a_pixel(road):
    fields = _fields(road)
    assert all(field.ground is not None for field in fields)
    lines = [track.id for track in road.tracks if track.class_name == "lane-line"]
    for frame, field in enumerate(fields):
        for track_id in lines:
            assert np.median(_ground_error(road, frame, field, track_id)) < 1.0, (frame, track_id)


def _forward_step(camera: Camera, metres: float) -> np.ndarray:
    """The exact homography of the road plane, in pixels, when a level camera moves ``metres`` straight ahead."""
    f, cx, cy, h = camera.focal_px, camera.cx, camera.cy, camera.height_m
    rows = np.array([200.0, 200.0, 359.0, 359.0])
    points = np.column_stack([[100.0, 540.0, 0.0, 639.0], rows])
    depth = f * h / (rows - cy)
    lateral = (points[:, 0] - cx) * depth / f
    ahead = np.column_stack([cx + f * lateral / (depth - metres), cy + f * h / (depth - metres)])
    return cv2.getPerspectiveTransform(points.astype(np.float32), ahead.astype(np.float32))


@pytest.fixture(scope="module")
def road_views():
    """Eight frames 0.2 s apart of a 48-frame sample clip (the road's texture and paint vary along it)."""
    return make_road_sequence(RoadSceneConfig(frames=48)).frames[::6]


def test_the_road_between_8_and_30_m_ahead_is_not_pulled_toward_the_camera(road_views):
    # Each frame and the same frame warped by a known forward step (0.5 m, 15 m/s at 30 fps): the truth is exact.
    # Lucas-Kanade finds one shift per window; where the motion varies across it (the road's grows toward the
    # camera, and so does its texture's contrast) it answers the motion of the texture-weighted centre of the
    # window, a little below the point: a bias toward the camera that adds up frame after frame.  Measured:
    # +0.043 px per point and +0.054 px by the ground's homography with a 21 px window everywhere; +0.015 and
    # +0.005 with the small window where the motion varies across the large one.
    camera = Camera.from_config(RoadSceneConfig())
    step = _forward_step(camera, 0.5)
    depth = np.arange(8.0, 30.0, 1.0)
    rows = camera.cy + camera.focal_px * camera.height_m / depth
    points = np.stack(np.meshgrid(np.arange(100.0, 541.0, 8.0), rows), axis=-1).reshape(-1, 2)
    truth = cv2.perspectiveTransform(points.reshape(-1, 1, 2), step).reshape(-1, 2)
    along = (truth - points) / np.linalg.norm(truth - points, axis=1, keepdims=True)
    by_points, by_ground = [], []
    for frame in road_views:
        before = grey_frame(frame)
        after = cv2.warpPerspective(before, step, (camera.width, camera.height), flags=cv2.INTER_CUBIC)
        field = MotionEstimator().estimate(before, after)
        moved, good, _ = field.track(points)
        assert good.mean() > 0.9 and field.ground is not None
        by_points.append(((moved - truth) * along).sum(axis=1)[good])
        carried = cv2.perspectiveTransform(points.reshape(-1, 1, 2), field.ground).reshape(-1, 2)
        by_ground.append(((carried - truth) * along).sum(axis=1))
    print(f"bias along the motion: {np.concatenate(by_points).mean():+.3f} px per point, "
          f"{np.concatenate(by_ground).mean():+.3f} px by the ground's homography")
    assert abs(np.concatenate(by_points).mean()) < 0.025  # px per frame: 60 frames add up to 1.5 px at most
    assert abs(np.concatenate(by_ground).mean()) < 0.025


# ------------------------------------------------------------------ fields shared by both sweeps


def _count_estimates(monkeypatch) -> list:
    calls = []
    original = MotionEstimator.estimate

    def counted(self, before, after):
        calls.append(1)
        return original(self, before, after)

    monkeypatch.setattr(MotionEstimator, "estimate", counted)
    return calls


def _gap_run(new_project, texture) -> list:
    """Two cars with keyframes on frames 0 and 9 of a 10-frame clip: a forward and a backward sweep."""
    project = new_project(10)
    for offset in (0.0, 50.0):
        car = project.add_track("vehicle")
        start = BOX + [offset, offset / 2, offset, offset / 2]
        project.set_state(car.id, 0, box(*start))
        project.set_state(car.id, 9, box(*(start + np.tile(VELOCITY * 9, 2))))
    result = propagate(project, texture.video(VELOCITY, 10), method="flow")
    return sorted((state.track_id, state.frame, state.geometry.points.tolist(), state.confidence)
                  for state in result.states if state.source is Source.PROPAGATED)


def test_each_frame_pair_is_estimated_once_for_both_sweeps(monkeypatch, new_project, texture):
    calls = _count_estimates(monkeypatch)
    states = _gap_run(new_project, texture)
    assert len(states) == 2 * 8
    assert len(calls) == 9  # the clip's frame pairs: the backward sweep reuses the forward sweep's fields


def test_a_tiny_cache_recomputes_and_gives_the_same_result(monkeypatch, new_project, texture):
    kept = _gap_run(new_project, texture)
    calls = _count_estimates(monkeypatch)
    monkeypatch.setattr(propagation, "MotionFields", functools.partial(MotionFields, cache_bytes=1))
    recomputed = _gap_run(new_project, texture)
    assert len(calls) > 9  # nothing could be kept for the backward sweep
    assert recomputed == kept
