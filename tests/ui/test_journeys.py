"""The user's journeys, end to end through the widgets on the simulated arm (issue 5's five journeys)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from prop_desktop.policy.kinematics import forward_kinematics
from prop_desktop.ui.stall_monitor import StallMonitor

from .journey import (
    card,
    child,
    choose,
    choose_quick_training,
    choose_tab,
    click,
    click_dialog_button,
    connect_simulated_arm,
    create_profile,
    drive,
    focus_window,
    go_to,
    record_click_demo,
    settle,
    slide_to,
    start_training,
    switch_profile,
    train,
    visible_top_level,
    wait_for_dialog,
)

TASK = "point"
# Alex points from higher up and to the right of where the general behaviour points (0.25, 0.08, 0.20).
ALEX_DEMOS = [[(0.20, -0.12, 0.28)], [(0.19, -0.13, 0.27)], [(0.21, -0.11, 0.29)]]
ALEX_POINT = np.array([0.20, -0.12, 0.28])
STALL_LIMIT_MS = 50.0
FREEZE_MS = 1000.0  # a window that does not react for a second looks hung
DRIVE_STEPS = 80  # policy steps per drive (4 s at the policy's 20 Hz): enough to reach the pointing pose


def assert_responsive(monitor: StallMonitor, what: str) -> None:
    """The GUI thread never computes for more than 50 ms at a stretch (100 ms on an overloaded machine), and the
    window never freezes. The wall-clock gaps are printed, not held to 50 ms: besides the UI's own work they
    hold whatever the OS, the VM's host or another thread holding Python's GIL took (seen: a 196 ms gap with the
    GUI thread busy 36 ms of it, cores 50 % busy, nothing else running)."""
    worst = sorted(range(len(monitor.gaps_ms)), key=lambda i: -monitor.gaps_ms[i])[:3]
    where = ", ".join(f"{monitor.gaps_ms[i]:.0f} ms (busy {monitor.busy_ms[i]:.0f}) at {i / len(monitor.gaps_ms):.0%}"
                      for i in worst)
    print(f"stall monitor while {what}: {monitor.summary()}; longest gaps: {where}")
    # The GUI thread's own CPU time is inflated too when both cores are oversubscribed (a VM's CPU accounting
    # counts the time it waits on shared caches and the host): the end of a training measured 16-28 ms busy on
    # an idle machine and 55-65 ms with the other CI shard training beside it. So under overload one stretch
    # may reach twice the limit; on a machine that is not overloaded the limit holds for every stretch.
    busy_limit = 2 * STALL_LIMIT_MS if monitor.overloaded else STALL_LIMIT_MS
    assert monitor.max_busy_ms < busy_limit, f"GUI thread busy while {what}: {monitor.summary()}"
    assert monitor.max_stall_ms < FREEZE_MS, f"the window froze while {what}: {monitor.summary()}"


def _tip(q) -> np.ndarray:
    return forward_kinematics(np.asarray(q, dtype=float))[-1]


def _final_tip(path) -> np.ndarray:
    assert len(path) > 20, f"only {len(path)} drive samples"
    return _tip(path[-1][1])


def _record_alex_demos(qtbot, window, monitor: StallMonitor | None = None) -> None:
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose(qtbot, page.task_combo, TASK)
    choose(qtbot, page.gripper_combo, -0.4)
    qtbot.wait(300)  # the page's first paint is not part of recording
    for targets in ALEX_DEMOS:
        if monitor is not None:
            monitor.start()
        result = record_click_demo(qtbot, window, targets)
        if monitor is not None:
            monitor.stop()
            assert_responsive(monitor, "recording")
        assert result.fault is None and result.episode is not None
        assert result.episode.samples > 20
        # The counter shows what was saved (it lagged: live 205 samples / 4.1 s vs saved 210 / 4.2 s).
        assert page.samples_label.text() == f"{result.episode.samples} samples · {result.episode.duration_s:.1f} s"
        assert page.rate_label.text().endswith("samples/s") and not page.rate_label.text().startswith("—")
    assert page.episode_table.rowCount() == 3


@pytest.mark.slow
@pytest.mark.timeout(280)
def test_first_run_then_a_second_member_cannot_get_the_first_ones_way(qtbot, window, memory_keyring):
    # (1) First run: simulated arm, a profile with its key, three point-and-click demonstrations, training.
    connect_simulated_arm(qtbot, window)
    assert "Simulated" in window.arm_chip.text()
    create_profile(qtbot, window, "Alex", passphrase="correct horse")  # typed at creation: open this session
    assert window.status_profile.text() == "Active profile: Alex"
    choose_quick_training(qtbot, window)
    monitor = StallMonitor(interval_ms=5)
    _record_alex_demos(qtbot, window, monitor)

    go_to(qtbot, window, "Train")
    qtbot.wait(300)  # the page's first paint is not part of training
    monitor.start()
    result = train(qtbot, window)
    monitor.stop()
    page = window.pages["Train"]
    assert result.ok, result.message
    assert_responsive(monitor, "training")
    assert page.progress.value() == 1000
    assert page.loss_plot.series_names, "no loss curve was drawn"
    assert page.verdict.text() and page.privacy_plots.labels[:3] == [
        result.report.right_key.label, result.report.no_key.label, result.report.random_keys.label]
    assert page.alpha_slider.isEnabled()
    slide_to(qtbot, page.alpha_slider, 30)  # the metrics follow the slider
    qtbot.waitUntil(lambda: page.alpha_metrics.text().startswith("At 0.30"), timeout=10_000)
    slide_to(qtbot, page.alpha_slider, int(round((result.alpha or 1.0) * 100)))
    qtbot.waitUntil(lambda: page.alpha_metrics.text().startswith(f"At {(result.alpha or 1.0):.2f}"), timeout=10_000)

    # Drive: Personalized goes Alex's way, Baseline the general way.
    personal_path, personal_label = drive(qtbot, window, TASK, personalized=True, seconds=1, samples=DRIVE_STEPS,
                                          settle_m=0.002)
    assert personal_label.startswith("Personalized"), personal_label
    assert all(p for _t, _q, p in personal_path[5:]), "the drive was not personalized"
    base_path, base_label = drive(qtbot, window, TASK, personalized=False, seconds=1, samples=DRIVE_STEPS,
                                  settle_m=0.002)
    assert base_label.startswith("Baseline"), base_label
    personal_tip, base_tip = _final_tip(personal_path), _final_tip(base_path)
    print(f"tip after {len(personal_path)}/{len(base_path)} steps: personalized {np.round(personal_tip, 3)}, "
          f"baseline {np.round(base_tip, 3)}, "
          f"Alex's point {ALEX_POINT}")
    # If it fails, say what the training said and where the arm went along the way.
    story = (f"training: {result.message!r}; personalized tip every 20 steps: "
             f"{[np.round(_tip(q), 3).tolist() for _t, q, _p in personal_path[::20]]}")
    assert np.linalg.norm(personal_tip - base_tip) > 0.04, (personal_tip, base_tip, story)
    assert np.linalg.norm(personal_tip - ALEX_POINT) < np.linalg.norm(base_tip - ALEX_POINT) - 0.03, (
        personal_tip, base_tip, story)

    # (2) A second member: their own key, no access to Alex's way.
    create_profile(qtbot, window, "Sam")
    assert window.status_profile.text() == "Active profile: Sam"
    go_to(qtbot, window, "Record")
    assert window.pages["Record"].episode_table.rowCount() == 0  # Alex's recordings are not listed
    sam_path, sam_label = drive(qtbot, window, TASK, personalized=True, seconds=1, samples=DRIVE_STEPS,
                                settle_m=0.002)
    assert sam_label.startswith("Staying on Baseline"), sam_label
    assert "Staying on Baseline" not in window.pages["Drive"].banner.text  # the refusal is said once
    assert window.pages["Drive"].base_button.isChecked()
    assert all(not p for _t, _q, p in sam_path)
    sam_tip = _final_tip(sam_path)
    print(f"Sam's tip {np.round(sam_tip, 3)} (baseline {np.round(base_tip, 3)})")
    assert np.linalg.norm(sam_tip - base_tip) < 0.02, (sam_tip, base_tip)
    assert len(memory_keyring.entries) == 2

    # Back to Alex: switching closed Alex's key, so switching back asks for the passphrase first.
    # Cancel: Sam stays the one using the arm.
    switch_profile(qtbot, window, "Alex", wait=False)
    prompt = wait_for_dialog(qtbot, "passphraseDialog", timeout=20_000)
    click_dialog_button(qtbot, prompt, "Cancel")
    qtbot.waitUntil(lambda: window.profile_combo.currentText() == "Sam", timeout=20_000)
    settle(qtbot, window)
    assert window.status_profile.text() == "Active profile: Sam"
    # With the passphrase Alex is back; then Alex walks away and the idle time locks the key again.
    switch_profile(qtbot, window, "Alex", wait=False)
    prompt = wait_for_dialog(qtbot, "passphraseDialog", timeout=20_000)
    qtbot.keyClicks(child(prompt, "passphraseField"), "correct horse")
    qtbot.keyClick(child(prompt, "passphraseField"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.profile_combo.currentText() == "Alex", timeout=20_000)
    settle(qtbot, window)
    alex_id = window.app.profiles.active().id
    later = time.monotonic() + 3600  # an hour unused, on an injected clock
    window.app.profiles.guard.clock = lambda: later
    window.idle_relock.check()  # what its timer does every 15 s
    qtbot.waitUntil(lambda: not window.app.profiles.info(alex_id).unlocked, timeout=10_000)
    # The recordings need the key: opening the page asks; Alex cancels and the page says why.
    go_to(qtbot, window, "Record")
    record_page = window.pages["Record"]
    cancel_again = wait_for_dialog(qtbot, "passphraseDialog", timeout=20_000)
    click_dialog_button(qtbot, cancel_again, "Cancel")
    qtbot.waitUntil(lambda: "passphrase" in record_page.banner.text.lower(), timeout=10_000)
    assert record_page.episode_table.rowCount() == 0
    assert not window.pages["Drive"].personal_button.isChecked()  # never carried over from before
    # Drive Personalized needs the key: the prompt appears, a wrong answer is refused, the right one works.
    go_to(qtbot, window, "Drive")
    drive_page = window.pages["Drive"]
    click(qtbot, drive_page.personal_button)
    prompt = wait_for_dialog(qtbot, "passphraseDialog", timeout=20_000)
    qtbot.keyClicks(child(prompt, "passphraseField"), "wrong horse")
    qtbot.keyClick(child(prompt, "passphraseField"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: visible_top_level("passphraseDialog") is not None
                    and "not right" in child(visible_top_level("passphraseDialog"), "dialogError").text(),
                    timeout=20_000)
    retry = visible_top_level("passphraseDialog")
    qtbot.keyClicks(child(retry, "passphraseField"), "correct horse")
    qtbot.keyClick(child(retry, "passphraseField"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not drive_page._pending, timeout=20_000)
    assert drive_page.mode_label.text().startswith("Personalized"), drive_page.mode_label.text()
    assert drive_page.personal_button.isChecked()
    # ... and the recordings open again, the stale message gone.
    go_to(qtbot, window, "Record")
    qtbot.waitUntil(lambda: record_page.episode_table.rowCount() == 3, timeout=10_000)
    assert record_page.banner.isHidden()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_unplugging_during_a_recording_says_so_and_keeps_the_samples(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose_tab(qtbot, page.tabs, 1)  # by hand: records until stopped
    qtbot.waitUntil(page.record_button.isEnabled, timeout=3000)
    click(qtbot, page.record_button)
    qtbot.waitUntil(lambda: page.buffer.total > 40, timeout=10_000)
    window.app.arm.simulator().unplug()  # the USB cable comes out
    box = wait_for_dialog(qtbot, "errorBox", timeout=10_000)
    assert "unplug" in box.text().lower() or "not answer" in box.text().lower() or "lost" in box.text().lower(), \
        box.text()
    assert "kept" in box.text()
    click_dialog_button(qtbot, box, "OK")
    qtbot.waitUntil(lambda: page.episode_table.rowCount() == 1, timeout=5000)
    episode = page.episodes[0]
    assert episode.samples > 40 and episode.fault
    assert "⚠" in page.episode_table.item(0, 6).text()
    qtbot.waitUntil(lambda: not window.app.arm.state.connected, timeout=5000)
    assert "No arm" in window.arm_chip.text()
    assert not page.recording and page.record_button.text().startswith("●")


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_cancelling_training_stops_it_and_keeps_no_new_skill(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Record")
    choose(qtbot, window.pages["Record"].task_combo, TASK)
    record_click_demo(qtbot, window, ALEX_DEMOS[0])
    start_training(qtbot, window)
    page = window.pages["Train"]
    qtbot.waitUntil(lambda: page.progress.value() > 0, timeout=60_000)
    click(qtbot, page.cancel_button)
    # Stopped at the cancel, not at the end (the training's steps are checked for a cancel one by one; the
    # milliseconds that takes depend on the machine's load and are not asserted).
    qtbot.waitUntil(lambda: page.result is not None, timeout=30_000)
    assert page.result.state.value == "cancelled"
    assert "unchanged" in page.banner.text
    assert page.start_button.isEnabled() and not page.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: window.active_profile is not None and not window.active_profile.has_adapter, timeout=3000)
    _path, label = drive(qtbot, window, TASK, personalized=True, seconds=0.5)
    assert label.startswith("Staying on Baseline"), label


@pytest.mark.timeout(60)
def test_deleting_a_profile_asks_and_makes_the_data_unreadable(qtbot, window, memory_keyring, services):
    create_profile(qtbot, window, "Alex")
    create_profile(qtbot, window, "Sam")
    go_to(qtbot, window, "Profiles")
    page = window.pages["Profiles"]
    sam = card(qtbot, window, "Sam").profile
    sam_dir = [p for p in services.data_dir.rglob("*") if p.is_dir() and p.name == sam.id]
    click(qtbot, card(qtbot, window, "Sam").delete_button)
    box = wait_for_dialog(qtbot, "confirmBox")
    assert "unrecoverable" in box.text()
    click_dialog_button(qtbot, box, "Cancel")  # changing one's mind keeps everything
    qtbot.wait(200)
    click(qtbot, card(qtbot, window, "Sam").delete_button)
    box = wait_for_dialog(qtbot, "confirmBox")
    click_dialog_button(qtbot, box, "Delete Sam for good")
    qtbot.waitUntil(lambda: page.card_for("Sam") is None, timeout=5000)
    assert "deleted" in page.banner.text
    assert [window.profile_combo.itemText(i) for i in range(window.profile_combo.count())] == ["Alex"]
    assert all(user != sam.id for (_svc, user) in memory_keyring.entries)
    assert all(not d.exists() for d in sam_dir)


@pytest.mark.timeout(60)
def test_wrong_recovery_code_gets_a_clear_message_in_the_dialog(qtbot, window):
    code = create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Profiles")
    click(qtbot, window.pages["Profiles"].restore_button)
    dlg = wait_for_dialog(qtbot, "restoreDialog")
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    qtbot.keyClicks(child(dlg, "recoveryCodeInput"), typo)
    click(qtbot, child(dlg, "dialogOk"))
    error = child(dlg, "dialogError")
    qtbot.waitUntil(error.isVisible, timeout=5000)
    assert error.text() and "Traceback" not in error.text()
    assert dlg.isVisible()
    # The message gets room of its own: every field keeps at least the height it asks for.
    from .layout_check import clipped_text

    qtbot.waitUntil(lambda: not clipped_text(dlg), timeout=2000)
    fields = [f for f in dlg.findChildren(type(child(dlg, "recoveryCodeInput"))) if f.isVisible()]

    def squashed() -> list[str]:
        return [f"{f.objectName()} {f.height()} < {f.minimumSizeHint().height()} px" for f in fields
                if f.height() < f.minimumSizeHint().height()]

    def laid_out() -> None:
        assert not squashed(), (squashed(), dlg.size(), dlg.minimumSize(), dlg.sizeHint())

    # The grown dialog lays its fields out on the next pass of the event loop: wait for that state.
    qtbot.waitUntil(laid_out, timeout=2000)
    dlg.reject()


@pytest.mark.timeout(60)
def test_escape_is_an_emergency_stop_from_any_page(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose_tab(qtbot, page.tabs, 1)
    click(qtbot, page.record_button)
    qtbot.waitUntil(lambda: page.buffer.total > 20, timeout=5000)
    go_to(qtbot, window, "Profiles", keyboard=True)
    focus_window(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not page.recording, timeout=5000)
    assert "Emergency stop" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: page.episode_table.rowCount() == 1, timeout=5000)  # what was recorded is kept
    assert page.episodes[0].samples > 20
    assert not window.app.arm.state.connected or window.app.arm.state.status.value == "fault" or \
        "stop" in window.app.arm.state.message.lower()


@pytest.mark.timeout(60)
def test_closing_the_window_while_recording_asks_then_stops_safely(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose_tab(qtbot, page.tabs, 1)
    click(qtbot, page.record_button)
    qtbot.waitUntil(lambda: page.recording, timeout=3000)
    window.close()
    box = wait_for_dialog(qtbot, "closeWhileMovingBox")
    click_dialog_button(qtbot, box, "Keep it running")
    qtbot.wait(100)
    assert window.isVisible() and page.recording
    window.close()
    box = wait_for_dialog(qtbot, "closeWhileMovingBox")
    click_dialog_button(qtbot, box, "Stop the arm and close")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert not window.app.arm.state.connected
    assert visible_top_level("closeWhileMovingBox") is None
    # Nothing lost: the samples recorded until the close are sealed on disk.
    assert [p for p in window.app.data_dir.rglob("*.sealed") if "episode" in str(p)], "the recording was lost"


@pytest.mark.timeout(90)
def test_closing_the_window_while_driving_stops_the_arm_and_releases_torque(qtbot, window):
    connect_simulated_arm(qtbot, window)
    sim = window.app.arm.simulator()
    go_to(qtbot, window, "Drive")
    page = window.pages["Drive"]
    choose(qtbot, page.task_combo, TASK)
    click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: len(page.path_snapshot()) >= 10, timeout=30_000)
    assert any(sim.torque_enabled(j) for j in sim.joint_names)
    window.close()
    box = wait_for_dialog(qtbot, "closeWhileMovingBox")
    assert "driving" in box.text().lower(), box.text()
    click_dialog_button(qtbot, box, "Stop the arm and close")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert not window.app.arm.state.connected
    assert not any(sim.torque_enabled(j) for j in sim.joint_names), "torque must be released on close"


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_unplugging_while_driving_stops_and_says_so(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Drive")
    page = window.pages["Drive"]
    choose(qtbot, page.task_combo, TASK)
    click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: len(page.path_snapshot()) >= 10, timeout=30_000)
    window.app.arm.simulator().unplug()
    qtbot.waitUntil(lambda: not page.running, timeout=10_000)
    qtbot.waitUntil(lambda: bool(page.banner.text), timeout=5000)
    assert "stopped" in page.banner.text.lower() or "unplug" in page.banner.text.lower(), page.banner.text
    assert "No arm" in window.arm_chip.text()
    assert not page.start_button.isEnabled()
