"""Boxes cut by the image border: flow carries the whole object past the border and writes its visible part.

The annotator draws what is visible, so a sign leaving through the border is keyed as a sliver.  Carried
as that sliver, its cut edge would stay on the border while the object comes back into view; carried as
the whole object (its extent from the keyframe where no border cuts it), it comes out whole.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_roadlabel.core import box
from napari_roadlabel.sample import RoadSceneConfig, make_road_sequence
from napari_roadlabel.temporal.propagation import propagate
from napari_roadlabel.temporal.shape_distance import mean_distance

from .conftest import WIDTH, keyed_truth_project

FRAMES = 90
CAR = np.array([-20.0, 40.0, 10.0, 70.0])  # a car 30 px wide, 20 px of it left of the image on frame 0
SPEED = 3.0  # px per frame to the right: it drives into view


def _visible(shape: np.ndarray):
    return box(*np.clip(shape, 0, WIDTH))


def test_a_box_entering_at_the_border_is_carried_whole(new_project, texture):
    project = new_project(13)
    car = project.add_track("vehicle")
    project.set_state(car.id, 0, _visible(CAR))  # the sliver still inside
    project.set_state(car.id, 12, _visible(CAR + 12 * SPEED * np.array([1, 0, 1, 0])))  # wholly inside
    result = propagate(project, texture.video((SPEED, 0.0), 13), method="flow")
    assert result.stops == []
    errors = {state.frame: mean_distance(state.geometry, _visible(CAR + state.frame * SPEED * np.array([1, 0, 1, 0])))
              for state in result.states}
    assert sorted(errors) == [*range(1, 12)]
    # Measured: at most 0.09 px (carried as the sliver it is keyed as: 4.5 px off on frame 6, its left edge
    # 9 px right of the border).
    assert max(errors.values()) < 0.5, errors


def _sign_leaving_left(sequence) -> int:
    """The truth track of the speed-limit sign that leaves through the left border on the clip's last frame."""
    last = {}
    for state in sequence.states:
        last[state.track_id] = state  # states come in frame order
    sign = next(track.id for track in sequence.tracks if track.class_name == "traffic-sign"
                and last[track.id].geometry.points[0, 0] <= 0.5 and last[track.id].frame == FRAMES - 1)
    assert last[sign].geometry.points[1, 0] < 0.05 * sequence.frames.shape[2]  # a sliver of it is keyed
    return sign


@pytest.fixture(scope="module")
def sign_errors(tmp_path_factory) -> dict[int, float]:
    """The leaving sign keyed on the first and last frame it is visible: each propagated state's distance
    from the truth, px."""
    sequence = make_road_sequence(RoadSceneConfig(frames=FRAMES))
    sign = _sign_leaving_left(sequence)
    frames = [state.frame for state in sequence.states if state.track_id == sign]
    keys = {"sign": (sign, "traffic-sign", None, (min(frames), max(frames)))}
    project, truth, tracks = keyed_truth_project(tmp_path_factory.mktemp("border") / "project", sequence, keys)
    with project:
        result = propagate(project, sequence.frames, method="flow")
    return {state.frame: mean_distance(state.geometry, truth[sign][state.frame].geometry) for state in result.states}


def test_a_sign_leaving_through_the_border_is_carried_back_whole(sign_errors):
    worst = max(sign_errors, key=sign_errors.get)
    print(f"worst {sign_errors[worst]:.2f} px at frame {worst}")
    assert len(sign_errors) >= 80
    # Measured: at most 1.4 px (carried back as the sliver it is keyed as: 44 states over 3 px, up to 11 px).
    assert sign_errors[worst] <= 3.0
