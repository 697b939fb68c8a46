"""The services' worker pattern (driving and training run on it): cancel, finish-before-announce, failures."""

from __future__ import annotations

import threading

from prop_desktop.services.background import BackgroundRun


def test_cancel_wakes_the_body_and_runs_the_hooks_once():
    started, hooked = threading.Event(), []

    def body(run: BackgroundRun) -> None:
        started.set()
        while not run.wait_cancelled(60.0):
            pass

    run = BackgroundRun(body, "test-cancel")
    run.on_cancel(lambda: hooked.append("stop the loop"))
    assert run.running and not run.cancelled  # a run counts as running from creation
    run.start()
    assert started.wait(10)
    assert not run.wait(0.01)  # still running: waiting times out
    run.cancel()
    run.cancel()  # idempotent
    assert run.wait(10) and not run.running and run.cancelled and run.is_cancelled()
    assert hooked == ["stop the loop"]
    late = []
    run.on_cancel(lambda: late.append(True))  # registered after the cancel: runs at once
    assert late == [True]


def test_listeners_of_the_result_already_see_it_finished():
    seen: list[bool] = []

    def body(run: BackgroundRun) -> None:
        run.finish()
        seen.append(run.running)  # what a "finished" signal's listener would read

    run = BackgroundRun(body, "test-finish").start()
    assert run.wait(10) and seen == [False]


def test_a_body_that_raises_still_finishes(caplog):
    def body(_run: BackgroundRun) -> None:
        raise RuntimeError("boom")

    run = BackgroundRun(body, "test-raise").start()
    assert run.wait(10) and not run.running
    assert "test-raise" in caplog.text and "boom" in caplog.text
