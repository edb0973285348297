"""Lane proposals on painted roads whose lines are known: places, order, style, colour, and the assistant."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from napari_roadlabel.assist import AssistContext, make_assistant
from napari_roadlabel.assist.lane_proposals import LaneProposer, lane_distance, propose_lanes
from napari_roadlabel.assist.run import compute_suggestions
from napari_roadlabel.core import GeometryKind, RoadlabelError, make_geometry
from napari_roadlabel.core.lanes import MISSING, fit_lane
from napari_roadlabel.qa.checks import run_checks
from napari_roadlabel.qa.lane_metrics import tusimple_frame

from ..conftest import SHARED_DATA

WIDTH, HEIGHT = 640, 360
VANISHING = (320.0, 144.0)
ROWS = np.arange(190.0, HEIGHT, 10.0)  # rows where every painted line below is on the image


def painted_x(lean: float, bend: float, rows: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """x of a painted line at these rows: through the vanishing point, leaning ``lean`` (dx/dy), on a road bending
    by ``bend`` (a road of constant curvature carries its lines sideways by bend / depth below the horizon)."""
    below = rows - VANISHING[1]
    return VANISHING[0] + shift + lean * below + bend / below


def road(lines, *, shift: float = 0.0, seed: int = 0, edges: tuple[float, float] | None = None) -> np.ndarray:
    """A grey textured road below a sky, with ``lines`` = [(lean, bend, colour, dashed), ...] painted on it;
    paint widens towards the camera and dashes shorten towards the horizon, as in perspective.  With ``edges``
    (two leans) the asphalt ends there, grass beyond."""
    rng = np.random.default_rng(seed)
    image = np.empty((HEIGHT, WIDTH, 3), np.float32)
    image[: int(VANISHING[1])] = (150, 180, 220)
    image[int(VANISHING[1]):] = (95, 95, 98)
    if edges is not None:
        below = np.arange(int(VANISHING[1]) + 1, HEIGHT)
        columns = np.arange(WIDTH)[None, :]
        grass = ((columns < painted_x(edges[0], 0.0, below, shift)[:, None])
                 | (columns > painted_x(edges[1], 0.0, below, shift)[:, None]))
        image[below[0]:][grass] = (70, 110, 45)
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


def test_a_bending_road_is_followed():
    lines = [(-0.6, 600.0, WHITE, False), (0.6, 600.0, WHITE, True)]
    lanes = propose_lanes(road(lines))
    assert len(lanes) == 2
    for lane, (lean, bend, _, _) in zip(lanes, lines, strict=True):
        assert near(lane, lean, bend) < 2.0  # a chord through its ends is 3.6 px off mid-way


def test_proposals_lie_on_the_centre_of_the_paint():
    for lane, (lean, bend, _, _) in zip(propose_lanes(road(LINES, shift=0.3)), LINES, strict=True):
        xs = fit_lane(lane.points).sample_rows(ROWS)
        assert np.mean(np.abs(xs - painted_x(lean, bend, ROWS, 0.3))) < 1.0  # px: the annotator's tolerance is 3


def test_the_road_edges_are_proposed_where_the_asphalt_ends_when_asked():
    image = road(LINES, edges=(-2.6, 2.6))
    assert [lane.kind for lane in propose_lanes(image)] == ["lane-marking"] * 4
    lanes = propose_lanes(image, road_edges=True)
    assert [lane.kind for lane in lanes] == ["road-edge"] + ["lane-marking"] * 4 + ["road-edge"]
    for lane, lean in ((lanes[0], -2.6), (lanes[-1], 2.6)):
        assert lane.color == "other" and near(lane, lean) < 3.0


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


def suggestions(project, frames, frame_range, **options):
    return list(make_assistant("lanes", **options).suggest(AssistContext(project, frames, frame_range)))


def test_the_assistant_links_each_line_over_frames_into_one_new_lane(project):
    frames = [road(LINES, shift=2.0 * index, seed=index) for index in range(8)]
    found = suggestions(project, frames, range(8))
    assert isinstance(make_assistant("lanes"), LaneProposer)
    assert len(found) == 32
    tracks: dict[int, list] = {}
    for suggestion in found:
        assert suggestion.class_name == "lane-line" and suggestion.geometry.kind is GeometryKind.POLYLINE
        assert suggestion.track_id is None and set(suggestion.attributes) == {"style", "color", "kind"}
        assert suggestion.attributes["kind"] == "lane-marking"  # the test road has no edge: sky meets asphalt
        tracks.setdefault(suggestion.new_track, []).append(suggestion)
    assert len(tracks) == 4
    for members in tracks.values():
        assert sorted(member.frame for member in members) == list(range(8))
        assert len({member.attributes["color"] for member in members}) == 1
    colours = sorted(members[0].attributes["color"] for members in tracks.values())
    assert colours == ["white", "white", "white", "yellow"]


def test_a_lane_missed_on_a_few_frames_stays_one_track_filled_between_and_a_glimpse_is_dropped(project):
    glimpse = (0.9, 0.0, WHITE, False)  # painted on two frames only: a flicker

    def lines_on(frame):
        if frame in (3, 4):
            return LINES[:3]  # the right line is missed
        return LINES + [glimpse] if frame < 2 else LINES

    frames = [road(lines_on(index), shift=1.5 * index, seed=index) for index in range(10)]
    tracks: dict[int, list] = {}
    for suggestion in suggestions(project, frames, range(10), road_edges=False):
        tracks.setdefault(suggestion.new_track, []).append(suggestion)
    assert len(tracks) == 4
    right = max(tracks.values(), key=lambda members: members[0].geometry.points[-1, 0])
    assert sorted(member.frame for member in right) == list(range(10))
    for member in right:
        xs = fit_lane(member.geometry.points).sample_rows(ROWS)
        truth = painted_x(1.4, 0.0, ROWS, 1.5 * member.frame)
        inside = (truth >= 0) & (truth <= WIDTH - 1) & (xs != MISSING)
        assert inside.sum() >= 5 and np.mean(np.abs(xs[inside] - truth[inside])) < 1.5
    filled = {member.frame: member.confidence for member in right}
    assert filled[3] < filled[2] and filled[4] < filled[5]


def test_lanes_labeled_already_are_not_proposed_again(project):
    frames = [road(LINES, seed=index) for index in range(2)]
    track = project.add_track("lane-line", {"color": "white"})
    rows = np.linspace(170, HEIGHT - 1, 8)
    labeled = np.column_stack([painted_x(-0.5, 0.0, rows), rows])  # the left white line, on frame 0 only
    project.set_state(track.id, 0, make_geometry("polyline", labeled))
    found = suggestions(project, frames, range(2), min_frames=1)
    on_first = [s for s in found if s.frame == 0 and s.geometry is not None]
    assert len(on_first) == 3
    assert all(lane_distance(s.geometry.points, labeled, HEIGHT) > 20 for s in on_first)
    assert len([s for s in found if s.frame == 1 and s.geometry is not None]) == 4


def test_a_labeled_lane_gets_the_paints_style_and_colour_and_a_wrong_label_is_a_qa_finding(project):
    frames = [road(LINES, seed=index) for index in range(8)]
    rows = np.linspace(170, HEIGHT - 1, 8)
    yellow_line = project.add_track("lane-line")  # its colour left at the default (white): not set by a person
    dashed_line = project.add_track("lane-line", {"color": "yellow"})  # a person's mistake: it is white
    for frame in range(8):
        for track, lean, style in ((yellow_line, -1.4, "solid"), (dashed_line, 0.5, "dashed")):
            project.set_state(track.id, frame, make_geometry("polyline", np.column_stack([
                painted_x(lean, 0.0, rows), rows])), {"style": style})
    run = compute_suggestions(project, LaneProposer(road_edges=False), frames, frame_range=range(8))
    written = run.write(project)
    on_labeled = [s for s in run.suggestions if s.track_id is not None]
    assert {(s.track_id, key, value) for s in on_labeled for key, value in s.attributes.items()} == {
        (yellow_line.id, "color", "yellow"), (yellow_line.id, "style", "solid"),
        (dashed_line.id, "color", "white"), (dashed_line.id, "style", "dashed")}
    assert (written.attributes, written.disputed) == (1, 1)  # yellow proposed; white against a person's yellow
    [finding] = [f for f in run_checks(project) if f.check == "suggestion-disagrees"]
    assert finding.track_ids == (dashed_line.id,) and "says color 'white'" in finding.message
    assert project.track(dashed_line.id).attributes["color"] == "yellow"  # a finding, never an overwrite


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
