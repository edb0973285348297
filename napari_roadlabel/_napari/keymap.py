"""Every keyboard binding of the workspace, in one place (the help panel lists this table).

No single letters and no bare digits: napari's Shapes, Points and Labels
layers use those for their modes.  Bindings are set on the viewer and on each
element layer, so they work whichever layer is active (a layer's own bindings
would win otherwise: Ctrl-Z is undo of napari's Labels layer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core import RoadlabelError
from .workspace import Workspace

FRAME_JUMP = 10


@dataclass(frozen=True)
class Binding:
    keys: str  # napari's key notation, e.g. "Control-Shift-Z"
    description: str
    action: Callable[[Workspace], object]


def _class_binding(number: int) -> Binding:
    return Binding(f"Alt-{number}", f"choose class {number} (taxonomy order) and draw it",
                   lambda workspace: workspace.choose_class_number(number))


def _toggle_occluded(workspace: Workspace) -> None:
    """While a skeleton is placed, its next point; otherwise the skeleton points selected on the canvas."""
    if workspace.skeleton_tool.class_name is not None:
        workspace.skeleton_tool.toggle_occluded()
    else:
        workspace.skeleton_view.editing.toggle_occluded()


BINDINGS: tuple[Binding, ...] = (
    Binding("Right", "next frame", lambda workspace: workspace.step_soon(1)),
    Binding("Left", "previous frame", lambda workspace: workspace.step_soon(-1)),
    Binding("Shift-Right", f"{FRAME_JUMP} frames forward", lambda workspace: workspace.step_soon(FRAME_JUMP)),
    Binding("Shift-Left", f"{FRAME_JUMP} frames back", lambda workspace: workspace.step_soon(-FRAME_JUMP)),
    Binding("Control-Right", "next keyframe", lambda workspace: workspace.jump_to_keyframe(forward=True)),
    Binding("Control-Left", "previous keyframe", lambda workspace: workspace.jump_to_keyframe(forward=False)),
    Binding("Alt-Right", "next frame with a propagated state to check (confidence under 0.5)",
            lambda workspace: workspace.jump_to_check(forward=True)),
    Binding("Alt-Left", "previous frame with a propagated state to check",
            lambda workspace: workspace.jump_to_check(forward=False)),
    *(_class_binding(number) for number in range(1, 10)),
    Binding("Alt-N", "copy the selected objects (or all) to the next frame and go there",
            lambda workspace: workspace.copy_to_next_frame()),
    Binding("Alt-C", "continue the last selected object on this frame (same track id)",
            lambda workspace: workspace.continue_track()),
    Binding("Alt-E", "end the selected object's track on this frame (later frames cleared)",
            lambda workspace: workspace.end_track_here()),
    Binding("Alt-Delete", "delete the selected objects from this frame only",
            lambda workspace: workspace.delete_selected()),
    Binding("Shift-Delete", "delete the selected objects' whole tracks (every frame)",
            lambda workspace: workspace.delete_selected(whole_track=True)),
    Binding("Alt-S", "snap the selected lanes (or all on this frame) to the paint nearby",
            lambda workspace: workspace.snap_lanes_to_paint()),
    Binding("Alt-Shift-S", "skeleton: skip the next point (not in the picture)",
            lambda workspace: workspace.skeleton_tool.skip()),
    Binding("Alt-Shift-O", "skeleton: the next point, or the selected points, occluded (again: visible)",
            lambda workspace: _toggle_occluded(workspace)),
    Binding("Alt-G", "show or hide the previous frame's outlines", lambda workspace: workspace.toggle_ghost()),
    Binding("Alt-M", "relations: mark the selected object as the next relation's source",
            lambda workspace: workspace.relating.mark_source()),
    Binding("Alt-L", "relations: relate the marked source to the selected object, from this frame on",
            lambda workspace: workspace.relating.relate()),
    Binding("Alt-P", "propagate as the panel's Propagate box says (the selected object or all, from this frame)",
            lambda workspace: workspace.propagation.start()),
    Binding("Alt-A", "review: accept this frame and go to the next unreviewed one",
            lambda workspace: workspace.review.accept_frame_and_next()),
    Binding("Alt-R", "review: reject this frame (the reason typed in the Review tab)",
            lambda workspace: workspace.review.reject_frame()),
    Binding("Alt-O", "review: accept the selected objects (their whole tracks)",
            lambda workspace: workspace.review.accept_objects()),
    Binding("Alt-X", "review: reject the selected object on this frame (the reason typed in the Review tab)",
            lambda workspace: workspace.review.reject_object()),
    Binding("Alt-U", "review: next frame not reviewed", lambda workspace: workspace.review.next_unreviewed()),
    Binding("Alt-Shift-U", "review: previous frame not reviewed",
            lambda workspace: workspace.review.next_unreviewed(forward=False)),
    Binding("Alt-J", "review: next object not reviewed (selects it)",
            lambda workspace: workspace.review.next_unreviewed_object()),
    Binding("Alt-F", "review: next finding of the checks (selects its object)",
            lambda workspace: workspace.review.next_finding()),
    Binding("Alt-Shift-F", "review: previous finding", lambda workspace: workspace.review.next_finding(forward=False)),
    Binding("Alt-K", "review: run the automatic checks", lambda workspace: workspace.review.run_checks()),
    Binding("Alt-Up", "review: play forward at the Review tab's speed", lambda workspace: workspace.review.play()),
    Binding("Alt-Down", "review: stop playing", lambda workspace: workspace.review.stop()),
    Binding("Alt-Enter", "assist: accept the suggestion (the selected object's, else the least sure on this frame)",
            lambda workspace: workspace.assist.accept_current()),
    Binding("Alt-Backspace", "assist: reject the suggestion (the same one Alt-Enter would accept)",
            lambda workspace: workspace.assist.reject_current()),
    Binding("Alt-Shift-N", "assist: go to the next suggestion to check, the least sure first",
            lambda workspace: workspace.assist.next_suggestion()),
    Binding("Alt-Shift-Enter", "assist: accept every suggestion on this frame as sure as the Assist tab says",
            lambda workspace: workspace.assist.accept_all_on_frame()),
    Binding("Alt-Shift-Backspace", "assist: reject every suggestion of the selected object, on every frame",
            lambda workspace: workspace.assist.reject_all_on_track()),
    Binding("Control-Z", "undo", lambda workspace: workspace.undo()),
    Binding("Control-Shift-Z", "redo", lambda workspace: workspace.redo()),
    Binding("Control-Y", "redo", lambda workspace: workspace.redo()),
)


def install(workspace: Workspace, report: Callable[[RoadlabelError], None]) -> None:
    """Bind every key on the viewer and on each element layer of ``workspace`` (also layers made later)."""
    _bind_all(workspace.viewer, workspace, report)
    for layer in workspace.layers.values():
        _bind_all(layer, workspace, report)
    workspace.layer_created.connect(lambda layer: _bind_all(layer, workspace, report))


def uninstall(workspace: Workspace) -> None:
    """Take the bindings off the viewer (the workspace's layers go with it)."""
    for binding in BINDINGS:
        workspace.viewer.bind_key(binding.keys, None)


def _bind_all(target, workspace: Workspace, report: Callable[[RoadlabelError], None]) -> None:
    for binding in BINDINGS:
        target.bind_key(binding.keys, _handler(binding, workspace, report), overwrite=True)


def _handler(binding: Binding, workspace: Workspace, report: Callable[[RoadlabelError], None]):
    def run(_target) -> None:
        try:
            binding.action(workspace)
        except RoadlabelError as error:  # e.g. continue a track that has no state: say so, keep working
            report(error)

    run.__doc__ = binding.description  # napari shows it in its own key bindings list
    return run
