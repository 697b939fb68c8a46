"""Fuzzing: random, truncated and bit-flipped answers give only clear errors, never a crash or a hang."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prop_desktop.arm import dynamixel as dxl
from prop_desktop.arm import feetech as ft
from prop_desktop.arm.bus import ServoBus
from prop_desktop.arm.dynamixel import DynamixelBus
from prop_desktop.arm.errors import CorruptPacket, ServoError, ServoTimeout
from prop_desktop.arm.feetech import FeetechBus
from prop_desktop.arm.packet_io import BytesSource, Garbled, NoAnswer

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class ScriptedLink:
    """Stands in for the serial link: every answer the bus waits for comes from fixed bytes."""

    def __init__(self, data: bytes) -> None:
        self.source = BytesSource(data)
        self.is_open = True

    def write(self, data: bytes) -> None:
        pass

    def read_exact(self, n: int, deadline: float) -> bytes:
        return self.source.read_exact(n, deadline)

    def drain(self) -> None:
        pass

    def discard_input(self) -> None:
        pass

    def close(self) -> None:
        pass


def bus_on(cls: type[ServoBus], data: bytes) -> ServoBus:
    bus = cls("/dev/null-fuzz", timeout_s=0.0, retries=1)
    bus._link = ScriptedLink(data)  # type: ignore[assignment]
    return bus


def valid_feetech_answers() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda i, e, p: ft.build_status(i, e, p), st.integers(0, 253), st.integers(0, 255), st.binary(max_size=12)
    )


def valid_dynamixel_answers() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda i, e, p: dxl.build_status(i, e, p), st.integers(0, 253), st.integers(0, 255), st.binary(max_size=12)
    )


def mutate(packet: bytes, data: st.DataObject) -> bytes:
    """Truncate, flip a byte, or splice garbage in: what a noisy half-duplex line does."""
    choice = data.draw(st.sampled_from(["truncate", "flip", "splice", "as-is"]))
    if choice == "truncate" and packet:
        return packet[: data.draw(st.integers(0, len(packet) - 1))]
    if choice == "flip" and packet:
        i = data.draw(st.integers(0, len(packet) - 1))
        return packet[:i] + bytes((packet[i] ^ data.draw(st.integers(1, 255)),)) + packet[i + 1 :]
    if choice == "splice":
        i = data.draw(st.integers(0, len(packet)))
        return packet[:i] + data.draw(st.binary(max_size=8)) + packet[i:]
    return packet


@pytest.mark.timeout(120)
@FUZZ
@given(st.binary(max_size=300))
def test_feetech_parser_on_random_bytes(data: bytes) -> None:
    source = BytesSource(data)
    start = time.monotonic()
    try:
        ft.read_packet(source, 0.0, [1])
    except (NoAnswer, Garbled):
        pass
    assert time.monotonic() - start < 1.0


@pytest.mark.timeout(120)
@FUZZ
@given(st.binary(max_size=300))
def test_dynamixel_parser_on_random_bytes(data: bytes) -> None:
    try:
        dxl.read_status(BytesSource(data), 0.0, [1])
    except (NoAnswer, Garbled):
        pass


@pytest.mark.timeout(120)
@FUZZ
@given(valid_feetech_answers(), st.data())
def test_feetech_bus_on_mutated_answers(packet: bytes, data: st.DataObject) -> None:
    bus = bus_on(FeetechBus, mutate(packet, data))
    try:
        bus.read_register(1, "present_position")
    except (CorruptPacket, ServoTimeout, ServoError) as exc:
        assert "servo" in str(exc)


@pytest.mark.timeout(120)
@FUZZ
@given(valid_dynamixel_answers(), st.data())
def test_dynamixel_bus_on_mutated_answers(packet: bytes, data: st.DataObject) -> None:
    bus = bus_on(DynamixelBus, mutate(packet, data))
    try:
        bus.read_register(1, "present_position")
    except (CorruptPacket, ServoTimeout, ServoError) as exc:
        assert "servo" in str(exc)


@pytest.mark.timeout(120)
@FUZZ
@given(st.lists(st.one_of(valid_feetech_answers(), st.binary(max_size=10)), max_size=8), st.data())
def test_feetech_sync_read_on_garbage_streams(parts: list[bytes], data: st.DataObject) -> None:
    bus = bus_on(FeetechBus, b"".join(mutate(p, data) for p in parts))
    try:
        result = bus.sync_read_register("present_position", [1, 2, 3])
    except (CorruptPacket, ServoTimeout, ServoError):
        return
    assert set(result) == {1, 2, 3}


@pytest.mark.timeout(120)
@FUZZ
@given(st.lists(st.one_of(valid_dynamixel_answers(), st.binary(max_size=10)), max_size=8), st.data())
def test_dynamixel_sync_read_on_garbage_streams(parts: list[bytes], data: st.DataObject) -> None:
    bus = bus_on(DynamixelBus, b"".join(mutate(p, data) for p in parts))
    try:
        result = bus.sync_read_register("present_position", [1, 2, 3])
    except (CorruptPacket, ServoTimeout, ServoError):
        return
    assert set(result) == {1, 2, 3}


def test_scripted_answer_is_decoded() -> None:
    """The harness itself works: a clean answer decodes (so the fuzz tests above can fail)."""
    bus = bus_on(FeetechBus, ft.build_status(1, 0, (1304).to_bytes(2, "little")))
    assert bus.read_register(1, "present_position") == 1304


def _instruction_stream(protocol: str) -> st.SearchStrategy[bytes]:
    """Instruction packets with random instruction codes and parameters, mutated and mixed with garbage."""
    build = ft.build_packet if protocol == "feetech" else dxl.build_packet
    packet = st.builds(
        build,
        st.sampled_from([1, 2, 3, 6, 0xFE, 0x7F]),
        st.sampled_from([1, 2, 3, 4, 5, 6, 8, 0x10, 0x82, 0x83, 0x8A, 0x92, 0x55, 0x00]),
        st.binary(max_size=24),
    )
    return st.lists(st.one_of(packet, st.binary(max_size=12)), max_size=6).map(b"".join)


@pytest.mark.timeout(120)
@FUZZ
@given(st.sampled_from(["feetech", "dynamixel"]), st.data())
def test_simulated_servos_survive_any_instruction_stream(protocol: str, data: st.DataObject) -> None:
    """The simulator's side of the wire: random instructions never raise (a bug would stop the fake arm)."""
    from prop_desktop.arm.sim import SimulatedArm

    sim = SimulatedArm(protocol)  # not started: feed the responder directly
    stream = data.draw(_instruction_stream(protocol))
    replies = sim._responder.feed(stream, time.monotonic())
    for reply in replies:
        parse = ft.read_packet if protocol == "feetech" else dxl.read_status
        assert parse(BytesSource(reply.data), 0.0, [reply.servo_id]).servo_id == reply.servo_id
