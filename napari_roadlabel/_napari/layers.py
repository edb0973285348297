"""Which napari layer shows which element of the taxonomy.

Road elements get layers of their own, named plainly; any other class (the
generic vehicle / pedestrian / cyclist / custom ones, or a team's own) goes to
a generic layer by geometry kind.  Layers are created on demand.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import GeometryKind, Taxonomy


@dataclass(frozen=True)
class ElementLayer:
    name: str
    layer_type: str  # "shapes", "points" or "labels"
    new_shape: str | None = None  # napari shape type drawn by default in this layer
    draw_mode: str = "pan_zoom"  # the layer mode for drawing a new object
    shows_text: bool = False  # a text label beside each object (see style.object_label)


LANES = ElementLayer("Lanes", "shapes", "path", "add_path")
LIGHTS = ElementLayer("Traffic lights", "shapes", "rectangle", "add_rectangle", shows_text=True)
SIGNS = ElementLayer("Signs", "shapes", "rectangle", "add_rectangle", shows_text=True)
SIGN_POINTS = ElementLayer("Sign points", "points", None, "add", shows_text=True)
AREAS = ElementLayer("Crosswalks and zones", "shapes", "polygon", "add_polygon")
DIRECTION = ElementLayer("Traffic direction", "shapes", "path", "add_path")
BOXES = ElementLayer("Boxes", "shapes", "rectangle", "add_rectangle")
POLYGONS = ElementLayer("Polygons", "shapes", "polygon", "add_polygon")
LINES = ElementLayer("Lines", "shapes", "path", "add_path")
KEYPOINTS = ElementLayer("Keypoints", "points", None, "add")
MASKS = ElementLayer("Masks", "labels", None, "paint")

ROAD_LAYERS = {
    ("lane-line", GeometryKind.POLYLINE): LANES,
    ("stop-line", GeometryKind.POLYLINE): LANES,
    ("traffic-light", GeometryKind.BOX): LIGHTS,
    ("traffic-sign", GeometryKind.BOX): SIGNS,
    ("traffic-sign", GeometryKind.POINT): SIGN_POINTS,
    ("crosswalk", GeometryKind.POLYGON): AREAS,
    ("school-zone", GeometryKind.POLYGON): AREAS,
    ("traffic-direction", GeometryKind.POLYLINE): DIRECTION,
}
GENERIC_LAYERS = {
    GeometryKind.BOX: BOXES,
    GeometryKind.POLYGON: POLYGONS,
    GeometryKind.POLYLINE: LINES,
    GeometryKind.POINT: KEYPOINTS,
    GeometryKind.KEYPOINTS: KEYPOINTS,
    GeometryKind.MASK: MASKS,
}
ALL_LAYERS = (LANES, LIGHTS, SIGNS, SIGN_POINTS, AREAS, DIRECTION, BOXES, POLYGONS, LINES, KEYPOINTS, MASKS)
SHAPE_KINDS = {"path": GeometryKind.POLYLINE, "rectangle": GeometryKind.BOX, "polygon": GeometryKind.POLYGON}


def layer_for(class_name: str, kind: GeometryKind) -> ElementLayer:
    """The layer that shows objects of ``class_name`` drawn as ``kind``."""
    return ROAD_LAYERS.get((class_name, kind)) or GENERIC_LAYERS[kind]


def has_layer(class_name: str, kind: GeometryKind) -> bool:
    """Whether some element layer shows ``class_name`` drawn as ``kind`` (skeletons are shown by skeleton_view
    and placed with skeleton_tool instead)."""
    return (class_name, kind) in ROAD_LAYERS or kind in GENERIC_LAYERS


def drawn_kinds(taxonomy: Taxonomy, class_name: str) -> tuple[GeometryKind, ...]:
    """The geometry kinds ``class_name`` can be drawn as in the viewer (in an element layer, or a skeleton
    with the skeleton tool), in taxonomy order."""
    return tuple(kind for kind in taxonomy[class_name].geometry
                 if has_layer(class_name, kind) or kind is GeometryKind.SKELETON)


def classes_of(layer: ElementLayer, taxonomy: Taxonomy) -> list[str]:
    """The taxonomy's classes that can be drawn in ``layer``, in taxonomy order."""
    return [spec.name for spec in taxonomy if any(has_layer(spec.name, kind) and layer_for(spec.name, kind) is layer
                                                  for kind in drawn_kinds(taxonomy, spec.name))]


def drawable_classes(taxonomy: Taxonomy) -> list[str]:
    """Classes an annotator draws (frame-range classes are tagged, not drawn)."""
    return [spec.name for spec in taxonomy if not spec.is_tag]
