"""The Connect page's second slot, "Leader arm (optional)": the hand-held twin the arm mirrors when recording
"With the leader arm". Discovered and diagnosed like the arm (the same port list, as leaders), checked servo by
servo, and calibrated with the same wizard; its calibration is kept per adapter, like the arm's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from prop_desktop.ui.messages import show_error, user_message
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from prop_desktop.services.models import ArmChoice, ConnectionState, PreflightReport
    from prop_desktop.ui.calibration_wizard import CalibrationWizardDialog
    from prop_desktop.ui.pages.base import Page


class LeaderSlot(QGroupBox):
    def __init__(self, page: Page) -> None:
        super().__init__("Leader arm (optional)")
        self.setObjectName("leaderSlot")
        self.page = page
        self.app = page.app
        self.choices: list[ArmChoice] = []
        self._busy = False
        self.wizard: CalibrationWizardDialog | None = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.choice_combo = QComboBox()
        self.choice_combo.setObjectName("leaderChoices")
        self.choice_combo.setMinimumWidth(260)
        self.choice_combo.currentIndexChanged.connect(lambda _i: self._show_choice())
        row.addWidget(self.choice_combo, 1)
        self.connect_button = QPushButton("Connect leader")
        self.connect_button.setObjectName("connectLeader")
        self.connect_button.clicked.connect(self.connect_selected)
        row.addWidget(self.connect_button)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("disconnectLeader")
        self.disconnect_button.clicked.connect(self.disconnect_leader)
        row.addWidget(self.disconnect_button)
        self.check_button = QPushButton("Check servos")
        self.check_button.setObjectName("checkLeader")
        self.check_button.clicked.connect(self.run_preflight)
        row.addWidget(self.check_button)
        self.calibrate_button = QPushButton("Calibrate leader…")
        self.calibrate_button.setObjectName("calibrateLeader")
        self.calibrate_button.clicked.connect(self.open_calibration)
        row.addWidget(self.calibrate_button)
        layout.addLayout(row)
        self.status_label = QLabel()
        self.status_label.setObjectName("leaderStatus")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self._disconnect_signal = self.app.leader.state_changed.connect(page.bridge.wrap(self._state_changed))
        self._state_changed(self.app.leader.state)

    def refresh(self) -> None:
        run_in_background(self.page.bridge, self.app.leader.available_connections, self._show_choices,
                          lambda e: self.status_label.setText(f"Could not list the ports: {user_message(e)}"),
                          name="leader-ports")

    def _show_choices(self, choices: list[ArmChoice]) -> None:
        self.choices = list(choices)
        current = self.app.leader.state.choice
        self.choice_combo.blockSignals(True)
        self.choice_combo.clear()
        select = 0
        for i, c in enumerate(self.choices):
            self.choice_combo.addItem(c.label + ("" if c.usable else "  ⚠ cannot be used"), c.id)
            if (current is not None and c.id == current.id) or (current is None and c.is_default):
                select = i
        self.choice_combo.setCurrentIndex(select)
        self.choice_combo.blockSignals(False)
        self._show_choice()

    def selected_choice(self) -> ArmChoice | None:
        i = self.choice_combo.currentIndex()
        return self.choices[i] if 0 <= i < len(self.choices) else None

    def _show_choice(self) -> None:
        c = self.selected_choice()
        if c is not None and not c.usable and not self.app.leader.connected:
            self.status_label.setText(f"⚠ {c.problem or 'This port cannot be used.'} How to fix it: {c.fix or '—'}")
        self._update_buttons()

    def connect_selected(self) -> None:
        choice = self.selected_choice()
        if choice is None or self._busy:
            return
        if not choice.usable:
            show_error(self.page, "This leader arm cannot be used yet",
                       f"{choice.problem or 'The port cannot be opened.'}\n\nHow to fix it: {choice.fix or '—'}")
            return
        if self.app.record.running:
            self.status_label.setText("Stop the recording before connecting another leader arm.")
            return
        self._busy = True
        self._update_buttons()
        run_in_background(self.page.bridge, lambda: self.app.leader.connect(choice), self._connected,
                          self._failed, name="connect-leader")

    def _connected(self, _state: ConnectionState) -> None:
        self._busy = False
        self.run_preflight()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self._update_buttons()
        self.status_label.setText(f"⚠ Could not connect the leader arm: {user_message(exc)}")

    def disconnect_leader(self) -> None:  # not `disconnect`: that would hide QObject.disconnect
        run_in_background(self.page.bridge, self.app.leader.disconnect, lambda _r: None,
                          lambda e: self.status_label.setText(user_message(e)), name="disconnect-leader")

    def run_preflight(self) -> None:
        self.status_label.setText("Checking the leader's servos…")
        run_in_background(self.page.bridge, self.app.leader.preflight, self._show_preflight,
                          lambda e: self.status_label.setText(f"Leader servo check failed: {user_message(e)}"),
                          name="leader-preflight")

    def _show_preflight(self, report: PreflightReport) -> None:
        models = sorted({s.model for s in report.servos if s.model})
        text = (f"✔ {len(report.servos)} servos answered ({', '.join(models)}). {report.summary}" if report.ok
                else f"⚠ {report.summary}")
        self.status_label.setText(f"{self.app.leader.state.message} {text}")

    def open_calibration(self) -> None:
        from prop_desktop.ui.calibration_wizard import CalibrationWizardDialog

        try:
            driver = self.app.leader.calibration_wizard()
        except Exception as exc:  # noqa: BLE001
            show_error(self.page, "Cannot calibrate the leader", exc)
            return
        self.wizard = CalibrationWizardDialog(driver, self.page.bridge, self.page)
        self.wizard.open()

    def _state_changed(self, state: ConnectionState) -> None:
        self.status_label.setText(state.message)
        self._update_buttons()

    def _update_buttons(self) -> None:
        connected = self.app.leader.connected
        self.connect_button.setEnabled(not self._busy and self.selected_choice() is not None)
        self.connect_button.setText("Connecting…" if self._busy else "Connect leader")
        self.disconnect_button.setEnabled(connected and not self._busy)
        self.check_button.setEnabled(connected and not self._busy)
        self.calibrate_button.setEnabled(connected and not self._busy)

    def shutdown(self) -> None:
        self._disconnect_signal()
