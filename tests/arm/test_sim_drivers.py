"""Both drivers against the simulated arm over a real pty: ping, read, write, sync read/write, motion."""

from __future__ import annotations

import math
import time

import pytest

from prop_desktop.arm.bus import COMMON_REGISTERS, ServoBus, counts_to_radians, radians_to_counts
from prop_desktop.arm.errors import PortError, RegisterError
from prop_desktop.arm.protocols import make_bus
from prop_desktop.arm.sim import SimulatedArm

from ..waiting import wait_until

IDS = [1, 2, 3, 4, 5, 6]
BOTH = pytest.mark.parametrize("sim_arm", ["feetech", "dynamixel"], indirect=True)
MODELS = {"feetech": [777] * 6, "dynamixel": [1060, 1060, 1200, 1200, 1200, 1200]}



@BOTH
@pytest.mark.timeout(30)
def test_ping_and_broadcast_ping_find_the_arm(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    assert [sim_bus.ping(i) for i in IDS] == MODELS[sim_arm.protocol]
    assert sim_bus.broadcast_ping() == dict(zip(IDS, MODELS[sim_arm.protocol], strict=True))
    assert sim_bus.model_name(sim_bus.ping(1)) in ("STS3215", "XL430-W250")


@BOTH
@pytest.mark.timeout(30)
def test_rest_pose_is_near_the_middle_and_health_is_plausible(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    positions = sim_bus.sync_read_register("present_position", IDS)
    assert all(abs(counts_to_radians(p)) < 0.1 for p in positions.values())
    volts = sim_bus.to_si("present_voltage", sim_bus.read_register(1, "present_voltage"))
    assert 11.0 < volts < 13.0  # both arms' shoulder servos run on 12 V
    assert sim_bus.read_register(1, "present_temperature") == 30
    assert sim_bus.read_register(1, "torque_enable") == 0
    firmware = {sim_bus.firmware_version(i) for i in IDS}
    assert len(firmware) == 1


@BOTH
@pytest.mark.timeout(30)
def test_every_common_register_reads(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    values = {name: sim_bus.read_register(2, name) for name in COMMON_REGISTERS}
    assert values["id"] == 2
    assert values["max_position_limit"] == 4095


@BOTH
@pytest.mark.timeout(30)
def test_goals_are_followed_with_limited_speed(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    start = sim_bus.sync_read_register("present_position", IDS)
    sim_bus.sync_write_register("goal_position", start)  # goal = present before torque on
    sim_bus.sync_write_register("torque_enable", {i: 1 for i in IDS})
    goal = {i: start[i] + 400 for i in IDS}
    sim_bus.sync_write_register("goal_position", goal)
    time.sleep(0.02)
    midway = sim_bus.sync_read_register("present_position", IDS)
    assert any(midway[i] != goal[i] for i in IDS), "motion must take time (speed/acceleration limits)"

    # Present position is whole counts, so it can read "at the goal" a tick before the servo has settled
    # (still creeping the last fraction of a count), as a real servo's does: wait for the settled state.
    def settled() -> bool:
        state = sim_bus.sync_read_registers(["present_position", "present_velocity", "moving"], IDS)
        return all(
            s["present_position"] == goal[i] and s["present_velocity"] == 0 and s["moving"] == 0
            for i, s in state.items()
        )

    assert wait_until(settled), "every servo must come to rest exactly on its goal"


@BOTH
@pytest.mark.timeout(30)
def test_velocity_is_reported_while_moving(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    here = sim_bus.read_register(1, "present_position")
    sim_bus.write_register(1, "goal_position", here)
    sim_bus.write_register(1, "torque_enable", 1)
    sim_bus.write_register(1, "goal_position", here - 1000)
    time.sleep(0.1)
    assert sim_bus.read_register(1, "present_velocity") < 0
    assert sim_bus.read_register(1, "moving") == 1


@BOTH
@pytest.mark.timeout(30)
def test_raw_read_write_round_trip(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    reg = sim_bus.register("goal_position")
    sim_bus.write(3, reg.address, reg.encode(2222))
    assert reg.decode(sim_bus.read(3, reg.address, reg.size)) == 2222
    blocks = sim_bus.sync_read(reg.address, reg.size, [3, 1])
    assert list(blocks) == [3, 1] and reg.decode(blocks[3]) == 2222


@BOTH
@pytest.mark.timeout(30)
def test_bad_register_use_is_refused_clearly(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    with pytest.raises(RegisterError, match="no register 'goal_pos'"):
        sim_bus.read_register(1, "goal_pos")
    with pytest.raises(RegisterError, match="read-only"):
        sim_bus.write_register(1, "present_position", 5)
    with pytest.raises(ValueError, match="servo id"):
        sim_bus.ping(300)


def test_angles_round_trip() -> None:
    assert radians_to_counts(0.0) == 2048
    assert abs(counts_to_radians(radians_to_counts(1.2345)) - 1.2345) < 2e-3


@pytest.mark.timeout(30)
def test_missing_port_is_a_port_error() -> None:
    with pytest.raises(PortError, match="does not exist"):
        make_bus("feetech", "/dev/ttyDOESNOTEXIST").open()


@pytest.mark.timeout(30)
def test_two_programs_cannot_share_the_port(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port):
        with pytest.raises(PortError, match="busy"):
            make_bus("feetech", feetech_sim.port).open()


@pytest.mark.timeout(30)
def test_baud_mismatch_means_silence(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port, baudrate=57600, timeout_s=0.02, retries=0) as bus:
        assert bus.broadcast_ping() == {}


@pytest.mark.timeout(30)
def test_bytes_a_tty_would_translate_pass_untouched(feetech_sim: SimulatedArm) -> None:
    """0x0D, 0x11, 0x13 (CR, XON, XOFF) and 0xFF must cross the pty raw, in both directions."""
    with make_bus("feetech", feetech_sim.port) as bus:
        for value in (0x0D, 0x11, 0x13, 0x0A, 0x7F, 0x1311, 0x0D0D):
            bus.write_register(4, "goal_position", value)
            assert bus.read_register(4, "goal_position") == value


@pytest.mark.timeout(30)
def test_sim_runs_as_context_manager_and_stops(make_sim) -> None:
    sim = SimulatedArm("dynamixel")
    with sim:
        assert sim.running and sim.port.startswith("/dev/")
        assert sim.protocol == "dynamixel" and sim.model == "koch"
    assert not sim.running


def test_protocol_and_model_must_agree() -> None:
    with pytest.raises(ValueError, match="koch arm uses dynamixel"):
        SimulatedArm("feetech", "koch")
    with pytest.raises(ValueError, match="unknown arm model"):
        SimulatedArm(model="ur5")


@pytest.mark.timeout(30)
def test_reconnecting_after_a_program_left_bytes_behind(feetech_sim: SimulatedArm) -> None:
    import serial

    with serial.Serial(feetech_sim.port, 1_000_000) as raw:
        raw.write(bytes.fromhex("FF FF FE 02 01 FE"))  # broadcast ping; the answers are never read
        # Wait until all six answers (6 bytes each) wait on the port, not for a time: under load a fixed 50 ms
        # once left answers still arriving during the next program's first transaction.
        assert wait_until(lambda: raw.in_waiting >= 36)
    with make_bus("feetech", feetech_sim.port, retries=0) as bus:
        assert bus.ping(2) == 777
        assert bus.stats.retries == 0
    assert feetech_sim.stats.internal_errors == 0


@pytest.mark.timeout(30)
def test_wire_timing_makes_answers_take_as_long_as_on_a_real_line(make_sim) -> None:
    sim = make_sim("feetech", wire_timing=True)
    with make_bus("feetech", sim.port) as bus:
        best = 1.0
        for _ in range(20):
            start = time.perf_counter()
            bus.sync_read_register("present_position", IDS)
            best = min(best, time.perf_counter() - start)
    # 14 instruction bytes + 6 answers of 8 bytes at 10 µs per byte (1 Mbaud, 8N1) = 0.62 ms
    assert best >= 0.00062


@pytest.mark.timeout(30)
def test_idle_simulator_does_not_busy_wait(feetech_sim: SimulatedArm) -> None:
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    before = cpu()
    time.sleep(1.0)
    assert cpu() - before < 0.1  # the serving thread sleeps in select() until bytes arrive


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sim_arm", ["feetech", "dynamixel"], indirect=True)
def test_closed_loop_budget_200_hz(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    """Sync read of 6 positions + sync write of 6 goals must fit a 200 Hz loop (5 ms) with room to spare."""
    goals = sim_bus.sync_read_register("present_position", IDS)
    best = math.inf
    for _ in range(3):  # best of three: other programs share the CPU
        start = time.perf_counter()
        for _ in range(200):
            sim_bus.sync_read_register("present_position", IDS)
            sim_bus.sync_write_register("goal_position", goals)
        best = min(best, time.perf_counter() - start)
    assert best < 1.0, f"200 read+write cycles took {best:.2f} s: slower than 200 Hz"
