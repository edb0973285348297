"""Errors that name what went wrong and where.

Every error a user can cause (a bad file, a bad value) is a ``RoadlabelError``.
Its message reads ``<where>: <place>: <reason>`` so that one line on a terminal
tells the user which file, which line or key, and why.
"""

from __future__ import annotations

from os import PathLike


class RoadlabelError(Exception):
    """Base class for every error napari-roadlabel raises on purpose."""

    def __init__(self, where: str | PathLike | None, reason: str, place: str | None = None):
        self.where = str(where) if where is not None else None
        self.place = place
        self.reason = reason
        super().__init__(": ".join(part for part in (self.where, place, reason) if part))


class TaxonomyError(RoadlabelError):
    """A taxonomy file or class definition is invalid."""


class GeometryError(RoadlabelError):
    """Coordinates that cannot form the requested geometry (NaN, too few points, ...)."""


class ProjectError(RoadlabelError):
    """A project folder is missing, corrupt, or of an unsupported schema version."""


class AnnotationError(RoadlabelError):
    """An edit that the model refuses (unknown class, unknown track, bad attribute value)."""


class FrameSourceError(RoadlabelError):
    """A video or image folder cannot be opened, or a frame cannot be read."""


class FormatError(RoadlabelError):
    """An import file is malformed or does not follow its format's schema."""


class RoadlabelWarning(UserWarning):
    """Something wrong that napari-roadlabel worked around, worded like an error: ``<where>: <place>: <reason>``."""

    def __init__(self, where: str | PathLike | None, reason: str, place: str | None = None):
        super().__init__(": ".join(str(part) for part in (where, place, reason) if part))


def one_line(error: BaseException) -> str:
    """An error as one line for a table or a log: a RoadlabelError as it reads, anything else after its type's
    name (``KeyError: 'x'``); runs of whitespace, newlines too, become one space."""
    text = str(error) if isinstance(error, RoadlabelError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())
