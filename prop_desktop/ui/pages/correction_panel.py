"""The Drive page's correction loop: Take over → correct → Hand back → Update my skill.

While the arm drives Personalized, "Take over" (Ctrl+T) stops the policy where it is. The person then corrects
from that pose: a click in the workspace view ("go here instead") moves the arm there from where it stands
(RecordService.start_click_episode(correction=True), the current scene); on a real arm "By hand" releases the
torque and records the hand-guided motion like a hand-guided demonstration. Every corrective motion is saved as
the person's sealed recording marked "correction" (listed on the Record page; never replacing a recording).
"Hand back" (Ctrl+T again) ends the takeover. "Update my skill" retrains warm-started from the current skill
(TrainingService.update_skill) with progress and Cancel, and says what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QPushButton, QWidget

from prop_desktop.ui.messages import user_message
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from PySide6.QtWidgets import QComboBox

    from prop_desktop.services import App
    from prop_desktop.services.models import (
        EpisodeInfo,
        JointSample,
        ModeChange,
        RecordingResult,
        TrainingProgress,
        TrainingResult,
    )
    from prop_desktop.services.training_job import TrainingJob
    from prop_desktop.ui.bridge import ThreadBridge
    from prop_desktop.ui.widgets.banner import Banner
    from prop_desktop.ui.widgets.workspace_view import WorkspaceView


class DriveView(Protocol):
    """What the panel uses of the Drive page (drive_page.py's DrivePage, a QWidget: the panel's parent); a
    protocol, so the panel does not import the page that imports it."""

    app: App
    bridge: ThreadBridge
    banner: Banner
    workspace: WorkspaceView
    task_combo: QComboBox
    mode_label: QLabel
    running: bool
    personalized: bool
    _latest_q: np.ndarray | None  # the last measured joints, where a take-over starts

    def as_widget(self) -> QWidget: ...

    def request_mode(self, personalized: bool) -> None: ...

    def stop(self) -> None: ...

    def show_error(self, exc: BaseException, prefix: str = "") -> None: ...


class CorrectionPanel(QFrame):
    DRIVE_FIRST = "Take over while the arm drives Personalized: it stops where it is and you show it your way."

    def __init__(self, page: DriveView) -> None:
        super().__init__(page.as_widget())
        self.setObjectName("correctionPanel")
        self.page = page
        self.app = page.app
        self.taking_over = False  # the person has the arm (the policy is stopped)
        self.correcting = False  # a corrective motion is being recorded
        self.updating = False
        self.saved: list[EpisodeInfo] = []  # the corrections saved in this takeover
        self.last_update: TrainingResult | None = None
        self._gate: str | None = "Checking whether your skill can be corrected…"
        self._gate_asked = 0
        self._job: TrainingJob | None = None
        self._job_disconnects: list[Callable[[], None]] = []

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 4, 0, 4)
        self.take_over_button = self._button("takeOverButton", "Take over  (Ctrl+T)", self.toggle_take_over,
                                             "Stop the arm where it is and show it your way from here")
        self.by_hand_button = self._button("byHandButton", "By hand", self.correct_by_hand,
                                           "Motors off: guide the arm with your hand (support it!)")
        self.update_button = self._button("updateSkillButton", "Update my skill", self.update_skill,
                                          "Learn from your corrections (a few seconds)")
        self.cancel_button = self._button("cancelUpdateButton", "Cancel", self.cancel_update,
                                          "Stop updating: your skill stays as it was")
        for col, b in enumerate((self.take_over_button, self.by_hand_button, self.update_button, self.cancel_button)):
            grid.addWidget(b, 0, col)
        self.progress = QProgressBar()
        self.progress.setObjectName("updateProgress")
        self.progress.setVisible(False)
        grid.addWidget(self.progress, 1, 0, 1, 4)
        self.status = QLabel("")
        self.status.setObjectName("correctionStatus")
        self.status.setWordWrap(True)
        grid.addWidget(self.status, 2, 0, 1, 4)
        self._message = ""  # what the loop last said; the reason it is impossible wins while it is
        shortcut = QShortcut(QKeySequence("Ctrl+T"), page.as_widget())
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.toggle_take_over)
        page.workspace.top.clicked.connect(lambda y, x: self._clicked_top(x, y))
        page.workspace.side.clicked.connect(self._clicked_side)
        self._disconnects = [self.app.record.finished.connect(page.bridge.wrap(self._correction_finished)),
                             self.app.record.sample.connect(self._on_sample_worker)]
        self.update_controls()

    def _button(self, name: str, text: str, slot: Callable[[], object], tip: str) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.setMinimumHeight(34)
        b.clicked.connect(slot)
        return b

    # --- what is possible ------------------------------------------------------------------------------
    def refresh_gate(self) -> None:
        """Ask (off the GUI thread) whether this person can correct: a profile, its key, a trained skill."""
        self._gate_asked += 1
        asked = self._gate_asked
        run_in_background(self.page.bridge, self.app.drive.can_personalize, lambda c: self._gate_answer(asked, c),
                          lambda exc: self._gate_answer(asked, None, user_message(exc)), name="correction-gate")

    def _gate_answer(self, asked: int, change: ModeChange | None, error: str | None = None) -> None:
        if asked != self._gate_asked:
            return  # a newer question is on its way (e.g. asked on a profile switch, then again on page shown)
        self._gate = error if change is None else (None if change.personalized else change.reason)
        self.update_controls()

    def why_not_take_over(self) -> str | None:
        state = self.app.arm.state
        if not state.connected:
            return "Connect an arm first (step 1)."
        if state.stopped:
            return "The arm is stopped: press Reset (top right) to use it again."
        if self._gate is not None:
            return self._gate
        if not self.taking_over and not (self.page.running and self.page.personalized):
            return self.DRIVE_FIRST
        return None

    def why_not_update(self) -> str | None:
        if self.updating:
            return "Updating…"
        if self.taking_over or self.page.running:
            return "Hand back and stop the arm first."
        return self._gate

    def update_controls(self) -> None:
        take_over_blocked = self.why_not_take_over()
        # Hand back always works (also after an unplug or e-stop mid-takeover); Take over only when possible.
        self.take_over_button.setEnabled(self.taking_over or (take_over_blocked is None and not self.updating))
        self.take_over_button.setText("Hand back  (Ctrl+T)" if self.taking_over else "Take over  (Ctrl+T)")
        self.take_over_button.setToolTip(take_over_blocked or "")
        real_arm = self.app.arm.simulator() is None
        self.by_hand_button.setVisible(real_arm)
        self.by_hand_button.setEnabled(self.taking_over and not self.correcting and real_arm)
        update_blocked = self.why_not_update()
        self.update_button.setEnabled(update_blocked is None)
        self.update_button.setToolTip(update_blocked or "Learn from your corrections (a few seconds)")
        self.cancel_button.setVisible(self.updating)
        cursor = Qt.CursorShape.CrossCursor if self.taking_over else Qt.CursorShape.ArrowCursor
        for plane in (self.page.workspace.top, self.page.workspace.side):
            plane.setCursor(cursor)  # while taking over, a click in the view is "go here instead"
        # Why this person cannot correct (no profile, key or trained skill); the arm's state is said by the page.
        # One line under the buttons (the Drive page must fit 1280×800 without scrolling): why this person cannot
        # correct (no profile, key or trained skill; the arm's own state is said by the page), else the loop's news.
        blocked = (self._gate is not None and not (self.taking_over or self.updating or self.correcting)
                   and self._gate not in self.page.mode_label.text())  # said once: the mode line may say it
        self.status.setText(f"Corrections: {self._gate}" if blocked else self._message)
        self.status.setVisible(bool(self.status.text()))

    def _say(self, text: str) -> None:
        self._message = text
        self.update_controls()

    # --- take over / correct / hand back -----------------------------------------------------------------
    def toggle_take_over(self) -> None:
        if self.taking_over:
            self.hand_back()
            return
        reason = self.why_not_take_over()
        if reason is not None:  # a shortcut reaches us even while the button is disabled: say why
            self.page.banner.show_message(f"You cannot take over now: {reason}", "warning")
            return
        self.page.stop()
        self.taking_over, self.saved, self.last_update = True, [], None
        self._say("You have the arm. Click where it should go instead (from above or from the side)"
                            + (", or press By hand" if self.app.arm.simulator() is None else "")
                            + ". Press Hand back when done.")
        self.update_controls()

    def _tip(self) -> np.ndarray | None:
        q = self.page._latest_q
        if q is None:
            return None
        return np.asarray(self.app.record.arm_points(tuple(q))[-1], dtype=float)

    def _clicked_top(self, x: float, y: float) -> None:
        tip = self._tip()
        self.correct_to(x, y, float(tip[2]) if tip is not None else 0.1)

    def _clicked_side(self, reach: float, z: float) -> None:
        tip = self._tip()
        heading = float(np.arctan2(tip[1], tip[0])) if tip is not None and np.hypot(tip[0], tip[1]) > 1e-3 else 0.0
        self.correct_to(reach * np.cos(heading), reach * np.sin(heading), max(0.0, z))

    def correct_to(self, x: float, y: float, z: float) -> None:
        """'Go here instead': a corrective point-and-click motion from the current pose, recorded."""
        if not self.taking_over or self.correcting:
            return
        task = self.page.task_combo.currentData()
        q = self.page._latest_q
        gripper = float(q[5]) if q is not None else 0.0  # keep the gripper as it is
        self.page.workspace.set_target(np.array([x, y, z]))
        self._start(lambda: self.app.record.start_click_episode(
            task, [(x, y, z, gripper)], scene=self.app.record.scene(task), correction=True),
            "Moving there and recording your correction…")

    def correct_by_hand(self) -> None:
        if not self.taking_over or self.correcting:
            return
        task = self.page.task_combo.currentData()
        self._start(lambda: self.app.record.start_hand_episode(task, correction=True,
                                                               scene=self.app.record.scene(task)),
                    "Motors off: guide the arm your way (support it!). Press Hand back when done.")

    def _start(self, start: Callable[[], None], message: str) -> None:
        self.correcting = True
        self.page.workspace.clear_trail()
        self._say(message)
        self.update_controls()

        def run() -> None:
            self.app.drive.wait(5.0)  # the drive just stopped frees the arm within a tick
            start()

        run_in_background(self.page.bridge, run, None, self._start_failed, name="correction-start")

    def _start_failed(self, exc: BaseException) -> None:
        self.correcting = False
        self.page.show_error(exc, "This correction cannot be done: ")  # unreachable point, arm gone …
        self._say("Click another point, or press Hand back.")
        self.update_controls()

    def _on_sample_worker(self, s: JointSample) -> None:
        """Recording thread: the drawn arm follows the correction (a plain attribute swap, like the page's)."""
        if self.correcting:
            self.page._latest_q = np.asarray(s.q, dtype=float)

    def _correction_finished(self, result: RecordingResult) -> None:
        if not self.correcting:
            return  # a demonstration or replay of the Record page
        self.correcting = False
        if result.episode is not None:
            self.saved.append(result.episode)
        if result.fault:  # unplug, overheating: what was recorded before it is kept
            self.page.banner.show_message(result.fault, "error", topic="arm")
            self.taking_over = False
        n = len(self.saved)
        self._say(f"{n} correction{'s' if n != 1 else ''} saved. "
                            + ("Click again to go on, or press Hand back." if self.taking_over else
                               "Press Update my skill to learn from them."))
        self.update_controls()

    def hand_back(self) -> None:
        """End the takeover (a hand-guided correction being recorded is stopped and saved)."""
        if self.correcting:
            self.app.record.stop()
        self.taking_over = False
        n = len(self.saved)
        self._say(f"Handed back: {n} correction{'s' if n != 1 else ''} saved. Press Update my skill to "
                            "learn from them, then Start again.")
        self.update_controls()

    # --- update my skill --------------------------------------------------------------------------------
    def update_skill(self) -> None:
        reason = self.why_not_update()
        if reason is not None:
            self.page.banner.show_message(f"Your skill cannot be updated now: {reason}", "warning")
            return
        try:
            job = self.app.training.update_skill()
        except Exception as exc:  # noqa: BLE001
            self.page.show_error(exc)
            return
        self._job, self.updating, self.last_update = job, True, None
        wrap = self.page.bridge.wrap
        self._job_disconnects = [job.progress.connect(wrap(self._on_progress)),
                                 job.finished.connect(wrap(self._on_finished))]
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._say("Updating your skill from your recordings and corrections…")
        self.update_controls()
        if not job.running and job.result is not None:  # finished before we listened
            self._on_finished(job.result)

    def cancel_update(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._say("Cancelling… your skill stays as it was.")

    def _on_progress(self, p: TrainingProgress) -> None:
        if not self.updating:
            return
        if p.total_steps > 0:
            self.progress.setRange(0, p.total_steps)
            self.progress.setValue(min(p.step, p.total_steps))
        if p.message:
            self._say(p.message)

    def _on_finished(self, result: TrainingResult) -> None:
        if not self.updating:
            return
        for d in self._job_disconnects:
            d()
        self._job_disconnects, self._job = [], None
        self.updating, self.last_update = False, result
        self.progress.setVisible(False)
        self._say(result.message)
        if result.ok and self.page.personalized:
            self.page.request_mode(True)  # drive with the new skill (the session held the previous one)
        self.update_controls()

    # --- page hooks ------------------------------------------------------------------------------------
    def is_moving(self) -> str | None:
        return "recording a correction" if self.correcting else None

    def stop_motion(self) -> None:
        if self.correcting:
            self.app.record.stop()

    def profile_changed(self) -> None:
        if self.taking_over:
            self.hand_back()
        self.saved, self.last_update, self._gate = [], None, "Checking whether your skill can be corrected…"
        self.refresh_gate()

    def shutdown(self) -> None:
        for d in self._disconnects + self._job_disconnects:
            d()
