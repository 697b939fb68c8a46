"""Errors the services raise: each carries a plain-language message and, where there is one, what to do.

The UI shows `str(error)` (message + fix) in a dialog or banner; it never needs a traceback.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a user can meet through the services."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    @property
    def user_message(self) -> str:
        """Message and fix together, ready for a dialog."""
        return f"{self.message} {self.fix}" if self.fix else self.message

    def __str__(self) -> str:
        return self.user_message


class InvalidInputError(ServiceError):
    """A value the user typed or picked is not acceptable (empty name, unknown task, …)."""


class BusyError(ServiceError):
    """Another long action (recording, driving, training) is running and must finish or be stopped first."""


# --- arm ---------------------------------------------------------------------------------------------------
class NotConnectedError(ServiceError):
    def __init__(
        self, message: str = "No arm is connected.", fix: str | None = "Connect an arm on the Connect page."
    ) -> None:
        super().__init__(message, fix)


class ArmConnectError(ServiceError):
    """Connecting failed (port busy, permission denied, servos missing …): message and fix from the diagnosis."""


class ArmFaultError(ServiceError):
    """The arm faulted while in use (unplugged, overheating, a servo stopped answering)."""


class CalibrationError(ServiceError):
    """The calibration wizard could not complete a step."""


class UnreachableTargetError(ServiceError):
    """A clicked target lies outside what the arm can reach."""


# --- profiles and keys --------------------------------------------------------------------------------------
class ProfileError(ServiceError):
    """Creating, renaming, switching or deleting a profile failed."""


class NoActiveProfileError(ProfileError):
    def __init__(self) -> None:
        super().__init__("No household member is selected.", "Create or pick a profile on the Profiles page.")


class KeyringUnavailableError(ServiceError):
    """The OS keyring is missing, insecure or locked: keys cannot be stored or read."""


class KeyUnavailableError(ServiceError):
    """The active profile's key is not in the keyring (lost, or another machine)."""


class PassphraseRequiredError(ServiceError):
    """The key is protected by a passphrase and none was given (the user cancelled the prompt)."""


class WrongPassphraseError(ServiceError):
    """The passphrase given does not unlock the key."""


class UnlockBackoffError(ServiceError):
    """Wrong passphrases were given for this profile just now: the next try must wait (the fix says how long)."""


class RecoveryCodeError(ServiceError):
    """A recovery code is malformed, has a typo, or belongs to another profile."""


# --- data, training, driving --------------------------------------------------------------------------------
class EpisodeError(ServiceError):
    """An episode cannot be read (tampered, wrong profile) or does not exist."""


class NotEnoughDataError(ServiceError):
    """Training was asked for with no usable demonstrations."""


class TrainingError(ServiceError):
    """Training failed for a reason the user can act on."""


class TrainingCancelledError(ServiceError):
    def __init__(self) -> None:
        super().__init__("Training was cancelled.", "Your previous personalization is unchanged.")


class NoAdapterError(ServiceError):
    """Personalized driving was asked for, but this profile has not trained yet."""
