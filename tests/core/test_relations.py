"""Relations between objects (schema 5): taxonomy types, undoable edits, dangling ends, lanes and centrelines."""

import itertools
import sqlite3

import numpy as np
import pytest

from napari_roadlabel.core import (
    AnnotationError,
    Project,
    SequenceInfo,
    TaxonomyError,
    box,
    default_taxonomy,
    make_geometry,
    taxonomy_from_dict,
)
from napari_roadlabel.core.annotations import RelationEnd
from napari_roadlabel.core.lane_order import bottom_crossing
from napari_roadlabel.core.lanes import fit_lane
from napari_roadlabel.core.relations import (
    LANE_BLOCK,
    EndFinder,
    centreline,
    dangling_relations,
    follow_cycles,
    lanes_on,
    last_frame_with,
)
from napari_roadlabel.core.store import SCHEMA_VERSION
from tests.conftest import as_schema, place_track

LIGHT = box(300, 20, 315, 60)
# Three straight lane lines, left to right at the bottom row: lanes (1|2) and (2|3).
LINES = ([[100, 360], [250, 150]], [[320, 360], [320, 150]], [[540, 360], [390, 150]])


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", 30, 640, 360)) as opened:
        yield opened


@pytest.fixture
def scene(project):
    """Project, light id and the lane line ids, all on frames 0..19."""
    lines = [place_track(project, "lane-line", make_geometry("polyline", points), range(20)) for points in LINES]
    return project, place_track(project, "traffic-light", LIGHT, range(20)), lines


# ---------------------------------------------------------------- taxonomy


@pytest.mark.parametrize(("relations", "key", "reason"), [
    ({"governs": {"from": ["traffic-lite"], "to": ["lane"]}}, "relations.governs.from", "unknown class 'traffic-lite'"),
    ({"governs": {"from": ["scene"], "to": ["lane"]}}, "relations.governs.from", "frame-range class"),
    ({"governs": {"from": ["traffic-light"], "to": []}}, "relations.governs.to", "one or more"),
    ({"governs": {"from": ["traffic-light"], "to": ["lane"], "required_for": ["vehicle"]}},
     "relations.governs.required_for", "neither"),
    ({"governs": {"from": ["traffic-light"], "to": ["lane"], "via": 1}}, "relations.governs.via", "unknown key"),
    ({"governs": ["traffic-light", "lane"]}, "relations.governs", "mapping with 'from' and 'to'"),
    (["governs"], "relations", "mapping of relation type names"),
])
def test_a_bad_relation_type_names_the_file_the_key_and_the_reason(relations, key, reason):
    data = {**default_taxonomy().to_dict(), "relations": relations}
    with pytest.raises(TaxonomyError, match=reason) as error:
        taxonomy_from_dict(data, where="team.yaml")
    assert error.value.where == "team.yaml" and error.value.place == key


def test_relation_types_survive_the_taxonomy_file(project):
    types = project.taxonomy.relations  # read back from the project's taxonomy.yaml
    assert types["governs"].sources == ("traffic-light", "traffic-sign") and types["governs"].targets == ("lane",)
    assert taxonomy_from_dict(project.taxonomy.to_dict()) == project.taxonomy


# ---------------------------------------------------------------- editing and undo


def test_a_relation_is_added_changed_and_deleted_each_one_undoable_step(scene):
    project, light, (one, two, _) = scene
    lane = RelationEnd.lane(one, two)
    relation = project.add_relation("governs", RelationEnd(light), lane, 2, 9)
    assert project.relations() == [relation] and project.relations(frame=10) == []
    assert project.relations(frame=9) == [relation]
    moved = project.update_relation(relation.id, start=5, end=15)
    project.delete_relation(relation.id)
    assert project.relations() == []
    assert project.undo() == f"delete relation {relation.id}"
    assert project.relations() == [moved]
    assert project.undo() == f"edit relation {relation.id}"
    assert project.relations() == [relation]
    assert project.undo() == "relate governs"
    assert project.relations() == []
    project.redo()
    assert project.relations() == [relation]
    project.close()
    with Project.open(project.folder) as reopened:  # kept in the store
        assert reopened.relations() == [relation]


@pytest.mark.parametrize(("make", "reason"), [
    (lambda light, lines: ("controls", RelationEnd(light), RelationEnd.lane(*lines[:2]), 0, 5),
     "unknown relation type"),
    (lambda light, lines: ("governs", RelationEnd(light), RelationEnd.lane(*lines[:2]), 0, 30), "outside the sequence"),
    (lambda light, lines: ("governs", RelationEnd(light), RelationEnd.lane(*lines[:2]), 6, 5), "before it starts"),
    (lambda light, lines: ("governs", RelationEnd(lines[0]), RelationEnd.lane(*lines[1:]), 0, 5),
     "a lane-line cannot be a 'from' end"),
    (lambda light, lines: ("governs", RelationEnd(light), RelationEnd(lines[0]), 0, 5),
     "a lane-line cannot be a 'to' end"),
    (lambda light, lines: ("governs", RelationEnd(light), RelationEnd.lane(light, lines[0]), 0, 5),
     "between two lane lines, not traffic-light and lane-line"),
    (lambda light, lines: ("follows", RelationEnd.lane(*lines[:2]), RelationEnd.lane(lines[0], lines[0]), 0, 5),
     "two different lane lines"),
    (lambda light, lines: ("governs", RelationEnd(99), RelationEnd.lane(*lines[:2]), 0, 5), "no track with id 99"),
    (lambda light, lines: ("follows", RelationEnd.lane(*lines[:2]), RelationEnd.lane(*lines[:2]), 0, 5), "itself"),
])
def test_a_relation_the_taxonomy_or_the_project_does_not_allow_is_refused(scene, make, reason):
    project, light, lines = scene
    with pytest.raises(AnnotationError, match=reason):
        project.add_relation(*make(light, lines))
    assert project.relations() == []


def test_deleting_a_track_deletes_its_relations_in_the_same_step_and_says_so(scene):
    project, light, (one, two, three) = scene
    governs = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(one, two), 0, 19)
    follows = project.add_relation("follows", RelationEnd.lane(two, three), RelationEnd.lane(one, two), 0, 19)
    other = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(two, three), 0, 19)
    assert project.delete_track(one) == [governs, follows]  # as the left line of a lane, at either end
    assert project.relations() == [other]
    assert project.undo() == f"delete track {one} and its 2 relations"
    assert project.relations() == [governs, follows, other] and len(project.states_of(one)) == 20


# ---------------------------------------------------------------- dangling ends


def test_a_relation_past_its_ends_last_state_is_reported_not_left_silently(scene):
    project, light, (one, two, three) = scene
    governs = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(one, two), 0, 19)
    project.add_relation("governs", RelationEnd(light), RelationEnd.lane(two, three), 0, 9)
    assert dangling_relations(project) == []
    for frame in range(15, 20):  # the light removed frame by frame: its relation is not told
        project.delete_state(light, frame)
    project.delete_state(two, 3)
    found = dangling_relations(project)
    assert [(item.relation.id, item.runs) for item in found] == [(governs.id, ((3, 3), (15, 19))),
                                                                  (governs.id + 1, ((3, 3),))]
    assert [item.runs for item in dangling_relations(project, frames=range(10, 17))] == [((15, 16),)]


def test_ending_a_track_ends_its_relations_there_in_the_same_undo_step(scene):
    project, light, (one, two, three) = scene
    governs = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(one, two), 0, 19)
    later = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(two, three), 16, 19)
    earlier = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(two, three), 2, 9)
    assert project.end_track_after(light, 14) == 5
    assert [(relation.id, relation.start, relation.end) for relation in project.relations()] == [
        (governs.id, 0, 14), (earlier.id, 2, 9)]  # the one starting after the end goes
    assert dangling_relations(project) == []
    assert project.undo() == f"end track {light} and 2 relations at frame 14"
    assert project.relations() == [governs, earlier, later] and len(project.states_of(light)) == 20


def test_a_lane_whose_lines_are_not_neighbours_on_a_frame_is_absent_there(scene):
    project, light, (one, two, three) = scene
    relation = project.add_relation("governs", RelationEnd(light), RelationEnd.lane(one, three), 0, 4)
    project.delete_state(two, 4)  # line 2 gone: lines 1 and 3 are neighbours on frame 4 only
    assert [(item.relation, item.runs) for item in dangling_relations(project)] == [(relation, ((0, 3),))]


def test_a_new_relation_holds_from_its_frame_while_both_ends_are_there(scene):
    project, light, (one, two, three) = scene
    project.delete_state(two, 12)  # lines 1 and 3 are neighbours on frame 12, lane 1|2 absent
    assert last_frame_with(project, RelationEnd(light), RelationEnd.lane(one, two), 3) == 11
    assert last_frame_with(project, RelationEnd(light), RelationEnd.lane(one, three), 12) == 12
    assert last_frame_with(project, RelationEnd(light), RelationEnd.lane(two, three), 13) == 19
    with pytest.raises(AnnotationError, match="must both be on frame 12"):
        last_frame_with(project, RelationEnd(light), RelationEnd.lane(one, two), 12)


def varied_lines(project, frames):
    """Lane lines over ``frames`` frames that cross, tie, vanish, appear and stop short of the bottom row."""
    rng = np.random.default_rng(7)
    lines = {}

    def add(name, shape, on):
        lines[name] = made = project.add_track("lane-line").id
        for frame in on:
            points = np.clip(np.asarray(shape(frame), dtype=float) + rng.normal(0, 0.5, (1, 2)), 1, [639, 359])
            project.set_state(made, frame, make_geometry("polyline", points))

    with project.group("lines"):
        add("steady", lambda f: [[60, 355], [150, 250], [250, 150]], range(frames))
        swing = 200 * np.sin(np.arange(frames) / 25)  # the next two swap places back and forth
        add("over", lambda f: [[320 + swing[f], 355], [320 + swing[f] / 2, 200], [320, 120]], range(frames))
        add("under", lambda f: [[320 - swing[f], 355], [320, 200], [330, 120]], range(frames))
        add("gaps", lambda f: [[560, 355], [470, 230], [420, 150]], [f for f in range(frames) if f % 37 > 9])
        add("late", lambda f: [[230, 340], [260, 260], [300, 150]], range(frames // 3, frames))
        add("short", lambda f: [[600, 200], [560, 150], [520, 110], [500, 100]], range(0, frames, 2))
        add("hook", lambda f: [[440, 350], [480, 250], [430, 200], [400, 330]], range(frames // 2))
    return lines


def neighbours_by_definition(project, frame):
    """The lanes on ``frame`` as the definition says, line by line: fit each lane line, order them left to right
    by where they meet the bottom row (ties: by track id), pair each with the next."""
    lines = [item for item in project.objects_on(frame) if item.track.class_name == "lane-line"]
    crossings = {item.track.id: bottom_crossing(fit_lane(item.state.geometry.points), project.sequence.height)
                 for item in lines}
    ordered = sorted(crossings, key=lambda track_id: (crossings[track_id], track_id))
    return set(itertools.pairwise(ordered))


def test_lanes_found_many_frames_at_once_are_those_of_the_definition_frame_by_frame(tmp_path):
    frames = LANE_BLOCK + 60  # over a block's border
    with Project.create(tmp_path / "p", SequenceInfo("clip.mp4", frames, 640, 360)) as project:
        ids = sorted(varied_lines(project, frames).values())
        finder = EndFinder(project)
        changes = 0
        before = None
        for frame in range(frames):
            expected = neighbours_by_definition(project, frame)
            assert {(lane.left, lane.right) for lane in lanes_on(project, frame)} == expected
            found = {(left, right) for left, right in itertools.permutations(ids, 2)
                     if finder.present(RelationEnd.lane(left, right), frame)}
            assert found == expected, f"frame {frame}"
            changes += expected != before
            before = expected
        assert changes > 20  # the lanes change often: crossings, gaps, lines appearing and ending


# ---------------------------------------------------------------- lanes and centrelines


def test_the_centreline_of_two_straight_lines_is_their_midline_computed_by_hand():
    left = fit_lane([[100, 400], [200, 100]])  # x = 100 + (400 - y) / 3
    right = fit_lane([[300, 380], [240, 80]])  # x = 300 - (380 - y) / 5, rows 80..380
    line = centreline(left, right, samples=4)
    rows = np.array([380.0, 380 - 280 / 3, 100 + 280 / 3, 100.0])  # their common rows 100..380, bottom up
    expected_x = ((100 + (400 - rows) / 3) + (300 - (380 - rows) / 5)) / 2
    np.testing.assert_allclose(line, np.column_stack([expected_x, rows]), atol=1e-9)
    assert line[0].tolist() == pytest.approx([(106.6666667 + 300) / 2, 380])


def test_the_centreline_of_two_parallel_curves_is_the_curve_halfway():
    curve = np.array([[200, 360], [230, 260], [290, 180], [380, 120]], dtype=float)
    shifted = curve + [80, 0]
    line = centreline(fit_lane(curve), fit_lane(shifted), samples=9)
    halfway = fit_lane(curve + [40, 0])
    np.testing.assert_allclose(line[:, 0], halfway.sample_rows(line[:, 1]), atol=1e-9)
    assert line[0, 1] == 360 and line[-1, 1] == 120


def test_curves_that_share_no_rows_have_no_centreline():
    assert centreline(fit_lane([[0, 300], [10, 200]]), fit_lane([[50, 150], [60, 50]])) is None


def test_the_lanes_on_a_frame_are_the_neighbouring_lane_lines_left_to_right(scene):
    project, light, (one, two, three) = scene
    lanes = lanes_on(project, 0, samples=3)
    assert [(lane.left, lane.right) for lane in lanes] == [(one, two), (two, three)]
    np.testing.assert_allclose(lanes[0].centreline, [[210, 360], [247.5, 255], [285, 150]])
    assert lanes[1].end == RelationEnd.lane(two, three)
    assert lanes_on(project, 25) == []


def test_follows_cycles_are_found_once_per_cycle_and_run_of_frames(scene):
    project, light, (one, two, three) = scene
    first, second = RelationEnd.lane(one, two), RelationEnd.lane(two, three)
    ahead = project.add_relation("follows", first, second, 0, 19)
    back = project.add_relation("follows", second, first, 5, 9)
    project.add_relation("follows", second, first, 12, 12)
    cycles = follow_cycles(project.relations(), range(30))
    assert [([relation.id for relation in cycle.relations], cycle.start, cycle.last) for cycle in cycles] == [
        ([ahead.id, back.id], 5, 9), ([ahead.id, back.id + 1], 12, 12)]
    assert follow_cycles(project.relations(), range(0, 5)) == []


def test_a_longer_follows_cycle_is_found(scene):
    project, light, lines = scene
    fourth = place_track(project, "lane-line", make_geometry("polyline", [[630, 360], [600, 200]]), range(20))
    ends = [RelationEnd.lane(left, right) for left, right in itertools.pairwise([*lines, fourth])]
    for source, target in zip(ends, ends[1:] + ends[:1], strict=True):
        project.add_relation("follows", source, target, 0, 3)
    (cycle,) = follow_cycles(project.relations(), range(30))
    assert len(cycle.relations) == 3 and (cycle.start, cycle.last) == (0, 3)


# ---------------------------------------------------------------- schema 5


def make_schema_4(folder):
    """A schema-4 project as the code before relations wrote it."""
    with Project.create(folder, SequenceInfo("clip.mp4", 10, 640, 360)) as project:
        project.set_state(project.add_track("traffic-light").id, 1, LIGHT)
    as_schema(folder, 4)


def test_a_schema_4_project_is_migrated_on_opening_and_takes_relations(tmp_path):
    make_schema_4(tmp_path / "old")
    with Project.open(tmp_path / "old") as project:
        assert project.relations() == []
        lines = [place_track(project, "lane-line", make_geometry("polyline", points), [1]) for points in LINES[:2]]
        relation = project.add_relation("governs", RelationEnd(1), RelationEnd.lane(*lines), 1, 1)
    assert sqlite3.connect(tmp_path / "old" / "annotations.sqlite").execute("PRAGMA user_version").fetchone() == (
        SCHEMA_VERSION,)
    with Project.open(tmp_path / "old") as project:
        assert project.relations() == [relation]


def test_read_only_opens_a_schema_4_project_unchanged(tmp_path, fingerprint):
    make_schema_4(tmp_path / "old")
    before = fingerprint(tmp_path / "old")
    with Project.open(tmp_path / "old", read_only=True) as project:
        assert project.relations() == [] and len(project.states_of(1)) == 1
    assert fingerprint(tmp_path / "old") == before
