"""A reviewer's pass over a sequence: verdicts on frames and objects, comments, progress and sign-off.

Every verdict and comment is stored with the reviewer's name and the time, as
an undoable edit of the project's store; none of them touches geometry.
"""

from __future__ import annotations

import datetime
import getpass
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..core import AnnotationError, Project
from ..core.review import Comment, ReviewMark, ReviewStatus
from ..core.timeline import frame_runs
from ..core.wording import counted
from .findings import Finding

REVIEWER_VARIABLE = "ROADLABEL_REVIEWER"


def default_reviewer() -> str:
    """$ROADLABEL_REVIEWER, else the login name."""
    try:
        return os.environ.get(REVIEWER_VARIABLE) or getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return ""


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ReviewProgress:
    frames: int
    frames_accepted: int
    frames_rejected: int
    tracks: int
    tracks_accepted: int
    tracks_rejected: int
    objects_rejected: int  # single objects rejected on single frames
    open_comments: int
    resolved_comments: int
    sign_off: ReviewMark | None

    @property
    def frames_unreviewed(self) -> int:
        return self.frames - self.frames_accepted - self.frames_rejected

    @property
    def signed_off(self) -> bool:
        return self.sign_off is not None and self.sign_off.status is ReviewStatus.ACCEPTED

    def to_dict(self) -> dict:
        counts = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "sign_off"}
        mark = self.sign_off
        sign_off = None if mark is None else {"status": mark.status.value, "reviewer": mark.reviewer,
                                              "time": mark.time, "reason": mark.reason}
        return {**counts, "frames_unreviewed": self.frames_unreviewed, "sign_off": sign_off}


def review_progress(project: Project) -> ReviewProgress:
    """Where the review of ``project`` stands; reading it needs no reviewer."""
    marks = project.store.review_marks()
    frame_marks = [mark for mark in marks if mark.track_id is None and mark.frame is not None]
    track_marks = [mark for mark in marks if mark.track_id is not None and mark.frame is None]
    comments = project.store.comments()
    return ReviewProgress(
        frames=project.sequence.frame_count,
        frames_accepted=_count(frame_marks, ReviewStatus.ACCEPTED),
        frames_rejected=_count(frame_marks, ReviewStatus.REJECTED),
        tracks=len(project.tracks()),
        tracks_accepted=_count(track_marks, ReviewStatus.ACCEPTED),
        tracks_rejected=_count(track_marks, ReviewStatus.REJECTED),
        objects_rejected=sum(mark.status is ReviewStatus.REJECTED for mark in marks
                             if mark.track_id is not None and mark.frame is not None),
        open_comments=sum(not comment.resolved for comment in comments),
        resolved_comments=sum(comment.resolved for comment in comments),
        sign_off=project.store.review_mark(None, None))


def review_runs(project: Project) -> list[list]:
    """The frames' own verdicts as runs [first frame, last frame, status] over the whole sequence."""
    marks = {mark.frame: mark.status for mark in project.store.review_marks()
             if mark.track_id is None and mark.frame is not None}
    return frame_runs((frame, marks.get(frame, ReviewStatus.UNREVIEWED))
                      for frame in range(project.sequence.frame_count))


class Review:
    """Review actions on one project by one named reviewer."""

    def __init__(self, project: Project, reviewer: str):
        if not reviewer or not reviewer.strip():
            raise AnnotationError(None, "a review needs the reviewer's name (set $ROADLABEL_REVIEWER or give one)")
        self.project = project
        self.reviewer = reviewer.strip()

    @property
    def store(self):
        return self.project.store

    # ---------------------------------------------------------- verdicts

    def set_status(self, status: ReviewStatus | str, *, track_id: int | None = None, frame: int | None = None,
                   reason: str = "") -> ReviewMark:
        """Judge a frame (track_id None), a track (frame None) or one object on one frame; UNREVIEWED clears it."""
        status = ReviewStatus(status)
        mark = ReviewMark(track_id, frame, status, reason.strip(), self.reviewer, now())
        self._check_target(mark)
        if status is ReviewStatus.REJECTED and not mark.reason:
            raise AnnotationError(None, "a rejection needs a reason the annotator can act on", mark.target)
        with self.project.group(f"{status.value} {mark.target}"):
            self.store.put_review(mark, f"{status.value} {mark.target}")
            if status is ReviewStatus.REJECTED:
                self._withdraw_sign_off(f"{mark.target} rejected")
        return mark

    def accept_frame(self, frame: int) -> ReviewMark:
        return self.set_status(ReviewStatus.ACCEPTED, frame=frame)

    def reject_frame(self, frame: int, reason: str) -> ReviewMark:
        return self.set_status(ReviewStatus.REJECTED, frame=frame, reason=reason)

    def accept_track(self, track_id: int) -> ReviewMark:
        return self.set_status(ReviewStatus.ACCEPTED, track_id=track_id)

    def reject_track(self, track_id: int, reason: str, *, frame: int | None = None) -> ReviewMark:
        """Reject a whole track, or (with ``frame``) the object on that frame only."""
        return self.set_status(ReviewStatus.REJECTED, track_id=track_id, frame=frame, reason=reason)

    def accept_frames(self, frames: Iterable[int]) -> int:
        """Accept every frame of ``frames`` not yet judged (rejected ones stay rejected); one undo step."""
        todo = [frame for frame in frames if self.frame_status(frame) is ReviewStatus.UNREVIEWED]
        with self.project.group(f"accept {len(todo)} frames"):
            for frame in todo:
                self.accept_frame(frame)
        return len(todo)

    def frame_status(self, frame: int) -> ReviewStatus:
        return _status(self.store.review_mark(None, frame))

    def track_status(self, track_id: int) -> ReviewStatus:
        return _status(self.store.review_mark(track_id, None))

    def object_status(self, track_id: int, frame: int) -> ReviewStatus:
        """The object's own mark on this frame, else its track's, else the frame's (accepting a frame accepts
        what is on it)."""
        return _status(self.store.review_mark(track_id, frame) or self.store.review_mark(track_id, None)
                       or self.store.review_mark(None, frame))

    def rejections(self) -> list[ReviewMark]:
        """Every rejected frame, track and object (not a withdrawn sign-off)."""
        return [mark for mark in self.store.review_marks() if mark.status is ReviewStatus.REJECTED
                and not (mark.track_id is None and mark.frame is None)]

    def mark_of(self, *, track_id: int | None = None, frame: int | None = None) -> ReviewMark | None:
        return self.store.review_mark(track_id, frame)

    # ---------------------------------------------------------- comments

    def add_comment(self, text: str, *, frame: int | None = None, track_id: int | None = None,
                    point: Sequence[float] | None = None) -> Comment:
        """A comment on a frame, a track, a point of a frame, or a track on a frame."""
        text = text.strip()
        if not text:
            raise AnnotationError(None, "a comment needs text")
        if point is not None:
            point = self._checked_point(point, frame)
        anchor = ReviewMark(track_id, frame, ReviewStatus.UNREVIEWED, "", "", "")
        if track_id is None and frame is None:
            raise AnnotationError(None, "a comment is anchored to a frame, a track or a point of a frame")
        self._check_target(anchor)
        with self.project.group("comment"):
            comment = Comment(self.store.allocate_id(), text, self.reviewer, now(), frame, track_id, point)
            self.store.put_comment(comment, f"comment on {anchor.target}")
        return comment

    def resolve(self, comment_id: int) -> Comment:
        comment = self.store.comment(comment_id)
        return self._put_comment(Comment(**{**comment.__dict__, "resolved_by": self.reviewer, "resolved_time": now()}),
                                 f"resolve comment {comment_id}")

    def reopen(self, comment_id: int) -> Comment:
        comment = self.store.comment(comment_id)
        return self._put_comment(Comment(**{**comment.__dict__, "resolved_by": "", "resolved_time": ""}),
                                 f"reopen comment {comment_id}")

    def comments(self, *, open_only: bool = False) -> list[Comment]:
        return [comment for comment in self.store.comments() if not (open_only and comment.resolved)]

    def _put_comment(self, comment: Comment, label: str) -> Comment:
        self.store.put_comment(comment, label)
        return comment

    # ---------------------------------------------------------- where next

    def next_frame(self, frame: int, wanted: ReviewStatus, *, forward: bool = True) -> int | None:
        """The closest frame after (or before) ``frame`` whose own status is ``wanted``; wraps around once."""
        count = self.project.sequence.frame_count
        step = 1 if forward else -1
        for offset in range(1, count):
            candidate = (frame + step * offset) % count
            if self.frame_status(candidate) is wanted:
                return candidate
        return None

    # ---------------------------------------------------------- progress and sign-off

    def progress(self) -> ReviewProgress:
        return review_progress(self.project)

    def blockers(self, findings: Iterable[Finding]) -> list[str]:
        """What stands between this sequence and sign-off, one line each; empty when it can be signed off."""
        progress = self.progress()
        blocking = [finding for finding in findings if finding.blocking]
        lines = [f"{counted(progress.frames_unreviewed, 'frame')} not reviewed" if progress.frames_unreviewed else "",
                 f"{counted(progress.frames_rejected, 'frame')} rejected" if progress.frames_rejected else "",
                 f"{counted(progress.tracks_rejected, 'track')} rejected" if progress.tracks_rejected else "",
                 f"{counted(progress.objects_rejected, 'object')} rejected" if progress.objects_rejected else "",
                 counted(progress.open_comments, "open comment") if progress.open_comments else "",
                 counted(len(blocking), "blocking finding") if blocking else ""]
        return [line for line in lines if line]

    def sign_off(self, findings: Iterable[Finding]) -> ReviewMark:
        """Sign the sequence off; refused, naming every reason, while anything stands in the way."""
        blockers = self.blockers(findings)
        if blockers:
            raise AnnotationError(None, "cannot sign off: " + "; ".join(blockers), self.project.folder.name)
        mark = ReviewMark(None, None, ReviewStatus.ACCEPTED, "", self.reviewer, now())
        self.store.put_review(mark, "sign off")
        return mark

    def _withdraw_sign_off(self, why: str) -> None:
        if self.progress().signed_off:
            self.store.put_review(ReviewMark(None, None, ReviewStatus.REJECTED, why, self.reviewer, now()))

    # ---------------------------------------------------------- checks

    def _check_target(self, mark: ReviewMark) -> None:
        if mark.track_id is not None and not self.project.has_track(mark.track_id):
            raise AnnotationError(None, f"no track with id {mark.track_id}", mark.target)
        if mark.frame is not None and not 0 <= mark.frame < self.project.sequence.frame_count:
            raise AnnotationError(None, f"frame {mark.frame} is outside the sequence "
                                        f"(0..{self.project.sequence.frame_count - 1})", mark.target)

    def _checked_point(self, point: Sequence[float], frame: int | None) -> tuple[float, float]:
        if frame is None:
            raise AnnotationError(None, "a comment on a point needs the frame it is on")
        x, y = (float(value) for value in point)
        width, height = self.project.sequence.width, self.project.sequence.height
        if not (0 <= x <= width and 0 <= y <= height):  # also refuses NaN
            raise AnnotationError(None, f"point ({x}, {y}) is outside the {width}x{height} image", f"frame {frame}")
        return (x, y)


def _status(mark: ReviewMark | None) -> ReviewStatus:
    return ReviewStatus.UNREVIEWED if mark is None else mark.status


def _count(marks: Iterable[ReviewMark], status: ReviewStatus) -> int:
    return sum(mark.status is status for mark in marks)
