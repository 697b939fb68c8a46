"""The optional second arm slot: a hand-held leader arm that the follower mirrors (Record page, "With the
leader arm").

Discovered, diagnosed, pre-flighted and calibrated like the follower (the same USB discovery, the same
CalibrationStore, keyed by the leader's adapter serial number). The leader is only ever read: the record
service borrows it with `claim("recording")`. An unplugged leader stops the recording (the follower's
torque is released and what was recorded is kept) and this slot becomes disconnected; the follower stays
connected.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prop_desktop.services.arm_service import preflight_report
from prop_desktop.services.arm_slot import ArmSlot, SlotWords
from prop_desktop.services.connections import available_choices
from prop_desktop.services.errors import ArmConnectError, InvalidInputError
from prop_desktop.services.models import ArmChoice, ConnectionState, ConnectionStatus, PreflightReport

if TYPE_CHECKING:
    from prop_desktop.arm.arm import Arm
    from prop_desktop.arm.calibration_store import CalibrationStore

log = logging.getLogger(__name__)
SIMULATED_LEADER_ID = "sim-leader"
NO_LEADER_MESSAGE = "No leader arm (optional): record by clicking or by hand, or connect one here."
LEADER_UNPLUGGED = ("The leader arm was disconnected: unplugged, or it lost power. The follower stopped and "
                    "relaxed its motors; what was recorded is kept. Plug the leader in and connect it again.")


def simulated_leader_choice(is_default: bool = True) -> ArmChoice:
    return ArmChoice(
        id=SIMULATED_LEADER_ID,
        label="Simulated SO-101 leader arm",
        kind="sim",
        adapter="built-in simulator: move it with the sliders on the Record page",
        arm_model="so101_leader",
        protocol="feetech",
        is_default=is_default,
    )


def leader_choices() -> list[ArmChoice]:
    """Detected adapters (as leaders of the kit their adapter suggests), diagnosed ones, then the simulator."""
    from prop_desktop.arm.models import leader_model_for

    out = []
    for choice in available_choices():
        if choice.kind == "sim":
            continue
        model = leader_model_for(choice.arm_model).key if choice.kind == "serial" else choice.arm_model
        out.append(ArmChoice(**{**choice.__dict__, "arm_model": model, "is_default": False}))
    return [*out, simulated_leader_choice(is_default=True)]


class LeaderArmService(ArmSlot):
    """At most one leader arm; `state_changed` announces its connection state (from any thread)."""

    words = SlotWords(
        name="leader arm",
        connected="Leader connected: {label}.",
        needs_calibration="Leader connected ({label}), not calibrated yet: run the calibration.",
        disconnected=NO_LEADER_MESSAGE,
        not_connected=("No leader arm is connected.", "Connect one under “Leader arm (optional)” on the Connect page."),
    )

    def __init__(self, calibration_store: CalibrationStore | None = None) -> None:
        super().__init__("leader.state_changed", calibration_store,
                         ConnectionState(ConnectionStatus.DISCONNECTED, None, NO_LEADER_MESSAGE))

    def available_connections(self) -> list[ArmChoice]:
        return leader_choices()

    @property
    def connected(self) -> bool:
        return self._arm is not None and self._state.connected

    def _resolve(self, choice: ArmChoice | str | None) -> ArmChoice:
        if isinstance(choice, ArmChoice):
            return choice
        if choice in (None, SIMULATED_LEADER_ID):
            return simulated_leader_choice()
        for c in self.available_connections():
            if choice in (c.id, c.port):
                return c
        if isinstance(choice, str) and choice.startswith("/dev/"):
            return ArmChoice(id=choice, label=choice, kind="serial", port=choice, arm_model="so101_leader")
        raise InvalidInputError(f"No leader arm called {choice!r} is available.", "Press Refresh and pick one.")

    def _check_opened(self, arm: Arm, choice: ArmChoice) -> None:
        if not arm.model.is_leader:
            raise ArmConnectError(f"{choice.label} is not a leader arm.", "Pick the hand-held leader's adapter.")

    def leader(self) -> Arm:
        """The connected leader Arm; NotConnectedError otherwise."""
        return self.connected_arm()

    def preflight(self) -> PreflightReport:
        return preflight_report(self.leader().preflight())

    def report_fault(self, detail: str) -> str:
        """The leader failed (unplugged, no answer): close it; the slot becomes disconnected. Returns the message."""
        log.warning("leader arm fault: %s", detail)
        arm = self._take_arm()
        if arm is not None:
            self._close(arm)
        self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED, self._state.choice, LEADER_UNPLUGGED))
        return LEADER_UNPLUGGED
