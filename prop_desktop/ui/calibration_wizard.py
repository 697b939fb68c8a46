"""The calibration wizard (QWizard) for a real arm, driving the services' CalibrationWizard step by step.

Every driver call may touch the serial bus, so it runs on a worker; the wizard's Next button waits for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from prop_desktop.ui.bridge import ThreadBridge
from prop_desktop.ui.joints import joint_label
from prop_desktop.ui.messages import user_message
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from collections.abc import Callable

    from prop_desktop.services.calibration_wizard import CalibrationWizard
    from prop_desktop.services.models import CalibrationProgress, CalibrationStep


class _StepPage(QWizardPage):
    def __init__(self, title: str, text: str, wizard: CalibrationWizardDialog) -> None:
        super().__init__()
        self.setTitle(title)
        self._wizard = wizard
        layout = QVBoxLayout(self)
        self.text = QLabel(text)
        self.text.setWordWrap(True)
        layout.addWidget(self.text)
        self.extra = QVBoxLayout()
        layout.addLayout(self.extra, 1)
        self.error = QLabel()
        self.error.setObjectName("calibrationError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b91c1c;")
        layout.addWidget(self.error)
        self.done_ok = False

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return not self._wizard.busy

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        # The first Next press starts the driver's advance on a worker; when it succeeds we press Next again.
        if self.done_ok:
            self.done_ok = False
            return True
        self._wizard.advance_from(self)
        return False


class CalibrationWizardDialog(QWizard):
    def __init__(self, driver: CalibrationWizard, bridge: ThreadBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationWizard")
        self.setWindowTitle("Calibrate your arm")
        self.driver = driver
        self.bridge = bridge
        self.busy = False
        self.pose_page = _StepPage(
            "1. Middle pose",
            "The motors are now relaxed. Move every joint to the middle of its range (arm upright, gripper half "
            "open), then press Next.",
            self,
        )
        self.sweep_page = _StepPage(
            "2. Range sweep",
            "Move each joint slowly from one end of its range to the other. The table fills in as you go. "
            "Press Next when every joint has been moved.",
            self,
        )
        self.ranges = QTableWidget(0, 3)
        self.ranges.setObjectName("calibrationRanges")
        self.ranges.setHorizontalHeaderLabels(("Joint", "Lowest seen", "Highest seen"))
        self.ranges.verticalHeader().setVisible(False)
        self.ranges.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.ranges.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.sweep_page.extra.addWidget(self.ranges)
        self.sweep_message = QLabel("")
        self.sweep_message.setObjectName("sweepMessage")
        self.sweep_message.setWordWrap(True)
        self.sweep_page.extra.addWidget(self.sweep_message)
        self.done_page = QWizardPage()
        self.done_page.setTitle("3. Done")
        QVBoxLayout(self.done_page).addWidget(QLabel("Calibration saved. It is reused whenever this arm is "
                                                     "connected."))
        for p in (self.pose_page, self.sweep_page, self.done_page):
            self.addPage(p)
        self._disconnect = driver.progress.connect(bridge.wrap(self._progress))
        self.rejected.connect(self._cancel)
        self.finished.connect(lambda _r: self._disconnect())
        self._call(driver.start, None)

    def _call(self, fn: Callable[[], CalibrationStep], page: _StepPage | None) -> None:
        self.busy = True
        for p in (self.pose_page, self.sweep_page):
            p.completeChanged.emit()

        def done(_step: CalibrationStep) -> None:
            self.busy = False
            for p in (self.pose_page, self.sweep_page):
                p.completeChanged.emit()
            if page is not None:
                page.error.setText("")
                page.done_ok = True
                self.next()

        def failed(exc: BaseException) -> None:
            self.busy = False
            target = page or self.pose_page
            target.error.setText(user_message(exc))
            for p in (self.pose_page, self.sweep_page):
                p.completeChanged.emit()

        run_in_background(self.bridge, fn, done, failed, name="calibration")

    def advance_from(self, page: _StepPage) -> None:
        self._call(self.driver.advance, page)

    def _progress(self, progress: CalibrationProgress) -> None:
        self.progress_updates = getattr(self, "progress_updates", 0) + 1  # lets a test wait for fresh samples
        if progress.message and progress.step.index == 1:
            self.sweep_message.setText(progress.message)
        self.ranges.setRowCount(len(progress.ranges))
        for r, (joint, (lo, hi)) in enumerate(progress.ranges.items()):
            for c, text in enumerate((joint_label(joint), _angle(lo), _angle(hi))):
                self.ranges.setItem(r, c, QTableWidgetItem(text))

    def _cancel(self) -> None:
        try:
            self.driver.cancel()
        except Exception:  # noqa: BLE001 - cancelling must never fail the dialog
            pass


def _angle(value: float | int) -> str:
    """Radians from the services, shown in degrees (raw counts, if a driver reports those, as they are)."""
    if isinstance(value, float):
        return f"{math.degrees(value):.0f}°"
    return str(value)
