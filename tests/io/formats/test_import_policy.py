"""The border policy of every import (``fit_to_image``) and the import report's summary and file."""

import json

import numpy as np
import pytest

from napari_roadlabel.core import FormatError, GeometryKind
from napari_roadlabel.io.formats.import_report import ImportReport, fit_to_image

WIDTH, HEIGHT = 640, 360  # the conftest project's image


def fit(project, kind, points, report=None):
    report = report or ImportReport("test", "labels.json")
    return fit_to_image(kind, points, project, report, "labels.json", "line 3"), report


def only_reason(counts):
    """The one (file, reason, count) of a report's clipped or skipped counts."""
    (file, reasons), = counts.items()
    (reason, count), = reasons.items()
    return file, reason, count


def polygon_area(points):
    x, y = np.asarray(points, float).T
    return abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2


def test_a_line_inside_the_image_is_kept_as_it_is(project):
    points = [[0, 0], [320, 180], [WIDTH, HEIGHT]]
    geometry, report = fit(project, GeometryKind.POLYLINE, points)
    assert geometry.points.tolist() == points
    assert not report.clipped and not report.skipped


def test_a_line_leaving_the_image_is_cut_on_the_border_not_clamped(project):
    geometry, report = fit(project, GeometryKind.POLYLINE, [[600, 300], [700, 340]])
    # the segment crosses x = 640 at t = 0.4: y = 300 + 0.4 * 40 = 316 (a clamp would give (640, 340))
    assert np.allclose(geometry.points, [[600, 300], [WIDTH, 316]], atol=1e-9)
    assert only_reason(report.clipped)[1:] == ("cut where it leaves the image", 1)


def test_a_cut_line_keeps_its_points_inside_exactly_and_so_inside_the_image(project):
    """A line from above the image to a point on its bottom border: cut at y = 0, its end stays (194.04, 360),
    not recomputed as start + 1.0 * step (which gives (194.04000000000002, 360.00000000000006), outside)."""
    geometry, report = fit(project, GeometryKind.POLYLINE, [[504.59, -164.93], [194.04, 360.0]])
    points = geometry.points
    assert points[-1].tolist() == [194.04, 360.0]
    assert points[0, 1] == 0 and ((points >= 0) & (points <= [WIDTH, HEIGHT])).all()
    assert only_reason(report.clipped)[1:] == ("cut where it leaves the image", 1)


def test_a_line_is_cut_exactly_on_the_border_not_a_rounding_error_outside_it(project):
    """(36.77, -55.27) -> (628.41, 160.62) crosses y = 0; computed as start + t * step the crossing's y is
    -7.1e-15, a point outside the image."""
    geometry, _ = fit(project, GeometryKind.POLYLINE, [[36.77, -55.27], [628.41, 160.62]])
    start = geometry.points[0]
    assert start[1] == 0.0
    assert start[0] == pytest.approx(36.77 + 55.27 / (160.62 + 55.27) * (628.41 - 36.77), abs=1e-9)


def test_a_line_that_leaves_and_comes_back_keeps_its_longest_part(project):
    # in for 20 px, out past x = 640, back in and on for 540 px
    points = [[620, 50], [700, 50], [700, 100], [100, 100]]
    geometry, report = fit(project, GeometryKind.POLYLINE, points)
    assert np.allclose(geometry.points, [[WIDTH, 100], [100, 100]], atol=1e-9)
    assert only_reason(report.clipped)[1:] == ("left the image and came back: its longest part kept", 1)


def test_a_line_with_less_than_two_points_inside_is_skipped(project):
    geometry, report = fit(project, GeometryKind.POLYLINE, [[700, 10], [800, 20]])
    assert geometry is None and not report.clipped
    assert only_reason(report.skipped) == ("labels.json", "fewer than 2 points inside the image", 1)
    geometry, report = fit(project, GeometryKind.POLYLINE, [[5, 5]])
    assert geometry is None and only_reason(report.skipped)[1:] == ("a line of fewer than 2 points", 1)


def test_a_box_past_the_border_is_clipped(project):
    geometry, report = fit(project, GeometryKind.BOX, [[600, 300], [700, 400]])
    assert np.allclose(geometry.points, [[600, 300], [WIDTH, HEIGHT]])
    assert only_reason(report.clipped)[1:] == ("clipped to the image", 1)


def test_a_box_wholly_outside_is_skipped(project):
    geometry, report = fit(project, GeometryKind.BOX, [[700, 10], [800, 20]])
    assert geometry is None and only_reason(report.skipped)[1:] == ("outside the image", 1)


def test_a_box_of_zero_area_is_skipped(project):
    geometry, report = fit(project, GeometryKind.BOX, [[10, 10], [10, 50]])
    assert geometry is None and only_reason(report.skipped)[1:] == ("a box of zero width or height", 1)


def test_a_box_of_other_than_two_corners_is_refused(project):
    with pytest.raises(FormatError, match="labels.json: line 3: a box is 2 corners, got 3"):
        fit(project, GeometryKind.BOX, [[10, 10], [50, 10], [50, 40]])


def test_a_polygon_past_the_border_is_clipped_to_it(project):
    triangle = [[600, 100], [700, 100], [600, 200]]
    geometry, report = fit(project, GeometryKind.POLYGON, triangle)
    points = geometry.points
    assert ((points >= 0) & (points <= [WIDTH, HEIGHT])).all()
    # the part past x = 640 is the triangle (640, 100), (700, 100), (640, 160)
    assert polygon_area(points) == pytest.approx(polygon_area(triangle) - 60 * 60 / 2)
    assert only_reason(report.clipped)[1:] == ("clipped to the image", 1)


def test_a_polygon_wholly_outside_is_skipped(project):
    geometry, report = fit(project, GeometryKind.POLYGON, [[700, 10], [800, 10], [750, 50]])
    assert geometry is None and only_reason(report.skipped)[1:] == ("outside the image", 1)


def test_a_bow_tie_polygon_is_refused_where_it_crosses(project):
    with pytest.raises(FormatError, match=r"labels.json: line 3: .*crosses itself at \(50.0, 50.0\)"):
        fit(project, GeometryKind.POLYGON, [[0, 0], [100, 100], [100, 0], [0, 100]])


@pytest.mark.parametrize("points", [
    [["100", "50"], ["200", "60"]],
    [[True, False], [False, True]],
    [[100, 50], [float("nan"), 60]],
    [[100, 50], [float("inf"), 60]],
    [[100, 50, 3], [200, 60, 4]],
], ids=["strings", "booleans", "nan", "infinity", "not pairs"])
def test_what_is_not_geometry_is_refused_naming_file_and_place(project, points):
    report = ImportReport("test", "labels.json")
    with pytest.raises(FormatError) as refused:
        fit(project, GeometryKind.POLYLINE, points, report)
    message = str(refused.value)
    assert message.startswith("labels.json: line 3: ") and "\n" not in message
    assert not report.clipped and not report.skipped


@pytest.mark.parametrize("kind, points, reason", [
    (GeometryKind.POLYLINE, [[600, 300], [700, 340]], "cut where it leaves the image"),
    (GeometryKind.BOX, [[600, 300], [700, 400]], "clipped to the image"),
    (GeometryKind.BOX, [[10, 10], [10, 50]], "zero width or height"),
    (GeometryKind.POLYLINE, [[WIDTH + 1e-9, 10], [300, 10]], "rounding"),
])
def test_strict_refuses_what_would_be_clipped_or_skipped(project, kind, points, reason):
    report = ImportReport("test", "labels.json", strict=True)
    with pytest.raises(FormatError, match=f"labels.json: line 3: .*{reason}.*--strict") as refused:
        fit(project, kind, points, report)
    assert "\n" not in str(refused.value)


def test_a_coordinate_past_the_border_by_rounding_is_set_onto_it_and_counted(project):
    geometry, report = fit(project, GeometryKind.POLYLINE, [[WIDTH + 2e-13, 10], [300, 10]])
    assert geometry.points.tolist() == [[WIDTH, 10], [300, 10]]
    file, reason, count = only_reason(report.clipped)
    assert "rounding" in reason and count == 1


# ---------------------------------------------------------------- the report


def test_the_summary_names_what_was_imported_by_class_with_thousands_separators():
    report = ImportReport("bdd100k", "labels.json")
    for class_name, count in (("vehicle", 2931), ("pedestrian", 191), ("cyclist", 119)):
        for _ in range(count):
            report.added(class_name, GeometryKind.BOX)
    report.added("lane-line", GeometryKind.POLYLINE)
    assert report.total == 2931 + 191 + 119 + 1
    assert report.summary() == "imported 3,241 boxes: 2,931 vehicle, 191 pedestrian, 119 cyclist; 1 lane: 1 lane-line"


def test_the_summary_counts_clipped_skipped_and_other_entries_in_the_singular():
    report = ImportReport("tusimple", "labels.json")
    report.added("lane-line", GeometryKind.POLYLINE)
    report.clip("labels.json", "cut where it leaves the image", "line 1, lane 0")
    report.skip("labels.json", "fewer than 2 points inside the image", "line 1, lane 1")
    report.other_sequences.append("clips/0313-2/520/20.jpg")
    report.missing_frames.append("clips/0313-1/6040/99.jpg")
    assert report.summary() == (
        "imported 1 lane: 1 lane-line; 1 object clipped at the image border; "
        "1 object skipped (1 fewer than 2 points inside the image); 1 entry is for other sequences; "
        "1 entry names a frame this project does not have (e.g. 'clips/0313-1/6040/99.jpg')")


def test_the_summary_counts_many_with_thousands_separators_in_the_plural():
    report = ImportReport("tusimple", "labels.json")
    for index in range(1234):
        report.clip("a.json" if index % 2 else "b.json", "cut where it leaves the image", f"line {index}")
        report.skip("a.json", "fewer than 2 points inside the image", f"line {index}")
    report.other_sequences.extend(f"clips/x/{index}/20.jpg" for index in range(1001))
    report.missing_frames.extend(f"clips/y/1/{index}.jpg" for index in range(2))
    summary = report.summary()
    assert summary.startswith("imported nothing; ")
    assert "1,234 objects clipped at the image border" in summary
    assert "1,234 objects skipped (1,234 fewer than 2 points inside the image)" in summary
    assert "1,001 entries are for other sequences" in summary
    assert "2 entries name frames this project does not have (e.g. 'clips/y/1/0.jpg')" in summary


def test_the_report_is_written_into_the_projects_imports_folder(project):
    report = ImportReport("culane", "/data/cu/list.txt")
    report.added("lane-line", GeometryKind.POLYLINE)
    report.added("lane-line", GeometryKind.POLYLINE)
    report.clip("/data/cu/a.lines.txt", "cut where it leaves the image", "line 1")
    report.skip("/data/cu/b.lines.txt", "fewer than 2 points inside the image", "line 2")
    report.other_sequences.append("other/00000.jpg")
    path = report.write_into(project)
    assert path.parent == project.folder / "imports" and path.name.endswith("-culane-list.txt.json")
    written = json.loads(path.read_text())
    assert written == report.as_dict()
    assert written["imported"] == {"lanes": {"lane-line": 2}}
    assert (written["clipped"], written["skipped"]) == (1, 1)
    assert written["files"] == {
        "/data/cu/a.lines.txt": {"clipped": {"cut where it leaves the image": 1}, "skipped": {}},
        "/data/cu/b.lines.txt": {"clipped": {}, "skipped": {"fewer than 2 points inside the image": 1}}}
    assert written["other_sequences"] == {"entries": 1, "examples": ["other/00000.jpg"]}
    assert [file.name for file in path.parent.iterdir()] == [path.name]  # no temporary file left beside it
