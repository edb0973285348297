"""The annotation model: taxonomy, tracks, per-frame states, geometry, undo and the project store.

Pure Python and numpy: this package never imports napari, Qt or magicgui.
"""

from .annotations import FrameObject, FrameRangeTag, FrameState, Source, Track
from .errors import (
    AnnotationError,
    FormatError,
    FrameSourceError,
    GeometryError,
    ProjectError,
    RoadlabelError,
    TaxonomyError,
)
from .geometry import Geometry, GeometryKind, box, check_inside_image, make_geometry, make_mask, make_skeleton
from .project import Project, SequenceInfo
from .skeletons import Skeleton, flipped
from .taxonomy import AttributeSpec, ClassSpec, Scope, Taxonomy, default_taxonomy, load_taxonomy, taxonomy_from_dict

__all__ = [
    "AnnotationError", "AttributeSpec", "ClassSpec", "FormatError", "FrameObject", "FrameRangeTag",
    "FrameSourceError", "FrameState", "Geometry", "GeometryError", "GeometryKind", "Project", "ProjectError",
    "RoadlabelError", "Scope", "SequenceInfo", "Skeleton", "Source", "Taxonomy", "TaxonomyError", "Track", "box",
    "check_inside_image", "default_taxonomy", "flipped", "load_taxonomy", "make_geometry", "make_mask",
    "make_skeleton", "taxonomy_from_dict",
]
