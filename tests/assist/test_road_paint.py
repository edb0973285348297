"""Road paint proposals on synthetic frames with known markings: a stop line, a crosswalk and a school zone on
a grey road, alone, together and over frames."""

from __future__ import annotations

import cv2
import numpy as np

from napari_roadlabel.assist import AssistContext, make_assistant
from napari_roadlabel.assist.road_paint import CROSSWALK, SCHOOL_ZONE, STOP_LINE, find_markings
from napari_roadlabel.core.annotations import Source
from napari_roadlabel.core.geometry import make_geometry
from napari_roadlabel.temporal.shape_distance import mean_distance

WIDTH, HEIGHT = 640, 360
ASPHALT, WHITE, YELLOW, SCHOOL = (98, 98, 102), (234, 234, 228), (238, 182, 38), (150, 78, 68)


def road(seed: int = 0) -> np.ndarray:
    """A grey road over the whole frame with a little noise, a yellow line and a white lane line along it."""
    rng = np.random.default_rng(seed)
    image = np.empty((HEIGHT, WIDTH, 3), np.float64)
    image[:] = ASPHALT
    image += rng.normal(0, 2.0, image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    cv2.line(image, (200, HEIGHT - 1), (300, 0), YELLOW, 4)
    cv2.line(image, (500, HEIGHT - 1), (400, 0), WHITE, 3)
    return image


def stop_line(image: np.ndarray, y: int, x0: int = 150, x1: int = 470, thickness: int = 6) -> np.ndarray:
    """A white bar across the road, rows y..y+thickness-1; returns its truth: the middle line."""
    image[y:y + thickness, x0:x1 + 1] = WHITE
    middle = y + (thickness - 1) / 2
    return np.array([[x0, middle], [x1, middle]], float)


def crosswalk(image: np.ndarray, y0: int, y1: int, x0: int = 100, bars: int = 9, bar: int = 20, gap: int = 22):
    """Bars side by side across the road, rows y0..y1; returns its truth: the outline of the bars with half a gap
    either side."""
    for index in range(bars):
        left = x0 + index * (bar + gap)
        image[y0:y1 + 1, left:left + bar] = WHITE
    right = x0 + bars * (bar + gap) - gap
    return np.array([[x0 - gap / 2 - 0.5, y0 - 0.5], [right + gap / 2 - 0.5, y0 - 0.5],
                     [right + gap / 2 - 0.5, y1 + 0.5], [x0 - gap / 2 - 0.5, y1 + 0.5]])


def school_zone(image: np.ndarray) -> np.ndarray:
    """A red-tinted trapezoid on the road; returns its outline."""
    outline = np.array([[220, 200], [420, 200], [520, 340], [150, 340]], float)
    cv2.fillPoly(image, [outline.astype(np.int32)], SCHOOL)
    return outline


def only(markings, class_name):
    found = [marking.geometry for marking in markings if marking.class_name == class_name]
    assert len(found) == 1, f"{len(found)} {class_name} found"
    return found[0]


def test_a_plain_road_with_lane_lines_has_no_markings():
    assert find_markings(road()) == []


def test_a_bar_across_the_road_is_a_stop_line_through_its_middle():
    image = road()
    truth = stop_line(image, 250)
    found = only(find_markings(image), STOP_LINE)
    assert mean_distance(found, make_geometry("polyline", truth)) < 3.0


def test_bars_side_by_side_are_one_crosswalk_outlined_around_them():
    image = road()
    truth = crosswalk(image, 150, 200)
    found = only(find_markings(image), CROSSWALK)
    assert mean_distance(found, make_geometry("polygon", truth)) < 3.0
    assert not [marking for marking in find_markings(image) if marking.class_name == STOP_LINE]


def test_a_tinted_area_is_a_school_zone_and_paint_on_it_stays_inside():
    image = road()
    truth = school_zone(image)
    cv2.arrowedLine(image, (330, 330), (330, 230), WHITE, 12)  # an arrow painted on the zone
    found = only(find_markings(image), SCHOOL_ZONE)
    assert mean_distance(found, make_geometry("polygon", truth)) < 3.0


def test_a_stop_line_before_a_crosswalk_are_both_found():
    image = road()
    crosswalk_truth = crosswalk(image, 120, 170)
    line_truth = stop_line(image, 200)
    markings = find_markings(image)
    assert mean_distance(only(markings, STOP_LINE), make_geometry("polyline", line_truth)) < 3.0
    assert mean_distance(only(markings, CROSSWALK), make_geometry("polygon", crosswalk_truth)) < 3.0


# ---------------------------------------------------------------------------------------------- the assistant

def approaching_stop_line(count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    frames, truths = [], []
    for index in range(count):
        image = road(seed=index)
        truths.append(stop_line(image, 200 + 4 * index, 150 - 3 * index, 470 + 3 * index))
        frames.append(image)
    return frames, truths


def test_a_stop_line_over_frames_is_one_new_track_on_every_frame(project):
    frames, truths = approaching_stop_line(8)
    found = list(make_assistant("road-paint").suggest(AssistContext(project, frames, range(8))))
    assert sorted(item.frame for item in found) == list(range(8))
    assert {item.class_name for item in found} == {STOP_LINE}
    assert len({item.new_track for item in found}) == 1
    assert all(mean_distance(item.geometry, make_geometry("polyline", truths[item.frame])) < 3.0 for item in found)


def test_a_flicker_is_no_track(project):
    frames, _ = approaching_stop_line(8)
    plain = [road(seed=index) for index in range(8)]
    flickering = [frames[index] if index % 2 == 0 else plain[index] for index in range(8)]
    assert list(make_assistant("road-paint").suggest(AssistContext(project, flickering, range(8)))) == []


def test_frames_where_a_person_labeled_the_marking_get_no_proposal(project):
    frames, truths = approaching_stop_line(8)
    track = project.add_track(STOP_LINE)
    project.set_state(track.id, 3, make_geometry("polyline", truths[3]), source=Source.MANUAL)
    found = list(make_assistant("road-paint").suggest(AssistContext(project, frames, range(8))))
    assert sorted(item.frame for item in found) == [0, 1, 2, 4, 5, 6, 7]


def test_only_the_frames_asked_for_get_proposals(project):
    frames, _ = approaching_stop_line(8)
    frame_range = range(2, 8)
    found = list(make_assistant("road-paint").suggest(AssistContext(project, frames, frame_range)))
    assert sorted(item.frame for item in found) == list(frame_range)


def test_a_frame_missed_inside_a_steady_track_leaves_the_track_whole(project):
    frames, _ = approaching_stop_line(10)
    frames[6] = road(seed=6)  # a blurred frame: nothing found
    found = list(make_assistant("road-paint").suggest(AssistContext(project, frames, range(10))))
    assert sorted(item.frame for item in found) == [0, 1, 2, 3, 4, 5, 7, 8, 9]
    assert len({item.new_track for item in found}) == 1
