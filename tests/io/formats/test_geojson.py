import json

import geojson
import numpy as np
import pytest

from napari_roadlabel.core import FormatError, RoadlabelError, Source, box, make_geometry, make_mask
from napari_roadlabel.io.formats.geojson import export_geojson, import_geojson, read_geojson


def _fill(project):
    """One object of every geometry kind, a tag, and each source."""
    lane = project.add_track("lane-line", {"color": "yellow"})
    project.set_state(lane.id, 0, make_geometry("polyline", [[1 / 3, 359.5], [200.125, 250], [300, 180]]),
                      {"style": "dashed"})
    project.set_state(lane.id, 1, make_geometry("polyline", [[2, 359], [201, 250]]), source=Source.INTERPOLATED)
    light = project.add_track("traffic-light", {"face": "arrow-left"})
    project.set_state(light.id, 0, box(10, 20, 30, 60), {"state": "red", "flashing": True})
    project.set_state(light.id, 1, box(11, 20, 31, 61), {"state": "green"}, source=Source.PROPAGATED,
                      confidence=0.25)
    crosswalk = project.add_track("crosswalk")
    project.set_state(crosswalk.id, 1, make_geometry("polygon", [[100, 300], [400, 300], [380, 340], [120, 340]]))
    sign = project.add_track("traffic-sign", {"type": "speed-limit", "value": 65})
    project.set_state(sign.id, 2, make_geometry("point", [500, 100]), source=Source.SUGGESTED, confidence=0.6)
    person = project.add_track("pedestrian")
    project.set_state(person.id, 2, make_geometry("keypoints", [[50, 60], [55, 80], [52, 100]]),
                      source=Source.IMPORTED)
    car = project.add_track("vehicle", {"type": "truck"})
    pixels = np.zeros((6, 9), bool)
    pixels[0, 0] = pixels[2:5, 3:8] = True
    project.set_state(car.id, 3, make_mask(pixels, (200, 100)), {"occluded": True})
    project.add_tag("school-zone-active", 40, 60)
    project.add_tag("scene", 0, 99, {"weather": "rain", "time-of-day": "night"})


def _content(project):
    objects = [(o.track, o.state.frame, o.state.geometry, dict(o.state.attributes), o.state.source,
                o.state.confidence) for o in project.store.iter_objects()]
    return objects, project.tags()


def test_export_then_import_gives_back_the_same_annotations(project, tmp_path):
    _fill(project)
    out = tmp_path / "labels.geojson"
    assert export_geojson(project, out) == 10
    from napari_roadlabel.core import Project, SequenceInfo

    with Project.create(tmp_path / "again", SequenceInfo("clip.mp4", 100, 640, 360, 30.0)) as again:
        report = import_geojson(again, out)
        assert _content(again) == _content(project)
        assert (report.total, report.clipped, report.skipped) == (10, {}, {})  # 8 objects and 2 tags
        assert again.keyframes_of(1)[0].frame == 0  # manual features became keyframes


def test_export_is_valid_geojson_with_the_documented_properties(project, tmp_path):
    _fill(project)
    out = tmp_path / "labels.geojson"
    export_geojson(project, out)
    assert geojson.loads(out.read_text()).is_valid
    collection = json.loads(out.read_text())  # geojson.loads would round coordinates to 6 decimals
    by_class = {}
    for feature in collection["features"]:
        by_class.setdefault(feature["properties"]["class"], []).append(feature)
    lane = by_class["lane-line"][0]
    assert lane["geometry"]["type"] == "LineString"
    assert lane["geometry"]["coordinates"][0] == [1 / 3, 359.5]  # x, y exactly as placed
    assert lane["properties"] == {"frame": 0, "track_id": 1, "class": "lane-line", "source": "manual",
                                  "attributes": {"color": "yellow", "kind": "lane-marking", "style": "dashed",
                                                 "split-merge": "none"}}
    light = by_class["traffic-light"][1]
    assert light["properties"]["shape"] == "box" and light["geometry"]["type"] == "Polygon"
    assert light["properties"]["confidence"] == 0.25 and light["properties"]["source"] == "propagated"
    assert by_class["traffic-sign"][0]["geometry"]["type"] == "Point"
    assert by_class["pedestrian"][0]["geometry"]["type"] == "MultiPoint"
    assert by_class["vehicle"][0]["properties"]["shape"] == "mask"
    zone = by_class["school-zone-active"][0]
    assert zone["geometry"] is None and zone["properties"]["frame"] == 40 and zone["properties"]["frame_end"] == 60


def test_export_can_limit_frames_and_never_overwrites(project, tmp_path):
    _fill(project)
    out = tmp_path / "labels.geojson"
    export_geojson(project, out, frames=range(1, 2))
    frames = {f["properties"]["frame"] for f in json.loads(out.read_text())["features"] if f["geometry"]}
    assert frames == {1}
    before = out.read_bytes()
    with pytest.raises(RoadlabelError, match="already exists"):
        export_geojson(project, out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_importing_twice_gives_fresh_ids(project, tmp_path):
    _fill(project)
    out = tmp_path / "labels.geojson"
    export_geojson(project, out)
    before = {t.id for t in project.tracks()}
    import_geojson(project, out, source=Source.SUGGESTED)
    new = [t for t in project.tracks() if t.id not in before]
    assert len(new) == len(before)
    assert {s.source for t in new for s in project.states_of(t.id)} == {Source.SUGGESTED}
    assert project.undo().startswith("import")  # the whole import is one undo step
    assert {t.id for t in project.tracks()} == before


def _feature(**properties):
    base = {"frame": 0, "track_id": 1, "class": "lane-line", "attributes": {}, "source": "manual"}
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[10, 10], [20, 30]]},
            "properties": {**base, **properties}}


def _tag(**properties):
    base = {"frame": 2, "frame_end": 4, "track_id": 9, "class": "school-zone-active", "attributes": {}}
    return {"type": "Feature", "geometry": None,
            "properties": {key: value for key, value in {**base, **properties}.items() if value is not None}}


def _shaped(shape, ring, class_name="traffic-light", **properties):
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"frame": 0, "track_id": 1, "class": class_name, "shape": shape, **properties}}


def _mask(size, counts):
    feature = _shaped("mask", [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], "vehicle")
    feature["properties"]["mask"] = {"size": size, "counts": counts}
    return feature


@pytest.mark.parametrize(
    ("features", "place", "reason"),
    [
        ([_feature(), _feature(**{"class": "spaceship"})], "feature 1", "unknown class 'spaceship'"),
        ([_feature(frame=100)], "feature 0", "frame 100 does not exist"),
        ([_feature(frame=-1)], "feature 0", "'frame' must be a non-negative integer"),
        ([_feature(attributes={"style": "wavy"})], "feature 0", "'wavy' is not one of"),
        ([_feature(source="guessed")], "feature 0", "unknown source 'guessed'"),
        ([_feature(confidence=3)], "feature 0", "confidence must be a number from 0 to 1"),
        ([{**_feature(), "geometry": {"type": "LineString", "coordinates": [[10, 10], [float("nan"), 30]]}}],
         "feature 0", "not a finite number"),
        ([{**_feature(), "geometry": {"type": "Point", "coordinates": [10, 10]}}], "feature 0",
         "takes ['polyline'], not point"),
        ([_feature(attributes={"color": "white"}), _feature(frame=1, attributes={"color": "yellow"})],
         "feature 1", "track 1 has class/track attributes"),
        ([{**_feature(), "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [5, 0], [5, 5]]]}}],
         "feature 0", "ring must be closed"),
        ([{"type": "Feature", "properties": None, "geometry": None}], "feature 0", "no \"properties\""),
        # issue 14: two features for one track on one frame would keep one of them
        ([_feature(), _feature(frame=3), _feature(track_id=2), _feature(frame=3)], "feature 3",
         "feature 1 and feature 3 are both track 1 on frame 3"),
        ([_feature(track_id=5), _tag(track_id=5)], "feature 1", "feature 0 and feature 1 both have id 5"),
        # a box is an axis-aligned rectangle: not 3 corners, not rotated
        ([_shaped("box", [[10, 10], [50, 10], [50, 40], [10, 10]])], "feature 0",
         "a box is a ring of 4 corners and the closing point, got 3 corners"),
        ([_shaped("box", [[30, 0], [60, 30], [30, 60], [0, 30], [30, 0]])], "feature 0",
         "a box's corners must make an axis-aligned rectangle, got [[30.0, 0.0], [60.0, 30.0]"),
        ([_shaped("polygon", [[10, 10], [50, 40], [50, 10], [10, 40], [10, 10]], "crosswalk")], "feature 0",
         "the polygon crosses itself at (30.0, 25.0)"),
        ([{**_feature(), "geometry": {"type": "LineString", "coordinates": [["100", "500"], ["110", "300"]]}}],
         "feature 0", "polyline coordinates must be numbers, got [['100', '500']"),
        ([{**_feature(**{"class": "traffic-sign"}), "geometry": {"type": "Point", "coordinates": [True, False]}}],
         "feature 0", "point coordinates must be numbers, got [True, False]"),
        ([_shaped("box", [["1", "2"], ["9", "2"], ["9", "8"], ["1", "8"], ["1", "2"]])], "feature 0",
         "polygon coordinates must be numbers"),
        # masks: checked against the image, and their runs, before a pixel is made
        ([_mask([100000, 100000], [1e10])], "feature 0", "the mask is 100000x100000, larger than the 640x360 image"),
        ([_mask([10, 10], [150, -50])], "feature 0", "mask counts: run 1 is negative (-50)"),
        ([_mask([10, 10], [50, 49.5, 0.5])], "feature 0", "mask counts: run 1 is 49.5: a run length is a whole"),
        ([_mask([10, 10], [50, "50"])], "feature 0", "mask counts: run 1 is '50'"),
        ([_mask([10, 10], [50, 40])], "feature 0", "mask counts: the run lengths add up to 90, not 10x10"),
        # messages that say what is wrong
        ([_tag(frame=12, frame_end=5)], "feature 0", "frame_end 5 is before frame 12"),
        ([{**_feature(), "geometry": None}], "feature 0", "class 'lane-line' needs a geometry"),
        ([_tag(frame_end=None)], "feature 0", "a frame-range tag needs property 'frame_end'"),
    ],
)
def test_bad_features_are_refused_and_nothing_is_imported(project, tmp_path, features, place, reason):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(FormatError) as raised:
        import_geojson(project, path)
    assert f"{path}: {place}: " in str(raised.value) and reason in str(raised.value)
    assert project.tracks() == [] and project.store.next_id() == 1


def test_malformed_json_names_the_line(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection",\n "features": [\n {"type": "Feature",,}]}')
    with pytest.raises(FormatError, match=r"broken.geojson: line 3, column \d+: malformed JSON"):
        read_geojson(path)


def test_not_a_feature_collection(tmp_path):
    path = tmp_path / "point.geojson"
    path.write_text('{"type": "Point", "coordinates": [1, 2]}')
    with pytest.raises(FormatError, match="not a GeoJSON FeatureCollection"):
        read_geojson(path)


def _collection(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_thousands_of_copies_of_one_feature_are_refused_naming_two_of_them(project, tmp_path):
    """Issue 14: 455,902 copies of one feature reported "imported 455902 features" and kept one state."""
    path = _collection(tmp_path / "copies.geojson", [_feature(track_id=5, frame=12)] * 3000)
    with pytest.raises(FormatError, match="feature 1: feature 0 and feature 1 are both track 5 on frame 12"):
        import_geojson(project, path)
    assert project.tracks() == [] and project.store.next_id() == 1


def test_a_huge_mask_is_refused_before_anything_is_allocated(project, tmp_path):
    """Issue 14: a 300-byte mask of 100000x100000 took 10 GB before it was refused."""
    import tracemalloc

    path = _collection(tmp_path / "huge.geojson", [_mask([100000, 100000], [1e10])])
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="larger than the 640x360 image"):
            import_geojson(project, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 640 * 360  # a few frames' worth at most, not the mask's 10 GB


def test_geometry_past_the_border_is_clipped_or_skipped_and_counted(project, tmp_path):
    features = [
        _feature(track_id=1, frame=0),  # inside: as it is
        {**_feature(track_id=1, frame=1), "geometry": {"type": "LineString", "coordinates": [[100, 300], [100, 400]]}},
        {**_feature(track_id=2), "geometry": {"type": "LineString", "coordinates": [[700, 10], [800, 30]]}},
        _shaped("box", [[600, 10], [700, 10], [700, 40], [600, 40], [600, 10]], track_id=3),
        _shaped("box", [[5, 10], [5, 10], [5, 40], [5, 40], [5, 10]], track_id=3, frame=1),  # of no width: skipped
        _tag(),
    ]
    path = _collection(tmp_path / "border.geojson", features)
    report = import_geojson(project, path)
    lane = project.states_of(project.tracks("lane-line")[0].id)
    assert [state.geometry.points.tolist() for state in lane] == [[[10, 10], [20, 30]], [[100, 300], [100, 360]]]
    (light,) = project.tracks("traffic-light")
    assert [state.geometry for state in project.states_of(light.id)] == [box(600, 10, 640, 40)]
    assert len(project.tracks("lane-line")) == 1  # the lane wholly outside made no track
    assert report.total == 4 and len(project.tags()) == 1
    assert report.clipped == {str(path): {"cut where it leaves the image": 1, "clipped to the image": 1}}
    assert report.skipped == {str(path): {"fewer than 2 points inside the image": 1,
                                          "a box of zero width or height": 1}}
    assert report.summary().startswith("imported 2 lanes: 2 lane-line; 1 box: 1 traffic-light; ")
    assert "2 objects clipped at the image border; 2 objects skipped" in report.summary()
    (written,) = (project.folder / "imports").iterdir()
    assert json.loads(written.read_text())["clipped"] == 2


def test_strict_refuses_what_would_be_clipped(project, tmp_path):
    path = _collection(tmp_path / "past.geojson", [
        {**_feature(), "geometry": {"type": "LineString", "coordinates": [[100, 300], [100, 400]]}}])
    with pytest.raises(FormatError, match="past.geojson: feature 0: cut where it leaves the image .refused with"):
        import_geojson(project, path, strict=True)
    assert project.tracks() == []


def test_reading_without_a_project_bounds_a_mask_by_the_files_own_image(tmp_path):
    """The napari reader opens a GeoJSON file without a project: the collection's width and height bound a mask."""
    path = tmp_path / "huge.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "roadlabel": {"width": 160, "height": 90},
                                "features": [_mask([100000, 100000], [1e10])]}))
    with pytest.raises(FormatError, match="feature 0: the mask is 100000x100000, larger than the 160x90 image"):
        read_geojson(path)
