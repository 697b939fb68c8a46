"""A small model of what each page should offer in a given state, checked against the real widgets.

`mismatches(window, world)` lists every action that is enabled when it should not be (or the reverse) and
every message that contradicts the state: the journey tests call `assert_pages_agree` after each step, so a
stale message or a blocked button is found wherever in the journey it appears.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class World:
    """What the person has done so far (kept by the test, independent of the app's own state)."""

    connected: bool = False
    active: str | None = None
    recordings: dict[str, int] = field(default_factory=dict)  # person -> recordings
    trained: set[str] = field(default_factory=set)
    training_for: str | None = None


STALE = {
    "connect first": ("Connect an arm first",),
    "profile first": ("Create or pick a profile first",),
    "reset": ("press Reset", "Press Reset"),
}


def mismatches(window, world: World) -> list[str]:
    out: list[str] = []
    pages = window.pages

    def check(what: str, actual: bool, expected: bool) -> None:
        if actual != expected:
            out.append(f"{what}: {'enabled/shown' if actual else 'disabled/hidden'}, expected the opposite")

    def no_text(what: str, text: str, phrases: tuple[str, ...]) -> None:
        for phrase in phrases:
            if phrase in text:
                out.append(f"{what} says {phrase!r}: {text!r}")

    active = world.active
    # Header
    if active is not None and window.profile_combo.currentText() != active:
        out.append(f"header shows {window.profile_combo.currentText()!r}, expected {active!r}")
    # Record
    record = pages["Record"]
    if active is not None:
        expected_rows = world.recordings.get(active, 0)
        if record.episode_table.rowCount() != expected_rows:
            out.append(f"Record lists {record.episode_table.rowCount()} recordings, {active} has {expected_rows}")
        no_text("Record status", record.status_label.text(), STALE["profile first"])
    if world.connected:
        no_text("Record status", record.status_label.text(), STALE["connect first"])
    # Train
    train = pages["Train"]
    n_checked = len(train.checked_episode_ids())
    own_job = world.training_for is not None and world.training_for == active
    check("Train › Start", train.start_button.isEnabled(),
          active is not None and n_checked > 0 and world.training_for is None)
    check("Train › Cancel", train.cancel_button.isEnabled(), own_job)
    if active is not None and world.training_for is not None and not own_job:
        if world.training_for not in train.selection_label.text():
            out.append(f"Train does not say {world.training_for} is training: {train.selection_label.text()!r}")
    if active is not None and world.training_for is None:
        check("Train › α slider", train.alpha_slider.isEnabled(), active in world.trained)
        labels = " ".join(train.privacy_plots.labels)
        if active in labels.replace("other profile: ", ""):
            out.append(f"{active}'s privacy chart names {active} as another member: {labels!r}")
    # Drive
    drive = pages["Drive"]
    check("Drive › Start", drive.start_button.isEnabled(), world.connected and not drive.running)
    if world.connected:
        no_text("Drive status", drive.drive_status.text(), STALE["connect first"] + STALE["reset"])
    if drive.personalized and active not in world.trained:
        out.append(f"Drive is Personalized for {active}, who has no trained skill")
    # Connect
    connect = pages["Connect"]
    if world.connected and world.recordings and "create your profile" in connect.next_hint.text():
        out.append(f"Connect still says {connect.next_hint.text()!r} with profiles made")
    return out


def assert_pages_agree(qtbot, window, world: World, step: str, timeout: int = 20_000) -> None:
    """Wait (for the state, off-thread loads included) until every page agrees with `world`; else fail
    naming each disagreement and the step after which it appeared."""
    last: list[str] = []

    def agree() -> bool:
        nonlocal last
        last = mismatches(window, world)
        return not last

    try:
        qtbot.waitUntil(agree, timeout=timeout)
    except Exception:  # noqa: BLE001 - re-raised with the reasons
        raise AssertionError(f"after {step}: " + "; ".join(last)) from None
