"""Step 1 — Connect: pick the simulated arm or a detected USB adapter, check the servos, calibrate; optionally
a leader arm too (leader_slot.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from prop_desktop.ui.joints import joint_label
from prop_desktop.ui.messages import ask, show_error, user_message
from prop_desktop.ui.pages.base import Page
from prop_desktop.ui.pages.leader_slot import LeaderSlot
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from prop_desktop.services.models import ArmChoice, ConnectionState, PreflightReport, ProfileInfo
    from prop_desktop.ui.pages.base import Window

PREFLIGHT_COLUMNS = ("Joint", "ID", "Model", "Firmware", "Power", "Temp.", "Status")


class ConnectPage(Page):
    title = "Connect your arm"
    hint = ("Pick the robot arm plugged into this computer, or the built-in simulated arm to try everything "
            "without hardware.")

    def __init__(self, window: Window) -> None:
        super().__init__(window)
        self.choices: list[ArmChoice] = []
        self.auto_connect = False
        self._auto_connect_done = False
        self._connecting = False
        row = QHBoxLayout()
        self.outer.addLayout(row, 1)

        left = QGroupBox("Arms found")
        ll = QVBoxLayout(left)
        self.choice_list = QListWidget()
        self.choice_list.setObjectName("armChoices")
        self.choice_list.setWordWrap(True)
        self.choice_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.choice_list.currentRowChanged.connect(self._choice_selected)
        self.choice_list.itemDoubleClicked.connect(lambda _i: self.connect_selected())
        ll.addWidget(self.choice_list, 1)
        self.diagnosis = QLabel()
        self.diagnosis.setObjectName("diagnosis")
        self.diagnosis.setWordWrap(True)
        self.diagnosis.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        ll.addWidget(self.diagnosis)
        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Look again (F5)")
        self.refresh_button.setObjectName("refreshPorts")
        self.refresh_button.clicked.connect(self.refresh)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("disconnectButton")
        self.disconnect_button.clicked.connect(self.disconnect_arm)
        buttons.addWidget(self.disconnect_button)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("connectButton")
        self.connect_button.setProperty("primary", True)
        self.connect_button.clicked.connect(self.connect_selected)
        buttons.addWidget(self.connect_button)
        ll.addLayout(buttons)
        row.addWidget(left, 1)

        right = QGroupBox("Servo check")
        rl = QVBoxLayout(right)
        explain = QLabel("Before moving, the app asks each of the six motors (servos) how it is doing: its model, "
                         "power supply voltage and temperature.")
        explain.setWordWrap(True)
        explain.setObjectName("muted")
        rl.addWidget(explain)
        self.preflight_table = QTableWidget(0, len(PREFLIGHT_COLUMNS))
        self.preflight_table.setObjectName("preflightTable")
        self.preflight_table.setHorizontalHeaderLabels(PREFLIGHT_COLUMNS)
        self.preflight_table.verticalHeader().setVisible(False)
        self.preflight_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.preflight_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for column in (0, 1, 2, 3):  # names, models and numbers that must never be cut
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(36)
        rl.addWidget(self.preflight_table, 1)
        self.preflight_summary = QLabel("Connect an arm to check its servos.")
        self.preflight_summary.setObjectName("preflightSummary")
        self.preflight_summary.setWordWrap(True)
        rl.addWidget(self.preflight_summary)
        pb = QHBoxLayout()
        self.preflight_button = QPushButton("Check servos again")
        self.preflight_button.setObjectName("preflightButton")
        self.preflight_button.clicked.connect(self.run_preflight)
        pb.addWidget(self.preflight_button)
        pb.addStretch(1)
        self.calibrate_button = QPushButton("Calibrate…")
        self.calibrate_button.setObjectName("calibrateButton")
        self.calibrate_button.clicked.connect(self.open_calibration)
        pb.addWidget(self.calibrate_button)
        rl.addLayout(pb)
        row.addWidget(right, 1)

        self.leader_slot = LeaderSlot(self)
        self.outer.addWidget(self.leader_slot)
        self.next_hint = QLabel()
        self.next_hint.setObjectName("muted")
        self.outer.addWidget(self.next_hint)
        window.connection_changed.connect(self._connection_changed)
        self._connection_changed(self.app.arm.state)

    # --- ports -------------------------------------------------------------------------------------------
    def page_shown(self) -> None:
        self._show_next_step()
        if not self.choices:
            self.refresh()

    def shortcut_refresh(self) -> None:
        self.refresh()

    def shortcut_start(self) -> None:
        self.connect_selected()

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        self.leader_slot.refresh()
        run_in_background(self.bridge, self.app.arm.available_connections, self._show_choices, self._choices_failed,
                          name="ports")

    def _choices_failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self.banner.show_message(f"Could not list the serial ports: {user_message(exc)}", "error")

    def _show_choices(self, choices: list[ArmChoice]) -> None:
        self.refresh_button.setEnabled(True)
        self.choices = list(choices)
        current = self.app.arm.state.choice
        self.choice_list.clear()
        select = 0
        for i, c in enumerate(self.choices):
            text = c.label
            if c.adapter:
                text += f"\n    {c.adapter}"
            if c.is_default:
                text += "   (recommended)"
            if not c.usable:
                text += "\n    ⚠ " + (c.problem or "Cannot be used right now.")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            if not c.usable:
                item.setForeground(QColor("#b45309"))
            self.choice_list.addItem(item)
            if (current is not None and c.id == current.id) or (current is None and c.is_default):
                select = i
        if self.choices:
            self.choice_list.setCurrentRow(select)
        if self.auto_connect and not self._auto_connect_done and not self.app.arm.state.connected:
            self._auto_connect_done = True
            default = next((c for c in self.choices if c.is_default and c.usable and c.kind == "sim"), None)
            if default is not None:
                self.connect_choice(default)

    def _choice_selected(self, row: int) -> None:
        if row < 0 or row >= len(self.choices):
            self.diagnosis.setText("")
            return
        c = self.choices[row]
        if c.problem or c.fix:
            self.diagnosis.setText(f"<b>Problem:</b> {c.problem or ''}<br><b>How to fix it:</b> {c.fix or ''}")
        elif c.kind == "sim":
            self.diagnosis.setText("A virtual SO-101 arm inside this app. It behaves like the real one, so you can "
                                   "try every step safely.")
        else:
            self.diagnosis.setText(f"{c.arm_model.upper()} arm via {c.adapter or c.port}.")
        self._update_buttons()

    def selected_choice(self) -> ArmChoice | None:
        row = self.choice_list.currentRow()
        return self.choices[row] if 0 <= row < len(self.choices) else None

    # --- connecting --------------------------------------------------------------------------------------
    def connect_selected(self) -> None:
        choice = self.selected_choice()
        if choice is None:
            self.banner.show_message("Pick an arm in the list first.", "warning")
            return
        self.connect_choice(choice)

    def connect_choice(self, choice: ArmChoice) -> None:
        if self._connecting:
            return
        if not choice.usable:
            show_error(self, "This arm cannot be used yet",
                       f"{choice.problem or 'The port cannot be opened.'}\n\nHow to fix it: {choice.fix or '—'}")
            return
        moving = self.window_.moving_activity()
        if moving:
            self.banner.show_message(f"The arm is {moving}. Stop it before connecting another arm.", "warning")
            return
        self._connecting = True
        self.banner.hide()
        self._update_buttons()
        run_in_background(self.bridge, lambda: self.app.arm.connect(choice), self._connected, self._connect_failed,
                          name="connect")

    def _connected(self, _state: ConnectionState) -> None:
        self._connecting = False
        self._update_buttons()
        self.run_preflight()

    def _connect_failed(self, exc: BaseException) -> None:
        self._connecting = False
        self._update_buttons()
        self.show_error(exc, prefix="Could not connect: ")

    def disconnect_arm(self) -> None:
        moving = self.window_.moving_activity()
        if moving:
            self.dialog = ask(self, "The arm is moving", f"The arm is {moving}. Disconnecting stops it first "
                              "(anything recorded so far is kept).", "Stop and disconnect", self._stop_and_disconnect)
            return
        self._disconnect()

    def _stop_and_disconnect(self) -> None:
        self.window_.emergency_stop()
        self._disconnect()

    def _disconnect(self) -> None:
        run_in_background(self.bridge, self.app.arm.disconnect, lambda _r: self._clear_preflight(),
                          lambda e: self.show_error(e), name="disconnect")

    def _connection_changed(self, state: ConnectionState) -> None:
        status = getattr(state.status, "value", str(state.status))
        if status == "disconnected" and state.message and "No arm" not in state.message and self._was_connected:
            self.banner.show_message(state.message, "error", topic="arm")
        self._was_connected = state.connected
        if status == "needs_calibration":
            self.banner.show_message("This arm has not been calibrated yet. Press “Calibrate…” and follow the "
                                     "steps (about two minutes).", "warning", topic="arm")
        if state.connected:
            self._show_next_step()
        else:
            self.next_hint.setText("")
            self._clear_preflight()
        self._update_buttons()

    _was_connected = False

    def _show_next_step(self) -> None:
        """Where the journey goes from here, from the household as it is now (never a step already done)."""
        if not self.app.arm.state.connected:
            self.next_hint.setText("")
        elif not self.window_.profiles:
            self.next_hint.setText("Connected. Next: create your profile (step 2).")
        elif self.window_.active_profile is None:
            self.next_hint.setText("Connected. Next: pick who is using the arm (top right, or step 2).")
        else:
            self.next_hint.setText(f"Connected. Next: record how {self.window_.active_profile.name} does a task "
                                   "(step 3).")

    def profile_changed(self, profile: ProfileInfo | None) -> None:
        self._show_next_step()

    def _update_buttons(self) -> None:
        state = self.app.arm.state
        choice = self.selected_choice()
        self.connect_button.setEnabled(not self._connecting and choice is not None)
        self.connect_button.setText("Connecting…" if self._connecting else
                                    ("Reconnect" if state.connected and state.choice and choice and
                                     state.choice.id == choice.id else "Connect"))
        self.disconnect_button.setEnabled(state.connected and not self._connecting)
        self.preflight_button.setEnabled(state.connected)
        is_sim = state.choice is not None and state.choice.kind == "sim"
        self.calibrate_button.setEnabled(state.connected and not state.busy_with)
        self.calibrate_button.setText("Practise calibrating…" if is_sim else "Calibrate…")
        self.calibrate_button.setToolTip(
            "The simulated arm is already calibrated; this walks you through the steps for a real arm"
            if is_sim else "Guided calibration: middle pose, then each joint end to end (about two minutes)")

    # --- pre-flight --------------------------------------------------------------------------------------
    def run_preflight(self) -> None:
        self.preflight_summary.setText("Checking the servos…")
        run_in_background(self.bridge, self.app.arm.preflight, self._show_preflight,
                          lambda e: self.preflight_summary.setText(f"Servo check failed: {user_message(e)}"),
                          name="preflight")

    def _clear_preflight(self) -> None:
        self.preflight_table.setRowCount(0)
        self.preflight_summary.setText("Connect an arm to check its servos.")

    def _show_preflight(self, report: PreflightReport) -> None:
        self.preflight_table.setRowCount(len(report.servos))
        for r, s in enumerate(report.servos):
            cells = (
                joint_label(s.joint),
                str(s.servo_id),
                s.model or "—",
                s.firmware or "—",
                "—" if s.voltage_v is None else f"{s.voltage_v:.1f} V",
                "—" if s.temperature_c is None else f"{s.temperature_c:.0f} °C",
                "OK" if s.ok else f"{s.problem or 'Problem'} {s.fix or ''}".strip(),
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == len(cells) - 1:
                    item.setForeground(QColor("#166534" if s.ok else "#b91c1c"))
                self.preflight_table.setItem(r, c, item)
        self.preflight_summary.setText(("✔ " if report.ok else "⚠ ") + report.summary)

    # --- calibration -------------------------------------------------------------------------------------
    def open_calibration(self) -> None:
        from prop_desktop.ui.calibration_wizard import CalibrationWizardDialog

        try:
            driver = self.app.arm.calibration_wizard()
        except Exception as exc:  # noqa: BLE001
            show_error(self, "Cannot calibrate", exc)
            return
        self.wizard = CalibrationWizardDialog(driver, self.bridge, self)
        self.wizard.open()

    def shutdown(self) -> None:
        self.leader_slot.shutdown()
