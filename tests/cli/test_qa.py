"""`roadlabel qa` gates a pipeline: exit 2 while blocking findings remain; reports; agreement; strict export."""

import json

import pytest

from napari_roadlabel.cli import EXIT_BLOCKED, main
from napari_roadlabel.core import Project, Source, box, make_geometry
from napari_roadlabel.io.projects import create_project
from napari_roadlabel.qa.review import Review

LANE = [[10, 85], [60, 45], [100, 10]]


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def clean(tmp_path, small_video):
    """A lane and a red light on every frame of the 12-frame clip: nothing for the checks to find."""
    folder = tmp_path / "clean"
    with create_project(folder, small_video) as project:
        lane, light = project.add_track("lane-line"), project.add_track("traffic-light")
        for frame in range(12):
            project.set_state(lane.id, frame, make_geometry("polyline", LANE))
            project.set_state(light.id, frame, box(120, 5, 130, 30), {"state": "red"})
    return folder


def add_unvalued_speed_sign(folder, frame=3):
    with Project.open(folder) as project:
        sign = project.add_track("traffic-sign", {"type": "speed-limit"})
        project.set_state(sign.id, frame, make_geometry("point", [140, 40]))
        return sign.id


def test_a_clean_project_passes_and_a_blocking_finding_fails_the_gate(capsys, clean):
    code, out, _ = run(capsys, "qa", clean)
    assert code == 0 and "0 blocking errors" in out
    sign = add_unvalued_speed_sign(clean)
    code, out, _ = run(capsys, "qa", clean)
    assert code == EXIT_BLOCKED == 2
    assert "1 blocking error," in out and "frame 3: missing-attribute" in out and str(sign) in out


def test_require_sign_off_fails_until_the_sequence_is_signed_off(capsys, clean):
    assert run(capsys, "qa", clean, "--require-sign-off")[0] == EXIT_BLOCKED
    with Project.open(clean) as project:
        review = Review(project, "rita")
        review.accept_frames(range(12))
        review.sign_off([])
    code, out, _ = run(capsys, "qa", clean, "--require-sign-off")
    assert code == 0 and "signed off by rita" in out and "12/12 frames accepted" in out


def test_the_report_is_written_as_html_and_json_and_never_over_a_file(capsys, clean, tmp_path):
    add_unvalued_speed_sign(clean)
    report = tmp_path / "out" / "qa.html"
    report.parent.mkdir()
    code, out, _ = run(capsys, "qa", clean, "--report", report)
    assert code == EXIT_BLOCKED and "report:" in out
    data = json.loads(report.with_suffix(".json").read_text())
    assert data["findings"]["blocking"] == 1 and "missing-attribute" in report.read_text()
    before = report.read_text()
    code, _, err = run(capsys, "qa", clean, "--report", report)
    assert code == 1 and "exists" in err and report.read_text() == before
    assert run(capsys, "qa", clean, "--report", report, "--overwrite")[0] == EXIT_BLOCKED


def test_agreement_with_another_annotators_project(capsys, clean, tmp_path, small_video):
    other = tmp_path / "other"
    with create_project(other, small_video) as project:
        lane, light = project.add_track("lane-line"), project.add_track("traffic-light")
        for frame in range(12):
            project.set_state(lane.id, frame, make_geometry("polyline", LANE))
            project.set_state(light.id, frame, box(120, 5, 130, 30), {"state": "red" if frame < 6 else "green"})
    code, out, _ = run(capsys, "qa", clean, "--against", other, "--json", tmp_path / "qa.json")
    assert code == 0 and "lanes CULane F1 1.000" in out and "light states 0.500" in out
    data = json.loads((tmp_path / "qa.json").read_text())
    assert data["agreement"]["overall"]["light_states"]["rate"] == 0.5


def test_suggestions_are_scored_against_the_labels(capsys, clean):
    with Project.open(clean) as project:
        predicted = project.add_track("traffic-light")
        for frame in range(12):
            project.set_state(predicted.id, frame, box(121, 5, 131, 30), {"state": "red"}, source=Source.SUGGESTED)
    code, out, _ = run(capsys, "qa", clean, "--suggestions")
    assert code == 0 and "boxes F1 1.000" in out


def test_a_bad_config_is_named(capsys, clean, tmp_path):
    config = tmp_path / "qa.yaml"
    config.write_text("checks:\n  track-jump: {max_speed: -3}\n")
    code, _, err = run(capsys, "qa", clean, "--config", config)
    assert code == 1 and "qa.yaml" in err and "max_speed" in err


def test_strict_export_refuses_while_blocking_findings_remain(capsys, clean, tmp_path):
    add_unvalued_speed_sign(clean)
    out = tmp_path / "labels.geojson"
    code, _, err = run(capsys, "export", clean, out, "--format", "geojson", "--strict")
    assert code == 1 and "not exported: 1 blocking finding," in err and not out.exists()
    code, _, err = run(capsys, "export", clean, out, "--format", "geojson")
    assert code == 0 and "warning: 1 blocking finding," in err and out.exists()


def test_the_report_has_pictures_of_the_findings_and_is_still_made_without_the_video(capsys, clean, small_video,
                                                                                      tmp_path):
    add_unvalued_speed_sign(clean)
    report = tmp_path / "qa.html"
    run(capsys, "qa", clean, "--report", report)
    assert "data:image/" in report.read_text()
    small_video.unlink()
    code, _, err = run(capsys, "qa", clean, "--report", report, "--overwrite")
    assert code == EXIT_BLOCKED and "the report has no pictures" in err and "clip.mp4" in err
    data = json.loads(report.with_suffix(".json").read_text())
    assert "clip.mp4" in data["sequence"]["no_pictures"] and data["findings"]["blocking"] == 1
