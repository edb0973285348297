"""BDD100K / Scalabel JSON: export, the mapping report, round trips, BDD100K's own files, bad files refused whole."""

import json

import numpy as np
import pytest

from napari_roadlabel.core import FormatError, Project, RoadlabelError, Source, box, make_geometry, make_mask
from napari_roadlabel.io.formats.bdd100k import export_bdd100k, import_bdd100k
from napari_roadlabel.io.formats.report import report_path
from napari_roadlabel.io.projects import create_project

LEFT = [[10, 89], [40, 50], [60, 30]]  # x, y on the 160x90 clip
RIGHT = [[150, 89], [110, 50], [90, 30]]
CURB = [[0, 70], [5, 40]]
STOP = [[60, 60], [100, 60]]
CROSSWALK = [[40, 70], [120, 70], [125, 80], [35, 80]]
PERSON = [[20, 20], [30, 20], [30, 40], [20, 40]]


@pytest.fixture
def road_project(tmp_path, small_video):
    """clip.mp4 with every class BDD100K can hold, and some it cannot, mostly on frames 1 and 2."""
    with create_project(tmp_path / "p", small_video) as project:
        right = project.add_track("lane-line", {"color": "yellow"})  # track 1
        left = project.add_track("lane-line")  # 2
        curb = project.add_track("lane-line", {"kind": "curb"})  # 3
        stop = project.add_track("stop-line")  # 4
        crosswalk = project.add_track("crosswalk")  # 5
        light = project.add_track("traffic-light")  # 6
        sign = project.add_track("traffic-sign", {"type": "speed-limit", "value": 30})  # 7
        truck = project.add_track("vehicle", {"type": "truck"})  # 8
        person = project.add_track("pedestrian")  # 9
        bike = project.add_track("custom", {"label": "bicycle"})  # 10
        zone = project.add_track("school-zone")  # 11
        masked = project.add_track("vehicle")  # 12
        for frame in (1, 2):
            project.set_state(right.id, frame, make_geometry("polyline", RIGHT), {"style": "dashed"})
            project.set_state(left.id, frame, make_geometry("polyline", LEFT))
            project.set_state(light.id, frame, box(100, 5, 110, 30), {"state": "red" if frame == 1 else "green"})
            project.set_state(truck.id, frame, box(60.5, 40.25, 100, 70), {"occluded": True})
        project.set_state(left.id, 2, make_geometry("polyline", LEFT), {"split-merge": "split"})
        project.set_state(curb.id, 1, make_geometry("polyline", CURB))
        project.set_state(stop.id, 1, make_geometry("polyline", STOP))
        project.set_state(crosswalk.id, 1, make_geometry("polygon", CROSSWALK))
        project.set_state(sign.id, 1, box(130, 0, 140, 10))
        project.set_state(person.id, 2, make_geometry("polygon", PERSON))
        project.set_state(bike.id, 2, box(0, 0, 160, 90))
        project.set_state(zone.id, 1, make_geometry("polygon", CROSSWALK))
        project.set_state(masked.id, 1, make_mask(np.ones((4, 4), bool), (5, 5)))
        project.add_tag("school-zone-active", 0, 3)
    return tmp_path / "p"


def _frames(path):
    return json.loads(path.read_text())


def test_export_writes_one_frame_each_with_ids_categories_attributes_and_shapes(road_project, tmp_path):
    with Project.open(road_project) as project:
        export_bdd100k(project, tmp_path / "b.json", frames=range(0, 3))
    frames = _frames(tmp_path / "b.json")
    assert [(f["name"], f["videoName"], f["frameIndex"]) for f in frames] == [
        ("clip/000000.jpg", "clip", 0), ("clip/000001.jpg", "clip", 1), ("clip/000002.jpg", "clip", 2)]
    assert frames[0]["labels"] == []
    one = {label["id"]: label for label in frames[1]["labels"]}
    two = {label["id"]: label for label in frames[2]["labels"]}
    assert sorted(one, key=int) == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert one["1"]["category"] == "lane/single yellow"
    assert one["1"]["attributes"] == {"laneDirection": "parallel", "laneStyle": "dashed"}
    assert one["1"]["poly2d"] == [{"vertices": RIGHT, "types": "LLL", "closed": False}]
    assert (one["2"]["category"], one["3"]["category"]) == ("lane/single white", "lane/road curb")
    assert (one["4"]["category"], one["4"]["attributes"]["laneDirection"]) == ("lane/single white", "vertical")
    assert one["5"]["category"] == "lane/crosswalk" and one["5"]["poly2d"][0]["closed"] is True
    assert one["6"] == {"id": "6", "category": "traffic light", "attributes": {"trafficLightColor": "R"},
                        "box2d": {"x1": 100.0, "y1": 5.0, "x2": 109.0, "y2": 29.0}}  # Scalabel's inclusive x2, y2
    assert two["6"]["attributes"] == {"trafficLightColor": "G"}
    assert one["7"]["category"] == "traffic sign" and "attributes" not in one["7"]
    assert one["8"]["category"] == "truck"
    assert one["8"]["attributes"] == {"occluded": True, "truncated": False}
    assert two["9"]["category"] == "pedestrian" and two["9"]["poly2d"][0]["closed"] is True
    assert two["10"]["category"] == "bicycle" and two["10"]["box2d"] == {"x1": 0, "y1": 0, "x2": 159, "y2": 89}


def test_the_mapping_report_counts_what_bdd100k_cannot_hold(road_project, tmp_path):
    with Project.open(road_project) as project:
        report = export_bdd100k(project, tmp_path / "b.json", frames=range(0, 3))
    mapping = json.loads(report_path(tmp_path / "b.json").read_text())
    assert mapping["format"] == "bdd100k" and mapping["frames"] == 3
    assert mapping["written"] == {"lane-line": 5, "stop-line": 1, "crosswalk": 1, "traffic-light": 2,
                                  "traffic-sign": 1, "vehicle": 2, "pedestrian": 1, "custom": 1}
    assert mapping["dropped"] == {
        "school-zone": {"BDD100K has no category for this class": 1},
        "vehicle": {"BDD100K JSON holds box2d and poly2d, not mask geometries": 1},
        "school-zone-active": {"BDD100K has no frame-range tags": 3},
    }
    lost = mapping["attributes_not_carried"]
    assert lost["traffic-sign"] == {"type": 1, "value": 1, "unit": 1}
    assert lost["lane-line"] == {"split-merge": 1, "color": 1}  # the split on frame 2; the curb's colour
    assert lost["traffic-light"] == {"face": 2, "orientation": 2}
    assert "vehicle" not in lost and "custom" not in lost and "pedestrian" not in lost
    assert report.summary().startswith("bdd100k: 14 objects on 3 frames written")


def test_styles_and_states_bdd100k_has_no_value_for_are_reported(road_project, tmp_path):
    with Project.open(road_project) as project:
        project.set_frame_attributes(1, 1, {"style": "botts-dots"})
        project.set_frame_attributes(2, 1, {"style": "solid-dashed"})
        project.set_frame_attributes(6, 1, {"state": "red-yellow"})
        report = export_bdd100k(project, tmp_path / "b.json", frames=range(1, 2))
    labels = {label["id"]: label for label in _frames(tmp_path / "b.json")[0]["labels"]}
    assert (labels["1"]["category"], labels["1"]["attributes"]["laneStyle"]) == ("lane/single yellow", "dashed")
    assert (labels["2"]["category"], labels["2"]["attributes"]["laneStyle"]) == ("lane/double white", "solid")
    assert labels["6"]["attributes"]["trafficLightColor"] == "NA"
    assert report.attributes_not_carried["lane-line"]["style"] == 2
    assert report.attributes_not_carried["traffic-light"]["state"] == 1


def test_each_object_gets_the_category_of_its_own_values_frame_after_frame(project, tmp_path):
    """A category is worked out once per class and values, and then reused: values that change from frame to
    frame must still give each label its own, and each dropped object its own count."""
    states = ["green", "yellow", "red", "off"]
    light, lane, curb = project.add_track("traffic-light"), project.add_track("lane-line", {"color": "yellow"}), \
        project.add_track("lane-line", {"kind": "curb"})
    zone = project.add_track("school-zone")
    for frame in range(12):
        project.set_state(light.id, frame, box(100, 5, 110, 30), {"state": states[frame % 4]})
        project.set_state(lane.id, frame, make_geometry("polyline", LEFT), {"style": ["solid", "dashed"][frame % 2]})
        project.set_state(curb.id, frame, make_geometry("polyline", CURB))
        project.set_state(zone.id, frame, make_geometry("polygon", CROSSWALK))
    report = export_bdd100k(project, tmp_path / "b.json")
    frames = _frames(tmp_path / "b.json")[:12]
    labels = [{label["id"]: label for label in frame["labels"]} for frame in frames]
    assert [one[str(light.id)]["attributes"] for one in labels] == [
        {"trafficLightColor": ["G", "Y", "R", "NA"][frame % 4]} for frame in range(12)]
    assert [one[str(lane.id)]["attributes"]["laneStyle"] for one in labels] == ["solid", "dashed"] * 6
    assert {one[str(curb.id)]["category"] for one in labels} == {"lane/road curb"}
    assert report.written == {"traffic-light": 12, "lane-line": 24}
    assert report.dropped == {"school-zone": {"BDD100K has no category for this class": 12}}
    assert report.attributes_not_carried["traffic-light"]["state"] == 3  # "off" has no BDD100K colour


def test_round_trip_gives_back_tracks_shapes_and_attributes(road_project, tmp_path, small_video):
    with Project.open(road_project) as project:
        export_bdd100k(project, tmp_path / "a.json")
        before = {_key(track): {state.frame: state for state in project.states_of(track.id)}
                  for track in project.tracks() if track.class_name != "school-zone" and track.id != 12}
    with create_project(tmp_path / "q", small_video) as fresh:
        assert import_bdd100k(fresh, tmp_path / "a.json", source=Source.SUGGESTED).total == 14
        after = {_key(track): {state.frame: state for state in fresh.states_of(track.id)} for track in fresh.tracks()}
        assert len(fresh.tracks()) == len(before) == 10  # one track per id, over its frames
        export_bdd100k(fresh, tmp_path / "b.json")
    sign = ("traffic-sign", (("type", "speed-limit"), ("unit", "mph"), ("value", 30)))
    before[("traffic-sign", (("type", "other"), ("unit", "mph")))] = before.pop(sign)  # its type is not carried
    assert after.keys() == before.keys()
    for key, states in before.items():
        assert after[key].keys() == states.keys(), key
        for frame, state in states.items():
            again = after[key][frame]
            assert again.geometry.kind == state.geometry.kind, key
            assert np.allclose(again.geometry.points, state.geometry.points), key
            assert again.source is Source.SUGGESTED
            expected = {**state.attributes, "split-merge": "none"} if key[0] == "lane-line" else state.attributes
            assert again.attributes == expected, (key, frame)
    lights = [states for (name, _), states in after.items() if name == "traffic-light"]
    assert [lights[0][frame].attributes["state"] for frame in (1, 2)] == ["red", "green"]

    def without_ids(path):
        return [sorted(json.dumps({**label, "id": None}, sort_keys=True) for label in frame["labels"])
                for frame in _frames(path)]

    assert without_ids(tmp_path / "a.json") == without_ids(tmp_path / "b.json")


def _key(track):
    return track.class_name, tuple(sorted(track.attributes.items()))


def test_an_existing_export_is_kept(road_project, tmp_path):
    (tmp_path / "b.json").write_text("mine")
    with Project.open(road_project) as project, pytest.raises(RoadlabelError, match="already exists"):
        export_bdd100k(project, tmp_path / "b.json")
    assert (tmp_path / "b.json").read_text() == "mine"


def test_bdd100k_files_with_bezier_lanes_aliases_and_video_frame_indices_are_read(road_project, tmp_path):
    dataset = {"frames": [
        {"name": "clip-0000004.jpg", "videoName": "clip", "frameIndex": 3, "labels": [
            {"id": "a", "category": "lane/double yellow",
             "attributes": {"laneDirection": "parallel", "laneStyle": "solid", "laneTypes": "double yellow"},
             "poly2d": [{"vertices": [[10, 80], [20, 60], [30, 50], [50, 40]], "types": "LCCL", "closed": False}]},
            {"id": 17, "category": "person", "attributes": {"occluded": False, "truncated": True},
             "box2d": {"x1": 1.5, "y1": 2, "x2": 10, "y2": 20}},
            {"id": "m", "category": "motor", "box2d": {"x1": 30, "y1": 30, "x2": 159, "y2": 89}},
            {"id": "t", "category": "traffic light", "attributes": {"trafficLightColor": "yellow"},
             "box2d": {"x1": 5, "y1": 5, "x2": 8, "y2": 12}},
        ]},
        {"name": "clip/000005.jpg", "labels": [{"id": 17, "category": "pedestrian", "box2d": {
            "x1": 3, "y1": 2, "x2": 12, "y2": 20}}]},
    ]}
    (tmp_path / "bdd.json").write_text(json.dumps(dataset))
    with Project.open(road_project) as project:
        before = {track.id for track in project.tracks()}
        assert import_bdd100k(project, tmp_path / "bdd.json").total == 5
        new = {track.class_name: track for track in project.tracks() if track.id not in before}
        lane = project.state(new["lane-line"].id, 3)
        assert dict(new["lane-line"].attributes) == {"color": "yellow", "kind": "lane-marking"}
        assert lane.attributes["style"] == "double-solid"
        assert len(lane.geometry.points) == 9 and lane.geometry.points[[0, -1]].tolist() == [[10, 80], [50, 40]]
        person = project.states_of(new["pedestrian"].id)
        assert [state.frame for state in person] == [3, 5]
        assert person[0].geometry.points.tolist() == [[1.5, 2], [11, 21]]
        assert dict(new["vehicle"].attributes)["type"] == "motorcycle"
        assert project.state(new["vehicle"].id, 3).geometry.points.tolist() == [[30, 30], [160, 90]]
        assert project.state(new["traffic-light"].id, 3).attributes["state"] == "yellow"


def test_a_file_saved_by_scalabel_with_its_nulls_is_read(road_project, tmp_path):
    saved = {"frames": [{"name": "clip/000004.jpg", "url": None, "videoName": "clip", "attributes": None,
                         "frameIndex": 4, "size": None, "labels": [
                             {"id": "3", "index": None, "score": None, "attributes": None, "category": "bus",
                              "box2d": None, "box3d": None, "rle": None, "graph": None,
                              "poly2d": [{"vertices": [[1, 1], [9, 1], [9, 9]], "types": "LLL", "closed": True}]}]},
                        {"name": "clip/000005.jpg", "url": None, "labels": None}], "groups": None, "config": None}
    (tmp_path / "s.json").write_text(json.dumps(saved))
    with Project.open(road_project) as project:
        assert import_bdd100k(project, tmp_path / "s.json").total == 1
        bus = project.tracks()[-1]
        assert (bus.class_name, bus.attributes["type"]) == ("vehicle", "bus")
        assert project.state(bus.id, 4).geometry.kind.value == "polygon"


def _good_frame():
    return {"name": "clip/000000.jpg", "labels": [{"id": "1", "category": "car",
                                                   "box2d": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}}]}


def _label(**fields):
    return {"name": "clip/000001.jpg", "labels": [{"id": "9", **fields}]}


BOX = {"x1": 1, "y1": 1, "x2": 5, "y2": 5}


@pytest.mark.parametrize("content, message", [
    ("[{not json", r"b\.json: line 1, column 3: malformed JSON"),
    ("[" * 200_000, r"b\.json: JSON nested too deeply"),
    ('{"frames": 3}', "expected a JSON list of frames"),
    (json.dumps([_good_frame(), {"name": "x.jpg", "videoName": "clip", "frameIndex": "abc"}]),
     r"frame 1 \('x.jpg'\): frameIndex must be a whole number from 0, got 'abc'"),
    (json.dumps([_good_frame(), {"name": "clip/000001.jpg", "labels": [{"id": True, "category": "car",
                                                                          "box2d": BOX}]}]),
     "label 0: id must be text or a whole number, got True"),
    (json.dumps([_good_frame(), {"labels": []}]), "frame 1: a frame needs a name"),
    (json.dumps([_good_frame(), {"name": "clip/000000.jpg"}]), r"frame 0 \('clip/000000.jpg'\) and frame 1 "
                                                                r"\('clip/000000.jpg'\) are both for frame 0: which"),
    (json.dumps([_good_frame(), _label(category="area/drivable", box2d=BOX)]),
     r"frame 1 \('clip/000001.jpg'\), label 0: unknown category 'area/drivable'"),
    (json.dumps([_good_frame(), _label(category="lane/single white", poly2d=[
        {"vertices": [[1, 2], [True, 3]], "types": "LL", "closed": False}])]), "vertex 1: expected a finite number"),
    (json.dumps([_good_frame(), _label(category="lane/crosswalk", poly2d=[
        {"vertices": [[10, 10], [50, 50], [50, 10], [10, 50]], "types": "LLLL", "closed": True}])]),
     r"label 0: the polygon crosses itself at \(30.0, 30.0\)"),
    ('[{"name": "clip/000001.jpg", "labels": [{"id": "9", "category": "car", '
     '"box2d": {"x1": NaN, "y1": 1, "x2": 5, "y2": 5}}]}]', r"label 0, box2d.x1: expected a finite number, got nan"),
    (json.dumps([_good_frame(), _label(category="lane/single white", poly2d=[
        {"vertices": [[1, 2], [3, "x"]], "types": "LL", "closed": False}])]), "poly2d vertex 1: expected a finite"),
    (json.dumps([_good_frame(), _label(category="car", box2d={**BOX, "x2": 0})]), "box2d has x2 < x1"),
    (json.dumps([_good_frame(), _label(category="lane/crosswalk", poly2d=[
        {"vertices": [[1, 2], [3, 4]], "types": "LL", "closed": False}])]), "'lane/crosswalk' as a open poly2d"),
    (json.dumps([_good_frame(), _label(category="traffic light", poly2d=[
        {"vertices": [[1, 2], [3, 4], [5, 1]], "types": "LLL", "closed": True}])]), "its class takes box"),
    (json.dumps([_good_frame(), _label(category="lane/single white", poly2d=[
        {"vertices": [[1, 2], [3, 4]], "types": "LX", "closed": False}])]), "one 'L' or 'C' per vertex"),
    (json.dumps([_good_frame(), _label(category="lane/single white", poly2d=[
        {"vertices": [[1, 2], [3, 4], [5, 6]], "types": "LCL", "closed": False}])]), "come in pairs"),
    (json.dumps([_good_frame(), _label(category="lane/single white", poly2d=[])]), "a list of one shape"),
    (json.dumps([_good_frame(), _label(category="car")]), "a label needs box2d or poly2d"),
    (json.dumps([_good_frame(), _label(category="traffic light", attributes={"trafficLightColor": "blue"},
                                       box2d=BOX)]), "'blue' is not one of"),
    (json.dumps([_good_frame(), {"name": "clip/000001.jpg", "labels": [
        {"id": "9", "category": "car", "box2d": BOX}, {"id": "9", "category": "car", "box2d": BOX}]}]),
     r"label 1 \(id '9'\): id '9' twice on one frame"),
    (json.dumps([_good_frame(), {"name": "clip/000001.jpg",
                                 "labels": [{"id": "1", "category": "truck", "box2d": BOX}]}]),
     r"frame 1 \('clip/000001.jpg'\), label 0 \(id '1'\): id '1' is a vehicle \{'type': 'truck'\} here but a "
     r"vehicle \{'type': 'car'\} at frame 0"),
])
def test_a_bad_file_is_refused_whole_naming_the_frame_and_label(road_project, tmp_path, content, message):
    (tmp_path / "b.json").write_text(content)
    with Project.open(road_project) as project:
        before = len(project.tracks())
        with pytest.raises(FormatError, match=message):
            import_bdd100k(project, tmp_path / "b.json")
        assert len(project.tracks()) == before  # the good first frame was not imported either


def test_a_tracking_file_of_several_videos_imports_this_ones_boxes_clipped_and_named_by_class(tmp_path, small_video):
    def frame(video, index, labels):
        return {"name": f"{video}-{index + 1:07d}.jpg", "videoName": video, "frameIndex": index, "labels": labels}

    car = {"id": "1", "category": "car", "box2d": {"x1": 150, "y1": 10, "x2": 199, "y2": 30}}  # past x = 160
    person = {"id": "2", "category": "pedestrian", "box2d": {"x1": 20, "y1": 20, "x2": 29, "y2": 59}}
    gone = {"id": "3", "category": "car", "box2d": {"x1": 170, "y1": 10, "x2": 180, "y2": 20}}  # wholly outside
    flat = {"id": "4", "category": "truck", "box2d": {"x1": 20, "y1": 20, "x2": 29, "y2": 20}}  # one row: inside
    labels = [frame("clip", 0, [car, person, gone]), frame("clip", 1, [car, flat]), frame("other", 0, [car]),
              frame("other", 1, [person]), frame("clip", 40, [person])]
    (tmp_path / "track.json").write_text(json.dumps(labels))
    with create_project(tmp_path / "p", small_video) as project:
        report = import_bdd100k(project, tmp_path / "track.json")
        boxes = {track.attributes.get("type", track.class_name): project.states_of(track.id)
                 for track in project.tracks()}
    assert report.total == 4 and report.summary().startswith("imported 4 boxes: 3 vehicle, 1 pedestrian; ")
    assert [state.geometry.points.tolist() for state in boxes["car"]] == [[[150, 10], [160, 31]]] * 2
    assert boxes["truck"][0].geometry.points.tolist() == [[20, 20], [30, 21]]  # BDD100K's corners are inclusive
    assert report.clipped[str(tmp_path / "track.json")] == {"clipped to the image": 2}
    assert report.skipped[str(tmp_path / "track.json")] == {"outside the image": 1}
    assert report.other_sequences == ["other-0000001.jpg", "other-0000002.jpg"]
    assert report.missing_frames == ["clip-0000041.jpg"]
    assert "2 entries are for other sequences" in report.summary() and "lanes" not in report.summary()


def test_scalabel_reads_the_export(road_project, tmp_path):
    pytest.importorskip("scalabel")
    from scalabel.label.typing import Frame

    with Project.open(road_project) as project:
        export_bdd100k(project, tmp_path / "b.json", frames=range(0, 3))
    # Validated against Scalabel's own pydantic models.  scalabel 0.3.1 was written for pydantic 1, where an
    # Optional field defaults to None; under pydantic 2 it is required (and scalabel.label.io.load fails on any
    # file that leaves one out, BDD100K's own too), so the None that scalabel meant is given here.
    frames = []
    for raw in _frames(tmp_path / "b.json"):
        labels = [{"box2d": None, "box3d": None, "poly2d": None, "rle": None, "graph": None, **label}
                  for label in raw["labels"]]
        frames.append(Frame(**{"url": None, **raw, "labels": labels}))
    assert [(frame.name, frame.videoName, frame.frameIndex) for frame in frames][1] == ("clip/000001.jpg", "clip", 1)
    labels = {label.id: label for label in frames[1].labels}
    assert labels["1"].poly2d[0].types == "LLL" and labels["1"].poly2d[0].vertices[0] == (150.0, 89.0)
    assert (labels["8"].box2d.x1, labels["8"].box2d.x2, labels["8"].attributes["occluded"]) == (60.5, 99.0, True)
    assert labels["5"].poly2d[0].closed is True and labels["6"].attributes == {"trafficLightColor": "R"}
