"""Three people share one arm: record, train (one cancelled, one trained twice), switch while another trains,
drive and switch back; after every step each page is checked against a small model of what it should offer
(tests/ui/page_model.py), so a blocked button or a stale message is caught at the step that causes it."""

from __future__ import annotations

import pytest

from .journey import (
    choose,
    choose_quick_training,
    click,
    connect_simulated_arm,
    create_profile,
    go_to,
    record_click_demo,
    start_training,
    switch_profile,
)
from .page_model import World, assert_pages_agree

TASK = "point"


def _record(qtbot, window, world: World, person: str) -> None:
    go_to(qtbot, window, "Record")
    choose(qtbot, window.pages["Record"].task_combo, TASK)
    record_click_demo(qtbot, window, [(0.20, -0.12, 0.28)])
    world.recordings[person] = world.recordings.get(person, 0) + 1


def _switch(qtbot, window, world: World, person: str) -> None:
    switch_profile(qtbot, window, person)
    world.active = person
    go_to(qtbot, window, "Train")  # the page a person checks first after coming back


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_three_members_interleave_recording_training_and_driving(qtbot, window):
    world = World()
    page = window.pages["Train"]
    connect_simulated_arm(qtbot, window)
    world.connected = True
    assert_pages_agree(qtbot, window, world, "connecting")
    for person in ("Ana", "Bo"):
        create_profile(qtbot, window, person)
        world.active = person
        _record(qtbot, window, world, person)
        assert_pages_agree(qtbot, window, world, f"{person} recording")

    # Ana trains (the thorough setting: long enough to switch while it runs); Bo comes meanwhile.
    _switch(qtbot, window, world, "Ana")
    assert_pages_agree(qtbot, window, world, "switching to Ana")
    start_training(qtbot, window)
    world.training_for = "Ana"
    assert_pages_agree(qtbot, window, world, "Ana starting training")
    _switch(qtbot, window, world, "Bo")
    if page.result is None:  # still running: Bo is told to wait, and cannot cancel Ana's
        assert_pages_agree(qtbot, window, world, "Bo arriving while Ana trains", timeout=3000)
    qtbot.waitUntil(lambda: page.result is not None, timeout=180_000)
    assert page.result.ok, page.result.message
    world.training_for, world.trained = None, {"Ana"}
    assert_pages_agree(qtbot, window, world, "Ana's training finishing while Bo is at the computer")

    # Cy: a cancelled training changes nothing; the second one gives Cy a skill.
    create_profile(qtbot, window, "Cy")
    world.active = "Cy"
    _record(qtbot, window, world, "Cy")
    choose_quick_training(qtbot, window)
    start_training(qtbot, window)
    world.training_for = "Cy"
    assert_pages_agree(qtbot, window, world, "Cy starting training")
    click(qtbot, page.cancel_button)
    qtbot.waitUntil(lambda: page.result is not None, timeout=30_000)
    assert page.result.state.value == "cancelled", page.result.message
    world.training_for = None
    assert_pages_agree(qtbot, window, world, "Cy cancelling")
    start_training(qtbot, window)
    world.training_for = "Cy"
    qtbot.waitUntil(lambda: page.result is not None, timeout=180_000)
    assert page.result.ok, page.result.message
    world.training_for = None
    world.trained.add("Cy")
    assert_pages_agree(qtbot, window, world, "Cy's second training")

    # Cy drives Personalized; switching to Ana never carries Cy's mode over; Bo stays on Baseline.
    go_to(qtbot, window, "Drive")
    drive = window.pages["Drive"]
    choose(qtbot, drive.task_combo, TASK)
    click(qtbot, drive.personal_button)
    qtbot.waitUntil(lambda: not drive._pending and drive.personalized, timeout=20_000)
    assert_pages_agree(qtbot, window, world, "Cy choosing Personalized")
    _switch(qtbot, window, world, "Ana")
    assert not drive.personalized
    assert_pages_agree(qtbot, window, world, "switching back to Ana")
    _switch(qtbot, window, world, "Bo")
    go_to(qtbot, window, "Drive")
    click(qtbot, drive.personal_button)
    qtbot.waitUntil(lambda: not drive._pending, timeout=20_000)
    assert drive.mode_label.text().startswith("Staying on Baseline"), drive.mode_label.text()
    assert_pages_agree(qtbot, window, world, "Bo asking for Personalized without a skill")
