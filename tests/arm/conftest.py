"""Shared fixtures for the arm tests: simulated arms on real ptys, and buses connected to them.

- `sim_arm`: a running SimulatedArm (Feetech SO-101 by default). Parametrize the protocol indirectly:
  `@pytest.mark.parametrize("sim_arm", ["feetech", "dynamixel"], indirect=True)`.
- `feetech_sim` / `dynamixel_sim`: a running simulator of that protocol (SO-101 / Koch).
- `sim_bus`: an open ServoBus on `sim_arm`'s port (short timeout so fault tests stay fast).
- `make_sim`: a factory for simulators with custom options; all are stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from prop_desktop.arm.bus import ServoBus
from prop_desktop.arm.protocols import make_bus
from prop_desktop.arm.sim import SimulatedArm


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimulatedArm]]:
    started: list[SimulatedArm] = []

    def factory(protocol: str | None = None, model: str | None = None, **options: object) -> SimulatedArm:
        sim = SimulatedArm(protocol, model, **options).start()  # type: ignore[arg-type]
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def sim_arm(request: pytest.FixtureRequest, make_sim: Callable[..., SimulatedArm]) -> SimulatedArm:
    protocol = getattr(request, "param", "feetech")
    return make_sim(protocol)


@pytest.fixture
def feetech_sim(make_sim: Callable[..., SimulatedArm]) -> SimulatedArm:
    return make_sim("feetech")


@pytest.fixture
def dynamixel_sim(make_sim: Callable[..., SimulatedArm]) -> SimulatedArm:
    return make_sim("dynamixel")


@pytest.fixture
def sim_bus(sim_arm: SimulatedArm) -> Iterator[ServoBus]:
    bus = make_bus(sim_arm.protocol, sim_arm.port, timeout_s=0.1, retries=2)  # 0.03 s left a busy machine no room
    with bus:
        yield bus
