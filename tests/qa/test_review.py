"""Review verdicts, comments, progress and sign-off: stored with who and when, undoable, never touching geometry."""

import json

import pytest

from napari_roadlabel.core import AnnotationError, Project, SequenceInfo, box, make_geometry
from napari_roadlabel.core.review import ReviewStatus
from napari_roadlabel.core.store import SCHEMA_VERSION
from napari_roadlabel.qa.findings import Finding, Severity
from napari_roadlabel.qa.review import Review
from tests.conftest import as_schema

LANE = make_geometry("polyline", [[100, 350], [200, 250], [300, 180]])


@pytest.fixture
def labeled(project):
    lane = project.add_track("lane-line")
    light = project.add_track("traffic-light")
    for frame in range(5):
        project.set_state(lane.id, frame, LANE)
        project.set_state(light.id, frame, box(10, 20, 30, 60), {"state": "red"})
    return project, lane.id, light.id


def geometry_of(project):
    return [(obj.track.id, obj.state.frame, obj.state.geometry, dict(obj.state.attributes))
            for obj in project.store.iter_objects()]


def test_verdicts_are_stored_with_reviewer_and_time_and_change_no_geometry(labeled):
    project, lane, light = labeled
    before = geometry_of(project)
    review = Review(project, "rita")
    review.accept_frame(2)
    review.reject_track(light, "box too loose", frame=3)
    review.accept_track(lane)
    assert geometry_of(project) == before
    mark = project.store.review_mark(None, 2)
    assert (mark.status, mark.reviewer) == (ReviewStatus.ACCEPTED, "rita") and mark.time.endswith("+00:00")
    assert review.object_status(light, 3) is ReviewStatus.REJECTED
    assert review.object_status(light, 4) is ReviewStatus.UNREVIEWED
    assert review.object_status(light, 2) is ReviewStatus.ACCEPTED  # its frame was accepted
    assert review.object_status(lane, 4) is ReviewStatus.ACCEPTED
    assert project.store.review_mark(light, 3).reason == "box too loose"


def test_verdicts_survive_reopening_and_undo_takes_them_back(labeled, tmp_path):
    project, lane, _ = labeled
    review = Review(project, "rita")
    review.accept_frame(1)
    review.reject_frame(4, "lane 1 off the paint")
    assert project.undo() == "rejected frame 4"
    assert review.frame_status(4) is ReviewStatus.UNREVIEWED
    project.close()
    with Project.open(tmp_path / "project") as reopened:
        assert Review(reopened, "sam").frame_status(1) is ReviewStatus.ACCEPTED
        assert reopened.store.review_mark(None, 4) is None


def test_clearing_a_verdict_makes_it_unreviewed_again(labeled):
    project, lane, _ = labeled
    review = Review(project, "rita")
    review.accept_track(lane)
    review.set_status("unreviewed", track_id=lane)
    assert review.track_status(lane) is ReviewStatus.UNREVIEWED and project.store.review_marks() == []


@pytest.mark.parametrize(("call", "message"), [
    (lambda review: review.reject_frame(1, "  "), "rejection needs a reason"),
    (lambda review: review.accept_frame(100), "frame 100 is outside the sequence"),
    (lambda review: review.accept_track(99), "no track with id 99"),
    (lambda review: review.add_comment(""), "comment needs text"),
    (lambda review: review.add_comment("look"), "anchored to a frame, a track or a point"),
    (lambda review: review.add_comment("here", point=(5, 5)), "needs the frame"),
    (lambda review: review.add_comment("here", frame=1, point=(700, 5)), r"\(700.0, 5.0\) is outside the 640x360"),
    (lambda review: review.add_comment("here", frame=1, point=(float("nan"), 5)), "outside"),
])
def test_bad_review_input_is_refused_and_nothing_is_written(labeled, call, message):
    project, _, _ = labeled
    with pytest.raises(AnnotationError, match=message):
        call(Review(project, "rita"))
    assert project.store.review_marks() == [] and project.store.comments() == []


def test_a_review_needs_a_reviewer_name(project):
    with pytest.raises(AnnotationError, match="reviewer's name"):
        Review(project, " ")


def test_comments_are_anchored_resolved_and_reopened(labeled):
    project, lane, _ = labeled
    review = Review(project, "rita")
    on_point = review.add_comment("dash missed here", frame=2, point=(210, 240))
    on_track = review.add_comment("colour should be yellow", track_id=lane)
    assert (on_point.frame, on_point.point, on_point.author) == (2, (210.0, 240.0), "rita")
    assert on_track.track_id == lane and on_track.frame is None
    resolved = Review(project, "ana").resolve(on_point.id)
    assert resolved.resolved and resolved.resolved_by == "ana"
    assert [comment.id for comment in review.comments(open_only=True)] == [on_track.id]
    assert not review.reopen(on_point.id).resolved
    assert len(review.comments(open_only=True)) == 2


def test_accepting_a_range_keeps_rejections_and_is_one_undo_step(labeled):
    project, _, _ = labeled
    review = Review(project, "rita")
    review.reject_frame(3, "stop line missing")
    assert review.accept_frames(range(0, 5)) == 4
    assert review.frame_status(3) is ReviewStatus.REJECTED
    project.undo()
    assert [review.frame_status(frame) for frame in range(5)].count(ReviewStatus.UNREVIEWED) == 4


def test_next_frame_finds_unreviewed_and_wraps_around(labeled):
    project, _, _ = labeled
    review = Review(project, "rita")
    review.accept_frames(range(0, 100))
    project.undo()
    review.accept_frames([frame for frame in range(100) if frame not in (7, 40)])
    assert review.next_frame(10, ReviewStatus.UNREVIEWED) == 40
    assert review.next_frame(50, ReviewStatus.UNREVIEWED) == 7
    assert review.next_frame(10, ReviewStatus.UNREVIEWED, forward=False) == 7
    review.accept_frames([7, 40])
    assert review.next_frame(10, ReviewStatus.UNREVIEWED) is None


def test_sign_off_names_everything_in_the_way_then_succeeds(labeled):
    project, lane, _ = labeled
    review = Review(project, "rita")
    blocking = Finding("crossing-lanes", Severity.ERROR, "lanes 1 and 3 cross", 2, (1, 3))
    warning = Finding("track-gap", Severity.WARNING, "track 1 missing on frame 9", 9, (1,))
    review.reject_frame(4, "lane off")
    comment = review.add_comment("check the light", frame=1)
    with pytest.raises(AnnotationError) as refused:
        review.sign_off([blocking, warning])
    for reason in ("99 frames not reviewed", "1 frame rejected", "1 open comment", "1 blocking finding"):
        assert reason in str(refused.value)
    review.accept_frames(range(100))
    review.accept_frame(4)
    review.resolve(comment.id)
    mark = review.sign_off([warning])
    assert review.progress().signed_off and mark.reviewer == "rita"


def test_a_rejection_withdraws_the_sign_off(labeled):
    project, lane, _ = labeled
    review = Review(project, "rita")
    review.accept_frames(range(100))
    review.sign_off([])
    review.reject_track(lane, "wrong colour")
    progress = review.progress()
    assert not progress.signed_off and progress.sign_off.reason == f"track {lane} rejected"
    assert progress.to_dict()["sign_off"]["status"] == "rejected"


def test_progress_counts_frames_tracks_objects_and_comments(labeled):
    project, lane, light = labeled
    review = Review(project, "rita")
    review.accept_frames(range(10))
    review.reject_frame(10, "missing lane")
    review.accept_track(lane)
    review.reject_track(light, "state wrong", frame=2)
    review.resolve(review.add_comment("ok?", track_id=lane).id)
    progress = review.progress()
    assert (progress.frames_accepted, progress.frames_rejected, progress.frames_unreviewed) == (10, 1, 89)
    assert (progress.tracks, progress.tracks_accepted, progress.objects_rejected) == (2, 1, 1)
    assert (progress.open_comments, progress.resolved_comments) == (0, 1)
    assert json.loads(json.dumps(progress.to_dict()))["frames_unreviewed"] == 89


def test_deleting_a_track_deletes_its_verdicts_and_undo_brings_them_back(labeled):
    project, lane, _ = labeled
    review = Review(project, "rita")
    review.accept_track(lane)
    review.reject_track(lane, "off", frame=1)
    project.delete_track(lane)
    assert project.store.review_marks() == []
    project.undo()
    assert review.track_status(lane) is ReviewStatus.ACCEPTED


def test_a_schema_1_project_is_migrated_on_opening(tmp_path):
    folder = tmp_path / "old"
    with Project.create(folder, SequenceInfo("clip.mp4", 10, 640, 360)) as project:
        project.set_state(project.add_track("lane-line").id, 1, LANE)
    as_schema(folder, 1)
    with Project.open(folder) as project:
        assert len(project.states_of(1)) == 1
        Review(project, "rita").accept_frame(1)
    assert json.loads((folder / "project.json").read_text())["schema_version"] == SCHEMA_VERSION
    with Project.open(folder) as project:
        assert project.store.review_mark(None, 1).reviewer == "rita"
