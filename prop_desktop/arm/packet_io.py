"""Serial framing helpers shared by both protocols: a byte link with deadlines, and byte sources for parsers.

On Linux the link reads the port's file descriptor directly with poll() (no busy-wait, and no termios
reconfiguration per call as pyserial's per-read timeout would do); elsewhere it falls back to pyserial reads.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import sys
import threading
import time
from typing import Protocol

import serial

from prop_desktop.arm.errors import PortError, TransactionAborted

WRITE_TIMEOUT_S = 1.0

# What a vanished port raises: pyserial's and the OS's errors, and on POSIX termios.error (e.g. tcflush → EIO).
IO_ERRORS: tuple[type[BaseException], ...] = (OSError, serial.SerialException)
if os.name == "posix":
    import termios

    IO_ERRORS += (termios.error,)


class NoAnswer(Exception):
    """Internal: no answer (nothing at all) from these servos within the deadline."""

    def __init__(self, servo_ids: list[int]) -> None:
        super().__init__(f"no answer from {servo_ids}")
        self.servo_ids = list(servo_ids)


class Garbled(Exception):
    """Internal: bytes arrived but did not form a valid answer (or it was truncated)."""

    def __init__(self, detail: str, servo_id: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.servo_id = servo_id


class ByteSource(Protocol):
    def read_exact(self, n: int, deadline: float) -> bytes:
        """Up to n bytes; fewer only when the deadline passed (never blocks past it)."""
        ...


class BytesSource:
    """A ByteSource over fixed bytes (for tests and fuzzing): returns what is left, never waits."""

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._pos = 0

    def read_exact(self, n: int, deadline: float) -> bytes:
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos


_UNPLUGGED = (
    "the serial port {port} went away ({why}). The USB cable was unplugged, the adapter lost power, or the "
    "simulated arm was stopped. Plug it back in (or restart the simulator) and reconnect."
)


def _open_error_message(port: str, exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOENT or "No such file" in text:
        return f"serial port {port} does not exist. Is the arm's USB adapter plugged in? Run `prop-desktop ports`."
    if code == errno.EACCES or "Permission denied" in text:
        return (
            f"permission denied opening {port}. On Linux add yourself to the 'dialout' group "
            "(sudo usermod -aG dialout $USER, then log out and in) or install the udev rule; "
            "run `prop-desktop ports` for details."
        )
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text or "busy" in text.lower():
        return (
            f"serial port {port} is busy: another program holds it (another prop-desktop, LeRobot, a serial "
            "monitor, or brltty/ModemManager probing it). Close that program and retry."
        )
    return f"cannot open serial port {port}: {text}. Check the cable and run `prop-desktop ports`."


class SerialLink:
    """One open serial port: write packets, read bytes against a deadline, drain stale input."""

    def __init__(self, port: str, baudrate: int) -> None:
        self.port = port
        self.baudrate = baudrate
        self._serial: serial.Serial | None = None
        self._sock: socket.socket | None = None  # socket://host:port (the simulator where there are no ptys)
        self._fd: int | None = None
        self._buf = bytearray()
        self._poll: select.poll | None = None
        self.abort_event: threading.Event | None = None  # set by another thread: give up waiting at once
        self._wake_r: int | None = None
        self._wake_w: int | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None or self._sock is not None

    def _open_socket(self) -> None:
        host, _, port = self.port[len("socket://") :].rpartition(":")
        try:
            sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=2.0)
        except (OSError, ValueError) as exc:
            raise PortError(
                f"cannot connect to {self.port}: {exc}. Is the simulated arm still running?", self.port
            ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(WRITE_TIMEOUT_S)
        self._sock = sock
        self._buf.clear()

    def open(self) -> None:
        if self.is_open:
            return
        if self.port.startswith("socket://"):
            self._open_socket()
            return
        try:
            ser = serial.Serial(
                self.port, self.baudrate, timeout=0, write_timeout=1.0, exclusive=True if os.name == "posix" else None
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortError(_open_error_message(self.port, exc), self.port) from None
        self._serial = ser
        self._buf.clear()
        try:
            ser.reset_input_buffer()  # bytes left over from a previous program are not answers to us
        except IO_ERRORS:
            pass
        fd = getattr(ser, "fd", None)
        # poll() on tty devices is reliable on Linux only (macOS reports POLLNVAL): elsewhere pyserial reads.
        if sys.platform.startswith("linux") and isinstance(fd, int):
            self._fd = fd
            self._poll = select.poll()
            self._poll.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
            self._wake_r, self._wake_w = os.pipe()  # wake() ends a wait in poll() at once
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._poll.register(self._wake_r, select.POLLIN)

    def wake(self) -> None:
        """From any thread: interrupt a wait for input (used with abort_event)."""
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass  # the pipe is full (a wake is already pending) or closed

    def _check_abort(self) -> None:
        if self.abort_event is not None and self.abort_event.is_set():
            raise TransactionAborted(self.port)

    def _slice(self, timeout_s: float) -> float:
        # Without a wake pipe, wait in short slices so an abort is noticed quickly.
        return min(timeout_s, 0.002) if self.abort_event is not None else timeout_s

    def close(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            if fd is not None:
                os.close(fd)
        self._wake_r = self._wake_w = None
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        ser, self._serial, self._fd, self._poll = self._serial, None, None, None
        if ser is not None:
            try:
                ser.close()
            except IO_ERRORS:
                pass  # the device may already be gone; closing is best effort

    def _require_open(self) -> serial.Serial:
        if self._serial is None:
            raise PortError(f"serial port {self.port} is not open: open the bus first", self.port)
        return self._serial

    def _gone(self, why: object) -> PortError:
        self.close()
        return PortError(_UNPLUGGED.format(port=self.port, why=why), self.port)

    def write(self, data: bytes) -> None:
        if self._sock is not None:
            try:
                self._sock.sendall(data)
            except OSError as exc:
                raise self._gone(exc) from None
            return
        ser = self._require_open()
        try:
            if self._fd is not None:
                self._write_fd(self._fd, memoryview(data))
            else:
                ser.write(data)
        except IO_ERRORS as exc:
            raise self._gone(exc) from None

    def _write_fd(self, fd: int, view: memoryview) -> None:
        # pyserial opens the port non-blocking: when the driver's buffer is full, wait until it drains.
        deadline = time.monotonic() + WRITE_TIMEOUT_S
        writable = select.poll()
        writable.register(fd, select.POLLOUT)
        while view:
            try:
                view = view[os.write(fd, view) :]
                continue
            except BlockingIOError:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PortError(
                    f"could not send to {self.port} for {WRITE_TIMEOUT_S:g} s: the adapter is not taking data. "
                    "Unplug and replug it; if it is the simulator, it may have stopped.",
                    self.port,
                )
            self._check_abort()
            writable.poll(self._slice(remaining) * 1000.0)

    def _fill(self, timeout_s: float) -> bool:
        """Wait up to timeout_s for input and append it to the buffer; True if bytes arrived."""
        self._check_abort()
        if self._sock is not None:
            return self._fill_socket(self._sock, self._slice(timeout_s))
        ser = self._require_open()
        try:
            if self._fd is not None and self._poll is not None:
                events = self._poll.poll(max(0.0, timeout_s) * 1000.0)
                if not events:
                    return False
                if any(fd == self._wake_r for fd, _ in events):
                    self._drain_wake()
                    self._check_abort()
                    if not any(fd == self._fd for fd, _ in events):
                        return False
                try:
                    chunk = os.read(self._fd, 4096)
                except BlockingIOError:
                    return False
                if not chunk:
                    raise self._gone("end of file")
            else:
                ser.timeout = max(0.0, self._slice(timeout_s))
                waiting = max(1, ser.in_waiting)
                chunk = ser.read(waiting)
                if not chunk:
                    return False
        except PortError:
            raise
        except IO_ERRORS as exc:
            raise self._gone(exc) from None
        self._buf += chunk
        return True

    def _drain_wake(self) -> None:
        try:
            while self._wake_r is not None and os.read(self._wake_r, 64):
                pass
        except BlockingIOError:
            pass

    def _fill_socket(self, sock: socket.socket, timeout_s: float) -> bool:
        try:
            readable, _, _ = select.select([sock], [], [], max(0.0, timeout_s))
            if not readable:
                return False
            chunk = sock.recv(4096)
        except OSError as exc:
            raise self._gone(exc) from None
        if not chunk:
            raise self._gone("the other end closed the connection")
        self._buf += chunk
        return True

    def read_exact(self, n: int, deadline: float) -> bytes:
        """Up to n bytes; fewer only if the deadline passed first."""
        while len(self._buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # One last look without waiting: if this thread was not scheduled until after the deadline, an
                # answer that arrived in time is still an answer, not a timeout.
                if not self._fill(0.0):
                    break
                continue
            self._fill(remaining)
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        return chunk

    def discard_input(self) -> None:
        """Drop whatever input is buffered now, without waiting."""
        self._buf.clear()
        if self._sock is not None:
            while self._fill_socket(self._sock, 0.0):
                self._buf.clear()
            return
        ser = self._require_open()
        try:
            ser.reset_input_buffer()
        except IO_ERRORS as exc:
            raise self._gone(exc) from None

    def drain(self, quiet_s: float = 0.002, max_s: float = 0.05) -> None:
        """Discard buffered and in-flight input: read until the line has been quiet for quiet_s (bounded)."""
        self._buf.clear()
        end = time.monotonic() + max_s
        while time.monotonic() < end and self._fill(quiet_s):
            self._buf.clear()
        self._buf.clear()
