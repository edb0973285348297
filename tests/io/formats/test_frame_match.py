"""How a dataset's entries (image paths) are matched to a project's frames: the rule in frame_match's docstring."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from napari_roadlabel.core import FormatError
from napari_roadlabel.io.formats.frame_match import Entry, match_entries
from napari_roadlabel.io.formats.import_report import ImportReport
from napari_roadlabel.io.projects import create_project

FRAMES = ["10.jpg", "20.jpg"]  # the clip's frames, in order: 10.jpg is frame 0, 20.jpg frame 1


@pytest.fixture
def clip_project(tmp_path):
    """A project over the image folder ``.../clips/0313-1/6040`` (TuSimple's layout)."""
    folder = tmp_path / "data" / "clips" / "0313-1" / "6040"
    folder.mkdir(parents=True)
    for name in FRAMES:
        cv2.imwrite(str(folder / name), np.zeros((36, 64, 3), np.uint8))
    with create_project(tmp_path / "p", folder) as project:
        yield project


def entries(*names):
    return [Entry(name, Path("labels.json"), f"line {number}", [name]) for number, name in enumerate(names, start=1)]


def matched(project, *names, strict=False):
    report = ImportReport("test", "labels.json", strict=strict)
    return [(frame, entry.name) for frame, entry in match_entries(project, entries(*names), report)], report


def test_a_bare_file_name_matches_the_frame_of_that_name(clip_project):
    found, report = matched(clip_project, "20.jpg", "10.jpg")
    assert found == [(0, "10.jpg"), (1, "20.jpg")]  # in frame order
    assert report.entries == 2 and not report.other_sequences and not report.missing_frames


@pytest.mark.parametrize("name", ["clips/0313-1/6040/20.jpg", "6040/20.jpg", "/elsewhere/6040/20.jpg",
                                  "clips\\0313-1\\6040\\20.jpg", "./clips/0313-1/6040/20.jpg"])
def test_an_entry_in_the_projects_folder_matches_its_frame(clip_project, name):
    found, report = matched(clip_project, name)
    assert found == [(1, name)] and not report.other_sequences


def test_an_entry_in_another_folder_is_for_another_sequence(clip_project):
    found, report = matched(clip_project, "clips/0313-1/6040/10.jpg", "clips/0313-2/520/20.jpg",
                            "clips/0601/6040x/20.jpg")
    assert found == [(0, "clips/0313-1/6040/10.jpg")]
    assert report.other_sequences == ["clips/0313-2/520/20.jpg", "clips/0601/6040x/20.jpg"]
    assert "2 entries are for other sequences" in report.summary()


def test_an_unknown_file_in_the_projects_folder_is_a_missing_frame(clip_project):
    found, report = matched(clip_project, "clips/0313-1/6040/10.jpg", "clips/0313-1/6040/99.jpg")
    assert found == [(0, "clips/0313-1/6040/10.jpg")]
    assert report.missing_frames == ["clips/0313-1/6040/99.jpg"] and not report.other_sequences


def test_a_missing_frame_is_refused_with_strict(clip_project):
    with pytest.raises(FormatError, match=r"labels.json: line 2: 'clips/0313-1/6040/99.jpg' .*--strict") as refused:
        matched(clip_project, "clips/0313-1/6040/10.jpg", "clips/0313-1/6040/99.jpg", strict=True)
    assert "\n" not in str(refused.value)


def test_of_two_entries_for_one_frame_the_one_agreeing_with_more_of_the_path_wins(clip_project):
    for names in (("clips/0313-2/6040/20.jpg", "clips/0313-1/6040/20.jpg"),
                  ("clips/0313-1/6040/20.jpg", "clips/0313-2/6040/20.jpg")):
        found, report = matched(clip_project, *names)
        assert found == [(1, "clips/0313-1/6040/20.jpg")]
        assert report.other_sequences == ["clips/0313-2/6040/20.jpg"]


@pytest.mark.parametrize("first, second", [("20.jpg", "20.jpg"), ("0313-2/6040/20.jpg", "0601/6040/20.jpg"),
                                           ("6040/20.jpg", "x/6040/20.jpg")])
def test_two_entries_for_one_frame_agreeing_as_much_are_refused_naming_both(clip_project, first, second):
    with pytest.raises(FormatError) as refused:
        matched(clip_project, first, second)
    message = str(refused.value)
    assert "\n" not in message and "labels.json: line 2" in message
    assert f"line 1 ({first!r})" in message and f"line 2 ({second!r})" in message and "ambiguous" in message


def test_when_no_entry_is_for_the_project_the_import_fails_saying_how_entries_are_matched(clip_project):
    with pytest.raises(FormatError) as refused:
        matched(clip_project, "clips/0313-2/520/20.jpg", "clips/0313-2/530/20.jpg", "clips/0313-1/6040/99.jpg")
    message = str(refused.value)
    assert "\n" not in message and message.startswith("labels.json: ")
    assert "none of its 3 entries" in message
    assert "2 for other sequences (e.g. 'clips/0313-2/520/20.jpg')" in message
    assert "1 for frames this project does not have (e.g. 'clips/0313-1/6040/99.jpg')" in message
    assert "matched by its file name and the folder names before it" in message and "6040" in message


def test_no_entries_at_all_is_not_an_error_here(clip_project):
    found, report = matched(clip_project)
    assert found == [] and report.entries == 0


def test_a_video_projects_frames_are_named_by_its_stem_and_frame_number(tmp_path, small_video):
    with create_project(tmp_path / "v", small_video) as project:
        found, report = matched(project, "clip/000003.jpg", "000007.jpg", "/videos/clip/000011.jpg",
                                "other/000004.jpg", "clip/000012.jpg")
    assert found == [(3, "clip/000003.jpg"), (7, "000007.jpg"), (11, "/videos/clip/000011.jpg")]
    assert report.other_sequences == ["other/000004.jpg"]
    assert report.missing_frames == ["clip/000012.jpg"]  # the clip has 12 frames: 0..11


def test_an_entry_naming_its_sequence_beside_the_path_is_matched_by_it(clip_project):
    """BDD100K gives videoName and frameIndex beside a bare name: another video is another sequence."""
    ours = Entry("6040-0000002.jpg", Path("labels.json"), "frame 0", [], sequence="6040", frame_index=1)
    theirs = Entry("20.jpg", Path("labels.json"), "frame 1", [], sequence="other-video", frame_index=1)
    report = ImportReport("bdd100k", "labels.json")
    assert [(frame, entry.place) for frame, entry in match_entries(clip_project, [ours, theirs], report)] == [
        (1, "frame 0")]
    assert report.other_sequences == ["20.jpg"]
