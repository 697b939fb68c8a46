"""Teleoperation: a follower arm mirrors a hand-held leader arm.

Each tick reads the leader (one sync read), maps its counts through the leader's calibration to joint radians
(the shared convention: 0 = calibrated middle pose), and commands the follower with those radians; the
follower's own calibration turns them into its counts. The follower's safety rails apply unchanged: goal =
present at torque on, then a 1 s ramp-in of the speed limit (so the follower walks to the leader's pose
instead of jumping), the calibrated range, the speed clamp and the watchdog.

The leader is never commanded: its torque stays off, except on a Dynamixel (Koch) leader whose gripper is a
spring-back trigger, held in current-based position mode at a low goal current (as LeRobot's koch_leader
does): a finger squeezes it, and it returns to its middle pose when let go.

`Recorder(follower, "leader", leader=leader_arm)` runs this at the control rate; nothing here loops itself.
"""

from __future__ import annotations

import numpy as np

from prop_desktop.arm.arm import Arm
from prop_desktop.arm.errors import ArmError, BusError, PortError, describe_error
from prop_desktop.arm.safety import SafetyStop

DEFAULT_TELEOP_RATE_HZ = 100.0  # a person's hand moves fast: the follower should not lag it by more than a tick
# The trigger's spring: the gripper's goal current as a fraction of its current limit. Low enough for a finger
# (the simulator lets a finger win below half of the limit), high enough to spring back.
TRIGGER_CURRENT_FRACTION = 0.3
CURRENT_BASED_POSITION = 5  # Dynamixel operating mode


class LeaderLost(ArmError):
    """The leader arm stopped answering (unplugged, powered off): the follower was stopped."""


def check_pair(follower: Arm, leader: Arm) -> None:
    """Refuse a pair that cannot teleoperate, with the reason and the fix."""
    if not leader.model.is_leader:
        raise ArmError(
            f"the arm on {leader.port_label} is a {leader.model.display_name}, not a leader arm: connect the "
            "hand-held leader there (or pick a leader model such as so101_leader)"
        )
    if follower.model.is_leader:
        raise ArmError(f"{follower.model.display_name} is a leader arm: the follower must be an arm that moves")
    if leader.joint_names != follower.joint_names:
        raise ArmError(
            f"the {leader.model.display_name} has joints {leader.joint_names}, the follower "
            f"{follower.joint_names}: they cannot mirror each other"
        )
    if leader.require_calibration and not leader.is_calibrated:
        raise SafetyStop(
            "the leader arm is not calibrated yet, so its joint angles are guesses and the follower would go to "
            "the wrong pose. Calibrate the leader first (Connect page, or `prop-desktop arm calibrate --port "
            f"{leader.bus.port} --model {leader.model.key}`)."
        )


def prepare_leader(leader: Arm) -> None:
    """Torque off on every joint; on a Dynamixel leader the gripper becomes the spring-back trigger."""
    leader.torque_off()
    if leader.model.protocol != "dynamixel":
        return
    bus = leader.bus
    gid = leader.model.joint(leader.model.gripper).servo_id
    rest = int(leader.calibration.radians_to_counts(np.zeros(leader.n_joints))[leader.model.gripper_index])
    limit = bus.read_register(gid, "current_limit")
    bus.write_register(gid, "operating_mode", CURRENT_BASED_POSITION)  # EEPROM: torque is off here
    bus.write_register(gid, "goal_current", max(1, round(TRIGGER_CURRENT_FRACTION * limit)))
    bus.write_register(gid, "goal_position", rest)
    bus.write_register(gid, "torque_enable", 1)


class Teleop:
    """One leader, one follower: `start()` once, then `step()` every tick, `stop()` at the end.

    `step()` returns (q, goal, safe): the follower's measured joints, the leader's pose as the goal (radians,
    what the person commanded) and the goal actually sent after the rails.
    """

    def __init__(self, follower: Arm, leader: Arm) -> None:
        check_pair(follower, leader)
        self.follower = follower
        self.leader = leader

    def start(self) -> np.ndarray:
        """Make the leader hand-held and turn the follower's torque on where it stands (no jump)."""
        try:
            prepare_leader(self.leader)
        except (BusError, PortError) as exc:
            raise LeaderLost(f"the leader arm does not answer: {describe_error(exc)}") from exc
        return self.follower.torque_on()

    def read_leader(self) -> np.ndarray:
        try:
            return self.leader.read_joints()
        except (BusError, PortError) as exc:
            raise LeaderLost(
                f"the leader arm stopped answering ({describe_error(exc)}). The follower was stopped and its "
                "torque released; what was recorded so far is kept. Check the leader's USB cable and power."
            ) from exc

    def step(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        goal = self.read_leader()
        safe = self.follower.command(goal)
        q = self.follower.read_joints()
        return q, goal, safe

    def stop(self) -> None:
        """Release the leader's trigger (best effort; the follower is the caller's to hold or release)."""
        self.leader.release_torque()
