"""The QA report: its JSON numbers, its escaped self-contained HTML, writing it, and how Chromium really shows it."""

from __future__ import annotations

import json
import re
import shutil
import time

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import Project, RoadlabelError, SequenceInfo, Source, box, make_geometry
from napari_roadlabel.core.palette import LIGHT_COLORS
from napari_roadlabel.qa.browser import BrowserError, dump_dom, find_chromium, render_png
from napari_roadlabel.qa.findings import Finding, Severity
from napari_roadlabel.qa.report import MAX_ROWS_PER_CHECK, build_report, write_report
from napari_roadlabel.qa.review import Review

SCRIPT = "<script>alert(1)</script>"
LIGHT_PLAN = [(range(0, 10), "red", False), (range(10, 20), "green", False), (range(20, 25), "yellow", True),
              (range(27, 30), "red", False)]  # frames 25 and 26: the light is not labeled


def make_project(folder) -> Project:
    """30 frames of 320x180: two lanes, a light with a gap, a sign, a school zone; reviewed and commented."""
    project = Project.create(folder, SequenceInfo("clip.mp4", 30, 320, 180))
    for x in (60, 260):
        lane = project.add_track("lane-line")
        for frame in range(30):
            source = Source.MANUAL if frame in (0, 29) else Source.INTERPOLATED
            project.set_state(lane.id, frame, make_geometry("polyline", [[x, 179], [160, 90]]), source=source)
    light = project.add_track("traffic-light")
    for frames, state, flashing in LIGHT_PLAN:
        for frame in frames:
            project.set_state(light.id, frame, box(150, 10, 160, 30), {"state": state, "flashing": flashing})
    sign = project.add_track("traffic-sign", {"type": "stop"})
    for frame in range(5, 15):
        project.set_state(sign.id, frame, box(280, 40, 300, 60))
    project.add_tag("school-zone-active", 3, 12)
    review = Review(project, "rita")
    review.accept_frames(range(10))
    review.reject_frame(15, "lane 1 drifts")
    review.add_comment(f"check this {SCRIPT}", frame=4, point=(120, 60))
    done = review.add_comment("sign type?", track_id=sign.id)
    review.resolve(done.id)
    return project


FINDINGS = [
    Finding("crossing-lanes", Severity.ERROR, "lanes 1 and 2 cross at <b>(160, 90)</b>", 4, (1, 2),
            (140.0, 70.0, 180.0, 110.0)),
    Finding("crossing-lanes", Severity.ERROR, "lanes 1 and 2 cross & touch", 7, (1, 2), (150.0, 80.0, 170.0, 100.0)),
    Finding("light-gap", Severity.WARNING, "light 3 is missing on frames 25-26", 25, (3,)),
    Finding("scene-tag", Severity.INFO, "no scene tag", None),
]
AGREEMENT = {
    "reference": "alice", "candidate": "bob", "frames_compared": 30, "iou_threshold": 0.5,
    "overall": {"lanes": {"tusimple": {"accuracy": 0.91, "fp": 0.05, "fn": 0.1},
                          "culane": {"tp": 50, "fp": 4, "fn": 6, "precision": 0.926, "recall": 0.893, "f1": 0.909}},
                "boxes": {"reference": 40, "candidate": 38, "matched": 36, "precision": 0.947, "recall": 0.9,
                          "f1": 0.923, "mean_iou": 0.81},
                "polygons": {"reference": 0, "candidate": 0, "matched": 0, "precision": None, "recall": None,
                             "f1": None, "mean_iou": None},
                "attributes": {"compared": 60, "agreeing": 57, "rate": 0.95,
                               "by_attribute": {"traffic-light.state": {"compared": 30, "agreeing": 28,
                                                                        "rate": 0.933}}},
                "light_states": {"compared": 30, "agreeing": 28, "rate": 0.933}},
    "per_frame": [{"frame": frame, "lanes_tusimple_accuracy": 0.9, "lanes_culane_f1": 0.8 + frame / 300,
                   "boxes_f1": None if frame % 7 == 0 else 0.95, "polygons_f1": None, "attributes_rate": 1.0,
                   "light_states_rate": 0.5 if frame in (20, 21) else 1.0} for frame in range(30)],
}


def synthetic_frame(frame: int) -> np.ndarray:
    image = np.zeros((180, 320, 3), np.uint8)
    image[:, :, 1] = np.linspace(40, 200, 320, dtype=np.uint8)
    image[90:, :, 2] = 120 + frame
    return image


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    with make_project(tmp_path_factory.mktemp("qa") / "clip") as made:
        yield made


@pytest.fixture(scope="module")
def report(project):
    return build_report(project, FINDINGS, agreement=AGREEMENT, frame_reader=synthetic_frame)


@pytest.fixture(scope="module")
def html_file(report, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "report.html"
    write_report(report, path, None)
    return path


# ------------------------------------------------------------------ JSON


def test_json_counts_the_classes_and_the_findings(report):
    data = json.loads(report.to_json())
    assert data["sequence"] == {"name": "clip", "source": "clip.mp4", "frames": 30, "width": 320, "height": 180,
                                "fps": None}
    assert data["counts"]["lane-line"] == {"tracks": 2, "states": {"manual": 4, "interpolated": 56}, "tags": 0}
    assert data["counts"]["traffic-light"]["states"] == {"manual": 28}
    assert data["counts"]["school-zone-active"] == {"tracks": 0, "states": {}, "tags": 1}
    assert list(data["counts"]) == ["lane-line", "traffic-light", "traffic-sign", "school-zone-active"]  # taxonomy's
    findings = data["findings"]
    assert findings["blocking"] == 2
    assert findings["by_severity"] == {"error": 2, "warning": 1, "info": 1}
    assert findings["by_check"] == {"crossing-lanes": 2, "light-gap": 1, "scene-tag": 1}
    assert [item["frame"] for item in findings["items"]] == [None, 4, 7, 25]
    assert data["agreement"] == AGREEMENT


def test_json_review_comments_and_timelines(report):
    data = json.loads(report.to_json())
    review = data["review"]
    assert (review["frames_accepted"], review["frames_rejected"], review["frames_unreviewed"]) == (10, 1, 19)
    assert review["open_comments"] == 1 and review["sign_off"] is None
    assert [comment["text"] for comment in data["comments"]] == [f"check this {SCRIPT}", "sign type?"]
    assert data["comments"][0]["point"] == [120, 60] and data["comments"][1]["resolved_by"] == "rita"
    timelines = data["timelines"]
    assert timelines["lights"] == [{"id": 3, "runs": [[0, 9, "red", False], [10, 19, "green", False],
                                                      [20, 24, "yellow", True], [27, 29, "red", False]]}]
    lane, _, light, sign = timelines["tracks"]
    assert lane == {"id": 1, "class": "lane-line", "frames": [[0, 29]], "keyframes": [0, 29]}
    assert light["frames"] == [[0, 24], [27, 29]] and sign["frames"] == [[5, 14]]
    assert timelines["tags"] == [{"id": 5, "class": "school-zone-active", "start": 3, "end": 12}]
    assert timelines["review"] == [[0, 9, "accepted"], [10, 14, "unreviewed"], [15, 15, "rejected"],
                                   [16, 29, "unreviewed"]]


# ------------------------------------------------------------------ HTML


def test_html_escapes_user_text_and_needs_nothing_from_outside(report):
    html = report.to_html()
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()  # no script of its own either
    assert "lanes 1 and 2 cross at &lt;b&gt;(160, 90)&lt;/b&gt;" in html and "cross &amp; touch" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)  # no network
    assert not re.search(r"""<link|@import|url\(\s*["']?https?:""", html)


def test_html_shows_the_summary_the_timelines_and_the_agreement(report):
    html = report.to_html()
    assert "Not signed off" in html and "<h1>clip</h1>" in html
    assert html.count("data:image/svg+xml;base64,") == 4  # presence, lights, review, agreement
    assert "91.0 %" in html and "90.9 %" in html  # TuSimple accuracy, CULane F1
    assert "traffic-light.state" in html


def test_findings_get_thumbnails_capped(project):
    pictures = build_report(project, FINDINGS, frame_reader=synthetic_frame).to_html()
    assert pictures.count('src="data:image/jpeg;base64,') == 3  # the findings on a frame
    capped = build_report(project, FINDINGS, frame_reader=synthetic_frame, max_thumbnails=1).to_html()
    assert capped.count('src="data:image/jpeg;base64,') == 1
    assert "2 findings on a frame are shown without a picture" in capped
    assert "data:image/jpeg" not in build_report(project, FINDINGS).to_html()  # no frames, no pictures


def test_the_first_thumbnail_goes_to_the_worst_finding(project):
    report = build_report(project, FINDINGS, frame_reader=synthetic_frame, max_thumbnails=1)
    assert list(report.thumbnails) == [1]  # the error on frame 4, not the frameless info first in the items


def test_long_checks_are_cut_on_the_page_but_not_in_the_json(project):
    many = [Finding("jitter", Severity.WARNING, f"jitter {index}", index % 30) for index in range(250)]
    report = build_report(project, many)
    assert len(report.data["findings"]["items"]) == 250
    assert f"{250 - MAX_ROWS_PER_CHECK} more jitter findings are in the JSON report" in report.to_html()


def test_an_empty_project_still_makes_a_report(tmp_path):
    with Project.create(tmp_path / "empty", SequenceInfo("clip.mp4", 5, 64, 48)) as empty:
        report = build_report(empty, [])
    assert report.data["counts"] == {} and report.data["timelines"]["review"] == [[0, 4, "unreviewed"]]
    assert "No findings" in report.to_html() and "lights" not in report.figures


def test_a_signed_off_sequence_says_by_whom(tmp_path):
    with Project.create(tmp_path / "done", SequenceInfo("clip.mp4", 3, 64, 48)) as done:
        review = Review(done, "rita")
        review.accept_frames(range(3))
        review.sign_off([])
        html = build_report(done, []).to_html()
    assert "Signed off</b>by rita" in html and "Not signed off" not in html


# ------------------------------------------------------------------ writing


def test_write_report_refuses_to_overwrite_and_leaves_files_intact(report, tmp_path):
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    write_report(report, html, data)
    assert json.loads(data.read_text()) == report.data and html.read_text().startswith("<!doctype html>")
    html.write_text("mine")
    data.unlink()
    with pytest.raises(RoadlabelError, match="already exists"):
        write_report(report, html, data)
    assert html.read_text() == "mine" and not data.exists()  # neither file written
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.html"]  # no temporary left behind
    write_report(report, html, data, overwrite=True)
    assert html.read_text().startswith("<!doctype html>") and data.exists()


# ------------------------------------------------------------------ in a real browser (Chromium must be installed)


def test_chromium_renders_the_report(html_file, tmp_path):
    png = render_png(html_file, tmp_path / "report.png", width=1280)
    image = cv2.imread(str(png))
    assert image.shape[1] == 1280 and image.shape[0] > 1500  # the whole page, not one screen
    colours = np.unique(image.reshape(-1, 3), axis=0)
    assert len(colours) > 500  # text, figures and thumbnails: not a blank page
    for name in ("red", "green"):  # the light-state bars, drawn in the lights' own colours
        red, green, blue = (int(LIGHT_COLORS[name][i:i + 2], 16) for i in (1, 3, 5))
        close = np.abs(image.astype(int) - (blue, green, red)).max(axis=2) <= 6
        assert close.sum() > 200, name


def test_chromium_lays_out_a_row_per_finding(html_file):
    dom = dump_dom(html_file)
    rows = re.findall(r'<tr><td><span class="sev (\w+)">', dom)
    assert rows == ["error", "error", "warning", "info"]  # grouped by check, errors first
    assert "lanes 1 and 2 cross at &lt;b&gt;(160, 90)&lt;/b&gt;" in dom and "<b>(160, 90)</b>" not in dom
    assert SCRIPT not in dom


def fake_chromium(folder, script: str) -> None:
    """A 'chromium' on PATH that runs ``script`` (sh) instead."""
    path = folder / "chromium"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_missing_chromium_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserError, match="install the Debian package 'chromium'"):
        find_chromium()


def test_a_failing_chromium_reports_its_last_words(monkeypatch, tmp_path, html_file):
    fake_chromium(tmp_path, "echo starting >&2; echo 'cannot open display' >&2; exit 3")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserError, match=r"exit status 3\):\nstarting\ncannot open display"):
        render_png(html_file, tmp_path / "out.png", height=600)
    assert not (tmp_path / "out.png").exists()


def test_a_hanging_chromium_is_stopped(monkeypatch, tmp_path, html_file):
    fake_chromium(tmp_path, f"exec {shutil.which('sleep')} 30")
    monkeypatch.setenv("PATH", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(BrowserError, match="did not finish within 0.5 s"):
        render_png(html_file, tmp_path / "out.png", height=600, timeout=0.5)
    assert time.monotonic() - start < 10
