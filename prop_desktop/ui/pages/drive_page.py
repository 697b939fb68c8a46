"""Step 5 — Drive: the arm does the task by itself, your way (Personalized) or the general way (Baseline)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from prop_desktop.ui.messages import user_message
from prop_desktop.ui.pages.base import Page, Window
from prop_desktop.ui.pages.correction_panel import CorrectionPanel
from prop_desktop.ui.ring_buffer import RingBuffer
from prop_desktop.ui.widgets.joint_plot import JointPlot
from prop_desktop.ui.widgets.workspace_view import WorkspaceView
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from prop_desktop.services.models import ConnectionState, DriveSample, DriveStatus, ModeChange, ProfileInfo


class DrivePage(Page):
    title = "Let the arm do it"
    hint = ("The arm does the task on its own. Personalized = your way (needs your key); Baseline = the general "
            "way everyone gets. Press Stop or Esc at any time. When it goes wrong, Take over and show it your way.")

    def __init__(self, window: Window) -> None:
        super().__init__(window)
        self.measured = RingBuffer(capacity=2000, width=6)
        self.commanded = RingBuffer(capacity=2000, width=6)
        self.path: list[tuple[float, tuple[float, ...], bool]] = []  # (t, measured q, personalized) this run
        self._path_lock = threading.Lock()
        self.running = False
        self.personalized = False
        self._pending = False
        self._latest_q: np.ndarray | None = None
        self._drawn_q: np.ndarray | None = None
        self._status: DriveStatus | None = None

        top = QHBoxLayout()
        top.addWidget(QLabel("Task:"))
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("driveTaskCombo")
        self.task_combo.setMinimumWidth(220)
        top.addWidget(self.task_combo)
        top.addSpacing(20)
        toggle = QFrame()
        toggle.setObjectName("modeToggle")
        tl = QHBoxLayout(toggle)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(0)
        self.personal_button = QPushButton("Personalized — your way")
        self.personal_button.setObjectName("personalizedButton")
        self.personal_button.setProperty("mode", "personal")
        self.base_button = QPushButton("Baseline — the general way")
        self.base_button.setObjectName("baselineButton")
        self.base_button.setProperty("mode", "base")
        self.mode_group = QButtonGroup(self)
        self.mode_group.setExclusive(True)
        for b in (self.personal_button, self.base_button):
            b.setCheckable(True)
            b.setMinimumHeight(48)
            self.mode_group.addButton(b)
            tl.addWidget(b)
        self.base_button.setChecked(True)
        self.personal_button.clicked.connect(lambda: self.request_mode(True))
        self.base_button.clicked.connect(lambda: self.request_mode(False))
        top.addWidget(toggle)
        top.addStretch(1)
        self.outer.addLayout(top)
        self.mode_label = QLabel()
        self.mode_label.setObjectName("modeLabel")
        self.mode_label.setWordWrap(True)
        self.outer.addWidget(self.mode_label)

        body = QHBoxLayout()
        self.outer.addLayout(body, 1)
        left = QVBoxLayout()
        self.start_button = QPushButton("▶  Start  (Ctrl+Enter)")
        self.start_button.setObjectName("startDrive")
        self.start_button.setProperty("primary", True)
        self.start_button.setMinimumHeight(56)
        self.start_button.clicked.connect(self.start)
        left.addWidget(self.start_button)
        self.stop_button = QPushButton("■  STOP")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stops the arm where it is. Esc stops it anywhere in the app and relaxes the "
                                    "motors.")
        self.stop_button.setMinimumHeight(110)
        self.stop_button.clicked.connect(self.stop)
        left.addWidget(self.stop_button)
        self.rate_label = QLabel("")
        self.rate_label.setObjectName("bigNumber")
        self.rate_label.setToolTip("How many times per second the arm reads its joints, decides and moves")
        left.addWidget(self.rate_label)
        self.drive_status = QLabel("")
        self.drive_status.setObjectName("driveStatus")
        self.drive_status.setWordWrap(True)
        left.addWidget(self.drive_status)
        self.workspace = WorkspaceView(interactive=False)
        self.workspace.setObjectName("driveWorkspace")
        self.corrections = CorrectionPanel(self)  # Take over → correct → Hand back → Update my skill
        left.addWidget(self.corrections)
        left.addWidget(self.workspace, 1)
        lw = QWidget()
        lw.setLayout(left)
        lw.setMaximumWidth(520)
        body.addWidget(lw, 1)
        self.plot = JointPlot("Where the arm is told to go (dashed) and where it is (solid)", self.measured,
                              dashed=self.commanded)
        self.plot.set_degrees(window.settings.degrees)
        body.addWidget(self.plot, 1)

        self._disconnects = [
            self.app.drive.sample.connect(self._on_sample_worker),
            self.app.drive.status_changed.connect(self.bridge.wrap(self._on_status)),
        ]
        window.connection_changed.connect(self._connection_changed)
        self.draw_timer = QTimer(self)
        self.draw_timer.setInterval(33)
        self.draw_timer.timeout.connect(self._draw)
        self.draw_timer.start()
        self._load_tasks()
        self._show_mode(False, None)
        self._update_controls()

    # --- tasks -------------------------------------------------------------------------------------------
    def _load_tasks(self) -> None:
        try:
            tasks = self.app.record.tasks()
            self._latest_q = np.asarray(self.app.record.workspace().home_q, dtype=float)
        except Exception as exc:  # noqa: BLE001
            self.banner.show_message(f"The tasks cannot be loaded: {user_message(exc)}", "error")
            return
        for t in tasks:
            self.task_combo.addItem(t.title, t.name)
        ws = self.app.record.workspace()
        self.workspace.set_ranges(ws.x_range, ws.y_range, ws.z_range)
        self.task_combo.currentIndexChanged.connect(lambda _i: self._show_scene())
        self._show_scene()

    def _show_scene(self) -> None:
        """The task's item and destination, as the policy sees them (the Record page's current scene)."""
        task = self.task_combo.currentData()
        if task is None:
            return
        try:
            scene = self.app.record.scene(task)
        except Exception:  # noqa: BLE001 - the drawing is a help, not essential
            return
        same = tuple(scene.obj) == tuple(scene.target)
        self.workspace.set_scene(scene.obj, None if same else scene.target)

    # --- mode --------------------------------------------------------------------------------------------
    def shortcut_toggle(self) -> None:
        self.request_mode(not self.personalized)

    def request_mode(self, personalized: bool) -> None:
        """Ask the service for a mode; the toggle shows what is actually active once it answers."""
        self._show_mode(self.personalized, None)  # keep showing the real mode until the answer comes
        if self._pending:
            return
        self._pending = True
        self._mode_asked += 1
        self.mode_label.setText("Fetching your key…" if personalized else "Switching to the general way…")
        run_in_background(self.bridge, lambda: self.app.drive.set_personalized(personalized), self._mode_answer,
                          self._mode_failed, name="drive-mode")

    def _mode_answer(self, change: ModeChange) -> None:
        self._pending = False
        self._show_mode(change.personalized, change.reason)

    def _mode_failed(self, exc: BaseException) -> None:
        self._pending = False
        self._show_mode(False, user_message(exc))

    def _show_mode(self, personalized: bool, reason: str | None) -> None:
        self.personalized = personalized
        (self.personal_button if personalized else self.base_button).setChecked(True)
        for b in (self.personal_button, self.base_button):
            b.style().unpolish(b)
            b.style().polish(b)
        name = self._active_name()
        if reason:
            self.mode_label.setText(f"Staying on Baseline: {reason}")  # said once, next to the toggle
        elif personalized:
            self.mode_label.setText(f"Personalized: the arm does it {name}'s way (key unlocked for this session).")
            self.banner.hide()
        else:
            self.mode_label.setText("Baseline: the arm does the general way, the same for everyone.")
        self.corrections.update_controls()

    def _active_name(self) -> str:
        p = self.window_.active_profile
        return p.name if p is not None else "your"

    # --- start / stop ------------------------------------------------------------------------------------
    def shortcut_start(self) -> None:
        if not self.running:
            self.start()

    def shortcut_space(self) -> None:
        self.stop() if self.running else self.start()

    def start(self) -> None:
        task = self.task_combo.currentData()
        if task is None or self.running or self._pending or self.refuse_if_stopped():
            return
        if self.corrections.taking_over:
            self.corrections.hand_back()
        self.banner.hide()
        self.measured.clear()
        self.commanded.clear()
        with self._path_lock:
            self.path = []
        self.workspace.clear_trail()
        self._pending = True
        self.drive_status.setText("Starting…")
        want = self.personalized
        run_in_background(self.bridge, lambda: self.app.drive.start(task, personalized=want), self._started,
                          self._start_failed, name="drive-start")

    def _started(self, change: ModeChange) -> None:
        self._pending = False
        self.running = True
        self._ended_here = False
        if change.personalized != self.personalized or change.reason:
            self._show_mode(change.personalized, change.reason)  # else keep the message (and why) shown now
        self.drive_status.setText("Running. Press Stop (or Esc) to stop.")
        self._update_controls()

    def _start_failed(self, exc: BaseException) -> None:
        self._pending = False
        self.running = False
        self.drive_status.setText("")
        self.show_error(exc)
        self._update_controls()

    def stop(self) -> None:
        try:
            self.app.drive.stop()
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
        self.running = False
        self._ended_here = True
        self.drive_status.setText("Stopped. The arm holds its position.")
        self._update_controls()

    # Driving thread: ring buffers and a plain list only.
    def _on_sample_worker(self, s: DriveSample) -> None:
        self.measured.append(s.t, s.measured)
        self.commanded.append(s.t, s.commanded)
        with self._path_lock:
            self.path.append((s.t, tuple(s.measured), bool(s.personalized)))
        self._latest_q = np.asarray(s.measured, dtype=float)

    def _on_status(self, status: DriveStatus) -> None:
        self._status = status
        # The policy decides 20 times a second; the arm's own control loop (Settings) runs faster underneath.
        self.rate_label.setText(f"{status.loop_hz:.0f} decisions/s" if status.running else "")
        if self._ended_here:
            # The page ended this drive itself (Stop, Esc) and said so. The drive's statuses still on their way
            # are stale: its last one can arrive after a Reset, where "press Reset" would be wrong.
            if not status.running:
                self._ended_here = False
            return
        if status.running and status.message and self.running:
            self.drive_status.setText(status.message)
        if status.running != self.running and not self._pending:
            self.running = status.running
            if not status.running:
                self.drive_status.setText(status.message or "Finished.")
            self._update_controls()
        elif status.message and not status.running:
            self.drive_status.setText(status.message)

    def _connection_changed(self, state: ConnectionState) -> None:
        if not state.connected and self.running:
            self.running = False
            self.banner.show_message(f"The arm stopped: {state.message}", "error", topic="arm")
        self._update_controls()

    def path_snapshot(self) -> list[tuple[float, tuple[float, ...], bool]]:
        with self._path_lock:
            return list(self.path)

    def _draw(self) -> None:
        q = self._latest_q
        if q is None or not self.isVisible() or (self._drawn_q is not None and np.array_equal(q, self._drawn_q)):
            return
        self._drawn_q = q
        try:
            points = np.asarray(self.app.record.arm_points(tuple(q)), dtype=float)
        except Exception:  # noqa: BLE001
            return
        self.workspace.set_arm(points)
        if self.running:
            self.workspace.add_trail_point(points[-1])

    # --- page hooks --------------------------------------------------------------------------------------
    def profile_changed(self, profile: ProfileInfo | None) -> None:
        self.corrections.profile_changed()
        # Someone else now uses the arm: never carry the previous person's mode over.
        if self.running:
            self.stop()
        if self.personalized:
            run_in_background(self.bridge, lambda: self.app.drive.set_personalized(False),
                              lambda c: self._show_mode(c.personalized, None), lambda _e: None, name="drive-reset")
        self._show_mode(False, None)
        self.banner.hide()

    def settings_changed(self) -> None:
        self.plot.set_degrees(self.window_.settings.degrees)

    def page_shown(self) -> None:
        self._show_scene()
        self.corrections.refresh_gate()
        if not self.personalized and not self.running:
            asked = self._mode_asked
            run_in_background(self.bridge, self.app.drive.can_personalize,
                              lambda change: self._show_possible(change, asked), lambda _e: None,
                              name="can-personalize")

    def _show_possible(self, change: ModeChange, asked: int) -> None:
        """Before anyone clicks: say whether Personalized is available for the active person, and why not."""
        if self.personalized or self.running or self._pending or asked != self._mode_asked:
            return  # a mode was asked for meanwhile: its answer (e.g. why it stays on Baseline) is the news
        if change.personalized:
            self.personal_button.setToolTip("Use your personal skill (your key is fetched from the keyring)")
            self.mode_label.setText("Baseline: the arm does the general way. Personalized is ready for "
                                    f"{self._active_name()}.")
        else:
            self.personal_button.setToolTip(change.reason or "")
            self.mode_label.setText(f"Baseline: the arm does the general way. (Personalized: {change.reason})")
        self.corrections.update_controls()  # the reason is now said here, not twice

    _blocker_shown: str | None = None
    _mode_asked = 0  # mode requests so far: an availability check started before the latest one is stale
    _ended_here = False  # the page ended the current drive itself (Stop, Esc): its last status adds nothing

    def _update_controls(self) -> None:
        state = self.app.arm.state
        self.start_button.setEnabled(state.connected and not state.stopped and not self.running)
        self.task_combo.setEnabled(not self.running)
        blocker = (None if self.running else
                   "Connect an arm first (step 1)." if not state.connected else
                   "The arm is stopped: press Reset (top right) to use it again." if state.stopped else None)
        # What stops driving right now; once nothing does, the stale reason goes (never "connect" when connected).
        if blocker is not None:
            self.drive_status.setText(blocker)
        elif self._blocker_shown is not None:  # whatever was said while blocked (e.g. "press Reset") is stale
            self.drive_status.setText("Ready: pick a task and press Start.")
        self._blocker_shown = blocker
        self.corrections.update_controls()

    def is_moving(self) -> str | None:
        return "driving" if self.running else self.corrections.is_moving()

    def stop_motion(self) -> None:
        self.corrections.stop_motion()
        if self.running:
            try:
                self.app.drive.stop()
            except Exception:  # noqa: BLE001
                pass
            self.running = False
            self._ended_here = True
            self.drive_status.setText("Stopped.")
            self._update_controls()

    def emergency_stopped(self) -> None:
        if self.running:
            self.running = False
            self._ended_here = True
            self.drive_status.setText("Emergency stop: the motors were relaxed.")
            self._update_controls()

    def shutdown(self) -> None:
        self.draw_timer.stop()
        self.corrections.shutdown()
        for d in self._disconnects:
            d()
