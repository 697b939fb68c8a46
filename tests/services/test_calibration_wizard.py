"""The calibration wizard driver, on the simulated arm moved "by hand"."""

from __future__ import annotations

import pytest

from prop_desktop.services import App
from prop_desktop.services.errors import BusyError, CalibrationError
from prop_desktop.services.models import ConnectionStatus

from ..waiting import wait_until

pytestmark = pytest.mark.timeout(60)


def _sweep(sim, joints, progress) -> None:
    """Move each joint to both ends and back by hand, each time until the wizard's sampler has taken a sample
    there (it reports every sample; the second report after the move is surely of a sample taken after it)."""
    for j in joints:
        lo, hi = j.default_range
        for value in (lo * 0.9, hi * 0.9, 0.0):
            sim.move_by_hand(j.name, value)
            seen = len(progress)
            assert wait_until(lambda seen=seen: len(progress) >= seen + 2), "the wizard stopped sampling"


def test_wizard_walks_middle_pose_sweep_done(app: App):
    from prop_desktop.arm.models import SO101

    app.arm.connect("sim")
    app.profiles.create("Ana", shared=True)
    sim = app.arm.simulator()
    wizard = app.arm.calibration_wizard()
    progress = []
    wizard.progress.connect(progress.append)
    assert wizard.start().title == "Middle pose"
    assert app.arm.state.busy_with == "calibrating"
    with pytest.raises(BusyError):
        app.record.start_hand_episode("pick")  # no recording while calibrating
    assert wizard.advance().title == "Range sweep"
    _sweep(sim, SO101.joints[:3], progress)
    with pytest.raises(CalibrationError, match="not moved"):
        wizard.advance()  # three joints still unswept: the wizard says which and keeps sampling
    _sweep(sim, SO101.joints[3:], progress)
    assert wait_until(lambda: progress[-1].message.startswith("Every joint swept")), progress[-1].message
    assert wizard.advance().title == "Done"
    assert app.arm.state.status is ConnectionStatus.CONNECTED and app.arm.state.busy_with is None
    assert app.arm.arm().is_calibrated


def test_cancel_frees_the_arm(app: App):
    app.arm.connect("sim")
    wizard = app.arm.calibration_wizard()
    wizard.start()
    wizard.cancel()
    assert app.arm.state.busy_with is None
    assert app.arm.claim("driving") is not None
