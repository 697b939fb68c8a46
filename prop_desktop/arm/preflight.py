"""Pre-flight check: is every servo there, the right model, on equal firmware, powered right and cool?

Each servo gets a row a UI can show (status ok / warning / error, the readings, problems and fixes); the
report adds bus-wide findings (nothing answers, ids not set, mixed firmware, a supply of the wrong voltage).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from prop_desktop.arm.bus import ServoBus
from prop_desktop.arm.errors import BusError, CorruptPacket, ServoTimeout
from prop_desktop.arm.models import ArmModel, ServoModel, arm_model

BAUD_HINT = (
    "check the baud rate: arms set up with LeRobot or our set-up run at 1 000 000 baud "
    "(brand-new Dynamixel servos ship at 57 600)"
)


@dataclass
class ServoCheck:
    """One servo's pre-flight result."""

    joint: str
    servo_id: int
    expected_model: str
    found: bool = False
    model_number: int | None = None
    model_name: str | None = None
    firmware: str | None = None
    voltage: float | None = None
    temperature: float | None = None
    problems: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "error" if self.problems else ("warning" if self.warnings else "ok")

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class PreflightReport:
    port: str
    arm_model: str
    servos: list[ServoCheck]
    problems: list[str] = field(default_factory=list)  # bus-wide
    fixes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.ok for s in self.servos)

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["ok"] = self.ok
        for row, servo in zip(data["servos"], self.servos, strict=True):
            row["status"] = servo.status
        return data

    def summary(self) -> str:
        """Plain text for a terminal: one line per servo, then what to do."""
        lines = [f"Pre-flight of the {self.arm_model} on {self.port}: {'OK' if self.ok else 'PROBLEMS FOUND'}"]
        for s in self.servos:
            reading = []
            if s.model_name:
                reading.append(s.model_name)
            if s.firmware:
                reading.append(f"fw {s.firmware}")
            if s.voltage is not None:
                reading.append(f"{s.voltage:.1f} V")
            if s.temperature is not None:
                reading.append(f"{s.temperature:.0f} °C")
            detail = ", ".join(reading) if s.found else "not answering"
            lines.append(f"  [{s.status:7}] id {s.servo_id} {s.joint:13} {detail}")
            lines.extend(f"            problem: {p}" for p in s.problems)
            lines.extend(f"            warning: {w}" for w in s.warnings)
        lines.extend(f"  problem: {p}" for p in self.problems)
        lines.extend(f"  warning: {w}" for w in self.warnings)
        fixes = list(dict.fromkeys(self.fixes + [f for s in self.servos for f in s.fixes]))
        lines.extend(f"  fix: {f}" for f in fixes)
        return "\n".join(lines)


def run_preflight(bus: ServoBus, model: ArmModel | str, *, port: str = "") -> PreflightReport:
    """Check every expected servo. Never raises for servo trouble; only a vanished port raises (PortError)."""
    model = arm_model(model)
    report = PreflightReport(port or bus.port, model.display_name, [])
    for spec in model.joints:
        check = ServoCheck(spec.name, spec.servo_id, spec.servo.name)
        report.servos.append(check)
        try:
            check.model_number = bus.ping(spec.servo_id)
        except ServoTimeout:
            check.problems.append(f"servo {spec.servo_id} ({spec.name}) does not answer")
            continue
        except CorruptPacket:
            check.problems.append(
                f"servo {spec.servo_id} ({spec.name}) answers garbled: two servos may share id {spec.servo_id}"
            )
            check.fixes.append(
                "connect the servos one at a time and give each its own id (1..6 from the base to the gripper)"
            )
            continue
        check.found = True
        check.model_name = bus.model_name(check.model_number)
        if check.model_number != spec.servo.model_number:
            check.problems.append(
                f"id {spec.servo_id} is a {check.model_name}, but a {model.display_name} has a {spec.servo.name} "
                f"there ({spec.name})"
            )
            check.fixes.append(
                "check that you picked the right arm model, and that the servo ids follow the joint order "
                "(1 = shoulder_pan ... 6 = gripper)"
            )
            continue
        try:
            check.firmware = bus.firmware_version(spec.servo_id)
            volts = bus.read_register(spec.servo_id, "present_voltage")
            temp = bus.read_register(spec.servo_id, "present_temperature")
        except BusError as exc:
            check.problems.append(f"servo {spec.servo_id} answered a ping but not a read: {exc}")
            continue
        check.voltage = round(bus.to_si("present_voltage", volts), 2)
        check.temperature = bus.to_si("present_temperature", temp)
        _check_voltage(check, spec.servo)
        if check.temperature >= spec.servo.max_temperature_c:
            check.problems.append(f"servo {spec.servo_id} is too hot ({check.temperature:.0f} °C)")
            check.fixes.append("let the servos cool down for a few minutes before using the arm")
        elif check.temperature >= spec.servo.max_temperature_c - 10:
            check.warnings.append(f"servo {spec.servo_id} is warm ({check.temperature:.0f} °C)")

    _bus_wide(bus, model, report)
    return report


def _check_voltage(check: ServoCheck, servo: ServoModel) -> None:
    v = check.voltage
    if v is None or servo.voltage_ok(v):
        return
    lowest = min(b.low for b in servo.voltage_bands)
    highest = max(b.high for b in servo.voltage_bands)
    if v < lowest:
        check.problems.append(f"servo {check.servo_id} sees only {v:.1f} V")
        check.fixes.append(
            f"the power supply is off, too weak or not plugged into the servo board: {servo.name} servos need "
            f"{servo.voltage_hint()}"
        )
    elif v > highest:
        check.problems.append(f"servo {check.servo_id} sees {v:.1f} V, more than a {servo.name} takes")
        check.fixes.append(f"unplug the power now: wrong power supply. {servo.name} servos need {servo.voltage_hint()}")
    else:
        check.warnings.append(
            f"servo {check.servo_id} sees {v:.1f} V, between the usual supplies ({servo.voltage_hint()})"
        )


def _bus_wide(bus: ServoBus, model: ArmModel, report: PreflightReport) -> None:
    found = [s for s in report.servos if s.found]
    if not found:
        report.problems.append("no servo answers on this port")
        others: dict[int, int] = {}
        try:
            others = bus.broadcast_ping()
        except BusError:
            others = {}
        if others:
            ids = ", ".join(str(i) for i in sorted(others))
            report.problems.append(f"servos answer at id(s) {ids} instead of 1..6")
            report.fixes.append(
                "the servo ids are not set: give each servo its id (1 = shoulder_pan ... 6 = gripper), one servo "
                "connected at a time, with the set-up tool (e.g. LeRobot's setup_motors)"
            )
        else:
            report.fixes.append("check that the arm's power supply is switched on and plugged into the servo board")
            report.fixes.append("check the cable between the USB adapter and the first servo")
            report.fixes.append(BAUD_HINT)
            report.fixes.append(
                f"check that this port is the arm's adapter and that the arm is a {model.display_name} "
                f"({model.protocol} servos)"
            )
        return
    missing = [s for s in report.servos if not s.found]
    if missing:
        ids = ", ".join(str(s.servo_id) for s in missing)
        report.fixes.append(
            f"servo(s) {ids} do not answer while others do: check the daisy-chain cable up to those servos, and "
            "that their ids were set"
        )
    firmwares = {s.firmware for s in found if s.firmware}
    if len(firmwares) > 1:
        report.warnings.append(
            f"the servos run different firmware ({', '.join(sorted(firmwares))}); update them all to the same "
            "version with the vendor's tool if the arm behaves oddly"
        )
    # Compare each servo model with its own kind only: an arm may power its models from separate supplies on
    # purpose (a Koch v1.1 follower feeds its XL430 chain 12 V and its XL330 chain 5 V from a DC converter;
    # each servo is judged against its own model's range in _check_voltage). Within one model, a spread
    # means a poor contact on that chain.
    by_model: dict[str, list[float]] = {}
    for s in found:
        if s.voltage is not None:
            by_model.setdefault(s.expected_model, []).append(s.voltage)
    for name, volts in sorted(by_model.items()):
        if max(volts) - min(volts) > 1.0:
            report.warnings.append(
                f"supply voltage differs between the {name} servos ({min(volts):.1f}-{max(volts):.1f} V): a loose "
                "power cable on their daisy chain?"
            )
