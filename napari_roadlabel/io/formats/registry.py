"""Every format by name: the command line and the Export dialog list and call these.

An exporter is ``export(project, out, *, frames=None, every=1, overwrite=False)``; the lane and
dataset formats return their ``MappingReport`` (GeoJSON carries everything and returns a count).
An importer is ``import_(project, file, *, source=..., strict=...)`` and returns its ``ImportReport``; the
prediction formats write suggestions and return a ``PredictionReport`` (``coco-results`` also takes
``images_json``).
"""

from __future__ import annotations

from collections.abc import Callable

from ...core import RoadlabelError
from ..atomic import check_spared
from .bdd100k import export_bdd100k, import_bdd100k
from .coco import export_coco, import_coco
from .coco_results import import_coco_results
from .culane import export_culane, import_culane
from .cvat import export_cvat, import_cvat
from .geojson import export_geojson, import_geojson
from .label_studio import import_label_studio
from .lane_frames import frames_to_export
from .masks import export_masks
from .openlane import export_openlane, import_openlane
from .openlane_v2 import export_openlane_v2
from .report import check_export
from .tusimple import export_tusimple, import_tusimple

EXPORTERS = {"bdd100k": export_bdd100k, "tusimple": export_tusimple, "culane": export_culane,
             "openlane": export_openlane, "openlane-v2": export_openlane_v2, "coco": export_coco,
             "cvat": export_cvat, "masks": export_masks}
IMPORTERS = {"geojson": import_geojson, "bdd100k": import_bdd100k, "tusimple": import_tusimple,
             "culane": import_culane, "openlane": import_openlane, "coco": import_coco, "cvat": import_cvat,
             "label-studio": import_label_studio, "coco-results": import_coco_results}
FOLDER_FORMATS = frozenset({"culane", "openlane", "openlane-v2", "masks"})  # written as folders; the others, files
SUFFIXES = {"geojson": ".geojson", "bdd100k": ".json", "tusimple": ".json", "coco": ".json", "cvat": ".xml"}


def export_formats() -> list[str]:
    return sorted(["geojson", *EXPORTERS])


def export_any(fmt: str, project, out, *, frames: range | None = None, every: int = 1, overwrite: bool = False,
               progress: Callable[[int], None] | None = None):
    """Export in ``fmt``: a MappingReport, or for GeoJSON the number of features written.

    ``progress`` is told of each frame written (GeoJSON tells it of all of them at the end).
    """
    check_spared(out, [project.folder, project.source_path()])  # not even with overwrite
    if fmt == "geojson":
        if every != 1:
            raise RoadlabelError(None, "GeoJSON keeps every frame of the range: 'every' is for the training formats")
        count = export_geojson(project, out, frames=frames, overwrite=overwrite)
        if progress is not None:
            progress(len(frames or range(project.sequence.frame_count)))
        return count
    check_export(out, folder=fmt in FOLDER_FORMATS, overwrite=overwrite)  # at once, not after the work
    return EXPORTERS[fmt](project, out, frames=frames, every=every, overwrite=overwrite, progress=progress)


def frames_written(project, frames: range | None, every: int) -> int:
    """How many frames an export of ``frames`` (every ``every``-th) writes: the progress bar's total."""
    return len(frames_to_export(project, frames, every))
