"""Exceptions of the PRoP engine: every bad input becomes a ValueError subclass that names the problem."""

from __future__ import annotations


class PropError(ValueError):
    """Base class of the engine's input errors (bad arrays, keys, layer names, adapter files)."""


class InputError(PropError):
    """A states/actions array is unusable: NaN/inf, wrong shape, empty, or the module cannot run on it."""


class KeyFormatError(PropError):
    """A key has the wrong length or values (expects 16 bytes, a 0/1 or bool array, or a ±1 array)."""


class WrapError(PropError):
    """The named layers cannot be wrapped (missing, not nn.Linear, or never called as a module)."""


class AdapterError(PropError):
    """An adapter file or blob is malformed, truncated, or has missing/corrupt weights."""


class AdapterMismatchError(AdapterError):
    """An adapter belongs to a different base model (hash, layer names or sizes differ)."""


class TrainingCancelled(Exception):  # noqa: N818 - reads naturally at the call site: `except TrainingCancelled`
    """Training was cancelled; the keyed module keeps its previous adapter untouched."""
