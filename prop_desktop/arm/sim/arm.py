"""The simulated arm: a whole servo bus on a real pseudo-terminal, served by a background thread.

    from prop_desktop.arm.sim import SimulatedArm

    with SimulatedArm("feetech") as sim:            # or SimulatedArm("dynamixel") / SimulatedArm(model="koch")
        print(sim.port)                              # e.g. /dev/pts/7: open it like /dev/ttyUSB0
        sim.move_by_hand("elbow_flex", 0.3)          # torque off: move a joint by hand (radians)
        sim.set_silent(3)                            # fault injection: servo 3 stops answering

The thread sleeps in select() until bytes arrive (no busy-wait). Physics advances lazily from the monotonic
clock each time a packet arrives or the Python API is used, so an idle simulator costs nothing.
"""

from __future__ import annotations

import math
import random
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prop_desktop.arm.sim.endpoints import PtyEndpoint, TcpEndpoint, default_transport, make_endpoint
from prop_desktop.arm.sim.profiles import COUNTS_PER_RAD, SimArmSpec, sim_arm_spec
from prop_desktop.arm.sim.servo import AMBIENT_C, DynamixelServo, FeetechServo, SimServo
from prop_desktop.arm.sim.wire import Reply, make_responder

JointRef = str | int
HandScript = Callable[[float], Mapping[JointRef, float]]



@dataclass
class SimStats:
    """What the simulator saw: packets parsed, replies sent, bad checksums, replies corrupted on purpose."""

    packets: int = 0
    replies: int = 0
    bad_checksum: int = 0
    corrupted: int = 0
    dropped_replies: int = 0
    internal_errors: int = 0  # exceptions inside the simulator (a bug): the bus keeps serving


class SimulatedArm:
    """A simulated SO-101/SO-100 (Feetech STS3215, ids 1..6) or Koch (Dynamixel XL430 ids 1-2, XL330 3-6)."""

    def __init__(
        self,
        protocol: str | None = None,
        model: str | None = None,
        *,
        physics_dt: float = 0.002,
        overload_seconds: float = 3.0,
        seed: int = 0,
        emulate_baud: bool = True,
        wire_timing: bool = False,
        transport: str | None = None,
    ) -> None:
        """`emulate_baud`: servos answer only if the port's baud rate matches theirs. `wire_timing`: answers
        take as long as on a real line (10 bits per byte at the port's baud rate) on top of the return delay;
        off by default so tests and the in-app arm run as fast as the machine allows. `transport`: "pty"
        (default where the system has pseudo-terminals) or "tcp" (`port` is then socket://127.0.0.1:N, which
        pyserial and our buses open too; for Windows)."""
        self.spec: SimArmSpec = sim_arm_spec(protocol, model)
        self.protocol = self.spec.protocol
        self.model = self.spec.key
        self.physics_dt = physics_dt
        self.emulate_baud = emulate_baud
        self.wire_timing = wire_timing
        self.transport = transport or default_transport()
        if self.transport not in ("pty", "tcp"):
            raise ValueError(f"unknown transport {transport!r}: use 'pty' or 'tcp'")
        servo_cls = FeetechServo if self.protocol == "feetech" else DynamixelServo
        self._all: list[SimServo] = [servo_cls(j, overload_seconds) for j in self.spec.joints]
        self._by_id: dict[int, SimServo] = {}
        self._reindex()
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._responder = make_responder(self.protocol, self._servos_by_id, self._line_baud)
        self._corrupt_next: dict[int | None, int] = {}
        self._corrupt_rate: dict[int | None, float] = {}
        self._hand_script: tuple[HandScript, float, float, str] | None = None  # fn, start, duration, unit
        self._last = time.monotonic()
        self._endpoint: PtyEndpoint | TcpEndpoint | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None
        self._unplugged = False
        self.stats = SimStats()
        self.last_internal_error = ""
        self._rx_bytes = 0
        self.port = ""

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> SimulatedArm:
        """Create the pty (or socket) and start serving it; `port` is then what a client opens."""
        if self._thread is not None:
            return self
        self._endpoint = make_endpoint(self.transport)
        self.port = self._endpoint.port
        self._wake = socket.socketpair()  # select() can wait on sockets everywhere, pipes not on Windows
        self._last = time.monotonic()
        self._unplugged = False
        self._thread = threading.Thread(target=self._serve, name=f"sim-arm-{self.model}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the pty (a connected client then gets an I/O error)."""
        thread, self._thread = self._thread, None
        if thread is not None and self._wake is not None:
            self._wake[1].send(b"x")
            thread.join(timeout=5)
        if self._endpoint is not None:
            self._endpoint.close()
        for sock in self._wake or ():
            sock.close()
        self._endpoint = None
        self._wake = None

    def unplug(self) -> None:
        """Fault: the USB adapter is pulled out. The pty (socket) disappears; the client's next I/O fails."""
        self._unplugged = True
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def unplugged(self) -> bool:
        return self._unplugged

    def __enter__(self) -> SimulatedArm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- serving
    def _serve(self) -> None:
        assert self._endpoint is not None and self._wake is not None
        endpoint, wake = self._endpoint, self._wake[0]
        while True:
            readable, _, _ = select.select([wake, *endpoint.waitables()], [], [])  # sleeps until bytes come
            if wake in readable:
                return
            for ready in readable:
                with self._lock:  # read and handle under one lock: wait_applied() relies on it
                    try:
                        data = endpoint.receive(ready)
                    except OSError:
                        return
                    if not data:
                        continue
                    self._rx_bytes += len(data)
                    now = time.monotonic()
                    try:
                        self._advance(now)
                        replies = self._responder.feed(data, now)
                    except Exception as exc:  # noqa: BLE001 - a simulator bug must not silently kill the bus
                        self.stats.internal_errors += 1
                        self.last_internal_error = repr(exc)
                        self._responder.buf.clear()
                        continue
                    self._reindex_if_needed()
                    stats = self._responder.stats
                    self.stats.packets, self.stats.bad_checksum = stats.packets, stats.bad_checksum
                    out = self._outgoing(replies)
                self._send(out, len(data) if out else 0)

    def _outgoing(self, replies: list[Reply]) -> list[tuple[float, bytes]]:
        out = []
        for reply in replies:
            data = reply.data
            if self._should_corrupt(reply.servo_id):
                index = self._rng.randrange(len(data))
                data = data[:index] + bytes((data[index] ^ self._rng.randrange(1, 256),)) + data[index + 1 :]
                self.stats.corrupted += 1
            out.append((reply.delay_s, data))
        self.stats.replies += len(out)
        return out

    def _send(self, out: list[tuple[float, bytes]], received: int = 0) -> None:
        """Write the answers, each after its servo's return delay (and, with wire_timing, after the time its
        bytes and the instruction's take on a real line at the port's baud rate)."""
        byte_s = 10.0 / (self._line_baud() or 1_000_000) if self.wire_timing else 0.0
        due = time.monotonic() + received * byte_s
        pending = b""
        for delay, data in out:
            wait = delay + len(data) * byte_s
            if wait > 0:
                if pending:
                    self._write(pending)
                    pending = b""
                due += wait
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            pending += data
        if pending:
            self._write(pending)

    def _write(self, data: bytes) -> None:
        endpoint = self._endpoint
        if endpoint is None or not endpoint.write(data):
            self.stats.dropped_replies += 1  # nobody reads the line: bytes are lost, as on a real bus

    def _should_corrupt(self, servo_id: int) -> bool:
        for key in (servo_id, None):
            left = self._corrupt_next.get(key, 0)
            if left > 0:
                self._corrupt_next[key] = left - 1
                return True
        rate = self._corrupt_rate.get(servo_id, self._corrupt_rate.get(None, 0.0))
        return rate > 0 and self._rng.random() < rate

    def _servos_by_id(self) -> dict[int, SimServo]:
        return self._by_id

    def _reindex(self) -> None:
        self._by_id = {s.servo_id: s for s in self._all}

    def _reindex_if_needed(self) -> None:
        if any(self._by_id.get(s.servo_id) is not s for s in self._all):
            self._reindex()

    def _line_baud(self) -> int | None:
        endpoint = self._endpoint
        if not self.emulate_baud or endpoint is None:
            return None
        return endpoint.line_baud()

    def _advance(self, now: float) -> None:
        """Integrate the physics from the last call to `now` in steps of at most physics_dt."""
        span = now - self._last
        if span <= 0:
            return
        steps = min(2000, max(1, math.ceil(span / self.physics_dt)))
        dt = span / steps
        for k in range(1, steps + 1):
            t = self._last + k * dt
            if self._hand_script is not None:
                self._apply_hand_script(t)
            for servo in self._all:
                servo.step(dt, t)
        self._last = now

    def _apply_hand_script(self, t: float) -> None:
        assert self._hand_script is not None
        fn, start, duration, unit = self._hand_script
        elapsed = t - start
        if elapsed < 0:
            return
        if elapsed > duration:
            elapsed = duration
            self._hand_script = None
        for joint, value in fn(elapsed).items():
            servo = self._servo(joint)
            if not servo.torque_on:
                servo.hand_target = self._to_actual(value, unit)
            elif servo.yields_to_hand():
                servo.held_at = self._to_actual(value, unit)

    def wait_applied(self, timeout: float = 1.0, quiet_s: float = 0.003) -> bool:
        """Wait until every byte sent to the simulator so far has been handled (e.g. after a sync write,
        which nobody answers): nothing waiting on the line and nothing new for `quiet_s` (the kernel hands
        pty bytes over asynchronously). True if so within `timeout`."""
        end = time.monotonic() + timeout
        seen = -1
        quiet_since: float | None = None
        while True:
            with self._lock:
                if self._endpoint is None:
                    return False
                pending = self._endpoint.pending_input()
                received = self._rx_bytes
            now = time.monotonic()
            if pending or received != seen:
                seen, quiet_since = received, None if pending else now
            elif quiet_since is not None and now - quiet_since >= quiet_s:
                return True
            elif quiet_since is None:
                quiet_since = now
            if now >= end:
                return False
            time.sleep(0.0005)

    def sync(self) -> None:
        """Bring the physics up to now (the API calls this itself)."""
        with self._lock:
            self._advance(time.monotonic())

    # ----------------------------------------------------------------- inspection
    @property
    def servo_ids(self) -> list[int]:
        return [j.servo_id for j in self.spec.joints]

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.spec.joints]

    def _servo(self, joint: JointRef) -> SimServo:
        return self._all[self.spec.joints.index(self.spec.joint(joint))]

    def servo(self, joint: JointRef) -> SimServo:
        """The simulated servo of a joint (by name or original id), for inspection in tests."""
        self.sync()
        return self._servo(joint)

    def actual_position(self, joint: JointRef) -> float:
        """Physical encoder count (independent of the homing offset); 2048 = mechanical middle."""
        with self._lock:
            self._advance(time.monotonic())
            return self._servo(joint).pos

    def actual_radians(self, joint: JointRef) -> float:
        """Physical joint angle, 0 rad at the mechanical middle."""
        return (self.actual_position(joint) - 2048) / COUNTS_PER_RAD

    def present_position(self, joint: JointRef) -> int:
        """What the servo reports as present position (homing offset applied)."""
        with self._lock:
            self._advance(time.monotonic())
            return self._servo(joint).get("present_position")

    def torque_enabled(self, joint: JointRef) -> bool:
        with self._lock:
            self._advance(time.monotonic())
            return self._servo(joint).torque_on

    def temperature(self, joint: JointRef) -> float:
        with self._lock:
            self._advance(time.monotonic())
            return self._servo(joint).temperature

    def load(self, joint: JointRef) -> float:
        """Signed load as a fraction of max torque."""
        with self._lock:
            self._advance(time.monotonic())
            return self._servo(joint).load

    def register(self, joint: JointRef, name: str) -> int:
        """A control-table value as the servo holds it now."""
        with self._lock:
            self._advance(time.monotonic())
            servo = self._servo(joint)
            servo.refresh()
            return servo.get(name)

    # ----------------------------------------------------------------- hand guiding and the world
    def _to_actual(self, value: float, unit: str) -> float:
        if unit == "rad":
            return 2048 + value * COUNTS_PER_RAD
        if unit == "raw":
            return float(value)
        raise ValueError(f"unit must be 'rad' or 'raw', got {unit!r}")

    def move_by_hand(self, joint: JointRef, value: float, unit: str = "rad") -> bool:
        """Move a joint by hand to a physical position (radians about the middle, or raw actual counts).

        With torque off the joint goes there (within its hard stops); with torque on the servo holds and
        you feel it push back: its load rises for a moment. Returns True if the joint moved.
        """
        with self._lock:
            self._advance(time.monotonic())
            servo = self._servo(joint)
            target = self._to_actual(value, unit)
            if servo.yields_to_hand():  # a current-limited trigger: held where the finger puts it
                servo.held_at = target
                servo.step(0.0, time.monotonic())
                servo.refresh()
                return True
            if servo.torque_on:
                servo.push_until = time.monotonic() + 0.3
                servo.push_sign = 1.0 if target >= servo.pos else -1.0
                return False
            low, high = servo.joint.hard_stops
            servo.pos = min(high, max(low, target))
            servo.vel = 0.0
            servo.refresh()
            return True

    def let_go(self, joint: JointRef | None = None) -> None:
        """The finger lets go of a trigger joint (or of every joint): a torque-on joint springs back to its goal."""
        with self._lock:
            self._advance(time.monotonic())
            for servo in self._all if joint is None else [self._servo(joint)]:
                servo.held_at = None

    def play_hand_trajectory(self, script: HandScript, duration_s: float, unit: str = "rad") -> None:
        """A person moving the (torque-off) arm: script(t) -> {joint: position} for t in [0, duration_s]."""
        with self._lock:
            self._advance(time.monotonic())
            self._hand_script = (script, time.monotonic(), float(duration_s), unit)

    def stop_hand_trajectory(self) -> None:
        with self._lock:
            self._hand_script = None

    @property
    def hand_trajectory_active(self) -> bool:
        self.sync()
        return self._hand_script is not None

    def set_obstacle(self, joint: JointRef, value: float | None, unit: str = "rad") -> None:
        """Put an obstacle in the joint's way at a physical position (None removes it)."""
        with self._lock:
            self._advance(time.monotonic())
            self._servo(joint).obstacle = None if value is None else self._to_actual(value, unit)

    def power_cycle(self) -> None:
        """Switch the servos' power off and on: unsaved EEPROM writes are lost, torque is off."""
        with self._lock:
            self._advance(time.monotonic())
            for servo in self._all:
                servo.power_cycle()
            self._reindex()

    # ----------------------------------------------------------------- fault injection
    def set_silent(self, joint: JointRef, silent: bool = True) -> None:
        """Fault: the servo neither hears nor answers (unplugged daisy-chain cable, dead servo)."""
        with self._lock:
            self._servo(joint).silent = silent

    def corrupt_next(self, count: int = 1, servo: JointRef | None = None) -> None:
        """Fault: garble one byte in each of the next `count` answers (of one servo, or of any)."""
        with self._lock:
            key = None if servo is None else self.spec.joint(servo).servo_id
            self._corrupt_next[key] = self._corrupt_next.get(key, 0) + count

    def set_corruption_rate(self, probability: float, servo: JointRef | None = None) -> None:
        """Fault: garble answers at random with this probability (0 turns it off)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be in [0, 1]")
        with self._lock:
            key = None if servo is None else self.spec.joint(servo).servo_id
            self._corrupt_rate[key] = probability

    def overheat(self, joint: JointRef, celsius: float | None = None) -> None:
        """Fault: hold the servo's temperature above its limit (default: limit + 5 °C) until cool()."""
        with self._lock:
            self._advance(time.monotonic())
            servo = self._servo(joint)
            servo.forced_temperature = servo.get("max_temperature") + 5.0 if celsius is None else float(celsius)
            servo.temperature = servo.forced_temperature
            servo.step(0.0, time.monotonic())
            servo.refresh()

    def cool(self, joint: JointRef) -> None:
        """Undo overheat(): the servo is back at ambient temperature."""
        with self._lock:
            self._advance(time.monotonic())
            servo = self._servo(joint)
            servo.forced_temperature = None
            servo.temperature = AMBIENT_C
            servo.step(0.0, time.monotonic())
            servo.refresh()

    def set_supply_voltage(self, volts: float, joint: JointRef | None = None) -> None:
        """Fault: the power supply gives `volts` (to every servo, or one)."""
        with self._lock:
            self._advance(time.monotonic())
            for servo in self._all if joint is None else [self._servo(joint)]:
                servo.supply_volts = float(volts)
                servo.refresh()

    def low_voltage(self, volts: float | None = None) -> None:
        """Fault: a sagging supply below the servos' minimum voltage (default: minimum − 1 V)."""
        with self._lock:
            for servo in self._all:
                servo.supply_volts = servo.get("min_voltage") / 10 - 1.0 if volts is None else float(volts)
                servo.refresh()

    def clear_faults(self) -> None:
        """Every servo answers, no corruption, nominal supply, ambient temperature, no obstacle."""
        with self._lock:
            self._corrupt_next.clear()
            self._corrupt_rate.clear()
            for servo in self._all:
                servo.silent = False
                servo.forced_temperature = None
                servo.temperature = AMBIENT_C
                servo.supply_volts = servo.kind.supply_volts
                servo.obstacle = None
                servo.refresh()
