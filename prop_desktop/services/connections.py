"""What the Connect page lists: detected USB serial adapters (with diagnoses) plus the simulated arm."""

from __future__ import annotations

from prop_desktop.services.models import SIMULATED_CHOICE_ID, ArmChoice

SIMULATED_LABEL = "Simulated SO-101 arm"
# Adapters that Koch (Dynamixel) set-ups use; everything else we know is a Feetech (SO-100/SO-101) board.
_DYNAMIXEL_HINTS = ("FTDI", "U2D2", "OpenRB", "CP210x")


def simulated_choice(is_default: bool = True) -> ArmChoice:
    return ArmChoice(
        id=SIMULATED_CHOICE_ID,
        label=SIMULATED_LABEL,
        kind="sim",
        adapter="built-in simulator (speaks the same servo bytes on a virtual serial port)",
        arm_model="so101",
        protocol="feetech",
        is_default=is_default,
    )


def _guess_model(adapter: str | None) -> tuple[str, str]:
    if adapter and any(h in adapter for h in _DYNAMIXEL_HINTS):
        return "koch", "dynamixel"
    return "so101", "feetech"


def detected_choices() -> tuple[list[ArmChoice], list[ArmChoice]]:
    """(per-port choices, system-wide problems as unusable pseudo-entries, e.g. brltty holding a CH340)."""
    from prop_desktop.arm import discovery

    ports: list[ArmChoice] = []
    for info in discovery.list_ports(only_known=True):
        model, protocol = _guess_model(info.adapter)
        problem = info.problems[0] if info.problems else None
        name = info.adapter or info.description or "USB serial adapter"
        ports.append(
            ArmChoice(
                id=info.device,
                label=f"{info.device} — {name}",
                kind="serial",
                port=info.device,
                adapter=name,
                arm_model=model,
                protocol=protocol,
                usable=problem is None,
                problem=None if problem is None else problem.message,
                fix=None if problem is None else problem.fix,
            )
        )
    system: list[ArmChoice] = []
    for i, problem in enumerate(discovery.system_problems()):
        system.append(
            ArmChoice(
                id=f"problem:{i}",
                label=problem.message,
                kind="problem",
                usable=False,
                problem=problem.message,
                fix=problem.fix,
            )
        )
    return ports, system


def available_choices() -> list[ArmChoice]:
    """Usable real arms first (the first is the default), then unusable ones with fixes, then the simulator.

    The simulated arm is the default when no usable real arm is plugged in.
    """
    try:
        ports, system = detected_choices()
    except Exception as exc:  # noqa: BLE001 - discovery trouble must not hide the simulated arm
        ports, system = [], [
            ArmChoice(id="problem:discovery", label="Could not list serial ports.", kind="problem", usable=False,
                      problem=f"Could not list serial ports: {exc}", fix="Plug the arm in again and press Refresh.")
        ]
    usable = [c for c in ports if c.usable]
    unusable = [c for c in ports if not c.usable]
    if usable:
        first = usable[0]
        usable[0] = ArmChoice(**{**first.__dict__, "is_default": True})
    return usable + unusable + system + [simulated_choice(is_default=not usable)]
