"""Review mode: a QA reviewer's actions on the open workspace (the Review tab and the keys call these).

Verdicts and comments go to the store under the reviewer's name (qa.review);
none of them changes geometry.  The automatic checks run in a worker thread,
on demand and again shortly after every change once they have run, so the
findings the reviewer steps through stay current while problems are fixed.
Playing (playback.Player) holds its rate by dropping frames and can stop
where there is something to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari.qt.threading import create_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from psygnal import Signal
from qtpy.QtCore import QTimer

from ..core import RoadlabelError
from ..core.review import Comment, ReviewMark, ReviewStatus
from ..qa.check_config import config_for
from ..qa.checks import run_checks
from ..qa.findings import Finding
from ..qa.report import report_with_frames, write_report
from ..qa.review import Review, default_reviewer
from ..temporal.propagation import FLAG_BELOW
from .playback import Player
from .relay import ProgressRelay

RECHECK_DELAY_MS = 400  # after an edit; edits in quick succession cost one run
# Longer sequences are not checked again after every edit: a pass takes about 1 ms a frame and would compete
# with the annotator's work for the interpreter.  Their findings are marked out of date until Alt-K.
RECHECK_MAX_FRAMES = 5000
DEFAULT_FPS = 10


class ReviewMode:
    changed = Signal()  # verdicts, comments or the reviewer changed
    findings_changed = Signal(object)  # the new list of findings
    playing_changed = Signal(bool)
    report_written = Signal(object)  # the HTML report's path

    def __init__(self, workspace):
        self.workspace = workspace
        self.reviewer = default_reviewer()
        self.reason = ""  # the panel's text: a rejection's reason, or a comment
        self.findings: list[Finding] = []
        self.checked = False  # the checks have run at least once
        self.stale = False  # the findings predate an edit and no re-run is on its way
        self.fps = DEFAULT_FPS
        self.stop_at_flags = True  # playing stops on frames with findings or states to check
        self._worker = None
        self._report_worker = None
        self._recheck_wanted = False
        self._relay = ProgressRelay()
        self._bar = None
        self.player = Player(workspace, self._first_worth_a_look)
        self.player.playing_changed.connect(self.playing_changed.emit)
        self.player.rate_changed.connect(self._show_rate)
        self._recheck = QTimer(singleShot=True, interval=RECHECK_DELAY_MS)
        self._recheck.timeout.connect(self._run_again)
        workspace.edited.connect(lambda message: self._after_change())

    @property
    def review(self) -> Review:
        return Review(self.workspace.project, self.reviewer)

    @property
    def frame(self) -> int:
        return self.workspace.current_frame

    # ---------------------------------------------------------- verdicts

    def accept_frame_and_next(self) -> int | None:
        """Accept this frame and go to the next frame nobody has judged; returns it (None: all judged)."""
        self.review.accept_frame(self.frame)
        self._after_change(f"frame {self.frame} accepted")
        return self.next_unreviewed()

    def reject_frame(self) -> None:
        self.review.reject_frame(self.frame, self._reason())
        self._after_change(f"frame {self.frame} rejected")

    def accept_up_to_here(self) -> int:
        """Accept every frame not yet judged from the start to this one (what you have just watched)."""
        accepted = self.review.accept_frames(range(0, self.frame + 1))
        self._after_change(f"{accepted} frames accepted")
        return accepted

    def clear_frame(self) -> None:
        self.review.set_status(ReviewStatus.UNREVIEWED, frame=self.frame)
        self._after_change(f"frame {self.frame} back to unreviewed")

    def accept_objects(self) -> list[int]:
        """Accept the selected objects' tracks (every frame of them)."""
        tracks = self._selected()
        with self.workspace.project.group(f"accept {len(tracks)} tracks"):
            for track_id in tracks:
                self.review.accept_track(track_id)
        self._after_change(f"accepted track{'s' if len(tracks) > 1 else ''} {', '.join(map(str, tracks))}")
        return tracks

    def reject_object(self) -> int:
        """Reject the selected object on this frame, with the reason typed in the panel."""
        track_id = self._selected()[0]
        self.review.reject_track(track_id, self._reason(), frame=self.frame)
        self._after_change(f"track {track_id} rejected on frame {self.frame}")
        return track_id

    def clear_object(self) -> None:
        track_id = self._selected()[0]
        with self.workspace.project.group(f"track {track_id} back to unreviewed"):
            for frame in (self.frame, None):
                if self.review.mark_of(track_id=track_id, frame=frame):
                    self.review.set_status(ReviewStatus.UNREVIEWED, track_id=track_id, frame=frame)
        self._after_change(f"track {track_id} back to unreviewed")

    def sign_off(self) -> None:
        """Sign the sequence off (refused, with every reason, while anything stands in the way).

        The checks run once more here, in this thread: a sign-off must not rest on findings a moment old."""
        self._show_findings(run_checks(self.workspace.project, config_for(self.workspace.project)))
        mark = self.review.sign_off(self.findings)
        self._after_change(f"signed off by {mark.reviewer}")
        show_info(f"{self.workspace.project.folder.name} signed off by {mark.reviewer} at {mark.time}")

    # ---------------------------------------------------------- comments

    def comment(self, *, on_object: bool = False, point: tuple[float, float] | None = None) -> Comment:
        """Comment with the panel's text on this frame: on the frame, the selected object, or a point (x, y)."""
        text = self._text("type the comment first")
        track_id = self._selected()[0] if on_object else None
        comment = self.review.add_comment(text, frame=self.frame, track_id=track_id, point=point)
        self.reason = ""
        self._after_change(f"comment added on {'track ' + str(track_id) if on_object else 'frame ' + str(self.frame)}")
        return comment

    def resolve(self, comment_id: int) -> None:
        self.review.resolve(comment_id)
        self._after_change(f"comment {comment_id} resolved")

    def reopen(self, comment_id: int) -> None:
        self.review.reopen(comment_id)
        self._after_change(f"comment {comment_id} reopened")

    def go_to_comment(self, comment: Comment) -> None:
        frame = comment.frame
        if frame is None and comment.track_id is not None and self.workspace.project.has_track(comment.track_id):
            states = self.workspace.project.states_of(comment.track_id)
            frame = states[0].frame if states else None
        if frame is not None:
            self.workspace.go_to(frame)
        if comment.track_id is not None:
            self.workspace.select_track(comment.track_id)

    # ---------------------------------------------------------- where next

    def next_unreviewed(self, *, forward: bool = True) -> int | None:
        frame = self.review.next_frame(self.frame, ReviewStatus.UNREVIEWED, forward=forward)
        return self._go_or_say(frame, "every frame has been reviewed")

    def next_unreviewed_object(self) -> int | None:
        """Go to the next object nobody has judged (its own verdict, its track's or its frame's), after the
        selected one on this frame, then on the frames after (wrapping around); select it and return its track."""
        review, count = self.review, self.workspace.frame_count
        selected = self.workspace.selected_tracks()
        after = selected[0] if selected else 0
        for offset in range(count + 1):
            frame = (self.frame + offset) % count
            if review.frame_status(frame) is not ReviewStatus.UNREVIEWED:
                continue  # a judged frame judges what is on it: no need to read its objects
            for obj in self.workspace.project.objects_on(frame):
                if (offset > 0 or obj.track.id > after) and review.object_status(obj.track.id, frame) is \
                        ReviewStatus.UNREVIEWED:
                    self.workspace.go_to(frame)
                    self.workspace.select_track(obj.track.id)
                    return obj.track.id
        self.workspace.viewer.status = "every object has been reviewed"
        return None

    def next_rejected(self, *, forward: bool = True) -> ReviewMark | None:
        """Go to the closest rejection after (or before) this frame, wrapping around: a rejected frame, an object
        rejected on a frame, or a rejected track (at its first frame), with the object selected; the reason
        shows in the status bar."""
        rejections = [((self._where(mark), mark.track_id or 0), mark) for mark in self.review.rejections()]
        if not rejections:
            self.workspace.viewer.status = "nothing is rejected"
            return None
        selected = self.workspace.selected_tracks()
        here = (self.frame, selected[0] if selected else 0)  # a frame's own rejection comes before its objects'
        mark = _closest(rejections, here, forward=forward)
        self.workspace.go_to(self._where(mark))
        self.workspace.select_track(mark.track_id)
        self.workspace.viewer.status = f"{mark.target} rejected by {mark.reviewer}: {mark.reason}"
        return mark

    def _where(self, mark: ReviewMark) -> int:
        if mark.frame is not None:
            return mark.frame
        states = self.workspace.project.states_of(mark.track_id)
        return states[0].frame if states else 0

    def next_finding(self, *, forward: bool = True) -> Finding | None:
        """Go to the closest finding after (or before) this frame, wrapping around; selects its object."""
        located = [finding for finding in self.findings if finding.frame is not None]
        if not located:
            self.workspace.viewer.status = "no findings" if self.checked else "run the checks first (Alt-K)"
            return None
        finding = _closest([(finding.frame, finding) for finding in located], self.frame, forward=forward)
        self.go_to_finding(finding)
        return finding

    def go_to_finding(self, finding: Finding) -> None:
        if finding.frame is not None:
            self.workspace.go_to(finding.frame)
        tracks = [track for track in finding.track_ids if self.workspace.project.state(track, self.frame)]
        if tracks:
            self.workspace.select_track(tracks[0])
        self.workspace.viewer.status = f"{finding.severity.value}: {finding.message}"

    def _go_or_say(self, frame: int | None, nothing: str) -> int | None:
        if frame is None:
            self.workspace.viewer.status = nothing
        else:
            self.workspace.go_to(frame)
        return frame

    # ---------------------------------------------------------- playing

    @property
    def playing(self) -> bool:
        return self.player.playing

    def play(self) -> None:
        """Play forward at ``fps`` until the last frame, Stop, or (with stop_at_flags) something to look at."""
        self.player.play(self.fps)

    def stop(self) -> None:
        self.player.stop()

    def toggle_play(self) -> None:
        self.stop() if self.playing else self.play()

    def _first_worth_a_look(self, after: int, until: int) -> int | None:
        """The first frame in ``after+1..until`` with a finding or a propagated state to check (None with
        stop_at_flags off)."""
        if not self.stop_at_flags:
            return None
        to_check = self.workspace.project.nearest_to_check(after, FLAG_BELOW, before=False, within=until - after)
        frames = [finding.frame for finding in self.findings] + [to_check]
        return min((frame for frame in frames if frame is not None and after < frame <= until), default=None)

    def _show_rate(self) -> None:
        self.workspace.viewer.status = self.player.describe()

    # ---------------------------------------------------------- checks

    def run_checks(self, *, quietly: bool = False) -> None:
        """Run every enabled check in a worker thread; the findings arrive through ``findings_changed``.

        ``quietly``: no progress bar (the re-runs after edits would flash one at every change)."""
        if self._worker is not None:
            self._recheck_wanted = True
            return
        project = self.workspace.project
        config = config_for(project)
        if not quietly:
            self._bar = progress(total=project.sequence.frame_count, desc="Checking annotations")
            self._relay.advanced.connect(self._bar.update)
        self._worker = create_worker(run_checks, project, config, progress=self._relay.advanced.emit,
                                     _ignore_errors=True)
        self._worker.returned.connect(self._show_findings)
        self._worker.errored.connect(self._checks_failed)
        self._worker.finished.connect(self._checks_done)
        self._worker.start()

    def wait(self, timeout_ms: int = 30000) -> None:
        """Block until a running check or report ends (tests, closing)."""
        for worker in (self._worker, self._report_worker):
            if worker is not None:
                worker.await_workers(timeout_ms)

    # ---------------------------------------------------------- the report

    def write_report(self, html: Path) -> None:
        """The QA report, HTML and JSON beside it, written in a worker (the checks run afresh for it)."""
        if self._report_worker is not None:
            raise RoadlabelError(None, "a report is being written: wait for it")
        self._report_worker = create_worker(_write_report, self.workspace.project, Path(html), _ignore_errors=True)
        self._report_worker.returned.connect(self._report_done)
        self._report_worker.errored.connect(self._checks_failed)
        self._report_worker.finished.connect(lambda: setattr(self, "_report_worker", None))
        self._report_worker.start()

    def _report_done(self, html: Path) -> None:
        show_info(f"QA report written: {html} (and {html.with_suffix('.json').name})")
        self.report_written.emit(html)

    def _show_findings(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.checked = True
        self.stale = False
        self.findings_changed.emit(findings)

    def _checks_failed(self, error: Exception) -> None:
        message = str(error) if isinstance(error, RoadlabelError) else f"the checks or report failed: {error!r}"
        show_error(message)

    def _checks_done(self) -> None:
        self._worker = None
        if self._bar is not None:
            self._relay.advanced.disconnect(self._bar.update)
            self._bar.close()
            self._bar = None
        if self._recheck_wanted:
            self._recheck_wanted = False
            self._run_again()

    def _run_again(self) -> None:
        """A re-run no key press asked for: an error (a bad PROJECT/qa.yaml) is shown, not raised into Qt."""
        try:
            self.run_checks(quietly=True)
        except RoadlabelError as error:
            show_error(str(error))

    def _after_change(self, message: str | None = None) -> None:
        if message:
            self.workspace.viewer.status = message
        if self.checked and self.workspace.frame_count <= RECHECK_MAX_FRAMES:
            self._recheck.start()
        elif self.checked:
            self.stale = True
        self.changed.emit()

    # ---------------------------------------------------------- helpers

    def _selected(self) -> list[int]:
        tracks = self.workspace.selected_tracks()
        if not tracks:
            raise RoadlabelError(None, "select an object first (click it, or pick it in the Label tab's list)")
        return tracks

    def _reason(self) -> str:
        return self._text("type the reason for rejecting in the Review tab first: the annotator will read it")

    def _text(self, missing: str) -> str:
        if not self.reason.strip():
            raise RoadlabelError(None, missing)
        return self.reason.strip()

    def close(self) -> None:
        self.stop()
        self._recheck.stop()
        self._recheck_wanted = False
        self.wait()


def _closest(keyed: list[tuple[Any, Any]], here: Any, *, forward: bool) -> Any:
    """Of (key, item) pairs, the item whose key comes first after ``here`` (before it, going back), wrapping
    around at the end."""
    ordered = sorted(keyed, key=lambda pair: pair[0], reverse=not forward)
    ahead = [pair for pair in ordered if (pair[0] > here if forward else pair[0] < here)]
    return (ahead or ordered)[0][1]


def _write_report(project, html: Path) -> Path:
    """The worker's part: checks, the report with its pictures, both files (the file dialog asked before
    replacing one)."""
    write_report(report_with_frames(project, run_checks(project, config_for(project))), html,
                 html.with_suffix(".json"), overwrite=True)
    return html
