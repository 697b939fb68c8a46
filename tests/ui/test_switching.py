"""Switching between household members around training: nothing blocks, nothing stale, nothing lost
(issue 13, items 1 and 2). Driven through the widgets on the simulated arm, as a person would."""

from __future__ import annotations

import pytest

from .journey import (
    choose,
    choose_quick_training,
    click_dialog_button,
    connect_simulated_arm,
    create_profile,
    go_to,
    record_click_demo,
    settle,
    slide_to,
    start_training,
    switch_profile,
    train,
    visible_top_level,
    wait_for_dialog,
)

TASK = "point"
DEMO = [(0.20, -0.12, 0.28)]


def _record(qtbot, window) -> None:
    go_to(qtbot, window, "Record")
    choose(qtbot, window.pages["Record"].task_combo, TASK)
    record_click_demo(qtbot, window, DEMO)


def _train_page_offers(qtbot, window, start: bool, cancel: bool) -> None:
    page = window.pages["Train"]
    qtbot.waitUntil(lambda: page.start_button.isEnabled() == start and page.cancel_button.isEnabled() == cancel,
                    timeout=20_000)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_switching_member_after_training_leaves_training_free_and_keeps_the_report(qtbot, window):
    connect_simulated_arm(qtbot, window)
    choose_quick_training(qtbot, window)
    create_profile(qtbot, window, "Ana")
    _record(qtbot, window)
    result = train(qtbot, window)
    assert result.ok, result.message
    page = window.pages["Train"]
    ana_verdict = page.verdict.text()
    assert page.alpha_slider.isEnabled() and ana_verdict

    # Bo arrives: his own (empty) report, and training is his to start (it was blocked until a restart).
    create_profile(qtbot, window, "Bo")
    _record(qtbot, window)
    go_to(qtbot, window, "Train")
    settle(qtbot, window)
    qtbot.waitUntil(lambda: page.episode_list.count() == 1, timeout=10_000)
    _train_page_offers(qtbot, window, start=True, cancel=False)
    assert not page.alpha_slider.isEnabled(), "Ana's α slider must not be offered to Bo"
    assert page.privacy_plots.labels == [] or "Ana" not in " ".join(page.privacy_plots.labels)
    assert page.verdict.text() != ana_verdict
    # Bo starts and cancels: Cancel ends, it never shows "Cancelling…" forever.
    start_training(qtbot, window)
    _train_page_offers(qtbot, window, start=False, cancel=True)
    qtbot.waitUntil(lambda: page.progress.value() > 0 or page.result is not None, timeout=60_000)
    page.cancel_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=20_000)
    assert page.result.state.value == "cancelled", page.result.message
    _train_page_offers(qtbot, window, start=True, cancel=False)

    # Back to Ana: her report and her α slider are there again, and the slider still works.
    switch_profile(qtbot, window, "Ana")
    go_to(qtbot, window, "Train")
    qtbot.waitUntil(lambda: page.alpha_slider.isEnabled(), timeout=20_000)
    assert page.verdict.text() == ana_verdict
    qtbot.waitUntil(lambda: page.alpha_metrics.text().startswith("At "), timeout=10_000)
    slide_to(qtbot, page.alpha_slider, 40)
    qtbot.waitUntil(lambda: page.alpha_metrics.text().startswith("At 0.40"), timeout=10_000)
    _train_page_offers(qtbot, window, start=True, cancel=False)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_training_keeps_running_for_its_owner_across_a_switch(qtbot, window):
    connect_simulated_arm(qtbot, window)
    choose_quick_training(qtbot, window)
    create_profile(qtbot, window, "Ana")
    _record(qtbot, window)
    create_profile(qtbot, window, "Bo")
    _record(qtbot, window)
    switch_profile(qtbot, window, "Ana")
    start_training(qtbot, window)
    page = window.pages["Train"]
    # Bo comes while Ana's training runs: he is told why he must wait, and cannot cancel Ana's.
    switch_profile(qtbot, window, "Bo")
    go_to(qtbot, window, "Train")
    qtbot.waitUntil(lambda: "Ana is training" in page.selection_label.text() or page.result is not None,
                    timeout=10_000)
    if page.result is None:
        assert not page.start_button.isEnabled() and not page.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: page.result is not None, timeout=120_000)
    assert page.result.ok, page.result.message
    _train_page_offers(qtbot, window, start=True, cancel=False)
    assert not page.alpha_slider.isEnabled(), "Ana's result must not show on Bo's page"
    # Ana's skill was saved while Bo was at the computer: she finds it when she comes back.
    switch_profile(qtbot, window, "Ana")
    go_to(qtbot, window, "Train")
    qtbot.waitUntil(lambda: page.alpha_slider.isEnabled(), timeout=20_000)
    assert page.verdict.text().strip()
    assert window.active_profile.has_adapter


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_closing_the_window_while_training_asks_first(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Ana")
    _record(qtbot, window)
    start_training(qtbot, window)
    page = window.pages["Train"]
    window.close()
    box = wait_for_dialog(qtbot, "closeWhileMovingBox")
    assert "training Ana's personal skill" in box.text(), box.text()
    click_dialog_button(qtbot, box, "Keep training")
    qtbot.waitUntil(lambda: visible_top_level("closeWhileMovingBox") is None, timeout=2000)
    assert window.isVisible() and page.training
    window.close()
    box = wait_for_dialog(qtbot, "closeWhileMovingBox")
    click_dialog_button(qtbot, box, "Stop training and close")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert not window.app.profiles.info(window.active_profile.id).has_adapter  # nothing half-saved
