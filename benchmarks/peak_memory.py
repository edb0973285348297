"""One piece of work on a project, run in a child process for its seconds and peak memory.

    python benchmarks/peak_memory.py PROJECT WORK [OUT]

WORK is ``read`` (every state once through ``project.store.iter_objects()``:
the baseline), ``checks`` (``run_checks``, which every ``roadlabel export``
runs first) or an export format (written to OUT).  Prints one JSON line:
the work's seconds (opening the project not included) and the process's peak
resident memory in MB (Python, numpy and the open project included, as a
user's command has them).  The bench scripts call ``measure`` with a ceiling
on the child's address space, so that a runaway never takes the machine down.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

CEILING_BYTES = 4 << 30  # a child that needs more fails with a MemoryError instead of growing


def measure(project: Path, work: str, out: Path | None = None) -> dict | None:
    """{"seconds", "peak_rss_mb"} of ``work`` run in a child process; None when it failed (over the ceiling)."""
    command = [sys.executable, __file__, str(project), work, *([str(out)] if out else [])]
    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=_ceiling)
    if done.returncode:
        return None
    return json.loads(done.stdout.splitlines()[-1])


def _ceiling() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CEILING_BYTES, CEILING_BYTES))


def main(project: str, work: str, out: str | None = None) -> None:
    from napari_roadlabel.core import Project
    from napari_roadlabel.io.formats.registry import export_any
    from napari_roadlabel.qa.checks import run_checks

    with Project.open(project) as opened:
        began = time.perf_counter()
        if work == "read":
            sum(1 for _ in opened.store.iter_objects())
        elif work == "checks":
            run_checks(opened)
        else:
            export_any(work, opened, out)
        seconds = time.perf_counter() - began
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": round(_peak_kb() / 1024, 1)}))


def _peak_kb() -> int:
    """This process's peak resident memory: VmHWM, not getrusage's ru_maxrss, which a child started by fork
    and exec inherits from its parent (the bench script, with its projects)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


if __name__ == "__main__":
    main(*sys.argv[1:])
