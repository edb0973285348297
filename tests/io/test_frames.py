"""Tests for napari_roadlabel.io.frames: lazy video, image-folder and single-image frame sources."""

from __future__ import annotations

import gc
import re
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import ExifTags, Image

from napari_roadlabel.cli import main
from napari_roadlabel.core.errors import FrameSourceError, RoadlabelWarning
from napari_roadlabel.io.frames import (
    FrameArray,
    ImageFolderSource,
    SingleImageSource,
    VideoSource,
    open_frames,
)

REAL_CLIP = Path(__file__).resolve().parents[3] / "shared" / "data" / "udacity-lanelines" / "solidWhiteRight.mp4"
WIDTH, HEIGHT = 128, 72
FPS = 25.0
FRAME_COUNT = 120  # ten mp4v keyframe intervals, so seeks land between keyframes
BITS = 8
CELL = WIDTH // BITS
FRAME_BYTES = WIDTH * HEIGHT * 3


def make_frame(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A BGR frame whose top row of cells spells ``index`` in binary (white = 1), readable after lossy coding.

    Below it a block moves with the index, and a pure red patch (BGR order) lets tests check the RGB conversion.
    """
    frame = np.full((height, width, 3), 90, np.uint8)
    cell = width // BITS
    for bit in range(BITS):
        frame[: cell, bit * cell : (bit + 1) * cell] = 255 if index >> bit & 1 else 0
    x = (index * 3) % (width - 16)
    frame[height - 24 : height - 8, x : x + 16] = (40, 200, 120)
    frame[cell + 4 : cell + 16, 4:20] = (0, 0, 255)
    return frame


def encoded_index(rgb: np.ndarray) -> int:
    cell = rgb.shape[1] // BITS
    return sum(1 << bit for bit in range(BITS) if rgb[2 : cell - 2, bit * cell + 2 : (bit + 1) * cell - 2].mean() > 127)


def write_video(path: Path, fourcc: str, count: int = FRAME_COUNT) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened(), f"this OpenCV cannot write {fourcc}"
    for index in range(count):
        writer.write(make_frame(index))
    writer.release()
    return path


def decode_sequentially(path: Path) -> list[np.ndarray]:
    """Every frame in RGB, by plain sequential cap.read(): the reference for seek tests."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def read_ahead_threads(path: Path) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == f"read-ahead {path.name}"]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        "mp4v": write_video(folder / "clip.mp4", "mp4v"),
        "MJPG": write_video(folder / "clip.avi", "MJPG"),
    }


@pytest.fixture(scope="module")
def reference_frames(videos) -> dict[str, list[np.ndarray]]:
    return {codec: decode_sequentially(path) for codec, path in videos.items()}


@pytest.fixture
def mp4(videos) -> Path:
    return videos["mp4v"]


# --- video metadata and access ---------------------------------------------------------------


def test_video_metadata_comes_from_the_container(mp4):
    with open_frames(mp4) as source:
        assert isinstance(source, VideoSource)
        assert len(source) == FRAME_COUNT
        assert source.size == (WIDTH, HEIGHT)
        assert source.fps == pytest.approx(FPS)
        assert source.shape == (FRAME_COUNT, HEIGHT, WIDTH, 3)
        assert source.path == mp4
        assert source.missing == set()


def test_frames_are_read_only_rgb_uint8(mp4):
    with open_frames(mp4) as source:
        frame = source.read(5)
    assert frame.dtype == np.uint8 and frame.shape == (HEIGHT, WIDTH, 3)
    assert not frame.flags.writeable
    red, green, blue = frame[CELL + 6 : CELL + 14, 6:18].reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize("codec", ["mp4v", "MJPG"])
def test_sequential_reads_match_plain_opencv(videos, reference_frames, codec):
    reference = reference_frames[codec]
    assert len(reference) == FRAME_COUNT
    with open_frames(videos[codec]) as source:
        for index in range(FRAME_COUNT):
            frame = source.read(index)
            assert encoded_index(frame) == index
            assert np.array_equal(frame, reference[index])


@pytest.mark.parametrize("codec", ["mp4v", "MJPG"])
def test_seek_read_equals_sequential_decode(videos, reference_frames, codec):
    """Without cache or read-ahead every out-of-order read seeks; each must return exactly frame k."""
    order = np.random.default_rng(7).permutation(FRAME_COUNT)
    with open_frames(videos[codec], cache_bytes=0, read_ahead=0) as source:
        for index in order:
            frame = source.read(int(index))
            assert encoded_index(frame) == index
            assert np.abs(frame.astype(int) - reference_frames[codec][index]).mean() < 1.0


def test_backward_seek(mp4, reference_frames):
    with open_frames(mp4, cache_bytes=0, read_ahead=0) as source:
        for index in (100, 101, 40, 39, 38, 0, 119, 1):
            assert np.array_equal(source.read(index), reference_frames["mp4v"][index])


@pytest.mark.parametrize("codec", ["mp4v", "MJPG"])
def test_skipping_a_few_frames_forward_reads_exactly_those_frames(videos, reference_frames, codec):
    """Playback that drops late frames reads 3, 5, 9, ...: decoded forward, each must be exactly frame k."""
    with open_frames(videos[codec], cache_bytes=0, read_ahead=0) as source:
        for index in (3, 5, 9, 10, 26, 27, 60, 61):  # gaps of 1 to 33 frames: within GRAB_AHEAD and past it
            assert np.array_equal(source.read(index), reference_frames[codec][index])


def test_negative_index_and_range_errors(mp4):
    with open_frames(mp4) as source:
        assert encoded_index(source[-1]) == FRAME_COUNT - 1
        assert encoded_index(source[3]) == 3
        with pytest.raises(IndexError):
            source.read(FRAME_COUNT)
        with pytest.raises(IndexError):
            source.read(-1)
        with pytest.raises(IndexError):
            source[-FRAME_COUNT - 1]


def test_video_frame_names(mp4):
    with open_frames(mp4) as source:
        assert source.frame_name(17) == "clip_000017"
        assert source.frame_name(-1) == f"clip_{FRAME_COUNT - 1:06d}"


# --- cache and read-ahead --------------------------------------------------------------------


def test_lru_cache_stays_within_its_byte_budget(mp4):
    budget = 5 * FRAME_BYTES + FRAME_BYTES // 2
    with open_frames(mp4, cache_bytes=budget) as source:
        for index in [*range(60), *range(59, 30, -1), 90, 3, 110]:
            source.read(index)
            assert source.cache.nbytes <= budget
            assert len(source.cache) <= 5
        assert source.cache.budget_bytes == budget


def test_lru_evicts_the_least_recently_used_frame(mp4):
    with open_frames(mp4, cache_bytes=3 * FRAME_BYTES, read_ahead=0) as source:
        for index in (10, 20, 30):
            source.read(index)
        source.read(10)  # now 20 is the least recently used
        source.read(40)
        assert 20 not in source.cache
        assert all(index in source.cache for index in (10, 30, 40))


def test_read_ahead_fills_the_cache_after_a_read(mp4):
    with open_frames(mp4, read_ahead=4) as source:
        source.read(50)
        assert wait_until(lambda: all(index in source.cache for index in range(51, 55)))
        for index in range(51, 55):
            assert encoded_index(source.read(index)) == index


def test_read_ahead_is_limited_to_what_the_cache_holds(mp4):
    with open_frames(mp4, cache_bytes=3 * FRAME_BYTES, read_ahead=8) as source:
        source.read(20)
        assert wait_until(lambda: 22 in source.cache)
        assert 20 in source.cache  # the frame on screen was not evicted by frames read ahead
        assert 23 not in source.cache


def test_read_ahead_zero_starts_no_thread(mp4):
    with open_frames(mp4, read_ahead=0) as source:
        source.read(10)
        assert 11 not in source.cache
        assert read_ahead_threads(mp4) == []


def test_close_stops_the_read_ahead_thread(mp4):
    source = open_frames(mp4)
    source.read(0)
    assert len(read_ahead_threads(mp4)) == 1
    assert read_ahead_threads(mp4)[0].daemon
    source.close()
    assert read_ahead_threads(mp4) == []
    with pytest.raises(FrameSourceError, match="closed"):
        source.read(1)
    source.close()  # a second close is harmless


def test_a_source_dropped_without_close_stops_its_thread(mp4):
    source = open_frames(mp4)
    source.read(0)
    assert len(read_ahead_threads(mp4)) == 1
    del source
    gc.collect()
    assert wait_until(lambda: read_ahead_threads(mp4) == [])


# --- image folders and single images ---------------------------------------------------------


def write_image(path: Path, index: int, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    assert cv2.imwrite(str(path), make_frame(index, *size))
    return path


def test_image_folder_uses_natural_sort(tmp_path):
    for index in (10, 2, 1):
        write_image(tmp_path / f"frame_{index}.png", index)
    (tmp_path / "notes.txt").write_text("not an image")
    with open_frames(tmp_path) as source:
        assert isinstance(source, ImageFolderSource)
        assert len(source) == 3 and source.fps is None
        assert [source.frame_name(index) for index in range(3)] == ["frame_1.png", "frame_2.png", "frame_10.png"]
        assert [encoded_index(source.read(index)) for index in range(3)] == [1, 2, 10]


def write_cut_image(path: Path, index: int) -> Path:
    """An image whose header is whole but whose pixels are cut off: it opens, and fails when its frame is read."""
    data = write_image(path, index).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_folder_of_images_of_several_sizes_is_refused_naming_the_first_that_differs(tmp_path, capsys):
    write_image(tmp_path / "a.png", 1, size=(640, 480))
    odd_one = write_image(tmp_path / "b.png", 2, size=(320, 200))
    write_image(tmp_path / "c.png", 3, size=(640, 480))
    (tmp_path / "d.png").write_text("not an image")
    message = (f"{odd_one}: frame 1: is 320x200, but the first image (a.png) is 640x480: "
               "a folder's images must all be one size")
    with pytest.raises(FrameSourceError) as raised:
        open_frames(tmp_path)
    assert str(raised.value) == message
    assert main(["new", str(tmp_path / "project"), "--source", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"roadlabel: error: {message}\n"
    assert not (tmp_path / "project").exists()


def test_a_file_that_is_not_an_image_is_refused_naming_it(tmp_path):
    write_image(tmp_path / "a.png", 1)
    fake = tmp_path / "b.png"
    fake.write_text("a text file named like an image")
    write_image(tmp_path / "c.png", 3)
    with pytest.raises(FrameSourceError) as raised:
        open_frames(tmp_path)
    assert str(raised.value) == f"{fake}: frame 1: not an image: its content is no image format Pillow knows"


def test_images_turned_by_their_exif_orientation_count_at_the_size_they_are_shown(tmp_path):
    write_image(tmp_path / "a.jpg", 1)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored on its side: shown turned a quarter
    Image.fromarray(np.zeros((WIDTH, HEIGHT, 3), np.uint8)).save(tmp_path / "b.jpg", exif=exif)
    with open_frames(tmp_path, read_ahead=0) as source:
        assert len(source) == 2 and source.read(1).shape == (HEIGHT, WIDTH, 3)


def test_corrupt_image_in_a_folder_fails_at_its_frame(tmp_path):
    write_image(tmp_path / "a_1.png", 1)
    corrupt = write_cut_image(tmp_path / "a_2.png", 2)
    with open_frames(tmp_path, read_ahead=0) as source:
        with pytest.raises(FrameSourceError, match="frame 1") as raised:
            source.read(1)
        assert str(corrupt) in str(raised.value)


def test_single_image(tmp_path):
    image = write_image(tmp_path / "still.jpg", 42)
    with open_frames(image) as source:
        assert isinstance(source, SingleImageSource)
        assert len(source) == 1 and source.fps is None and source.size == (WIDTH, HEIGHT)
        assert encoded_index(source.read(0)) == 42
        assert encoded_index(source[-1]) == 42
        assert source.frame_name(0) == "still.jpg"
        with pytest.raises(IndexError):
            source.read(1)


# --- errors at open --------------------------------------------------------------------------


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere.mp4"
    with pytest.raises(FrameSourceError, match="no such file") as raised:
        open_frames(missing)
    assert str(missing) in str(raised.value)


def test_empty_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(FrameSourceError, match="no images") as raised:
        open_frames(tmp_path)
    assert str(tmp_path) in str(raised.value)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.txt", "hello", "unsupported"),
        ("fake.mp4", "this is not a video\n" * 100, "cannot open this file as a video"),
        ("fake.png", "not a png", "cannot decode"),
    ],
)
def test_unreadable_file_is_named_in_the_error(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(FrameSourceError, match=reason) as raised:
        open_frames(path)
    assert str(path) in str(raised.value)


# --- truncated videos ------------------------------------------------------------------------


def truncate_to_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def test_a_truncated_video_has_the_frames_it_holds_and_says_so(videos, tmp_path):
    cut = truncate_to_half(videos["MJPG"], tmp_path / "cut.avi")  # the AVI header still claims every frame
    with pytest.warns(RoadlabelWarning, match=rf"cut.avi: the header claims {FRAME_COUNT} frames, but the file "
                                              r"holds (\d+) \(truncated\?\)") as warned:
        source = open_frames(cut)
    with source:
        held = int(re.search(r"holds (\d+)", str(warned[0].message)).group(1))
        assert FRAME_COUNT // 3 < len(source) == held < FRAME_COUNT
        array = source.as_array()
        assert [encoded_index(array[index]) for index in range(held)] == list(range(held))
        assert source.missing == set()
        with pytest.raises(IndexError):
            source.read(held)


@pytest.mark.skipif(not REAL_CLIP.is_file(), reason=f"the Udacity clip is not here ({REAL_CLIP}; see "
                                                    "shared/data/SOURCES.md)")
def test_new_on_the_first_100_kb_of_a_real_clip_counts_the_frames_it_holds(tmp_path, capsys):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(REAL_CLIP.read_bytes()[:100_000])  # the header (moov) comes first: it claims all 221 frames
    assert main(["new", str(tmp_path / "project"), "--source", str(cut)]) == 0
    output = capsys.readouterr()
    assert output.out.startswith(f"created {tmp_path / 'project'}: 3 frames of 960x540")
    assert output.err == (f"roadlabel: warning: {cut}: the header claims 221 frames, but the file holds 3 "
                          "(truncated?): only those 3 are read\n")
    with pytest.warns(RoadlabelWarning):
        source = open_frames(cut)
    with source, open_frames(REAL_CLIP) as whole:
        assert all(np.array_equal(source.read(index), whole.read(index)) for index in range(3))


def test_truncated_mp4_fails_at_open(videos, tmp_path):
    """An mp4 keeps its index (moov atom) at the end: cut in half, OpenCV cannot open it at all."""
    cut = truncate_to_half(videos["mp4v"], tmp_path / "cut.mp4")
    with pytest.raises(FrameSourceError) as raised:
        open_frames(cut)
    assert str(cut) in str(raised.value)


# --- FrameArray ------------------------------------------------------------------------------


def test_frame_array_shapes(mp4):
    with open_frames(mp4) as source:
        array = source.as_array()
        assert isinstance(array, FrameArray)
        assert array.shape == (FRAME_COUNT, HEIGHT, WIDTH, 3)
        assert array.dtype == np.uint8 and array.ndim == 4 and len(array) == FRAME_COUNT
        assert array[3].shape == (HEIGHT, WIDTH, 3)
        assert encoded_index(array[3]) == 3 and encoded_index(array[-2]) == FRAME_COUNT - 2
        assert array[2:5].shape == (3, HEIGHT, WIDTH, 3)
        assert [encoded_index(frame) for frame in array[10:16:2]] == [10, 12, 14]
        assert array[1, :10, :20].shape == (10, 20, 3)
        assert array[1:3, 5, :, 0].shape == (2, WIDTH)
        assert array[4, ..., 1].shape == (HEIGHT, WIDTH)
        assert array[..., 0].shape == (FRAME_COUNT, HEIGHT, WIDTH)
        assert array[5:5].shape == (0, HEIGHT, WIDTH, 3)
        assert np.array_equal(array[7, 3:9, 4:8], source.read(7)[3:9, 4:8])
        with pytest.raises(IndexError):
            array[FRAME_COUNT]


def test_frame_array_materialises_with_asarray(mp4):
    with open_frames(mp4) as source:
        whole = np.asarray(source.as_array())
        assert whole.shape == (FRAME_COUNT, HEIGHT, WIDTH, 3) and whole.dtype == np.uint8
        assert encoded_index(whole[77]) == 77
        assert np.asarray(source.as_array(), dtype=np.float32).dtype == np.float32


def test_frame_array_substitutes_a_placeholder_for_an_unreadable_frame(tmp_path):
    write_image(tmp_path / "f1.png", 1)
    write_cut_image(tmp_path / "f2.png", 2)
    write_image(tmp_path / "f3.png", 3)
    with open_frames(tmp_path, read_ahead=0) as source:
        array = source.as_array()
        frames = array[0:3]
        assert frames.shape == (3, HEIGHT, WIDTH, 3)
        assert np.array_equal(frames[1], array.placeholder())
        assert encoded_index(frames[0]) == 1 and encoded_index(frames[2]) == 3
        assert source.missing == {1}
        placeholder = array[1]
        red, green, blue = placeholder[0, 0]
        assert red > 150 and green < 80 and blue < 80  # the cross starts in the corner
        assert tuple(placeholder[HEIGHT // 2, 2]) == (48, 48, 48)  # dark grey elsewhere
