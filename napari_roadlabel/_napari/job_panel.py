"""The job box at the top of the Label tab, shown when the open project is a job: where the job stands, who
has it, the last move and its comment, and the buttons of the moves possible now (teams/stages.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from magicgui.widgets import Container, LineEdit, PushButton
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..core import RoadlabelError
from ..qa.review import default_reviewer
from ..teams.jobs import Job, read_job
from ..teams.stages import available_actions, move_job


class JobPanel(QWidget):
    def __init__(self, folder: str | Path, go_to_frame: Callable[[int], None],
                 report: Callable[[RoadlabelError], None]):
        super().__init__()
        self.folder = Path(folder)
        self.report = report
        self._go_to_frame = go_to_frame
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.outside = QLabel()  # a warning while the frame shown is not the job's
        self.outside.setWordWrap(True)
        self.outside.setStyleSheet("color: #f59e0b")
        self.outside.setVisible(False)
        self.person = LineEdit(value=default_reviewer(), label="You")
        self.comment = LineEdit(label="Comment / reason")
        self.actions = Container(layout="horizontal", labels=False)
        self.actions.margins = (0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        people = Container(widgets=[self.person, self.comment]).native
        for widget in (self.status, self.outside, people, self.actions.native):
            layout.addWidget(widget)
        self.job: Job | None = None
        self.show_job()

    def show_job(self) -> None:
        """Read job.json again (another person may have moved the job) and show it."""
        self.job = job = read_job(self.folder)
        first, last = job.frames
        lines = [f"<b>Job {job.name}</b> · frames {first}–{last}",
                 f"Stage: <b>{job.stage.value}</b> — {job.state.value}",
                 f"Assignee {job.assignee or '-'} · reviewer {job.reviewer or '-'}"]
        if job.history:
            move = job.history[-1]
            said = f": “{move.comment}”" if move.comment else ""
            lines.append(f"Last: {move.action} by {move.by or '-'}, {_readable(move.time)}{said}")
        self.status.setText("<br>".join(lines))
        self.actions.clear()
        buttons = [(f"Go to frame {first}", lambda: self._go_to_frame(first))]
        buttons += [(action.label, lambda name=action.name: self.take(name)) for action in available_actions(job)]
        for text, slot in buttons:
            button = PushButton(text=text)
            button.changed.connect(lambda *args, slot=slot: slot())
            self.actions.append(button)

    def show_frame(self, frame: int) -> None:
        """Warn while the frame shown lies outside the job: the merge refuses a job's edits there."""
        first, last = self.job.frames
        outside = not first <= frame <= last
        self.outside.setText(f"Frame {frame} is outside this job (frames {first}–{last}): an edit here blocks "
                             "the merge." if outside else "")
        self.outside.setVisible(outside)

    def take(self, action_name: str) -> None:
        """Take one action as the person named in "You", with the comment; errors go to the report."""
        try:
            move_job(self.folder, action_name, by=self.person.value.strip(), comment=self.comment.value)
        except RoadlabelError as error:
            self.report(error)
            return
        self.comment.value = ""
        self.show_job()


def _readable(time: str) -> str:
    """2026-12-07T07:38:04+00:00 as 2026-12-07 07:38 UTC."""
    return f"{time[:10]} {time[11:16]} UTC" if time.endswith("+00:00") else time
