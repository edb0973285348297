import numpy as np
import pytest

from napari_roadlabel.core import GeometryError, GeometryKind, box, check_inside_image, make_geometry, make_mask
from napari_roadlabel.core.geometry import Geometry


def test_geometry_is_immutable_and_keeps_points_as_given():
    lane = make_geometry("polyline", [[10.5, 700], [300, 400], [620.25, 200]])
    assert lane.kind is GeometryKind.POLYLINE
    assert lane.points.tolist() == [[10.5, 700], [300, 400], [620.25, 200]]
    with pytest.raises(ValueError):
        lane.points[0, 0] = 1


def test_box_corners_are_ordered():
    assert box(50, 40, 10, 20).points.tolist() == [[10, 20], [50, 40]]
    assert box(10, 20, 50, 40).bounds() == (10, 20, 50, 40)


@pytest.mark.parametrize(
    ("kind", "points", "reason"),
    [
        ("polyline", [[1, 2]], "at least 2 points"),
        ("polygon", [[1, 2], [3, 4]], "at least 3 points"),
        ("point", [[1, 2], [3, 4]], "exactly 1"),
        ("polyline", [[1, 2], [np.nan, 4]], "point 1 is not a finite number"),
        ("polyline", [[1, 2], [np.inf, 4]], "not a finite number"),
        ("polyline", [[1, 2, 3], [4, 5, 6]], "shape"),
        ("box", [[1, 2], [1, 9]], "zero width"),
        ("spline", [[1, 2], [3, 4]], "unknown geometry kind"),
        ("polyline", [["a", "b"], [1, 2]], "must be numbers"),
        ("polyline", [["100", "500"], [1, 2]], r"must be numbers, got \[\['100', '500'\], \[1, 2\]\]"),
        ("polyline", [[True, False], [1, 2]], "must be numbers"),
        ("polyline", [[1, None], [1, 2]], "must be numbers"),
    ],
)
def test_bad_coordinates_are_refused_with_where(kind, points, reason):
    with pytest.raises(GeometryError, match=reason) as raised:
        make_geometry(kind, points, where="track 7, frame 12")
    assert str(raised.value).startswith("track 7, frame 12: ")


@pytest.mark.parametrize("kind", ["polyline", "polygon", "box", "point", "keypoints"])
def test_bytes_round_trip(kind):
    points = {"point": [[1.25, 2.5]], "box": [[1, 2], [30.5, 40]]}.get(kind, [[1 / 3, 2], [3, 4.75], [5, 6]])
    geometry = make_geometry(kind, points)
    assert Geometry.from_bytes(kind, geometry.to_bytes()) == geometry


def test_mask_round_trip_and_bounds():
    pixels = np.zeros((5, 7), bool)
    pixels[1:4, 2:6] = True
    mask = make_mask(pixels, (100, 50))
    again = Geometry.from_bytes("mask", mask.to_bytes())
    assert again == mask and again.mask.shape == (5, 7)
    assert mask.bounds() == (100, 50, 107, 55)
    with pytest.raises(GeometryError, match="empty"):
        make_mask(np.zeros((3, 3), bool))


def test_inside_image_check():
    check_inside_image(box(0, 0, 640, 360), 640, 360)
    with pytest.raises(GeometryError, match="outside the 640x360 image"):
        check_inside_image(make_geometry("point", [641, 10]), 640, 360, where="feature 3")


def test_a_polygon_is_clipped_to_a_slanted_half_plane():
    from napari_roadlabel.core.geometry import clip_polygon_to_half_plane

    square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    below_diagonal = clip_polygon_to_half_plane(square, np.array([1.0, -1.0]), 0.0)  # x - y >= 0
    np.testing.assert_allclose(below_diagonal, [[0, 0], [10, 0], [10, 10]])
    assert len(clip_polygon_to_half_plane(square, np.array([1.0, 0.0]), -20.0)) == 0  # x >= 20: nothing
