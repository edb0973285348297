"""vispy_fixes in a real viewer (run under Xvfb): no relinks on refills, the same picture, and the pin.

A draw is forced with ``viewer.screenshot(canvas_only=True)``: napari draws the
canvas for it, and GL programs are linked when drawn.  Pictures are taken in
shown viewers: a hidden one draws (and links), but its screenshots come out black
here.  "Without the fix" is vispy's own method put back (the wrapper keeps it as
``__wrapped__``).
"""

import contextlib

import numpy as np
import pytest
import vispy
from vispy import scene
from vispy.visuals.mesh import MeshVisual

from napari_roadlabel._napari import vispy_fixes
from napari_roadlabel._napari.layers import LANES
from napari_roadlabel._napari.vispy_fixes import count_program_links
from napari_roadlabel._napari.widget import RoadLabelWidget

COLORS = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1]], float)


@pytest.fixture
def fixed():
    """The fix installed (it stays for the session, as it would in the plug-in)."""
    assert vispy_fixes.install(), vispy_fixes.why_not_installed()


@pytest.fixture
def unfixed(fixed):
    """A callable that puts vispy's own MeshVisual method back until the test ends."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(vispy_fixes.vispy_as_it_comes())


def rectangles(shift: int) -> list[np.ndarray]:
    """Three (y, x) rectangles that move with ``shift``."""
    return [np.array([[10, 10], [10, 40], [30, 40], [30, 10]]) + [20 * index + shift, 15 * index + shift]
            for index in range(3)]


def draw(viewer) -> np.ndarray:
    return viewer.screenshot(canvas_only=True)


def refill(viewer, layer, times: int) -> int:
    """GL programs linked while ``layer`` gets moved, recoloured shapes ``times`` times, drawn each time."""
    with count_program_links() as links:
        for time in range(1, times + 1):
            layer.data = rectangles(time)
            layer.face_color = np.roll(COLORS, time, axis=0)
            draw(viewer)
    return links.count


def test_a_refilled_shapes_layer_links_no_program_once_drawn(make_napari_viewer, unfixed):
    viewer = make_napari_viewer()
    layer = viewer.add_shapes(rectangles(0), face_color=COLORS, edge_color=COLORS)
    draw(viewer)
    assert refill(viewer, layer, 4) == 0
    unfixed()
    assert refill(viewer, layer, 4) >= 4  # vispy's own: the faces mesh relinks on every refill


def test_the_picture_is_the_same_with_and_without_the_fix(make_napari_viewer, unfixed):
    viewer = make_napari_viewer(show=True)

    def pictures() -> list[np.ndarray]:
        """A Shapes layer with a colour per shape, then its shapes moved and recoloured twice."""
        layer = viewer.add_shapes(rectangles(0), face_color=COLORS, edge_color=np.roll(COLORS, 1, axis=0))
        shown = [draw(viewer)]
        for time in (1, 2):
            layer.data = rectangles(5 * time)
            layer.face_color = np.roll(COLORS, time, axis=0)
            shown.append(draw(viewer))
        viewer.layers.remove(layer)
        return shown

    with count_program_links() as fixed_links:
        fixed_pictures = pictures()
    unfixed()
    with count_program_links() as vispy_links:
        vispy_pictures = pictures()
    assert vispy_links.count > fixed_links.count  # the two runs did draw differently
    assert not np.array_equal(fixed_pictures[0], fixed_pictures[1])  # the changes show
    assert not np.array_equal(fixed_pictures[1], fixed_pictures[2])
    for fixed_picture, vispy_picture in zip(fixed_pictures, vispy_pictures, strict=True):
        np.testing.assert_array_equal(fixed_picture, vispy_picture)


def test_a_mesh_whose_colours_change_kind_is_rebuilt_as_vispy_does(unfixed):
    """Per-face colours, one colour, colormapped values, per-face again: relinked each time, drawn as vispy draws it."""
    canvas = scene.SceneCanvas(size=(48, 48), bgcolor="black")
    view = canvas.central_widget.add_view(camera=scene.PanZoomCamera(rect=(0, 0, 4, 4)))
    vertices = np.array([[0.5, 0.5], [3.5, 0.5], [3.5, 3.5], [0.5, 3.5]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])

    def pictures() -> tuple[list[np.ndarray], int]:
        mesh = scene.visuals.Mesh(vertices, faces, face_colors=COLORS[:2], parent=view.scene)
        shown = [canvas.render()]
        with count_program_links() as links:
            for colours in ({"color": (1, 1, 0, 1)}, {"vertex_values": np.arange(4.0)}, {"face_colors": COLORS[1:]}):
                mesh.set_data(vertices, faces, **colours)
                shown.append(canvas.render())
        mesh.parent = None
        return shown, links.count

    fixed_pictures, fixed_links = pictures()
    unfixed()
    vispy_pictures, vispy_links = pictures()
    assert fixed_links == vispy_links == 3
    assert len({picture.tobytes() for picture in fixed_pictures}) == 4
    for fixed_picture, vispy_picture in zip(fixed_pictures, vispy_pictures, strict=True):
        np.testing.assert_array_equal(fixed_picture, vispy_picture)
    canvas.close()


def test_the_fix_is_pinned_to_the_vispy_it_was_made_for(fixed, monkeypatch):
    # Fails when vispy moves past 0.17: check vispy #2568 again, then the wrapper, hash and pyproject.toml's pin.
    assert vispy_fixes.installed() and vispy_fixes.why_not_installed() == ""
    source = vispy_fixes.upstream_source()
    assert vispy_fixes.refusal(vispy.__version__, source) == ""
    assert "0.18.0" in vispy_fixes.refusal("0.18.0", source)
    assert "differs" in vispy_fixes.refusal(vispy.__version__, source.replace("null_color_transform", "identity"))

    # A vispy whose methods changed is left alone.
    monkeypatch.setattr(MeshVisual, "_build_color_transform", MeshVisual._build_color_transform.__wrapped__)
    monkeypatch.setattr(vispy_fixes, "upstream_source", lambda: source + "# changed upstream\n")
    assert vispy_fixes.install() is False
    assert not vispy_fixes.installed() and "differs" in vispy_fixes.why_not_installed()


def test_opening_a_project_installs_the_fix(make_napari_viewer, labeled_project, unfixed):
    unfixed()
    assert not vispy_fixes.installed()
    RoadLabelWidget(make_napari_viewer()).open_project(labeled_project)
    assert vispy_fixes.installed()


def test_stepping_the_workspace_links_no_program_after_the_first_pass(workspace, unfixed):
    viewer = workspace.viewer
    viewer.layers.selection.active = workspace.layer(LANES)  # the live layer: refilled on every step

    def step_through() -> int:
        with count_program_links() as links:
            for frame in range(workspace.frame_count):
                viewer.dims.set_current_step(0, frame)
                draw(viewer)
        return links.count

    step_through()  # creates the layers, and their programs
    assert step_through() == 0
    unfixed()
    assert step_through() > 0  # the pass does refill meshes: vispy's own relinks them
