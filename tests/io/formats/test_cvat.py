"""CVAT for video 1.1: export, import, round trips, outside markers, the mapping report, bad files refused whole."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from napari_roadlabel.core import (
    FormatError,
    Project,
    RoadlabelError,
    SequenceInfo,
    Source,
    box,
    default_taxonomy,
    make_geometry,
    make_mask,
    make_skeleton,
    taxonomy_from_dict,
)
from napari_roadlabel.core.geometry import ABSENT, OCCLUDED, VISIBLE
from napari_roadlabel.io.formats.cvat import NO_MASKS, TAGS_LEFT_OUT, export_cvat, import_cvat
from napari_roadlabel.io.formats.report import report_path
from napari_roadlabel.io.projects import create_project

LANE = [[10, 89], [40.125, 50.5], [60, 30]]  # x, y on the 160x90 clip


@pytest.fixture
def cvat_project(tmp_path, small_video):
    """clip.mp4 with a yellow lane (keyframe 1, interpolated 2), a traffic light (1 manual, 4 propagated: a gap),
    an occluded truck (keyframe 3), a sign as a point, a crosswalk and a school zone active on frames 2..4."""
    with create_project(tmp_path / "p", small_video) as project:
        lane = project.add_track("lane-line", {"color": "yellow"})
        project.set_state(lane.id, 1, make_geometry("polyline", LANE))
        project.set_state(lane.id, 2, make_geometry("polyline", np.add(LANE, [1, 0])), {"style": "dashed"},
                          source=Source.INTERPOLATED)
        light = project.add_track("traffic-light", {"face": "arrow-left"})
        project.set_state(light.id, 1, box(100, 5, 110, 30), {"state": "red"})
        project.set_state(light.id, 4, box(101, 5, 111, 30.5), {"state": "green", "flashing": True},
                          source=Source.PROPAGATED, confidence=0.8)
        truck = project.add_track("vehicle", {"type": "truck"})
        project.set_state(truck.id, 3, box(1, 2, 50, 60), {"occluded": True})
        sign = project.add_track("traffic-sign", {"type": "speed-limit", "value": 30, "unit": "km/h"})
        project.set_state(sign.id, 5, make_geometry("point", [150.5, 20]))
        crosswalk = project.add_track("crosswalk")
        project.set_state(crosswalk.id, 11, make_geometry("polygon", [[0, 80], [160, 80], [160, 90], [0, 90]]))
        project.add_tag("school-zone-active", 2, 4)
        project.add_tag("scene", 0, 11, {"weather": "rain", "time-of-day": "night"})
    return tmp_path / "p"


def _tracks(project):
    """track id -> (class, track attributes, [(frame, kind, points, frame attributes, keyframe)])."""
    return {track.id: (track.class_name, dict(track.attributes),
                       [(s.frame, s.geometry.kind, s.geometry.points.tolist(), dict(s.attributes), s.is_keyframe)
                        for s in project.states_of(track.id)])
            for track in project.tracks()}


def _shapes(path):
    """track id -> [(element, frame, keyframe, outside)] from the written XML."""
    root = ET.parse(path).getroot()
    return {int(track.get("id")): [(shape.tag, int(shape.get("frame")), shape.get("keyframe"), shape.get("outside"))
                                   for shape in track]
            for track in root.findall("track")}


def test_round_trip_gives_back_tracks_geometries_attributes_keyframes_and_tags(cvat_project, tmp_path, small_video):
    with Project.open(cvat_project) as project:
        before = _tracks(project)
        tags_before = [(tag.class_name, tag.start, tag.end, dict(tag.attributes)) for tag in project.tags()]
        export_cvat(project, tmp_path / "a.xml", tags=True)
    with create_project(tmp_path / "q", small_video) as fresh:
        report = import_cvat(fresh, tmp_path / "a.xml", source=Source.MANUAL)
        assert (report.total, report.clipped, report.skipped) == (7 + 2, {}, {})  # 7 states of 5 tracks, 2 tags
        assert _tracks(fresh) == before  # same ids, classes, frames, points, attributes and keyframe flags
        assert sorted((tag.class_name, tag.start, tag.end, dict(tag.attributes)) for tag in fresh.tags()) == \
            sorted(tags_before)
        export_cvat(fresh, tmp_path / "b.xml", tags=True)
    assert (tmp_path / "a.xml").read_text() == (tmp_path / "b.xml").read_text()


def test_keyframes_take_the_source_and_the_other_states_come_back_interpolated(cvat_project, tmp_path, small_video):
    with Project.open(cvat_project) as project:
        export_cvat(project, tmp_path / "a.xml")
    with create_project(tmp_path / "q", small_video) as fresh:
        import_cvat(fresh, tmp_path / "a.xml")
        sources = {(track.class_name, state.frame): state.source for track in fresh.tracks()
                   for state in fresh.states_of(track.id)}
        assert not fresh.tags()  # not written by default
    assert sources[("lane-line", 1)] is Source.IMPORTED and sources[("lane-line", 2)] is Source.INTERPOLATED
    assert sources[("traffic-light", 4)] is Source.INTERPOLATED


def test_outside_markers_end_each_track_and_every_gap(cvat_project, tmp_path):
    with Project.open(cvat_project) as project:
        export_cvat(project, tmp_path / "a.xml")
        export_cvat(project, tmp_path / "every2.xml", every=2, all_keyframes=True)
    shapes = _shapes(tmp_path / "a.xml")
    assert shapes[1] == [("polyline", 1, "1", "0"), ("polyline", 2, "0", "0"), ("polyline", 3, "1", "1")]
    assert shapes[2] == [("box", 1, "1", "0"), ("box", 2, "1", "1"), ("box", 4, "0", "0"), ("box", 5, "1", "1")]
    assert shapes[4] == [("points", 5, "1", "0"), ("points", 6, "1", "1")]
    assert shapes[5] == [("polygon", 11, "1", "0")]  # on the last frame: nothing after it to mark
    truck = ET.parse(tmp_path / "a.xml").getroot().find("track[@id='3']/box")
    assert truck.get("occluded") == "1" and {a.get("name") for a in truck.findall("attribute")} == {"type", "truncated"}
    every2 = _shapes(tmp_path / "every2.xml")  # frames 0, 2, 4, ...: the next exported frame ends a track
    assert every2[1] == [("polyline", 2, "1", "0"), ("polyline", 4, "1", "1")]
    assert every2[2] == [("box", 4, "1", "0"), ("box", 6, "1", "1")]
    task = ET.parse(tmp_path / "every2.xml").getroot().find("meta/task")
    assert [task.findtext(name) for name in ("size", "mode", "start_frame", "stop_frame", "frame_filter")] == \
        ["6", "interpolation", "0", "10", "step=2"]
    assert task.findtext("original_size/width") == "160" and task.findtext("original_size/height") == "90"


def test_meta_lists_every_label_with_mutable_frame_and_immutable_track_attributes(cvat_project, tmp_path):
    with Project.open(cvat_project) as project:
        export_cvat(project, tmp_path / "a.xml")
        names = [spec.name for spec in project.taxonomy]
    labels = ET.parse(tmp_path / "a.xml").getroot().findall("meta/task/labels/label")
    classes = [label for label in labels if label.findtext("type") != "skeleton" and label.find("parent") is None]
    assert [label.findtext("name") for label in classes] == names
    light = next(label for label in labels if label.findtext("name") == "traffic-light")
    attributes = {a.findtext("name"): (a.findtext("mutable"), a.findtext("input_type"), a.findtext("values"))
                  for a in light.findall("attributes/attribute")}
    assert attributes["state"] == ("True", "select", "red\nyellow\ngreen\nred-yellow\noff\nunknown")
    assert attributes["face"][:2] == ("False", "select") and attributes["flashing"][:2] == ("True", "checkbox")
    scene = next(label for label in labels if label.findtext("name") == "scene")
    assert scene.findtext("type") == "tag"


def test_mapping_report_counts_masks_other_shape_types_and_tags(cvat_project, tmp_path):
    with Project.open(cvat_project) as project:
        car = project.add_track("vehicle")
        project.set_state(car.id, 6, make_mask(np.ones((4, 5), bool), (10, 10)))
        project.set_state(car.id, 7, box(10, 10, 20, 20))
        project.set_state(car.id, 8, make_geometry("polygon", [[10, 10], [20, 10], [20, 20]]))
        report = export_cvat(project, tmp_path / "a.xml")
    mapping = report_path(tmp_path / "a.xml")
    assert mapping.name == "a.mapping.json" and mapping.is_file()
    assert report.frames == 12
    assert report.written == {"lane-line": 2, "traffic-light": 2, "vehicle": 2, "traffic-sign": 1, "crosswalk": 1}
    assert report.dropped["vehicle"] == {NO_MASKS: 1, "a CVAT track keeps one shape type: a state of another kind "
                                                      "is left out": 1}
    assert report.dropped["school-zone-active"] == {TAGS_LEFT_OUT: 3} and report.dropped["scene"] == {TAGS_LEFT_OUT: 12}
    assert not report.attributes_not_carried
    assert _shapes(tmp_path / "a.xml")[car.id] == [("box", 7, "1", "0"), ("box", 8, "1", "1")]


ODD_CLASS = 'sign "big" & <small>'
NOTE = 'note\t"&<>"'  # a tab, quotes and markup in an XML attribute value
ODD_TEXTS = ['a<b & c>d "quoted"', "\nstarts on a new line", "tab\there", "", "   ", "ünïcödé ✓"]


def test_names_and_text_values_are_escaped_as_elementtree_writes_them(tmp_path):
    """Tracks and tags are written as text, not through ElementTree: the file must be what ElementTree writes for
    the same tree, and the values must come back."""
    data = default_taxonomy().to_dict()
    data["classes"][ODD_CLASS] = {"geometry": ["box"], "color": "#123456",
                                  "attributes": {NOTE: {"scope": "frame", "type": "text", "default": ""}}}
    data["classes"]["scene"]["attributes"]["remark"] = {"scope": "track", "type": "text", "default": ""}
    sequence = SequenceInfo("clip.mp4", 12, 160, 90, 10.0)
    with Project.create(tmp_path / "p", sequence, taxonomy=taxonomy_from_dict(data)) as project:
        track = project.add_track(ODD_CLASS)
        for frame, text in enumerate(ODD_TEXTS):
            project.set_state(track.id, frame * 2, box(1, 2, 30.5, 40), {NOTE: text})
        project.add_tag("scene", 3, 4, {"remark": 'say "<&>"\n\tthen'})
        export_cvat(project, tmp_path / "a.xml", tags=True)
        written = (tmp_path / "a.xml").read_bytes()
        root = ET.fromstring(written)
        ET.indent(root)
        assert written == b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                                    xml_declaration=False) + b"\n"
        shapes = [shape for shape in root.find("track") if shape.get("outside") == "0"]
        assert [shape.find("attribute").text or "" for shape in shapes] == ODD_TEXTS
    with Project.create(tmp_path / "q", sequence, taxonomy=taxonomy_from_dict(data)) as again:
        import_cvat(again, tmp_path / "a.xml")
        (track,) = again.tracks()
        assert track.class_name == ODD_CLASS
        assert [state.attributes[NOTE] for state in again.states_of(track.id)] == ODD_TEXTS
        assert {tag.attributes["remark"] for tag in again.tags()} == {'say "<&>"\n\tthen'}


def test_an_existing_export_is_kept(cvat_project, tmp_path):
    (tmp_path / "a.xml").write_text("mine")
    with Project.open(cvat_project) as project, pytest.raises(RoadlabelError, match="already exists"):
        export_cvat(project, tmp_path / "a.xml")
    assert (tmp_path / "a.xml").read_text() == "mine"


GOOD_TRACK = ('<track id="1" label="traffic-light" source="manual">\n'
              '<box frame="0" keyframe="1" outside="0" occluded="0" xtl="1" ytl="2" xbr="10" ybr="20" z_order="0">'
              '<attribute name="state">red</attribute></box>\n</track>\n')


@pytest.mark.parametrize("body, message", [
    ('<track id="2" label="traffic-light"><box frame="1" keyframe="1" outside="0"', r"line 8, column \d+: not "
                                                                                   "well-formed XML"),
    ('<track id="2" label="tram"></track>', r"line 7, <track id=\"2\" label=\"tram\">: unknown label 'tram'"),
    ('<track id="2" label="traffic-light"><box frame="12" keyframe="1" outside="0" xtl="1" ytl="2" xbr="3" ybr="4"/>'
     '</track>', r"line 7, <box frame=\"12\"> of track 2: frame 12 is outside the sequence \(0..11\)"),
    # issue 14: a box whose corners are swapped, and a bow-tie crosswalk, are refused as in the other formats
    ('<track id="2" label="traffic-light"><box frame="1" keyframe="1" outside="0" xtl="30" ytl="2" xbr="10" '
     'ybr="20"/></track>', r"line 7, <box frame=\"1\"> of track 2: the box's top-left corner \(30, 2\) is not above "
                           r"and left of its bottom-right corner \(10, 20\)"),
    ('<track id="2" label="traffic-light"><box frame="1" keyframe="1" outside="0" xtl="1" ytl="20" xbr="10" '
     'ybr="2"/></track>', r"<box frame=\"1\"> of track 2: the box's top-left corner \(1, 20\) is not above"),
    ('<track id="2" label="crosswalk"><polygon frame="1" keyframe="1" outside="0" points="10,10;50,40;50,10;10,40"/>'
     '</track>', r"<polygon frame=\"1\"> of track 2: the polygon crosses itself at \(30.0, 25.0\)"),
    ('<track id="2" label="traffic-light"><box frame="1" keyframe="1" outside="0" xtl="nan" ytl="2" xbr="3" '
     'ybr="4"/></track>', r"<box frame=\"1\"> of track 2: xtl is not a finite number"),
    ('<track id="2" label="traffic-light"><box frame="1" keyframe="1" outside="0" xtl="1" ytl="2" xbr="3" ybr="4">'
     '<attribute name="colour">red</attribute></box></track>',
     r"line 7, <attribute> in line 7, <box frame=\"1\"> of track 2: class 'traffic-light' has no attribute 'colour'"),
    ('<track id="2" label="traffic-light"><box frame="1" keyframe="1" outside="0" xtl="1" ytl="2" xbr="3" ybr="4">'
     '<attribute name="state">purple</attribute></box></track>', r"'purple' is not one of"),
    ('<track id="2" label="traffic-light"><polyline frame="1" keyframe="1" outside="0" points="1,2;3,4"/></track>',
     r"class 'traffic-light' takes \['box'\], not polyline"),
    ('<track id="1" label="traffic-light"><box frame="1" keyframe="1" outside="0" xtl="1" ytl="2" xbr="3" ybr="4"/>'
     '</track>', r"track id 1 is used twice"),
    ('<tag frame="3" label="vehicle"/>', r"<tag frame=\"3\" label=\"vehicle\">: label 'vehicle' is not a frame-range"),
    # skeletons: a point the class's skeleton does not have, a box under a skeleton label, a class without a skeleton
    ('<track id="2" label="pedestrian-skeleton"><skeleton frame="1" keyframe="1" z_order="0">'
     '<points label="nose" keyframe="1" outside="0" occluded="0" points="5,5"/>'
     '<points label="tail" keyframe="1" outside="0" occluded="0" points="5,6"/></skeleton></track>',
     r"line 7, <points label=\"tail\"> in line 7, <skeleton frame=\"1\"> of track 2: class 'pedestrian' has no "
     r"skeleton point 'tail' \(it has nose, left_eye, "),
    ('<track id="2" label="pedestrian-skeleton"><box frame="1" keyframe="1" outside="0" xtl="1" ytl="2" xbr="3" '
     'ybr="4"/></track>', r"<box frame=\"1\"> of track 2: label 'pedestrian-skeleton' is a skeleton label: its shapes"),
    ('<track id="2" label="traffic-light"><skeleton frame="1" keyframe="1" z_order="0"><points label="nose" '
     'keyframe="1" outside="0" occluded="0" points="5,5"/></skeleton></track>',
     r"<skeleton frame=\"1\"> of track 2: class 'traffic-light' takes \['box'\], not skeleton"),
    ('<track id="2" label="traffic-light-skeleton"></track>', r"unknown label 'traffic-light-skeleton'"),
])
def test_a_bad_cvat_file_is_refused_whole_naming_file_line_and_element(cvat_project, tmp_path, body, message):
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
                   + GOOD_TRACK + body + "\n</annotations>\n")
    with Project.open(cvat_project) as project:
        before = (len(project.tracks()), len(project.tags()))
        with pytest.raises(FormatError, match=message) as error:
            import_cvat(project, bad)
        assert error.value.where == str(bad)
        assert (len(project.tracks()), len(project.tags())) == before  # the good first track was not imported


def test_entities_and_other_roots_are_refused(cvat_project, tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x "xxxxxxxx">]>\n<annotations>&x;</annotations>')
    other = tmp_path / "other.xml"
    other.write_text("<dataset/>")
    with Project.open(cvat_project) as project:
        with pytest.raises(FormatError, match="line 2: a DTD or entity declaration is not allowed"):
            import_cvat(project, bomb)
        with pytest.raises(FormatError, match="the root element is <dataset>"):
            import_cvat(project, other)


def test_a_cvat_file_written_by_cvat_imports_keyframes_and_skips_outside_shapes(cvat_project, tmp_path, small_video):
    (tmp_path / "cvat.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>\n'
        '<track id="0" label="vehicle" source="manual">\n'
        '<box frame="2" outside="0" occluded="1" keyframe="1" xtl="1.50" ytl="2.00" xbr="30.00" ybr="40.00">'
        '<attribute name="type">bus</attribute><attribute name="truncated">true</attribute></box>\n'
        '<box frame="3" outside="0" occluded="0" keyframe="0" xtl="2.50" ytl="2.00" xbr="31.00" ybr="40.00">'
        '<attribute name="type">bus</attribute><attribute name="truncated">true</attribute></box>\n'
        '<box frame="4" outside="1" occluded="0" keyframe="1" xtl="2.50" ytl="2.00" xbr="31.00" ybr="40.00">'
        '<attribute name="type">bus</attribute></box>\n</track>\n</annotations>\n')
    with create_project(tmp_path / "q", small_video) as fresh:
        assert import_cvat(fresh, tmp_path / "cvat.xml").total == 2  # two states; the outside one is no state
        (track,) = fresh.tracks()
        states = fresh.states_of(track.id)
    assert track.attributes == {"type": "bus"}
    assert [(s.frame, s.source, dict(s.attributes)) for s in states] == [
        (2, Source.IMPORTED, {"occluded": True, "truncated": True}),
        (3, Source.INTERPOLATED, {"occluded": False, "truncated": True})]
    assert states[0].geometry == box(1.5, 2, 30, 40)


def test_datumaro_reads_the_export_with_every_shape(cvat_project, tmp_path):
    datumaro = pytest.importorskip("datumaro")
    with Project.open(cvat_project) as project:
        export_cvat(project, tmp_path / "cvat" / "annotations.xml")
        shapes = sum(len(project.states_of(track.id)) for track in project.tracks())
    outside = sum(outside == "1" for track in _shapes(tmp_path / "cvat" / "annotations.xml").values()
                  for *_, outside in track)
    dataset = datumaro.Dataset.import_from(str(tmp_path / "cvat"), "cvat")
    annotations = [annotation for item in dataset for annotation in item.annotations]
    assert len(annotations) == shapes + outside == 7 + 5  # datumaro keeps outside shapes, flagged
    assert sum(annotation.attributes["outside"] for annotation in annotations) == outside
    labels = dataset.categories()[datumaro.AnnotationType.label]
    assert sorted({labels[annotation.label].name for annotation in annotations}) == [
        "crosswalk", "lane-line", "traffic-light", "traffic-sign", "vehicle"]


def test_shapes_past_the_border_are_clipped_or_skipped_and_counted(cvat_project, tmp_path):
    bad = tmp_path / "border.xml"
    bad.write_text('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
                   '<track id="20" label="lane-line">\n'
                   '<polyline frame="1" keyframe="1" outside="0" points="100,50;200,50"/>\n'  # cut at x = 160
                   '<polyline frame="2" keyframe="1" outside="0" points="170,50;200,50"/>\n'  # wholly outside
                   '</track>\n<track id="21" label="traffic-light">\n'
                   '<box frame="1" keyframe="1" outside="0" xtl="-5" ytl="2" xbr="10" ybr="20"/>\n'  # clipped
                   '<box frame="2" keyframe="1" outside="0" xtl="10" ytl="2" xbr="10" ybr="20"/>\n'  # no width
                   '</track>\n<track id="22" label="traffic-light">\n'
                   '<box frame="1" keyframe="1" outside="0" xtl="170" ytl="2" xbr="180" ybr="20"/>\n'  # outside
                   '</track>\n</annotations>\n')
    with Project.open(cvat_project) as project:
        before = {track.id for track in project.tracks()}
        report = import_cvat(project, bad)
        added = {track.class_name: [(state.frame, state.geometry) for state in project.states_of(track.id)]
                 for track in project.tracks() if track.id not in before}
    assert added == {"lane-line": [(1, make_geometry("polyline", [[100, 50], [160, 50]]))],
                     "traffic-light": [(1, box(0, 2, 10, 20))]}  # track 22, all skipped, made no track
    assert report.total == 2
    assert report.clipped == {str(bad): {"cut where it leaves the image": 1, "clipped to the image": 1}}
    assert report.skipped == {str(bad): {"fewer than 2 points inside the image": 1, "a box of zero width or height": 1,
                                         "outside the image": 1}}
    with Project.open(cvat_project) as project, pytest.raises(FormatError, match=r"line 5, <polyline frame=\"1\"> "
                                                                                 "of track 20: cut where it leaves"):
        import_cvat(project, bad, strict=True)


# ---------------------------------------------------------------- skeletons

SEQUENCE = SequenceInfo("clip.mp4", 12, 160, 90, 10.0)
# A pedestrian's 17 COCO points (x, y), 30 px wide and 60 px tall
PERSON = np.array([[15, 0], [12, 2], [18, 2], [9, 3], [21, 3], [5, 12], [25, 12], [3, 24], [27, 24], [2, 34],
                   [28, 34], [9, 34], [21, 34], [9, 47], [21, 47], [9, 60], [21, 60]], dtype=float)


def _person(offset, absent=(), occluded=()):
    points = PERSON + offset
    visibility = np.full(len(points), VISIBLE)
    visibility[list(occluded)] = OCCLUDED
    visibility[list(absent)] = ABSENT
    points[visibility == ABSENT] = np.nan
    return make_skeleton(points, visibility)


def _states(project):
    """track id -> (class, track attributes, [(frame, geometry, frame attributes, keyframe)]): NaN-safe."""
    return {track.id: (track.class_name, dict(track.attributes),
                       [(s.frame, s.geometry, dict(s.attributes), s.is_keyframe) for s in project.states_of(track.id)])
            for track in project.tracks()}


def test_skeleton_tracks_round_trip_exactly_with_absent_and_occluded_points_over_keyframes(tmp_path):
    with Project.create(tmp_path / "p", SEQUENCE) as project:
        walker = project.add_track("pedestrian")  # keyframes 1 and 4, interpolated 2 and 3, then a gap
        project.set_state(walker.id, 1, _person((50.25, 10 + 1 / 3), absent=[3, 4], occluded=[9]))
        project.set_state(walker.id, 2, _person((51, 10.5), absent=[3]), {"occluded": True}, source=Source.INTERPOLATED)
        project.set_state(walker.id, 3, _person((52, 10.5), absent=[3]), source=Source.INTERPOLATED)
        project.set_state(walker.id, 4, _person((53.125, 11), occluded=[15, 16]))
        project.set_state(walker.id, 7, _person((60, 20), absent=range(10, 17)))
        boxed = project.add_track("pedestrian")  # the same class as a box: its own CVAT label
        project.set_state(boxed.id, 0, box(1, 2, 30, 60), {"occluded": True})
        before = _states(project)
        report = export_cvat(project, tmp_path / "a.xml")
    assert report.written == {"pedestrian": 6} and not report.dropped

    root = ET.parse(tmp_path / "a.xml").getroot()
    track = root.find("track[@label='pedestrian-skeleton']")
    assert [(s.tag, s.get("frame"), s.get("keyframe"), s.get("outside")) for s in track] == [
        ("skeleton", "1", "1", None), ("skeleton", "2", "0", None), ("skeleton", "3", "0", None),
        ("skeleton", "4", "1", None), ("skeleton", "5", "1", None), ("skeleton", "7", "1", None),
        ("skeleton", "8", "1", None)]  # 5 and 8 end the track: every point outside
    first, _, _, _, gap, *_ = track
    points = {p.get("label"): (p.get("outside"), p.get("occluded"), p.get("points")) for p in first.findall("points")}
    assert list(points) == list(default_taxonomy()["pedestrian"].skeleton.points)
    assert points["nose"] == ("0", "0", "65.25,10.333333333333334")
    assert points["left_ear"][:2] == ("1", "0") and points["left_wrist"] == ("0", "1", "52.25,44.333333333333336")
    assert {p.get("outside") for p in gap.findall("points")} == {"1"}
    assert track.find("skeleton[@frame='2']/attribute[@name='occluded']").text == "true"  # no flag on <skeleton>
    assert root.find("track[@label='pedestrian']/box").get("occluded") == "1"

    labels = {label.findtext("name"): label for label in root.findall("meta/task/labels/label")}
    skeleton = labels["pedestrian-skeleton"]
    assert skeleton.findtext("type") == "skeleton" and skeleton.find("attributes/attribute/name").text == "occluded"
    svg = ET.fromstring(f"<svg>{skeleton.findtext('svg')}</svg>")
    assert [c.get("data-label-name") for c in svg.iter("circle")] == list(points)
    assert ("16", "14") in {(line.get("data-node-from"), line.get("data-node-to")) for line in svg.iter("line")}
    assert [label.findtext("name") for label in root.findall("meta/task/labels/label")
            if label.findtext("parent") == "pedestrian-skeleton"] == list(points)  # its points, sublabels

    with Project.create(tmp_path / "q", SEQUENCE) as fresh:
        assert import_cvat(fresh, tmp_path / "a.xml", source=Source.MANUAL).total == 6
        assert _states(fresh) == before  # ids, classes, points, absent and occluded points, attributes, keyframes
        export_cvat(fresh, tmp_path / "b.xml")
    assert (tmp_path / "a.xml").read_text() == (tmp_path / "b.xml").read_text()


# A skeleton track as CVAT writes it, learned from CVAT's own exporter (cvat-ai/cvat,
# cvat/apps/dataset_manager/formats/cvat.py, dump_as_cvat_interpolation: <skeleton frame keyframe z_order> with no
# outside or occluded of its own, each point a <points label keyframe outside occluded points> with "{:.2f}"
# numbers, the skeleton's attributes after its points) and its meta (bindings.py _convert_db_labels: name, color,
# type, attributes, parent, svg), as in CVAT's docs (site/content/en/docs/manual/advanced/xml_format.md).
CVAT_SKELETON_XML = '''<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <mode>interpolation</mode>
      <labels>
        <label>
          <name>pedestrian-skeleton</name>
          <color>#ff40a0</color>
          <type>skeleton</type>
          <attributes>
          </attributes>
          <svg>SVG</svg>
        </label>
        <label>
          <name>nose</name>
          <color>#ff40a0</color>
          <type>points</type>
          <attributes>
          </attributes>
          <parent>pedestrian-skeleton</parent>
        </label>
      </labels>
    </task>
  </meta>
  <track id="0" label="pedestrian-skeleton" source="manual">
    <skeleton frame="2" keyframe="1" z_order="0">
      <points label="nose" keyframe="1" outside="0" occluded="0" points="40.50,12.25">
      </points>
      <points label="left_eye" keyframe="1" outside="0" occluded="1" points="38.00,10.00">
      </points>
      <points label="right_eye" keyframe="1" outside="1" occluded="0" points="42.00,10.00">
      </points>
      <attribute name="occluded">true</attribute>
    </skeleton>
    <skeleton frame="3" keyframe="0" z_order="0">
      <points label="nose" keyframe="0" outside="0" occluded="0" points="41.50,12.25">
      </points>
      <points label="left_eye" keyframe="0" outside="0" occluded="0" points="39.00,10.00">
      </points>
      <points label="right_eye" keyframe="0" outside="1" occluded="0" points="42.00,10.00">
      </points>
      <attribute name="occluded">false</attribute>
    </skeleton>
    <skeleton frame="4" keyframe="1" z_order="0">
      <points label="nose" keyframe="1" outside="1" occluded="0" points="41.50,12.25">
      </points>
      <points label="left_eye" keyframe="1" outside="1" occluded="0" points="39.00,10.00">
      </points>
      <points label="right_eye" keyframe="1" outside="1" occluded="0" points="42.00,10.00">
      </points>
    </skeleton>
  </track>
  <track id="1" label="pedestrian" source="manual">
    <skeleton frame="6" keyframe="1" z_order="0">
      <points label="right_ankle" keyframe="1" outside="0" occluded="0" points="10.00,80.00">
      </points>
    </skeleton>
  </track>
</annotations>
'''.replace("SVG", '&lt;line x1="50" y1="8" x2="54" y2="6" stroke="black" data-type="edge" data-node-from="1" '
                  'stroke-width="0.5" data-node-to="2"&gt;&lt;/line&gt;&lt;circle r="1.5" stroke="black" '
                  'fill="#b3b3b3" cx="50" cy="8" stroke-width="0.1" data-type="element node" data-element-id="1" '
                  'data-node-id="1" data-label-name="nose"&gt;&lt;/circle&gt;')


def test_a_skeleton_track_written_by_cvat_imports_points_by_name_and_skips_the_outside_skeleton(tmp_path):
    (tmp_path / "cvat.xml").write_text(CVAT_SKELETON_XML)
    with Project.create(tmp_path / "q", SEQUENCE) as fresh:
        report = import_cvat(fresh, tmp_path / "cvat.xml", source=Source.MANUAL)
        states = _states(fresh)
    assert report.total == 3  # frame 4, every point outside, ends the track: no state
    names = default_taxonomy()["pedestrian"].skeleton.points
    expected = np.full((len(names), 2), np.nan)
    expected[:3] = [[40.5, 12.25], [38, 10], [np.nan, np.nan]]
    visibility = np.zeros(len(names), np.uint8)  # the points the file leaves out are absent
    visibility[:2] = [VISIBLE, OCCLUDED]
    walker, ankle = states[1][2], states[2][2]
    assert walker[0] == (2, make_skeleton(expected, visibility), {"occluded": True}, True)
    assert walker[1][0] == 3 and walker[1][2:] == ({"occluded": False}, False)  # keyframe="0": interpolated
    assert walker[1][1].visibility.tolist()[:3] == [VISIBLE, VISIBLE, ABSENT]
    assert [state[0] for state in walker] == [2, 3]
    # a CVAT user's own skeleton label named as our class is read as that class's skeleton
    assert states[2][0] == "pedestrian" and ankle[0][1].visibility.tolist() == [ABSENT] * 16 + [VISIBLE]
    assert ankle[0][1].points[-1].tolist() == [10, 80]


def test_a_class_named_as_a_skeleton_label_stops_the_export_before_writing(tmp_path):
    data = default_taxonomy().to_dict()
    data["classes"]["pedestrian-skeleton"] = {"geometry": ["box"], "color": "#123456"}
    with Project.create(tmp_path / "p", SEQUENCE, taxonomy=taxonomy_from_dict(data)) as project, \
            pytest.raises(RoadlabelError, match="class 'pedestrian-skeleton' has the name of class 'pedestrian'"):
        export_cvat(project, tmp_path / "a.xml")
    assert not (tmp_path / "a.xml").exists()
