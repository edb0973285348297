"""Counts in messages people read: "1 frame", "2 frames", never "1 frames"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` (with thousands separators) and ``noun``, the noun in the plural (``plural``, else ``noun + "s"``)
    unless the count is 1."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
