"""The skeleton QA checks: a limb that jumps in length and a left/right pair swapped, on walking figures."""

from __future__ import annotations

import numpy as np

from napari_roadlabel.core import make_skeleton
from napari_roadlabel.core.geometry import VISIBLE
from napari_roadlabel.qa.checks import run_checks
from napari_roadlabel.qa.findings import Severity

# COCO's 17 points of a person facing the camera (their left on the image's right), 40 px wide, 80 px tall.
FACING = np.array([[20, 0], [23, -2], [17, -2], [26, 0], [14, 0], [32, 14], [8, 14], [36, 30], [4, 30], [38, 44],
                   [2, 44], [28, 46], [12, 46], [29, 62], [11, 62], [30, 80], [10, 80]], dtype=float)
LEFT_KNEE, LEFT_ANKLE, LEFT_WRIST, RIGHT_WRIST = 13, 15, 9, 10


def _walk(project, figures, start=(100, 100), step=(3, 0)) -> int:
    """A pedestrian track with ``figures[i]`` (17 points) on frame i, walking ``step`` px a frame."""
    track_id = project.add_track("pedestrian").id
    with project.group("walk"):
        for frame, figure in enumerate(figures):
            points = figure + start + np.multiply(step, frame)
            project.set_state(track_id, frame, make_skeleton(points, [VISIBLE] * 17))
    return track_id


def _found(project, check: str) -> list:
    return [finding for finding in run_checks(project) if finding.check == check]


def test_a_steady_walk_and_a_person_turning_round_are_not_findings(project):
    turned = FACING.copy()
    turned[:, 0] = 40 - turned[:, 0]  # seen from behind: every pair on the other side
    _walk(project, [FACING, FACING, turned, turned])
    assert _found(project, "skeleton-flip") == [] and _found(project, "limb-jump") == []


def test_wrists_swapped_on_one_frame_are_a_flip(project):
    swapped = FACING.copy()
    swapped[[LEFT_WRIST, RIGHT_WRIST]] = swapped[[RIGHT_WRIST, LEFT_WRIST]]
    track = _walk(project, [FACING, FACING, swapped, FACING])
    findings = _found(project, "skeleton-flip")
    assert [(f.frame, f.track_ids, f.severity) for f in findings] == [(2, (track,), Severity.WARNING),
                                                                      (3, (track,), Severity.WARNING)]
    assert "left_wrist/right_wrist swap sides from frame 1 to frame 2" in findings[0].message


def test_an_ankle_put_on_the_wrong_joint_is_a_limb_jump(project):
    wrong = FACING.copy()
    wrong[LEFT_ANKLE] = wrong[LEFT_KNEE] + [1, 3]  # clicked just under the knee: the shin shrinks to 3 px
    stretched = FACING.copy()
    stretched[LEFT_ANKLE] += [0, 20]  # the shin grows from 18 to 38 px
    track = _walk(project, [FACING, stretched, FACING, wrong])
    findings = _found(project, "limb-jump")
    assert [(f.frame, f.track_ids) for f in findings] == [(1, (track,)), (2, (track,))]
    assert "left_ankle-left_knee changes length 2.1x from frame 0 to frame 1" in findings[0].message
    # frame 3's shin is under min_length (5 px): not measured, so no finding there


def test_absent_points_are_not_measured(project):
    track_id = project.add_track("pedestrian").id
    visibility = [VISIBLE] * 17
    visibility[LEFT_ANKLE] = 0
    points = FACING + 100
    points[LEFT_ANKLE] = np.nan
    project.set_state(track_id, 0, make_skeleton(FACING + 100, [VISIBLE] * 17))
    project.set_state(track_id, 1, make_skeleton(points, visibility))
    assert _found(project, "limb-jump") == [] and _found(project, "skeleton-flip") == []


def test_two_skeletons_of_one_person_are_near_duplicates(project):
    first = _walk(project, [FACING])
    second = _walk(project, [FACING + [1, 0]])
    elsewhere = _walk(project, [FACING], start=(300, 100))
    findings = _found(project, "near-duplicate")
    assert [(f.frame, f.track_ids) for f in findings] == [(0, (first, second))]
    assert elsewhere not in findings[0].track_ids
