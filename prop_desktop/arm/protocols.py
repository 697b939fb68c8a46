"""The servo protocols by name: make or open the bus for "feetech" (SO-100/SO-101) or "dynamixel" (Koch).

    from prop_desktop.arm.protocols import open_bus

    with open_bus("feetech", "/dev/ttyUSB0") as bus:
        positions = bus.sync_read_register("present_position", [1, 2, 3, 4, 5, 6])
"""

from __future__ import annotations

from prop_desktop.arm.bus import AlarmCallback, ServoBus
from prop_desktop.arm.dynamixel import DynamixelBus
from prop_desktop.arm.feetech import FeetechBus

BUS_CLASSES: dict[str, type[ServoBus]] = {"feetech": FeetechBus, "dynamixel": DynamixelBus}


def make_bus(
    protocol: str,
    port: str,
    baudrate: int | None = None,
    *,
    timeout_s: float = 0.05,
    retries: int = 3,
    raise_on_alarm: bool = False,
    on_alarm: AlarmCallback | None = None,
) -> ServoBus:
    """Make a bus without opening it (see open_bus)."""
    try:
        bus_class = BUS_CLASSES[protocol]
    except KeyError:
        raise ValueError(
            f"unknown servo protocol {protocol!r}: use 'feetech' (SO-100/SO-101) or 'dynamixel' (Koch)"
        ) from None
    return bus_class(
        port, baudrate, timeout_s=timeout_s, retries=retries, raise_on_alarm=raise_on_alarm, on_alarm=on_alarm
    )


def open_bus(
    protocol: str,
    port: str,
    baudrate: int | None = None,
    *,
    timeout_s: float = 0.05,
    retries: int = 3,
    raise_on_alarm: bool = False,
    on_alarm: AlarmCallback | None = None,
) -> ServoBus:
    """Make and open a bus: protocol "feetech" (SO-100/SO-101) or "dynamixel" (Koch)."""
    bus = make_bus(
        protocol, port, baudrate, timeout_s=timeout_s, retries=retries, raise_on_alarm=raise_on_alarm, on_alarm=on_alarm
    )
    return bus.open()
