"""napari-roadlabel: label road scenes (lanes, lights, signs, zones) in videos with napari."""

__version__ = "0.1.0"
