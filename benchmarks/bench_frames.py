"""Benchmark frame stepping through a long video: plain OpenCV against ``open_frames``.

Run: ``python benchmarks/bench_frames.py [--frames 10000] [--steps 500] [--size 640x360]``

It writes a synthetic mp4v video into a temporary folder, then measures
(a) plain ``cv2.VideoCapture.read()`` from the middle of the video, (b) our
``source.read(i)`` stepping forward through the same frames in a tight loop
(read-ahead gets no idle time to help), (b2) the same with a pause between
steps, as when napari draws each frame (read-ahead has then filled the cache),
(c) random jumps, (d) memory, and (e) opening: the video (its frame count is verified
by decoding the last frame; a truncated video has its packets counted instead) and a
folder of ``--images`` images (hard links to one image: every header is read, no pixels).
The last printed line is one JSON object with every figure. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from napari_roadlabel.io.frames import DEFAULT_CACHE_BYTES, _count_packets, open_frames  # noqa: E402

RANDOM_JUMPS = 50
IDLE_STEPS = 100
IDLE_MS = 10.0  # roughly one napari redraw between two steps


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000, help="frames in the generated video")
    parser.add_argument("--steps", type=int, default=500, help="frames stepped through from the middle")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the generated video")
    parser.add_argument("--images", type=int, default=20_000, help="images in the folder opened in (e)")
    parser.add_argument(
        "--cache-mb", type=float, default=DEFAULT_CACHE_BYTES / 2**20, help="cache budget of our source"
    )
    args = parser.parse_args()
    args.width, args.height = (int(part) for part in args.size.lower().split("x"))
    args.steps = min(args.steps, args.frames // 2)
    return args


def write_video(path: Path, frames: int, width: int, height: int) -> None:
    """A block sliding over a fixed gradient: cheap to generate, and every frame differs."""
    gradient = np.tile(np.linspace(0, 160, width, dtype=np.uint8), (height, 1))
    background = cv2.cvtColor(gradient, cv2.COLOR_GRAY2BGR)
    block = max(8, height // 6)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (width, height))
    for index in range(frames):
        frame = background.copy()
        x = (index * 5) % (width - block)
        y = (index * 3) % (height - block)
        frame[y : y + block, x : x + block] = (30, 200, 255)
        writer.write(frame)
    writer.release()


def plain_opencv_ms_per_frame(path: Path, start: int, steps: int) -> float:
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    began = time.perf_counter()
    for _ in range(steps):
        capture.read()
    elapsed = time.perf_counter() - began
    capture.release()
    return elapsed * 1000 / steps


def step_forward(
    path: Path, start: int, steps: int, cache_bytes: int, idle_ms: float = 0.0
) -> tuple[list[float], int]:
    """Per-frame ms of ``source.read(i)`` for i in start..start+steps-1, and the largest cache size seen."""
    with open_frames(path, cache_bytes=cache_bytes) as source:
        source.read(start - 1)  # the one seek, untimed as in the plain run
        timings, cache_peak = [], 0
        for index in range(start, start + steps):
            time.sleep(idle_ms / 1000)
            began = time.perf_counter()
            source.read(index)
            timings.append((time.perf_counter() - began) * 1000)
            cache_peak = max(cache_peak, source.cache.nbytes)
    return timings, cache_peak


def random_jumps_ms(path: Path, frames: int, cache_bytes: int) -> list[float]:
    indices = random.Random(0).sample(range(frames), RANDOM_JUMPS)
    timings = []
    with open_frames(path, cache_bytes=cache_bytes) as source:
        for index in indices:
            began = time.perf_counter()
            source.read(index)
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def traced_peak_mb(path: Path, start: int, steps: int, cache_bytes: int) -> float:
    """tracemalloc peak over a second, untimed run of (b) (tracing slows allocations, so it is kept apart)."""
    tracemalloc.start()
    step_forward(path, start, steps, cache_bytes)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def opening_ms(path: Path) -> dict[str, float]:
    """(e) Plain OpenCV opening and reading frame 0, against open_frames (which also verifies the frame count)."""
    began = time.perf_counter()
    capture = cv2.VideoCapture(str(path))
    capture.read()
    plain = time.perf_counter() - began
    capture.release()
    began = time.perf_counter()
    open_frames(path, read_ahead=0).close()
    ours = time.perf_counter() - began
    began = time.perf_counter()
    _count_packets(path)
    counting = time.perf_counter() - began
    return {"plain": plain * 1000, "ours": ours * 1000, "count_packets": counting * 1000}


def folder_opening_seconds(video: Path, images: int) -> dict[str, float]:
    """(e) Opening a folder of ``images`` JPEGs (headers read) against decoding them all (from 200 decodes).

    The images are hard links to the video's first frame: the folder costs no disk space.
    """
    image = video.with_name("image.jpg")
    cv2.imwrite(str(image), cv2.VideoCapture(str(video)).read()[1])
    frames = video.with_name("frames")
    frames.mkdir()
    for index in range(images):
        (frames / f"{index:06d}.jpg").hardlink_to(image)
    began = time.perf_counter()
    open_frames(frames, read_ahead=0).close()
    ours = time.perf_counter() - began
    sample = sorted(frames.iterdir())[:200]
    began = time.perf_counter()
    for file in sample:
        cv2.imdecode(np.fromfile(file, np.uint8), cv2.IMREAD_COLOR)
    decode_all = (time.perf_counter() - began) / len(sample) * images
    return {"ours": ours, "decode_all": decode_all}


def max_rss_mb() -> float:
    kilobytes_or_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes_or_bytes / (2**20 if sys.platform == "darwin" else 2**10)


def main() -> None:
    args = parse_args()
    cache_bytes = int(args.cache_mb * 2**20)
    start = args.frames // 2
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "bench.mp4"
        began = time.perf_counter()
        write_video(video, args.frames, args.width, args.height)
        write_seconds = time.perf_counter() - began

        plain = plain_opencv_ms_per_frame(video, start, args.steps)
        ours, cache_peak = step_forward(video, start, args.steps, cache_bytes)
        ours_idle, _ = step_forward(video, start, min(IDLE_STEPS, args.steps), cache_bytes, IDLE_MS)
        jumps = random_jumps_ms(video, args.frames, cache_bytes)
        peak_traced = traced_peak_mb(video, start, args.steps, cache_bytes)
        opening = opening_ms(video)
        folder_opening = folder_opening_seconds(video, args.images)

    results = {
        "frames": args.frames,
        "steps": args.steps,
        "size": f"{args.width}x{args.height}",
        "write_seconds": round(write_seconds, 2),
        "plain_ms_per_frame": round(plain, 3),
        "ours_ms_per_frame_mean": round(float(np.mean(ours)), 3),
        "ours_ms_per_frame_p50": round(float(np.percentile(ours, 50)), 3),
        "ours_ms_per_frame_p95": round(float(np.percentile(ours, 95)), 3),
        "ours_ms_per_frame_max": round(float(np.max(ours)), 3),
        "ratio_vs_plain": round(float(np.mean(ours)) / plain, 2),
        "idle_ms_between_steps": IDLE_MS,
        "ours_idle_ms_per_frame_p50": round(float(np.percentile(ours_idle, 50)), 3),
        "ours_idle_ms_per_frame_p95": round(float(np.percentile(ours_idle, 95)), 3),
        "random_jump_ms": round(float(np.mean(jumps)), 2),
        "random_jump_ms_p95": round(float(np.percentile(jumps, 95)), 2),
        "cache_budget_mb": round(cache_bytes / 2**20, 1),
        "cache_peak_mb": round(cache_peak / 2**20, 1),
        "cache_within_budget": cache_peak <= cache_bytes,
        "peak_traced_mb": round(peak_traced, 1),
        "max_rss_mb": round(max_rss_mb(), 1),
        "open_plain_ms": round(opening["plain"], 1),
        "open_ours_ms": round(opening["ours"], 1),
        "open_ratio_vs_plain": round(opening["ours"] / opening["plain"], 2),
        "count_packets_ms": round(opening["count_packets"], 1),
        "images": args.images,
        "folder_open_seconds": round(folder_opening["ours"], 2),
        "folder_decode_all_seconds": round(folder_opening["decode_all"], 1),
        "folder_open_ratio_vs_decoding": round(folder_opening["ours"] / folder_opening["decode_all"], 3),
    }
    print_table(results)
    print(json.dumps(results))


def print_table(results: dict) -> None:
    rows = [
        ("video", f"{results['frames']} frames, {results['size']}, mp4v (written in {results['write_seconds']} s)"),
        ("(a) plain cv2 read(), ms/frame", f"{results['plain_ms_per_frame']:.3f}  (BGR, no conversion)"),
        ("(b) ours read(i), ms/frame mean", f"{results['ours_ms_per_frame_mean']:.3f}  (RGB, read-only, cached)"),
        ("    p50 / p95 / max", f"{results['ours_ms_per_frame_p50']:.3f} / {results['ours_ms_per_frame_p95']:.3f}"
         f" / {results['ours_ms_per_frame_max']:.3f}"),
        ("    ratio ours/plain (mean)", f"{results['ratio_vs_plain']:.2f}"),
        (f"(b2) ours with {results['idle_ms_between_steps']:g} ms idle between steps, p50 / p95",
         f"{results['ours_idle_ms_per_frame_p50']:.3f} / {results['ours_idle_ms_per_frame_p95']:.3f}"),
        (f"(c) random jump ({RANDOM_JUMPS}), ms mean / p95",
         f"{results['random_jump_ms']:.2f} / {results['random_jump_ms_p95']:.2f}"),
        ("(d) cache peak / budget, MB", f"{results['cache_peak_mb']} / {results['cache_budget_mb']}"
         f"  ({'within' if results['cache_within_budget'] else 'OVER'} budget)"),
        ("    tracemalloc peak during (b), MB", f"{results['peak_traced_mb']}"),
        ("    process max RSS, MB", f"{results['max_rss_mb']}"),
        ("(e) open + frame 0: plain cv2 / ours, ms", f"{results['open_plain_ms']} / {results['open_ours_ms']}"
         f"  (ratio {results['open_ratio_vs_plain']:.2f}: ours verifies the frame count)"),
        ("    counting the packets (a truncated video), ms", f"{results['count_packets_ms']}"),
        (f"    open a folder of {results['images']} images, s", f"{results['folder_open_seconds']}  (decoding them all:"
         f" {results['folder_decode_all_seconds']} s, ratio {results['folder_open_ratio_vs_decoding']})"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"stepping {results['steps']} frames from the middle of the video")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


if __name__ == "__main__":
    main()
