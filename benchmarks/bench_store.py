"""How fast the project store writes object-frames and reads one frame's objects.

Writes 200,000 object-frames (10,000 frames x 20 objects) through the public
Project API in one undoable group, and a sample of single edits each in its own
durable transaction (what an annotator's click costs).  Reads the objects of
random frames.  The baseline, measured in the same run, is bare sqlite3 doing
the same inserts and selects with no undo, no checks and no decoding.  Reading
is timed on a small and a large project to show the cost follows the objects
on the frame, not the length of the sequence.

    python benchmarks/bench_store.py [--frames 10000] [--objects 20]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_roadlabel.core import Project, SequenceInfo, Source, make_geometry

SINGLE_EDITS = 500
READS = 1000


def lane(frame: int, index: int):
    x = 40.0 + index * 30 + frame % 7
    return make_geometry("polyline", [[x, 700], [x + 20, 500], [x + 35, 400], [x + 45, 330]])


def fill_project(project: Project, frames: int, objects: int) -> float:
    """Seconds to write frames x objects states in one group (one transaction, one undo step)."""
    tracks = [project.add_track("lane-line").id for _ in range(objects)]
    start = time.perf_counter()
    with project.group("bulk write"):
        for frame in range(frames):
            for index, track_id in enumerate(tracks):
                project.set_state(track_id, frame, lane(frame, index), source=Source.PROPAGATED, confidence=0.9)
    return time.perf_counter() - start


def single_edit_ms(project: Project, frames: int) -> float:
    """Milliseconds per edit when each edit commits on its own (synchronous=FULL)."""
    track_id = project.tracks()[0].id
    start = time.perf_counter()
    for step in range(SINGLE_EDITS):
        project.set_state(track_id, step % frames, lane(step, 1))
    return (time.perf_counter() - start) * 1000 / SINGLE_EDITS


def read_ms(project: Project, frames: int) -> tuple[float, float, int]:
    """Mean and p95 milliseconds to read one random frame's objects, and how many objects it had."""
    rng = random.Random(0)
    times, count = [], 0
    for _ in range(READS):
        frame = rng.randrange(frames)
        start = time.perf_counter()
        count = len(project.objects_on(frame))
        times.append(time.perf_counter() - start)
    return float(np.mean(times) * 1000), float(np.percentile(times, 95) * 1000), count


def bare_sqlite(folder: Path, frames: int, objects: int) -> tuple[float, float]:
    """Baseline: seconds to insert the same rows with executemany, and ms to select one frame's rows."""
    db = sqlite3.connect(folder / "bare.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE states (track_id INT, frame INT, geometry BLOB, attributes TEXT,"
               " PRIMARY KEY (track_id, frame)) WITHOUT ROWID")
    db.execute("CREATE INDEX by_frame ON states (frame, track_id)")
    rows = [(index, frame, lane(frame, index).to_bytes(), "{}") for frame in range(frames) for index in range(objects)]
    start = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO states VALUES (?, ?, ?, ?)", rows)
    db.execute("COMMIT")
    write_seconds = time.perf_counter() - start
    rng = random.Random(0)
    start = time.perf_counter()
    for _ in range(READS):
        db.execute("SELECT * FROM states WHERE frame=?", (rng.randrange(frames),)).fetchall()
    read_ms_each = (time.perf_counter() - start) * 1000 / READS
    db.close()
    return write_seconds, read_ms_each


def measure(folder: Path, frames: int, objects: int) -> dict:
    sequence = SequenceInfo("clip.mp4", frames, 1280, 720, 30.0)
    with Project.create(folder, sequence) as project:
        write_seconds = fill_project(project, frames, objects)
        mean, p95, count = read_ms(project, frames)
        edit_ms = single_edit_ms(project, frames)
    return {"write_seconds": write_seconds, "read_ms": mean, "read_ms_p95": p95, "objects_per_frame": count,
            "single_edit_ms": edit_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--objects", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big = measure(folder / "large", args.frames, args.objects)
        small = measure(folder / "small", 200, args.objects)
        bare_write, bare_read = bare_sqlite(folder, args.frames, args.objects)
    total = args.frames * args.objects
    per_state_us = big["write_seconds"] / total * 1e6
    rows = [
        ("object-frames written", f"{total:,}", ""),
        ("bulk write, s (one group)", f"{big['write_seconds']:.2f}", f"bare sqlite {bare_write:.2f} s, "
                                                                    f"x{big['write_seconds'] / bare_write:.1f}"),
        ("bulk write, us per object-frame", f"{per_state_us:.1f}", ""),
        ("single edit (own transaction), ms", f"{big['single_edit_ms']:.2f}", "synchronous=FULL, fsync per edit"),
        (f"read one frame ({big['objects_per_frame']} objects), ms", f"{big['read_ms']:.3f}",
         f"p95 {big['read_ms_p95']:.3f}; bare sqlite {bare_read:.3f}, x{big['read_ms'] / bare_read:.1f}"),
        ("read one frame at 200 frames, ms", f"{small['read_ms']:.3f}",
         f"ratio {args.frames} / 200 frames: {big['read_ms'] / small['read_ms']:.2f}"),
    ]
    print(f"{'measure':<42} {'value':>10}   note")
    for name, value, note in rows:
        print(f"{name:<42} {value:>10}   {note}")
    print(json.dumps({
        "object_frames": total, "bulk_write_s": round(big["write_seconds"], 3),
        "bulk_write_us_per_object_frame": round(per_state_us, 2), "bare_sqlite_write_s": round(bare_write, 3),
        "write_ratio_vs_bare": round(big["write_seconds"] / bare_write, 2),
        "single_edit_ms": round(big["single_edit_ms"], 3), "read_frame_ms": round(big["read_ms"], 4),
        "read_frame_ms_p95": round(big["read_ms_p95"], 4), "bare_sqlite_read_ms": round(bare_read, 4),
        "read_ratio_vs_bare": round(big["read_ms"] / bare_read, 2),
        "read_frame_ms_200_frames": round(small["read_ms"], 4),
        "read_ratio_large_vs_small": round(big["read_ms"] / small["read_ms"], 2),
    }))


if __name__ == "__main__":
    main()
