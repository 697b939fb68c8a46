"""Signals: listeners are called, disconnect works, a failing listener does not break the emitter."""

from __future__ import annotations

import threading

from prop_desktop.services.errors import NotConnectedError, ServiceError
from prop_desktop.services.events import Signal


def test_listeners_receive_values_and_can_disconnect():
    sig: Signal[int] = Signal("test")
    got: list[int] = []
    disconnect = sig.connect(got.append)
    sig.emit(1)
    disconnect()
    sig.emit(2)
    assert got == [1]


def test_failing_listener_is_skipped_not_propagated():
    sig: Signal[int] = Signal("test")
    got: list[int] = []

    def broken(_: int) -> None:
        raise RuntimeError("plot bug")

    sig.connect(broken)
    sig.connect(got.append)
    sig.emit(7)
    assert got == [7]


def test_emit_from_worker_thread_reaches_listener():
    sig: Signal[str] = Signal("test")
    got: list[tuple[str, str]] = []
    sig.connect(lambda v: got.append((v, threading.current_thread().name)))
    t = threading.Thread(target=sig.emit, args=("hi",), name="worker")
    t.start()
    t.join()
    assert got == [("hi", "worker")]


def test_errors_carry_message_and_fix():
    err = NotConnectedError()
    assert isinstance(err, ServiceError)
    assert "No arm is connected." in str(err) and "Connect page" in str(err)
