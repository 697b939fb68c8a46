"""Emergency stop on the bus: another thread aborts the transaction in flight and takes the bus at once."""

from __future__ import annotations

import threading

import pytest

from prop_desktop.arm.errors import TransactionAborted
from prop_desktop.arm.protocols import make_bus
from prop_desktop.arm.sim import SimulatedArm

from ..waiting import wait_until

IDS = [1, 2, 3, 4, 5, 6]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_preempt_cuts_a_retrying_transaction_short(make_sim, transport: str) -> None:
    sim: SimulatedArm = make_sim("feetech", transport=transport)
    sim.set_silent(3)  # unless aborted, the worker's sync read retries for timeout x 101 = 50 s
    with make_bus("feetech", sim.port, timeout_s=0.5, retries=100) as bus:
        bus.sync_write_register("goal_position", bus.sync_read_register("present_position", [1, 2]))
        bus.sync_write_register("torque_enable", {1: 1, 2: 1})
        outcome: list[BaseException] = []

        def loop() -> None:
            try:
                bus.sync_read_register("present_position", IDS)
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                outcome.append(exc)

        sent = bus.stats.transactions
        worker = threading.Thread(target=loop)
        worker.start()
        assert wait_until(lambda: bus.stats.transactions > sent)  # the read is on the wire, waiting for servo 3
        with bus.preempt():
            bus.sync_write_register("torque_enable", {1: 0, 2: 0})
        worker.join(timeout=20)
        # Ended long before its 50 s of retries: the e-stop cut it short instead of waiting for the bus.
        assert not worker.is_alive() and bus.stats.retries < 5, f"the e-stop waited ({bus.stats.retries} retries)"
        assert outcome and isinstance(outcome[0], TransactionAborted)
        assert "emergency stop" in str(outcome[0])
        assert sim.wait_applied() and not sim.torque_enabled(1) and not sim.torque_enabled(2)
        sim.clear_faults()
        assert len(bus.sync_read_register("present_position", IDS)) == 6  # the bus works normally after


@pytest.mark.timeout(30)
def test_abort_pending_is_harmless_when_idle(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port) as bus:
        bus.abort_pending()
        assert bus.ping(1) == 777
        with bus.preempt():
            assert bus.ping(2) == 777
        assert bus.ping(3) == 777
