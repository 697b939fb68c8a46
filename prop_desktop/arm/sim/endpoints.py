"""Where the simulated bus is served: a real pseudo-terminal (POSIX, the default) or, where there are no ptys
(Windows), a local TCP socket that pyserial opens as `socket://127.0.0.1:PORT`.

An endpoint gives the simulator's thread file objects to wait on, reads what the client sent, writes the
servos' answers, and can vanish like a pulled USB cable.
"""

from __future__ import annotations

import os
import select
import socket
import struct

_BAUD_RATES = (9600, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 2000000, 3000000,
               4000000)


class PtyEndpoint:
    """A pseudo-terminal: the client opens `port` (e.g. /dev/pts/7) exactly like /dev/ttyUSB0."""

    def __init__(self) -> None:
        import termios
        import tty

        master, slave = os.openpty()
        # Raw on the line discipline so 0x0D/0x11/0x13/0xFF pass untouched and nothing is echoed.
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        self.master: int | None = master
        self.slave: int | None = slave  # kept open: the pty lives on between clients
        self.port = os.ttyname(slave)
        self._baud_constants = {getattr(termios, f"B{r}"): r for r in _BAUD_RATES if hasattr(termios, f"B{r}")}

    def waitables(self) -> list[int]:
        return [] if self.master is None else [self.master]

    def receive(self, ready: object) -> bytes | None:
        """Bytes the client sent (None: nothing after all). OSError when the pty is gone."""
        if self.master is None:
            raise OSError("closed")
        try:
            return os.read(self.master, 4096) or None
        except BlockingIOError:
            return None

    def write(self, data: bytes) -> bool:
        """False if the bytes were lost (nobody reads the line)."""
        if self.master is None:
            return False
        try:
            os.write(self.master, data)
        except BlockingIOError:
            return False
        except OSError:
            return False
        return True

    def pending_input(self) -> bool:
        import fcntl
        import termios

        if self.master is None:
            return False
        (waiting,) = struct.unpack("i", fcntl.ioctl(self.master, termios.FIONREAD, b"\0\0\0\0"))
        return int(waiting) > 0

    def line_baud(self) -> int | None:
        """The baud rate the client set on the port (pyserial sets it through termios)."""
        import termios

        if self.slave is None:
            return None
        try:
            return self._baud_constants.get(termios.tcgetattr(self.slave)[5])
        except termios.error:
            return None

    def close(self) -> None:
        for fd in (self.master, self.slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self.slave = None


class TcpEndpoint:
    """A local TCP socket for platforms without ptys: one client at a time; a new one replaces the old."""

    def __init__(self) -> None:
        self.listener: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.setblocking(False)
        self.conn: socket.socket | None = None
        self.port = f"socket://127.0.0.1:{self.listener.getsockname()[1]}"

    def waitables(self) -> list[socket.socket]:
        return [s for s in (self.listener, self.conn) if s is not None]

    def receive(self, ready: object) -> bytes | None:
        if self.listener is None:
            raise OSError("closed")
        if ready is self.listener:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return None
            if self.conn is not None:
                self.conn.close()
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn = conn
            return None
        if self.conn is None or ready is not self.conn:
            return None
        try:
            data = self.conn.recv(4096)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data:  # the client closed the port
            self.conn.close()
            self.conn = None
            return None
        return data

    def write(self, data: bytes) -> bool:
        if self.conn is None:
            return False
        try:
            self.conn.sendall(data)
        except OSError:
            return False
        return True

    def pending_input(self) -> bool:
        if self.conn is None:
            return False
        readable, _, _ = select.select([self.conn], [], [], 0)
        return bool(readable)

    def line_baud(self) -> int | None:
        return None  # a socket has no baud rate

    def close(self) -> None:
        for sock in (self.conn, self.listener):
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        self.conn = self.listener = None


def make_endpoint(transport: str) -> PtyEndpoint | TcpEndpoint:
    if transport == "pty":
        if not hasattr(os, "openpty"):
            raise ValueError("this system has no pseudo-terminals: use transport='tcp'")
        return PtyEndpoint()
    if transport == "tcp":
        return TcpEndpoint()
    raise ValueError(f"unknown transport {transport!r}: use 'pty' or 'tcp'")


def default_transport() -> str:
    return "pty" if hasattr(os, "openpty") else "tcp"
