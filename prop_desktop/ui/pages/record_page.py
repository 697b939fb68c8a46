"""Step 3 — Record: show the arm how you want a task done, by clicking targets, by moving it by hand, or by
moving a leader arm that the arm mirrors.

The page holds the task, the live view and the Record button; its parts are their own widgets: the
point-and-click tab (record_click_tab.py), the by-hand and leader tabs (record_hand_tab.py) and the
recordings table (record_episodes.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
)

from prop_desktop.ui.messages import show_error, user_message
from prop_desktop.ui.pages.base import Page
from prop_desktop.ui.pages.record_click_tab import ClickTab
from prop_desktop.ui.pages.record_episodes import RecordingsBox
from prop_desktop.ui.pages.record_hand_tab import HandTab, hand_on_follower, hand_on_leader
from prop_desktop.ui.pages.record_live import LivePanel
from prop_desktop.ui.ring_buffer import RingBuffer

if TYPE_CHECKING:
    from prop_desktop.services.models import (
        EpisodeInfo,
        JointSample,
        ProfileInfo,
        RecordingResult,
        RecordingStatus,
    )
    from prop_desktop.ui.pages.base import Window

CLICK_TAB, HAND_TAB, LEADER_TAB = 0, 1, 2
MODES = ("click", "hand", "leader")  # by tab


class RecordPage(Page):
    title = "Show the arm how you like it"
    hint = ("Pick a task, then click where the gripper should go (it moves there and records the motion), or "
            "move the arm by hand or with a leader arm. Three or more recordings are a good start.")

    status_label: QLabel  # the live panel's (an alias made below): the hand tabs' callbacks write to it

    def __init__(self, window: Window) -> None:
        super().__init__(window)
        self.buffer = RingBuffer(capacity=2000, width=6)
        self.goal_buffer = RingBuffer(capacity=2000, width=6)
        self.recording = False
        self.replaying = False
        self.mode: str | None = None
        self._latest_q: np.ndarray | None = None
        self._drawn_q: np.ndarray | None = None
        self._t0 = 0.0
        self._last_status: RecordingStatus | None = None
        self.last_result: RecordingResult | None = None

        top = QHBoxLayout()
        top.addWidget(QLabel("What are you teaching?"))
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("taskCombo")
        self.task_combo.setMinimumWidth(220)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        top.addWidget(self.task_combo)
        self.task_description = QLabel()
        self.task_description.setObjectName("muted")
        self.task_description.setWordWrap(True)
        top.addWidget(self.task_description, 1)
        self.outer.addLayout(top)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.outer.addWidget(split, 1)
        # Left: how to record.
        self.tabs = QTabWidget()
        self.tabs.setObjectName("recordTabs")
        split.addWidget(self.tabs)
        self.click_tab = ClickTab(self)
        self.tabs.addTab(self.click_tab, "Point and click")
        # Aliases: the parts people (and tests) reach through the page.
        self.workspace = self.click_tab.workspace
        self.gripper_combo = self.click_tab.gripper_combo
        self.targets_label = self.click_tab.targets_label
        self.general_way_button = self.click_tab.general_way_button
        self.shuffle_button = self.click_tab.shuffle_button
        self.hand_tab = HandTab(
            "The motors relax so you can move the arm yourself. Press Record, guide the arm through the task, "
            "then press Stop. The app samples the joints as you go.",
            "Simulated arm: move it “by hand” with these sliders", "handSlider", "handWorkspaceView",
            hand_on_follower(self.app, lambda text: self.status_label.setText(text)),
        )
        self.tabs.addTab(self.hand_tab, "By hand")
        self.sim_hand_box, self.hand_sliders, self.hand_view = (
            self.hand_tab.sim_hand_box, self.hand_tab.sliders, self.hand_tab.view)
        self.leader_tab = HandTab(
            "Move the leader arm (connected on the Connect page): the arm mirrors it at 100 times a second, "
            "starting gently from where it stands. Press Record, show the task with the leader, then press Stop.",
            "Simulated leader arm: move it with these sliders", "leaderSlider", "leaderWorkspaceView",
            hand_on_leader(self.app, lambda text: self.status_label.setText(text)),
        )
        self.tabs.addTab(self.leader_tab, "With the leader arm")
        self.tabs.currentChanged.connect(lambda _i: self.update_controls())
        self.tabs.currentChanged.connect(lambda _i: setattr(self, "_drawn_q", None))  # draw the new tab's view

        # Right: live view and controls.
        self.live = LivePanel(self.buffer, self.goal_buffer, window.settings.degrees, self.toggle_recording)
        self.record_button, self.rate_label, self.samples_label, self.status_label, self.plot = (
            self.live.record_button, self.live.rate_label, self.live.samples_label, self.live.status_label,
            self.live.plot)
        split.addWidget(self.live)
        split.setSizes([620, 520])

        self.recordings = RecordingsBox(self)
        self.episode_table = self.recordings.table
        self.replay_button, self.rename_button, self.delete_button = (
            self.recordings.replay_button, self.recordings.rename_button, self.recordings.delete_button)
        self.lerobot = self.recordings.lerobot
        self.outer.addWidget(self.recordings)

        self._disconnects = [
            self.app.record.sample.connect(self._on_sample_worker),
            self.app.record.status_changed.connect(self.bridge.wrap(self._on_status)),
            self.app.record.finished.connect(self.bridge.wrap(self._on_finished)),
        ]
        window.connection_changed.connect(lambda _s: self.update_controls())
        self._disconnects.append(
            self.app.leader.state_changed.connect(self.bridge.wrap(lambda _s: self.update_controls())))
        window.episodes_loaded.connect(self._episodes_loaded)
        self.draw_timer = QTimer(self)
        self.draw_timer.setInterval(33)
        self.draw_timer.timeout.connect(self._draw_arm)
        self.draw_timer.start()
        self._load_tasks()
        self.click_tab.update_targets_label()
        self.update_controls()

    # --- tasks -------------------------------------------------------------------------------------------
    def _load_tasks(self) -> None:
        try:
            tasks = self.app.record.tasks()
            ws = self.app.record.workspace()
        except Exception as exc:  # noqa: BLE001
            self.banner.show_message(f"The tasks cannot be loaded: {user_message(exc)}", "error")
            return
        self.task_combo.blockSignals(True)
        self.task_combo.clear()
        for t in tasks:
            self.task_combo.addItem(t.title, t.name)
            self.task_combo.setItemData(self.task_combo.count() - 1, t.description, Qt.ItemDataRole.ToolTipRole)
        self.task_combo.blockSignals(False)
        self._tasks = {t.name: t for t in tasks}
        self.workspace.default_height_m = max(ws.table_z + 0.05, 0.05)
        for view in (self.workspace, self.hand_view, self.leader_tab.view):
            view.set_ranges(ws.x_range, ws.y_range, ws.z_range)
        self._latest_q = np.asarray(ws.home_q, dtype=float)
        self._task_changed()

    def _task_changed(self, _i: int = 0) -> None:
        task = self._tasks.get(self.task_combo.currentData()) if hasattr(self, "_tasks") else None
        self.task_description.setText(task.description[:1].upper() + task.description[1:] + "." if task else "")
        if task is not None and not self.recording:
            self.clear_targets()
            self.show_scene()

    def show_scene(self) -> None:
        task = self.current_task()
        if task is None:
            return
        try:
            scene = self.app.record.scene(task)
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        self.scene = scene
        same = tuple(scene.obj) == tuple(scene.target)
        for view in (self.workspace, self.hand_view, self.leader_tab.view):
            view.set_scene(scene.obj, None if same else scene.target)

    def current_task(self) -> str | None:
        task: str | None = self.task_combo.currentData()  # a task's id, or None while there is none
        return task

    # --- targets (point and click): the click tab's --------------------------------------------------------
    @property
    def targets(self) -> list[np.ndarray]:
        return self.click_tab.targets

    def clear_targets(self) -> None:
        self.click_tab.clear_targets()

    # --- record / stop -----------------------------------------------------------------------------------
    def shortcut_space(self) -> None:
        self.toggle_recording()

    def shortcut_start(self) -> None:
        if not self.recording:
            self.toggle_recording()

    def toggle_recording(self) -> None:
        if self.recording:
            self.stop_recording()
        else:
            self.start_recording()

    def start_recording(self) -> None:
        if self.replaying or self.refuse_if_stopped():
            return
        task = self.current_task()
        if task is None:
            self.banner.show_message("Pick a task first.", "warning")
            return
        mode = MODES[self.tabs.currentIndex()]
        if mode == "click" and not self.targets:
            self.banner.show_message("Click at least one target in the workspace view first.", "warning")
            return
        self.banner.hide()
        self.reset_live()
        try:
            if mode == "hand":
                self.app.record.start_hand_episode(task)
            elif mode == "leader":
                self.app.record.start_leader_episode(task)
            else:
                targets = [tuple(float(v) for v in t) for t in self.targets]
                self.app.record.start_click_episode(task, targets, scene=getattr(self, "scene", None))
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        self.recording = True
        self.mode = mode
        self.status_label.setText({"click": "Recording… the arm is moving to your targets.",
                                   "hand": "Recording… move the arm, then press Stop.",
                                   "leader": "Recording… move the leader arm, then press Stop."}[mode])
        self.update_controls()

    def stop_recording(self) -> None:
        try:
            self.app.record.stop()
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)

    def reset_live(self) -> None:
        self.buffer.clear()
        self.goal_buffer.clear()
        self.workspace.clear_trail()
        self.hand_view.clear_trail()
        self._t0 = time.monotonic()

    # Called on the recording worker thread: only the thread-safe ring buffers and a plain attribute.
    def _on_sample_worker(self, sample: JointSample) -> None:
        self.buffer.append(sample.t, sample.q)
        if sample.goal is not None:
            self.goal_buffer.append(sample.t, sample.goal)
        self._latest_q = np.asarray(sample.q, dtype=float)

    def _on_status(self, status: RecordingStatus) -> None:
        self._last_status = status
        self.live.show_status(status, self.replaying)

    def _on_finished(self, result: RecordingResult) -> None:
        was_replay = self.replaying
        self.recording = False
        self.replaying = False
        self.mode = None
        self.last_result = result
        if result.fault:
            kept = (f" The {result.episode.samples} samples recorded before it were kept."
                    if result.episode is not None and not was_replay else "")
            self.banner.show_message(f"⚠ {result.fault}{kept}", "error", topic="arm")
            self.status_label.setText("Stopped because of a problem with the arm.")
            show_error(self, "The arm stopped", f"{result.fault}{kept}")
        elif was_replay:
            self.status_label.setText("Replay finished.")
        elif result.episode is not None:
            self.live.show_saved(result.episode)
            self.targets.clear()
            self.click_tab.update_targets_label()
        else:
            self.status_label.setText("Nothing was recorded.")
        self.refresh_episodes()
        self.update_controls()

    # --- drawing the arm ---------------------------------------------------------------------------------
    def _draw_arm(self) -> None:
        q = self._latest_q
        if q is None or not self.isVisible():
            return
        if self._drawn_q is not None and np.array_equal(q, self._drawn_q):
            return
        self._drawn_q = q
        try:
            points = np.asarray(self.app.record.arm_points(tuple(q)), dtype=float)
        except Exception:  # noqa: BLE001 - drawing must never break recording
            return
        # Only the visible tab's view is drawn (each redraw costs the GUI thread a few ms).
        view = (self.workspace, self.hand_view, self.leader_tab.view)[self.tabs.currentIndex()]
        view.set_arm(points)
        if self.recording or self.replaying:
            view.add_trail_point(points[-1])
        self.hand_tab.show_pose(q)

    # --- episodes ----------------------------------------------------------------------------------------
    def profile_changed(self, profile: ProfileInfo | None) -> None:
        self.clear_targets()
        self.reset_live()
        self.recordings.clear()
        self.update_controls()

    def page_shown(self) -> None:
        self.refresh_episodes()
        self.update_controls()

    def settings_changed(self) -> None:
        self.plot.set_degrees(self.window_.settings.degrees)

    def refresh_episodes(self) -> None:
        self.window_.refresh_episodes()

    def _episodes_loaded(self, episodes: list[EpisodeInfo], error: BaseException | None) -> None:
        titles = {name: t.title for name, t in getattr(self, "_tasks", {}).items()}
        self.recordings.show_episodes(episodes, error, titles)
        self.update_controls()

    @property
    def episodes(self) -> list[EpisodeInfo]:
        return self.recordings.episodes

    def selected_episode(self) -> EpisodeInfo | None:
        return self.recordings.selected_episode()

    def toggle_replay(self) -> None:
        self.recordings.toggle_replay()

    # --- state -------------------------------------------------------------------------------------------
    _blocker_shown: str | None = None

    def update_controls(self) -> None:
        state = self.app.arm.state
        connected = state.connected
        has_profile = self.window_.active_profile is not None
        busy = self.recording or self.replaying
        mode = MODES[self.tabs.currentIndex()]
        leader_ok = self.app.leader.connected
        can_start = (connected and not state.stopped and has_profile and not self.replaying
                     and {"click": bool(self.targets), "hand": True, "leader": leader_ok}[mode])
        self.record_button.setEnabled(self.recording or can_start)
        self.record_button.setText("■  Stop  (Space)" if self.recording else "●  Record  (Space)")
        self.record_button.setProperty("danger", self.recording)
        self.task_combo.setEnabled(not busy)
        self.tabs.tabBar().setEnabled(not busy)
        self.recordings.update_controls(connected and not state.stopped, has_profile, busy, self.replaying)
        self.click_tab.update_controls(busy)
        is_sim = connected and state.choice is not None and state.choice.kind == "sim"
        self.sim_hand_box.setVisible(is_sim)
        self.sim_hand_box.setEnabled(self.recording and self.mode == "hand")
        self.leader_tab.sim_hand_box.setVisible(leader_ok and self.app.leader.simulator() is not None)
        self._show_blocker(None if busy else
                           "Connect an arm first (step 1)." if not connected else
                           "Create or pick a profile first (step 2): recordings belong to a person." if not has_profile
                           else "The arm is stopped: press Reset (top right) to use it again." if state.stopped
                           else "Connect a leader arm first: Connect page, “Leader arm (optional)”."
                           if mode == "leader" and not leader_ok else None)

    def _show_blocker(self, text: str | None) -> None:
        """What stops recording right now; once nothing does, say what to do next instead (never stale)."""
        if text is not None:
            self.status_label.setText(text)
        elif self._blocker_shown is not None:  # whatever was said while blocked (e.g. "press Reset") is stale
            self.status_label.setText(("Ready: click targets in the top view, then press Record.",
                                       "Ready: press Record, then guide the arm by hand.",
                                       "Ready: press Record, then move the leader arm.")[self.tabs.currentIndex()])
        self._blocker_shown = text

    def is_moving(self) -> str | None:
        if self.recording:
            return "recording"
        if self.replaying:
            return "replaying a recording"
        return None

    def stop_motion(self) -> None:
        if self.recording or self.replaying:
            try:
                self.app.record.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort; the e-stop already released torque
                pass

    def emergency_stopped(self) -> None:
        if self.recording or self.replaying:
            self.status_label.setText("Emergency stop: the motors were relaxed. What was recorded is kept.")

    def shutdown(self) -> None:
        self.draw_timer.stop()
        for d in self._disconnects:
            d()
