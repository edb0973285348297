import json

import numpy as np
import pytest

from napari_roadlabel.core import (
    GeometryError,
    GeometryKind,
    Project,
    TaxonomyError,
    default_taxonomy,
    flipped,
    load_taxonomy,
    make_skeleton,
    taxonomy_from_dict,
)
from napari_roadlabel.core.geometry import VISIBLE, Geometry, clipped_to_image
from napari_roadlabel.core.skeletons import Skeleton, template_in_box

ARM = {"points": ["head", "left_hand", "right_hand"], "edges": [["head", "left_hand"], ["head", "right_hand"]],
       "flip": [["left_hand", "right_hand"]]}


def _taxonomy(skeleton) -> dict:
    return {"name": "t", "classes": {"person": {"geometry": ["box"], "skeleton": skeleton}}}


def test_default_taxonomy_gives_pedestrians_cocos_skeleton_and_cyclists_a_bicycle():
    taxonomy = default_taxonomy()
    person = taxonomy["pedestrian"]
    assert GeometryKind.SKELETON in person.geometry
    assert person.skeleton.points[:3] == ("nose", "left_eye", "right_eye") and len(person.skeleton.points) == 17
    assert len(person.skeleton.edges) == 19 and ("left_hip", "right_hip") in person.skeleton.flip
    cyclist = taxonomy["cyclist"].skeleton
    assert cyclist.points[:17] == person.skeleton.points
    assert {"front_wheel", "rear_wheel", "handlebar", "saddle"} <= set(cyclist.points)
    assert "skeleton" not in {kind.value for kind in taxonomy["vehicle"].geometry}
    assert taxonomy_from_dict(taxonomy.to_dict()) == taxonomy


@pytest.mark.parametrize(
    ("skeleton", "key", "reason"),
    [
        ({**ARM, "edges": [["head", "left_hand"], ["head", "knee"]]}, "skeleton.edges[1]", "unknown point 'knee'"),
        ({**ARM, "points": ["head", "head"]}, "skeleton.points[1]", "'head' is listed twice"),
        ({**ARM, "edges": [["head", "head"]]}, "skeleton.edges[0]", "joins point 'head' to itself"),
        ({**ARM, "edges": [["head", "left_hand"], ["left_hand", "head"]]}, "skeleton.edges[1]", "listed twice"),
        ({**ARM, "flip": [["left_hand", "right_foot"]]}, "skeleton.flip[0]", "unknown point 'right_foot'"),
        ({**ARM, "flip": [["left_hand", "right_hand"], ["head", "left_hand"]]}, "skeleton.flip[1]",
         "'left_hand' is paired twice"),
        ({**ARM, "edges": [["head"]]}, "skeleton.edges[0]", "must be a [point, point] pair"),
        ({**ARM, "points": []}, "skeleton.points", "must list"),
        ({**ARM, "bones": []}, "skeleton.bones", "unknown key"),
        (["head"], "skeleton", "must be a mapping"),
    ],
)
def test_skeleton_definition_errors_name_the_file_the_key_and_the_reason(tmp_path, skeleton, key, reason):
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(_taxonomy(skeleton)))
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert caught.value.where == str(path) and caught.value.place == f"classes.person.{key}"
    assert reason in caught.value.reason


def test_a_skeleton_kind_without_a_skeleton_definition_is_refused():
    with pytest.raises(TaxonomyError, match="needs a 'skeleton:'"):
        taxonomy_from_dict({"classes": {"person": {"geometry": ["skeleton"]}}})


def test_skeleton_geometry_keeps_visibility_and_absent_points_through_the_store_encoding():
    state = make_skeleton([[10, 20], None, [30, 40]], [2, 0, 1])
    assert np.isnan(state.points[1]).all() and state.visibility.tolist() == [2, 0, 1]
    assert state.bounds() == (10.0, 20.0, 30.0, 40.0)
    again = Geometry.from_bytes("skeleton", state.to_bytes())
    assert again == state
    assert again != make_skeleton([[10, 20], None, [30, 40]], [2, 0, 2])  # visibility counts
    clipped = clipped_to_image(make_skeleton([[-5, 20], None, [30, 400]], [2, 0, 1]), 100, 100)
    assert clipped == make_skeleton([[0, 20], None, [30, 100]], [2, 0, 1])


@pytest.mark.parametrize(
    ("points", "visibility", "reason"),
    [
        ([[1, 2], None], [2, 2], "point 1: visibility 2 but no position"),
        ([[1, 2], [3, 4]], [2, 0], "point 1: visibility 0 but a position"),
        ([None, None], [0, 0], "no point placed"),
        ([[1, 2], [3, 4]], [2, 3], "visibility 3 is not"),
        ([[1, 2], [3, 4]], [2], "one whole-number visibility per point"),
        ([[1, 2], [np.inf, 4]], [2, 2], "point 1 is not a finite number"),
    ],
)
def test_bad_skeleton_states_are_refused_with_the_point_and_the_place(points, visibility, reason):
    with pytest.raises(GeometryError, match="track 3, frame 4") as caught:
        make_skeleton(points, visibility, where="track 3, frame 4")
    assert reason in str(caught.value)


def test_flipping_mirrors_x_and_swaps_the_left_and_right_points():
    skeleton = taxonomy_from_dict(_taxonomy(ARM))["person"].skeleton
    state = make_skeleton([[50, 10], [40, 30], None], [2, 1, 0])
    mirrored = flipped(state, skeleton, width=100)
    assert mirrored == make_skeleton([[50, 10], None, [60, 30]], [2, 0, 1])
    assert flipped(mirrored, skeleton, width=100) == state


def test_project_checks_a_skeleton_state_against_its_class(project: Project):
    person = project.add_track("pedestrian")
    points = np.column_stack([np.linspace(100, 200, 17), np.linspace(50, 300, 17)])
    project.set_state(person.id, 5, make_skeleton(points, [2] * 17))
    assert project.store.state(person.id, 5).geometry.visibility.tolist() == [2] * 17
    with pytest.raises(GeometryError, match="track .*, frame 6.*has 3 points; its class's skeleton has 17"):
        project.set_state(person.id, 6, make_skeleton(points[:3], [2] * 3))


def test_the_standing_person_template_fills_a_box_with_the_left_side_on_the_image_right():
    skeleton = default_taxonomy()["pedestrian"].skeleton
    state = template_in_box(skeleton, (100, 50, 140, 150))
    assert (state.visibility == VISIBLE).all()
    xmin, ymin, xmax, ymax = state.bounds()
    assert 100 <= xmin and xmax <= 140 and 50 <= ymin and ymax <= 150 and ymax - ymin > 80  # head to feet
    left, right = state.points[skeleton.index("left_shoulder")], state.points[skeleton.index("right_shoulder")]
    assert left[0] > right[0] and left[1] == right[1]
    assert state.points[skeleton.index("nose")][1] < left[1] < state.points[skeleton.index("left_ankle")][1]


def test_a_template_naming_none_of_the_skeletons_points_is_refused():
    bicycle = Skeleton(points=("front_wheel", "rear_wheel"), edges=(("front_wheel", "rear_wheel"),))
    with pytest.raises(GeometryError, match="no template for the skeleton's points"):
        template_in_box(bicycle, (0, 0, 10, 10), where="bicycle")
