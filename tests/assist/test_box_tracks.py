"""Box detections linked into tracks: an object approaching the camera, seen with gaps, next to another one."""

from __future__ import annotations

import numpy as np

from napari_roadlabel.assist.box_tracks import FILL_CONFIDENCE, Detection, filled, link
from napari_roadlabel.core.geometry import bounds_iou


def approaching(frame: int, start=(300.0, 100.0), drift=(-1.5, -0.6), width=6.0, growth=1.03) -> tuple:
    """The true box of an object moving outward from the vanishing point and growing, on ``frame``."""
    w = width * growth ** frame
    cx, cy = start[0] + drift[0] * frame * growth ** frame, start[1] + drift[1] * frame * growth ** frame
    return cx - w / 2, cy - 1.4 * w, cx + w / 2, cy + 1.4 * w


def detections(frames, missed, box_of, noise=0.0, seed=0) -> list[list[Detection]]:
    rng = np.random.default_rng(seed)
    return [[] if frame in missed else
            [Detection(frame, tuple(np.add(box_of(frame), rng.normal(0, noise, 4))), 0.9)] for frame in frames]


def test_an_object_missed_on_several_frames_is_one_track_with_a_box_on_every_frame():
    missed = {5, 6, 7, 8, 9, 10, 20, 21}
    (track,) = link(detections(range(40), missed, approaching, noise=0.3))
    boxes = {d.frame: d for d in filled(track)}
    assert sorted(boxes) == list(range(40))
    assert all(bounds_iou(boxes[frame].bounds, approaching(frame)) >= 0.7 for frame in range(40))
    assert {frame for frame, d in boxes.items() if d.interpolated} == missed
    assert all(boxes[frame].confidence == FILL_CONFIDENCE * 0.9 for frame in missed)


def test_two_objects_side_by_side_keep_their_own_tracks():
    left = lambda frame: approaching(frame, drift=(-1.5, -0.6))  # noqa: E731
    right = lambda frame: approaching(frame, start=(318.0, 100.0), drift=(1.5, -0.6))  # noqa: E731
    frames = [a + b for a, b in zip(detections(range(30), {12, 13}, left), detections(range(30), {14}, right),
                                    strict=True)]
    tracks = link(frames)
    assert len(tracks) == 2
    for track in tracks:
        truth = left if track.detections[0].bounds[0] < 300 else right
        assert all(bounds_iou(d.bounds, truth(d.frame)) >= 0.9 for d in filled(track))


def test_a_jump_starts_a_new_track_and_a_long_absence_ends_one():
    far_away = lambda frame: approaching(frame, start=(500.0, 300.0))  # noqa: E731
    frames = detections(range(10), set(), approaching) + detections(range(10, 20), set(), far_away)
    assert len(link(frames)) == 2
    gone = detections(range(70), set(range(10, 60)), approaching)  # 50 frames unseen: not one object
    assert len(link(gone)) == 2


def test_a_box_already_in_the_project_is_continued_by_its_track_only():
    frames = detections(range(10), set(), approaching)
    frames[0] = [Detection(0, approaching(0), track_id=7)]
    (track,) = link(frames)
    assert track.track_id == 7 and track.detections[0].track_id == 7
    frames[5] = [Detection(5, approaching(5), track_id=8)]  # another object's box cannot join track 7
    assert len(link(frames)) == 2
