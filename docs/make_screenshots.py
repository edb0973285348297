"""Screenshots for the user guide (docs/annotating.md): the sample clip labeled from an empty project.

    python docs/make_screenshots.py [--out docs/images] [--guide docs/annotating.md]

In a temporary folder the script copies the sample video and opens it with the
Road labeling panel, which creates an empty project beside it, as it does for a
user.  It then labels the clip the way an annotator does: choose a class, draw
in the layer that becomes active, set attributes in the panel, copy everything
to the next frame and move what moved, end the tracks that leave the picture.
The shapes come from the sample's ground-truth GeoJSON, so they sit on the road.
PNGs are saved at the stages the guide shows, and the guide's table of keys is
rewritten from the keymap.  Without a display, run it under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_screenshots.py
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import napari
import numpy as np
from napari._qt.dialogs.qt_notification import NapariQtNotification
from PIL import Image
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication, QDialogButtonBox, QPushButton, QTabWidget
from skimage.draw import polygon as polygon_pixels

from napari_roadlabel._napari.display import THUMBNAIL_DELAY_MS
from napari_roadlabel._napari.keymap import BINDINGS
from napari_roadlabel._napari.layers import drawable_classes
from napari_roadlabel._napari.sample_data import sample_files
from napari_roadlabel.core import default_taxonomy

DOCS = Path(__file__).resolve().parent
WINDOW = (1400, 850)
MAX_BYTES = 400_000
KEYS_START, KEYS_END = "<!-- keys:start -->", "<!-- keys:end -->"
# Ground-truth track ids of the sample (napari_roadlabel/sample) that the pictures point at.
LEFT_EDGE, YELLOW_LINE, DASHED_LINE, LIGHT, SPEED_SIGN = 1, 2, 3, 9, 10
LIGHT_CHANGES = ((8, "red"), (37, "green"))  # where the light changes, and to what
TIMELINE_FRAME = 50  # picture 4: a while after the light turned green
GHOST_FRAME = 84  # the stop line, near the car now, moves 13 pixels from the frame before
GHOST_VIEW = ((213, 340), 2.5)  # centre (y, x) and zoom: the road from the horizon down to the car
EVERYTHING_FRAME = 70  # the stop line is clear of the crosswalk; the speed-limit sign still in view
EVERYTHING_VIEW = ((180, 350), 0.92)  # a little smaller and to the left, so the sign's text is not cut off
LANE_CLICKS = 5  # an annotator clicks this many points along a lane; the tool fits the curve
LANES_FRAME, LANES_VIEW = 30, ((190, 420), 2.2)  # picture 9: where the road bends, the dashed lane selected
GANTRY_ON_EVERYTHING_FRAME = (340, 56, 494, 172)  # x0, y0, x1, y1 of the light's gantry there (not in the truth)
PROPAGATION_KEYFRAME = 45  # picture 10: keyframes on frames 0 and 45, everything else propagated by flow
PROPAGATION_FRAME = 25  # where the picture is taken: as far from both keyframes as can be


# ---------------------------------------------------------------- ground truth


@dataclass
class Truth:
    """The sample's ground truth: frame -> ground-truth track id -> GeoJSON feature (tags left out)."""

    frames: dict[int, dict[int, dict]]

    @classmethod
    def load(cls, path: Path) -> Truth:
        frames: dict[int, dict[int, dict]] = {}
        for feature in json.loads(path.read_text())["features"]:
            if feature["geometry"] is not None:
                properties = feature["properties"]
                frames.setdefault(properties["frame"], {})[properties["track_id"]] = feature
        return cls(frames)

    def on(self, frame: int) -> dict[int, dict]:
        return self.frames.get(frame, {})

    def last_frame(self, track_id: int) -> int:
        return max(frame for frame, features in self.frames.items() if track_id in features)


def napari_shape(feature: dict) -> tuple[np.ndarray, str]:
    """A feature's geometry as napari (y, x) vertices and a shape type; a lane as the few points one clicks."""
    geometry = feature["geometry"]
    if geometry["type"] == "LineString":
        points = np.array(geometry["coordinates"], dtype=float)[:, ::-1]
        return (clicks_along(points, LANE_CLICKS) if feature["properties"]["class"] == "lane-line" else points), "path"
    ring = np.array(geometry["coordinates"][0], dtype=float)[:-1, ::-1]
    return ring, "rectangle" if feature["properties"].get("shape") == "box" else "polygon"


def clicks_along(points: np.ndarray, count: int) -> np.ndarray:
    """``count`` points spread evenly by arc length along a polyline, both ends included."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    spots = np.linspace(0.0, arc[-1], count)
    return np.column_stack([np.interp(spots, arc, points[:, axis]) for axis in (0, 1)])


def center_of(feature: dict) -> tuple[float, float]:
    vertices, _ = napari_shape(feature)
    return tuple((vertices.min(axis=0) + vertices.max(axis=0)) / 2)


# ---------------------------------------------------------------- the session


@dataclass
class Session:
    viewer: napari.Viewer
    dock: object  # the dock widget holding the panel
    widget: object  # RoadLabelWidget
    video: Path  # the copy of the sample video that the project labels
    truth: Truth
    out: Path
    ids: dict[int, int] = field(default_factory=dict)  # ground-truth track id -> the id our drawing got
    shots: list[Path] = field(default_factory=list)

    @property
    def workspace(self):
        return self.widget.workspace

    def ours(self, truth_id: int) -> int:
        return self.ids[truth_id]


def open_sample(folder: Path, out: Path) -> Session:
    """Copy the sample video to ``folder`` and open it as a user would: a new, empty project beside it."""
    video, truth = sample_files()
    copy = Path(shutil.copy(video, folder / video.name))
    viewer = new_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-roadlabel", "Road labeling")
    widget.open_source(copy)
    settle()
    return Session(viewer, dock, widget, copy, Truth.load(truth), out)


def new_viewer() -> napari.Viewer:
    viewer = napari.Viewer(title="napari-roadlabel")
    viewer.window._qt_window.resize(*WINDOW)  # the size of every picture (as in roadlabel demo)
    return viewer


def settle() -> None:
    """Let Qt and the workspace catch up (layer refreshes run from the event loop)."""
    QApplication.instance().processEvents()


# ---------------------------------------------------------------- labeling


def draw(session: Session, truth_id: int, feature: dict) -> int:
    """Choose the feature's class, draw its shape in the layer that became active, give it its attributes."""
    workspace = session.workspace
    workspace.choose_class(feature["properties"]["class"])
    layer = session.viewer.layers.selection.active
    before = {track.id for track in workspace.project.tracks()}
    vertices, shape_type = napari_shape(feature)
    layer.add([vertices], shape_type=shape_type)
    [track_id] = {track.id for track in workspace.project.tracks()} - before
    session.ids[truth_id] = track_id
    workspace.set_attributes(track_id, feature["properties"]["attributes"])
    settle()
    return track_id


def draw_new_objects(session: Session, classes: set[str] | None = None) -> None:
    """Draw every ground-truth object of this frame not labeled yet (of ``classes``, when given)."""
    for truth_id, feature in session.truth.on(session.workspace.current_frame).items():
        if truth_id not in session.ids and (classes is None or feature["properties"]["class"] in classes):
            draw(session, truth_id, feature)


def follow_the_road(session: Session, *, attributes: bool = True) -> None:
    """Move every object on this frame onto the road and (with ``attributes``) fix per-frame ones that changed."""
    workspace = session.workspace
    truth = session.truth.on(workspace.current_frame)
    by_ours = {ours: truth[theirs] for theirs, ours in session.ids.items() if theirs in truth}
    editing = session.viewer.layers.selection.active
    for element, layer in list(workspace.layers.items()):
        if element.layer_type == "shapes":
            session.viewer.layers.selection.active = layer  # click the layer: the one edited is the live one
            move_shapes(layer, by_ours)
    session.viewer.layers.selection.active = editing
    for obj in workspace.project.objects_on(workspace.current_frame) if attributes else []:
        fix_attributes(workspace, obj, by_ours)
    settle()


def fix_attributes(workspace, obj, truth_of: dict[int, dict]) -> None:
    """Set the attributes in which the object differs from its ground truth (a light that changed, say)."""
    if obj.track.id in truth_of:
        wanted = truth_of[obj.track.id]["properties"]["attributes"]
        changed = {name: value for name, value in wanted.items() if obj.attributes.get(name) != value}
        if changed:
            workspace.set_attributes(obj.track.id, changed)


def move_shapes(layer, truth_of: dict[int, dict]) -> None:
    """Drag each shape of ``layer`` onto its ground truth (one edit of the layer, as napari makes it)."""
    ids = layer.features["track_id"].to_numpy()
    data = [napari_shape(truth_of[track_id])[0] if track_id in truth_of else vertices
            for track_id, vertices in zip(ids, layer.data, strict=True)]
    if any(new.shape != old.shape or not np.allclose(new, old) for new, old in zip(data, layer.data, strict=True)):
        layer.data = list(zip(data, layer.shape_type, strict=True))


def next_frame(session: Session, *, attributes: bool = True) -> None:
    """Click an empty spot (nothing selected) and Alt-N: everything goes to the next frame; then adjust it."""
    workspace = session.workspace
    workspace.select_track(None)
    workspace.copy_to_next_frame()
    follow_the_road(session, attributes=attributes)
    draw_new_objects(session)


def run_to(session: Session, frame: int) -> None:
    while session.workspace.current_frame < frame:
        next_frame(session)


def set_in_panel(session: Session, label: str, value) -> None:
    """Change a field of the Attributes section of the panel, as the annotator does."""
    editor = session.widget.panel.attributes
    next(field for field in editor if field.label == label).value = value
    settle()


def end_tracks_that_leave(session: Session) -> None:
    """On each object's last frame in the picture: select it and end its track there (Alt-E)."""
    workspace = session.workspace
    for truth_id, track_id in session.ids.items():
        last = session.truth.last_frame(truth_id)
        if last < workspace.frame_count - 1:
            workspace.go_to(last)
            workspace.select_track(track_id)
            workspace.end_track_here()
    workspace.select_track(None)
    settle()


def add_generic_objects(session: Session) -> None:
    """A box and a painted mask of the generic 'custom' class on this frame."""
    workspace = session.workspace
    workspace.choose_class("custom")  # its first geometry is a box: the Boxes layer becomes active
    x0, y0, x1, y1 = GANTRY_ON_EVERYTHING_FRAME
    before = {track.id for track in workspace.project.tracks()}
    session.viewer.layers.selection.active.add([np.array([[y0, x0], [y1, x1]], dtype=float)], shape_type="rectangle")
    [gantry] = {track.id for track in workspace.project.tracks()} - before
    workspace.set_attributes(gantry, {"label": "signal gantry"})
    paint_oncoming_lane(session)


def paint_oncoming_lane(session: Session) -> None:
    """Paint the lane left of the yellow line in the Masks layer, like a brush stroke that fills it."""
    workspace = session.workspace
    workspace.choose_class("custom", "mask")  # Draw: custom, as: mask
    masks = session.viewer.layers.selection.active
    truth = session.truth.on(workspace.current_frame)
    edge, yellow = (napari_shape(truth[truth_id])[0] for truth_id in (LEFT_EDGE, YELLOW_LINE))
    outline = np.vstack([edge, yellow[::-1], [[workspace.project.sequence.height - 1, 0]]])
    rows, cols = polygon_pixels(outline[:, 0], outline[:, 1], masks.data.shape)
    before = {track.id for track in workspace.project.tracks()}
    masks.data[rows, cols] = masks.selected_label
    masks.events.paint(value=[])  # what napari raises when a brush stroke ends
    [lane] = {track.id for track in workspace.project.tracks()} - before
    workspace.set_attributes(lane, {"label": "oncoming lane"})
    settle()


def undo_a_mistake(session: Session) -> None:
    """Delete a lane by mistake and take it back (Shift-Delete, then Control-Z)."""
    workspace = session.workspace
    workspace.select_track(session.ours(LEFT_EDGE))
    workspace.delete_selected(whole_track=True)
    workspace.undo()
    assert session.ours(LEFT_EDGE) in {track.id for track in workspace.project.tracks()}, "undo did not restore it"
    settle()


def export(session: Session, path: Path) -> None:
    """Press Export…, choose GeoJSON and ``path`` in the dialog, export, wait for it, close it."""
    button = next(b for b in session.widget.findChildren(QPushButton) if b.text().startswith("Export"))
    button.click()
    dialog = session.widget.export_dialog
    dialog.format.setCurrentText("geojson")
    dialog.out.setText(str(path))
    dialog.buttons.button(QDialogButtonBox.Ok).click()
    while dialog.worker is not None:
        settle()
        time.sleep(0.05)
    dialog.close()
    settle()


# ---------------------------------------------------------------- pictures


def look_at(viewer: napari.Viewer, center: tuple[float, float] | None = None, zoom: float = 1.0) -> None:
    """The whole frame in view (napari's home), or ``zoom`` times closer around ``center`` (y, x)."""
    viewer.reset_view()
    if center is not None:
        camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera  # napari 0.9 moved it
        camera.center = center
        camera.zoom *= zoom


def shoot(session: Session, name: str, viewer: napari.Viewer | None = None) -> Path:
    """Save the whole window as ``out/name.png`` (a palette PNG when the full-colour one is too big)."""
    viewer = viewer or session.viewer
    settle()
    for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
        toast.close()  # napari's pop-ups would cover the canvas
    viewer.help = ""  # napari's list of layer-mode keys would run over the status bar
    QTest.qWait(THUMBNAIL_DELAY_MS + 100)  # the layer list's thumbnails catch up once stepping pauses
    pixels = viewer.screenshot(canvas_only=False, flash=False)
    path = session.out / f"{name}.png"
    image = Image.fromarray(pixels[..., :3])
    image.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    session.shots.append(path)
    return path


def show_in_panel(session: Session, widget) -> None:
    """Scroll the Label tab so that ``widget`` shows (the panel is taller than the window)."""
    settle()  # let the panel lay out first: before that the scroll area does not know where the widget is
    session.widget._label_scroll.ensureWidgetVisible(widget, 0, 40)
    settle()


def show_tab(session: Session, title: str, width: int) -> None:
    """Show a tab of the panel, with the panel dragged to ``width`` pixels."""
    tabs = session.widget.findChild(QTabWidget)
    tabs.setCurrentIndex(next(index for index in range(tabs.count()) if tabs.tabText(index) == title))
    session.viewer.window._qt_window.resizeDocks([session.dock], [width], Qt.Horizontal)
    settle()


# ---------------------------------------------------------------- the story


def label_frame_zero(session: Session) -> None:
    """The lanes first (picture 2: the dashed one selected), then everything else on the frame."""
    draw_new_objects(session, {"lane-line"})
    workspace = session.workspace
    workspace.choose_class("lane-line")  # ready for the next lane, as the annotator leaves it
    workspace.select_track(session.ours(DASHED_LINE))
    look_at(session.viewer)
    shoot(session, "02-lanes")
    undo_a_mistake(session)
    draw_new_objects(session)


def light_changes(session: Session) -> None:
    """Pictures 3 and 4: the light turns red, then green; its state is set in the panel where it changes."""
    for frame, state in LIGHT_CHANGES:
        run_to(session, frame - 1)
        next_frame(session, attributes=False)  # the state is set in the panel below
        select_light(session)
        set_in_panel(session, "state (frame)", state)
        if state == "red":
            shoot_light(session, "03-light-red", zoom=4.0)
    run_to(session, TIMELINE_FRAME)
    select_light(session)
    shoot_light(session, "04-light-timeline", zoom=2.5)


def select_light(session: Session) -> None:
    """Choose the traffic-light class and select the light (Alt-4, then a click on it)."""
    workspace = session.workspace
    workspace.select_track(None)  # choosing a class would paint a selected light in the class's yellow
    workspace.choose_class("traffic-light")
    workspace.select_track(session.ours(LIGHT))
    settle()


def shoot_light(session: Session, name: str, zoom: float) -> None:
    """The light, zoomed, with the panel scrolled down to its attributes and timeline."""
    show_in_panel(session, session.widget.panel.timeline.text)
    frame = session.workspace.current_frame
    look_at(session.viewer, center_of(session.truth.on(frame)[LIGHT]), zoom=zoom)
    shoot(session, name)


def ghost(session: Session) -> None:
    """Picture 5: Alt-N, shapes moved onto the road, the previous frame's outlines beside them."""
    run_to(session, GHOST_FRAME)
    workspace = session.workspace
    workspace.select_track(None)
    workspace.show_ghost = True
    look_at(session.viewer, *GHOST_VIEW)
    shoot(session, "05-ghost")
    workspace.show_ghost = False


def everything(session: Session) -> None:
    """Picture 6: one frame with every kind of element, the speed-limit sign selected."""
    workspace = session.workspace
    workspace.go_to(EVERYTHING_FRAME)
    add_generic_objects(session)
    workspace.choose_class("traffic-sign")
    workspace.select_track(session.ours(SPEED_SIGN))
    look_at(session.viewer, *EVERYTHING_VIEW)
    shoot(session, "06-every-element")


def lane_curves(session: Session) -> None:
    """Picture 9: a lane selected where the road bends: its clicked points, the curve through them, the order."""
    workspace = session.workspace
    workspace.go_to(LANES_FRAME)
    workspace.choose_class("lane-line")
    workspace.select_track(session.ours(DASHED_LINE))
    look_at(session.viewer, *LANES_VIEW)
    shoot(session, "09-lane-curves")


def keys(session: Session) -> None:
    """Picture 8: the Keys tab, the panel dragged wider so that every line shows whole."""
    width = session.dock.width()
    show_tab(session, "Keys", 600)
    look_at(session.viewer)
    shoot(session, "08-keys")
    show_tab(session, "Label", width)


def check_export(session: Session, exported: Path) -> None:
    """Picture 7: the exported file opened over the video in a new napari window (File > Open)."""
    viewer = new_viewer()
    viewer.open(session.video, plugin="napari-roadlabel")
    viewer.open(exported, plugin="napari-roadlabel")
    viewer.dims.set_current_step(0, EVERYTHING_FRAME)
    look_at(viewer)
    shoot(session, "07-export", viewer)
    viewer.close()


def propagation(folder: Path, out: Path) -> Path:
    """Picture 10: the sample labeled on two keyframes only and propagated by flow, seen between them.

    A fresh project: every object drawn on frame 0, carried to the second keyframe
    with Alt-C and moved onto the road there; then the Propagate box (all objects,
    flow, forward, to the end) from frame 0, and the light's state set where it
    changes (frames 8 and 37: each becomes a keyframe, and the state holds after it).
    """
    folder.mkdir()
    session = open_sample(folder, out)
    workspace = session.workspace
    draw_new_objects(session)
    workspace.go_to(PROPAGATION_KEYFRAME)
    for truth_id in session.truth.on(PROPAGATION_KEYFRAME):
        if truth_id in session.ids:
            workspace.selected_track = session.ours(truth_id)
            workspace.continue_track()
    follow_the_road(session)
    draw_new_objects(session)
    workspace.go_to(0)
    workspace.select_track(None)
    controls = session.widget.panel.propagate
    controls.scope.value, controls.method.value, controls.direction.value, controls.until.value = (
        "all", "flow", "forward", "end")
    controls.button.clicked.emit()
    while workspace.propagation.running:
        settle()
        time.sleep(0.05)
    for frame, state in LIGHT_CHANGES:  # the light's state holds until a keyframe changes it: key the changes
        workspace.go_to(frame)
        select_light(session)
        set_in_panel(session, "state (frame)", state)
    workspace.go_to(PROPAGATION_FRAME)
    select_light(session)
    show_in_panel(session, controls.native)  # the box is at the bottom of the panel
    look_at(session.viewer)
    path = shoot(session, "10-propagated")
    session.viewer.close()
    return path


def label_the_clip(session: Session, exported: Path) -> None:
    look_at(session.viewer)
    shoot(session, "01-open")
    label_frame_zero(session)
    light_changes(session)
    ghost(session)
    run_to(session, session.workspace.frame_count - 1)
    end_tracks_that_leave(session)
    everything(session)
    lane_curves(session)
    keys(session)
    export(session, exported)


# ---------------------------------------------------------------- the guide's key table


def keys_table() -> str:
    """The key bindings as a Markdown table; runs that differ only by a number share a row."""
    rows: list[tuple[list[str], str]] = []
    for binding in BINDINGS:
        pattern = re.sub(r"\d+", "N", binding.description)
        if rows and re.sub(r"\d+", "N", rows[-1][1]) == pattern:
            rows[-1] = (rows[-1][0] + [binding.keys], pattern)
        else:
            rows.append(([binding.keys], binding.description))
    lines = ["| Keys | Does |", "|---|---|"]
    for keys, description in rows:
        shown = f"`{keys[0]}` … `{keys[-1]}`" if len(keys) > 2 else ", ".join(f"`{key}`" for key in keys)
        lines.append(f"| {shown} | {description} |")
    classes = ", ".join(f"{number} {name}" for number, name in
                        enumerate(drawable_classes(default_taxonomy())[:9], start=1))
    return "\n".join(lines) + f"\n\nClass numbers in the default taxonomy: {classes}.\n"


def update_guide(guide: Path) -> None:
    """Rewrite the key table between the markers of ``guide`` (when the guide has them)."""
    if not guide.is_file():
        return
    text = guide.read_text()
    start, end = text.find(KEYS_START), text.find(KEYS_END)
    if 0 <= start < end:
        guide.write_text(text[:start + len(KEYS_START)] + "\n" + keys_table() + text[end:])


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "images", help="folder for the PNGs")
    parser.add_argument("--guide", type=Path, default=DOCS / "annotating.md", help="guide whose key table to update")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        session = open_sample(Path(folder), args.out)
        exported = Path(folder) / "road_clip.geojson"
        label_the_clip(session, exported)
        session.viewer.close()
        check_export(session, exported)
        count = len(json.loads(exported.read_text())["features"])
        session.shots.append(propagation(Path(folder) / "propagation", args.out))
    update_guide(args.guide)
    for path in session.shots:
        print(f"{path}  {path.stat().st_size // 1000} KB")
    print(f"exported {count} features; {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
