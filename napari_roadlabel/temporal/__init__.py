"""Time: keyframe interpolation, optical-flow propagation and how far apart two shapes are.

Uses the core model only; never imports napari, Qt or magicgui.
"""
