"""Lanes in the viewer: control points in the Lanes layer, the fitted curve in the Lane curves layer."""

import numpy as np

from napari_roadlabel._napari.style import LANE_COLORS, LANE_WIDTHS, hex_to_rgba
from napari_roadlabel.core import make_geometry

LANE = 1  # track id in the labeled_project fixture: a solid white lane on frame 2


def distance_to_polyline(point, polyline):
    starts, ends = polyline[:-1], polyline[1:]
    along = np.clip(np.einsum("ij,ij->i", point - starts, ends - starts)
                    / np.maximum(np.einsum("ij,ij->i", ends - starts, ends - starts), 1e-12), 0, 1)
    return np.min(np.linalg.norm(starts + along[:, None] * (ends - starts) - point, axis=1))


def x_at_row(curve_yx, row):
    return curve_yx[np.argmin(np.abs(curve_yx[:, 0] - row)), 1]


def curves(workspace):
    """What the Lane curves layer shows (the frame overlay draws it: the napari layer itself is empty)."""
    return workspace.display.content(workspace.lane_curves.layer)


def test_the_curve_passes_through_the_points_as_placed(workspace):
    workspace.go_to(2)
    [curve] = curves(workspace).data.data
    controls = workspace.project.state(LANE, 2).geometry.points
    assert len(curve) > 3 * len(controls)  # a smooth curve, not the control polygon
    for x, y in controls:  # napari order is (y, x)
        assert distance_to_polyline(np.array([y, x]), curve) < 0.5
    assert curves(workspace).data.edge_widths == [LANE_WIDTHS["solid"]]
    assert list(curves(workspace).table["label"]) == ["left"]  # it reaches the bottom left of the car
    assert workspace.viewer.layers.selection.active is not workspace.lane_curves.layer


def test_style_and_order_follow_the_attributes_and_the_lanes(workspace):
    project = workspace.project
    right = project.add_track("lane-line", {"color": "yellow"})
    project.set_state(right.id, 2, make_geometry("polyline", [[150, 90], [120, 50], [100, 30]]), {"style": "dashed"})
    workspace.go_to(2)
    shown = curves(workspace)
    assert sorted(shown.table["label"]) == ["left", "right"]
    index = list(shown.table["label"]).index("right")
    np.testing.assert_allclose(shown.data.edge_colors[index], hex_to_rgba(LANE_COLORS["yellow"]))
    assert shown.data.edge_widths[index] == LANE_WIDTHS["dashed"]


def test_dragging_a_control_point_moves_the_curve_before_the_store_is_written(workspace):
    workspace.go_to(2)
    lanes = workspace.layer_named("Lanes")
    workspace.viewer.layers.selection.active = lanes  # the layer the point is dragged in
    before = curves(workspace).data.data[0].copy()
    moved = lanes.data[0].copy()
    moved[1] += [0, 25]  # the middle point 25 px to the right
    lanes._data_view.edit(0, moved)  # what napari does while the point is dragged
    lanes.events.set_data()
    after = curves(workspace).data.data[0]
    assert x_at_row(after, 40) - x_at_row(before, 40) > 20  # the curve follows the point
    np.testing.assert_allclose(workspace.project.state(LANE, 2).geometry.points[1], [60, 40])  # not written yet
