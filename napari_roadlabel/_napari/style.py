"""How objects look: one colour per class, and style that follows attributes where it helps the eye.

A traffic light's box takes the colour of its current state; a lane line is
drawn as its fitted curve, yellow when its paint is yellow, thinner when dashed
and thicker when double, over a thin line through its control points; states
the annotator did not draw (interpolated, propagated, suggested) are fainter
than keyframes.
"""

from __future__ import annotations

import numpy as np

from ..core import FrameObject, GeometryKind, Taxonomy
from ..core.lanes import is_lane_class
from ..core.palette import LIGHT_COLORS

LANE_WIDTHS = {"solid": 4.0, "dashed": 2.0, "botts-dots": 2.0, "double-solid": 7.0, "double-dashed": 5.0,
               "solid-dashed": 6.0, "dashed-solid": 6.0}
DEFAULT_WIDTH = 3.0
CONTROL_WIDTH = 1.0  # a lane's line through its control points, under its curve
LANE_COLORS = {"yellow": "#ffd000"}
FALLBACK_COLOR = "#c0c0c0"
FILL_ALPHA = 0.2
NOT_KEYFRAME_ALPHA = 0.35  # with dashes over it (derived_outlines.py)


def hex_to_rgba(color: str, alpha: float = 1.0) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)] + [alpha])


def class_color(taxonomy: Taxonomy, class_name: str) -> str:
    return taxonomy[class_name].color if class_name in taxonomy else FALLBACK_COLOR


def edge_color(obj: FrameObject, taxonomy: Taxonomy) -> np.ndarray:
    color = class_color(taxonomy, obj.track.class_name)
    if obj.track.class_name == "traffic-light":
        color = LIGHT_COLORS.get(obj.attributes.get("state"), color)
    elif is_lane_class(obj.track.class_name):
        color = LANE_COLORS.get(obj.attributes.get("color"), color)
    return hex_to_rgba(color, 1.0 if obj.state.is_keyframe else NOT_KEYFRAME_ALPHA)


def face_color(obj: FrameObject, taxonomy: Taxonomy) -> np.ndarray:
    """Polygons get a faint fill of their colour; lines and boxes stay see-through."""
    alpha = FILL_ALPHA if obj.state.geometry.kind is GeometryKind.POLYGON else 0.0
    return hex_to_rgba(class_color(taxonomy, obj.track.class_name), alpha)


def edge_width(obj: FrameObject) -> float:
    return CONTROL_WIDTH if is_lane_class(obj.track.class_name) else DEFAULT_WIDTH


def lane_width(obj: FrameObject) -> float:
    """A lane curve's width by its style: dashed thin, solid wider, double thicker."""
    return LANE_WIDTHS.get(obj.attributes.get("style"), DEFAULT_WIDTH)


def object_label(obj: FrameObject) -> str:
    """Short text shown next to an object: a sign's type and value, a light's state; nothing for the rest.

    Lanes, areas and arrows speak through colour and width: text on each of them
    would cover the road near the horizon, where they bunch up.
    """
    attributes = obj.attributes
    if obj.track.class_name == "traffic-sign":
        value = attributes.get("value")
        return f"{attributes.get('type', 'sign')}{f' {value:g}' if isinstance(value, (int, float)) else ''}"
    if obj.track.class_name == "traffic-light":
        flashing = " flashing" if attributes.get("flashing") else ""
        return f"light {attributes.get('state', '')}{flashing}"
    return ""
