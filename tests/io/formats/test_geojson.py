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
        import_geojson(again, out)
        assert _content(again) == _content(project)
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


@pytest.mark.parametrize(
    ("features", "place", "reason"),
    [
        ([_feature(), _feature(**{"class": "spaceship"})], "feature 1", "unknown class 'spaceship'"),
        ([_feature(frame=100)], "feature 0", "frame 100 does not exist"),
        ([_feature(frame=-1)], "feature 0", "'frame' must be a non-negative integer"),
        ([_feature(attributes={"style": "wavy"})], "feature 0", "'wavy' is not one of"),
        ([_feature(source="guessed")], "feature 0", "unknown source 'guessed'"),
        ([_feature(confidence=3)], "feature 0", "confidence must be a number from 0 to 1"),
        ([_feature(), {**_feature(), "geometry": {"type": "LineString", "coordinates": [[10, 10], [700, 30]]}}],
         "feature 1", "outside the 640x360 image"),
        ([{**_feature(), "geometry": {"type": "LineString", "coordinates": [[10, 10], [float("nan"), 30]]}}],
         "feature 0", "not a finite number"),
        ([{**_feature(), "geometry": {"type": "Point", "coordinates": [10, 10]}}], "feature 0",
         "takes ['polyline'], not point"),
        ([_feature(attributes={"color": "white"}), _feature(frame=1, attributes={"color": "yellow"})],
         "feature 1", "track 1 has class/track attributes"),
        ([{**_feature(), "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [5, 0], [5, 5]]]}}],
         "feature 0", "ring must be closed"),
        ([{"type": "Feature", "properties": None, "geometry": None}], "feature 0", "no \"properties\""),
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
