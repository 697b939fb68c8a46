"""Scripted hands for the simulator: how a person moves a hand-held (leader or torque-off) arm in demos."""

from __future__ import annotations

import math

from prop_desktop.arm.sim.arm import JointRef


def gentle_wave(t: float) -> dict[JointRef, float]:
    """A slow, smooth hand (peak joint speed 0.36 rad/s, far inside every range and the 2 rad/s clamp)."""
    return {
        "shoulder_pan": 0.5 * math.sin(0.7 * t),
        "elbow_flex": 0.4 * math.sin(0.9 * t + 1.0),
        "wrist_flex": 0.3 * math.sin(1.1 * t),
        "gripper": 0.3 + 0.3 * math.sin(0.5 * t),
    }
