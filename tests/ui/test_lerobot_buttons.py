"""Record page: a person exports their recordings to a LeRobot dataset (asked first: it is not encrypted) and
another imports it into their own sealed recordings (issue 10, "in the app")."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from .journey import (
    choose,
    click,
    click_dialog_button,
    connect_simulated_arm,
    create_profile,
    go_to,
    record_click_demo,
    settle,
    wait_for_dialog,
)


@pytest.mark.timeout(120)
def test_export_asks_then_writes_a_dataset_that_another_member_imports(qtbot, window, tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    exports.mkdir()
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Ana")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose(qtbot, page.task_combo, "point")
    record_click_demo(qtbot, window, [(0.20, -0.12, 0.28)])
    settle(qtbot, window)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(exports)))
    click(qtbot, page.lerobot.export_button)
    box = wait_for_dialog(qtbot, "confirmBox")
    assert "NOT encrypted" in box.text()
    click_dialog_button(qtbot, box, "Cancel")  # changing one's mind writes nothing
    assert not any(exports.iterdir())
    click(qtbot, page.lerobot.export_button)
    click_dialog_button(qtbot, wait_for_dialog(qtbot, "confirmBox"), "Export")
    qtbot.waitUntil(lambda: "Exported 1 recording" in page.banner.text, timeout=30_000)
    (dataset,) = list(exports.iterdir())
    assert (dataset / "meta" / "info.json").is_file()
    assert not any(p.is_relative_to(window.app.data_dir) for p in dataset.rglob("*"))

    create_profile(qtbot, window, "Bo")
    go_to(qtbot, window, "Record")
    settle(qtbot, window)
    assert page.episode_table.rowCount() == 0 and not page.lerobot.export_button.isEnabled()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(dataset)))
    click(qtbot, page.lerobot.import_button)
    qtbot.waitUntil(lambda: "Imported 1 episode" in page.banner.text, timeout=30_000)
    qtbot.waitUntil(lambda: page.episode_table.rowCount() == 1, timeout=10_000)
    assert page.episodes[0].task == "point"
