"""The Assist tab: choose an assistant, train it and let it suggest; check its suggestions one by one or in bulk.

Thin: it sets ``AssistMode``'s options and calls it (assist_mode.py); every button names its key (keymap.py).
Click to mask is at the bottom (mask_tool.py).
The strip at the top shows where suggestions wait over the whole sequence, coloured by the least sure one on
each frame (red unsure, green sure), and jumps where it is clicked.  The validated accuracy of each assistant
run in this session stands above the bulk buttons, which refuse to act before it has been shown.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable

from magicgui.widgets import ComboBox, Container, FloatSpinBox, PushButton, SpinBox
from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ..assist.registry import assistant_class, assistant_names
from ..core import RoadlabelError
from ..core.suggestions import TAGS, Pending, least_confidence_by_frame
from .assist_mode import SCOPES, AssistMode
from .mask_tool import MODES, MaskTool

STRIP_HEIGHT = 16
CLICK_KINDS = ("on the object", "off the object")


def confidence_color(confidence: float) -> QColor:
    """Red for 0, yellow for 0.5, green for 1."""
    red, green, blue = colorsys.hsv_to_rgb(max(0.0, min(1.0, confidence)) / 3, 0.85, 0.95)
    return QColor(int(red * 255), int(green * 255), int(blue * 255))


def describe_assistant(name: str) -> str:
    """The assistant's one line, or why it cannot be loaded (a plug-in's own failure, a missing module)."""
    try:
        return assistant_class(name).description
    except (RoadlabelError, ImportError) as error:
        return f"cannot be loaded: {error}"


class SuggestionStrip(QWidget):
    """Each frame with suggestions waiting, in the colour of its least sure one; the current frame as a blue
    line; a click goes to that frame.  Read from the store after each edit, not on each frame step."""

    def __init__(self, assist: AssistMode):
        super().__init__()
        self.assist = assist
        self.lowest: dict[int, float] = {}
        self.setFixedHeight(STRIP_HEIGHT)
        self.setToolTip("Frames with suggestions to check, coloured by the least sure one (red unsure, green "
                        "sure). Click to go there.")
        assist.workspace.edited.connect(lambda message: self.reload())
        assist.workspace.frame_shown.connect(lambda frame: self.update())
        self.reload()

    def reload(self) -> None:
        self.lowest = least_confidence_by_frame(self.assist.project)
        self.update()

    def mousePressEvent(self, event) -> None:
        count = self.assist.workspace.frame_count
        self.assist.workspace.go_to(int(event.pos().x() / max(1, self.width()) * count))

    def paintEvent(self, event) -> None:
        workspace = self.assist.workspace
        scale = self.width() / max(1, workspace.frame_count)
        painter = QPainter(self)
        painter.fillRect(QRectF(0, 0, self.width(), self.height()), QColor("#303030"))
        for frame, confidence in self.lowest.items():
            painter.fillRect(QRectF(frame * scale, 0, max(1.0, scale), self.height()), confidence_color(confidence))
        painter.setPen(QColor("#40c0ff"))
        cursor = int((workspace.current_frame + 0.5) * scale)
        painter.drawLine(cursor, 0, cursor, self.height())
        painter.end()


class SuggestionList(QListWidget):
    """This frame's suggestions, least sure first; picking one selects its object (Alt-Enter then accepts it)."""

    def __init__(self, assist: AssistMode):
        super().__init__()
        self.assist = assist
        self.setMinimumHeight(90)
        self.setWordWrap(True)
        self.itemClicked.connect(self._pick)
        assist.workspace.frame_shown.connect(lambda frame: self.reload())
        assist.focused.connect(self._show_focus)
        self.reload()

    def _show_focus(self, focus: Pending | None) -> None:
        for row in range(self.count()):
            self.item(row).setSelected(self.item(row).data(Qt.UserRole) == focus)

    def reload(self) -> None:
        self.clear()
        for item in self.assist.here:
            who = f"tag #{item.target}" if item.kind == TAGS else f"#{item.target}"
            row = QListWidgetItem(f"{who}  {self.assist.describe(item)}  [{item.model}]")
            row.setData(Qt.UserRole, item)
            row.setForeground(confidence_color(item.confidence))
            self.addItem(row)

    def items(self) -> list[Pending]:
        return [self.item(row).data(Qt.UserRole) for row in range(self.count())]

    def _pick(self, row: QListWidgetItem) -> None:
        item: Pending = row.data(Qt.UserRole)
        self.assist.focus = item
        if item.kind != TAGS:
            self.assist.workspace.select_track(item.target)


class MaskControls(Container):
    """Draw a box and click on the object and off it (or click superpixels), then make the mask."""

    def __init__(self, tool: MaskTool, report: Callable[[RoadlabelError], None]):
        self.tool = tool
        self.report = report
        self.mode = ComboBox(label="By", choices=MODES, value=tool.mode)
        self.start = PushButton(text="Start", tooltip="Box and clicks: draw a box around the object, then click "
                                                      "on it or off it. Superpixels: click the regions to paint.")
        self.clicks = ComboBox(label="Clicks", choices=CLICK_KINDS, value=CLICK_KINDS[0])
        self.class_box = ComboBox(label="Class", choices=tool.mask_classes(), value=tool.default_class())
        self.make = PushButton(text="Make mask")
        self.clear_button = PushButton(text="Clear")
        super().__init__(widgets=[Container(widgets=widgets, layout="horizontal", labels=True) for widgets in (
            [self.mode, self.start], [self.clicks, self.class_box], [self.make, self.clear_button])], labels=False)
        self.margins = (0, 0, 0, 0)
        self.start.changed.connect(lambda *args: self._run(tool.start, self.mode.value))
        self.clicks.changed.connect(lambda kind: tool.set_include(kind == CLICK_KINDS[0]))
        self.make.changed.connect(lambda *args: self._run(tool.make_mask, self.class_box.value))
        self.clear_button.changed.connect(lambda *args: tool.clear())

    def _run(self, action: Callable, *args) -> None:
        try:
            action(*args)
        except RoadlabelError as error:
            self.report(error)


class AssistPanel(QWidget):
    """The Assist tab for one workspace."""

    def __init__(self, assist: AssistMode, mask_tool: MaskTool, report: Callable[[RoadlabelError], None]):
        super().__init__()
        self.assist = assist
        self.report = report
        options = assist.options
        names = assistant_names()
        options.assistant = options.assistant or (names[0] if names else "")
        self.assistant = ComboBox(label="Assistant", choices=names, value=options.assistant or None)
        self.description = QLabel(describe_assistant(options.assistant) if options.assistant else "")
        self.description.setWordWrap(True)
        self.scope = ComboBox(label="Suggest on", choices=SCOPES, value=options.scope)
        last = assist.workspace.frame_count - 1
        self.first = SpinBox(label="frames", value=options.first, min=0, max=last)
        self.last = SpinBox(label="to", value=options.last, min=0, max=last)
        self.min_confidence = FloatSpinBox(label="Keep from confidence", value=options.min_confidence, min=0.0,
                                           max=1.0, step=0.05,
                                           tooltip="Suggestions less sure than this are not written")
        self.run_button = PushButton(text="Train and suggest")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.result = QLabel("No assistant has run in this session.")
        self.result.setWordWrap(True)
        self.strip = SuggestionStrip(assist)
        self.suggestions = SuggestionList(assist)
        self.validated = QLabel()
        self.validated.setWordWrap(True)
        self.masks = MaskControls(mask_tool, report)
        self.bulk_confidence = FloatSpinBox(label="Accept all at least", value=options.bulk_confidence, min=0.0,
                                            max=1.0, step=0.05)
        self._layout([
            _row([self.assistant]), self.description, _row([self.scope]), _row([self.first, self.last]),
            _row([self.min_confidence]), _row([self.run_button, self.cancel_button]), self.result,
            QLabel("<b>Suggestions over the sequence</b>"), self.strip,
            QLabel("<b>On this frame</b> (least sure first)"), self.suggestions,
            self._buttons([("Accept (Alt-Enter)", assist.accept_current),
                           ("Reject (Alt-Backspace)", assist.reject_current)]),
            self._buttons([("Next to check, least sure first (Alt-Shift-N)", assist.next_suggestion)]),
            QLabel("<b>In bulk</b>"), self.validated, _row([self.bulk_confidence]),
            self._buttons([("All on this frame (Alt-Shift-Enter)", assist.accept_all_on_frame),
                           ("All of this object", assist.accept_all_on_track)]),
            self._buttons([("Reject all of this object (Alt-Shift-Backspace)", assist.reject_all_on_track)]),
            QLabel("<b>Click to mask</b> (for the Masks layer)"), self.masks.native])
        self._connect()
        self._show_scope(options.scope)
        self._show_validations()

    def _connect(self) -> None:
        assist, options = self.assist, self.assist.options
        self.assistant.changed.connect(self._choose)
        self.scope.changed.connect(self._show_scope)
        for name in ("first", "last", "min_confidence", "bulk_confidence"):
            getattr(self, name).changed.connect(lambda value, name=name: setattr(options, name, value))
        self.run_button.changed.connect(lambda *args: self._run(assist.start))
        self.cancel_button.changed.connect(lambda *args: assist.cancel())
        assist.started.connect(lambda: self._show_running(True))
        assist.finished.connect(self._show_result)

    def _layout(self, widgets: list[QWidget]) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)

    def _buttons(self, actions: list[tuple[str, Callable]]) -> QWidget:
        buttons = []
        for text, action in actions:
            button = PushButton(text=text)
            button.changed.connect(lambda *args, action=action: self._run(action))
            buttons.append(button)
        return _row(buttons, labels=False)

    def _run(self, action: Callable) -> None:
        try:
            action()
        except RoadlabelError as error:
            self.report(error)

    def _choose(self, name: str) -> None:
        self.assist.options.assistant = name
        self.description.setText(describe_assistant(name))

    def _show_scope(self, scope: str) -> None:
        self.assist.options.scope = scope
        self.first.enabled = self.last.enabled = scope == "frame range"

    def _show_running(self, running: bool) -> None:
        self.run_button.enabled = not running
        self.cancel_button.enabled = running
        if running:
            self.result.setText(f"{self.assist.options.assistant}: training and suggesting…")

    def _show_result(self, run, message: str) -> None:
        self._show_running(False)
        self.result.setText(message.replace("\n", "<br>"))
        self._show_validations()

    def _show_validations(self) -> None:
        validations = self.assist.validations
        if not validations:
            self.validated.setText("Run an assistant first: its validated accuracy shows here before anything "
                                   "is accepted in bulk.")
            return
        self.validated.setText("<br>".join(f"{name}: {validation.describe()}"
                                           for name, validation in sorted(validations.items())))


def _row(widgets: list, labels: bool = True) -> QWidget:
    row = Container(widgets=widgets, layout="horizontal", labels=labels)
    row.margins = (0, 0, 0, 0)
    return row.native
