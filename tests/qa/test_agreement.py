"""Agreement between two annotations of one sequence: exact numbers on small constructed projects."""

import json

import numpy as np
import pytest

from napari_roadlabel.core import FormatError, Project, ProjectError, SequenceInfo, Source, box, make_geometry
from napari_roadlabel.core.geometry import make_mask
from napari_roadlabel.qa.agreement import compare_projects, compare_suggestions, polygon_mask

LEFT_LANE = [(200, 100), (180, 200), (160, 359)]
RIGHT_LANE = [(440, 100), (460, 200), (480, 359)]


@pytest.fixture
def projects(tmp_path):
    """Two empty 100-frame 640x360 projects of the same clip: the reference and the candidate."""
    with (Project.create(tmp_path / "a", SequenceInfo("clip.mp4", 100, 640, 360, 30.0)) as reference,
          Project.create(tmp_path / "b", SequenceInfo("clip.mp4", 100, 640, 360, 30.0)) as candidate):
        yield reference, candidate


def add(project, class_name, geometry, frames=range(1), attributes=None, source=Source.MANUAL, track=None):
    """A new track of ``class_name`` with ``geometry`` on ``frames``."""
    new = project.add_track(class_name, track)
    for frame in frames:
        project.set_state(new.id, frame, geometry, attributes, source=source)
    return new


def lane(points, dx=0.0):
    return make_geometry("polyline", np.asarray(points, dtype=float) + [dx, 0.0])


def square(x, y, size=100):
    return make_geometry("polygon", [(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def scene(project, frames=range(5)):
    """A bit of everything: two lanes, two vehicles, a traffic light, a crosswalk."""
    add(project, "lane-line", lane(LEFT_LANE), frames)
    add(project, "lane-line", lane(RIGHT_LANE), frames, track={"color": "yellow"})
    add(project, "vehicle", box(100, 200, 180, 260), frames)
    add(project, "vehicle", box(400, 210, 500, 300), frames, {"occluded": True}, track={"type": "truck"})
    add(project, "traffic-light", box(300, 20, 315, 60), frames, {"state": "red"})
    add(project, "crosswalk", square(250, 250), frames)


def test_identical_projects_agree_everywhere(projects):
    for project in projects:
        scene(project)
    result = compare_projects(*projects).to_dict()
    overall = result["overall"]
    assert result["frames_compared"] == 100 and result["iou_threshold"] == 0.5
    assert overall["lanes"]["tusimple"] == {"accuracy": 1.0, "fp": 0.0, "fn": 0.0}
    assert overall["lanes"]["culane"] == {"tp": 10, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert overall["boxes"] == {"reference": 15, "candidate": 15, "matched": 15, "precision": 1.0, "recall": 1.0,
                                "f1": 1.0, "mean_iou": 1.0}
    assert overall["polygons"] == {"reference": 5, "candidate": 5, "matched": 5, "precision": 1.0, "recall": 1.0,
                                   "f1": 1.0, "mean_iou": 1.0}
    # Per matched pair: lanes 4 attributes, vehicles 3, the light 4 -> (2 * 4 + 2 * 3 + 4 + 0) * 5 frames.
    assert overall["attributes"]["compared"] == 90 and overall["attributes"]["rate"] == 1.0
    assert all(entry["rate"] == 1.0 for entry in overall["attributes"]["by_attribute"].values())
    assert overall["light_states"] == {"compared": 5, "agreeing": 5, "rate": 1.0}
    assert result["per_frame"][0] == {"frame": 0, "lanes_tusimple_accuracy": 1.0, "lanes_culane_f1": 1.0,
                                      "boxes_f1": 1.0, "polygons_f1": 1.0, "attributes_rate": 1.0,
                                      "light_states_rate": 1.0}
    assert set(result["per_frame"][5].values()) == {5, None}  # nothing on frame 5


def test_a_box_moved_past_the_threshold_is_one_false_positive_and_one_miss(projects):
    reference, candidate = projects
    for project, dx in ((reference, 0), (candidate, 60)):
        add(project, "vehicle", box(400, 100, 500, 200))
        add(project, "vehicle", box(100 + dx, 100, 200 + dx, 200))  # IoU 40 x 100 / (2 * 10000 - 4000) = 0.25
    boxes = compare_projects(reference, candidate).to_dict()["overall"]["boxes"]
    assert boxes == {"reference": 2, "candidate": 2, "matched": 1, "precision": 0.5, "recall": 0.5, "f1": 0.5,
                     "mean_iou": 1.0}
    looser = compare_projects(reference, candidate, iou_threshold=0.25).to_dict()["overall"]["boxes"]
    assert looser["matched"] == 2 and looser["mean_iou"] == pytest.approx((1.0 + 0.25) / 2)


def test_boxes_match_only_within_their_class(projects):
    reference, candidate = projects
    add(reference, "vehicle", box(100, 100, 200, 200))
    add(candidate, "pedestrian", box(100, 100, 200, 200))
    boxes = compare_projects(reference, candidate).to_dict()["overall"]["boxes"]
    assert (boxes["matched"], boxes["f1"]) == (0, 0.0)


def test_polygon_iou_is_counted_in_pixels(projects):
    reference, candidate = projects
    add(reference, "crosswalk", square(100, 100))
    add(candidate, "crosswalk", square(150, 100))  # half of each square is shared: IoU 5000 / 15000
    assert compare_projects(reference, candidate).to_dict()["overall"]["polygons"]["matched"] == 0
    polygons = compare_projects(reference, candidate, iou_threshold=0.3).to_dict()["overall"]["polygons"]
    assert polygons["matched"] == 1 and polygons["mean_iou"] == pytest.approx(1 / 3, abs=1e-12)


def test_a_mask_is_matched_to_the_polygon_it_paints(projects):
    reference, candidate = projects
    add(reference, "vehicle", square(100, 100, size=50))
    pixels = np.zeros((50, 50), dtype=bool)
    pixels[:, :25] = True  # the left half of the square, painted
    add(candidate, "vehicle", make_mask(pixels, (100, 100)))
    polygons = compare_projects(reference, candidate, iou_threshold=0.5).to_dict()["overall"]["polygons"]
    assert polygons["matched"] == 1 and polygons["mean_iou"] == pytest.approx(0.5, abs=1e-12)


def test_one_attribute_disagreeing_on_one_of_four_objects(projects):
    reference, candidate = projects
    for project in projects:
        for index in range(4):
            occluded = project is candidate and index == 2
            x = 10 + 150 * index
            add(project, "vehicle", box(x, 100, x + 100, 200), attributes={"occluded": occluded})
    attributes = compare_projects(reference, candidate).to_dict()["overall"]["attributes"]
    assert attributes["compared"] == 12 and attributes["agreeing"] == 11  # 4 vehicles x (type, occluded, truncated)
    assert attributes["by_attribute"]["vehicle.occluded"] == {"compared": 4, "agreeing": 3, "rate": 0.75}
    assert attributes["by_attribute"]["vehicle.type"]["rate"] == 1.0


def test_light_states_differing_on_some_frames(projects):
    reference, candidate = projects
    for project in projects:
        light = project.add_track("traffic-light")
        for frame in range(10):
            state = "green" if project is candidate and frame < 3 else "red"
            flashing = project is candidate and frame == 3
            project.set_state(light.id, frame, box(300, 20, 315, 60), {"state": state, "flashing": flashing})
    result = compare_projects(reference, candidate).to_dict()
    assert result["overall"]["light_states"] == {"compared": 10, "agreeing": 6, "rate": 0.6}
    by_attribute = result["overall"]["attributes"]["by_attribute"]
    assert by_attribute["traffic-light.state"]["rate"] == 0.7
    assert by_attribute["traffic-light.flashing"]["rate"] == 0.9
    assert [row["light_states_rate"] for row in result["per_frame"][:5]] == [0.0, 0.0, 0.0, 0.0, 1.0]


def test_a_lane_moved_100_px_is_a_false_positive_and_a_miss(projects):
    reference, candidate = projects
    for project, dx in ((reference, 0), (candidate, 100)):
        add(project, "lane-line", lane(LEFT_LANE, dx))
        add(project, "lane-line", lane(RIGHT_LANE))
    result = compare_projects(reference, candidate, frames=range(1)).to_dict()
    lanes = result["overall"]["lanes"]
    assert lanes["culane"] == {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert 0.5 < lanes["tusimple"]["accuracy"] < 1.0
    assert lanes["tusimple"]["fn"] == 0.5 and lanes["tusimple"]["fp"] == 0.5
    # Only the lane left in place is paired, so only its attributes are compared.
    assert result["overall"]["attributes"]["by_attribute"]["lane-line.style"]["compared"] == 1


def test_tusimple_scores_the_two_lanes_a_side_of_the_car_however_many_are_drawn(projects):
    reference, candidate = projects
    for project in projects:
        for bottom in range(20, 620, 100):  # six lane lines, three a side of the car (x = 320)
            add(project, "lane-line", lane([[bottom, 359], [320 + (bottom - 320) * 0.3, 200]]))
    lanes = compare_projects(reference, candidate, frames=range(1)).to_dict()["overall"]["lanes"]
    assert lanes["tusimple"] == {"accuracy": 1.0, "fp": 0.0, "fn": 0.0}  # not 6/4: four lanes are scored
    assert lanes["culane"]["tp"] == 6


def test_lanes_on_one_side_only(projects):
    reference, candidate = projects
    add(reference, "lane-line", lane(LEFT_LANE))
    lanes = compare_projects(reference, candidate, frames=range(1)).to_dict()["overall"]["lanes"]
    assert lanes["culane"] == {"tp": 0, "fp": 0, "fn": 1, "precision": None, "recall": 0.0, "f1": 0.0}
    assert lanes["tusimple"] == {"accuracy": 0.0, "fp": 0.0, "fn": 1.0}


@pytest.mark.parametrize("other", [SequenceInfo("clip.mp4", 90, 640, 360), SequenceInfo("clip.mp4", 100, 1280, 720)])
def test_another_sequence_is_refused_naming_both_folders(projects, tmp_path, other):
    reference, _ = projects
    with Project.create(tmp_path / "other", other) as candidate, pytest.raises(ProjectError) as caught:
        compare_projects(reference, candidate)
    assert str(reference.folder) in str(caught.value) and str(candidate.folder) in str(caught.value)


def test_bad_frames_or_threshold_are_refused(projects):
    with pytest.raises(ProjectError, match="inside the sequence"):
        compare_projects(*projects, frames=range(95, 105))
    with pytest.raises(FormatError, match="iou_threshold"):
        compare_projects(*projects, iou_threshold=0.0)


def test_suggestions_are_the_candidate_against_the_labels(projects):
    project, _ = projects
    add(project, "vehicle", box(100, 100, 200, 200))
    add(project, "vehicle", box(105, 100, 205, 200), source=Source.SUGGESTED)  # IoU 95 / 105
    add(project, "vehicle", box(400, 100, 500, 200), source=Source.SUGGESTED)  # nothing there
    result = compare_suggestions(project).to_dict()
    assert result["reference"].endswith("(labels)") and result["candidate"].endswith("(suggestions)")
    boxes = result["overall"]["boxes"]
    assert (boxes["reference"], boxes["candidate"], boxes["matched"]) == (1, 2, 1)
    assert boxes["precision"] == 0.5 and boxes["recall"] == 1.0 and boxes["mean_iou"] == pytest.approx(95 / 105)
    # Between projects, suggestions are nobody's annotation: left out.
    assert compare_projects(project, project).to_dict()["overall"]["boxes"]["candidate"] == 1


def test_empty_projects_have_nothing_to_compare(projects):
    calls = []
    result = compare_projects(*projects, progress=calls.append).to_dict()
    overall = result["overall"]
    assert result["frames_compared"] == 100 and sum(calls) == 100
    assert overall["lanes"]["tusimple"] == {"accuracy": None, "fp": None, "fn": None}
    assert overall["lanes"]["culane"] == {"tp": 0, "fp": 0, "fn": 0, "precision": None, "recall": None, "f1": None}
    assert overall["boxes"] == {"reference": 0, "candidate": 0, "matched": 0, "precision": None, "recall": None,
                                "f1": None, "mean_iou": None}
    assert overall["attributes"] == {"compared": 0, "agreeing": 0, "rate": None, "by_attribute": {}}
    assert overall["light_states"]["rate"] is None
    assert all(value is None for row in result["per_frame"] for key, value in row.items() if key != "frame")


def test_only_the_chosen_frames_are_compared(projects):
    for project in projects:
        scene(project, frames=range(10))
    result = compare_projects(*projects, frames=range(0, 10, 2)).to_dict()
    assert [row["frame"] for row in result["per_frame"]] == [0, 2, 4, 6, 8]
    assert result["overall"]["boxes"]["matched"] == 15


def test_to_dict_is_json_with_exactly_the_report_keys(projects):
    for project in projects:
        scene(project)
    result = json.loads(json.dumps(compare_projects(*projects).to_dict()))
    detection = {"precision", "recall", "f1"}
    shapes = {"reference", "candidate", "matched", "mean_iou"} | detection
    tally = {"compared", "agreeing", "rate"}
    assert set(result) == {"reference", "candidate", "frames_compared", "iou_threshold", "overall", "per_frame"}
    overall = result["overall"]
    assert set(overall) == {"lanes", "boxes", "polygons", "attributes", "light_states"}
    assert set(overall["lanes"]) == {"tusimple", "culane"}
    assert set(overall["lanes"]["tusimple"]) == {"accuracy", "fp", "fn"}
    assert set(overall["lanes"]["culane"]) == {"tp", "fp", "fn"} | detection
    assert set(overall["boxes"]) == set(overall["polygons"]) == shapes
    assert set(overall["attributes"]) == tally | {"by_attribute"}
    assert "traffic-light.state" in overall["attributes"]["by_attribute"]
    assert all(set(entry) == tally for entry in overall["attributes"]["by_attribute"].values())
    assert set(overall["light_states"]) == tally
    assert all(set(row) == {"frame", "lanes_tusimple_accuracy", "lanes_culane_f1", "boxes_f1", "polygons_f1",
                            "attributes_rate", "light_states_rate"} for row in result["per_frame"])


def test_polygon_pixels_are_those_whose_centre_is_inside():
    square = polygon_mask(np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float), (12, 12))
    assert square.sum() == 100 and square[:10, :10].all()
    sliver = polygon_mask(np.array([[0, 0.2], [12, 0.2], [12, 0.4], [0, 0.4]], dtype=float), (12, 12))
    assert sliver.sum() == 0  # a strip between row 0's top and its centre holds no pixel centre
