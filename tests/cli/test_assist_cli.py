"""`roadlabel assistants`, `suggest` and `accept` on a rendered road clip; bad input is one line and writes nothing."""

from __future__ import annotations

import pytest

from napari_roadlabel.cli import main
from napari_roadlabel.core import Project, Source
from napari_roadlabel.core.suggestions import pending_suggestions
from napari_roadlabel.sample import RoadSceneConfig, write_sample


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    video, _ = write_sample(folder, RoadSceneConfig(frames=12, seed=4))
    return video


@pytest.fixture
def road(capsys, tmp_path, clip):
    run(capsys, "new", tmp_path / "road", "--source", clip)
    return tmp_path / "road"


def test_assistants_lists_every_built_in_one_with_what_it_proposes(capsys):
    code, out, _ = run(capsys, "assistants")
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert code == 0 and {"lanes", "onnx"} <= set(lines)
    assert "proposes geometry" in lines["lanes"] and "runs a model file (--model)" in lines["onnx"]


def test_suggest_writes_lanes_then_accept_makes_them_labels(capsys, road):
    code, out, err = run(capsys, "suggest", road, "--assistant", "lanes", "--frames", "0:10")
    assert code == 0, err
    model_line, written_line = out.strip().splitlines()
    assert model_line.startswith("lanes@") and "no training" in model_line
    assert written_line.startswith("wrote ") and "suggested state" in written_line
    with Project.open(road) as project:
        pending = pending_suggestions(project)
        assert pending and {item.frame for item in pending} <= set(range(10))
        assert {item.kind for item in pending} == {"geometry"}
        lanes_before = len(project.tracks("lane-line"))
    code, out, _ = run(capsys, "accept", road, "--assistant", "lanes", "--frames", "0:2")
    accepted = sum(1 for item in pending if item.frame < 2)
    assert code == 0 and out.strip() == f"accepted {accepted} suggestion{'s' * (accepted != 1)} ({accepted} geometry)"
    with Project.open(road) as project:
        manual = [state for track in project.tracks("lane-line") for state in project.states_of(track.id)
                  if state.source is Source.MANUAL]
        assert len(manual) == accepted and all(state.model.startswith("lanes@") for state in manual)
        assert len(project.tracks("lane-line")) == lanes_before
        assert len(pending_suggestions(project)) == len(pending) - accepted
    code, out, _ = run(capsys, "reject", road, "--assistant", "lanes")
    left = len(pending) - accepted
    assert code == 0 and out.startswith(f"rejected {left} suggestion")
    with Project.open(road) as project:
        assert pending_suggestions(project) == [] and len(project.store.rejections("lanes")) == left
    code, out, _ = run(capsys, "suggest", road, "--assistant", "lanes", "--frames", "0:10")
    assert code == 0 and "rejected before" in out  # what a person rejected is not proposed again


@pytest.mark.parametrize(("arguments", "message"), [
    (["--assistant", "nonesuch"], "nonesuch: no such assistant (known: light-state, frame-tags, lanes"),
    (["--assistant", "lanes", "--min-confidence", "1.5"], "--min-confidence: must be between 0 and 1, got 1.5"),
    (["--assistant", "lanes", "--frames", "5:40"], "--frames: 5:40 runs past the last frame (11)"),
    (["--assistant", "lanes", "--option", "speed=fast"], "lanes: does not take the settings ['speed']"),
    (["--assistant", "onnx"], "onnx: this assistant runs a model file: give one with --model FILE"),
    (["--assistant", "onnx", "--model", "missing.onnx"], "missing.onnx"),
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, road, fingerprint, arguments, message):
    before = fingerprint(road)
    code, out, err = run(capsys, "suggest", road, *arguments)
    assert code == 1 and out == ""
    assert err.startswith("roadlabel: error: ") and message in err and err.count("\n") == 1
    assert fingerprint(road) == before


def test_a_broken_model_file_is_one_line_and_writes_nothing(capsys, road, fingerprint, tmp_path):
    model = tmp_path / "team.onnx"
    model.write_bytes(b"not a model at all")
    (tmp_path / "team.roadlabel.yaml").write_text("decoder: yolo\nlabels: {0: vehicle}\n")
    before = fingerprint(road)
    code, _, err = run(capsys, "suggest", road, "--assistant", "onnx", "--model", model)
    assert code == 1 and str(model) in err and err.count("\n") == 1
    assert fingerprint(road) == before
