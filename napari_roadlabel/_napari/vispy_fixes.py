"""A fix for vispy relinking a mesh's GL program on every data change, and a counter of program links.

vispy's MeshVisual (the faces and highlights of a napari Shapes layer, a Vectors
layer) builds a new colour-transform shader Function on every ``set_data``.
Assigning a new Function marks the visual's program as changed, so its next draw
compiles and links the GL program again: several ms each under a software
renderer, nine per frame step in our workspace.  Its other per-call objects do not:
the position converter is cached, and a new colour VertexBuffer only updates the
value of the attribute already in the program.

`install()` wraps ``MeshVisual._build_color_transform``: when the Function it builds
is the pass-through (per-vertex, per-face or uniform colours alike) and the
program already holds one, the one held is handed back, so vispy sees no change.
A colormapped mesh (vertex values) gets a new Function as before.  The shader
source, hence the picture, is the same.

The wrapper relies on how vispy 0.17 uses that method, so `install()` checks the
vispy version and a hash of the source of the two MeshVisual methods involved;
on anything else it leaves vispy alone and `why_not_installed()` says why.

napari #9418 (an empty Shapes or Vectors layer is drawn anyway, about 1 ms of every
redraw per layer under llvmpipe) is answered where the layers are managed:
overlay.FrameOverlay.set_drawn keeps the vispy node of every layer the overlay
draws hidden.

`count_program_links()` counts the GL programs linked while inside it, by
wrapping vispy's GLIR program link: links happen when a canvas draws.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass

import vispy
from vispy.gloo.glir import GlirProgram
from vispy.visuals.mesh import MeshVisual
from vispy.visuals.shaders import Function

VISPY_SERIES = "0.17."  # the vispy versions the wrapper was made for (also pinned in pyproject.toml)
SOURCE_SHA256 = "5f3e00e3caef873f720621f4a16cf67b4edc911f92d372a87f5b467396ec5680"  # of vispy 0.17.0's methods
_MARK = "roadlabel_reuses_color_transform"


# ---------------------------------------------------------- counting links


@dataclass
class LinkCount:
    count: int = 0


@contextlib.contextmanager
def count_program_links() -> Iterator[LinkCount]:
    """Count the GL programs (shader builds) linked inside the ``with`` block, in any canvas."""
    counted = LinkCount()
    link = GlirProgram.link_program

    def counting_link(program, *args, **kwargs):
        counted.count += 1
        return link(program, *args, **kwargs)

    GlirProgram.link_program = counting_link
    try:
        yield counted
    finally:
        GlirProgram.link_program = link


# ---------------------------------------------------------- the mesh fix


def install() -> bool:
    """Make MeshVisual keep its colour transform across ``set_data`` (once; no-op if done); False if refused."""
    if installed():
        return True
    if why_not_installed():
        return False
    MeshVisual._build_color_transform = _reusing_same_transform(MeshVisual._build_color_transform)
    return True


def installed() -> bool:
    """Whether MeshVisual is wrapped now (by `install()`)."""
    return getattr(MeshVisual._build_color_transform, _MARK, False)


def why_not_installed() -> str:
    """Why `install()` leaves the vispy in use alone ('' when the wrapper fits it)."""
    return refusal(vispy.__version__, upstream_source())


def refusal(version: str, source: str) -> str:
    """Why the wrapper does not fit vispy ``version`` whose MeshVisual methods read ``source`` ('' if it fits)."""
    if not version.startswith(VISPY_SERIES):
        return f"vispy {version} is not the {VISPY_SERIES}x the mesh fix was made for (vispy #2568)"
    if hashlib.sha256(source.encode()).hexdigest() != SOURCE_SHA256:
        return f"vispy {version}'s MeshVisual._build_color_transform or _update_data differs from the one fixed"
    return ""


def upstream_source() -> str:
    """The source of vispy's own MeshVisual methods that the wrapper relies on ('' if unreadable)."""
    build = MeshVisual._build_color_transform
    try:
        return inspect.getsource(getattr(build, "__wrapped__", build)) + inspect.getsource(MeshVisual._update_data)
    except (OSError, TypeError):  # no source files shipped
        return ""


def _reusing_same_transform(build):
    # Answers vispy #2568: a new, identical colour transform on every set_data relinks the program.
    @functools.wraps(build)
    def build_color_transform(self, colors):
        built = build(self, colors)
        try:
            held = self.shared_program.vert["color_transform"]
        except KeyError:  # the first set_data
            return built
        same = type(held) is type(built) is Function and held.code == built.code and not built.template_vars
        return held if same else built

    setattr(build_color_transform, _MARK, True)
    return build_color_transform




@contextlib.contextmanager
def vispy_as_it_comes() -> Iterator[None]:
    """vispy without the mesh fix inside the ``with`` block (the benchmark's "today's display")."""
    fixed = MeshVisual._build_color_transform
    MeshVisual._build_color_transform = getattr(fixed, "__wrapped__", fixed)
    try:
        yield
    finally:
        MeshVisual._build_color_transform = fixed
