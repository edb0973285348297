"""The dock widget: open a sequence or project, label it (class, objects, attributes, timeline), review it, let
assistants suggest labels (the Assist tab), export.

A "Keys" tab lists every key binding.  There is no save button: every edit is
in the project's store the moment it is made.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import napari
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core import Project, RoadlabelError
from ..io.projects import create_project, open_project_frames
from ..teams.jobs import is_job, read_job
from . import keymap
from .assist_panel import AssistPanel
from .export_dialog import ExportDialog
from .job_panel import JobPanel
from .panel import KeysHelp, LabelingPanel
from .reader import OPEN_REQUEST_KEY
from .review_panel import ReviewPanel
from .workspace import Workspace

PROJECT_SUFFIX = ".roadlabel"
NO_ASSIST = "Open a project to let an assistant suggest labels."


def project_folder_for(source: Path) -> Path:
    """Where a new project for ``source`` goes: beside it, named after it."""
    source = Path(source)
    return source.parent / f"{source.stem if source.is_file() else source.name}{PROJECT_SUFFIX}"


class RoadLabelWidget(QWidget):
    def __init__(self, viewer: napari.viewer.Viewer):
        super().__init__()
        self.viewer = viewer
        self.workspace: Workspace | None = None
        self._title = QLabel("<b>No project open</b>")
        self._details = QLabel("Open a video, an image folder or a project.")
        self._frame_summary = QLabel("")
        for label in (self._details, self._frame_summary):
            label.setWordWrap(True)
        self._export_button = QPushButton("Export…")
        self._export_button.setToolTip("Write the annotations for training code: GeoJSON, TuSimple, CULane, OpenLane "
                                       "... (edits are saved as you make them)")
        self._export_button.setEnabled(False)
        self.panel: LabelingPanel | None = None
        self.job_panel: JobPanel | None = None
        self.review_panel: ReviewPanel | None = None
        self.assist_panel: AssistPanel | None = None
        self.export_dialog: ExportDialog | None = None
        self._label_tab = QWidget()
        self._label_layout = QVBoxLayout(self._label_tab)
        buttons = QHBoxLayout()
        for button in (self._button("Open video…", self._choose_video),
                       self._button("Open folder…", self._choose_folder), self._export_button):
            buttons.addWidget(button)
        for item in (self._title, self._details, buttons, self._frame_summary):
            (self._label_layout.addLayout if isinstance(item, QHBoxLayout) else self._label_layout.addWidget)(item)
        self._label_layout.addStretch()
        self.tabs = QTabWidget()
        self._label_scroll = _UpDownScroll(self._label_tab)
        self.tabs.addTab(self._label_scroll, "Label")
        self._review_scroll = _UpDownScroll(QLabel("Open a project to review it."))
        self.tabs.addTab(self._review_scroll, "Review")
        self._assist_scroll = _UpDownScroll(QLabel(NO_ASSIST))
        self.tabs.addTab(self._assist_scroll, "Assist")
        self.tabs.addTab(KeysHelp(), "Keys")
        QVBoxLayout(self).addWidget(self.tabs)
        self._export_button.clicked.connect(self._choose_export)
        viewer.layers.events.inserted.connect(self._adopt_project_layer)

    def _button(self, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        return button

    # ---------------------------------------------------------- opening

    def open_project(self, folder: str | Path) -> None:
        """Show a project folder in the viewer (replacing any open one)."""
        project = Project.open(folder, writing=True)
        try:
            if is_job(folder):
                read_job(folder)  # a broken job.json is refused before anything is shown
            frames = open_project_frames(project)
        except RoadlabelError:
            project.close()
            raise
        self.close_workspace()
        self.workspace = Workspace(self.viewer, project, frames)
        # napari may still read the frames while it removes their layer: close them after that
        self.workspace.detached.connect(lambda: QTimer.singleShot(0, self.close_workspace))
        self.workspace.frame_shown.connect(self._update_frame_summary)
        self.workspace.edited.connect(lambda message: self._show_project())  # counts in the header, this frame
        keymap.install(self.workspace, self.report)
        if is_job(folder):
            self.job_panel = JobPanel(folder, self.workspace.go_to, self.report)
            self._label_layout.insertWidget(self._label_layout.count() - 1, self.job_panel)
            self.workspace.frame_shown.connect(self.job_panel.show_frame)
            self.workspace.go_to(self.job_panel.job.frames[0])  # the annotator starts where the job does
        self.panel = LabelingPanel(self.workspace, self.report)
        self._label_layout.insertWidget(self._label_layout.count() - 1, self.panel)
        self._label_scroll.fit_width()
        self.review_panel = ReviewPanel(self.workspace.review, self.workspace.comment_pins, self.report)
        self._review_scroll.setWidget(self.review_panel)
        self.assist_panel = AssistPanel(self.workspace.assist, self.workspace.mask_tool, self.report)
        self._assist_scroll.setWidget(self.assist_panel)
        self._show_project()

    def open_source(self, source: str | Path) -> Path:
        """Open the project beside a video or image folder, creating it the first time; returns its folder."""
        folder = project_folder_for(Path(source))
        if not folder.exists():
            create_project(folder, source).close()
            show_info(f"Created project {folder}")
        self.open_project(folder)
        return folder

    def open_path(self, path: str | Path) -> None:
        """A project folder opens as it is; a video or image folder opens the project beside it."""
        (self.open_project if (Path(path) / "project.json").is_file() else self.open_source)(path)

    def close_workspace(self) -> None:
        if self.workspace is not None:
            keymap.uninstall(self.workspace)
            self.workspace.close()
            self.workspace = None
            self._export_button.setEnabled(False)
        for panel in (self.job_panel, self.panel):
            if panel is not None:
                panel.setParent(None)
                panel.deleteLater()
        self.panel = self.job_panel = None
        if self.review_panel is not None:
            self._review_scroll.setWidget(QLabel("Open a project to review it."))  # deletes the panel
            self.review_panel = None
        if self.assist_panel is not None:
            self._assist_scroll.setWidget(QLabel(NO_ASSIST))  # deletes the panel
            self.assist_panel = None

    def _show_project(self) -> None:
        project = self.workspace.project
        sequence = project.sequence
        fps = f", {sequence.fps:g} fps" if sequence.fps else ""
        self._title.setText(f"<b>{project.folder.name}</b>")
        self._details.setText(f"{sequence.frame_count} frames, {sequence.width}x{sequence.height}{fps}<br>"
                              f"{len(project.tracks())} tracks, {len(project.tags())} tags<br>"
                              f"taxonomy: {project.taxonomy.name}")
        self._export_button.setEnabled(True)
        self._update_frame_summary()

    def _update_frame_summary(self, event=None) -> None:
        if self.workspace is None:
            self._frame_summary.setText("")
            return
        frame = self.workspace.shown_frame
        counts = Counter(obj.track.class_name for obj in self.workspace.shown_objects)
        listing = ", ".join(f"{count} {name}" for name, count in sorted(counts.items())) or "nothing labeled"
        tags = ", ".join(tag.class_name for tag in self.workspace.project.tags_on(frame))
        self._frame_summary.setText(f"Frame {frame}: {listing}" + (f"<br>tags: {tags}" if tags else ""))

    def _adopt_project_layer(self, event) -> None:
        """A project opened through File > Open (the reader) gets its annotation layers here."""
        layer = event.value
        folder = layer.metadata.get(OPEN_REQUEST_KEY)
        if folder:  # napari is still inserting the layer: replace it once that is done
            QTimer.singleShot(0, lambda: self._replace_reader_layer(layer, folder))  # folder: or a video

    def _replace_reader_layer(self, layer, path: str) -> None:
        if layer in self.viewer.layers:
            self.viewer.layers.remove(layer)
        layer.data.source.close()
        self._report_errors(self.open_path, path)

    # ---------------------------------------------------------- dialogs

    def _choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", "", "Videos (*.mp4 *.avi *.mov *.mkv *.m4v)")
        if path:
            self._report_errors(self.open_source, path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open an image folder or a project")
        if not path:
            return
        self._report_errors(self.open_path, path)

    def _choose_export(self) -> None:
        """The Export dialog: any format, a frame range, written in the background."""
        self.export_dialog = ExportDialog(self.workspace, self)
        self.export_dialog.show()

    @staticmethod
    def report(error: RoadlabelError) -> None:
        show_error(str(error))

    def _report_errors(self, action, *args, **kwargs):
        try:
            return action(*args, **kwargs)
        except RoadlabelError as error:
            show_error(str(error))
            return None


class _UpDownScroll(QScrollArea):
    """Scrolls its widget up and down in a short window, and is as wide as the widget needs (no sideways scroll)."""

    def __init__(self, widget: QWidget):
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setWidget(widget)

    def fit_width(self) -> None:
        """Be as wide as the widget likes to be (call when its content changed): the dock makes room."""
        self.setMinimumWidth(self.widget().sizeHint().width() + self.verticalScrollBar().sizeHint().width())
