"""Step 3 — Record: show the arm how you want a task done, by clicking targets or by moving it by hand."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from prop_desktop.ui.messages import ask, show_error, user_message
from prop_desktop.ui.pages.base import Page
from prop_desktop.ui.pages.lerobot_actions import LeRobotActions
from prop_desktop.ui.profile_dialogs import TextDialog
from prop_desktop.ui.ring_buffer import RingBuffer
from prop_desktop.ui.widgets.joint_plot import JOINT_LABELS, JOINT_NAMES, JointPlot
from prop_desktop.ui.widgets.workspace_view import WorkspaceView
from prop_desktop.ui.worker import run_in_background

HOW = {"click": "clicked", "hand": "by hand", "correction": "correction"}  # the table's "How" column
EPISODE_COLUMNS = ("Name", "Task", "How", "Length", "Samples", "Rate", "Note")
GRIPPER_OPEN = 0.5  # radians: the base tasks open to 0.5 before grasping and close to -0.4 on the item
GRIPPER_CLOSED = -0.4
MAX_TARGETS = 8


class RecordPage(Page):
    title = "Show the arm how you like it"
    hint = ("Pick a task, then click where the gripper should go (it moves there and records the motion), or "
            "move the arm by hand. Three or more recordings are a good start.")

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.buffer = RingBuffer(capacity=2000, width=6)
        self.goal_buffer = RingBuffer(capacity=2000, width=6)
        self.targets: list[np.ndarray] = []
        self.recording = False
        self.replaying = False
        self.mode: str | None = None
        self._latest_q: np.ndarray | None = None
        self._drawn_q: np.ndarray | None = None
        self._t0 = 0.0
        self._last_status: Any = None
        self.last_result: Any = None
        self.dialog: Any = None
        self.episodes: list[Any] = []

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
        click_tab = QWidget()
        cl = QVBoxLayout(click_tab)
        self.workspace = WorkspaceView()
        self.workspace.setObjectName("workspaceView")
        self.workspace.target_clicked.connect(lambda x, y, z: self._target_clicked(x, y, z, adjust=False))
        self.workspace.target_adjusted.connect(lambda x, y, z: self._target_clicked(x, y, z, adjust=True))
        cl.addWidget(self.workspace, 1)
        legend = QLabel("<span style='color:#ea580c'>●</span> the item (or the person)  "
                        "<span style='color:#15803d'>■</span> where it should go  "
                        "<span style='color:#dc2626'>○</span> your targets, in order")
        legend.setObjectName("caption")
        cl.addWidget(legend)
        trow = QHBoxLayout()
        self.targets_label = QLabel()
        self.targets_label.setObjectName("targetsLabel")
        self.targets_label.setWordWrap(True)
        trow.addWidget(self.targets_label, 1)
        self.undo_target_button = QPushButton("Remove last")
        self.undo_target_button.setObjectName("removeLastTarget")
        self.undo_target_button.clicked.connect(self.remove_last_target)
        trow.addWidget(self.undo_target_button)
        self.clear_targets_button = QPushButton("Clear targets")
        self.clear_targets_button.setObjectName("clearTargets")
        self.clear_targets_button.clicked.connect(self.clear_targets)
        trow.addWidget(self.clear_targets_button)
        cl.addLayout(trow)
        srow = QHBoxLayout()
        srow.addWidget(QLabel("Gripper at new targets:"))
        self.gripper_combo = QComboBox()
        self.gripper_combo.setObjectName("gripperCombo")
        self.gripper_combo.addItem("open", GRIPPER_OPEN)
        self.gripper_combo.addItem("closed (holding)", GRIPPER_CLOSED)
        self.gripper_combo.setToolTip("Whether the gripper is open or closed when the arm reaches the next target")
        srow.addWidget(self.gripper_combo)
        srow.addStretch(1)
        self.general_way_button = QPushButton("Start from the general way")
        self.general_way_button.setObjectName("generalWayButton")
        self.general_way_button.setToolTip("Put the targets the arm would use by default; then change them to your "
                                           "liking")
        self.general_way_button.clicked.connect(self.load_general_way)
        srow.addWidget(self.general_way_button)
        self.shuffle_button = QPushButton("Move the objects")
        self.shuffle_button.setObjectName("shuffleScene")
        self.shuffle_button.setToolTip("Place the cup/item and its destination somewhere else on the table")
        self.shuffle_button.clicked.connect(self.shuffle_scene)
        srow.addWidget(self.shuffle_button)
        cl.addLayout(srow)
        self.tabs.addTab(click_tab, "Point and click")

        hand_tab = QWidget()
        hl = QVBoxLayout(hand_tab)
        explain = QLabel("The motors relax so you can move the arm yourself. Press Record, guide the arm through "
                         "the task, then press Stop. The app samples the joints as you go.")
        explain.setWordWrap(True)
        hl.addWidget(explain)
        self.sim_hand_box = QGroupBox("Simulated arm: move it “by hand” with these sliders")
        sl = QVBoxLayout(self.sim_hand_box)
        self.hand_sliders: list[QSlider] = []
        for joint_index, label in enumerate(JOINT_LABELS):
            row = QHBoxLayout()
            name = QLabel(label)
            name.setMinimumWidth(90)
            row.addWidget(name)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-200, 200)  # hundredths of a radian
            slider.setObjectName(f"handSlider{joint_index}")
            slider.valueChanged.connect(lambda v, j=joint_index: self._slider_moved(j, v))
            row.addWidget(slider, 1)
            sl.addLayout(row)
            self.hand_sliders.append(slider)
        # The arm as it is moved, seen from above and the side (the same drawing as the clicking view), beside
        # the sliders: stacked, the tab would not fit a 1280×800 window.
        self.hand_view = WorkspaceView(interactive=False)
        self.hand_view.setObjectName("handWorkspaceView")
        hand_row = QHBoxLayout()
        hand_row.addWidget(self.sim_hand_box, 2)
        hand_row.addWidget(self.hand_view, 3)
        hl.addLayout(hand_row, 1)
        self.tabs.addTab(hand_tab, "By hand")
        self.tabs.currentChanged.connect(lambda _i: self._update_controls())
        self.tabs.currentChanged.connect(lambda _i: setattr(self, "_drawn_q", None))  # draw the new tab's view

        # Right: live view and controls.
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.record_button = QPushButton("●  Record  (Space)")
        self.record_button.setObjectName("recordButton")
        self.record_button.setProperty("primary", True)
        self.record_button.setMinimumHeight(44)
        self.record_button.clicked.connect(self.toggle_recording)
        controls.addWidget(self.record_button, 1)
        rl.addLayout(controls)
        stats = QHBoxLayout()
        self.rate_label = QLabel("")
        self.rate_label.setObjectName("bigNumber")
        self.rate_label.setToolTip("How many times per second the joints are actually being sampled")
        stats.addWidget(self.rate_label)
        self.samples_label = QLabel("")
        self.samples_label.setObjectName("muted")
        # Counting samples changes the text's width many times a second: never let it re-lay out the column.
        self.samples_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # ...but keep room for the longest count a recording reaches, so it is never cut.
        longest = "99999 samples · 999.9 s"
        self.samples_label.setMinimumWidth(self.samples_label.fontMetrics().horizontalAdvance(longest))
        stats.addWidget(self.samples_label, 1)
        rl.addLayout(stats)
        self.status_label = QLabel("")
        self.status_label.setObjectName("recordStatus")
        self.status_label.setWordWrap(True)
        # Room for two lines up front: a message that changes height would resize the live plot below it, and
        # a resized plot re-renders its axes and the page (tens of ms on the GUI thread at every start/stop).
        self.status_label.setMinimumHeight(2 * self.status_label.fontMetrics().lineSpacing() + 4)
        rl.addWidget(self.status_label)
        self.plot = JointPlot("Joint angles, live", self.buffer, dashed=self.goal_buffer)
        self.plot.set_degrees(window.settings.degrees)
        rl.addWidget(self.plot, 1)
        split.addWidget(right)
        split.setSizes([620, 520])

        episodes_box = QGroupBox("Your recordings for this profile")
        el = QVBoxLayout(episodes_box)
        self.episode_table = QTableWidget(0, len(EPISODE_COLUMNS))
        self.episode_table.setObjectName("episodeTable")
        self.episode_table.setHorizontalHeaderLabels(EPISODE_COLUMNS)
        self.episode_table.verticalHeader().setVisible(False)
        self.episode_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.episode_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.episode_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.episode_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.episode_table.horizontalHeader().setStretchLastSection(True)
        self.episode_table.setMaximumHeight(130)
        self.episode_table.itemSelectionChanged.connect(self._update_controls)
        el.addWidget(self.episode_table)
        erow = QHBoxLayout()
        self.replay_button = QPushButton("▶  Replay on the arm")
        self.replay_button.setObjectName("replayEpisode")
        self.replay_button.clicked.connect(self.toggle_replay)
        erow.addWidget(self.replay_button)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setObjectName("renameEpisode")
        self.rename_button.clicked.connect(self.rename_selected)
        erow.addWidget(self.rename_button)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteEpisode")
        self.delete_button.setProperty("danger", True)
        self.delete_button.clicked.connect(self.delete_selected)
        erow.addWidget(self.delete_button)
        erow.addStretch(1)
        self.lerobot = LeRobotActions(self, erow)
        el.addLayout(erow)
        self.outer.addWidget(episodes_box)

        self._disconnects = [
            self.app.record.sample.connect(self._on_sample_worker),
            self.app.record.status_changed.connect(self.bridge.wrap(self._on_status)),
            self.app.record.finished.connect(self.bridge.wrap(self._on_finished)),
        ]
        window.connection_changed.connect(lambda _s: self._update_controls())
        window.episodes_loaded.connect(self._episodes_loaded)
        self.draw_timer = QTimer(self)
        self.draw_timer.setInterval(33)
        self.draw_timer.timeout.connect(self._draw_arm)
        self.draw_timer.start()
        self._load_tasks()
        self._update_targets_label()
        self._update_controls()

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
        for view in (self.workspace, self.hand_view):
            view.set_ranges(ws.x_range, ws.y_range, ws.z_range)
        self._latest_q = np.asarray(ws.home_q, dtype=float)
        self._task_changed()

    def _task_changed(self, _i: int = 0) -> None:
        task = self._tasks.get(self.task_combo.currentData()) if hasattr(self, "_tasks") else None
        self.task_description.setText(task.description[:1].upper() + task.description[1:] + "." if task else "")
        if task is not None and not self.recording:
            self.clear_targets()
            self._show_scene()

    def _show_scene(self) -> None:
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
        for view in (self.workspace, self.hand_view):
            view.set_scene(scene.obj, None if same else scene.target)

    def load_general_way(self) -> None:
        """Targets the base behaviour would use in this scene: a starting point to adjust."""
        scene = getattr(self, "scene", None)
        if scene is None or self.recording:
            return
        self.targets = [np.array([w.x, w.y, w.z, w.gripper]) for w in scene.base_waypoints][:MAX_TARGETS]
        self._update_targets_label()

    def shuffle_scene(self) -> None:
        task = self.current_task()
        if task is None or self.recording:
            return
        try:
            self.app.record.shuffle_scene(task)
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        self.clear_targets()
        self._show_scene()

    def current_task(self) -> str | None:
        return self.task_combo.currentData()

    # --- targets (point and click) -----------------------------------------------------------------------
    def _target_clicked(self, x: float, y: float, z: float, adjust: bool) -> None:
        """From above: add a target. From the side: change the last target's reach and height."""
        if self.recording or self.replaying:
            return
        target = np.array([x, y, z, float(self.gripper_combo.currentData())])
        if adjust and self.targets:
            target[3] = self.targets[-1][3]
        try:
            problem = self.app.record.check_target(tuple(float(v) for v in target))
        except Exception as exc:  # noqa: BLE001
            problem = user_message(exc)
        if problem:
            self.status_label.setText(f"⚠ {problem}")
            self.workspace.set_target(None)
            return
        if adjust and self.targets:
            self.targets[-1] = target
        elif len(self.targets) >= MAX_TARGETS:
            self.status_label.setText(f"At most {MAX_TARGETS} targets per recording. Record, or clear targets.")
            return
        else:
            self.targets.append(target)
        self.status_label.setText("")
        self.workspace.set_target(None)
        self.workspace.target = target[:3]  # side clicks adjust the reach/height around the last target
        self._update_targets_label()

    def remove_last_target(self) -> None:
        if self.targets:
            self.targets.pop()
        self._update_targets_label()

    def clear_targets(self) -> None:
        self.targets.clear()
        self.workspace.set_target(None)
        self._update_targets_label()

    def _update_targets_label(self) -> None:
        self.workspace.set_markers(self.targets)
        if not self.targets:
            self.targets_label.setText("Click in the views to place targets for the gripper (up to "
                                       f"{MAX_TARGETS}), then press Record.")
        else:
            text = ", ".join(f"{i + 1}: {t[0] * 100:.0f}/{t[1] * 100:.0f}/{t[2] * 100:.0f} cm"
                             f"{' (holding)' if t[3] < 0 else ''}" for i, t in enumerate(self.targets))
            self.targets_label.setText(f"{len(self.targets)} target(s) (forward/left/height): {text}")
        self._update_controls()

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
        hand = self.tabs.currentIndex() == 1
        if not hand and not self.targets:
            self.banner.show_message("Click at least one target in the workspace view first.", "warning")
            return
        self.banner.hide()
        self._reset_live()
        try:
            if hand:
                self.app.record.start_hand_episode(task)
            else:
                targets = [tuple(float(v) for v in t) for t in self.targets]
                self.app.record.start_click_episode(task, targets, scene=getattr(self, "scene", None))
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        self.recording = True
        self.mode = "hand" if hand else "click"
        self.status_label.setText("Recording… the arm is moving to your targets." if not hand else
                                  "Recording… move the arm, then press Stop.")
        self._update_controls()

    def stop_recording(self) -> None:
        try:
            self.app.record.stop()
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)

    def _reset_live(self) -> None:
        self.buffer.clear()
        self.goal_buffer.clear()
        self.workspace.clear_trail()
        self.hand_view.clear_trail()
        self._t0 = time.monotonic()

    # Called on the recording worker thread: only the thread-safe ring buffers and a plain attribute.
    def _on_sample_worker(self, sample: Any) -> None:
        self.buffer.append(sample.t, sample.q)
        if sample.goal is not None:
            self.goal_buffer.append(sample.t, sample.goal)
        self._latest_q = np.asarray(sample.q, dtype=float)

    def _on_status(self, status: Any) -> None:
        self._last_status = status
        if status.running and self.replaying:
            self.rate_label.setText("Replaying")
            self.samples_label.setText(f"{status.elapsed_s:.1f} s")
        elif status.running:
            self.rate_label.setText(f"{status.achieved_hz:.0f} samples/s")
            self.samples_label.setText(f"{status.samples} samples · {status.elapsed_s:.1f} s")
            if status.message:
                self.status_label.setText(status.message)

    def _on_finished(self, result: Any) -> None:
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
            ep = result.episode
            # The saved numbers are the true ones (the live counter is refreshed a few times a second).
            self.rate_label.setText(f"{ep.rate_hz:.0f} samples/s")
            self.samples_label.setText(f"{ep.samples} samples · {ep.duration_s:.1f} s")
            self.status_label.setText(f"Saved “{ep.name}”: {ep.samples} samples in {ep.duration_s:.1f} s "
                                      f"({ep.rate_hz:.0f} samples/s).")
            if not was_replay:
                self.targets.clear()
                self._update_targets_label()
        else:
            self.status_label.setText("Nothing was recorded.")
        self.refresh_episodes()
        self._update_controls()

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
        view = self.hand_view if self.tabs.currentIndex() == 1 else self.workspace
        view.set_arm(points)
        if self.recording or self.replaying:
            view.add_trail_point(points[-1])
        for slider, value in zip(self.hand_sliders, q, strict=False):
            if not slider.isSliderDown():
                slider.blockSignals(True)
                slider.setValue(int(round(value * 100)))
                slider.blockSignals(False)

    # --- by hand on the simulated arm --------------------------------------------------------------------
    def _slider_moved(self, joint: int, value: int) -> None:
        """On the simulated arm a slider stands in for a hand moving one joint (torque is off while recording)."""
        sim = self.app.arm.simulator()
        if sim is None:
            return
        try:
            moved = sim.move_by_hand(JOINT_NAMES[joint], value / 100.0)
        except Exception as exc:  # noqa: BLE001
            self.status_label.setText(f"The simulated arm did not move: {exc}")
            return
        if not moved:
            self.status_label.setText("The motors are holding the arm. Press Record first: then they relax.")

    # --- episodes ----------------------------------------------------------------------------------------
    def profile_changed(self, profile: Any) -> None:
        self.clear_targets()
        self._reset_live()
        self.episode_table.setRowCount(0)
        self.episodes = []
        self._update_controls()

    def page_shown(self) -> None:
        self.refresh_episodes()
        self._update_controls()

    def settings_changed(self) -> None:
        self.plot.set_degrees(self.window_.settings.degrees)

    def refresh_episodes(self) -> None:
        self.window_.refresh_episodes()

    def _episodes_loaded(self, episodes: list[Any], error: BaseException | None) -> None:
        self.episodes = list(episodes)
        if error is not None:
            self.banner.show_message(f"Your recordings cannot be read: {user_message(error)}", "error")
            self._episodes_error_shown = True
        elif getattr(self, "_episodes_error_shown", False):
            self.banner.hide()  # readable again (e.g. the passphrase was given meanwhile): the error is stale
            self._episodes_error_shown = False
        selected = self.selected_episode_id
        self.episode_table.setRowCount(len(self.episodes))
        for r, ep in enumerate(self.episodes):
            task = self._tasks.get(ep.task).title if hasattr(self, "_tasks") and ep.task in self._tasks else ep.task
            note = f"⚠ {ep.fault}" if ep.fault else ("stopped early" if ep.interrupted else "")
            rate = ep.rate_hz or (ep.samples / ep.duration_s if ep.duration_s > 0 else 0.0)
            cells = (ep.name, task, HOW.get(ep.mode, "by hand"), f"{ep.duration_s:.1f} s",
                     str(ep.samples), f"{rate:.0f}/s", note)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, ep.id)
                self.episode_table.setItem(r, c, item)
            if selected is not None and ep.id == selected:
                self.episode_table.selectRow(r)
        self._update_controls()

    @property
    def selected_episode_id(self) -> str | None:
        ep = self.selected_episode()
        return None if ep is None else ep.id

    def selected_episode(self) -> Any:
        rows = self.episode_table.selectionModel().selectedRows() if self.episode_table.selectionModel() else []
        if not rows:
            return None
        r = rows[0].row()
        return self.episodes[r] if 0 <= r < len(self.episodes) else None

    def toggle_replay(self) -> None:
        """The replay button stops a replay that runs (Esc also does, as an emergency stop)."""
        if self.replaying:
            self.stop_motion()
        else:
            self.replay_selected()

    def replay_selected(self) -> None:
        if self.refuse_if_stopped():
            return
        ep = self.selected_episode()
        if ep is None or self.recording:
            return
        self._reset_live()
        try:
            self.app.record.replay_episode(ep.id)
        except Exception as exc:  # noqa: BLE001
            # The storage names files by id; the person knows the recording by its name.
            text = user_message(exc).replace(f"{ep.id}.sealed: ", "").replace(f"episode {ep.id}", "recording")
            self.banner.show_message(f"“{ep.name}” cannot be replayed: {text}", "error")
            return
        self.replaying = True
        self.status_label.setText(f"Replaying “{ep.name}” on the arm…")
        self._update_controls()

    def rename_selected(self) -> None:
        ep = self.selected_episode()
        if ep is None:
            return

        def submit(name: str, dlg: TextDialog) -> None:
            def done(_r: Any) -> None:
                dlg.accept()
                self.refresh_episodes()

            run_in_background(self.bridge, lambda: self.app.record.rename_episode(ep.id, name), done,
                              lambda e: dlg.show_error(user_message(e)), name="rename-episode")

        self.dialog = TextDialog("Rename recording", "Name", ep.name, submit, self)
        self.dialog.open()

    def delete_selected(self) -> None:
        ep = self.selected_episode()
        if ep is None:
            return

        def confirmed() -> None:
            run_in_background(self.bridge, lambda: self.app.record.delete_episode(ep.id),
                              lambda _r: self.refresh_episodes(),
                              lambda e: show_error(self, "Could not delete", e), name="delete-episode")

        self.dialog = ask(self, "Delete this recording?", f"Delete “{ep.name}”? This cannot be undone.",
                          "Delete", confirmed, destructive=True)

    # --- state -------------------------------------------------------------------------------------------
    _blocker_shown: str | None = None

    def _update_controls(self) -> None:
        state = self.app.arm.state
        connected = state.connected
        has_profile = self.window_.active_profile is not None
        busy = self.recording or self.replaying
        hand = self.tabs.currentIndex() == 1
        can_start = (connected and not state.stopped and has_profile and not self.replaying
                     and (hand or bool(self.targets)))
        self.record_button.setEnabled(self.recording or can_start)
        self.record_button.setText("■  Stop  (Space)" if self.recording else "●  Record  (Space)")
        self.record_button.setProperty("danger", self.recording)
        self.task_combo.setEnabled(not busy)
        self.tabs.tabBar().setEnabled(not busy)
        ep = self.selected_episode()
        self.replay_button.setEnabled(self.replaying or (ep is not None and connected and not state.stopped
                                                         and not busy))
        self.replay_button.setText("■  Stop replay" if self.replaying else "▶  Replay on the arm")
        self.rename_button.setEnabled(ep is not None and not busy)
        self.delete_button.setEnabled(ep is not None and not busy)
        self.lerobot.update(has_profile, bool(self.episodes), busy)
        self.undo_target_button.setEnabled(bool(self.targets) and not busy)
        self.clear_targets_button.setEnabled(bool(self.targets) and not busy)
        self.general_way_button.setEnabled(not busy)
        self.shuffle_button.setEnabled(not busy)
        is_sim = connected and state.choice is not None and state.choice.kind == "sim"
        self.sim_hand_box.setVisible(is_sim)
        self.sim_hand_box.setEnabled(self.recording and self.mode == "hand")
        self._show_blocker(None if busy else
                           "Connect an arm first (step 1)." if not connected else
                           "Create or pick a profile first (step 2): recordings belong to a person." if not has_profile
                           else "The arm is stopped: press Reset (top right) to use it again." if state.stopped
                           else None)

    def _show_blocker(self, text: str | None) -> None:
        """What stops recording right now; once nothing does, say what to do next instead (never stale)."""
        if text is not None:
            self.status_label.setText(text)
        elif self._blocker_shown is not None:  # whatever was said while blocked (e.g. "press Reset") is stale
            self.status_label.setText("Ready: press Record, then guide the arm by hand." if self.tabs.currentIndex()
                                      else "Ready: click targets in the top view, then press Record.")
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
