"""Open an arm with one call: a real port, or the built-in simulated arm (the default when none is plugged in).

    arm = connect()                                  # the first usable USB arm, else the simulator
    arm = connect("/dev/ttyACM0", model="so101")     # a real SO-101
    arm = connect(sim=True, model="koch")            # the simulated Koch arm (Dynamixel), in this process
    arm.sim.move_by_hand("elbow_flex", 0.4)          # in-process simulator: the by-hand / fault API

The stored calibration of the arm (by USB serial number where the adapter has one, else port + model) is
loaded from `calibration_store` (default: the calibration folder of the data folder) and its homing offsets
checked against the servos.
"""

from __future__ import annotations

import os
import subprocess
import sys

from prop_desktop.arm.arm import Arm
from prop_desktop.arm.calibration import ArmCalibration, arm_id_for
from prop_desktop.arm.calibration_store import CalibrationStore
from prop_desktop.arm.errors import ArmError, PortError
from prop_desktop.arm.models import ArmModel, arm_model
from prop_desktop.arm.protocols import make_bus
from prop_desktop.arm.safety import SafetyConfig


def connect(
    port: str | None = None,
    model: ArmModel | str | None = None,
    *,
    sim: bool | None = None,
    sim_process: bool = False,
    baudrate: int | None = None,
    calibration: ArmCalibration | None = None,
    calibration_store: CalibrationStore | None = None,
    safety_config: SafetyConfig | None = None,
    timeout_s: float = 0.05,
    retries: int = 3,
) -> Arm:
    """An `Arm` ready to use. `sim=True` (or port "sim") opens the simulated arm; with neither a port nor
    `sim` given, the first usable known USB adapter is used, else the simulator.

    Raises PortError (with a plain-language fix) when the port cannot be opened.
    """
    if port == "sim":
        port, sim = None, True
    serial_number: str | None = None
    if sim is None and port is None:
        from prop_desktop.arm.discovery import list_ports

        usable = [p for p in list_ports(only_known=True) if p.usable]
        if usable:
            port, serial_number = usable[0].device, usable[0].serial_number
            model = model or _guess_model(usable[0].adapter)
        sim = port is None
    model = arm_model(model or "so101")
    if sim:
        return open_simulated_arm(
            model, process=sim_process, calibration=calibration, calibration_store=calibration_store,
            safety_config=safety_config, timeout_s=timeout_s, retries=retries,
        )
    assert port is not None
    if serial_number is None:
        serial_number = _serial_number_of(port)
    bus = make_bus(model.protocol, port, baudrate or model.baudrate, timeout_s=timeout_s, retries=retries)
    try:
        bus.open()
    except PortError as exc:
        from prop_desktop.arm.discovery import diagnose_port

        problems = diagnose_port(port)
        if problems:
            raise PortError(f"{problems[0].message} Fix: {problems[0].fix}", port) from exc
        raise
    arm_id = arm_id_for(model, serial_number=serial_number, port=port)
    arm = Arm(
        bus,
        model,
        arm_id=arm_id,
        calibration=calibration,
        calibration_store=calibration_store,
        safety_config=safety_config,
        port_label=port,
        require_calibration=True,
    )
    _reuse_calibration(arm)
    return arm


def open_simulated_arm(
    model: ArmModel | str = "so101",
    *,
    process: bool = False,
    realtime: bool = False,
    calibration: ArmCalibration | None = None,
    calibration_store: CalibrationStore | None = None,
    safety_config: SafetyConfig | None = None,
    timeout_s: float = 0.05,
    retries: int = 3,
) -> Arm:
    """The simulated arm on a real pty. In-process (default) `arm.sim` is the SimulatedArm (hand guiding and
    fault injection); with process=True it runs in a child process (as separate as a real bus; no `arm.sim`)."""
    model = arm_model(model)
    if process:
        child, port = _start_sim_process(model.key, realtime)

        def stop_child() -> None:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    child.kill()

        sim_obj = None
        on_close = stop_child
    else:
        from prop_desktop.arm.sim import SimulatedArm

        sim_obj = SimulatedArm(model=model.key).start()
        port, on_close = sim_obj.port, sim_obj.stop
    try:
        bus = make_bus(model.protocol, port, model.baudrate, timeout_s=timeout_s, retries=retries)
        bus.open()
        arm = Arm(
            bus,
            model,
            arm_id=f"{model.key}-sim",
            calibration=calibration,
            calibration_store=calibration_store,
            safety_config=safety_config,
            on_close=on_close,
            port_label=f"simulated {model.display_name} ({port})",
        )
    except BaseException:
        on_close()
        raise
    arm.sim = sim_obj
    _reuse_calibration(arm)
    return arm


def _reuse_calibration(arm: Arm) -> None:
    if not arm.is_calibrated:
        return
    try:
        arm.apply_stored_offsets()
    except ArmError as exc:
        arm.warnings.append(f"could not check the stored calibration against the servos: {exc}")


def _start_sim_process(model_key: str, realtime: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    # Real-time priority is inherited by the simulator's serving thread (Linux threads inherit the policy).
    prio = "from prop_desktop.arm.loop import request_realtime; request_realtime(30)\n" if realtime else ""
    code = (
        "import sys\n"
        f"{prio}"
        "from prop_desktop.arm.sim import SimulatedArm\n"
        f"sim = SimulatedArm(model={model_key!r}).start()\n"
        "print(sim.port, flush=True)\n"
        "sys.stdin.read()\n"  # serve until the parent closes our stdin (or exits)
        "sim.stop()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(os.environ)
    )
    assert child.stdout is not None
    port = child.stdout.readline().decode().strip()
    if not port:
        child.kill()
        raise ArmError("the simulated arm process did not start")
    return child, port


def _guess_model(adapter: str | None) -> str:
    return "koch" if adapter and ("FTDI" in adapter or "U2D2" in adapter or "ROBOTIS" in adapter) else "so101"


def _serial_number_of(port: str) -> str | None:
    try:
        from serial.tools import list_ports

        real = os.path.realpath(port)
        for p in list_ports.comports():
            if p.device in (port, real) and p.serial_number:
                return str(p.serial_number)
    except Exception:  # noqa: BLE001 - a serial number is a nicety; the port name works too
        return None
    return None
