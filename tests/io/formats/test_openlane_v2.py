"""The OpenLane-V2 style export: centrelines of the lanes between neighbouring lines, traffic elements, and the
topology matrices, on a small scene whose answer is worked out by hand; and every other exporter's report
counts the relations it drops."""

import json

import numpy as np
import pytest

from napari_roadlabel.core import Project, SequenceInfo, box, make_geometry
from napari_roadlabel.core.annotations import RelationEnd
from napari_roadlabel.io.formats.openlane_v2 import NO_3D, export_openlane_v2
from napari_roadlabel.io.formats.tusimple import export_tusimple
from tests.conftest import place_track

# Lines 1-3, left to right; lanes 1|2 and 2|3.
LINES = ([[100, 360], [250, 150]], [[320, 360], [320, 150]], [[540, 360], [390, 150]])


def place(project, class_name, geometry, attributes=None):
    """On every frame of the 5-frame clip."""
    return place_track(project, class_name, geometry, range(5), attributes)


@pytest.fixture
def scene(tmp_path):
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 5, 640, 360)) as project:
        with project.group("scene"):
            one, two, three = (place(project, "lane-line", make_geometry("polyline", points)) for points in LINES)
            light = place(project, "traffic-light", box(300, 20, 315, 60))
            project.set_frame_attributes(light, 0, {"state": "red"})
            sign = place(project, "traffic-sign", box(560, 100, 590, 130), attributes={"type": "stop"})
            place(project, "traffic-sign", make_geometry("point", [600, 90]))
            place(project, "vehicle", box(200, 250, 300, 330))
            zone = place(project, "school-zone", make_geometry("polygon", [[0, 300], [100, 300], [100, 350]]))
        first, second = RelationEnd.lane(one, two), RelationEnd.lane(two, three)
        project.add_relation("governs", RelationEnd(light), first, 0, 4)
        project.add_relation("applies-to", RelationEnd(sign), second, 0, 4)
        project.add_relation("follows", second, first, 0, 2)  # lane 2|3 follows lane 1|2: 1|2 leads into 2|3
        project.add_relation("applies-to", RelationEnd(zone), first, 1, 2)  # no place in OpenLane-V2
        yield project, (one, two, three), light, sign


def frame_file(out, frame):
    return json.loads((out / "clip" / f"{frame:06d}.json").read_text())


def test_each_frame_has_its_lanes_traffic_elements_and_topology(scene, tmp_path):
    project, (one, two, three), light, sign = scene
    export_openlane_v2(project, tmp_path / "out")
    record = frame_file(tmp_path / "out", 0)
    assert record["file_path"] == "clip/000000.jpg"
    lanes = record["lane_centerline"]
    assert [(lane["id"], lane["lane_lines"]) for lane in lanes] == [(0, [one, two]), (1, [two, three])]
    # The midline of x = 100 + 150 t and x = 320 (t = (360 - y) / 210), from the bottom row up.
    points = np.array(lanes[0]["points"])
    np.testing.assert_allclose(points[[0, -1]], [[210, 360], [285, 150]])
    np.testing.assert_allclose(points[:, 0], (100 + 150 * (360 - points[:, 1]) / 210 + 320) / 2, atol=1e-3)
    assert record["traffic_element"] == [
        {"id": light, "category": "traffic-light", "attribute": "red", "points": [[300, 20], [315, 60]]},
        {"id": sign, "category": "traffic-sign", "attribute": "stop", "points": [[560, 100], [590, 130]]}]
    assert record["topology_lclc"] == [[0, 1], [0, 0]]  # lane 0 leads into lane 1
    assert record["topology_lcte"] == [[1, 0], [0, 1]]  # the light governs lane 0, the sign applies to lane 1
    assert frame_file(tmp_path / "out", 3)["topology_lclc"] == [[0, 0], [0, 0]]  # the follows ended on frame 2


def test_a_relation_whose_end_is_absent_on_a_frame_is_not_written_there(scene, tmp_path):
    project, (one, two, three), light, _ = scene
    project.delete_state(light, 4)
    project.delete_state(three, 4)  # lane 2|3 is gone, and the sign's relation with it
    export_openlane_v2(project, tmp_path / "out")
    record = frame_file(tmp_path / "out", 4)
    assert [lane["lane_lines"] for lane in record["lane_centerline"]] == [[one, two]]
    assert record["topology_lcte"] == [[0]] and record["topology_lclc"] == [[0]]


def test_the_mapping_report_says_what_it_cannot_carry(scene, tmp_path):
    project, *_ = scene
    report = export_openlane_v2(project, tmp_path / "out")
    written = json.loads((tmp_path / "out.mapping.json").read_text())
    assert written == report.as_dict()
    assert written["notes"] == [NO_3D] and "no 3D" in NO_3D
    assert written["written"] == {"lane": 10, "traffic-light": 5, "traffic-sign": 5}
    assert {name: sum(reasons.values()) for name, reasons in written["dropped"].items()} == {
        "lane-line": 15, "traffic-sign": 5, "vehicle": 5, "school-zone": 5}
    assert written["relations_dropped"] == {"applies-to": 1}  # the school zone's
    assert written["attributes_not_carried"]["traffic-light"] == {"face": 5, "orientation": 5}


def test_other_exporters_count_the_relations_they_drop_on_the_frames_they_write(scene, tmp_path):
    project, *_ = scene
    everything = export_tusimple(project, tmp_path / "all.json")
    assert everything.as_dict()["relations_dropped"] == {"governs": 1, "applies-to": 2, "follows": 1}
    assert "4 relations" in everything.summary()
    later = export_tusimple(project, tmp_path / "later.json", frames=range(3, 5))
    assert later.as_dict()["relations_dropped"] == {"governs": 1, "applies-to": 1}  # not the follows (0-2)
    sparse = export_tusimple(project, tmp_path / "sparse.json", every=3)  # frames 0 and 3: not the zone's (1-2)
    assert sparse.as_dict()["relations_dropped"] == {"governs": 1, "applies-to": 1, "follows": 1}
