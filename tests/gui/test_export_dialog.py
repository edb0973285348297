"""The Export dialog in a real viewer: a training format written in the background, with its mapping report."""

import json

from qtpy.QtWidgets import QDialogButtonBox


def open_dialog(widget):
    widget._export_button.click()
    return widget.export_dialog


def export(dialog, qtbot, fmt, out, **options):
    dialog.format.setCurrentText(fmt)
    dialog.out.setText(str(out))
    for name, value in options.items():
        getattr(dialog, name).setValue(value)
    dialog.buttons.button(QDialogButtonBox.Ok).click()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=20000)
    return dialog.status.text()


def test_the_dialog_exports_tusimple_with_its_mapping_report(widget, qtbot, tmp_path):
    dialog = open_dialog(widget)
    assert dialog.isVisible() and dialog.format.findText("culane") >= 0
    status = export(dialog, qtbot, "tusimple", tmp_path / "lanes.json", first=2, last=5)
    lines = [json.loads(line) for line in (tmp_path / "lanes.json").read_text().splitlines()]
    assert len(lines) == 4 and len(lines[0]["lanes"]) == 1  # frames 2..5; the lane is on frame 2
    assert "tusimple: 1 objects on 4 frames written" in status
    mapping = json.loads((tmp_path / "lanes.mapping.json").read_text())
    assert set(mapping["dropped"]) == {"traffic-light", "traffic-sign"}


def test_the_dialog_says_why_it_could_not_export_and_keeps_the_file(widget, qtbot, tmp_path):
    (tmp_path / "mine.geojson").write_text("mine")
    status = export(open_dialog(widget), qtbot, "geojson", tmp_path / "mine.geojson")
    assert "already exists" in status and (tmp_path / "mine.geojson").read_text() == "mine"


def test_the_suggested_name_follows_the_format(widget):
    dialog = open_dialog(widget)
    dialog.format.setCurrentText("culane")
    assert dialog.out.text().endswith("clip_culane")
    dialog.format.setCurrentText("geojson")
    assert dialog.out.text().endswith("clip_geojson.geojson")


def test_the_progress_bar_counts_the_frames_written(widget, qtbot, tmp_path, monkeypatch):
    import napari_roadlabel._napari.export_dialog as dialog_module

    bars = []
    real = dialog_module.progress

    def recorded(*args, **kwargs):
        bars.append(real(*args, **kwargs))
        return bars[-1]

    monkeypatch.setattr(dialog_module, "progress", recorded)
    export(open_dialog(widget), qtbot, "culane", tmp_path / "cu", first=0, last=11, every=3)
    assert bars[0].total == 4 and bars[0].n == 4  # frames 0, 3, 6, 9


def test_the_dialog_says_what_the_checks_found_before_exporting(widget, qtbot):
    project = widget.workspace.project
    project.add_track("traffic-sign", {"type": "speed-limit"})  # a speed-limit sign without its value ...
    project.set_state(project.tracks()[-1].id, 4, project.state(3, 2).geometry)  # ... on frame 4
    with qtbot.waitSignal(widget.workspace.review.findings_changed, timeout=30000):
        dialog = open_dialog(widget)
    assert "Checks: 1 error, 1 warning or note" in dialog.checks.text()  # the sign; the light's gap
    dialog.reject()
