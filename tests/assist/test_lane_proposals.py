"""Lane proposals on painted roads whose lines are known: places, order, style, colour, and the assistant."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from napari_roadlabel.assist import AssistContext, make_assistant
from napari_roadlabel.assist.lane_proposals import LaneProposer, lane_distance, propose_lanes
from napari_roadlabel.core import GeometryKind, RoadlabelError, make_geometry
from napari_roadlabel.core.lanes import MISSING, fit_lane
from napari_roadlabel.qa.lane_metrics import tusimple_frame

from ..conftest import SHARED_DATA

WIDTH, HEIGHT = 640, 360
VANISHING = (320.0, 144.0)
ROWS = np.arange(190.0, HEIGHT, 10.0)  # rows where every painted line below is on the image


def painted_x(lean: float, bend: float, rows: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """x of a painted line at these rows: through the vanishing point, leaning ``lean`` (dx/dy), bent by ``bend``."""
    below = rows - VANISHING[1]
    return VANISHING[0] + shift + lean * below + bend * below**2


def road(lines, *, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    """A grey textured road below a sky, with ``lines`` = [(lean, bend, colour, dashed), ...] painted on it;
    paint widens towards the camera and dashes shorten towards the horizon, as in perspective."""
    rng = np.random.default_rng(seed)
    image = np.empty((HEIGHT, WIDTH, 3), np.float32)
    image[: int(VANISHING[1])] = (150, 180, 220)
    image[int(VANISHING[1]):] = (95, 95, 98)
    image += rng.normal(0, 3, image.shape)
    rows = np.arange(VANISHING[1] + 4, HEIGHT, 0.5)
    for lean, bend, colour, dashed in lines:
        xs = painted_x(lean, bend, rows, shift)
        distance = 2000.0 / (rows - VANISHING[1])  # metres ahead, roughly
        painted = (distance % 9.0 < 3.0) if dashed else np.ones(len(rows), bool)
        half = 0.5 + 0.03 * (rows - VANISHING[1])
        for x, y, h, on in zip(xs, rows, half, painted, strict=True):
            if on:
                cv2.line(image, (round((x - h) * 4), round(y * 4)), (round((x + h) * 4), round(y * 4)), colour,
                         1, shift=2)
    return np.clip(image, 0, 255).astype(np.uint8)


WHITE, YELLOW = (235, 235, 235), (225, 190, 40)
LINES = [(-1.4, 0.0, YELLOW, False), (-0.5, 0.0, WHITE, False), (0.5, 0.0, WHITE, True), (1.4, 0.0, WHITE, False)]


def near(proposal, lean: float, bend: float = 0.0, shift: float = 0.0) -> float:
    """Largest |x error| of a proposal over ROWS where the painted line is on the image."""
    xs = fit_lane(proposal.points).sample_rows(ROWS)
    truth = painted_x(lean, bend, ROWS, shift)
    inside = (truth >= 0) & (truth <= WIDTH - 1)
    assert np.all(xs[inside] != MISSING)
    return float(np.max(np.abs(xs[inside] - truth[inside])))


def test_painted_lines_are_found_in_place_left_to_right_with_style_and_colour():
    lanes = propose_lanes(road(LINES))
    assert [lane.position for lane in lanes] == [-2, -1, 1, 2]
    assert [lane.style for lane in lanes] == ["solid", "solid", "dashed", "solid"]
    assert [lane.color for lane in lanes] == ["yellow", "white", "white", "white"]
    for lane, (lean, bend, _, _) in zip(lanes, LINES, strict=True):
        assert near(lane, lean, bend) < 3.0
        assert 0.0 < lane.confidence <= 1.0
        assert lane.points.shape[1] == 2 and np.all(np.diff(lane.points[:, 1]) > 0)  # far end first


def test_a_bending_line_is_followed():
    lines = [(-0.6, 0.0, WHITE, False), (0.6, 0.001, WHITE, False)]
    lanes = propose_lanes(road(lines))
    assert len(lanes) == 2
    assert near(lanes[1], 0.6, 0.001) < 4.0  # a chord through its ends is 7 px off mid-way


def test_a_grey_frame_works_and_every_lane_is_white():
    lanes = propose_lanes(cv2.cvtColor(road(LINES), cv2.COLOR_RGB2GRAY))
    assert len(lanes) == 4 and {lane.color for lane in lanes} == {"white"}


def test_an_empty_road_gets_no_proposal():
    assert propose_lanes(road([])) == []


def test_a_bad_image_is_refused_with_a_clear_error():
    with pytest.raises(RoadlabelError, match="uint8"):
        propose_lanes(np.zeros((HEIGHT, WIDTH, 3), np.float32), where="frame 3")


def test_a_larger_frame_gives_the_same_lanes_at_its_scale():
    big = cv2.resize(road(LINES), (2 * WIDTH, 2 * HEIGHT), interpolation=cv2.INTER_LINEAR)
    lanes = propose_lanes(big)
    assert len(lanes) == 4
    for lane, (lean, bend, _, _) in zip(lanes, LINES, strict=True):
        halved = type(lane)(lane.points / 2, lane.position, lane.style, lane.color, lane.confidence)
        assert near(halved, lean, bend) < 3.0


# ---------------------------------------------------------------------------------------------- the assistant


def suggestions(project, frames, frame_range):
    return list(make_assistant("lanes").suggest(AssistContext(project, frames, frame_range)))


def test_the_assistant_links_each_line_over_frames_into_one_new_lane(project):
    frames = [road(LINES, shift=2.0 * index, seed=index) for index in range(4)]
    found = suggestions(project, frames, range(4))
    assert isinstance(make_assistant("lanes"), LaneProposer)
    assert len(found) == 16
    tracks: dict[int, list] = {}
    for suggestion in found:
        assert suggestion.class_name == "lane-line" and suggestion.geometry.kind is GeometryKind.POLYLINE
        assert suggestion.track_id is None and set(suggestion.attributes) == {"style", "color"}
        tracks.setdefault(suggestion.new_track, []).append(suggestion)
    assert len(tracks) == 4
    for members in tracks.values():
        assert sorted(member.frame for member in members) == [0, 1, 2, 3]
        assert len({member.attributes["color"] for member in members}) == 1
    colours = sorted(members[0].attributes["color"] for members in tracks.values())
    assert colours == ["white", "white", "white", "yellow"]


def test_lanes_labeled_already_are_not_proposed_again(project):
    frames = [road(LINES, seed=index) for index in range(2)]
    track = project.add_track("lane-line", {"color": "white"})
    rows = np.linspace(170, HEIGHT - 1, 8)
    labeled = np.column_stack([painted_x(-0.5, 0.0, rows), rows])  # the left white line, on frame 0 only
    project.set_state(track.id, 0, make_geometry("polyline", labeled))
    found = suggestions(project, frames, range(2))
    on_first = [s for s in found if s.frame == 0]
    assert len(on_first) == 3
    assert all(lane_distance(s.geometry.points, labeled, HEIGHT) > 20 for s in on_first)
    assert len([s for s in found if s.frame == 1]) == 4


# ------------------------------------------------------------------------------------------- a real frame

TUSIMPLE = SHARED_DATA / "tusimple-lanenet6"


def test_a_real_tusimple_frame_gets_lanes_near_its_truth():
    if not (TUSIMPLE / "label_data.json").exists():
        pytest.skip(f"the TuSimple frames are not in {TUSIMPLE}")
    label = json.loads((TUSIMPLE / "label_data.json").read_text().splitlines()[0])
    image = cv2.cvtColor(cv2.imread(str(TUSIMPLE / label["raw_file"])), cv2.COLOR_BGR2RGB)
    lanes = propose_lanes(image)
    predicted = [fit_lane(lane.points).sample_rows(label["h_samples"]).tolist() for lane in lanes]
    score = tusimple_frame(predicted, label["lanes"], label["h_samples"])
    assert score.accuracy >= 0.85 and score.fn <= 0.25
