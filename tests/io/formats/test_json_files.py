"""The JSON exports' writer (a document with arrays encoded a batch at a time is what json.dumps writes), and the
reader's refusals."""

import json

import pytest

from napari_roadlabel.core import FormatError
from napari_roadlabel.io.formats.json_files import JSONArray, load_json, write_export
from napari_roadlabel.io.formats.report import MappingReport, report_path

BATCHES = [[{"id": 1, "points": [0.1, 2.0, 1e16]}], [], [{"name": "é \"q\" <&>"}, None, [], {}], [3]]


def test_arrays_encoded_a_batch_at_a_time_are_written_as_json_dumps_writes_the_whole_document(tmp_path):
    images, empty = JSONArray(), JSONArray()
    for batch in BATCHES:
        images.extend(batch)
    items = [item for batch in BATCHES for item in batch]
    document = {"info": {"year": 2024}, "images": images, "none": empty, "licenses": []}
    report = write_export(tmp_path / "d.json", document, MappingReport("test"), overwrite=False)
    expected = {"info": {"year": 2024}, "images": items, "none": [], "licenses": []}
    assert (tmp_path / "d.json").read_text(encoding="utf-8") == json.dumps(expected) + "\n"
    assert report_path(tmp_path / "d.json").exists() and report.format == "test"


def test_an_array_alone_and_a_plain_document_are_written_as_json_dumps_writes_them(tmp_path):
    records = JSONArray()
    for batch in BATCHES:
        records.extend(batch)
    write_export(tmp_path / "a.json", records, MappingReport("test"), overwrite=False)
    write_export(tmp_path / "b.json", {"plain": [1, 2]}, MappingReport("test"), overwrite=False)
    assert (tmp_path / "a.json").read_text() == json.dumps([item for batch in BATCHES for item in batch]) + "\n"
    assert (tmp_path / "b.json").read_text() == json.dumps({"plain": [1, 2]}) + "\n"


@pytest.mark.parametrize("text", ["[" * 200_000, '{"a": ' * 200_000])
def test_json_nested_too_deeply_is_refused_in_one_line_naming_the_file(tmp_path, text):
    (tmp_path / "deep.geojson").write_text(text)
    with pytest.raises(FormatError, match=r"deep\.geojson: JSON nested too deeply to be a label file$"):
        load_json(tmp_path / "deep.geojson")
