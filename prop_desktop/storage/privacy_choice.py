"""Private by default: the rule every path that gives a profile its protection goes through (create, restore).

A profile is unlocked by something only its person has (a passphrase the strength estimator accepts), unless
that person explicitly chose "anyone at this computer may use my way" (shared). Never both, never neither.
"""

from __future__ import annotations

from ..keys.passphrase import check_new_passphrase
from .errors import SecretChoiceNeeded


def check_secret_choice(name: str, passphrase: str | None, shared: bool) -> None:
    """A profile is private by default: it needs a strong passphrase, or the explicit choice to share it."""
    if passphrase is not None and shared:
        raise SecretChoiceNeeded(f"{name!r}: choose either a passphrase or sharing with everyone at this "
                                 "computer, not both")
    if passphrase is None and not shared:
        raise SecretChoiceNeeded(
            f"{name!r} needs a passphrase (then only that person can use their way), or the explicit choice "
            "that anyone at this computer may use it: shared=True in Python, --shared on the command line, "
            "'Anyone at this computer may use my way' in the app")
    if passphrase is not None:
        check_new_passphrase(passphrase, [name])
