"""A new passphrase in the dialogs: the strength estimator's verdict as it is typed, and why one is refused.

The rule itself lives in keys/passphrase.py (zxcvbn, score >= 3): the dialogs show the same verdict the
storage layer enforces, so a passphrase the line calls strong is never refused afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QLineEdit

from prop_desktop.keys.passphrase import passphrase_strength


class StrengthLine(QLabel):
    """The strength estimator's verdict on a new passphrase, updated as it is typed."""

    def __init__(self, field: QLineEdit, user_inputs: Callable[[], list[str]]) -> None:
        super().__init__()
        self.setObjectName("passphraseStrength")
        self.setWordWrap(True)
        self._field = field
        self._user_inputs = user_inputs
        field.textChanged.connect(lambda _t: self.update_verdict())
        self.update_verdict()

    def update_verdict(self) -> None:
        text = self._field.text()
        if not text:
            self.setText("Strength: type a passphrase (a few unrelated words and a number work well)")
            self.setStyleSheet("")
            return
        verdict = passphrase_strength(text, self._user_inputs())
        word = STRENGTH_WORDS[verdict.score]
        advice = "" if verdict.acceptable else f" — {verdict.advice()}"
        self.setText(f"Strength: {word} ({verdict.score} of 4){advice}")
        self.setStyleSheet("color: #15803d;" if verdict.acceptable else "color: #b45309;")


STRENGTH_WORDS = ("very weak", "weak", "fair", "strong", "very strong")


def passphrase_problem(passphrase: str, repeated: str, user_inputs: list[str]) -> str | None:
    """Why a new passphrase cannot be used (the estimator's words), or None."""
    if not passphrase:
        return "Type a passphrase."
    verdict = passphrase_strength(passphrase, user_inputs)
    if not verdict.acceptable:
        return f"This passphrase is too easy to guess: {verdict.advice()}"
    if passphrase != repeated:
        return "The two passphrases differ. Type the same one twice."
    return None
