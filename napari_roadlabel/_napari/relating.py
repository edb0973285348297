"""Relations in the viewer: made from a marked source and the selected target, drawn as arrows.

Alt-M marks the selected object as the source; selecting the target and
pressing Alt-L relates them by the type chosen in the panel (or, by default,
the first type of the taxonomy whose classes fit both ends).  Where a type
wants a lane and the object is a lane line, the end is the lane right of that
line (the lane left of it for the rightmost line), on the current frame.  The
relation holds from the current frame forward, as long as both ends are there
(core/relations.py ``last_frame_with``): one undo step.  After "Move other end"
in the panel, Alt-L instead moves the picked relation's other end to the
selected object (its type and frames stay).

The read-only "Relations" Vectors layer, drawn by the frame overlay like the
other derived layers, shows each relation holding on the frame as an arrow from
its source's centre to its target's (a lane's centre is the middle of its
centreline), and each lane's derived centreline as faint dashes.
"""

from __future__ import annotations

import numpy as np

from ..core import AnnotationError, RelationEnd
from ..core.annotations import Relation
from ..core.lanes import is_lane_class
from ..core.relation_types import LANE
from ..core.relations import Lane, lanes_of, lanes_on, last_frame_with
from .derived_outlines import dashes, drawn_vectors_layer, vectors_content
from .style import hex_to_rgba

LAYER_NAME = "Relations"
ARROW_COLOR = hex_to_rgba("#ffd400")  # yellow: apart from every class colour on asphalt
CENTRELINE_COLOR = hex_to_rgba("#ffffff", 0.45)
ARROW_WIDTH = 2.0
HEAD_PX = 8.0  # length of each stroke of an arrow's head
HEAD_ANGLE = np.radians(25)


class Relating:
    """The workspace's relation actions (the keymap and the panel call these) and the "Relations" layer."""

    def __init__(self, workspace):
        self.workspace = workspace
        self.source: int | None = None  # the track marked as the next relation's source
        self.moving: tuple[int, int] | None = None  # (relation, the track it keeps): Alt-L moves its other end
        self.type_name: str | None = None  # the type Alt-L makes; None: the first that fits
        self.layer = None
        self.lanes: list[Lane] = []  # the shown frame's lanes
        workspace.frame_shown.connect(self.show)

    # ---------------------------------------------------------- making and deleting

    def mark_source(self) -> int:
        """The last selected object becomes the next relation's source."""
        track_id = self.workspace.selected_track
        if track_id is None:
            raise AnnotationError(None, "select the object a relation starts from, then mark it (Alt-M)")
        self.source, self.moving = track_id, None
        self.workspace.viewer.status = f"relation source: track {track_id}; select the target and press Alt-L"
        return track_id

    def relate(self, type_name: str | None = None) -> Relation:
        """Relate the marked source to the selected object from this frame forward while both are there."""
        workspace, project = self.workspace, self.workspace.project
        target = workspace.selected_track
        if self.moving is not None and target is not None:
            return self._move_end(target)
        if self.source is None or target is None:
            raise AnnotationError(None, "mark a source (Alt-M), then select the target and relate (Alt-L)")
        frame = workspace.current_frame
        lanes = lanes_on(project, frame, samples=2)
        type_name = type_name or self.type_name
        types = project.taxonomy.relations
        if type_name and type_name not in types:
            raise AnnotationError(None, f"unknown relation type {type_name!r} (the taxonomy has {sorted(types)})")
        kinds = [types[type_name]] if type_name else list(types.values())
        for kind in kinds:
            source_end = self._end(self.source, kind.sources, lanes)
            target_end = self._end(target, kind.targets, lanes)
            if source_end is not None and target_end is not None:
                break
        else:
            names = f"a {type_name} relation" if type_name else "any relation of the taxonomy"
            raise AnnotationError(None, f"track {self.source} ({self._class(self.source)}) and track {target} "
                                        f"({self._class(target)}) on frame {frame} cannot make {names}")
        last = last_frame_with(project, source_end, target_end, frame)
        relation = project.add_relation(kind.name, source_end, target_end, frame, last)
        workspace.after_edit(f"{relation}, frames {frame}..{last}")
        return relation

    def move_other_end(self, relation_id: int, keep: int) -> None:
        """The next Alt-L moves the end of the relation that is not ``keep`` (the object it is listed for) to the
        object then selected; its type and frames stay."""
        self.moving = (relation_id, keep)
        self.workspace.viewer.status = (f"relation {relation_id}: select its new other end and press Alt-L "
                                        "(Alt-M to make a new relation instead)")

    def _move_end(self, track_id: int) -> Relation:
        relation_id, keep = self.moving
        project, frame = self.workspace.project, self.workspace.current_frame
        relation = project.relation(relation_id)
        kind = project.taxonomy.relations[relation.type]
        moves_target = keep in relation.source.track_ids
        end = self._end(track_id, kind.targets if moves_target else kind.sources, lanes_on(project, frame, samples=2))
        if end is None:
            raise AnnotationError(None, f"track {track_id} ({self._class(track_id)}) on frame {frame} cannot be an "
                                        f"end of {relation.type} relation {relation_id}")
        moved = project.update_relation(relation_id, **{"target" if moves_target else "source": end})
        self.moving = None
        self.workspace.after_edit(f"{moved}, frames {moved.start}..{moved.end}")
        return moved

    def set_range(self, relation_id: int, *, start: int | None = None, end: int | None = None) -> None:
        """Move a relation's first or last frame (the other stays)."""
        relation = self.workspace.project.update_relation(relation_id, start=start, end=end)
        self.workspace.after_edit(f"{relation} now holds on frames {relation.start}..{relation.end}")

    def delete(self, relation_id: int) -> None:
        self.workspace.project.delete_relation(relation_id)
        self.workspace.after_edit(f"deleted relation {relation_id}")

    def _class(self, track_id: int) -> str:
        return self.workspace.project.track(track_id).class_name

    def _end(self, track_id: int, allowed: tuple[str, ...], lanes: list[Lane]) -> RelationEnd | None:
        """``track_id`` as an end of one of the ``allowed`` classes: itself, or for a lane line the lane right of
        it (left of it when it is the rightmost); None when it fits none."""
        class_name = self._class(track_id)
        if class_name in allowed:
            return RelationEnd(track_id)
        if LANE in allowed and is_lane_class(class_name):
            beside = [lane for lane in lanes if lane.left == track_id] or [lane for lane in lanes
                                                                              if lane.right == track_id]
            return beside[0].end if beside else None
        return None

    def type_names(self) -> list[str]:
        return list(self.workspace.project.taxonomy.relations)

    # ---------------------------------------------------------- showing

    def show(self, frame: int | None = None) -> None:
        """Arrows for the relations holding on the shown frame, and the lanes' centrelines."""
        workspace = self.workspace
        self.lanes = lanes_of(workspace.shown_objects, workspace.project.sequence.height)
        groups, colors = [], []
        for lane in self.lanes:
            if lane.centreline is not None:
                found = dashes(lane.centreline)
                groups.append(found)
                colors += [CENTRELINE_COLOR] * len(found)
        relations = workspace.project.relations(workspace.shown_frame)
        if relations:
            centres = self._centres()
            for relation in relations:
                if relation.source in centres and relation.target in centres:
                    found = arrow(centres[relation.source], centres[relation.target])
                    groups.append(found)
                    colors += [ARROW_COLOR] * len(found)
        if not groups and self.layer is None:
            return
        workspace.display.show(self._layer(), vectors_content(groups, colors))

    def _centres(self) -> dict[RelationEnd, np.ndarray]:
        """The centre (x, y) of every object and lane on the shown frame, by the relation end it would be."""
        centres = {}
        for obj in self.workspace.shown_objects:
            xmin, ymin, xmax, ymax = obj.state.geometry.bounds()
            centres[RelationEnd(obj.track.id)] = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
        for lane in self.lanes:
            if lane.centreline is not None:
                centres[lane.end] = lane.centreline[len(lane.centreline) // 2]
        return centres

    def _layer(self):
        if self.layer is None:
            self.layer = drawn_vectors_layer(self.workspace, LAYER_NAME, ARROW_WIDTH)
        return self.layer


def arrow(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(3, 2, 2) x, y strokes of an arrow from ``start`` to ``end``: the shaft, then the head's two strokes."""
    shaft = end - start
    length = float(np.hypot(*shaft))
    if length == 0:
        return np.zeros((0, 2, 2))
    back = -shaft / length * min(HEAD_PX, length / 2)
    strokes = [shaft]
    for angle in (HEAD_ANGLE, -HEAD_ANGLE):
        cos, sin = np.cos(angle), np.sin(angle)
        strokes.append(np.array([cos * back[0] - sin * back[1], sin * back[0] + cos * back[1]]))
    starts = [start, end, end]
    return np.stack([np.stack([at, offset]) for at, offset in zip(starts, strokes, strict=True)])
