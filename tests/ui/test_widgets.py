"""The UI's building blocks on their own: ring buffer, thread bridge, stall monitor, plots, workspace clicks."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from prop_desktop.policy.kinematics import forward_kinematics
from prop_desktop.services.models import KeyScore, PrivacyReport
from prop_desktop.ui.bridge import ThreadBridge
from prop_desktop.ui.ring_buffer import RingBuffer
from prop_desktop.ui.stall_monitor import StallMonitor
from prop_desktop.ui.widgets.joint_plot import JointPlot
from prop_desktop.ui.widgets.privacy_plots import PrivacyPlots
from prop_desktop.ui.widgets.workspace_view import WorkspaceView


def test_ring_buffer_keeps_the_newest_samples_in_order_and_measures_rate():
    rb = RingBuffer(capacity=5, width=6)
    for i in range(12):
        rb.append(i * 0.02, [i] * 6)
    t, v = rb.snapshot()
    assert list(v[:, 0]) == [7, 8, 9, 10, 11]
    assert np.all(np.diff(t) > 0)
    assert rb.total == 12
    assert rb.rate_hz() == pytest.approx(50.0)
    rb.clear()
    assert rb.snapshot()[0].shape == (0,)


def test_ring_buffer_is_safe_to_fill_from_a_worker_while_reading(qtbot):
    rb = RingBuffer(capacity=100, width=6)

    def fill():
        for i in range(5000):
            rb.append(i * 0.001, np.full(6, i))

    th = threading.Thread(target=fill)
    th.start()
    while th.is_alive():
        t, v = rb.snapshot()
        if t.shape[0] > 1:  # every snapshot is internally consistent: values follow times
            assert np.all(np.diff(v[:, 0]) == 1)
    th.join()
    assert rb.total == 5000


def test_bridge_runs_callbacks_on_the_gui_thread(qtbot):
    bridge = ThreadBridge()
    seen: list[bool] = []
    main = threading.current_thread()
    relay = bridge.wrap(lambda x: seen.append(threading.current_thread() is main and x == 7))
    th = threading.Thread(target=relay, args=(7,))
    th.start()
    th.join()
    qtbot.waitUntil(lambda: seen == [True], timeout=2000)


def test_stall_monitor_sees_a_blocked_event_loop_and_tells_busy_from_waiting(qtbot):
    monitor = StallMonitor(interval_ms=5)
    monitor.start()
    qtbot.wait(300)
    idle_busy = monitor.max_busy_ms
    assert monitor.ticks > 20
    time.sleep(0.15)  # the GUI thread blocked, but not computing (like waiting on a lock)
    qtbot.wait(50)
    assert monitor.max_stall_ms >= 120, monitor.summary()
    assert monitor.max_busy_ms < 50, monitor.summary()
    end = time.thread_time() + 0.12
    while time.thread_time() < end:  # the GUI thread computing for 120 ms of CPU
        pass
    qtbot.wait(50)
    monitor.stop()
    assert idle_busy < 50, monitor.summary()
    assert monitor.max_busy_ms >= 100, monitor.summary()


def test_joint_plot_redraws_from_its_timer_not_per_sample(qtbot):
    rb = RingBuffer(1000, 6)
    plot = JointPlot("test", rb)
    qtbot.addWidget(plot)
    plot.show()
    redraws_before = plot.redraws
    for i in range(500):  # 500 samples arrive within ~0.1 s
        rb.append(i / 5000, np.sin(np.arange(6) + i / 50))
    qtbot.waitUntil(lambda: plot.redraws - redraws_before >= 2, timeout=10_000)
    drawn = plot.redraws - redraws_before
    assert drawn < 50  # at its ~30 Hz timer, not once per sample (500)
    xs, ys = plot.curves[0].getData()
    assert len(xs) == 500 and xs[-1] == 0.0  # "seconds ago"
    assert ys[-1] == pytest.approx(np.degrees(np.sin(499 / 50)), rel=1e-6)


def _report(others: list[float], near: dict[int, float]) -> PrivacyReport:
    def score(label: str, mean: float) -> KeyScore:
        return KeyScore(label, mean, min(1.0, mean + 0.05), 0.0, 0.0)

    return PrivacyReport(
        right_key=score("right key", 0.93), no_key=score("no key", 0.0), random_keys=score("random keys", 0.01),
        near_keys={bits: score(f"{bits} bits off", m) for bits, m in near.items()},
        other_profiles=tuple(score(f"other profile: P{i}", m) for i, m in enumerate(others)),
        retention_error=0.0, verdict="Only your key makes the arm act your way.",
    )


def test_the_privacy_plots_show_each_report_alone_without_leftovers_from_the_last(qtbot):
    plots = PrivacyPlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.show_report(_report([0.02, 0.03], {1: 0.4, 2: 0.1, 4: 0.0}))
    assert plots.shown_scores() == [(0.0, "0.93"), (1.0, "0.00"), (2.0, "0.01"), (3.0, "0.02"), (4.0, "0.03")]
    # The next person's report has no other members and no near-key curve: nothing of the first one stays.
    plots.show_report(_report([], {}))
    assert plots.shown_scores() == [(0.0, "0.93"), (1.0, "0.00"), (2.0, "0.01")]
    assert plots.labels == ["right key", "no key", "random keys"]
    curves = [item for item in plots.near.listDataItems() if item.xData is not None and len(item.xData)]
    assert curves == [] and not plots.right_key_line.isVisible()
    plots.clear()
    assert plots.shown_scores() == [] and plots.labels == []


def test_clicking_the_workspace_from_above_and_the_side_gives_the_world_target(qtbot):
    view = WorkspaceView()
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show()
    qtbot.waitExposed(view)
    view.set_arm(forward_kinematics(np.zeros(6)))
    with qtbot.waitSignal(view.target_clicked) as blocker:
        qtbot.mouseClick(view.top.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.click_point_top(0.22, 0.10).toPoint())
    x, y, _z = blocker.args
    assert x == pytest.approx(0.22, abs=0.005) and y == pytest.approx(0.10, abs=0.005)
    with qtbot.waitSignal(view.target_adjusted) as blocker:
        qtbot.mouseClick(view.side.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.click_point_side(0.20, 0.12).toPoint())
    x2, y2, z2 = blocker.args
    # The side view sets reach and height, keeping the direction chosen from above.
    assert np.hypot(x2, y2) == pytest.approx(0.20, abs=0.005)
    assert np.arctan2(y2, x2) == pytest.approx(np.arctan2(0.10, 0.22), abs=0.02)
    assert z2 == pytest.approx(0.12, abs=0.005)


def test_a_target_clicked_on_the_item_is_at_the_item_not_at_the_arms_height(qtbot):
    view = WorkspaceView()
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show()
    qtbot.waitExposed(view)
    view.default_height_m = 0.05
    view.set_arm(forward_kinematics(np.zeros(6)))  # the tip hangs ~26 cm above the table
    view.set_scene((0.25, -0.05), None)

    def press_drag_release(x: float, y: float) -> tuple[float, float, float]:
        # A person's click often moves a pixel or two between press and release: that is a drag.
        start = view.click_point_top(x, y).toPoint()
        with qtbot.waitSignal(view.target_clicked) as clicked:
            qtbot.mousePress(view.top.viewport(), Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(view.top.viewport(), pos=start + QPoint(2, 1))
        qtbot.mouseRelease(view.top.viewport(), Qt.MouseButton.LeftButton, pos=start + QPoint(2, 1))
        return tuple(view.target) if view.target is not None else clicked.args

    on_item = press_drag_release(0.25, -0.05)
    assert on_item[2] == pytest.approx(0.05, abs=1e-6), on_item
    view.target = np.array([0.2, 0.1, 0.15])  # the previous target, raised in the side view
    elsewhere = press_drag_release(0.30, 0.12)
    assert elsewhere[2] == pytest.approx(0.15, abs=1e-6), "a path keeps its level away from the item"
    back_on_item = press_drag_release(0.26, -0.04)
    assert back_on_item[2] == pytest.approx(0.05, abs=1e-6), back_on_item


def test_the_drawn_arm_follows_forward_kinematics(qtbot):
    view = WorkspaceView()
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show()
    q = np.array([0.5, -0.3, 0.4, 0.2, 0.0, 0.0])
    points = forward_kinematics(q)
    view.set_arm(points)
    tip_scene = view.top.joints[len(points) - 1].pos()
    assert tip_scene.x() == pytest.approx(-points[-1][1] * 1000, abs=0.5)  # left is drawn to the left
    assert tip_scene.y() == pytest.approx(-points[-1][0] * 1000, abs=0.5)  # forward is drawn up
    assert view.top.viewport().rect().contains(view.click_point_top(*points[-1][:2]).toPoint() + QPoint(0, 0))


def test_a_worker_asking_for_a_passphrase_gets_the_typed_answer_from_a_dialog(qtbot):
    from PySide6.QtWidgets import QWidget

    from prop_desktop.services.models import ProfileInfo
    from prop_desktop.ui.passphrase import PassphrasePrompter

    from .journey import child, click, wait_for_dialog

    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    bridge = ThreadBridge()
    prompter = PassphrasePrompter(bridge, parent)
    answers: list[str | None] = []
    profile = ProfileInfo(id="p1", name="Alex", has_passphrase=True)
    worker = threading.Thread(target=lambda: answers.append(prompter(profile, "That passphrase was wrong.")))
    worker.start()
    dlg = wait_for_dialog(qtbot, "passphraseDialog")
    assert child(dlg, "dialogError").text() == "That passphrase was wrong."
    qtbot.keyClicks(child(dlg, "passphraseField"), "s3cret")
    click(qtbot, child(dlg, "dialogOk"))
    worker.join(timeout=5)
    assert answers == ["s3cret"]

    worker = threading.Thread(target=lambda: answers.append(prompter(profile, None)))
    worker.start()
    dlg = wait_for_dialog(qtbot, "passphraseDialog")
    dlg.reject()  # Cancel
    worker.join(timeout=5)
    assert answers == ["s3cret", None]
    assert prompter(profile, None) is None  # never blocks the GUI thread itself


def test_the_layout_checker_finds_clipped_text_overlaps_and_moved_controls(qtbot):
    from PySide6.QtWidgets import QLabel, QPushButton, QWidget

    from .layout_check import clipped_text, control_positions, moved, overlaps

    root = QWidget()
    qtbot.addWidget(root)
    root.resize(400, 200)
    cut = QLabel("a label far too long for its twenty pixels", root)
    cut.setGeometry(0, 0, 20, 20)
    a = QPushButton("A", root)
    a.setObjectName("a")
    a.setGeometry(0, 50, 100, 30)
    b = QPushButton("B", root)
    b.setObjectName("b")
    b.setGeometry(50, 60, 100, 30)
    root.show()
    qtbot.waitExposed(root)
    assert any("far too long" in str(p) for p in clipped_text(root))
    assert any("#a" in str(p) and "#b" in str(p) for p in overlaps(root))
    before = control_positions(root)
    b.move(50, 120)
    assert moved(before, control_positions(root)) == ["b: (50, 60) -> (50, 120)"]


def test_time_left_is_said_as_an_upper_bound():
    from prop_desktop.ui.pages.train_page import format_eta

    assert format_eta(None) == "estimating time left…"
    assert format_eta(36.4) == "at most 36 s left"
    assert format_eta(75) == "at most 1 min 15 s left"
