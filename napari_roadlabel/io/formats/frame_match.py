"""Which frame of a project a dataset's entry is for, by the image path the entry gives.

A dataset's label file covers many sequences (a TuSimple file thousands of
clips, a CULane list many videos), and a project holds one.  An entry names its
image, e.g. ``clips/0313-1/6040/20.jpg``; the project's frames are files of
one folder (a video's frames are ``<video stem>/<frame:06d>.jpg``).  The rule:

* the entry's file name must be a frame's file name, and its folder, when it
  gives one, must be the project's folder: ``clips/0313-1/6040/20.jpg`` is for
  frame ``20.jpg`` of a project over a folder ``6040``.  The folders above it
  are not required to agree (a project is often made over a copy of the frames
  somewhere else), but they decide between two entries for one frame: the
  one agreeing with more of the project's path wins (``0313-1/6040`` over
  ``0313-2/6040`` for a project over ``.../clips/0313-1/6040``);
* an entry whose folder is not the project's is for another sequence: counted,
  not imported;
* an entry whose folder is the project's but whose file is not one of its
  frames names a frame the project does not have: counted, and refused with
  ``--strict``;
* a bare file name (no folder) matches the frame of that name;
* two entries for one frame are refused, naming both, unless one agrees with
  more of the project's path than the other (the other is then for another
  sequence);
* when no entry is for the project, the import fails and says how entries are
  matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ...core import FormatError, Project
from ..frames import VIDEO_EXTENSIONS, image_files
from .import_report import ImportReport

OTHER, MISSING = "other sequence", "missing frame"


@dataclass
class Entry:
    """One frame's labels as a dataset's file gives them, before they meet a project."""

    name: str  # the image path the file gives, e.g. "clips/0313-1/6040/20.jpg"
    file: Path  # the file the entry is in
    place: str  # where in the file, e.g. "line 12"
    labels: Any  # what the format read of this frame's labels
    sequence: str | None = None  # a sequence name the file gives beside the path (BDD100K's videoName)
    frame_index: int | None = None  # a frame number the file gives beside the path (BDD100K's frameIndex)

    @property
    def parts(self) -> tuple[str, ...]:
        return entry_parts(self.name)


def frame_files(project: Project) -> list[str]:
    """Each frame's file name as the lane formats list it: ``<folder>/<image>`` for an image folder, and
    ``<video stem>/<frame:06d>.jpg`` for a video (the frames one would extract from it)."""
    source, folder = project.source_path(), sequence_name(project)
    if source.is_dir():
        return [str(PurePosixPath(folder, file.name)) for file in image_files(source)]
    return [str(PurePosixPath(folder, f"{index:06d}.jpg")) for index in range(project.sequence.frame_count)]


def entry_parts(name: str) -> tuple[str, ...]:
    """The path's names, with Windows separators, leading slashes and ``.`` taken out."""
    return PurePosixPath(name.replace("\\", "/").lstrip("/")).parts


def sequence_name(project: Project) -> str:
    """The project's sequence as datasets name it: the video's stem, or the image folder's name."""
    source = project.source_path()
    return source.stem if not source.is_dir() and source.suffix.lower() in VIDEO_EXTENSIONS else source.name


class FrameMatcher:
    """Matches entries' image paths to one project's frames (the rule in the module's docstring)."""

    def __init__(self, project: Project):
        names = frame_files(project)
        self.frames = {PurePosixPath(name).name: index for index, name in enumerate(names)}
        self.sequence = sequence_name(project)
        self.frame_count = project.sequence.frame_count
        # The folder names frame_files' names stand in: the source's own for an image folder, and for a video the
        # folder it is in plus its stem.
        self.folders = (*project.source_path().resolve().parent.parts, self.sequence)
        self.example = names[0] if names else ""

    def match(self, entry: Entry) -> tuple[str | int, int]:
        """(the frame, or OTHER or MISSING; how many folder names agree, the strength of a match)."""
        if entry.sequence is not None and entry.sequence != self.sequence:
            return OTHER, 0
        *folders, file = entry.parts or ("",)
        agreeing = _agreeing(folders, self.folders)
        if agreeing is None:
            return OTHER, 0
        frame = self.frames.get(file)
        if frame is None and entry.frame_index is not None and 0 <= entry.frame_index < self.frame_count:
            frame = entry.frame_index  # named as the sequence's frame number (BDD100K's frameIndex)
        return (MISSING, 0) if frame is None else (frame, agreeing)


def _agreeing(folders: list[str], project_folders: tuple[str, ...]) -> int | None:
    """How many of the entry's last folder names are the project's, up to the first that is not; None when the
    last one (the sequence's own folder) is not."""
    count = 0
    for mine, theirs in zip(reversed(folders), reversed(project_folders), strict=False):
        if mine != theirs:
            break
        count += 1
    return None if folders and count == 0 else count


def match_entries(project: Project, entries: list[Entry], report: ImportReport) -> list[tuple[int, Entry]]:
    """(frame, entry) for the entries that are for this project, in frame order; the others counted in
    ``report``.  FormatError for two entries for one frame, for entries of missing frames with ``strict``, and
    when there were entries but none is for this project."""
    matcher = FrameMatcher(project)
    best: dict[int, tuple[int, Entry]] = {}
    for entry in entries:
        frame, strength = matcher.match(entry)
        if frame == OTHER:
            report.other_sequences.append(entry.name)
        elif frame == MISSING:
            _missing(entry, matcher, report)
        else:
            best[frame] = _stronger(frame, (strength, entry), best.get(frame), report)
    if entries and not best:
        raise FormatError(entries[0].file, _none_matched(entries, matcher, report))
    report.entries = len(best)
    return [(frame, entry) for frame, (_, entry) in sorted(best.items())]


def _missing(entry: Entry, matcher: FrameMatcher, report: ImportReport) -> None:
    if report.strict:
        raise FormatError(entry.file, f"{entry.name!r} is in this project's folder but is not one of its "
                                      f"{matcher.frame_count} frames (refused with --strict)", place=entry.place)
    report.missing_frames.append(entry.name)


def _stronger(frame: int, candidate: tuple[int, Entry], current: tuple[int, Entry] | None,
              report: ImportReport) -> tuple[int, Entry]:
    if current is None:
        return candidate
    if candidate[0] == current[0]:
        first, second = current[1], candidate[1]
        raise FormatError(second.file, f"{_shown(first)} and {_shown(second)} are both for frame {frame}: which one "
                                       "is meant is ambiguous", place=second.place)
    weaker, stronger = sorted([candidate, current], key=lambda pair: pair[0])
    report.other_sequences.append(weaker[1].name)
    return stronger


def _shown(entry: Entry) -> str:
    return entry.place if repr(entry.name) in entry.place else f"{entry.place} ({entry.name!r})"


def _none_matched(entries: list[Entry], matcher: FrameMatcher, report: ImportReport) -> str:
    found = []
    if report.other_sequences:
        found.append(f"{len(report.other_sequences)} for other sequences (e.g. {report.other_sequences[0]!r})")
    if report.missing_frames:
        found.append(f"{len(report.missing_frames)} for frames this project does not have "
                     f"(e.g. {report.missing_frames[0]!r})")
    none = "its one entry is not" if len(entries) == 1 else f"none of its {len(entries):,} entries is"
    return (f"{none} for this project's frames: {'; '.join(found)}. An entry is "
            f"matched by its file name and the folder names before it, against the project's frames "
            f"(e.g. {matcher.example!r}, in {'/'.join(matcher.folders[-3:])!r})")
