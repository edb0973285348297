"""A shape's pixels in the small window around it, and the IoU of two such windows.

Counting IoU in the bounds a shape covers, instead of on a whole-image mask,
costs in proportion to the shapes' size; shapes whose windows do not meet are
not compared pixel by pixel at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class PixelWindow:
    """A boolean mask whose top-left pixel is (x, y) of the image."""

    mask: np.ndarray
    x: int
    y: int

    @cached_property
    def area(self) -> int:  # a shape is paired with several others: count its pixels once
        return int(np.count_nonzero(self.mask))

    def iou(self, other: PixelWindow) -> float:
        """Intersection over union of the two shapes' pixels (0 when both are empty)."""
        left, top = max(self.x, other.x), max(self.y, other.y)
        right = min(self.x + self.mask.shape[1], other.x + other.mask.shape[1])
        bottom = min(self.y + self.mask.shape[0], other.y + other.mask.shape[0])
        shared = 0
        if right > left and bottom > top:
            shared = np.count_nonzero(self.mask[top - self.y:bottom - self.y, left - self.x:right - self.x]
                                      & other.mask[top - other.y:bottom - other.y, left - other.x:right - other.x])
        union = self.area + other.area - shared
        return shared / union if union else 0.0
