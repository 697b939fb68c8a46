"""The servo bus: one abstract interface over Feetech STS and Dynamixel 2.0, with named registers.

Use it like this::

    from prop_desktop.arm.protocols import open_bus

    with open_bus("feetech", "/dev/ttyUSB0") as bus:          # or "dynamixel"; opens the port
        model = bus.ping(1)                                   # 777 for an STS3215
        positions = bus.sync_read_register("present_position", [1, 2, 3, 4, 5, 6])   # {id: raw counts}
        bus.sync_write_register("goal_position", {1: 2048, 2: 2100})
        volts = bus.to_si("present_voltage", bus.read_register(1, "present_voltage"))

Conventions
- Named registers are read and written in RAW INTEGER units of the servo (counts, 0.1 V, °C, …), already
  decoded from the wire: Feetech sign-magnitude fields and Dynamixel two's complement both come back as
  plain signed Python ints, and are encoded back the same way. `to_si(name, raw)` converts to SI units
  (volts, °C, rad/s, amperes, load fraction); `counts_to_radians` / `radians_to_counts` convert positions
  (0 rad = count 2048, 4096 counts per turn).
- Common register names (present on both protocols) are listed in COMMON_REGISTERS; each protocol has a few
  more (bus.registers holds the full table: address, size, encoding, EEPROM or RAM).
- Every call is one bus transaction guarded by a lock. For an emergency stop from another thread,
  `with bus.preempt(): bus.sync_write_register("torque_enable", {...: 0})` aborts the transaction in flight
  at once (it raises TransactionAborted in its thread, even mid-retry) and takes the bus ahead of anyone
  else; `abort_pending()` only aborts the transaction in flight.
- Timeouts and corrupt answers are retried up to `retries` times (input flushed before each retry); after
  that ServoTimeout / CorruptPacket is raised, naming the servo(s) and what to check. Sync reads retry only
  the servos that did not answer. Counters are in `bus.stats` (BusStats).
- Instruction errors (the servo rejected the command, e.g. Dynamixel "access" when writing EEPROM with
  torque on) always raise ServoError. Hardware ALARM bits (overheating, input voltage, overload…) do not
  stop the transaction: the command was executed and the data is valid. They are latched in
  `bus.alarms[id]` (decoded words) and passed to `on_alarm(id, words)` if given; with raise_on_alarm=True
  they raise ServoError after the transaction. `clear_alarms()` resets the latch.
- A port that cannot be opened or goes away (USB unplug, simulator stopped) raises PortError.
"""

from __future__ import annotations

import threading
import time
from abc import ABC
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from prop_desktop.arm.codec import PING, READ, SYNC_READ, SYNC_WRITE, WRITE, PacketCodec, StatusPacket
from prop_desktop.arm.control_table import decode_bits
from prop_desktop.arm.errors import (
    BusError,
    CorruptPacket,
    PortError,
    RegisterError,
    ServoError,
    ServoTimeout,
    TransactionAborted,
)
from prop_desktop.arm.packet_io import Garbled, NoAnswer, SerialLink
from prop_desktop.arm.registers import (
    CENTER_COUNT,
    COMMON_REGISTERS,
    COUNTS_PER_TURN,
    Register,
    counts_to_radians,
    radians_to_counts,
)

_T = TypeVar("_T")


@dataclass
class BusStats:
    """Diagnostics counters; `retries` counts repeated attempts, `timeouts`/`corrupt_packets` failed ones."""

    transactions: int = 0
    retries: int = 0
    timeouts: int = 0
    corrupt_packets: int = 0
    servo_errors: int = 0
    alarms: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


AlarmCallback = Callable[[int, list[str]], None]


class ServoBus(ABC):
    """A half-duplex servo bus on one serial port. Subclasses: FeetechBus, DynamixelBus.

    Every transaction, retry and status check is done here, the same way for every vendor; a subclass
    only gives its data (codec, control table, units, EEPROM rules). Thread-safe (one lock per bus).
    Open with `open()` or use as a context manager.
    """

    protocol: ClassVar[str]
    codec: ClassVar[PacketCodec]
    registers: ClassVar[Mapping[str, Register]]
    default_baudrate: ClassVar[int] = 1_000_000
    # SI conversions for to_si(): name -> (scale, unit). Positions are handled by counts_to_radians.
    si_units: ClassVar[Mapping[str, tuple[float, str]]]
    model_names: ClassVar[Mapping[int, str]]
    # Bit -> word for the hardware_error register.
    hardware_error_bits: ClassVar[Mapping[int, str]]
    # Registers (contiguous, read at once) whose values, joined by ".", are the firmware version.
    firmware_registers: ClassVar[tuple[str, ...]]
    # EEPROM rules: Feetech persists EEPROM writes only while this register is 0; Dynamixel rejects them
    # while torque is on.
    eeprom_lock_register: ClassVar[str | None] = None
    eeprom_needs_torque_off: ClassVar[bool] = False
    # True when the status byte only says "hardware alert" and the hardware_error register says what.
    status_alarm_is_summary: ClassVar[bool] = False

    @property
    def broadcast_id(self) -> int:
        return self.codec.broadcast_id

    def __init__(
        self,
        port: str,
        baudrate: int | None = None,
        *,
        timeout_s: float = 0.05,
        retries: int = 3,
        raise_on_alarm: bool = False,
        on_alarm: AlarmCallback | None = None,
    ) -> None:
        """`timeout_s`: how long to wait for one answer (per attempt); `retries`: extra attempts after a
        timeout or corrupt answer (0 = no retry)."""
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.port = port
        self.baudrate = int(baudrate or self.default_baudrate)
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.raise_on_alarm = raise_on_alarm
        self.on_alarm = on_alarm
        self.stats = BusStats()
        self.alarms: dict[int, list[str]] = {}
        self._alarm_raw: dict[int, int] = {}
        self._new_alarms: dict[int, tuple[list[str], int, str]] = {}
        self._settling = False
        self._lock = threading.RLock()
        self._link = SerialLink(port, self.baudrate)
        # Emergency-stop support: another thread can make the transaction in flight give up at once.
        self._abort = threading.Event()
        self._link.abort_event = self._abort
        self._preempting = 0
        self._preempt_lock = threading.Lock()
        self._busy = 0  # depth of transactions in flight (nested for a ping that reads the model, etc.)

    # ----------------------------------------------------------------- lifecycle
    def open(self) -> ServoBus:
        """Open the serial port (PortError with a plain-language fix if it cannot be opened)."""
        with self._lock:
            self._link.open()
        return self

    def close(self) -> None:
        """Close the port. Safe to call twice and after the port vanished."""
        with self._lock:
            self._link.close()

    @property
    def is_open(self) -> bool:
        return self._link.is_open

    def __enter__(self) -> ServoBus:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def abort_pending(self) -> None:
        """From any thread: make the transaction in flight (if any) give up at once with TransactionAborted.

        Prefer `preempt()` for an emergency stop: it also takes the bus before any other transaction starts.
        """
        if self._busy > 0:
            self._abort.set()
            self._link.wake()

    @contextmanager
    def preempt(self) -> Iterator[ServoBus]:
        """From any thread: abort the transaction in flight and hold the bus for this block, ahead of every
        transaction that was waiting (they raise TransactionAborted)::

            with bus.preempt():
                bus.sync_write_register("torque_enable", {i: 0 for i in ids})
        """
        with self._preempt_lock:
            self._preempting += 1
        self._abort.set()
        self._link.wake()
        acquired = False
        try:
            self._lock.acquire()
            acquired = True
            with self._preempt_lock:
                self._preempting -= 1
                if self._preempting == 0:
                    self._abort.clear()
            yield self
        finally:
            if acquired:
                self._lock.release()
            else:
                with self._preempt_lock:
                    self._preempting -= 1

    def _begin(self) -> None:
        """Start of a transaction (bus lock held): refuse while a preemptor waits; forget stale aborts."""
        if self._abort.is_set():
            if self._preempting:
                raise TransactionAborted(self.port)
            self._abort.clear()
        self._busy += 1

    def _end(self) -> None:
        self._busy -= 1

    def reset_stats(self) -> None:
        self.stats = BusStats()

    def clear_alarms(self) -> None:
        """Forget latched alarms (e.g. after a reboot); they are noted again if the servo still reports them."""
        self.alarms.clear()
        self._alarm_raw.clear()

    # ----------------------------------------------------------------- raw access
    def ping(self, servo_id: int) -> int:
        """Ping one servo; return its model number (777 STS3215, 1060 XL430-W250, 1200 XL330-M288)."""
        self._check_id(servo_id)
        with self._lock:
            return self._retrying("a ping", [servo_id], lambda ids: self._ping_once(ids[0]))

    def broadcast_ping(self) -> dict[int, int]:
        """Ping every servo at once; return {id: model number} of all that answered (maybe empty)."""
        codec = self.codec
        with self._lock:
            self._begin()
            try:
                self._link.drain()
                self._send(codec.build_packet(codec.broadcast_id, PING, b""))
                answers: dict[int, bytes] = {}
                deadline = time.monotonic() + self.timeout_s + 0.01
                while time.monotonic() < deadline:
                    try:
                        status = codec.read_status(self._link, deadline, [codec.broadcast_id])
                    except (NoAnswer, Garbled):
                        break
                    if status.servo_id < codec.broadcast_id and len(status.params) >= codec.ping_answer_bytes:
                        answers.setdefault(status.servo_id, status.params)
                if not codec.ping_carries_model:
                    self._link.drain()  # late ping answers would confuse the model reads that follow
                return {
                    servo_id: self._model_from_ping(servo_id, answers[servo_id]) for servo_id in sorted(answers)
                }
            finally:
                self._end()

    def read(self, servo_id: int, address: int, length: int) -> bytes:
        """Read `length` bytes from the control table of one servo."""
        self._check_id(servo_id)
        with self._lock:
            return self._retrying(
                f"a read of {length} byte(s) at address {address}",
                [servo_id],
                lambda ids: self._read_once(ids[0], address, length),
            )

    def write(self, servo_id: int, address: int, data: bytes) -> None:
        """Write bytes to one servo's control table and wait for its acknowledgement."""
        self._check_id(servo_id)
        with self._lock:
            self._retrying(
                f"a write at address {address}", [servo_id], lambda ids: self._write_once(ids[0], address, bytes(data))
            )

    def sync_read(self, address: int, length: int, ids: Sequence[int]) -> dict[int, bytes]:
        """One SYNC READ for many servos; {id: bytes} for every id (or ServoTimeout naming the silent ones)."""
        ids = list(ids)
        for servo_id in ids:
            self._check_id(servo_id)
        if not ids:
            return {}
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate servo ids in sync read: {ids}")
        result: dict[int, bytes] = {}  # filled as answers arrive, so a retry asks only the missing servos
        with self._lock:
            self._retrying(
                f"a sync read of {length} byte(s) at address {address}",
                ids,
                lambda pending: self._sync_read_once(address, length, pending, result),
                partial=result,
            )
        return {servo_id: result[servo_id] for servo_id in ids}

    def sync_write(self, address: int, data: Mapping[int, bytes]) -> None:
        """One SYNC WRITE of equal-length data to many servos (servos do not answer a sync write)."""
        if not data:
            return
        lengths = {len(v) for v in data.values()}
        if len(lengths) != 1:
            raise ValueError("sync write needs the same number of bytes for every servo")
        for servo_id in data:
            self._check_id(servo_id)
        with self._lock:
            self._begin()
            try:
                packet = self._sync_write_packet(address, lengths.pop(), {k: bytes(v) for k, v in data.items()})
                self._send(packet, answered=False)
            finally:
                self._end()

    # ----------------------------------------------------------------- named registers
    def register(self, name: str) -> Register:
        """The control-table entry for `name` (RegisterError listing the valid names if unknown)."""
        try:
            return self.registers[name]
        except KeyError:
            raise RegisterError(
                f"{self.protocol} servos have no register {name!r}; known: {', '.join(sorted(self.registers))}"
            ) from None

    def read_register(self, servo_id: int, name: str) -> int:
        reg = self.register(name)
        return reg.decode(self.read(servo_id, reg.address, reg.size))

    def write_register(self, servo_id: int, name: str, value: int) -> None:
        reg = self._writable(name)
        self.write(servo_id, reg.address, reg.encode(value))

    def sync_read_register(self, name: str, ids: Sequence[int]) -> dict[int, int]:
        reg = self.register(name)
        return {i: reg.decode(b) for i, b in self.sync_read(reg.address, reg.size, ids).items()}

    def sync_write_register(self, name: str, values: Mapping[int, int]) -> None:
        reg = self._writable(name)
        self.sync_write(reg.address, {i: reg.encode(v) for i, v in values.items()})

    def sync_read_registers(self, names: Sequence[str], ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Several registers in ONE sync read of the contiguous span covering them: {id: {name: value}}."""
        regs = [self.register(n) for n in names]
        start = min(r.address for r in regs)
        end = max(r.address + r.size for r in regs)
        blocks = self.sync_read(start, end - start, ids)
        return {
            i: {r.name: r.decode(block[r.address - start : r.address - start + r.size]) for r in regs}
            for i, block in blocks.items()
        }

    def write_eeprom(self, servo_id: int, name: str, value: int) -> None:
        """Write an EEPROM register so that it persists (ids, limits, homing offset…).

        Feetech: opens the lock around the write (and closes it again, even on error). Dynamixel: refuses
        with a clear RegisterError while torque is on, since the servo only accepts EEPROM writes with
        torque off.
        """
        reg = self._writable(name)
        if not reg.eeprom:
            raise RegisterError(f"{name!r} is not an EEPROM register: use write_register")
        with self._lock:
            if self.eeprom_needs_torque_off and self.read_register(servo_id, "torque_enable"):
                raise RegisterError(
                    f"servo {servo_id}: {reg.name} is in EEPROM, which {self.codec.name} servos accept only with "
                    "torque off. Disable torque (torque_enable = 0) first."
                )
            lock = self.eeprom_lock_register
            if lock is None:
                self.write(servo_id, reg.address, reg.encode(value))
                return
            self.write_register(servo_id, lock, 0)  # unlocked: the EEPROM write persists over power-off
            try:
                self.write(servo_id, reg.address, reg.encode(value))
            finally:
                self.write_register(servo_id, lock, 1)

    def write_eeprom_many(self, name: str, values: Mapping[int, int]) -> None:
        """write_eeprom for several servos, each write acknowledged."""
        with self._lock:
            for servo_id, value in values.items():
                self.write_eeprom(servo_id, name, value)

    def load_fraction(self, servo_id: int, raw: int) -> float:
        """A raw present_load value -> signed fraction of the servo's maximum torque, for its model
        (model and limits are read once per servo and cached)."""
        return raw / 1000.0

    def load_fractions(self, ids: Sequence[int]) -> dict[int, float]:
        """One sync read of present_load, converted with load_fraction: {id: fraction}."""
        return {i: self.load_fraction(i, raw) for i, raw in self.sync_read_register("present_load", ids).items()}

    # ----------------------------------------------------------------- conversions and diagnostics
    def to_si(self, name: str, raw: int) -> float:
        """Raw register value -> SI units (see `si_unit(name)`); RegisterError for registers without one."""
        if name not in self.si_units:
            raise RegisterError(f"no SI conversion for {name!r}; have: {', '.join(sorted(self.si_units))}")
        return raw * self.si_units[name][0]

    def si_unit(self, name: str) -> str:
        return self.si_units[name][1] if name in self.si_units else ""

    def model_name(self, model_number: int) -> str:
        return self.model_names.get(model_number, f"unknown model {model_number}")

    def firmware_version(self, servo_id: int) -> str:
        """Firmware version as text ("3.10" on Feetech, "46" on Dynamixel), for comparing servos."""
        regs = [self.register(name) for name in self.firmware_registers]
        start = min(r.address for r in regs)
        block = self.read(servo_id, start, max(r.address + r.size for r in regs) - start)
        return ".".join(str(r.decode(block[r.address - start : r.address - start + r.size])) for r in regs)

    def decode_hardware_error(self, value: int) -> list[str]:
        """Words for the bits of the `hardware_error` register (e.g. ["overheating"])."""
        return decode_bits(value, self.hardware_error_bits)

    def read_alarm_words(self, servo_id: int) -> list[str]:
        """Read and decode one servo's hardware_error register (never raises for the alarm it reads)."""
        with self._lock:
            settling, self._settling = self._settling, True
            try:
                return self.decode_hardware_error(self.read_register(servo_id, "hardware_error"))
            finally:
                self._settling = settling

    # ----------------------------------------------------------------- one attempt each
    def _request(
        self, servo_id: int, instruction: int, params: bytes, answer_params: int, what: str, new_id: int = -1
    ) -> bytes:
        """One instruction to one servo and its status answer: the answer's parameters. Raises NoAnswer /
        Garbled (retried by _attempts) or ServoError (the servo rejected it)."""
        codec = self.codec
        self._send(codec.build_packet(servo_id, instruction, params))
        status = codec.read_status(self._link, self._deadline(codec.status_overhead + answer_params), [servo_id])
        self.stats.bytes_received += codec.status_overhead + len(status.params)
        if status.servo_id not in (servo_id, new_id):  # an id change is acknowledged under the new id
            raise Garbled(f"answer came from servo {status.servo_id}, expected servo {servo_id}", servo_id)
        self._check_status(status, what)  # a rejected instruction carries no data: check before the length
        if len(status.params) != answer_params:
            raise Garbled(f"answer has {len(status.params)} data byte(s), expected {answer_params}", servo_id)
        return status.params

    def _ping_once(self, servo_id: int) -> int:
        return self._model_from_ping(
            servo_id, self._request(servo_id, PING, b"", self.codec.ping_answer_bytes, "answering a ping")
        )

    def _model_from_ping(self, servo_id: int, params: bytes) -> int:
        if self.codec.ping_carries_model:
            return params[0] | (params[1] << 8)
        reg = self.registers["model_number"]
        span = self.codec.span(reg.address, reg.size)
        return reg.decode(self._request(servo_id, READ, span, reg.size, "reading model"))

    def _read_once(self, servo_id: int, address: int, length: int) -> bytes:
        return self._request(servo_id, READ, self.codec.span(address, length), length, f"reading address {address}")

    def _write_once(self, servo_id: int, address: int, data: bytes) -> None:
        self.codec.check_span(address, len(data))
        id_at = self.registers["id"].address - address
        new_id = data[id_at] if 0 <= id_at < len(data) else -1
        params = self.codec.field(address) + data
        self._request(servo_id, WRITE, params, 0, f"writing address {address}", new_id)

    def _sync_read_once(
        self, address: int, length: int, ids: list[int], result: dict[int, bytes]
    ) -> dict[int, bytes]:
        """One sync-read attempt for `ids`; store answers in `result` as they arrive (so a retry asks only
        for the missing ones); raise NoAnswer(missing ids) / Garbled if some did not answer cleanly."""
        codec = self.codec
        self._send(codec.build_packet(codec.broadcast_id, SYNC_READ, codec.span(address, length) + bytes(ids)))
        deadline = self._deadline(len(ids) * (codec.status_overhead + length))
        pending = list(ids)
        garbled: Garbled | None = None
        answers = 0  # good or garbled: once every servo had its turn, stop waiting
        while pending and answers < len(ids):
            answers += 1
            try:
                status = codec.read_status(self._link, deadline, pending)
            except NoAnswer:
                break
            except Garbled as exc:
                # Keep listening: the servos after a garbled answer still answer in turn.
                garbled = exc
                garbled.servo_id = exc.servo_id if exc.servo_id is not None else pending[0]
                continue
            self.stats.bytes_received += codec.status_overhead + len(status.params)
            if status.servo_id not in pending:
                garbled = Garbled(f"unexpected answer from servo {status.servo_id} in a sync read", pending[0])
                continue
            self._check_status(status, f"sync-reading address {address}")
            if len(status.params) != length:
                garbled = Garbled(f"answer has {len(status.params)} data byte(s), expected {length}", status.servo_id)
                continue
            result[status.servo_id] = status.params
            pending.remove(status.servo_id)
        if pending:
            if garbled is not None and garbled.servo_id in pending:
                raise garbled
            raise NoAnswer(pending)
        return result

    def _sync_write_packet(self, address: int, length: int, data: Mapping[int, bytes]) -> bytes:
        params = bytearray(self.codec.span(address, length))
        for servo_id, chunk in data.items():
            params.append(servo_id)
            params += chunk
        return self.codec.build_packet(self.codec.broadcast_id, SYNC_WRITE, bytes(params))

    # ----------------------------------------------------------------- shared machinery
    def _check_id(self, servo_id: int) -> None:
        if not isinstance(servo_id, int) or not 0 <= servo_id < self.broadcast_id:
            raise ValueError(f"servo id must be an int in 0..{self.broadcast_id - 1}, got {servo_id!r}")

    def _writable(self, name: str) -> Register:
        reg = self.register(name)
        if not reg.writable:
            raise RegisterError(f"register {name!r} is read-only")
        return reg

    def _send(self, packet: bytes, answered: bool = True) -> None:
        if answered:
            self._link.discard_input()  # a late answer from an earlier transaction is not ours (as the SDKs do)
        self._link.write(packet)
        self.stats.bytes_sent += len(packet)
        self.stats.transactions += 1

    def _retrying(
        self, what: str, ids: list[int], attempt: Callable[[list[int]], _T], partial: dict[int, bytes] | None = None
    ) -> _T:
        """Run attempt(pending_ids) up to 1 + retries times; flush input between attempts."""
        self._begin()
        try:
            return self._attempts(what, ids, attempt, partial)
        finally:
            self._end()

    def _attempts(
        self, what: str, ids: list[int], attempt: Callable[[list[int]], _T], partial: dict[int, bytes] | None
    ) -> _T:
        pending = list(ids)
        last: Exception | None = None
        attempts = 0
        for attempts in range(1, self.retries + 2):
            if attempts > 1:
                if self._abort.is_set():
                    raise TransactionAborted(self.port)
                self.stats.retries += 1
                self._link.drain()
            try:
                result = attempt(pending)
            except NoAnswer as exc:
                self.stats.timeouts += 1
                last = exc
            except Garbled as exc:
                self.stats.corrupt_packets += 1
                last = exc
            except ServoError:
                self._link.drain()  # answers of other servos may still be on their way
                self._new_alarms.clear()
                raise
            else:
                self._settle_alarms()
                return result
            if partial is not None:
                pending = [i for i in ids if i not in partial] or pending
        self._new_alarms.clear()
        if isinstance(last, Garbled):
            raise CorruptPacket(last.detail, last.servo_id, attempts, self.port) from None
        silent = last.servo_ids if isinstance(last, NoAnswer) and last.servo_ids else pending
        raise ServoTimeout(silent, what, attempts, self.port) from None

    def _check_status(self, status: StatusPacket, what: str) -> None:
        """Raise ServoError for instruction errors; note hardware alarms (settled after the transaction)."""
        if not status.error:
            return
        words, alarm = self.codec.decode_status_error(status.error)
        if not alarm:
            self.stats.servo_errors += 1
            raise ServoError(status.servo_id, words, False, status.error, what)
        self.stats.alarms += 1
        self._new_alarms.setdefault(status.servo_id, (words, status.error, what))

    def _settle_alarms(self) -> None:
        """After a complete transaction: decode new alarms (maybe one more read), latch, report, maybe raise."""
        if not self._new_alarms or self._settling:
            self._new_alarms.clear()
            return
        noted, self._new_alarms = self._new_alarms, {}
        self._settling = True
        try:
            first: ServoError | None = None
            for servo_id, (words, raw, what) in noted.items():
                if self._alarm_raw.get(servo_id) != raw or servo_id not in self.alarms:
                    words = self._describe_alarm(servo_id, words)
                    self.alarms[servo_id] = words
                    self._alarm_raw[servo_id] = raw
                    if self.on_alarm is not None:
                        self.on_alarm(servo_id, words)
                if first is None:
                    first = ServoError(servo_id, self.alarms[servo_id], True, raw, what)
        finally:
            self._settling = False
        if self.raise_on_alarm and first is not None:
            raise first

    def _describe_alarm(self, servo_id: int, words: list[str]) -> list[str]:
        """Words for a new alarm; protocols whose status byte only says "alert" read the error register."""
        if not self.status_alarm_is_summary:
            return words
        try:
            detail = self.decode_hardware_error(self.read_register(servo_id, "hardware_error"))
        except BusError:
            return words
        return detail or words

    def _deadline(self, expected_bytes: int) -> float:
        # Wire time of the answer (10 bits per byte) on top of the per-answer timeout.
        return time.monotonic() + self.timeout_s + expected_bytes * 10.0 / self.baudrate


__all__ = [
    "AlarmCallback",
    "BusError",
    "BusStats",
    "CENTER_COUNT",
    "COMMON_REGISTERS",
    "COUNTS_PER_TURN",
    "CorruptPacket",
    "PortError",
    "Register",
    "RegisterError",
    "ServoBus",
    "ServoError",
    "ServoTimeout",
    "StatusPacket",
    "TransactionAborted",
    "counts_to_radians",
    "radians_to_counts",
]
