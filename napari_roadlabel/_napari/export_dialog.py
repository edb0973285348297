"""The Export dialog: any format, a frame range, every N-th frame; written in a worker with a progress bar.

The export reads the store from the worker thread (the store serialises its
connection), so the viewer stays usable, and napari's progress bar counts the
frames written.  The file or folder appears whole when it is done (each
exporter writes beside it and renames), with its mapping report beside it.
Opening the dialog runs the automatic checks, and it says what they found
before anything is written (exporting is still allowed: `roadlabel export
--strict` is the gate for pipelines).
"""

from __future__ import annotations

from pathlib import Path

from napari.qt.threading import create_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ..core import RoadlabelError
from ..core.wording import counted
from ..io.formats.registry import FOLDER_FORMATS, SUFFIXES, export_any, export_formats, frames_written
from ..io.formats.report import report_path
from .relay import ProgressRelay


class ExportDialog(QDialog):
    def __init__(self, workspace, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export annotations")
        self.workspace = workspace
        self.worker = None
        last = workspace.frame_count - 1
        self.format = QComboBox()
        self.format.addItems(export_formats())
        self.out = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.first, self.last, self.every = QSpinBox(), QSpinBox(), QSpinBox()
        for box, value in ((self.first, 0), (self.last, last)):
            box.setRange(0, last)
            box.setValue(value)
        self.every.setRange(1, 10000)
        self.overwrite = QCheckBox("Replace it if it exists")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.checks = QLabel("Checking the annotations…")
        self.checks.setWordWrap(True)
        workspace.review.findings_changed.connect(self._show_findings)
        workspace.review.run_checks()
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Close)
        self.buttons.button(QDialogButtonBox.Ok).setText("Export")
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        self.format.currentTextChanged.connect(self._suggest_name)
        self._layout(browse)
        self._suggest_name(self.format.currentText())

    def _layout(self, browse: QPushButton) -> None:
        form = QFormLayout(self)
        where, frames = QHBoxLayout(), QHBoxLayout()
        where.addWidget(self.out)
        where.addWidget(browse)
        for widget in (self.first, QLabel("to"), self.last, QLabel("every"), self.every):
            frames.addWidget(widget)
        form.addRow("Format", self.format)
        form.addRow("To", where)
        form.addRow("Frames", frames)
        form.addRow("", self.overwrite)
        form.addRow(self.checks)
        form.addRow(self.status)
        form.addRow(self.buttons)

    def _show_findings(self, findings: list) -> None:
        blocking = sum(finding.blocking for finding in findings)
        others = len(findings) - blocking
        if not findings:
            self.checks.setText("Checks: nothing found.")
        else:
            others = counted(others, "warning or note", "warnings or notes")
            self.checks.setText(f"<span style='color:{'#ff6060' if blocking else '#ffa500'}'>Checks: "
                                f"{counted(blocking, 'error')}, {others}: see the Review tab before exporting.</span>")

    def done(self, result: int) -> None:
        self.workspace.review.findings_changed.disconnect(self._show_findings)
        super().done(result)

    def _suggest_name(self, fmt: str) -> None:
        project = self.workspace.project.folder
        suffix = "" if fmt in FOLDER_FORMATS else SUFFIXES.get(fmt, ".json")
        self.out.setText(str(project.with_name(f"{project.stem}_{fmt}{suffix}")))

    def _browse(self) -> None:
        if self.format.currentText() in FOLDER_FORMATS:
            path = QFileDialog.getExistingDirectory(self, "Export into a new folder", str(Path(self.out.text()).parent))
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.out.text())
        if path:
            self.out.setText(path)

    def start(self) -> None:
        """Export in a worker; the dialog stays open and says how it went."""
        if self.worker is not None:
            return
        fmt, out = self.format.currentText(), Path(self.out.text())
        frames = range(self.first.value(), self.last.value() + 1)
        if not len(frames):
            self.status.setText("The range is empty: the first frame is after the last.")
            return
        total = frames_written(self.workspace.project, frames, self.every.value())
        bar = progress(total=total, desc=f"Exporting {fmt}")
        relay = ProgressRelay(self)
        relay.advanced.connect(bar.update)
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)
        self.status.setText(f"Exporting {total} frames as {fmt}…")
        self.worker = create_worker(export_any, fmt, self.workspace.project, out, frames=frames,
                                    every=self.every.value(), overwrite=self.overwrite.isChecked(),
                                    progress=relay.advanced.emit, _ignore_errors=True)
        self.worker.returned.connect(lambda result: self._done(fmt, out, result))
        self.worker.errored.connect(self._failed)
        self.worker.finished.connect(bar.close)
        self.worker.start()

    def _done(self, fmt: str, out: Path, result) -> None:
        self.worker = None
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(True)
        if isinstance(result, int):
            message = f"Exported {result} features to {out}"
        else:
            message = f"{result.summary()}. Written to {out}; mapping report {report_path(out).name}"
        self.status.setText(message)
        show_info(message)

    def _failed(self, error: Exception) -> None:
        self.worker = None
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(True)
        text = str(error) if isinstance(error, RoadlabelError) else f"export failed: {error!r}"
        self.status.setText(text)
        show_error(text)
