"""The dataset status as one self-contained HTML page, in the style of the QA report.

The page (``status.html``) is rendered with the QA report's environment and
style sheet (qa/report.py ``page_environment``): inline CSS, the progress plot
as an inline SVG data: URI, and a few lines of inline script that sort a table
by the column whose header is clicked (numbers as numbers; a cell's
``data-sort`` is its key).  Nothing is fetched from the network: the file opens
as it is, from a mail or a ticket.  It is written whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from matplotlib.figure import Figure

from ..io.atomic import atomic_write
from ..qa.report import FIGURE_WIDTH, INK, REVIEW_COLORS, page_environment, svg_uri
from .figures import COPY_STEPS, IDLE_GAP, SESSION_START
from .status import STAGES, UNREADABLE, DatasetStatus

TEMPLATE = "status.html"
STAGE_COLORS = {"new": "#9ca3af", "labeling": "#3b82f6", "in review": "#f59e0b", "rejected": "#e8453c",
                "signed off": "#34a853", UNREADABLE: "#374151"}


def status_html(status: DatasetStatus, roots: Iterable[str | Path] = ()) -> str:
    return page_environment(Path(__file__).parent).get_template(TEMPLATE).render(
        status=status.to_dict(), roots=[str(root) for root in roots], figure=_progress_figure(status.summary),
        stage_colors=STAGE_COLORS, stages=[*STAGES, UNREADABLE],
        rules={"idle_minutes": IDLE_GAP / 60, "session_minutes": SESSION_START / 60, "copy_steps": COPY_STEPS})


def write_status_html(status: DatasetStatus, path: str | Path, roots: Iterable[str | Path] = ()) -> None:
    """Write (or replace) the page at ``path``: whole, or not at all."""
    html = status_html(status, roots)
    with atomic_write(path) as handle:
        handle.write(html)


def _progress_figure(summary: dict) -> str:
    """Two stacked bars: the sequences by stage, the frames by review verdict."""
    frames = summary["frames"]
    unreviewed = frames - summary["frames_accepted"] - summary["frames_rejected"]
    rows = [("sequences", [(stage, summary["by_stage"][stage], STAGE_COLORS[stage])
                           for stage in (*STAGES, UNREADABLE)]),
            ("frames", [("accepted", summary["frames_accepted"], REVIEW_COLORS["accepted"]),
                        ("rejected", summary["frames_rejected"], REVIEW_COLORS["rejected"]),
                        ("unreviewed", unreviewed, REVIEW_COLORS["unreviewed"])])]
    figure = Figure(figsize=(FIGURE_WIDTH, 1.9))
    for index, (name, parts) in enumerate(rows):
        axes = figure.add_axes((0.09, 0.58 - 0.46 * index, 0.89, 0.3))
        total = sum(count for _, count, _ in parts) or 1
        start = 0.0
        for label, count, color in parts:
            if count:
                axes.barh(0, count / total, left=start, color=color, height=0.8)
                axes.text(start + count / total / 2, 0, f"{label} {count:,}", ha="center", va="center",
                          fontsize=8, color="white" if label != "new" else INK)
            start += count / total
        axes.set_xlim(0, 1)
        axes.set_axis_off()
        figure.text(0.085, 0.58 - 0.46 * index + 0.15, name, ha="right", va="center", fontsize=9, color=INK)
    return svg_uri(figure)
