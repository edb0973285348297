"""Runs of per-frame attribute values over a track (the attribute panel's timeline)."""

from napari_roadlabel.core import box
from napari_roadlabel.core.timeline import Run, attribute_runs, describe_runs, frame_runs


def test_a_light_red_then_green_then_red(project):
    light = project.add_track("traffic-light")
    project.set_state(light.id, 0, box(10, 10, 20, 40), {"state": "red"})
    for frame in range(1, 60):
        project.set_state(light.id, frame, box(10, 10, 20, 40))  # the value holds until changed
    project.set_state(light.id, 60, box(10, 10, 20, 40), {"state": "green"})
    project.set_state(light.id, 90, box(10, 10, 20, 40), {"state": "red"})
    runs = attribute_runs(project.states_of(light.id), "state")
    assert runs == [Run(0, 59, "red"), Run(60, 60, "green"), Run(90, 90, "red")]
    assert describe_runs(runs) == "red 0-59, green 60, red 90"


def test_no_states_no_runs():
    assert attribute_runs([], "state") == [] and describe_runs([]) == ""


def test_frame_runs_break_on_a_new_value_and_on_a_gap():
    assert frame_runs([(0, "a"), (1, "a"), (2, "b"), (4, "b"), (5, "b")]) == [[0, 1, "a"], [2, 2, "b"], [4, 5, "b"]]
    assert frame_runs([]) == []
