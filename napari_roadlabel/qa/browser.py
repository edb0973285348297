"""Headless Chromium: the QA report as a picture, and its page as a browser lays it out.

Chromium runs as a plain command (``--screenshot``, ``--dump-dom``) with a
throw-away profile, so runs never share state and never touch the user's.
A page's full height is measured by a first run on a copy of it that records
``scrollHeight`` once loaded; the page should be self-contained (the QA
report is), since the copy sits in a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..core import RoadlabelError
from ..io.atomic import atomic_write

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEBIAN_PACKAGE = "chromium"
TIMEOUT = 120.0  # seconds per Chromium run
MAX_HEIGHT = 16384  # pixels: Chromium draws no taller picture; a longer page is cut there
LOAD_BUDGET = 10_000  # virtual milliseconds Chromium lets the page load before it dumps or measures
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--no-default-browser-check", "--mute-audio")
MEASURE = ("<script>addEventListener('load', () => document.documentElement.setAttribute("
           "'data-page-height', document.documentElement.scrollHeight));</script>")


class BrowserError(RoadlabelError):
    """Headless Chromium is missing, or it failed to render a page."""


def find_chromium() -> Path:
    """The Chromium (or Chrome) on PATH; BrowserError naming the package to install when there is none."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise BrowserError(None, f"headless Chromium is needed and none is on PATH (looked for {', '.join(NAMES)}); "
                             f"install the Debian package {DEBIAN_PACKAGE!r}: sudo apt-get install {DEBIAN_PACKAGE}")


def render_png(html_path: str | Path, png_path: str | Path, *, width: int = 1280, height: int | None = None,
               timeout: float = TIMEOUT) -> Path:
    """Screenshot ``html_path`` ``width`` pixels wide into ``png_path``; the whole page when ``height`` is None."""
    html_path = Path(html_path).resolve()
    height = min(height or page_height(html_path, width=width, timeout=timeout), MAX_HEIGHT)
    with tempfile.TemporaryDirectory(prefix="roadlabel-chromium-") as scratch:
        shot = Path(scratch) / "shot.png"
        _run([f"--window-size={width},{height}", f"--screenshot={shot}", html_path.as_uri()], Path(scratch), timeout)
        if not shot.is_file():
            raise BrowserError(html_path, "Chromium exited without writing the screenshot")
        with atomic_write(png_path, binary=True) as out:
            out.write(shot.read_bytes())
    return Path(png_path)


def dump_dom(html_path: str | Path, *, width: int = 1280, timeout: float = TIMEOUT) -> str:
    """The page's DOM as Chromium has it once loaded, serialized as HTML."""
    with tempfile.TemporaryDirectory(prefix="roadlabel-chromium-") as scratch:
        return _dump(Path(html_path).resolve(), width, Path(scratch), timeout)


def page_height(html_path: str | Path, *, width: int = 1280, timeout: float = TIMEOUT) -> int:
    """The page's full height in pixels when laid out ``width`` pixels wide."""
    html_path = Path(html_path).resolve()
    with tempfile.TemporaryDirectory(prefix="roadlabel-chromium-") as scratch:
        copy = Path(scratch) / "measure.html"
        copy.write_text(html_path.read_text(encoding="utf-8") + MEASURE, encoding="utf-8")
        found = re.search(r'data-page-height="(\d+)"', _dump(copy, width, Path(scratch), timeout))
    if found is None:
        raise BrowserError(html_path, "Chromium did not report the page's height (did the page load?)")
    return int(found.group(1))


def _dump(html_path: Path, width: int, scratch: Path, timeout: float) -> str:
    return _run([f"--window-size={width},800", f"--virtual-time-budget={LOAD_BUDGET}", "--dump-dom",
                 html_path.as_uri()], scratch, timeout)


def _run(arguments: list[str], scratch: Path, timeout: float) -> str:
    """Run Chromium with a profile in ``scratch``; its standard output, or BrowserError with its last words."""
    command = [str(find_chromium()), *FLAGS, f"--user-data-dir={scratch / 'profile'}", *arguments]
    # A session of its own: on a timeout its renderer and helper processes go too, not only the first one.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=scratch, text=True,
                          encoding="utf-8", errors="replace", start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise BrowserError(command[0], f"Chromium did not finish within {timeout:g} s") from None
    if process.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        raise BrowserError(command[0], f"Chromium failed (exit status {process.returncode}):\n{tail}")
    return stdout
