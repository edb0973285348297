"""The QA report of one sequence: what was labeled, what the checks found, how far the review got.

``build_report`` gathers it all into a JSON-able dict (``QAReport.data``) and
draws the timelines; ``QAReport.to_html`` renders one self-contained page
(inline CSS, images as data: URIs, no script, no network access) that opens
as it is in a browser, a mail or a ticket.  Comments and messages are user
text: the template escapes everything it is given.

The page stays small on long sequences: timelines are drawn from runs of
frames, their dense marks rasterized, and tables and thumbnails are capped
(the JSON keeps everything).
"""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import cv2
import jinja2
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..core import FrameSourceError, Project, RoadlabelError, Scope, Source
from ..core.palette import LIGHT_COLORS
from ..core.review import Comment
from ..core.timeline import frame_runs
from ..io.atomic import AtomicOutputs, open_staged
from ..io.projects import open_project_frames
from .findings import SEVERITY_ORDER, Finding, Severity
from .review import now, review_progress, review_runs

TEMPLATE = "report.html"
MAX_TIMELINE_ROWS = 120  # tracks drawn one per row; the JSON lists them all
MAX_ROWS_PER_CHECK = 200  # findings listed per check on the page; the JSON lists them all
THUMBNAIL_SIZE = (192, 108)  # largest width, height of a finding's picture
CONTEXT = 40  # pixels shown around a finding's region at least
LIGHT_STATE = "state"  # a class with this per-frame attribute is drawn in the traffic-light timeline
FLASHING = "flashing"
REVIEW_COLORS = {"unreviewed": "#6b7280", "accepted": "#34a853", "rejected": "#e8453c"}  # drawn last on top
SEVERITY_COLORS = {"error": "#e8453c", "warning": "#f59e0b", "info": "#3b82f6"}
AGREEMENT_SERIES = {"lanes_tusimple_accuracy": "lanes: TuSimple accuracy", "lanes_culane_f1": "lanes: CULane F1",
                    "boxes_f1": "boxes F1", "polygons_f1": "polygons F1", "attributes_rate": "attributes",
                    "light_states_rate": "light states"}
PANEL = "#1f242c"  # timelines are dark, like the video: the class colours are chosen to show on it
INK = "#374151"
FIGURE_WIDTH = 11.2  # inches: about the page's content width at 100 % zoom
ROW_INCHES = 0.17


@dataclass(frozen=True)
class QAReport:
    data: dict  # JSON-able: sequence, generated, counts, review, findings, comments, timelines, agreement
    figures: dict[str, str] = field(default_factory=dict)  # timeline name -> data: URI of its SVG
    thumbnails: dict[int, str] = field(default_factory=dict)  # index in data["findings"]["items"] -> data: URI
    thumbnails_left_out: int = 0  # findings on a frame left without a picture by the cap
    class_colors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1) + "\n"

    def to_html(self) -> str:
        return page_environment().get_template(TEMPLATE).render(
            data=self.data, figures=self.figures, thumbnails=self.thumbnails, left_out=self.thumbnails_left_out,
            colors=self.class_colors, groups=finding_groups(self.data["findings"]["items"]),
            sources=[source.value for source in Source], max_timeline_rows=MAX_TIMELINE_ROWS)


def build_report(project: Project, findings: Iterable[Finding], *, agreement: dict | None = None,
                 frame_reader: Callable[[int], np.ndarray] | None = None, max_thumbnails: int = 60) -> QAReport:
    """The report of ``project`` with the checks' ``findings`` and, optionally, an agreement (``Agreement.to_dict()``).

    ``frame_reader(frame)`` gives an RGB uint8 frame for the findings' pictures; without it there are none.
    """
    colors = {name: spec.color for name, spec in project.taxonomy.classes.items()}
    data = {"sequence": _sequence(project), "generated": now(), "counts": _counts(project),
            "review": review_progress(project).to_dict(), "findings": _findings(findings),
            "comments": [_comment(comment) for comment in project.store.comments()],
            "timelines": _timelines(project), "agreement": agreement}
    thumbnails, left_out = ({}, 0) if frame_reader is None else _thumbnails(data["findings"]["items"], frame_reader,
                                                                            max_thumbnails)
    return QAReport(data, _figures(data, colors), thumbnails, left_out, colors)


def report_with_frames(project: Project, findings: Iterable[Finding], *, agreement: dict | None = None) -> QAReport:
    """``build_report`` with the findings' pictures read from the project's own video or images.  When those
    cannot be opened the report is still made, without pictures, and ``data["sequence"]["no_pictures"]`` says
    why."""
    try:
        frames = open_project_frames(project)
    except RoadlabelError as error:
        report = build_report(project, findings, agreement=agreement)
        report.data["sequence"]["no_pictures"] = str(error)
        return report
    with frames:
        return build_report(project, findings, agreement=agreement, frame_reader=frames.read)


def write_report(report: QAReport, html: Path | None, json_path: Path | None, *, overwrite: bool = False) -> None:
    """Write the HTML and/or the JSON; an existing file is an error unless ``overwrite``, and then none is written."""
    targets = [(path, render) for path, render in ((html, report.to_html), (json_path, report.to_json)) if path]
    with AtomicOutputs(overwrite=overwrite) as outputs:  # every target checked before any is written; all appear
        staged = [(outputs.file(path), render) for path, render in targets]
        for staging, render in staged:
            with open_staged(staging) as handle:
                handle.write(render())


# ------------------------------------------------------------------ the data


def _sequence(project: Project) -> dict:
    sequence = project.sequence
    return {"name": project.folder.name, "source": sequence.source, "frames": sequence.frame_count,
            "width": sequence.width, "height": sequence.height, "fps": sequence.fps}


def _class_order(project: Project) -> Callable[[str], tuple[int, str]]:
    """Sort key: classes in the taxonomy's order, unknown ones after them."""
    order = {name: index for index, name in enumerate(project.taxonomy.classes)}
    return lambda name: (order.get(name, len(order)), name)


def _counts(project: Project) -> dict[str, dict]:
    summary = project.summary()
    tags = Counter(tag.class_name for tag in project.tags())
    names = sorted({*summary["tracks"], *summary["states"], *tags}, key=_class_order(project))
    return {name: {"tracks": summary["tracks"].get(name, 0), "states": summary["states"].get(name, {}),
                   "tags": tags[name]} for name in names}


def _findings(findings: Iterable[Finding]) -> dict:
    findings = sorted(findings, key=Finding.sort_key)
    return {"blocking": sum(finding.blocking for finding in findings),
            "by_severity": {severity.value: sum(f.severity is severity for f in findings) for severity in Severity},
            "by_check": dict(sorted(Counter(finding.check for finding in findings).items())),
            "items": [finding.to_dict() for finding in findings]}


def _comment(comment: Comment) -> dict:
    return {"id": comment.id, "text": comment.text, "author": comment.author, "time": comment.time,
            "frame": comment.frame, "track_id": comment.track_id,
            "point": None if comment.point is None else list(comment.point),
            "resolved": comment.resolved, "resolved_by": comment.resolved_by, "resolved_time": comment.resolved_time}


def _timelines(project: Project) -> dict:
    tracks, lights = [], []
    order = _class_order(project)
    for track in sorted(project.tracks(), key=lambda track: (order(track.class_name), track.id)):
        states = project.states_of(track.id)
        tracks.append({"id": track.id, "class": track.class_name,
                       "frames": [run[:2] for run in frame_runs((state.frame, None) for state in states)],
                       "keyframes": [state.frame for state in states if state.is_keyframe]})
        if _is_light(project, track.class_name):
            values = ((state.frame, (state.attributes.get(LIGHT_STATE), bool(state.attributes.get(FLASHING))))
                      for state in states)
            lights.append({"id": track.id, "runs": [[start, end, *value] for start, end, value in frame_runs(values)]})
    tags = [{"id": tag.id, "class": tag.class_name, "start": tag.start, "end": tag.end}
            for tag in sorted(project.tags(), key=lambda tag: (order(tag.class_name), tag.start))]
    return {"tracks": tracks, "tags": tags, "lights": lights, "review": _review_runs(project)}


def _is_light(project: Project, class_name: str) -> bool:
    return class_name in project.taxonomy and LIGHT_STATE in project.taxonomy[class_name].attributes_of(Scope.FRAME)


def _review_runs(project: Project) -> list[list]:
    """[start, end, status] over every frame: the frames' own marks, unreviewed where there is none."""
    return [[start, end, status.value] for start, end, status in review_runs(project)]


# ------------------------------------------------------------------ findings on the page


@dataclass(frozen=True)
class FindingGroup:
    check: str
    rows: list[tuple[int, dict]]  # (index in the items, item) shown on the page, worst and earliest first
    hidden: int  # findings of this check listed in the JSON only
    counts: dict[str, int]  # severity -> findings


def _rank(item: dict) -> tuple[int, int]:
    frame = -1 if item["frame"] is None else item["frame"]
    return SEVERITY_ORDER[Severity(item["severity"])], frame


def finding_groups(items: list[dict]) -> list[FindingGroup]:
    """The findings by check, the check with the worst finding first; each capped at MAX_ROWS_PER_CHECK rows."""
    by_check: dict[str, list[tuple[int, dict]]] = {}
    for index, item in enumerate(items):
        by_check.setdefault(item["check"], []).append((index, item))
    groups = []
    for check, rows in by_check.items():
        rows.sort(key=lambda row: _rank(row[1]))
        counts = Counter(item["severity"] for _, item in rows)
        groups.append(FindingGroup(check, rows[:MAX_ROWS_PER_CHECK], max(0, len(rows) - MAX_ROWS_PER_CHECK),
                                   {severity.value: counts[severity.value] for severity in Severity}))
    return sorted(groups, key=lambda group: (_rank(group.rows[0][1])[0], group.check))


def _thumbnails(items: list[dict], frame_reader: Callable[[int], np.ndarray], limit: int) -> tuple[dict, int]:
    """Pictures for the shown findings on a frame, the worst first, at most ``limit``; and how many the cap left
    out (an unreadable frame costs its picture too, silently)."""
    wanted = sorted((index for group in finding_groups(items) for index, item in group.rows
                     if item["frame"] is not None), key=lambda index: _rank(items[index]))
    made: dict[int, str] = {}
    cache: dict[tuple, str | None] = {}  # several findings often point at one place
    for index in wanted[:max(0, limit)]:
        frame, region = items[index]["frame"], items[index]["region"]
        key = (frame, None if region is None else tuple(region))
        if key not in cache:
            cache[key] = _picture(frame_reader, frame, region)
        if cache[key] is not None:
            made[index] = cache[key]
    return made, max(0, len(wanted) - limit)


def _picture(frame_reader: Callable[[int], np.ndarray], frame: int, region: list | None) -> str | None:
    try:
        image = np.asarray(frame_reader(frame))
    except FrameSourceError:  # an unreadable frame costs its picture, not the report
        return None
    return thumbnail(image, region)


def thumbnail(image: np.ndarray, region: list | tuple | None) -> str:
    """A JPEG data: URI of the area around ``region`` (x0, y0, x1, y1), outlined; of the whole frame when None."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = (0, 0, width, height) if region is None else _around(region, width, height)
    crop = image[y0:y1, x0:x1]
    scale = min(THUMBNAIL_SIZE[0] / crop.shape[1], THUMBNAIL_SIZE[1] / crop.shape[0])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR if small.ndim == 2 else cv2.COLOR_RGB2BGR)
    if region is not None:
        corners = [(round((region[i] - x0) * scale), round((region[i + 1] - y0) * scale)) for i in (0, 2)]
        cv2.rectangle(small, corners[0], corners[1], (40, 40, 255), 2, cv2.LINE_AA)
    _, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")


def _around(region: list | tuple, width: int, height: int) -> tuple[int, int, int, int]:
    """The region with as much again around it (at least CONTEXT pixels), inside the image."""
    x0, y0, x1, y1 = region
    margin = max(CONTEXT, x1 - x0, y1 - y0)
    left, top = max(0, int(x0 - margin)), max(0, int(y0 - margin))
    right, bottom = min(width, int(np.ceil(x1 + margin))), min(height, int(np.ceil(y1 + margin)))
    return left, top, max(right, left + 1), max(bottom, top + 1)


# ------------------------------------------------------------------ timelines


def _figures(data: dict, colors: dict[str, str]) -> dict[str, str]:
    timelines, frames = data["timelines"], data["sequence"]["frames"]
    figures = {"presence": _presence_figure(timelines, data["findings"]["items"], colors, frames),
               "review": _review_figure(timelines["review"], frames)}
    if timelines["lights"]:
        figures["lights"] = _lights_figure(timelines["lights"], frames)
    if data["agreement"] and data["agreement"].get("per_frame"):
        figures["agreement"] = _agreement_figure(data["agreement"]["per_frame"], frames)
    return figures


def _timeline_axes(labels: list[str], frames: int, *, extra_inches: float = 0.0):
    """A figure with one dark row per label (first at the top) over frames 0..frames-1."""
    figure = Figure(figsize=(FIGURE_WIDTH, 0.55 + extra_inches + ROW_INCHES * max(len(labels), 1)))
    axes = figure.add_axes((0.13, (0.4 + extra_inches) / figure.get_figheight(), 0.85,
                            ROW_INCHES * max(len(labels), 1) / figure.get_figheight()))
    axes.set_facecolor(PANEL)
    axes.set_xlim(0, frames)
    axes.set_ylim(max(len(labels), 1) - 0.5, -0.5)
    axes.set_yticks(range(len(labels)), labels, fontsize=8, color=INK)
    axes.tick_params(axis="y", length=0)
    axes.tick_params(axis="x", labelsize=8, colors=INK)
    axes.set_xlabel("frame", fontsize=8, color=INK, labelpad=1)
    axes.set_rasterization_zorder(2.6)  # the data (zorder <= 2.5) as one picture: size does not grow with frames
    for spine in axes.spines.values():
        spine.set_visible(False)
    return figure, axes


def _bars(axes, row: int, runs: Iterable[list], color: str, **style) -> None:
    """Runs [start, end, ...] (inclusive frames) as bars on ``row``; an edge keeps one frame of 20,000 visible."""
    spans = [(run[0], run[1] - run[0] + 1) for run in runs]
    if spans:
        axes.broken_barh(spans, (row - 0.36, 0.72), facecolors=color, **{"edgecolor": color, "linewidth": 0.6,
                                                                            **style})


def _presence_figure(timelines: dict, findings: list[dict], colors: dict[str, str], frames: int) -> str:
    tracks, tags = timelines["tracks"][:MAX_TIMELINE_ROWS], timelines["tags"]
    labels = [f"{track['class']} {track['id']}" for track in tracks] + [f"{tag['class']} {tag['id']}" for tag in tags]
    figure, axes = _timeline_axes(labels, frames)
    rows = {track["id"]: row for row, track in enumerate(tracks)}
    for row, track in enumerate(tracks):
        _bars(axes, row, track["frames"], colors.get(track["class"], "#c0c0c0"))
        axes.scatter(track["keyframes"], [row] * len(track["keyframes"]), marker="|", s=22, color="#111111",
                     linewidths=0.8, zorder=2)
    for row, tag in enumerate(tags, start=len(tracks)):
        _bars(axes, row, [[tag["start"], tag["end"]]], colors.get(tag["class"], "#c0c0c0"), alpha=0.75)
    _mark_findings(axes, findings, rows, len(labels))
    _separate_classes(axes, [track["class"] for track in tracks] + [tag["class"] for tag in tags])
    return svg_uri(figure)


def _mark_findings(axes, findings: list[dict], rows: dict[int, int], row_count: int) -> None:
    """Each finding on its tracks' rows, or a line over every row when it names no drawn track."""
    for severity, color in SEVERITY_COLORS.items():
        chosen = [item for item in findings if item["severity"] == severity and item["frame"] is not None]
        points = [(item["frame"], rows[track]) for item in chosen for track in item["track_ids"] if track in rows]
        loose = sorted({item["frame"] for item in chosen if not any(track in rows for track in item["track_ids"])})
        if points:
            axes.scatter(*np.transpose(points), marker="D", s=20, color=color, edgecolors="#111111", linewidths=0.7,
                         zorder=2.5)
        if loose:
            axes.vlines(loose, -0.5, row_count - 0.5, colors=color, linewidths=0.8, alpha=0.6, zorder=2.5)


def _separate_classes(axes, classes: list[str]) -> None:
    for row in range(1, len(classes)):
        if classes[row] != classes[row - 1]:
            axes.axhline(row - 0.5, color="#8b95a3", linewidth=0.8, zorder=2.5)


def _lights_figure(lights: list[dict], frames: int) -> str:
    figure, axes = _timeline_axes([f"traffic light {light['id']}" for light in lights], frames, extra_inches=0.25)
    seen: dict[str, str] = {}
    for row, light in enumerate(lights):
        for (state, flashing), runs in _group_runs(light["runs"]).items():
            color = LIGHT_COLORS.get(state, LIGHT_COLORS["unknown"])
            _bars(axes, row, runs, color, hatch="////" if flashing else None, edgecolor=PANEL, linewidth=0)
            seen[str(state)] = color
    handles = [Patch(facecolor=color, label=state) for state, color in seen.items()]
    handles.append(Patch(facecolor="#d0d4da", hatch="////", edgecolor=PANEL, label="flashing"))
    _legend(figure, handles)
    return svg_uri(figure)


def _group_runs(runs: list[list]) -> dict[tuple, list[list]]:
    """Light runs [start, end, state, flashing] by (state, flashing): one bar collection each."""
    grouped: dict[tuple, list[list]] = {}
    for run in runs:
        grouped.setdefault((run[2], run[3]), []).append(run)
    return grouped


def _review_figure(runs: list[list], frames: int) -> str:
    figure, axes = _timeline_axes(["frame review"], frames, extra_inches=0.25)
    handles = []
    for status, color in REVIEW_COLORS.items():
        chosen = [run for run in runs if run[2] == status]
        _bars(axes, 0, chosen, color)
        count = sum(run[1] - run[0] + 1 for run in chosen)
        handles.append(Patch(facecolor=color, label=f"{status} ({count})"))
    _legend(figure, handles)
    return svg_uri(figure)


def _agreement_figure(per_frame: list[dict], frames: int) -> str:
    figure = Figure(figsize=(FIGURE_WIDTH, 2.4))
    axes = figure.add_axes((0.13, 0.28, 0.85, 0.66))
    x = [row["frame"] for row in per_frame]
    marker = "." if len(per_frame) <= 300 else None  # dots show single frames until they would merge into a band
    for key, label in AGREEMENT_SERIES.items():
        y = [np.nan if row.get(key) is None else row[key] for row in per_frame]
        if not all(np.isnan(y)):
            axes.plot(x, y, marker=marker, markersize=3, linewidth=1, label=label, zorder=2)
    axes.set_xlim(0, frames)
    axes.set_ylim(-0.03, 1.03)
    axes.set_rasterization_zorder(2.6)
    axes.grid(color="#e5e7eb", linewidth=0.6)
    axes.tick_params(labelsize=8, colors=INK)
    axes.set_xlabel("frame", fontsize=8, color=INK, labelpad=1)
    axes.set_ylabel("agreement", fontsize=8, color=INK)
    _legend(figure, axes.get_legend_handles_labels()[0])
    return svg_uri(figure)


def _legend(figure: Figure, handles: list) -> None:
    figure.legend(handles=handles, loc="lower right", bbox_to_anchor=(0.98, 0.0), ncols=len(handles) or 1,
                  fontsize=8, frameon=False, handlelength=1.4, columnspacing=1.2)


def svg_uri(figure: Figure) -> str:
    """The figure as a data: URI of its SVG, to embed in a self-contained page."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", dpi=144, metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ------------------------------------------------------------------ the page


def page_environment(*folders: Path) -> jinja2.Environment:
    """The templates of ``folders``, then this package's (the report, its style sheet ``report_style.css``), with
    the report's filters: how every page of the package is rendered."""
    # Chainable: a part missing from an agreement dict shows as "—" instead of failing the whole report.
    loader = jinja2.FileSystemLoader([*folders, Path(__file__).parent])
    environment = jinja2.Environment(loader=loader, autoescape=True,
                                     undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(percent=_percent, number=_number, when=_when, anchor=_anchor,
                               file_name=lambda path: PurePath(path).name)
    return environment


def _percent(value: Any) -> str:
    return f"{100 * value:.1f} %" if _is_number(value) else "—"


def _number(value: Any, digits: int = 3) -> str:
    if not _is_number(value):
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _when(time: str) -> str:
    """'2024-05-01T12:30:00+00:00' -> '2024-05-01 12:30 UTC'."""
    return time[:16].replace("T", " ") + (" UTC" if time.endswith(("+00:00", "Z")) else "")


def _anchor(comment: dict) -> str:
    parts = [] if comment["frame"] is None else [f"frame {comment['frame']}"]
    if comment["track_id"] is not None:
        parts.append(f"track {comment['track_id']}")
    if comment["point"] is not None:
        parts.append("at ({:.0f}, {:.0f})".format(*comment["point"]))
    return ", ".join(parts)
