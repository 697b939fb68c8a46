"""The base policy, loaded once (lazily: importing torch takes a while) and shared by training and driving."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from prop_desktop.services.errors import ServiceError

WEIGHTS_NAME = "base_policy.safetensors"  # prop_desktop.policy.base.WEIGHTS_NAME (checked by a test)


class PolicyProvider:
    def __init__(self, path: Path | str | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._model: Any = None
        self._hash: str | None = None

    @property
    def path(self) -> Path | None:
        """The base policy folder given at start (None: the shipped one)."""
        return None if self._path is None else Path(self._path)

    def model(self) -> Any:
        """The base policy (eval mode). ServiceError with a fix when the shipped files are missing or broken."""
        with self._lock:
            if self._model is None:
                import torch

                from prop_desktop.policy.base import BasePolicyError, load_base_policy

                # The app process runs only small tensors (one policy step, the α slider): one intra-op thread.
                # Two OpenMP threads on a busy 2-core machine made each op wait for a descheduled peer
                # (measured 5 ms -> 58 ms for a 2300-row forward pass), and the GUI needs the other core.
                torch.set_num_threads(1)
                try:
                    self._model = load_base_policy(self._path)
                except BasePolicyError as exc:
                    raise ServiceError(f"The robot's base policy cannot be loaded: {exc}.",
                                       "Reinstall the app.") from exc
            return self._model

    def hash(self) -> str:
        """SHA-256 of the base policy's weights: adapters are stored under it. Needs no torch."""
        with self._lock:
            if self._hash is None:
                # Hashed here rather than through prop_desktop.policy.base, which imports torch at module level:
                # importing torch holds the GIL for seconds, and this runs while the GUI is live.
                weights = self.weights_path()
                try:
                    self._hash = hashlib.sha256(weights.read_bytes()).hexdigest()
                except OSError as exc:
                    raise ServiceError(f"The robot's base policy cannot be read ({weights}: {exc.strerror}).",
                                       "Reinstall the app.") from exc
            return self._hash

    def weights_path(self) -> Path:
        """The base policy's weights file (same rule as prop_desktop.policy.base: a folder, or either file)."""
        from prop_desktop.paths import resources_dir

        p = resources_dir() if self._path is None else Path(self._path)
        if p.is_dir() or p.suffix == "":
            return p / WEIGHTS_NAME
        return p.with_suffix(".safetensors")
