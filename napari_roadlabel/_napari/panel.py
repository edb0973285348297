"""The labeling part of the dock: class to draw, the frame's objects, the selected object's attributes
and a timeline of where its per-frame attributes change, its relations, and the list of key bindings.
"""

from __future__ import annotations

import colorsys
import dataclasses
import zlib
from collections.abc import Callable
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, LineEdit, PushButton, Widget
from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core import AnnotationError, AttributeSpec, RoadlabelError, Scope, Source
from ..core.annotations import FrameState, Relation
from ..core.lane_order import order_name
from ..core.suggestions import ATTRIBUTES
from ..core.taxonomy import AttributeType
from ..core.timeline import Run, attribute_runs, describe_runs, frame_runs
from ..temporal.propagation import needs_review
from .keymap import BINDINGS
from .layers import drawable_classes, drawn_kinds
from .propagation import PropagationControls
from .style import LIGHT_COLORS
from .workspace import Workspace

UNSET = "(not set)"
ORIGIN = "made"  # the timeline's last row: where each state came from
ORIGIN_COLORS = {"keyframe": "#ffffff", "interpolated": "#8090a0", "propagated": "#8090a0", "to check": "#ff8c00",
                 "imported": "#a080ff", "suggested": "#c0a0ff"}
ROW_HEIGHT = 12
SUGGESTED_ROW = "assist"  # the timeline's row of frames where a suggestion waits,
SUGGESTED = "suggested"  # drawn in ORIGIN_COLORS' colour for suggestions
SUGGESTION_MARK = "◇"  # beside an object with attribute suggestions waiting


class ClassChooser(Container):
    """The class the next drawn object gets (Alt-1..9 choose the first nine), and the shape it is drawn as."""

    def __init__(self, workspace: Workspace, report: Callable[[RoadlabelError], None]):
        self.workspace = workspace
        self.report = report
        self.class_box = ComboBox(label="Draw", choices=drawable_classes(workspace.project.taxonomy),
                                  value=workspace.active_class,
                                  tooltip="Class of the next object you draw (Alt-1 to Alt-9 pick the first nine)")
        self.kind_box = ComboBox(label="as", choices=self._kinds(workspace.active_class),
                                 tooltip="The shape to draw it as (the layer it goes to follows)")
        super().__init__(widgets=[self.class_box, self.kind_box], labels=True, layout="horizontal")
        self.class_box.changed.connect(self._on_class)
        self.kind_box.changed.connect(lambda kind: self._choose(self.class_box.value, kind))
        workspace.class_chosen.connect(self._show_choice)

    @property
    def value(self) -> str:
        return self.class_box.value

    @value.setter
    def value(self, class_name: str) -> None:
        self.class_box.value = class_name

    def _kinds(self, class_name: str) -> list[str]:
        return [kind.value for kind in drawn_kinds(self.workspace.project.taxonomy, class_name)]

    def _on_class(self, class_name: str) -> None:
        with self.kind_box.changed.blocked():
            self.kind_box.choices = self._kinds(class_name)
            self.kind_box.value = self._kinds(class_name)[0]
        self._choose(class_name, self.kind_box.value)

    def _choose(self, class_name: str, kind: str) -> None:
        _reporting(self.report, self.workspace.choose_class, class_name, kind)

    def _show_choice(self, class_name: str, kind: str) -> None:
        with self.class_box.changed.blocked(), self.kind_box.changed.blocked():
            self.class_box.value = class_name
            self.kind_box.choices = self._kinds(class_name)
            self.kind_box.value = kind


class SnapControls(Container):
    """Snap lanes to the paint nearby (Alt-S), never further than the distance set here."""

    def __init__(self, workspace: Workspace, report: Callable[[RoadlabelError], None]):
        self.distance = FloatSpinBox(label="within px", value=workspace.snap_max_shift, min=1.0, max=50.0, step=1.0,
                                     tooltip="Snapping never moves a lane further than this")
        self.button = PushButton(text="Snap lanes (Alt-S)",
                                 tooltip="Move the selected lanes (or all on this frame) onto their paint")
        super().__init__(widgets=[self.button, self.distance], labels=True, layout="horizontal")
        self.distance.changed.connect(lambda value: setattr(workspace, "snap_max_shift", float(value)))
        self.button.changed.connect(lambda *args: _reporting(report, workspace.snap_lanes_to_paint))


class ObjectList(QListWidget):
    """The current frame's objects, by track id; selecting here selects in the layer and back."""

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self._updating = False
        workspace.frame_shown.connect(lambda frame: self.reload())  # every edit shows the frame again
        workspace.review.changed.connect(self.reload)  # verdicts show beside the objects
        workspace.selection_changed.connect(self._show_selection)
        self.itemSelectionChanged.connect(self._on_pick)
        self.reload()

    def reload(self) -> None:
        self._updating = True
        self.clear()
        order = self.workspace.lane_curves.order
        store = self.workspace.project.store
        suggested = suggested_values(self.workspace)
        for obj in sorted(self.workspace.shown_objects, key=lambda o: o.track.id):
            mark = "" if obj.state.is_keyframe else f"  ({source_note(obj)})"
            place = f" {order_name(order[obj.track.id])}" if obj.track.id in order else ""
            verdict = store.review_mark(obj.track.id, obj.state.frame) or store.review_mark(obj.track.id, None)
            judged = f"  [{verdict.status.value}]" if verdict else ""
            hint = f"  {SUGGESTION_MARK} {suggested[obj.track.id]}" if obj.track.id in suggested else ""
            item = QListWidgetItem(f"#{obj.track.id}  {obj.track.class_name}{place}{mark}{judged}{hint}")
            item.setData(Qt.UserRole, obj.track.id)
            self.addItem(item)
        self._updating = False
        selected = self.workspace.selected_tracks()
        self._show_selection(selected[0] if selected else None)

    def track_ids(self) -> list[int]:
        return [self.item(row).data(Qt.UserRole) for row in range(self.count())]

    def _show_selection(self, track_id: int | None) -> None:
        self._updating = True
        self.clearSelection()
        for row in range(self.count()):
            if self.item(row).data(Qt.UserRole) == track_id:
                self.item(row).setSelected(True)
                self.scrollToItem(self.item(row))
        self._updating = False

    def _on_pick(self) -> None:
        if self._updating:
            return
        items = self.selectedItems()
        self.workspace.select_track(items[0].data(Qt.UserRole) if items else None)


def suggested_values(workspace: Workspace) -> dict[int, str]:
    """Track id -> its attribute suggestions on the current frame, in words ("state: green? 0.83")."""
    notes: dict[int, list[str]] = {}
    for item in workspace.assist.here:
        if item.kind == ATTRIBUTES:
            notes.setdefault(item.target, []).append(workspace.assist.describe(item))
    return {track_id: "; ".join(texts) for track_id, texts in notes.items()}


def source_note(obj) -> str:
    """How a state that is not a keyframe came about: "propagated 0.42, check" when it needs review."""
    confidence = obj.state.confidence
    if confidence is None:
        return obj.state.source.value
    return f"{obj.state.source.value} {confidence:.2f}{', check' if needs_review(obj.state) else ''}"


class AttributeEditor(Container):
    """The selected object's class and attributes, editable; per-frame ones apply from this frame on."""

    def __init__(self, workspace: Workspace, report: Callable[[RoadlabelError], None]):
        super().__init__(labels=True)
        self.workspace = workspace
        self.report = report
        self.track_id: int | None = None
        self._loading = False
        workspace.selection_changed.connect(self.show_track)
        workspace.edited.connect(lambda message: self.show_track(self.track_id))
        self.show_track(None)

    def show_track(self, track_id: int | None) -> None:
        """Rebuild the fields for ``track_id`` (or a hint when nothing is selected)."""
        self._loading = True
        self.clear()
        self.track_id = track_id if track_id is not None and self.workspace.project.has_track(track_id) else None
        if self.track_id is None:
            self.append(LineEdit(label="Selected", value="nothing: select an object", enabled=False))
        else:
            self._add_fields(self.track_id)
        self._loading = False

    def _add_fields(self, track_id: int) -> None:
        project = self.workspace.project
        track = project.track(track_id)
        state = project.state(track_id, self.workspace.current_frame)
        self.append(LineEdit(label="Selected", value=f"#{track_id} {track.class_name}", enabled=False))
        class_spec = project.taxonomy[track.class_name]
        missing = class_spec.missing_required({**track.attributes, **(state.attributes if state else {})})
        for name, spec in class_spec.attributes.items():
            per_frame = spec.scope is Scope.FRAME
            value = (state.attributes if state else {}).get(name) if per_frame else track.attributes.get(name)
            widget = _field_for(spec, value)
            widget.label = f"{name} (frame)" if per_frame else name
            widget.tooltip = ("changes from this frame on (a keyframe)" if per_frame
                              else "fixed for the whole track")
            if name in missing:  # e.g. a speed-limit sign without its value
                widget.label += " (required)"
                widget.tooltip += "; required here, and missing"
            if isinstance(widget, CheckBox):
                widget.text = widget.label
            widget.enabled = state is not None or not per_frame
            widget.changed.connect(lambda new, spec=spec: self._write(spec, new))
            self.append(widget)
        suggested = suggested_values(self.workspace).get(track_id)
        if suggested:
            self.append(LineEdit(label=f"Suggested {SUGGESTION_MARK}", value=suggested, enabled=False,
                                 tooltip="Alt-Enter accepts it, Alt-Backspace rejects it (the Assist tab has more)"))

    def _write(self, spec: AttributeSpec, shown: Any) -> None:
        if self._loading or self.track_id is None:
            return
        try:
            value = _value_of(spec, shown)
            self.workspace.set_attributes(self.track_id, {spec.name: value})
        except RoadlabelError as error:
            self.report(error)
            self.show_track(self.track_id)


def _field_for(spec: AttributeSpec, value: Any) -> Widget:
    if spec.type is AttributeType.CHOICE:
        return ComboBox(choices=[UNSET, *spec.values], value=UNSET if value is None else value)
    if spec.type is AttributeType.BOOL:
        return CheckBox(value=bool(value))
    return LineEdit(value="" if value is None else f"{value:g}" if spec.type is AttributeType.NUMBER else value)


def _value_of(spec: AttributeSpec, shown: Any) -> Any:
    """The attribute value a field shows (the empty text or UNSET is no value)."""
    if shown in (UNSET, ""):
        return None
    if spec.type is AttributeType.NUMBER:
        try:
            number = float(shown)
        except ValueError:
            raise AnnotationError(None, f"attribute {spec.name!r}: {shown!r} is not a number") from None
        return int(number) if number.is_integer() else number
    return shown


class TimelineBar(QWidget):
    """One coloured row per per-frame attribute of the selected object over the whole sequence, a row for where
    its states came from (keyframes white, interpolated or propagated grey, to check orange, suggested lilac),
    and, when suggestions wait for it, a last row ("assist") of the frames where they do.

    Keyframes are also white ticks on top; the current frame is a blue line; the text below says it in words.
    """

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self.rows: list[tuple[str, list[Run]]] = []
        self.keyframes: list[int] = []
        self.text = QLabel("")
        self.text.setWordWrap(True)
        workspace.selection_changed.connect(self._on_selection)
        workspace.edited.connect(lambda message: self.show_track(self._track_id))
        workspace.frame_shown.connect(lambda frame: self.update())
        self._track_id: int | None = None
        self.show_track(None)

    def _on_selection(self, track_id: int | None) -> None:
        if track_id is not None and track_id != self._track_id:
            self.show_track(track_id)

    def show_track(self, track_id: int | None) -> None:
        """Compute the runs once per selection or edit (a track may span the whole sequence)."""
        self._track_id = track_id
        self.rows, self.keyframes = [], []
        project = self.workspace.project
        if track_id is not None and project.has_track(track_id):
            states: list[FrameState] = project.states_of(track_id)
            spec = project.taxonomy[project.track(track_id).class_name]
            self.rows = [(name, attribute_runs(states, name)) for name in spec.attributes_of(Scope.FRAME)]
            self.rows.append(("made", attribute_runs([_with_origin(state) for state in states], ORIGIN)))
            self.keyframes = [state.frame for state in states if state.is_keyframe]
            suggested = sorted({state.frame for state in states if state.source is Source.SUGGESTED}
                               | set(project.store.pending_attribute_frames(track_id)))
            if suggested:  # where a suggestion waits for this object: its geometry or its attributes
                self.rows.append((SUGGESTED_ROW, [Run(start, end, SUGGESTED) for start, end, _ in
                                                  frame_runs((frame, SUGGESTED) for frame in suggested)]))
        words = [f"{name}: {describe_runs(runs)}" for name, runs in self.rows]
        self.text.setText(f"#{track_id} " + "; ".join(words) if self.rows else "")
        self.setFixedHeight(ROW_HEIGHT * len(self.rows) + 6 if self.rows else 0)
        self.update()

    def paintEvent(self, event) -> None:
        if not self.rows:
            return
        painter = QPainter(self)
        scale = self.width() / max(1, self.workspace.frame_count)
        for row, (_, runs) in enumerate(self.rows):
            top = 3 + row * ROW_HEIGHT
            for run in runs:
                painter.fillRect(QRectF(run.start * scale, top, max(1.0, (run.end - run.start + 1) * scale),
                                        ROW_HEIGHT - 2), QColor(value_color(run.value)))
        painter.setPen(QColor("#ffffff"))
        for frame in self.keyframes:
            painter.drawLine(int(frame * scale), 0, int(frame * scale), 2)
        painter.setPen(QColor("#40c0ff"))
        cursor = int((self.workspace.current_frame + 0.5) * scale)
        painter.drawLine(cursor, 0, cursor, self.height())
        painter.end()


def _with_origin(state: FrameState) -> FrameState:
    """The state with where it came from as an attribute, so the timeline draws it as one more row."""
    if state.is_keyframe:
        origin = "keyframe"
    elif needs_review(state):
        origin = "to check"
    else:
        origin = state.source.value
    return dataclasses.replace(state, attributes={ORIGIN: origin})


def value_color(value: Any) -> str:
    """A colour per attribute value: a light's state in its own colour, anything else a stable hue."""
    if isinstance(value, str) and value in LIGHT_COLORS:
        return LIGHT_COLORS[value]
    if isinstance(value, str) and value in ORIGIN_COLORS:
        return ORIGIN_COLORS[value]
    if value is None or value is False:
        return "#505050"
    if value is True:
        return "#ff9020"
    hue = (zlib.crc32(str(value).encode()) % 360) / 360
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.6, 0.9)
    return f"#{int(red * 255):02x}{int(green * 255):02x}{int(blue * 255):02x}"


FIRST_FITTING = "(first that fits)"
RELATION_ROWS = 6  # the relations list's height: a light governs a lane or two


class RelationControls(QWidget):
    """The relation type Alt-L makes, and the selected object's relations (type, other end, frames): a picked one
    can start or end on the current frame, or be deleted."""

    def __init__(self, workspace: Workspace, report: Callable[[RoadlabelError], None]):
        super().__init__()
        self.workspace = workspace
        self.type = ComboBox(label="type", choices=[FIRST_FITTING, *workspace.relating.type_names()],
                             tooltip="The relation Alt-L makes from the marked source (Alt-M) to the selected object")
        self.type.changed.connect(lambda name: setattr(workspace.relating, "type_name",
                                                       None if name == FIRST_FITTING else name))
        self.list = QListWidget()
        self.list.setMaximumHeight(RELATION_ROWS * self.list.fontMetrics().height() + 12)  # an object has a few
        self.starts = PushButton(text="Starts here", tooltip="The picked relation holds from this frame")
        self.ends = PushButton(text="Ends here", tooltip="The picked relation holds until this frame")
        self.delete = PushButton(text="Delete", tooltip="Delete the picked relation")
        self.move_end = PushButton(text="Move other end",
                                   tooltip="Select the picked relation's new other end, then press Alt-L")
        relating = workspace.relating
        self.starts.changed.connect(lambda *args: self._on_picked(report, relating.set_range,
                                                                  start=workspace.current_frame))
        self.ends.changed.connect(lambda *args: self._on_picked(report, relating.set_range,
                                                                end=workspace.current_frame))
        self.delete.changed.connect(lambda *args: self._on_picked(report, relating.delete))
        self.move_end.changed.connect(lambda *args: self._on_picked(report, relating.move_other_end,
                                                                    keep=workspace.selected_track))
        buttons = Container(widgets=[self.starts, self.ends, self.move_end, self.delete], layout="horizontal",
                            labels=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.type.native, self.list, buttons.native):
            layout.addWidget(widget)
        workspace.selection_changed.connect(lambda track_id: self.reload())
        workspace.edited.connect(lambda message: self.reload())
        self.reload()

    def picked(self) -> int | None:
        """The id of the relation picked in the list."""
        items = self.list.selectedItems()
        return items[0].data(Qt.UserRole) if items else None

    def reload(self) -> None:
        picked = self.picked()
        self.list.clear()
        track_id = self.workspace.selected_track
        relations = self.workspace.project.store.relations_of(track_id) if track_id is not None else []
        for relation in relations:
            item = QListWidgetItem(relation_text(relation, track_id))
            item.setData(Qt.UserRole, relation.id)
            self.list.addItem(item)
            item.setSelected(relation.id == picked)  # still picked after its range changed

    def _on_picked(self, report: Callable[[RoadlabelError], None], action: Callable, **changes) -> None:
        if self.picked() is not None:
            _reporting(report, lambda: action(self.picked(), **changes))


def relation_text(relation: Relation, track_id: int) -> str:
    """One relation as the selected object ``track_id`` sees it: "governs → lane 1|2, frames 2..5"."""
    outgoing = track_id in relation.source.track_ids
    other = relation.target if outgoing else relation.source
    arrow = "→" if outgoing else "←"
    return f"#{relation.id} {relation.type} {arrow} {other}, frames {relation.start}..{relation.end}"


class KeysHelp(QTableWidget):
    """Every key binding of the workspace, from the keymap module."""

    def __init__(self):
        super().__init__(len(BINDINGS), 2)
        self.setHorizontalHeaderLabels(["Keys", "Does"])
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        for row, binding in enumerate(BINDINGS):
            self.setItem(row, 0, QTableWidgetItem(binding.keys))
            self.setItem(row, 1, QTableWidgetItem(binding.description))
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setWordWrap(True)  # descriptions wrap in a narrow dock instead of ending in "..."
        self.resizeRowsToContents()


class LabelingPanel(QWidget):
    """Everything for labeling the open workspace, stacked: class, objects, attributes, timeline, propagation."""

    def __init__(self, workspace: Workspace, report: Callable[[RoadlabelError], None]):
        super().__init__()
        self.chooser = ClassChooser(workspace, report)
        self.skeleton_next = QLabel()  # while a skeleton is placed: its next point (Alt-Shift-S skips it)
        self.skeleton_next.setVisible(False)
        workspace.skeleton_tool.progress.connect(self._show_skeleton_progress)
        self.skeleton_in_box = PushButton(text="Skeleton in the selected box",
                                          tooltip="A standing person in the selected box, as a new skeleton")
        self.skeleton_in_box.changed.connect(lambda: _reporting(report, workspace.skeleton_tool.place_in_box))
        self.snap = SnapControls(workspace, report)
        self.propagate = PropagationControls(workspace.propagation, report)
        self.ghost = CheckBox(text="Show previous frame (Alt-G)", value=workspace.show_ghost)
        self.ghost.changed.connect(lambda show: setattr(workspace, "show_ghost", show))
        workspace.ghost_shown.connect(self._show_ghost_state)
        self.objects = ObjectList(workspace)
        self.attributes = AttributeEditor(workspace, report)
        self.timeline = TimelineBar(workspace)
        self.relations = RelationControls(workspace, report)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.chooser.native, self.skeleton_next, self.skeleton_in_box.native, self.snap.native,
                       self.ghost.native, QLabel("Objects on this frame"), self.objects, QLabel("Attributes"),
                       self.attributes.native,
                       QLabel("Per-frame attributes over time"), self.timeline, self.timeline.text,
                       QLabel("Relations (Alt-M marks the source, Alt-L relates)"), self.relations,
                       QLabel("Propagate"), self.propagate.native):
            layout.addWidget(widget)

    def _show_skeleton_progress(self, text: str) -> None:
        self.skeleton_next.setText(text)
        self.skeleton_next.setVisible(bool(text))

    def _show_ghost_state(self, shown: bool) -> None:
        if self.ghost.value != shown:
            with self.ghost.changed.blocked():
                self.ghost.value = shown


def _reporting(report: Callable[[RoadlabelError], None], action: Callable, *args) -> None:
    try:
        action(*args)
    except RoadlabelError as error:
        report(error)
