"""Relations in a real viewer: made by keys from a marked source and a selected target, undone, drawn as arrows
by the frame overlay with the lanes' centrelines, listed in the panel and deleted from there."""

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_roadlabel._napari.relating import ARROW_COLOR
from napari_roadlabel.core import AnnotationError, RelationEnd, box, make_geometry
from napari_roadlabel.core.relations import lanes_on

LANE, LIGHT, SIGN = 1, 2, 3  # track ids in the labeled_project fixture (lane and sign on frame 2 only)
LIGHT_CENTRE = np.array([105.0, 17.5])  # x, y of the light's box on frame 2
RIGHT_LANE_XY = [[70, 85], [100, 45], [120, 20]]  # a second lane line, right of the first
EDGE_XY = [[130, 88], [140, 45], [150, 20]]  # a third, the rightmost


@pytest.fixture
def road(widget):
    """Frames 2..4: three lane lines (two lanes) and the light; the light alone on frame 5."""
    workspace = widget.workspace
    project = workspace.project
    right, edge = project.add_track("lane-line"), project.add_track("lane-line")
    for frame in (2, 3, 4):
        project.set_state(right.id, frame, make_geometry("polyline", RIGHT_LANE_XY))
        project.set_state(edge.id, frame, make_geometry("polyline", EDGE_XY))
        if frame > 2:
            project.copy_state(LANE, 2, frame)
            project.set_state(LIGHT, frame, box(100, 5, 110, 30), {"state": "red"})
    workspace.go_to(2)
    workspace.refresh()
    return widget, right.id, edge.id


def press(widget, key, qtbot):
    qtbot.keyClick(widget.viewer.window._qt_viewer.canvas.native, key, Qt.AltModifier)


def arrows(workspace) -> np.ndarray:
    """The arrows' strokes the overlay draws as (start, offset) in x, y: each shaft, then its head's two."""
    content = workspace.display.content(workspace.relating.layer)
    return content.vectors[:, :, ::-1][np.all(content.vector_colors == ARROW_COLOR, axis=1)]


def test_a_light_governs_the_lane_right_of_the_selected_line(road, qtbot):
    widget, right, edge = road
    workspace, project = widget.workspace, widget.workspace.project
    workspace.select_track(LIGHT)
    press(widget, Qt.Key_M, qtbot)  # mark the source
    workspace.select_track(LANE)
    press(widget, Qt.Key_L, qtbot)  # relate: the first type that fits a light and a lane is "governs"
    [relation] = project.relations()
    assert (relation.type, relation.source, relation.target) == ("governs", RelationEnd(LIGHT),
                                                                 RelationEnd.lane(LANE, right))
    assert (relation.start, relation.end) == (2, 4)  # from this frame while both are there: not frame 5

    layer = workspace.relating.layer
    assert not workspace.display.is_live(layer)  # drawn by the frame overlay
    lanes = lanes_on(project, 2)
    assert [lane.end for lane in lanes] == [RelationEnd.lane(LANE, right), RelationEnd.lane(right, edge)]
    lane_centre = lanes[0].centreline[len(lanes[0].centreline) // 2]
    strokes = arrows(workspace)
    assert len(strokes) == 3
    np.testing.assert_allclose(strokes[0], [LIGHT_CENTRE, lane_centre - LIGHT_CENTRE])
    np.testing.assert_allclose(strokes[1:, 0], [lane_centre, lane_centre])  # the head, at the lane's centre
    dashes = workspace.display.content(layer).vectors[:-3]  # the centrelines', under the arrow
    assert len(dashes) >= 3
    starts_x, starts_y = dashes[:, 0, 1], dashes[:, 0, 0]  # napari order: y, x
    off = [np.abs(starts_x - np.interp(starts_y, lane.centreline[::-1, 1], lane.centreline[::-1, 0]))
           for lane in lanes]  # rows rising, for np.interp
    assert np.min(off, axis=0).max() < 0.5 and (np.argmin(off, axis=0) == 1).any()  # on both centrelines

    assert widget.panel.relations.list.item(0).text() == f"#{relation.id} governs ← track {LIGHT}, frames 2..4"
    workspace.select_track(LIGHT)
    assert widget.panel.relations.list.item(0).text() == f"#{relation.id} governs → lane {LANE}|{right}, frames 2..4"

    workspace.go_to(5)  # the relation does not hold there, and there are no lanes
    assert len(workspace.display.content(layer)) == 0
    workspace.go_to(2)
    workspace.undo()
    assert project.relations() == [] and widget.panel.relations.list.count() == 0
    assert len(arrows(workspace)) == 0 and len(workspace.display.content(layer)) == len(dashes)
    workspace.redo()
    assert [relation.id for relation in project.relations()] == [relation.id]


def test_the_panel_chooses_the_type_and_deletes(road):
    widget, right, edge = road
    workspace, project, relations = widget.workspace, widget.workspace.project, widget.panel.relations
    relations.type.value = "applies-to"
    workspace.select_track(SIGN)
    workspace.relating.mark_source()
    workspace.select_track(right)  # the lane right of the line
    relation = workspace.relating.relate()
    assert (relation.type, relation.target, relation.start, relation.end) == (
        "applies-to", RelationEnd.lane(right, edge), 2, 2)  # the sign is on frame 2 only
    workspace.select_track(SIGN)
    assert relations.list.count() == 1
    relations.list.item(0).setSelected(True)
    relations.delete.changed.emit(True)
    assert project.relations() == [] and relations.list.count() == 0
    workspace.select_track(edge)  # the rightmost line: the lane left of it; the source is still marked
    assert workspace.relating.relate().target == RelationEnd.lane(right, edge)


def light_governs_the_first_lane(workspace):
    """Alt-M on the light, Alt-L on the first lane line: the light governs the lane right of it on frames 2..4."""
    workspace.select_track(LIGHT)
    workspace.relating.mark_source()
    workspace.select_track(LANE)
    return workspace.relating.relate()


def test_the_panel_moves_a_relations_frames(road):
    widget, right, edge = road
    workspace, relations = widget.workspace, widget.panel.relations
    relation = light_governs_the_first_lane(workspace)  # frames 2..4
    relations.list.item(0).setSelected(True)
    workspace.go_to(3)
    relations.ends.changed.emit(True)
    assert workspace.project.relation(relation.id).end == 3
    assert relations.list.item(0).text().endswith("frames 2..3") and relations.picked() == relation.id
    workspace.go_to(4)
    assert len(arrows(workspace)) == 0  # it does not hold on frame 4 any more
    relations.starts.changed.emit(True)  # after its end: refused, said, nothing changed
    assert (workspace.project.relation(relation.id).start, workspace.project.relation(relation.id).end) == (2, 3)
    workspace.undo()
    assert workspace.project.relation(relation.id).end == 4


def test_the_panel_moves_a_relations_other_end_with_alt_l_in_one_undo_step(road, qtbot):
    widget, right, edge = road
    workspace, project, relations = widget.workspace, widget.workspace.project, widget.panel.relations
    relation = light_governs_the_first_lane(workspace)  # the lane between LANE and right, frames 2..4
    workspace.select_track(LIGHT)
    relations.list.item(0).setSelected(True)
    relations.move_end.changed.emit(True)
    workspace.select_track(right)  # the lane right of it: between right and edge
    press(widget, Qt.Key_L, qtbot)
    moved = project.relation(relation.id)
    assert project.relations() == [moved]  # moved, not a new relation
    assert (moved.source, moved.target, moved.start, moved.end) == (RelationEnd(LIGHT), RelationEnd.lane(right, edge),
                                                                     2, 4)
    press(widget, Qt.Key_L, qtbot)  # the move is done: Alt-L relates the marked source again
    assert len(project.relations()) == 2
    workspace.undo()
    workspace.undo()
    assert project.relations() == [relation]


def test_moving_a_relations_end_to_an_object_it_cannot_join_is_refused(road):
    widget, right, edge = road
    workspace, project = widget.workspace, widget.workspace.project
    relation = light_governs_the_first_lane(workspace)
    workspace.relating.move_other_end(relation.id, keep=LIGHT)
    workspace.select_track(SIGN)  # a sign is not a lane
    with pytest.raises(AnnotationError, match=f"cannot be an end of governs relation {relation.id}"):
        workspace.relating.relate()
    assert project.relations() == [relation]


def test_relations_that_cannot_be_made_are_refused(road):
    widget, right, edge = road
    relating = widget.workspace.relating
    widget.workspace.select_track(LIGHT)
    with pytest.raises(AnnotationError, match="mark a source"):
        relating.relate()
    relating.mark_source()
    widget.workspace.select_track(SIGN)
    with pytest.raises(AnnotationError, match="cannot make any relation"):
        relating.relate()
    widget.workspace.select_track(right)
    with pytest.raises(AnnotationError, match="cannot make a follows relation"):
        relating.relate("follows")
    with pytest.raises(AnnotationError, match="unknown relation type 'obeys'"):
        relating.relate("obeys")
    assert widget.workspace.project.relations() == []
