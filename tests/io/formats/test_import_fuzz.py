"""Fuzz of the importers (issue 14): valid files of every format, made by exporting a small project, are mutated
(truncated, keys deleted, values of another type or of another place, items duplicated or shuffled, tokens and XML
attributes changed) and imported into a project, empty or holding work.  Every case must end in one of two ways:

* refused: a RoadlabelError of one line that starts with the imported file or folder, and the project unchanged
  (same tracks, states and tags, nothing to undo, no import report written);
* imported: what the report counts, by class and kind, is exactly what was added (and nothing the project held
  is changed), every stored geometry lies inside the image, and one undo takes it all back.

Anything else escaping an importer is a bug.  Each case is named
``<format>-<mutation>-seed<n>[-strict][-into-empty]``; its seed fixes the mutation's place and value, and a failure
says which, and where the mutated input is.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
import resource
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from napari_roadlabel.core import Project, RoadlabelError, SequenceInfo, box, make_geometry, make_mask
from napari_roadlabel.core.lanes import is_lane_class
from napari_roadlabel.io.formats.import_report import NOUNS
from napari_roadlabel.io.formats.registry import FOLDER_FORMATS, IMPORTERS, SUFFIXES, export_any

SEQUENCE = SequenceInfo("clip.mp4", 12, 160, 90, 10.0)  # no frame is read: the formats name frames, not pixels
EXPORTED = range(0, 5)  # frames written by the exports: few, so that most mutations hit labels
LEFT = [[10, 89], [40, 50], [60, 30]]
RIGHT = [[150, 89], [110, 50], [90, 30]]
MEMORY_HEADROOM = 1 << 30  # bytes of address space an import of these tiny files may take

JSON_MUTATIONS = ("truncate", "delete-key", "number-to-string", "number-to-bool", "number-to-nonfinite",
                  "number-to-huge", "number-to-negative", "number-to-fraction", "string-to-number", "list-to-dict",
                  "to-null", "duplicate-item", "shuffle-list", "number-swap", "string-swap")
TEXT_MUTATIONS = ("truncate", "drop-token", "duplicate-token", "alter-token", "drop-line", "duplicate-line",
                  "shuffle-lines")
XML_MUTATIONS = ("truncate", "delete-attribute", "attribute-to-text", "attribute-to-number", "attribute-swap",
                 "alter-point", "text-change", "duplicate-element", "delete-element", "shuffle-children")
# The formats a project exports (the prediction formats, imported only, have their own fuzz in test_predictions)
MUTATIONS = {"geojson": JSON_MUTATIONS, "bdd100k": JSON_MUTATIONS, "tusimple": JSON_MUTATIONS,
             "openlane": JSON_MUTATIONS, "coco": JSON_MUTATIONS, "culane": TEXT_MUTATIONS, "cvat": XML_MUTATIONS}
SEEDS = {"culane": range(6)}  # fewer kinds of mutation: more seeds each; 4 for the others
FOCUS = {"geojson": ("features",), "coco": ("annotations", "images")}  # where most of the mutations go
BAD_NUMBERS = {"number-to-nonfinite": [math.nan, math.inf, -math.inf], "number-to-huge": [1e300, 2 ** 63, 10 ** 30]}
BAD_TOKENS = ["nan", "inf", "-5", "1e12", "1e400", "x", "1.5.5", "-2", "/clip/000777.jpg", "/elsewhere/000001.jpg",
              "000001.jpg"]
BAD_ATTRIBUTES = {"attribute-to-text": ["", "abc", "1,2", "True"],
                  "attribute-to-number": ["nan", "inf", "-5", "1e12", "1.5", "99999999999999999999"]}


def _cases():
    """Every format, mutation and seed; the seed also picks strict or not, and the project (every 4 seeds cover
    the four pairs): an empty one takes the file's own track ids, one holding work gives fresh ids."""
    for fmt, mutations in MUTATIONS.items():
        for mutation in mutations:
            for seed in SEEDS.get(fmt, range(4)):
                strict, into = seed % 2 == 1, "empty" if seed // 2 % 2 else "holding-work"
                yield pytest.param(fmt, mutation, seed, strict, into, id=f"{fmt}-{mutation}-seed{seed}"
                                   f"{'-strict' if strict else ''}{'-into-empty' if into == 'empty' else ''}")


# ---------------------------------------------------------------- the valid files and the project imported into


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, dict[str, str]]:
    """format -> {path inside the export (the file's own name for one-file formats): text} of valid exports."""
    folder = tmp_path_factory.mktemp("originals")
    with Project.create(folder / "project", SEQUENCE) as project:
        _draw_road(project)
        for fmt in MUTATIONS:
            export_any(fmt, project, folder / _input_name(fmt), frames=EXPORTED)
    texts = {}
    for fmt in MUTATIONS:
        out = folder / _input_name(fmt)
        files = sorted(path for path in out.rglob("*") if path.is_file()) if out.is_dir() else [out]
        texts[fmt] = {str(path.relative_to(out)) if out.is_dir() else path.name: path.read_text() for path in files}
    return texts


def _draw_road(project: Project) -> None:
    """Lanes, boxes, a polygon, a point, keypoints, a mask and a tag, on frames 1..3 (each format takes its part)."""
    right = project.add_track("lane-line", {"color": "yellow"})
    left = project.add_track("lane-line")
    light = project.add_track("traffic-light")
    truck = project.add_track("vehicle", {"type": "truck"})
    for frame in (1, 2, 3):
        project.set_state(right.id, frame, make_geometry("polyline", np.add(RIGHT, [frame, 0])), {"style": "dashed"})
        project.set_state(left.id, frame, make_geometry("polyline", np.add(LEFT, [frame, 0])))
        project.set_state(light.id, frame, box(100, 5, 110, 30), {"state": "red" if frame < 3 else "green"})
        project.set_state(truck.id, frame, box(60.5, 40.25, 100, 70), {"occluded": frame == 2})
    project.set_state(project.add_track("crosswalk").id, 2, make_geometry("polygon", [[40, 70], [120, 70],
                                                                                       [125, 80], [35, 80]]))
    project.set_state(project.add_track("traffic-sign", {"type": "speed-limit", "value": 30}).id, 3,
                      make_geometry("point", [150.5, 10]))
    project.set_state(project.add_track("pedestrian").id, 3,
                      make_geometry("keypoints", [[70, 20], [72.5, 35], [69, 50]]))
    project.set_state(project.add_track("vehicle").id, 1, make_mask(np.ones((4, 4), bool), (5, 5)))
    project.add_tag("school-zone-active", 0, 3)


@pytest.fixture(scope="module")
def base_projects(tmp_path_factory) -> dict[str, Path]:
    """The projects imported into (each case into a copy): "empty", and "holding-work" (a car, a lane, a tag) that
    an import must leave as it was."""
    folder = tmp_path_factory.mktemp("base")
    Project.create(folder / "empty", SEQUENCE).close()
    with Project.create(folder / "holding-work", SEQUENCE) as project:
        car = project.add_track("vehicle")
        project.set_state(car.id, 1, box(1, 2, 30, 40))
        lane = project.add_track("lane-line")
        project.set_state(lane.id, 2, make_geometry("polyline", LEFT))
        project.add_tag("scene", 0, 11, {"weather": "rain"})
    return {"empty": folder / "empty", "holding-work": folder / "holding-work"}


def _input_name(fmt: str) -> str:
    return fmt if fmt in FOLDER_FORMATS else fmt + SUFFIXES[fmt]


def _write_input(folder: Path, fmt: str, texts: dict[str, str]) -> Path:
    """The files of one import under ``folder``; the path to give the importer."""
    target = folder / _input_name(fmt)
    for name, text in texts.items():
        path = target / name if fmt in FOLDER_FORMATS else target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return target


# ---------------------------------------------------------------- mutations


def _mutated(fmt: str, mutation: str, texts: dict[str, str], rng: random.Random) -> tuple[dict[str, str], str]:
    """A copy of the files with one mutation, and what it was (file, place, old and new value)."""
    texts = dict(texts)
    if mutation == "truncate":
        name = rng.choice([name for name, text in texts.items() if text])
        whole = texts[name]
        cut = rng.randrange(len(whole))
        texts[name] = whole[:cut]
        return texts, f"truncate {name} at character {cut} of {len(whole)}"
    if fmt == "culane":
        return _mutated_text(mutation, texts, rng)
    if fmt == "cvat":
        return _mutated_xml(mutation, texts, rng)
    return _mutated_json(fmt, mutation, texts, rng)


# JSON: every file parsed (TuSimple's lines as one list), one node changed, and written back the same way.

def _mutated_json(fmt: str, mutation: str, texts: dict[str, str], rng: random.Random) -> tuple[dict[str, str], str]:
    documents = {name: _parse(fmt, text) for name, text in texts.items()}
    candidates = [(name, path, value) for name, document in documents.items()
                  for path, value in _nodes(document) if _applies(mutation, path, value)]
    focused = [candidate for candidate in candidates if candidate[1][:1] in [(key,) for key in FOCUS.get(fmt, ())]]
    name, path, value = rng.choice(focused if focused and rng.random() < 0.8 else candidates)
    others = sorted({other for _, _, other in candidates if other != value}) if mutation.endswith("-swap") else []
    new = "(deleted)" if mutation == "delete-key" else _changed(mutation, value, rng, others)
    if mutation == "delete-key":
        del _get(documents[name], path[:-1])[path[-1]]
    elif path:
        _get(documents[name], path[:-1])[path[-1]] = new
    else:
        documents[name] = new
    texts[name] = _dump(fmt, documents[name])
    return texts, f"{mutation} at {name}:{_shown_path(path)}: {_short(value)} -> {_short(new)}"


def _parse(fmt: str, text: str):
    return [json.loads(line) for line in text.splitlines()] if fmt == "tusimple" else json.loads(text)


def _dump(fmt: str, document) -> str:
    if fmt == "tusimple" and isinstance(document, list):
        return "".join(json.dumps(line) + "\n" for line in document)
    return json.dumps(document)


def _nodes(value, path=()):
    yield path, value
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _nodes(child, (*path, key))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _applies(mutation: str, path: tuple, value) -> bool:
    if mutation == "delete-key":
        return bool(path) and isinstance(path[-1], str)
    if mutation.startswith("number-"):
        return _is_number(value)
    if mutation.startswith("string-"):
        return isinstance(value, str)
    if mutation == "list-to-dict":
        return isinstance(value, list)
    if mutation == "duplicate-item":
        return isinstance(value, list) and len(value) >= 1
    if mutation == "shuffle-list":
        return isinstance(value, list) and len({json.dumps(item) for item in value}) >= 2
    return bool(path)  # to-null


def _changed(mutation: str, value, rng: random.Random, others: list):
    """The node's new value; a swap takes one of ``others``, the file's other values of the node's type."""
    if mutation.endswith("-swap"):
        return rng.choice(others)
    if mutation in BAD_NUMBERS:
        return rng.choice(BAD_NUMBERS[mutation])
    if mutation == "number-to-string":
        return str(value)
    if mutation == "number-to-bool":
        return rng.choice([True, False])
    if mutation == "number-to-negative":
        return -abs(value) - rng.choice([0, 1, 1000])
    if mutation == "number-to-fraction":
        return value + 0.5
    if mutation == "string-to-number":
        return rng.choice([0, 7, -1])
    if mutation == "list-to-dict":
        return {str(index): item for index, item in enumerate(value)}
    if mutation == "to-null":
        return None
    if mutation == "duplicate-item":
        index = rng.randrange(len(value))
        return value[:index + 1] + [copy.deepcopy(value[index])] + value[index + 1:]
    if mutation == "shuffle-list":
        shuffled = list(value)
        while shuffled == value:
            rng.shuffle(shuffled)
        return shuffled
    raise ValueError(f"no such mutation: {mutation}")


def _get(document, path: tuple):
    for key in path:
        document = document[key]
    return document


def _shown_path(path: tuple) -> str:
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path) or "(the whole file)"


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# CULane: the list file's and the lines files' lines and tokens.

def _mutated_text(mutation: str, texts: dict[str, str], rng: random.Random) -> tuple[dict[str, str], str]:
    lines = {name: text.splitlines() for name, text in texts.items()}
    if mutation == "shuffle-lines":
        name = rng.choice([name for name, rows in lines.items() if len(set(rows)) >= 2])
        before = list(lines[name])
        while lines[name] == before:
            rng.shuffle(lines[name])
        where = f"{name}: lines in the order {[before.index(row) + 1 for row in lines[name]]}"
    elif mutation in ("drop-line", "duplicate-line"):
        name, number = rng.choice([(name, number) for name, rows in lines.items() for number in range(len(rows))])
        row = lines[name][number]
        lines[name][number:number + 1] = [] if mutation == "drop-line" else [row, row]
        where = f"{name}: line {number + 1} {_short(row)}"
    else:
        name, number, token = rng.choice([(name, number, token) for name, rows in lines.items()
                                          for number, row in enumerate(rows) for token in range(len(row.split()))])
        tokens = lines[name][number].split()
        old = tokens[token]
        tokens[token:token + 1] = {"drop-token": [], "duplicate-token": [old, old],
                                   "alter-token": [rng.choice(BAD_TOKENS)]}[mutation]
        lines[name][number] = " ".join(tokens)
        where = f"{name}: line {number + 1}, token {token + 1}: {old!r} -> {lines[name][number]!r}"
    texts[name] = "".join(row + "\n" for row in lines[name])
    return texts, f"{mutation} in {where}"


# CVAT: attributes and elements of the tracks and tags (and, one time in five, of anything in the file).

def _mutated_xml(mutation: str, texts: dict[str, str], rng: random.Random) -> tuple[dict[str, str], str]:
    (name, text), = texts.items()
    root = ET.fromstring(text)
    parents = {child: parent for parent in root.iter() for child in parent}
    in_tracks = [element for top in root if top.tag in ("track", "tag") for element in top.iter()]
    everything = [element for element in root.iter() if element is not root]
    element = rng.choice([element for element in (in_tracks if rng.random() < 0.8 else everything)
                          if _xml_applies(mutation, element, everything)] or
                         [element for element in everything if _xml_applies(mutation, element, everything)])
    place = "/".join(ancestor.tag + (f"#{ancestor.get('id')}" if ancestor.get("id") else "")
                     for ancestor in _ancestors(element, parents)) + f" {_short(element.attrib)}"
    if mutation == "attribute-swap":
        key = rng.choice(_swappable(element, everything))
        new = rng.choice(sorted({other.get(key) for other in everything if key in other.attrib} - {element.get(key)}))
        element.set(key, new)
        what = f"{key}={new!r}"
    elif mutation in ("delete-attribute", *BAD_ATTRIBUTES):
        key = rng.choice(sorted(element.attrib))
        new = element.attrib.pop(key) if mutation == "delete-attribute" else rng.choice(BAD_ATTRIBUTES[mutation])
        if mutation != "delete-attribute":
            element.set(key, new)
        what = f"{key}={new!r}"
    elif mutation == "alter-point":
        numbers = element.get("points").replace(";", ",").split(",")
        index = rng.randrange(len(numbers))
        numbers[index] = rng.choice(BAD_TOKENS[:8])
        pairs = [",".join(numbers[i:i + 2]) for i in range(0, len(numbers), 2)]
        element.set("points", ";".join(pairs))
        what = f"points={element.get('points')!r}"
    elif mutation == "text-change":
        element.text = rng.choice(["", "purple", "1e12", "nan"])
        what = f"text {element.text!r}"
    elif mutation == "shuffle-children":
        children = list(element)
        order = list(range(len(children)))
        while order == sorted(order):
            rng.shuffle(order)
        element[:] = [children[index] for index in order]
        what = f"children in the order {order}"
    else:
        parent = parents[element]
        index = list(parent).index(element)
        if mutation == "duplicate-element":
            parent.insert(index + 1, copy.deepcopy(element))
        else:
            parent.remove(element)
        what = f"child {index} of <{parent.tag}>"
    texts[name] = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
    return texts, f"{mutation} of {place}: {what}"


def _swappable(element: ET.Element, everything: list[ET.Element]) -> list[str]:
    """The element's attributes that another element gives another value."""
    return [key for key in sorted(element.attrib)
            if any(other.get(key, element.get(key)) != element.get(key) for other in everything)]


def _ancestors(element: ET.Element, parents: dict) -> list[ET.Element]:
    chain = [element]
    while chain[-1] in parents:
        chain.append(parents[chain[-1]])
    return chain[::-1]


def _xml_applies(mutation: str, element: ET.Element, everything: list[ET.Element]) -> bool:
    if mutation in ("delete-attribute", *BAD_ATTRIBUTES):
        return bool(element.attrib)
    if mutation == "attribute-swap":
        return bool(_swappable(element, everything))
    if mutation == "alter-point":
        return "points" in element.attrib
    if mutation == "text-change":
        return bool((element.text or "").strip())
    if mutation == "shuffle-children":
        return len(element) >= 2
    return True  # duplicate-element, delete-element


# ---------------------------------------------------------------- the two outcomes


def _contents(project: Project) -> tuple[dict, dict, dict]:
    """Every track, state and tag of the project by id, in a form that compares (geometry as its bytes)."""
    def plain(attributes):
        return json.dumps(dict(attributes), sort_keys=True, default=str)

    tracks = {track.id: (track.class_name, plain(track.attributes)) for track in project.tracks()}
    states = {(state.track_id, state.frame): (state.geometry.kind, state.geometry.to_bytes(), plain(state.attributes),
                                              state.source, state.confidence)
              for track_id in tracks for state in project.states_of(track_id)}
    tags = {tag.id: (tag.class_name, tag.start, tag.end, plain(tag.attributes), tag.source) for tag in project.tags()}
    return tracks, states, tags


def _reports(project: Project) -> list[str]:
    folder = project.folder / "imports"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


@contextlib.contextmanager
def _bounded_memory():
    """No import of these files may take more than MEMORY_HEADROOM of address space (issue 14, 7): past it, the
    allocation fails with MemoryError, which the test reports as a bug.  Linux only (where the size is known)."""
    statm = Path("/proc/self/statm")
    if not statm.is_file():
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = int(statm.read_text().split()[0]) * resource.getpagesize()
    limit = used + MEMORY_HEADROOM if hard == resource.RLIM_INFINITY else min(used + MEMORY_HEADROOM, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _import_and_check(fmt: str, source: Path, project_folder: Path, case: str, *, strict: bool = False) -> str:
    """Import ``source`` into the project and check the outcome; returns "refused" or "imported"."""
    with Project.open(project_folder) as project:
        before, reports = _contents(project), _reports(project)
        try:
            with _bounded_memory():
                report = IMPORTERS[fmt](project, source, strict=strict)
        except RoadlabelError as error:
            _check_refusal(project, error, source, before, reports, case)
            return "refused"
        except Exception as error:
            raise AssertionError(f"{case}: {type(error).__name__} escaped the importer (not a RoadlabelError): "
                                 f"{error!s:.300}") from error
        _check_import(project, report, before, reports, case, strict)
        return "imported"


def _check_refusal(project, error, source, before, reports, case):
    message = str(error)
    assert "\n" not in message and "\r" not in message, f"{case}: the refusal is not one line: {message!r}"
    assert message.startswith(str(source)), f"{case}: the refusal does not start with the file: {message!r}"
    assert _contents(project) == before, f"{case}: refused ({message}) but the project changed"
    assert project.undo() is None, f"{case}: refused ({message}) but it left a step to undo"
    assert _reports(project) == reports, f"{case}: refused ({message}) but an import report was written"


def _check_import(project, report, before, reports, case, strict):
    summary = report.summary()
    assert "\n" not in summary, f"{case}: the summary is not one line: {summary!r}"
    tracks, states, tags = after = _contents(project)
    for kept, was in zip(after, before, strict=True):
        changed = [key for key in was if kept.get(key) != was[key]]
        assert not changed, f"{case}: the import ({summary}) changed what the project held: {changed}"
    added = Counter()
    for key in states.keys() - before[1].keys():
        class_name, kind = tracks[key[0]][0], states[key][0]
        added[("lanes" if is_lane_class(class_name) else NOUNS[kind][1], class_name)] += 1
    for tag_id in tags.keys() - before[2].keys():
        added[("frame-range tags", tags[tag_id][0])] += 1
    counted = Counter({(plural, class_name): count for (_, plural, class_name), count in report.imported.items()})
    assert +counted == added, f"{case}: the summary says {summary!r}, but the project got {dict(added)}"
    assert report.total == added.total(), f"{case}: report.total {report.total}, stored {added.total()}"
    with_states = {track_id for track_id, _ in states}
    stateless = [track_id for track_id in tracks.keys() - before[0].keys() if track_id not in with_states]
    assert not stateless, f"{case}: tracks {stateless} were added without a state (not counted in {summary!r})"
    for track_id, frame in states.keys() - before[1].keys():
        _check_inside_image(project.state(track_id, frame).geometry, f"{case}: track {track_id}, frame {frame}")
    if strict:
        assert report.total and not (report.clipped or report.skipped or report.missing_frames), \
            f"{case}: imported with strict, yet {summary!r}"
    assert _reports(project) != reports, f"{case}: imported ({summary}) but no import report was written"
    undone = project.undo()  # one step takes it all back; an import that added nothing leaves none
    assert (undone is not None) == bool(added) and _contents(project) == before, \
        f"{case}: one undo ({undone}) does not take back what the import added ({summary})"


def _check_inside_image(geometry, where: str) -> None:
    points = geometry.points
    assert np.isfinite(points).all(), f"{where}: a stored point is not finite: {points.tolist()}"
    xmin, ymin, xmax, ymax = geometry.bounds()
    assert 0 <= xmin <= xmax <= SEQUENCE.width and 0 <= ymin <= ymax <= SEQUENCE.height, \
        f"{where}: the stored {geometry.kind} reaches outside the image ({xmin}, {ymin}, {xmax}, {ymax})"


def _fresh_project(base: Path, folder: Path) -> Path:
    shutil.copytree(base, folder / "project")
    return folder / "project"


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize("fmt", MUTATIONS)
def test_the_valid_files_import_and_count_what_they_add(fmt, strict, originals, base_projects, tmp_path):
    source = _write_input(tmp_path / "input", fmt, originals[fmt])
    project = _fresh_project(base_projects["holding-work"], tmp_path)
    assert _import_and_check(fmt, source, project, f"{fmt} unchanged", strict=strict) == "imported"


@pytest.mark.parametrize("fmt, mutation, seed, strict, into", list(_cases()))
def test_a_mutated_file_is_refused_in_one_line_or_imported_as_counted(fmt, mutation, seed, strict, into, originals,
                                                                      base_projects, tmp_path):
    texts, what = _mutated(fmt, mutation, originals[fmt], random.Random(f"{fmt}/{mutation}/{seed}"))
    source = _write_input(tmp_path / "input", fmt, texts)
    _import_and_check(fmt, source, _fresh_project(base_projects[into], tmp_path), f"{fmt} {what} (input: {source})",
                      strict=strict)


def _duplicate_geojson_feature(texts):
    data = json.loads(texts["geojson.geojson"])
    first = next(index for index, feature in enumerate(data["features"]) if feature["geometry"] is not None)
    data["features"].insert(first + 1, copy.deepcopy(data["features"][first]))
    return {"geojson.geojson": json.dumps(data)}


def _duplicate_bdd100k_label(texts):
    frames = json.loads(texts["bdd100k.json"])
    labels = next(frame["labels"] for frame in frames if frame.get("labels"))
    labels.append(copy.deepcopy(labels[0]))
    return {"bdd100k.json": json.dumps(frames)}


def _duplicate_coco_annotation(texts):
    data = json.loads(texts["coco.json"])
    twin = copy.deepcopy(data["annotations"][0])
    twin["id"] = max(annotation["id"] for annotation in data["annotations"]) + 1
    data["annotations"].append(twin)
    return {"coco.json": json.dumps(data)}


def _duplicate_cvat_shape(texts):
    root = ET.fromstring(texts["cvat.xml"])
    track = root.find("track")
    track.insert(1, copy.deepcopy(track[0]))
    return {"cvat.xml": ET.tostring(root, encoding="unicode")}


def _duplicate_openlane_lane(texts):
    frames = {name: json.loads(text) for name, text in texts.items()}
    name = next(name for name, frame in frames.items() if frame["lane_lines"])
    frames[name]["lane_lines"].append(copy.deepcopy(frames[name]["lane_lines"][0]))
    return {**texts, name: json.dumps(frames[name])}


@pytest.mark.parametrize("fmt, duplicate", [
    ("geojson", _duplicate_geojson_feature),  # track_id and frame
    ("bdd100k", _duplicate_bdd100k_label),  # id on a frame
    ("coco", _duplicate_coco_annotation),  # track_id on an image
    ("cvat", _duplicate_cvat_shape),  # two shapes of one track on one frame
    ("openlane", _duplicate_openlane_lane),  # track_id on a frame
])
def test_two_labels_of_one_identity_on_one_frame_are_refused_never_merged(fmt, duplicate, originals, base_projects,
                                                                           tmp_path):
    source = _write_input(tmp_path / "input", fmt, duplicate(originals[fmt]))
    project = _fresh_project(base_projects["holding-work"], tmp_path)
    assert _import_and_check(fmt, source, project, f"{fmt} duplicate identity") == "refused"


def _geojson_track_id(texts, track_id):
    data = json.loads(texts["geojson.geojson"])
    for feature in data["features"]:
        if feature["properties"]["track_id"] == 1:
            feature["properties"]["track_id"] = track_id
    return {"geojson.geojson": json.dumps(data)}


def _cvat_track_id(texts, track_id):
    return {"cvat.xml": texts["cvat.xml"].replace('<track id="1" ', f'<track id="{track_id}" ', 1)}


@pytest.mark.parametrize("track_id", [2 ** 63, 2 ** 63 - 1], ids=["2^63", "2^63-1"])
@pytest.mark.parametrize("fmt, with_track_id", [pytest.param("geojson", _geojson_track_id, id="geojson"),
                                                 pytest.param("cvat", _cvat_track_id, id="cvat")])
def test_a_file_track_id_past_what_the_store_holds_is_refused_or_leaves_room_for_new_tracks(
        fmt, with_track_id, track_id, originals, base_projects, tmp_path):
    """Found by this fuzz (geojson-number-to-huge-seed10-into-empty with 32 seeds): an empty project keeps a
    file's track ids, and SQLite holds 64-bit integers only."""
    source = _write_input(tmp_path / "input", fmt, with_track_id(originals[fmt], track_id))
    project = _fresh_project(base_projects["empty"], tmp_path)
    _import_and_check(fmt, source, project, f"{fmt} track id {track_id} into an empty project")
    with Project.open(project) as reopened:
        reopened.add_track("vehicle")  # an id is left for the next track, whatever the import did
