"""The base policy, loaded once (lazily: importing torch takes a while) and shared by training and driving."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from prop_desktop.services.errors import ServiceError


class PolicyProvider:
    def __init__(self, path: Path | str | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._model: Any = None
        self._hash: str | None = None

    def model(self) -> Any:
        """The base policy (eval mode). ServiceError with a fix when the shipped files are missing or broken."""
        with self._lock:
            if self._model is None:
                from prop_desktop.policy.base import BasePolicyError, base_policy_hash, load_base_policy

                try:
                    self._model = load_base_policy(self._path)
                    self._hash = base_policy_hash(self._path)
                except BasePolicyError as exc:
                    raise ServiceError(f"The robot's base policy cannot be loaded: {exc}.",
                                       "Reinstall the app.") from exc
            return self._model

    def hash(self) -> str:
        """SHA-256 of the base policy's weights: adapters are stored under it."""
        self.model()
        assert self._hash is not None
        return self._hash
