"""The Review tab: verdicts, where to look next, playing, the checks' findings, comments and sign-off.

Every button names its key (keymap.py); the strip at the top shows the whole
sequence's review state at a glance and jumps where it is clicked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from magicgui.widgets import CheckBox, Container, LineEdit, PushButton, SpinBox
from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import QFileDialog, QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ..core import RoadlabelError
from ..core.review import Comment, ReviewStatus
from ..core.wording import counted
from ..qa.findings import Finding, Severity
from ..qa.review import review_runs
from .review_layers import SEVERITY_COLORS
from .review_mode import ReviewMode

STATUS_COLORS = {ReviewStatus.ACCEPTED: "#30c060", ReviewStatus.REJECTED: "#ff3030",
                 ReviewStatus.UNREVIEWED: "#505050"}
STRIP_HEIGHT = 22
TICK_HEIGHT = 6


class ReviewStrip(QWidget):
    """Every frame's verdict as a coloured strip (green accepted, red rejected, grey not yet), findings as ticks
    above it, the current frame as a blue line; a click goes to that frame."""

    def __init__(self, review_mode: ReviewMode):
        super().__init__()
        self.review_mode = review_mode
        self.setFixedHeight(STRIP_HEIGHT)
        self.setToolTip("Frames: green accepted, red rejected, grey not reviewed; ticks: findings. Click to go there.")
        review_mode.changed.connect(lambda: self.update())
        review_mode.findings_changed.connect(lambda findings: self.update())
        review_mode.workspace.frame_shown.connect(lambda frame: self.update())

    def frame_at(self, x: float) -> int:
        count = self.review_mode.workspace.frame_count
        return min(count - 1, max(0, int(x / max(1, self.width()) * count)))

    def mousePressEvent(self, event) -> None:
        self.review_mode.workspace.go_to(self.frame_at(event.pos().x()))

    def paintEvent(self, event) -> None:
        workspace = self.review_mode.workspace
        scale = self.width() / max(1, workspace.frame_count)
        painter = QPainter(self)
        for start, end, status in review_runs(workspace.project):
            painter.fillRect(QRectF(start * scale, TICK_HEIGHT, max(1.0, (end - start + 1) * scale),
                                    self.height() - TICK_HEIGHT), QColor(STATUS_COLORS[status]))
        for finding in self.review_mode.findings:
            if finding.frame is not None:
                painter.fillRect(QRectF(finding.frame * scale, 0, max(1.0, scale), TICK_HEIGHT - 1),
                                 QColor(SEVERITY_COLORS[finding.severity]))
        painter.setPen(QColor("#40c0ff"))
        cursor = int((workspace.current_frame + 0.5) * scale)
        painter.drawLine(cursor, 0, cursor, self.height())
        painter.end()


class _WrappingList(QListWidget):
    """A list whose long lines wrap in a narrow dock instead of scrolling sideways."""

    def __init__(self, minimum_height: int):
        super().__init__()
        self.setMinimumHeight(minimum_height)
        self.setWordWrap(True)
        self.setResizeMode(QListView.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)


class FindingList(_WrappingList):
    """The checks' findings, errors first within a frame; picking one goes there and selects its object."""

    def __init__(self, review_mode: ReviewMode):
        super().__init__(minimum_height=120)
        self.review_mode = review_mode
        review_mode.findings_changed.connect(self.reload)
        self.itemActivated.connect(self._go)
        self.itemClicked.connect(self._go)

    def reload(self, findings: list[Finding]) -> None:
        self.clear()
        for finding in findings:
            where = f"frame {finding.frame}" if finding.frame is not None else "sequence"
            item = QListWidgetItem(f"{finding.severity.value.upper()}  {where}  {finding.check}: {finding.message}")
            item.setForeground(QColor(SEVERITY_COLORS[finding.severity]))
            item.setData(Qt.UserRole, finding)
            item.setToolTip(finding.message)
            self.addItem(item)

    def _go(self, item: QListWidgetItem) -> None:
        self.review_mode.go_to_finding(item.data(Qt.UserRole))


class CommentList(_WrappingList):
    """Every comment, open ones first; picking one goes to its frame and object."""

    def __init__(self, review_mode: ReviewMode):
        super().__init__(minimum_height=80)
        self.review_mode = review_mode
        review_mode.changed.connect(self.reload)
        self.itemClicked.connect(lambda item: review_mode.go_to_comment(item.data(Qt.UserRole)))
        self.reload()

    def reload(self) -> None:
        self.clear()
        for comment in sorted(self.review_mode.review.comments(), key=lambda comment: (comment.resolved, comment.id)):
            item = QListWidgetItem(f"{'resolved' if comment.resolved else 'OPEN'}  {_anchor(comment)}  "
                                   f"{comment.author}: {comment.text}")
            item.setData(Qt.UserRole, comment)
            resolved = f"; resolved by {comment.resolved_by}, {comment.resolved_time}" if comment.resolved else ""
            item.setToolTip(f"{comment.author}, {comment.time}{resolved}")
            self.addItem(item)

    def picked(self) -> Comment:
        items = self.selectedItems()
        if not items:
            raise RoadlabelError(None, "pick a comment in the list first")
        return items[0].data(Qt.UserRole)


def _anchor(comment: Comment) -> str:
    parts = [f"frame {comment.frame}" if comment.frame is not None else "",
             f"track {comment.track_id}" if comment.track_id is not None else "",
             f"at ({comment.point[0]:.0f}, {comment.point[1]:.0f})" if comment.point is not None else ""]
    return ", ".join(part for part in parts if part)


class ReviewPanel(QWidget):
    """The Review tab for one workspace."""

    def __init__(self, review_mode: ReviewMode, pins, report: Callable[[RoadlabelError], None]):
        super().__init__()
        self.review_mode = review_mode
        self.report = report
        self.reviewer = LineEdit(value=review_mode.reviewer, label="Reviewer")
        self.reviewer.changed.connect(self._set_reviewer)
        self.text = LineEdit(label="Reason / comment")
        self.text.changed.connect(lambda text: setattr(review_mode, "reason", text))
        self.progress = QLabel()
        self.progress.setWordWrap(True)
        self.strip = ReviewStrip(review_mode)
        self.here = QLabel()
        self.here.setWordWrap(True)
        self.findings_summary = QLabel("Checks not run yet.")
        self.findings = FindingList(review_mode)
        self.comments = CommentList(review_mode)
        self.blockers = QLabel()
        self.blockers.setWordWrap(True)
        self.report_line = QLabel("HTML with pictures of the findings, and JSON beside it.")
        self.report_line.setWordWrap(True)
        review_mode.report_written.connect(lambda html: self.report_line.setText(f"Written: {html}"))
        self._layout([
            Container(widgets=[self.reviewer, self.text]).native, self.progress, self.strip, self.here,
            QLabel("<b>Verdicts</b>"), self._verdict_buttons(),
            QLabel("<b>Checks</b>"), self._buttons([("Run checks (Alt-K)", review_mode.run_checks)]),
            self.findings_summary, self.findings,
            QLabel("<b>Go to</b>"), self._jump_buttons(), QLabel("<b>Play</b>"), self._play_controls(),
            QLabel("<b>Comments</b>"), self._comment_buttons(pins), self.comments,
            QLabel("<b>Sign-off</b>"), self._buttons([("Sign off the sequence", review_mode.sign_off)]),
            self.blockers, QLabel("<b>Report</b>"), self._buttons([("Write QA report…", self._choose_report)]),
            self.report_line])
        review_mode.changed.connect(self.show_state)
        review_mode.findings_changed.connect(lambda findings: self.show_state())
        review_mode.workspace.frame_shown.connect(lambda frame: self.show_state())
        review_mode.workspace.selection_changed.connect(lambda track_id: self.show_state())
        self.show_state()

    def _layout(self, widgets: list[QWidget]) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)

    def _buttons(self, actions: list[tuple[str, Callable]], layout: str = "horizontal") -> QWidget:
        buttons = []
        for text, action in actions:
            button = PushButton(text=text)
            button.changed.connect(lambda *args, action=action: self._run(action))
            buttons.append(button)
        row = Container(widgets=buttons, layout=layout, labels=False)
        row.margins = (0, 0, 0, 0)
        return row.native

    def _verdict_buttons(self) -> QWidget:
        mode = self.review_mode
        rows = [[("Accept frame, next (Alt-A)", mode.accept_frame_and_next),
                 ("Reject frame (Alt-R)", mode.reject_frame)],
                [("Accept all unreviewed up to here", mode.accept_up_to_here), ("Clear frame", mode.clear_frame)],
                [("Accept object (Alt-O)", mode.accept_objects), ("Reject object here (Alt-X)", mode.reject_object)],
                [("Clear object", mode.clear_object)]]
        return self._rows(rows)

    def _jump_buttons(self) -> QWidget:
        mode, workspace = self.review_mode, self.review_mode.workspace
        return self._rows([
            [("◀ Unreviewed (Alt-Shift-U)", lambda: mode.next_unreviewed(forward=False)),
             ("Unreviewed ▶ (Alt-U)", mode.next_unreviewed)],
            [("◀ Finding (Alt-Shift-F)", lambda: mode.next_finding(forward=False)),
             ("Finding ▶ (Alt-F)", mode.next_finding)],
            [("◀ To check (Alt-Left)", lambda: workspace.jump_to_check(forward=False)),
             ("To check ▶ (Alt-Right)", lambda: workspace.jump_to_check(forward=True))],
            [("◀ Rejected", lambda: mode.next_rejected(forward=False)), ("Rejected ▶", mode.next_rejected)],
            [("Unreviewed object ▶ (Alt-J)", mode.next_unreviewed_object)]])

    def _play_controls(self) -> QWidget:
        mode = self.review_mode
        fps = SpinBox(value=mode.fps, min=1, max=60, label="frames/s")
        fps.changed.connect(lambda value: setattr(mode, "fps", value))
        stop_at = CheckBox(value=mode.stop_at_flags, text="stop at findings and states to check")
        stop_at.changed.connect(lambda value: setattr(mode, "stop_at_flags", value))
        self.play_button = PushButton(text="Play (Alt-Up)")
        self.play_button.changed.connect(lambda *args: self._run(mode.toggle_play))
        mode.playing_changed.connect(lambda playing: setattr(self.play_button, "text",
                                                             "Stop (Alt-Down)" if playing else "Play (Alt-Up)"))
        self.play_rate = QLabel("Playing holds the rate by dropping the frames it is late for.")
        self.play_rate.setWordWrap(True)
        mode.player.rate_changed.connect(lambda: self.play_rate.setText(mode.player.describe()))
        controls = Container(widgets=[Container(widgets=[fps, self.play_button], layout="horizontal"), stop_at],
                             labels=False).native
        controls.layout().addWidget(self.play_rate)
        return controls

    def _comment_buttons(self, pins) -> QWidget:
        mode = self.review_mode
        return self._rows([
            [("On frame", mode.comment), ("On object", lambda: mode.comment(on_object=True)),
             ("At a point…", pins.start_placing)],
            [("Resolve", lambda: mode.resolve(self.comments.picked().id)),
             ("Reopen", lambda: mode.reopen(self.comments.picked().id))]])

    def _rows(self, rows: list[list[tuple[str, Callable]]]) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for row in rows:
            layout.addWidget(self._buttons(row))
        return box

    def _run(self, action: Callable) -> None:
        try:
            action()
        except RoadlabelError as error:
            self.report(error)

    def _choose_report(self) -> None:
        folder = self.review_mode.workspace.project.folder
        suggested = folder.with_name(f"{folder.stem}_qa.html")
        path, _ = QFileDialog.getSaveFileName(self, "Write the QA report", str(suggested), "HTML (*.html)")
        if path:
            self.review_mode.write_report(Path(path))
            self.report_line.setText(f"Writing {path}…")

    def _set_reviewer(self, name: str) -> None:
        self.review_mode.reviewer = name.strip()
        self.show_state()

    def show_state(self) -> None:
        """Progress, this frame's and the selected object's verdicts, the findings' count, what blocks sign-off."""
        mode = self.review_mode
        if self.text.value != mode.reason:  # a comment took the text
            with self.text.changed.blocked():
                self.text.value = mode.reason
        try:
            review = mode.review
        except RoadlabelError as error:
            self.progress.setText(f"<span style='color:#ff6060'>{error}</span>")
            return
        progress = review.progress()
        signed = (f"signed off by {progress.sign_off.reviewer}" if progress.signed_off else "not signed off")
        self.progress.setText(
            f"Frames: {progress.frames_accepted} accepted, {progress.frames_rejected} rejected, "
            f"{progress.frames_unreviewed} to review of {progress.frames}.<br>Tracks: {progress.tracks_accepted} of "
            f"{progress.tracks} accepted, {progress.tracks_rejected} rejected; {progress.objects_rejected} objects "
            f"rejected on single frames.<br>Comments: {progress.open_comments} open. <b>{signed}</b>")
        self.here.setText(self._here_text(review))
        self._show_findings_summary()
        blockers = review.blockers(mode.findings) if mode.checked else ["the checks have not run"]
        self.blockers.setText("Ready to sign off." if not blockers else "Before sign-off: " + "; ".join(blockers))

    def _here_text(self, review) -> str:
        frame = self.review_mode.frame
        mark = review.mark_of(frame=frame)
        text = f"Frame {frame}: {_verdict(mark)}"
        selected = self.review_mode.workspace.selected_tracks()
        if selected:
            track_id = selected[0]
            own = review.mark_of(track_id=track_id, frame=frame) or review.mark_of(track_id=track_id)
            text += f"<br>Track {track_id}: {_verdict(own)}"
        return text

    def _show_findings_summary(self) -> None:
        mode = self.review_mode
        if not mode.checked:
            return
        counts = {severity: sum(finding.severity is severity for finding in mode.findings) for severity in Severity}
        stale = " <b>Out of date since an edit: run the checks again (Alt-K).</b>" if mode.stale else ""
        self.findings_summary.setText(f"{counted(counts[Severity.ERROR], 'error')} (block sign-off), "
                                      f"{counted(counts[Severity.WARNING], 'warning')}, "
                                      f"{counted(counts[Severity.INFO], 'note')}.{stale}")


def _verdict(mark) -> str:
    if mark is None:
        return "not reviewed"
    reason = f" ({mark.reason})" if mark.reason else ""
    return f"<span style='color:{STATUS_COLORS[mark.status]}'>{mark.status.value}</span> by {mark.reviewer}{reason}"
