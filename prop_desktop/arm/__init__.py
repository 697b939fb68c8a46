"""The arm layer: servo buses (Feetech STS, Dynamixel 2.0), a byte-exact simulated arm, and above them
joints in radians, calibration, safety rails, the fixed-rate loop and recording. No Qt here.

    from prop_desktop.arm import connect, record_hand, record_click, DriveLoop
    with connect(sim=True) as arm:                  # or connect("/dev/ttyACM0", model="so101")
        print(arm.preflight().summary())
        episode = record_hand(arm, seconds=5, task="serve")
        DriveLoop(arm, policy_step, rate_hz=50).run(seconds=10)

See docs/arm_control.md.
"""

from __future__ import annotations

from prop_desktop.arm.arm import Arm, EmergencyStopped
from prop_desktop.arm.calibration import ArmCalibration, Calibration, CalibrationError, JointCalibration
from prop_desktop.arm.connect import connect, open_simulated_arm
from prop_desktop.arm.errors import ArmError, BusError, PortError, ServoError, ServoTimeout
from prop_desktop.arm.loop import DriveLoop, DriveTick, FixedRateLoop, LoopStats, LoopTick
from prop_desktop.arm.models import ARM_MODELS, JOINT_NAMES, KOCH, SO100, SO101, ArmModel, arm_model
from prop_desktop.arm.preflight import PreflightReport, ServoCheck
from prop_desktop.arm.recording import Episode, Recorder, Sample, minimum_jerk, record_click, record_hand
from prop_desktop.arm.safety import SafetyConfig, SafetyStop

__all__ = [
    "ARM_MODELS",
    "JOINT_NAMES",
    "KOCH",
    "SO100",
    "SO101",
    "Arm",
    "ArmCalibration",
    "ArmError",
    "ArmModel",
    "BusError",
    "Calibration",
    "CalibrationError",
    "DriveLoop",
    "DriveTick",
    "EmergencyStopped",
    "Episode",
    "FixedRateLoop",
    "JointCalibration",
    "LoopStats",
    "LoopTick",
    "PortError",
    "PreflightReport",
    "Recorder",
    "SafetyConfig",
    "SafetyStop",
    "Sample",
    "ServoCheck",
    "ServoError",
    "ServoTimeout",
    "arm_model",
    "connect",
    "minimum_jerk",
    "open_simulated_arm",
    "record_click",
    "record_hand",
]
