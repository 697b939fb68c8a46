"""The simulator's TCP transport (for systems without pseudo-terminals, i.e. Windows): same bytes, same API."""

from __future__ import annotations

import pytest
import serial

from prop_desktop.arm.errors import PortError, ServoTimeout
from prop_desktop.arm.protocols import make_bus

IDS = [1, 2, 3, 4, 5, 6]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("protocol", ["feetech", "dynamixel"])
def test_bus_over_tcp(make_sim, protocol: str) -> None:
    sim = make_sim(protocol, transport="tcp")
    assert sim.port.startswith("socket://127.0.0.1:")
    with make_bus(protocol, sim.port, timeout_s=0.05, retries=2) as bus:
        assert len(bus.broadcast_ping()) == 6
        positions = bus.sync_read_register("present_position", IDS)
        bus.sync_write_register("goal_position", positions)
        bus.sync_write_register("torque_enable", {i: 1 for i in IDS})
        assert sim.wait_applied() and all(sim.torque_enabled(i) for i in IDS)
        sim.corrupt_next(1)
        assert bus.sync_read_register("present_position", IDS) == positions
        assert bus.stats.retries == 1
        sim.set_silent(2)
        with pytest.raises(ServoTimeout, match="servo 2"):
            bus.ping(2)
        sim.unplug()
        with pytest.raises(PortError, match="unplugged"):
            bus.sync_read_register("present_position", IDS)


@pytest.mark.timeout(30)
def test_pyserial_url_client_and_reconnect(make_sim) -> None:
    sim = make_sim("feetech", transport="tcp")
    with serial.serial_for_url(sim.port, timeout=1) as raw:  # what any pyserial program can do
        raw.write(bytes.fromhex("FF FF 01 02 01 FB"))
        assert raw.read(6) == bytes.fromhex("FF FF 01 02 00 FC")
    with make_bus("feetech", sim.port) as bus:  # a second client after the first left
        assert bus.ping(1) == 777


def test_unknown_transport_is_refused() -> None:
    from prop_desktop.arm.sim import SimulatedArm

    with pytest.raises(ValueError, match="transport"):
        SimulatedArm(transport="usb")
