"""Relations in GeoJSON: the foreign member ``relations`` round-trips exactly, follows remapped track ids, and a
bad entry is refused naming the file and the entry."""

import json

import pytest

from napari_roadlabel.core import FormatError, Project, SequenceInfo, box, make_geometry
from napari_roadlabel.core.annotations import RelationEnd
from napari_roadlabel.io.formats.geojson import export_geojson, import_geojson

LINES = ([[100, 360], [250, 150]], [[320, 360], [320, 150]], [[540, 360], [390, 150]])
SEQUENCE = SequenceInfo("clip.mp4", 30, 640, 360)


def related(folder):
    """A project with lane lines 1-3 and light 4 on frames 0..19, two governs relations and a follows."""
    project = Project.create(folder, SEQUENCE)
    with project.group("scene"):
        for points in LINES:
            lane = project.add_track("lane-line").id
            for frame in range(20):
                project.set_state(lane, frame, make_geometry("polyline", points))
        light = project.add_track("traffic-light").id
        for frame in range(20):
            project.set_state(light, frame, box(300, 20, 315, 60))
    project.add_relation("governs", RelationEnd(light), RelationEnd.lane(1, 2), 0, 19)
    project.add_relation("follows", RelationEnd.lane(2, 3), RelationEnd.lane(1, 2), 3, 8)
    project.add_relation("governs", RelationEnd(light), RelationEnd.lane(2, 3), 10, 12)
    return project


def test_relations_round_trip_exactly(tmp_path):
    with related(tmp_path / "p") as project:
        export_geojson(project, tmp_path / "out.geojson")
        relations = project.relations()
    entries = json.loads((tmp_path / "out.geojson").read_text())["relations"]
    assert entries[1] == {"id": relations[1].id, "type": "follows", "source": {"lane": [2, 3]},
                          "target": {"lane": [1, 2]}, "frames": [3, 8]}
    with Project.create(tmp_path / "again", SEQUENCE) as again:
        import_geojson(again, tmp_path / "out.geojson")
        assert again.relations() == relations
        again.undo()  # the import is one step, relations and all
        assert again.relations() == [] and again.tracks() == []


def test_imported_relations_follow_the_tracks_to_their_new_ids(tmp_path):
    with related(tmp_path / "p") as project:
        export_geojson(project, tmp_path / "out.geojson")
        relations = project.relations()
    with Project.create(tmp_path / "busy", SEQUENCE) as busy:
        busy.add_track("vehicle")  # id 1 is taken: every imported id is fresh
        import_geojson(busy, tmp_path / "out.geojson")
        new_id = {old: busy.tracks()[old].id for old in range(1, 5)}  # tracks come in the file's id order
        assert [(relation.type, relation.start, relation.end) for relation in busy.relations()] == [
            (relation.type, relation.start, relation.end) for relation in relations]
        first = busy.relations()[0]
        assert (first.source, first.target) == (RelationEnd(new_id[4]), RelationEnd.lane(new_id[1], new_id[2]))
        assert first.id not in new_id.values() and first.id > new_id[4]


def test_an_export_of_some_frames_keeps_the_part_of_each_relation_on_them(tmp_path):
    with related(tmp_path / "p") as project:
        export_geojson(project, tmp_path / "part.geojson", frames=range(5, 11))
    entries = json.loads((tmp_path / "part.geojson").read_text())["relations"]
    assert [entry["frames"] for entry in entries] == [[5, 10], [5, 8], [10, 10]]


@pytest.mark.parametrize(("change", "place", "reason"), [
    (lambda entry: entry.update(frames=[9, 3]), "relations[0]", "first <= last"),
    (lambda entry: entry.update(source={"lane": [1]}), "relations[0].source", "must be"),
    (lambda entry: entry.update(target={"track": 3, "lane": [1, 2]}), "relations[0].target", "must be"),
    (lambda entry: entry.update(target={"lane": [1, 9]}), "relations[0]", "the file has no track 9"),
    (lambda entry: entry.update(id=2), "relations[0]", "another feature's or relation's"),
    (lambda entry: entry.update(type="controls"), "relations[0]", "unknown relation type 'controls'"),
    (lambda entry: entry.update(target={"track": 3}), "relations[0]", "a lane-line cannot be a 'to' end"),
    (lambda entry: entry.update(frames=[0, 40]), "relations[0]", "outside the sequence"),
])
def test_a_bad_relation_entry_is_refused_naming_it_and_nothing_is_imported(tmp_path, change, place, reason):
    with related(tmp_path / "p") as project:
        export_geojson(project, tmp_path / "out.geojson")
    data = json.loads((tmp_path / "out.geojson").read_text())
    change(data["relations"][0])
    (tmp_path / "bad.geojson").write_text(json.dumps(data))
    with Project.create(tmp_path / "again", SEQUENCE) as again:
        with pytest.raises(FormatError, match=reason) as error:
            import_geojson(again, tmp_path / "bad.geojson")
        assert error.value.place == place and error.value.where == str(tmp_path / "bad.geojson")
        assert again.tracks() == [] and again.relations() == []


def test_a_file_without_relations_imports_as_before(tmp_path):
    with related(tmp_path / "p") as project:
        export_geojson(project, tmp_path / "out.geojson")
    data = json.loads((tmp_path / "out.geojson").read_text())
    del data["relations"]
    (tmp_path / "plain.geojson").write_text(json.dumps(data))
    with Project.create(tmp_path / "again", SEQUENCE) as again:
        import_geojson(again, tmp_path / "plain.geojson")
        assert len(again.tracks()) == 4 and again.relations() == []


def test_a_relation_whose_end_the_import_leaves_out_is_skipped_and_counted(tmp_path):
    with related(tmp_path / "p") as project:
        export_geojson(project, tmp_path / "out.geojson")
    data = json.loads((tmp_path / "out.geojson").read_text())
    for feature in data["features"]:
        if feature["properties"]["track_id"] == 4:  # the light, moved wholly off the image: skipped
            feature["geometry"]["coordinates"] = [[[700, 20], [715, 20], [715, 60], [700, 60], [700, 20]]]
    (tmp_path / "off.geojson").write_text(json.dumps(data))
    with Project.create(tmp_path / "again", SEQUENCE) as again:
        report = import_geojson(again, tmp_path / "off.geojson")
        assert [relation.type for relation in again.relations()] == ["follows"]
        assert report.skipped[str(tmp_path / "off.geojson")]["a relation whose end was left out"] == 2
