import json

import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import (
    AnnotationError,
    GeometryKind,
    Scope,
    TaxonomyError,
    default_taxonomy,
    load_taxonomy,
    taxonomy_from_dict,
)


def test_default_taxonomy_covers_the_road_classes():
    taxonomy = default_taxonomy()
    for name in ("lane-line", "stop-line", "crosswalk", "traffic-light", "traffic-sign", "school-zone",
                 "school-zone-active", "traffic-direction", "vehicle", "pedestrian", "cyclist", "custom"):
        assert name in taxonomy
    light = taxonomy["traffic-light"]
    assert light.geometry == (GeometryKind.BOX,)
    assert light.attributes["state"].scope is Scope.FRAME
    assert set(light.attributes["state"].values) == {"red", "yellow", "green", "red-yellow", "off", "unknown"}
    assert light.attributes["face"].scope is Scope.TRACK
    assert taxonomy["traffic-sign"].geometry == (GeometryKind.BOX, GeometryKind.POINT)
    assert "botts-dots" in taxonomy["lane-line"].attributes["style"].values
    assert {"curb", "road-edge"} <= set(taxonomy["lane-line"].attributes["kind"].values)
    assert taxonomy["school-zone-active"].is_tag


def test_taxonomy_round_trips_through_its_dict_form():
    taxonomy = default_taxonomy()
    assert taxonomy_from_dict(taxonomy.to_dict()) == taxonomy


def test_speed_limit_sign_requires_a_value():
    sign = default_taxonomy()["traffic-sign"]
    assert sign.missing_required({"type": "speed-limit"}) == ["value"]
    assert sign.missing_required({"type": "speed-limit", "value": 65}) == []
    assert sign.missing_required({"type": "stop"}) == []


def test_attribute_values_are_checked():
    light = default_taxonomy()["traffic-light"]
    assert light.check_attributes({"state": "green", "flashing": True}, Scope.FRAME) == {"state": "green",
                                                                                          "flashing": True}
    with pytest.raises(AnnotationError, match="'purple' is not one of"):
        light.check_attributes({"state": "purple"}, Scope.FRAME, "track 3")
    with pytest.raises(AnnotationError, match="no frame-level attribute 'face'"):
        light.check_attributes({"face": "circle"}, Scope.FRAME)
    with pytest.raises(AnnotationError, match="outside 0..300"):
        default_taxonomy()["traffic-sign"].check_attributes({"value": 900}, Scope.TRACK)


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        ({"classes": {}}, "classes", "non-empty"),
        ({"classes": {"x": {"geometry": ["spline"]}}}, "classes.x.geometry", "unknown geometry kind 'spline'"),
        ({"classes": {"x": {"geometry": ["box"], "colour": "#fff"}}}, "classes.x.colour", "unknown key"),
        ({"classes": {"x": {"geometry": ["box"], "attributes": {"a": {"type": "choice", "values": []}}}}},
         "classes.x.attributes.a.values", "non-empty list"),
        ({"classes": {"x": {"geometry": ["box"], "attributes": {"a": {"type": "choice", "values": ["u"],
                                                                       "default": "v"}}}}},
         "classes.x.attributes.a.default", "'v' is not one of"),
        ({"classes": {"x": {"geometry": ["box"], "attributes": {"a": {"type": "number", "scope": "forever"}}}}},
         "classes.x.attributes.a.scope", "'forever' is not one of"),
        ({"classes": {"x": {"geometry": ["box", "frame-range"]}}}, "classes.x.geometry", "frame-range"),
        ({"classes": {"x": {"geometry": ["box"], "attributes": {"a": {"type": "text", "required_if": {"b": 1}}}}}},
         "classes.x.attributes.a.required_if", "unknown attribute 'b'"),
    ],
)
def test_invalid_taxonomy_names_file_key_and_reason(tmp_path, body, key, reason):
    path = tmp_path / "team.json"
    path.write_text(json.dumps(body))
    with pytest.raises(TaxonomyError) as raised:
        load_taxonomy(path)
    message = str(raised.value)
    assert str(path) in message and key in message and reason in message


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text("name: team\nclasses:\n  lane-line:\n    geometry: [polyline\n")
    with pytest.raises(TaxonomyError, match=r"team.yaml: line \d+, column \d+: not valid YAML"):
        load_taxonomy(path)


def test_json_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "team.json"
    path.write_text('{"classes": {\n "x": {"geometry": ["box"],}}}')
    with pytest.raises(TaxonomyError, match="team.json: line 2"):
        load_taxonomy(path)


def test_missing_taxonomy_file(tmp_path):
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "nope.yaml")


def test_yaml_booleans_do_not_sneak_into_choices(tmp_path):
    # YAML 1.1 reads a bare `off` as false: the error must say where, not crash later.
    path = tmp_path / "team.yaml"
    path.write_text("classes:\n  light:\n    geometry: [box]\n    attributes:\n"
                    "      state: {type: choice, values: [red, off]}\n")
    with pytest.raises(TaxonomyError, match="classes.light.attributes.state.values"):
        load_taxonomy(path)


@pytest.mark.parametrize(("text", "line", "key"), [
    ("classes:\n  car:\n    geometry: [box]\n  car:\n    geometry: [polygon]\n", 4, "car"),
    ("classes:\n  car:\n    geometry: [box]\n    attributes:\n      make: {type: text}\n"
     "      make: {type: bool}\n", 6, "make"),
    ("name: a\nclasses:\n  car:\n    geometry: [box]\nname: b\n", 5, "name"),
])
def test_a_key_given_twice_is_refused_with_its_line(tmp_path, text, line, key):
    path = tmp_path / "team.yaml"
    path.write_text(text)
    with pytest.raises(TaxonomyError, match=rf"team.yaml: line {line}, column \d+: .*duplicate key '{key}'"):
        load_taxonomy(path)


def test_a_yaml_merge_may_override_a_key(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text("base: &base {geometry: [box], color: '#ff0000'}\nclasses:\n"
                    "  car:\n    <<: *base\n    color: '#00ff00'\n")
    assert load_taxonomy(path)["car"].color == "#00ff00"


def test_a_json_key_given_twice_is_refused(tmp_path):
    path = tmp_path / "team.json"
    path.write_text('{"classes": {"car": {"geometry": ["box"]}, "car": {"geometry": ["polygon"]}}}')
    with pytest.raises(TaxonomyError, match="team.json: duplicate key 'car'"):
        load_taxonomy(path)


@pytest.mark.parametrize(("content", "reason"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file: byte 0x89 at position 0 is not UTF-8"),
    (b"name: team\x00\x01", "not a text file: character U+0000 at position 10 is not allowed in YAML"),
])
def test_a_binary_file_is_one_clear_line(tmp_path, capsys, content, reason):
    path = tmp_path / "team.yaml"
    path.write_bytes(content)
    assert main(["taxonomy", str(path)]) == 1
    assert capsys.readouterr().err == f"roadlabel: error: {path}: {reason}\n"
