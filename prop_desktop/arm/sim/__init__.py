"""A simulated arm that speaks Feetech STS or Dynamixel 2.0 byte for byte on a real pseudo-terminal."""

from __future__ import annotations

from prop_desktop.arm.sim.arm import SimStats, SimulatedArm
from prop_desktop.arm.sim.profiles import JOINT_NAMES, SIM_ARMS, SimArmSpec, sim_arm_spec

__all__ = ["JOINT_NAMES", "SIM_ARMS", "SimArmSpec", "SimStats", "SimulatedArm", "sim_arm_spec"]
