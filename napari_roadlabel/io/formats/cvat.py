"""CVAT for video 1.1: one XML file, ``<annotations>`` with the task's meta, one ``<track>`` per object, and tags.

    <annotations>
      <version>1.1</version>
      <meta><task> size, mode interpolation, start/stop frame, frame_filter, labels, original_size </task></meta>
      <track id="4" label="traffic-light" source="manual">
        <box frame="1" keyframe="1" outside="0" occluded="0" xtl="100.0" ytl="5.0" xbr="110.0" ybr="30.0" z_order="0">
          <attribute name="state">red</attribute> <attribute name="face">circle</attribute> ...
        </box>
        <box frame="2" keyframe="0" outside="0" ...>  (an interpolated state)
        <box frame="3" keyframe="1" outside="1" ...>  (the track has left: the frame after its last state)
      </track>
      <track id="7" label="pedestrian-skeleton" source="manual">
        <skeleton frame="1" keyframe="1" z_order="0">
          <points label="nose" keyframe="1" outside="0" occluded="0" points="40.5,12.25" />  (one per point)
          <attribute name="occluded">false</attribute>
        </skeleton>
      </track>
      <tag frame="5" label="school-zone-active" source="manual"> <attribute .../> </tag>
    </annotations>

Mapping (ours -> CVAT):

* a track -> a ``<track>`` with our track id and its class as ``label``; one shape element per frame
  where the track has a state: ``box`` (xtl ytl xbr ybr), ``polygon``, ``polyline`` (a lane line's
  control points exactly as placed) and ``points`` (a point or keypoints), coordinates written with
  full float precision.
* a skeleton track -> a track of the label ``<class>-skeleton`` (a CVAT label has one shape type, and a
  pedestrian may also be a box), each state a ``<skeleton frame keyframe z_order>`` with a ``<points
  label="<point>" keyframe outside occluded points="x,y">`` per point of the class's skeleton, as CVAT's
  exporter writes them (cvat/apps/dataset_manager/formats/cvat.py, dump_as_cvat_interpolation): an absent
  point ``outside="1"`` (at the middle of the placed points: CVAT keeps a position for every point), an
  occluded one ``occluded="1"``.  The ``<skeleton>`` has no outside or occluded flag of its own: the track
  ends with every point outside, and the class's ``occluded`` attribute is an ``<attribute>`` there.  The
  meta lists the skeleton label (``type`` skeleton, the class's attributes, CVAT's ``svg`` drawing of its
  points and edges) and each point as a ``points`` label whose ``parent`` is the skeleton label.
* ``keyframe="1"`` for manual states (our keyframes), ``"0"`` for interpolated, propagated, imported
  and suggested ones.  On the frame after a track's last state, and on the first frame of every gap,
  an ``outside="1"`` keyframe copy of the last shape ends it, as CVAT does (CVAT extends a track to
  the end of the task otherwise).  With ``frames``/``every`` "the frame after" is the next exported frame.
* per-frame attributes -> mutable label attributes, track-level ones -> immutable (``mutable`` False);
  CVAT writes both on every shape and so do we.  A bool ``occluded`` attribute is CVAT's own
  ``occluded`` flag and is not repeated as an ``<attribute>``.  Unset values are left out.
* frame-range tags (school zone active, scene): with ``tags=True``, one ``<tag frame= label=>`` under
  ``<annotations>`` per frame they cover (CVAT tags are per frame; CVAT 2.x lists tags for its video
  format).  Off by default: datumaro's CVAT reader (1.13) and CVAT 1.x's loader read ``<tag>`` only
  inside an ``<image>`` and fail on such a file; left out, the tags are counted in the report.
* ``<meta><task>``: ``size`` (frames exported), ``mode`` interpolation, ``start_frame``, ``stop_frame``,
  ``frame_filter`` (``step=N`` with ``every``), every taxonomy class as a label (``type`` tag for
  frame-range classes, else any) with its colour and attributes (``input_type`` select / checkbox /
  number / text, ``values``, ``default_value``), and ``original_size``.  Frame numbers are ours.

Not carried (counted in the mapping report): masks; a state whose shape type differs from the
track's first one (a CVAT track keeps one shape type); the source beyond the keyframe flag and the
confidence.  CVAT itself keeps only ``keyframe="1"`` shapes of a track when it uploads a file, and
re-interpolates between them: ``all_keyframes=True`` writes every state as a keyframe, for tracks
whose states came from propagation, an import or a model rather than from a person.

Import checks the whole file first: XML syntax (with the line), the root, every label against the
taxonomy, every frame against the sequence, every number (NaN refused), boxes (``xtl <= xbr``,
``ytl <= ybr``), shape types against the class, attribute names and values, one class and one set
of track-level attributes per track, a skeleton's point names against the class's skeleton (a
point the file leaves out is absent).  Errors name the file, the line and the element.  Shapes at
or past the image border are fitted to it by the import policy (``import_report``: clipped, or
skipped, and counted); a self-crossing polygon is refused.  Then, in one undo step, each CVAT
track becomes one track with a state on each of its frames that is not outside (a ``<skeleton>`` is
outside when every point is): ``keyframe="1"`` shapes get ``source`` (imported by default, manual to
take them as our keyframes), ``keyframe="0"`` ones become interpolated states, so the keyframe flag
survives.  CVAT track ids are kept when the project has never used them.  A ``<skeleton>`` is read
under its ``<class>-skeleton`` label, or under the class's own name (a skeleton label made in CVAT).
Runs of ``<tag>`` elements with the same label and attributes on consecutive (exported) frames
become one frame-range tag.  The XML is read
with expat and any DTD or entity declaration is refused (no entity expansion, no external fetch).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape

from ...core import (
    FormatError,
    FrameState,
    Geometry,
    GeometryKind,
    Project,
    RoadlabelError,
    Scope,
    Source,
    Track,
)
from ...core.geometry import ABSENT, VISIBLE
from ...core.geometry import OCCLUDED as OCCLUDED_POINT
from ...core.skeletons import STANDING_PERSON, Skeleton
from ...core.taxonomy import AttributeSpec, AttributeType, ClassSpec, Taxonomy
from .import_report import ImportReport, fit_skeleton_to_image, fit_to_image, keeps_file_ids
from .lane_frames import frames_to_export
from .report import MappingReport, export_file

CVAT_VERSION = "1.1"
SHAPE_ELEMENTS = {GeometryKind.BOX: "box", GeometryKind.POLYGON: "polygon", GeometryKind.POLYLINE: "polyline",
                  GeometryKind.POINT: "points", GeometryKind.KEYPOINTS: "points", GeometryKind.SKELETON: "skeleton"}
NO_MASKS = "masks are not carried to CVAT for video"
NOT_CARRIED = {GeometryKind.MASK: NO_MASKS}
SKELETON_SUFFIX = "-skeleton"  # a class's skeleton label: "pedestrian-skeleton"
ONE_SHAPE_TYPE = "a CVAT track keeps one shape type: a state of another kind is left out"
TAGS_LEFT_OUT = "frame-range tags are written only with tags=True (CVAT 2.x reads them; datumaro does not)"
OCCLUDED = "occluded"
_INDENTS = ["\n" + "  " * level for level in range(4)]  # ElementTree.indent's, by depth
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}  # and & < >, as ElementTree
INPUT_TYPES = {AttributeType.CHOICE: "select", AttributeType.BOOL: "checkbox", AttributeType.NUMBER: "number",
               AttributeType.TEXT: "text"}


# ---------------------------------------------------------------- export


def export_cvat(project: Project, path: str | Path, *, frames: range | None = None, every: int = 1,
                overwrite: bool = False, tags: bool = False, all_keyframes: bool = False,
                progress: Callable[[int], None] | None = None) -> MappingReport:
    """Write the project (every ``every``-th of ``frames``) as a CVAT for video 1.1 XML file, and the report."""
    path = Path(path)
    chosen = frames_to_export(project, frames, every)
    _check_skeleton_labels(project.taxonomy, path)
    report = MappingReport("cvat", progress=progress)
    report.drop_relations(project.relations(), chosen)
    with export_file(path, report, overwrite=overwrite, binary=True) as handle:
        for piece in _document(project, chosen, report, tags, all_keyframes):
            # As ElementTree writes UTF-8: characters it cannot encode (lone surrogates) as character references.
            handle.write(piece.encode("utf-8", "xmlcharrefreplace"))
    return report


def _document(project: Project, chosen: range, report: MappingReport, tags: bool,
              all_keyframes: bool) -> Iterator[str]:
    """The file's text, a track at a time, byte for byte as ElementTree wrote the whole tree indented.

    Tracks are written as text (escaped as ElementTree escapes): a long video's hundreds of thousands of
    elements, built and then serialized by ElementTree in Python, took most of an export's time and memory.
    """
    yield f'<?xml version="1.0" encoding="utf-8"?>\n<annotations>{_INDENTS[1]}<version>{CVAT_VERSION}</version>'
    meta = _meta(project, chosen)
    ET.indent(meta, level=1)
    yield _INDENTS[1] + ET.tostring(meta, encoding="unicode")
    for track in sorted(project.tracks(), key=lambda track: track.id):
        text = _track(project, track, chosen, report, all_keyframes)
        if text:
            yield _INDENTS[1] + text
    for tag in sorted(project.tags(), key=lambda tag: (tag.start, tag.class_name, tag.id)):
        spec = project.taxonomy[tag.class_name]
        for frame in chosen:
            if not tag.covers(frame):
                continue
            if not tags:
                report.drop(tag.class_name, TAGS_LEFT_OUT)
                continue
            yield _INDENTS[1] + _element("tag", f'frame="{frame}" label="{_quoted(tag.class_name)}" source="manual"',
                                         children=_attributes(spec, tag.attributes, 2), level=1)
            report.wrote(tag.class_name, tag.attributes, frozenset(tag.attributes))
    report.frame_done(len(chosen))  # tracks, not frames, are written one by one
    yield "\n</annotations>\n"


def _meta(project: Project, chosen: range) -> ET.Element:
    sequence = project.sequence
    meta = ET.Element("meta")
    task = ET.SubElement(meta, "task")
    last = chosen[-1] if len(chosen) else chosen.start
    for name, value in (("name", Path(sequence.source).name), ("size", len(chosen)), ("mode", "interpolation"),
                        ("overlap", 0), ("flipped", "False"), ("start_frame", chosen.start), ("stop_frame", last),
                        ("frame_filter", f"step={chosen.step}" if chosen.step != 1 else "")):
        ET.SubElement(task, name).text = str(value)
    labels = ET.SubElement(task, "labels")
    for spec in project.taxonomy:
        labels.append(_label(spec.name, spec.color, "tag" if spec.is_tag else "any",
                             [attribute for name, attribute in spec.attributes.items()
                              if not _is_occluded_flag(spec, name)]))
        if spec.skeleton is not None:
            labels.append(_label(skeleton_label(spec.name), spec.color, "skeleton", spec.attributes.values(),
                                 svg=_svg(spec.skeleton)))
            labels.extend(_label(point, spec.color, "points", [], parent=skeleton_label(spec.name))
                          for point in spec.skeleton.points)
    size = ET.SubElement(task, "original_size")
    ET.SubElement(size, "width").text = str(sequence.width)
    ET.SubElement(size, "height").text = str(sequence.height)
    ET.SubElement(meta, "source").text = Path(sequence.source).name
    return meta


def _label(name: str, color: str, kind: str, attributes, *, parent: str | None = None,
           svg: str | None = None) -> ET.Element:
    """A ``<label>`` of the task, its children in CVAT's order; a skeleton's point is a ``points`` label with its
    skeleton label as ``parent``, and the skeleton label has CVAT's drawing of it as ``svg``."""
    label = ET.Element("label")
    for tag, text in (("name", name), ("color", color), ("type", kind)):
        ET.SubElement(label, tag).text = text
    ET.SubElement(label, "attributes").extend(_attribute_meta(attribute) for attribute in attributes)
    for tag, text in (("parent", parent), ("svg", svg)):
        if text is not None:
            ET.SubElement(label, tag).text = text
    return label


def skeleton_label(class_name: str) -> str:
    """The CVAT label of a class's skeleton tracks.  A CVAT label has one shape type and a pedestrian may be a box
    too, so its skeletons go under a label of their own."""
    return class_name + SKELETON_SUFFIX


def _check_skeleton_labels(taxonomy: Taxonomy, path: Path) -> None:
    """RoadlabelError when a class is named like another class's skeleton label: CVAT label names are unique."""
    for spec in taxonomy:
        if spec.skeleton is not None and skeleton_label(spec.name) in taxonomy:
            raise RoadlabelError(path, f"class {skeleton_label(spec.name)!r} has the name of class "
                                                  f"{spec.name!r}'s skeleton label in CVAT: rename it to export")


def _svg(skeleton: Skeleton) -> str:
    """CVAT's drawing of a skeleton label on its editor's 100 x 100 canvas: a line per edge, a circle per point
    (``data-label-name``, its sublabel).  COCO's points stand as a person; any others in a column at the right."""
    column = iter(range(len(skeleton.points)))
    places = [[_number(round(100 * fraction, 2)) for fraction in STANDING_PERSON.get(name) or
               (0.95, (next(column) + 0.5) / len(skeleton.points))] for name in skeleton.points]
    lines = [f'<line x1="{places[a][0]}" y1="{places[a][1]}" x2="{places[b][0]}" y2="{places[b][1]}" stroke="black" '
             f'data-type="edge" data-node-from="{a + 1}" stroke-width="0.5" data-node-to="{b + 1}"></line>'
             for a, b in skeleton.edge_indices()]
    circles = [f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{x}" cy="{y}" stroke-width="0.1" '
               f'data-type="element node" data-element-id="{node}" data-node-id="{node}" '
               f'data-label-name="{_quoted(name)}"></circle>'
               for node, (name, (x, y)) in enumerate(zip(skeleton.points, places, strict=True), start=1)]
    return "".join(lines + circles)


def _attribute_meta(attribute: AttributeSpec) -> ET.Element:
    element = ET.Element("attribute")
    if attribute.type is AttributeType.CHOICE:
        values, default = list(attribute.values), attribute.default or attribute.values[0]
    elif attribute.type is AttributeType.BOOL:
        values, default = ["false", "true"], "true" if attribute.default else "false"
    elif attribute.type is AttributeType.NUMBER:
        low = attribute.minimum if attribute.minimum is not None else -1e9
        high = attribute.maximum if attribute.maximum is not None else 1e9
        values = [_number(low), _number(high), "1"]  # CVAT: min;max;step
        default = _number(attribute.default if attribute.default is not None else low)
    else:
        values, default = [], attribute.default or ""
    for name, value in (("name", attribute.name), ("mutable", str(attribute.scope is Scope.FRAME)),
                        ("input_type", INPUT_TYPES[attribute.type]), ("default_value", default),
                        ("values", "\n".join(values))):
        ET.SubElement(element, name).text = str(value)
    return element


def _track(project: Project, track: Track, chosen: range, report: MappingReport, all_keyframes: bool) -> str:
    """The ``<track>`` element of a track's states on the chosen frames ("" when it has none)."""
    shapes = _shapes(project.states_of(track.id), track.class_name, chosen, report)
    if not shapes:
        return ""
    spec = project.taxonomy[track.class_name]
    carried = frozenset(spec.attributes)
    kind = shapes[0].geometry.kind
    writer = _ShapeWriter(spec, kind)
    children = []
    for index, state in enumerate(shapes):
        attributes = {**track.attributes, **state.attributes}
        children.append(writer.shape(state.geometry, state.frame, attributes,
                                     keyframe=all_keyframes or state.is_keyframe, outside=False))
        report.wrote(track.class_name, attributes, carried)
        position = chosen.index(state.frame) + 1
        following = shapes[index + 1].frame if index + 1 < len(shapes) else None
        if position < len(chosen) and chosen[position] != following:
            children.append(writer.shape(state.geometry, chosen[position], attributes, keyframe=True, outside=True))
    source = "manual" if any(state.is_keyframe for state in shapes) else "auto"
    label = skeleton_label(track.class_name) if kind is GeometryKind.SKELETON else track.class_name
    return _element("track", f'id="{track.id}" label="{_quoted(label)}" source="{source}"',
                    children="".join(_INDENTS[2] + child for child in children), level=1)


def _shapes(states: list[FrameState], class_name: str, chosen: range, report: MappingReport) -> list[FrameState]:
    """The states on the chosen frames that CVAT can hold: no masks, and only the track's first shape type."""
    shapes: list[FrameState] = []
    for state in states:
        if state.frame not in chosen:
            continue
        if state.geometry.kind in NOT_CARRIED:
            report.drop(class_name, NOT_CARRIED[state.geometry.kind])
        elif shapes and SHAPE_ELEMENTS[state.geometry.kind] != SHAPE_ELEMENTS[shapes[0].geometry.kind]:
            report.drop(class_name, ONE_SHAPE_TYPE)
        else:
            shapes.append(state)
    return shapes


class _ShapeWriter:
    """Shape elements of one class's track.  The ``<attribute>`` children are written once per set of values:
    a track keeps the same values over long runs of frames."""

    def __init__(self, spec: ClassSpec, kind: GeometryKind):
        self.spec = spec
        # A <skeleton> has no occluded flag (its points have theirs): there the class's occluded is an <attribute>.
        self.occluded_flag = kind is not GeometryKind.SKELETON and _is_occluded_flag(spec, OCCLUDED)
        self.children: dict[tuple, str] = {}  # attribute values -> their elements

    def shape(self, geometry: Geometry, frame: int, attributes: dict[str, Any], *, keyframe: bool,
              outside: bool) -> str:
        key = tuple(attributes.items())
        if key not in self.children:
            self.children[key] = _attributes(self.spec, attributes, 3, occluded_flag=self.occluded_flag)
        if geometry.kind is GeometryKind.SKELETON:  # as CVAT writes it: no outside or occluded of its own
            points = _skeleton_points(geometry, self.spec.skeleton, keyframe=keyframe, outside=outside)
            return _element("skeleton", f'frame="{frame}" keyframe="{keyframe:d}" z_order="0"',
                            children=points + self.children[key], level=2)
        occluded = bool(attributes.get(OCCLUDED)) if self.occluded_flag else False
        return _element(SHAPE_ELEMENTS[geometry.kind], f'frame="{frame}" keyframe="{keyframe:d}" outside="{outside:d}" '
                                                       f'occluded="{occluded:d}" {_coordinates(geometry)} z_order="0"',
                        children=self.children[key], level=2)


def _skeleton_points(geometry: Geometry, skeleton: Skeleton, *, keyframe: bool, outside: bool) -> str:
    """A skeleton state's ``<points label="<point>">``, one per point of the class's skeleton, each a line at level 3.
    CVAT keeps a position for every point: an absent one is ``outside`` at the middle of the placed ones."""
    middle = geometry.present_points().mean(axis=0)
    elements = []
    for name, point, visibility in zip(skeleton.points, geometry.points, geometry.visibility, strict=True):
        absent = visibility == ABSENT
        x, y = (_number(value) for value in (middle if absent else point))
        elements.append(_INDENTS[3] + _element(
            "points", f'label="{_quoted(name)}" keyframe="{keyframe:d}" outside="{int(outside or absent)}" '
                      f'occluded="{int(visibility == OCCLUDED_POINT)}" points="{x},{y}"'))
    return "".join(elements)


def _coordinates(geometry: Geometry) -> str:
    """The shape's coordinate attributes: a box's corners, else its points."""
    numbers = [_number(value) for value in geometry.points.ravel().tolist()]
    if geometry.kind is GeometryKind.BOX:
        return 'xtl="{}" ytl="{}" xbr="{}" ybr="{}"'.format(*numbers)
    return f'points="{";".join(map(",".join, zip(numbers[::2], numbers[1::2], strict=True)))}"'


def _attributes(spec: ClassSpec, attributes: dict[str, Any], level: int, *, occluded_flag: bool = True) -> str:
    """The ``<attribute>`` children of an element, each starting a line at ``level``; ``occluded`` among them when
    the element has no ``occluded_flag`` to carry it."""
    children = []
    for name, value in attributes.items():
        if value is None or (occluded_flag and _is_occluded_flag(spec, name)):
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else (
            _number(value) if isinstance(value, (int, float)) else str(value))
        children.append(_INDENTS[level] + _element("attribute", f'name="{_quoted(name)}"', text=escape(text)))
    return "".join(children)


def _element(name: str, attributes: str, *, text: str = "", children: str = "", level: int = 0) -> str:
    """One element as ElementTree writes it indented: its escaped ``text``, or its ``children`` (each starting a
    line at ``level + 1``), and then the end tag on a line of its own at ``level``."""
    if children:
        return f"<{name} {attributes}>{children}{_INDENTS[level]}</{name}>"
    return f"<{name} {attributes}>{text}</{name}>" if text else f"<{name} {attributes} />"


def _quoted(value: str) -> str:
    """An attribute value escaped as ElementTree escapes it."""
    return escape(value, _ATTRIBUTE_ENTITIES)


def _is_occluded_flag(spec: ClassSpec, name: str) -> bool:
    """A bool attribute called ``occluded`` is carried by CVAT's own occluded flag."""
    attribute = spec.attributes.get(name)
    return name == OCCLUDED and attribute is not None and attribute.type is AttributeType.BOOL


def _number(value: float) -> str:
    """Full precision, and whole numbers without a trailing .0."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2 ** 53 else repr(value)


# ---------------------------------------------------------------- import


@dataclass
class _ParsedTrack:
    cvat_id: int
    class_name: str
    place: str
    track_attributes: dict[str, Any] | None = None
    states: list[tuple[int, Geometry, dict[str, Any], bool]] = field(default_factory=list)  # frame, ..., keyframe


@dataclass
class _ParsedTag:
    class_name: str
    frame: int
    attributes: dict[str, Any]


def import_cvat(project: Project, path: str | Path, *, source: Source = Source.IMPORTED,
                strict: bool = False) -> ImportReport:
    """Add every CVAT track (and tag run) of the file; returns the import's report, also written into the project.

    All or nothing: the whole file is checked before the first track is added, in one undo step.
    """
    path = Path(path)
    report = ImportReport("cvat", str(path), strict=strict)
    root, lines = _parse(path)
    if root.tag != "annotations":
        raise FormatError(path, f"the root element is <{root.tag}>, not <annotations>: not a CVAT XML file",
                          place="line 1")
    reader = _Reader(project, path, lines, report)
    step = reader.frame_step(root)
    tracks = [reader.track(element) for element in root.findall("track")]
    seen: dict[int, str] = {}
    for track in tracks:
        if track.cvat_id in seen:
            raise FormatError(path, f"track id {track.cvat_id} is used twice (first {seen[track.cvat_id]})",
                              place=track.place)
        seen[track.cvat_id] = track.place
    tracks = [track for track in tracks if track.states]  # outside everywhere, or every shape skipped: nothing
    runs = _tag_runs([reader.tag(element) for element in root.findall("tag")], step)
    kept_ids = [track.cvat_id for track in tracks]
    keep_ids = keeps_file_ids(project, kept_ids)
    with project.group(f"import CVAT {path.name}"):
        for track in sorted(tracks, key=lambda track: track.cvat_id):
            added = project.add_track(track.class_name, track.track_attributes,
                                      track_id=track.cvat_id if keep_ids else None)
            for frame, geometry, attributes, keyframe in sorted(track.states, key=lambda state: state[0]):
                project.set_state(added.id, frame, geometry, attributes,
                                  source=source if keyframe else Source.INTERPOLATED)
                report.added(track.class_name, geometry.kind)
        for class_name, start, end, attributes in runs:
            project.add_tag(class_name, start, end, attributes, source=source)
            report.added(class_name, GeometryKind.TAG)
    report.write_into(project)
    return report


def _parse(path: Path) -> tuple[ET.Element, dict[ET.Element, int]]:
    """The element tree and each element's line; malformed XML and any DTD raise FormatError with the line."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FormatError(path, f"cannot read the file ({error.strerror or error})") from error
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}
    parser = expat.ParserCreate()

    def start(tag: str, attributes: dict[str, str]) -> None:
        lines[builder.start(tag, attributes)] = parser.CurrentLineNumber

    def refuse_dtd(*_: Any) -> None:
        raise FormatError(path, "a DTD or entity declaration is not allowed in a CVAT file",
                          place=f"line {parser.CurrentLineNumber}")

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise FormatError(path, f"not well-formed XML ({expat.ErrorString(error.code)})",
                          place=f"line {error.lineno}, column {error.offset + 1}") from None
    return builder.close(), lines


def _tag_runs(tags: list[_ParsedTag], step: int) -> list[tuple[str, int, int, dict[str, Any]]]:
    """Tags with the same label and attributes on frames ``step`` apart, as (class, first, last, attributes)."""
    runs: list[tuple[str, int, int, dict[str, Any]]] = []
    for tag in sorted(tags, key=lambda tag: (tag.class_name, sorted(tag.attributes.items(), key=str), tag.frame)):
        if runs and runs[-1][0] == tag.class_name and runs[-1][3] == tag.attributes and \
                tag.frame - runs[-1][2] in (0, step):
            runs[-1] = (tag.class_name, runs[-1][1], tag.frame, tag.attributes)
        else:
            runs.append((tag.class_name, tag.frame, tag.frame, tag.attributes))
    return runs


def _class_of_label(taxonomy: Taxonomy, label: str) -> ClassSpec | None:
    """The class a CVAT label names: a class, or a skeleton class's skeleton label ("pedestrian-skeleton")."""
    if label in taxonomy:
        return taxonomy[label]
    base = label.removesuffix(SKELETON_SUFFIX)
    if base != label and base in taxonomy and taxonomy[base].skeleton is not None:
        return taxonomy[base]
    return None


class _Reader:
    """Checks elements against the project, raising FormatError(file, reason, "line N, <element ...>")."""

    def __init__(self, project: Project, path: Path, lines: dict[ET.Element, int], report: ImportReport):
        self.project = project
        self.path = path
        self.lines = lines
        self.report = report

    def place(self, element: ET.Element, owner: str = "") -> str:
        shown = " ".join(f'{key}="{element.get(key)}"' for key in ("id", "frame", "label") if key in element.attrib)
        return f"line {self.lines.get(element, '?')}, <{element.tag}{' ' + shown if shown else ''}>{owner}"

    def fail(self, element: ET.Element, reason: str, owner: str = "") -> FormatError:
        return FormatError(self.path, reason, place=self.place(element, owner))

    def frame_step(self, root: ET.Element) -> int:
        element = root.find("meta/task/frame_filter")
        match = re.fullmatch(r"\s*step\s*=\s*(\d+)\s*", element.text or "") if element is not None else None
        return max(1, int(match.group(1))) if match else 1

    def spec(self, element: ET.Element, *, tag: bool) -> ClassSpec:
        label = element.get("label")
        if label is None:
            raise self.fail(element, "no label")
        spec = _class_of_label(self.project.taxonomy, label)
        if spec is None:
            raise self.fail(element, f"unknown label {label!r} (the project's taxonomy has "
                                     f"{sorted(self.project.taxonomy.classes)})")
        if spec.is_tag != tag:
            kind = "a frame-range class: it belongs in <tag>" if spec.is_tag else "not a frame-range class"
            raise self.fail(element, f"label {label!r} is {kind}")
        return spec

    def integer(self, element: ET.Element, name: str, owner: str = "") -> int:
        value = element.get(name)
        if value is None or not re.fullmatch(r"\s*[+-]?\d+\s*", value):
            raise self.fail(element, f"{name} must be a whole number, got {value!r}", owner)
        return int(value)

    def flag(self, element: ET.Element, name: str, owner: str, default: str | None = None) -> bool:
        value = element.get(name, default)
        if value not in ("0", "1"):
            raise self.fail(element, f"{name} must be 0 or 1, got {value!r}", owner)
        return value == "1"

    def frame(self, element: ET.Element, owner: str = "") -> int:
        frame = self.integer(element, "frame", owner)
        count = self.project.sequence.frame_count
        if not 0 <= frame < count:
            raise self.fail(element, f"frame {frame} is outside the sequence (0..{count - 1})", owner)
        return frame

    def track(self, element: ET.Element) -> _ParsedTrack:
        spec = self.spec(element, tag=False)
        parsed = _ParsedTrack(self.integer(element, "id"), spec.name, self.place(element))
        owner = f" of track {parsed.cvat_id}"
        skeleton_label = element.get("label") != spec.name
        frames: set[int] = set()
        for child in element:
            if child.tag not in ("box", "polygon", "polyline", "points", "skeleton"):
                raise self.fail(child, f"<{child.tag}> is not supported (box, polygon, polyline, points, skeleton)",
                                owner)
            if skeleton_label and child.tag != "skeleton":
                raise self.fail(child, f"label {element.get('label')!r} is a skeleton label: its shapes are "
                                       "<skeleton>", owner)
            frame = self.frame(child, owner)
            if frame in frames:
                raise self.fail(child, f"a second shape on frame {frame}", owner)
            frames.add(frame)
            keyframe = self.flag(child, "keyframe", owner)
            if self.outside(child, owner):
                continue
            # A <skeleton> has no occluded flag of its own: there the class's occluded is an <attribute>.
            occluded = self.flag(child, "occluded", owner, default="0") if child.tag != "skeleton" else None
            geometry = self.geometry(child, spec, owner)
            track_level, frame_level = self.attributes(child, spec, owner, occluded)
            if parsed.track_attributes is None:
                parsed.track_attributes = track_level
            elif track_level != parsed.track_attributes:
                raise self.fail(child, f"track-level attributes {track_level} differ from the track's first shape "
                                       f"({parsed.track_attributes})", owner)
            if geometry is not None:  # None: skipped by the border policy, and counted
                parsed.states.append((frame, geometry, frame_level, keyframe))
        return parsed

    def outside(self, element: ET.Element, owner: str) -> bool:
        """CVAT's outside flag.  CVAT writes none on a ``<skeleton>`` (nor reads one): it is outside when all its
        points are."""
        if element.tag != "skeleton":
            return self.flag(element, "outside", owner)
        return self.flag(element, "outside", owner, default="0") or all(
            self.flag(point, "outside", f" in {self.place(element)}{owner}", default="0")
            for point in element.findall("points"))

    def geometry(self, element: ET.Element, spec: ClassSpec, owner: str) -> Geometry | None:
        """The shape as a geometry its class takes, fitted to the image (import_report's policy); None: skipped."""
        if element.tag == "skeleton":
            self.check_kind(element, spec, GeometryKind.SKELETON, owner)
            return fit_skeleton_to_image(self.skeleton(element, spec, owner), self.project, self.report,
                                         self.path, self.place(element, owner))
        if element.tag == "box":
            if "rotation" in element.attrib and self.coordinate(element, "rotation", owner) != 0:
                raise self.fail(element, "rotated boxes are not supported", owner)
            xtl, ytl, xbr, ybr = (self.coordinate(element, name, owner) for name in ("xtl", "ytl", "xbr", "ybr"))
            if xtl > xbr or ytl > ybr:
                raise self.fail(element, f"the box's top-left corner ({xtl:g}, {ytl:g}) is not above and left of its "
                                         f"bottom-right corner ({xbr:g}, {ybr:g})", owner)
            kind, points = GeometryKind.BOX, [[xtl, ytl], [xbr, ybr]]
        else:
            points = self.points(element, owner)
            kind = {"polygon": GeometryKind.POLYGON, "polyline": GeometryKind.POLYLINE}.get(element.tag) or (
                self.points_kind(spec, len(points)))
        self.check_kind(element, spec, kind, owner)
        return fit_to_image(kind, points, self.project, self.report, self.path, self.place(element, owner))

    def check_kind(self, element: ET.Element, spec: ClassSpec, kind: GeometryKind, owner: str) -> None:
        if kind not in spec.geometry:
            raise self.fail(element, f"class {spec.name!r} takes {[k.value for k in spec.geometry]}, not {kind.value}",
                            owner)

    def skeleton(self, element: ET.Element, spec: ClassSpec, owner: str) -> Geometry:
        """A ``<skeleton>``'s ``<points label="<point>">`` as a state of the class's skeleton: an outside point is
        absent, an occluded one occluded, else visible; a point it leaves out is absent."""
        owner, skeleton = f" in {self.place(element)}{owner}", spec.skeleton
        names: list[str] = []
        points, visibility = [], []
        for child in element:
            if child.tag not in ("points", "attribute"):
                raise self.fail(child, f"<{child.tag}> in a <skeleton> is not supported (points, attribute)", owner)
            if child.tag == "attribute":
                continue
            name = child.get("label")
            if name not in skeleton.points:
                raise self.fail(child, f"class {spec.name!r} has no skeleton point {name!r} (it has "
                                       f"{', '.join(skeleton.points)})", owner)
            if name in names:
                raise self.fail(child, f"point {name!r} is given twice", owner)
            if child.find("attribute") is not None:
                raise self.fail(child, "attributes of skeleton points are not supported", owner)
            placed = self.points(child, owner)
            if len(placed) != 1:
                raise self.fail(child, f"a skeleton point has one 'x,y', got {len(placed)}", owner)
            names.append(name)
            if self.flag(child, "outside", owner, default="0"):
                points.append([math.nan, math.nan])
                visibility.append(ABSENT)
            else:
                points.append(placed[0])
                visibility.append(OCCLUDED_POINT if self.flag(child, "occluded", owner, default="0") else VISIBLE)
        return skeleton.state_from(points, visibility, names)

    def points_kind(self, spec: ClassSpec, count: int) -> GeometryKind:
        """CVAT ``points`` is our point (one) or keypoints, as the class allows."""
        if GeometryKind.POINT in spec.geometry and (count == 1 or GeometryKind.KEYPOINTS not in spec.geometry):
            return GeometryKind.POINT
        return GeometryKind.KEYPOINTS

    def coordinate(self, element: ET.Element, name: str, owner: str) -> float:
        text = element.get(name)
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise self.fail(element, f"{name} must be a number, got {text!r}", owner) from None
        if not math.isfinite(value):
            raise self.fail(element, f"{name} is not a finite number: {text!r}", owner)
        return value

    def points(self, element: ET.Element, owner: str) -> list[list[float]]:
        text = element.get("points")
        if not text:
            raise self.fail(element, "no points", owner)
        points = []
        for pair in text.strip().split(";"):
            try:
                x, y = (float(value) for value in pair.split(","))
            except ValueError:
                raise self.fail(element, f"points must be 'x,y;x,y;...', got {pair!r}", owner) from None
            if not (math.isfinite(x) and math.isfinite(y)):
                raise self.fail(element, f"point {pair!r} is not finite", owner)
            points.append([x, y])
        return points

    def attributes(self, element: ET.Element, spec: ClassSpec, owner: str,
                   occluded: bool | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(track-level, per-frame) values of the element's ``<attribute>`` children, checked."""
        values: dict[str, Any] = {}
        for child in element.findall("attribute"):
            name = child.get("name")
            attribute = spec.attributes.get(name)
            if attribute is None:
                raise self.fail(child, f"class {spec.name!r} has no attribute {name!r} (has "
                                       f"{sorted(spec.attributes)})", f" in {self.place(element)}{owner}")
            values[name] = self.value(child, attribute, f" in {self.place(element)}{owner}")
        if occluded is not None and _is_occluded_flag(spec, OCCLUDED):
            values.setdefault(OCCLUDED, occluded)
        try:
            return spec.split_attributes(values)
        except RoadlabelError as error:
            raise self.fail(element, error.reason, owner) from None

    def value(self, element: ET.Element, attribute: AttributeSpec, owner: str) -> Any:
        text = (element.text or "").strip() if attribute.type is not AttributeType.TEXT else element.text or ""
        if attribute.type is AttributeType.BOOL:
            if text.lower() not in ("true", "false"):
                raise self.fail(element, f"attribute {attribute.name!r} must be true or false, got {text!r}", owner)
            return text.lower() == "true"
        if attribute.type is AttributeType.NUMBER:
            try:
                number = float(text)
            except ValueError:
                raise self.fail(element, f"attribute {attribute.name!r} must be a number, got {text!r}",
                                owner) from None
            if not math.isfinite(number):
                raise self.fail(element, f"attribute {attribute.name!r} is not a finite number: {text!r}", owner)
            return int(number) if number.is_integer() else number
        return text

    def tag(self, element: ET.Element) -> _ParsedTag:
        spec = self.spec(element, tag=True)
        frame = self.frame(element)
        track_level, _ = self.attributes(element, spec, "")
        return _ParsedTag(spec.name, frame, track_level)
