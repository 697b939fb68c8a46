"""Steps of the user's journey, performed through the widgets (mouse clicks and typing), as a person would."""

from __future__ import annotations

import warnings

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QPushButton, QWidget


def visible_top_level(object_name: str) -> QWidget | None:
    for w in QApplication.topLevelWidgets():
        if w.objectName() == object_name and w.isVisible():
            return w
    return None


def wait_for_dialog(qtbot, object_name: str, timeout: int = 10_000) -> QWidget:
    qtbot.waitUntil(lambda: visible_top_level(object_name) is not None, timeout=timeout)
    dlg = visible_top_level(object_name)
    assert dlg is not None
    return dlg


def click(qtbot, button: QWidget) -> None:
    """Click like a person: only a visible, enabled widget (new widgets are shown by the next event loop turn)."""
    qtbot.waitUntil(button.isVisible, timeout=2000)
    assert button.isEnabled(), f"{button.objectName() or button} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def child(parent: QWidget, object_name: str, cls: type = QWidget) -> QWidget:
    found = parent.findChild(cls, object_name)
    assert found is not None, f"no {object_name} in {parent.objectName()}"
    return found


def choose(qtbot, combo: QWidget, data: object) -> None:
    """Pick an entry of a combo box like a person: click it open, walk its list with the arrow keys, Enter.
    (A mouse click on the entry is not delivered to the popup on the offscreen platform.)"""
    index = combo.findData(data)
    assert index >= 0, f"{data!r} is not offered by {combo.objectName()}"
    if combo.currentIndex() == index:
        return
    click(qtbot, combo)
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=2000)
    key = Qt.Key.Key_Down if index > view.currentIndex().row() else Qt.Key.Key_Up
    for _ in range(abs(index - view.currentIndex().row())):
        qtbot.keyClick(view, key)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: combo.currentIndex() == index and not view.isVisible(), timeout=2000)


def choose_tab(qtbot, tabs: QWidget, index: int) -> None:
    """Open a tab by clicking its title."""
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: tabs.currentIndex() == index, timeout=2000)


def slide_to(qtbot, slider: QWidget, value: int) -> None:
    """Move a slider with the keyboard (Home, then the arrow key), as a person without a mouse would."""
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    for _ in range(value - slider.minimum()):
        qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert slider.value() == value


def click_dialog_button(qtbot, dialog: QWidget, text: str) -> None:
    for b in dialog.findChildren(QPushButton):
        if b.text().replace("&", "") == text and b.isVisible():
            click(qtbot, b)
            return
    raise AssertionError(f"no button {text!r} in {dialog.objectName()}: "
                         f"{[b.text() for b in dialog.findChildren(QPushButton)]}")


def settle(qtbot, window, timeout: int = 60_000) -> None:
    """Wait until the window has finished reloading profiles and recordings (they load off the GUI thread).
    A state, not a time: the generous limit only bounds a real hang (under load a reload took > 10 s once)."""
    def idle() -> bool:
        return not window._profiles_loading and not window._episodes_loading

    qtbot.waitUntil(idle, timeout=timeout)
    QApplication.processEvents()  # deliver what is already queued (a reload the finished one asked for)
    qtbot.waitUntil(idle, timeout=timeout)


def card(qtbot, window, name: str):
    """The Profiles page's card for `name`, once the page shows the current household."""
    page = window.pages["Profiles"]
    settle(qtbot, window)
    qtbot.waitUntil(lambda: page.card_for(name) is not None, timeout=5000)
    return page.card_for(name)


def focus_window(qtbot, window) -> None:
    """Shortcuts go to the active window, as on a desktop: bring the main window to the front first.
    (The offscreen platform sometimes ignores activation requests, so ask QApplication directly too.)"""
    if QApplication.activeWindow() is window:
        return
    window.raise_()
    window.activateWindow()
    if QApplication.activeWindow() is not window:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            QApplication.setActiveWindow(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)


def go_to(qtbot, window, page: str, keyboard: bool = False) -> None:
    """Open a page by clicking its step in the sidebar (or with its shortcut Ctrl+1..5)."""
    from prop_desktop.ui.main_window import STEPS

    row = STEPS.index(page)
    if keyboard:
        focus_window(qtbot, window)
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1 + row), Qt.KeyboardModifier.ControlModifier)
    else:
        rect = window.nav.visualItemRect(window.nav.item(row))
        qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.current_page() is window.pages[page], timeout=2000)


def connect_simulated_arm(qtbot, window) -> None:
    go_to(qtbot, window, "Connect")
    page = window.pages["Connect"]
    qtbot.waitUntil(lambda: page.choice_list.count() > 0, timeout=5000)
    rows = [i for i, c in enumerate(page.choices) if c.kind == "sim"]
    assert rows, "the simulated arm is not offered"
    item = page.choice_list.item(rows[0])
    rect = page.choice_list.visualItemRect(item)
    qtbot.mouseClick(page.choice_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    click(qtbot, page.connect_button)
    qtbot.waitUntil(lambda: window.app.arm.state.connected, timeout=15_000)
    qtbot.waitUntil(lambda: page.preflight_table.rowCount() == 6, timeout=10_000)


def create_profile(qtbot, window, name: str, passphrase: str | None = None) -> str:
    """Create a member through the dialogs; returns the recovery code shown once. Without a passphrase the
    member ticks "Anyone at this computer may use my way" (a shared profile)."""
    go_to(qtbot, window, "Profiles")
    page = window.pages["Profiles"]
    click(qtbot, page.add_button)
    dlg = wait_for_dialog(qtbot, "newProfileDialog")
    qtbot.keyClicks(child(dlg, "profileName"), name)
    if passphrase:
        qtbot.keyClicks(child(dlg, "passphrase"), passphrase)
        qtbot.keyClicks(child(dlg, "passphrase2"), passphrase)
    else:  # the person's explicit choice: anyone at this computer may use their way
        click(qtbot, child(dlg, "sharedProfile"))
    click(qtbot, child(dlg, "dialogOk"))
    codes = wait_for_dialog(qtbot, "recoveryCodeDialog", timeout=20_000)
    code = child(codes, "recoveryCode").text()
    assert code
    continue_button = child(codes, "continueButton")
    assert not continue_button.isEnabled(), "Continue must wait for 'I have saved it'"
    click(qtbot, child(codes, "copyRecoveryCode"))
    assert QGuiApplication.clipboard().text() == code
    qtbot.mouseClick(child(codes, "savedCheckbox"), Qt.MouseButton.LeftButton, pos=QPoint(6, 6))
    click(qtbot, continue_button)
    qtbot.waitUntil(lambda: not codes.isVisible(), timeout=2000)
    qtbot.waitUntil(lambda: window.profile_combo.currentText() == name, timeout=5000)
    return code


def switch_profile(qtbot, window, name: str, *, wait: bool = True) -> None:
    """Press the member's "Use". wait=False: a protected member's passphrase dialog comes first (the caller
    answers it), so do not wait for the switch."""
    if window.profile_combo.currentText() == name:
        return  # already the one using the arm (its card's "Use" button is disabled)
    go_to(qtbot, window, "Profiles")
    click(qtbot, card(qtbot, window, name).use_button)
    if wait:
        qtbot.waitUntil(lambda: window.profile_combo.currentText() == name, timeout=5000)


def record_click_demo(qtbot, window, targets: list[tuple[float, float, float]], timeout: int = 30_000):
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    before = page.episode_table.rowCount()
    choose_tab(qtbot, page.tabs, 0)
    for x, y, z in targets:
        n = len(page.targets)
        ws = page.workspace
        qtbot.mouseClick(ws.top.viewport(), Qt.MouseButton.LeftButton, pos=ws.click_point_top(x, y).toPoint())
        qtbot.waitUntil(lambda n=n: len(page.targets) == n + 1, timeout=2000)
        qtbot.mouseClick(ws.side.viewport(), Qt.MouseButton.LeftButton,
                         pos=ws.click_point_side(float(np.hypot(x, y)), z).toPoint())
        qtbot.waitUntil(lambda z=z: abs(page.targets[-1][2] - z) < 0.01, timeout=2000)
        assert len(page.targets) == n + 1
    click(qtbot, page.record_button)
    qtbot.waitUntil(lambda: page.recording, timeout=5000)
    qtbot.waitUntil(lambda: not page.recording, timeout=timeout)
    # The list is reloaded on a worker (each recording is opened to list it): seconds on a loaded machine.
    qtbot.waitUntil(lambda: page.episode_table.rowCount() == before + 1, timeout=30_000)
    return page.last_result


def choose_quick_training(qtbot, window) -> None:
    """Settings (Ctrl+,) → Training: Quick try → OK."""
    focus_window(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dlg = wait_for_dialog(qtbot, "settingsDialog")
    choose(qtbot, child(dlg, "trainingCombo"), "quick")
    click_dialog_button(qtbot, dlg, "OK")
    qtbot.waitUntil(lambda: window.settings.training == "quick", timeout=2000)


def start_training(qtbot, window) -> None:
    go_to(qtbot, window, "Train")
    page = window.pages["Train"]
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)
    click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: page.training, timeout=5000)


def train(qtbot, window, timeout: int = 120_000):
    start_training(qtbot, window)
    page = window.pages["Train"]
    qtbot.waitUntil(lambda: page.result is not None, timeout=timeout)
    return page.result


def drive(qtbot, window, task: str, personalized: bool, seconds: float = 4.0, samples: int = 0,
          settle_m: float | None = None):
    """Drive page: pick the task and mode, Start, let it run `seconds` (and at least `samples` policy steps;
    with `settle_m`, then on until the gripper's tip moved less than that over the last 10 steps: the arm got
    where the policy takes it, however slowly the machine ran), Stop; returns (path, the mode line shown)."""
    go_to(qtbot, window, "Drive")
    page = window.pages["Drive"]
    choose(qtbot, page.task_combo, task)
    click(qtbot, page.personal_button if personalized else page.base_button)
    qtbot.waitUntil(lambda: not page._pending, timeout=20_000)
    click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: page.running, timeout=10_000)
    qtbot.wait(int(seconds * 1000))
    if samples:
        # Wait for the steps, or for the drive to end by itself (a fault): then say why, not just "timed out".
        qtbot.waitUntil(lambda: len(page.path_snapshot()) >= samples or not page.running, timeout=60_000)
        steps = len(page.path_snapshot())
        assert steps >= samples, (f"the drive ended after {steps} of {samples} steps: "
                                  f"{page.drive_status.text()!r} {page.banner.text()!r}")
    if settle_m is not None:
        from prop_desktop.policy.kinematics import forward_kinematics

        def settled() -> bool:
            last = page.path_snapshot()[-10:]
            if len(last) < 10 or not page.running:
                return not page.running
            tips = np.array([forward_kinematics(np.asarray(q, dtype=float))[-1] for _t, q, _p in last])
            return bool(np.linalg.norm(tips - tips[-1], axis=1).max() < settle_m)

        qtbot.waitUntil(settled, timeout=60_000)
    click(qtbot, page.stop_button)
    qtbot.waitUntil(lambda: not page.running, timeout=5000)
    return page.path_snapshot(), page.mode_label.text()
