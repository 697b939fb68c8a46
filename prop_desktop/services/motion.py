"""Small motions the services need around recording and driving (not recorded): go to a pose smoothly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

HOME = np.zeros(6)


def move_to(arm: Any, q: np.ndarray, *, rate_hz: float = 50.0, max_speed: float = 0.8,
            cancel: Callable[[], bool] | None = None, on_sample: Callable[[Any], None] | None = None) -> str | None:
    """Move smoothly to joint pose `q` (torque on); returns a fault message, or None when it arrived."""
    from prop_desktop.arm.recording import Recorder

    recorder = Recorder(arm, "click", targets=[np.asarray(q, dtype=np.float64)], rate_hz=rate_hz,
                        max_speed=max_speed, settle_s=0.2, cancel=cancel, on_sample=on_sample)
    fault = recorder.run().meta.get("fault")
    return None if fault is None else str(fault)
