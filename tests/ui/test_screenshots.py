"""Screenshots of every page and the main dialogs on a real X server (Xvfb), saved as test artifacts.

Run by scripts/run-tests.sh in its own process under xvfb-run (`pytest -m xvfb`). The pictures are for people
to look at; the test checks that each one really shows something (many colours, the right size).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QWidget

from .journey import (
    choose,
    choose_quick_training,
    click,
    connect_simulated_arm,
    create_profile,
    go_to,
    record_click_demo,
    train,
    wait_for_dialog,
)

pytestmark = [pytest.mark.xvfb]


def _save(widget: QWidget, folder: Path, name: str) -> Path:
    QGuiApplication.processEvents()
    path = folder / f"ui-{name}.png"
    screen = widget.screen() or QGuiApplication.primaryScreen()
    # A real screen grab (what a person sees, dialogs included) where the platform allows, else the widget.
    pixmap = screen.grabWindow(0) if QGuiApplication.platformName() == "xcb" else widget.grab()
    if pixmap.isNull() or pixmap.width() < 50:
        pixmap = widget.grab()
    assert pixmap.save(str(path)), f"could not save {path}"
    image = QImage(str(path))
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 40, f"{path} looks blank ({len(colours)} colours)"
    return path


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_screenshots_of_every_page(qtbot, window, artifacts_dir):
    if os.environ.get("PROP_DESKTOP_XVFB") != "1" and QGuiApplication.platformName() != "xcb":
        pytest.skip("screenshots are taken under Xvfb (scripts/run-tests.sh)")
    assert QGuiApplication.platformName() == "xcb", "the screenshot run must use the real X server"
    window.move(0, 0)
    window.resize(1360, 860)
    saved = []
    go_to(qtbot, window, "Connect")
    connect_simulated_arm(qtbot, window)
    saved.append(_save(window, artifacts_dir, "1-connect"))

    go_to(qtbot, window, "Profiles")
    click(qtbot, window.pages["Profiles"].add_button)
    dlg = wait_for_dialog(qtbot, "newProfileDialog")
    qtbot.keyClicks(dlg.findChild(QWidget, "profileName"), "Alex")
    saved.append(_save(dlg, artifacts_dir, "2a-new-profile-dialog"))
    dlg.reject()
    create_profile(qtbot, window, "Sam")
    create_profile(qtbot, window, "Alex")
    saved.append(_save(window, artifacts_dir, "2-profiles"))

    choose_quick_training(qtbot, window)
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose(qtbot, page.task_combo, "serve")
    click(qtbot, page.general_way_button)
    record_click_demo(qtbot, window, [])
    choose(qtbot, page.task_combo, "point")
    record_click_demo(qtbot, window, [(0.20, -0.12, 0.28)])
    page.workspace.set_target(None)
    for xyz in [(0.24, 0.05, 0.20), (0.18, -0.10, 0.26)]:
        pos = page.workspace.click_point_top(xyz[0], xyz[1]).toPoint()
        qtbot.mouseClick(page.workspace.top.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    saved.append(_save(window, artifacts_dir, "3-record"))
    page.clear_targets()

    train(qtbot, window)
    go_to(qtbot, window, "Train")
    saved.append(_save(window, artifacts_dir, "4-train"))

    go_to(qtbot, window, "Drive")
    drive_page = window.pages["Drive"]
    choose(qtbot, drive_page.task_combo, "point")
    click(qtbot, drive_page.personal_button)
    qtbot.waitUntil(lambda: not drive_page._pending and drive_page.personalized, timeout=20_000)
    click(qtbot, drive_page.start_button)
    qtbot.waitUntil(lambda: len(drive_page.path_snapshot()) >= 60, timeout=60_000)
    saved.append(_save(window, artifacts_dir, "5-drive"))  # while the arm is moving
    click(qtbot, drive_page.stop_button)

    settings = window.open_settings()
    qtbot.waitExposed(settings)
    saved.append(_save(settings, artifacts_dir, "6-settings"))
    settings.reject()
    about = window.open_about()
    qtbot.waitUntil(lambda: "loading" not in about.versions.text(), timeout=30_000)
    saved.append(_save(about, artifacts_dir, "7-about"))
    about.reject()
    assert all(p.exists() and p.stat().st_size > 5000 for p in saved)
