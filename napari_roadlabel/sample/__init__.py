"""A synthetic road sequence with exact ground truth on every frame.

Renders a perspective road (textured asphalt, lane paint, dashes fixed in the
world, a curve, speed changes, camera vibration) with traffic lights, signs, a
crosswalk, a school zone and a direction arrow, and labels all of it with the
taxonomy's classes.  It makes the sample clip bundled with the plugin and
gives benchmarks of interpolation and propagation their reference.

    sequence = make_road_sequence(RoadSceneConfig(frames=300, seed=3))
    add_to_project(project, sequence)
    write_sample(folder)  # folder/road_clip.mp4 and folder/road_clip.geojson

Command line: ``python -m napari_roadlabel.sample OUT_FOLDER [--frames N --width W --height H --seed S]``.
"""

from .config import RoadSceneConfig
from .sequence import RoadSequence, add_to_project, make_road_sequence, write_sample

__all__ = ["RoadSceneConfig", "RoadSequence", "add_to_project", "make_road_sequence", "write_sample"]
