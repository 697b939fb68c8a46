"""The training worker process: `python -m prop_desktop.services.training_worker`.

Reads one request frame on stdin (episodes, key, budget), runs training_compute.compute, and writes progress
frames and one final frame ("done", "cancelled" or "error") on stdout. The parent cancels by terminating it
(nothing here writes anything anywhere, so stopping at any moment is harmless).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prop_desktop.services.models import TrainingState


def main() -> int:
    out = os.fdopen(os.dup(1), "wb")
    sys.stdout = sys.stderr  # stray prints from libraries must not corrupt the frame stream
    from prop_desktop.services.training_wire import (
        alpha_to_json,
        pack_arrays,
        read_frame,
        report_to_json,
        unpack_arrays,
        write_frame,
    )

    header, body = read_frame(sys.stdin.buffer)
    arrays = unpack_arrays(body)
    init_adapter = arrays.pop("init_adapter", None)  # "Update my skill": the current adapter, through the pipe
    episodes = []
    for i, ep in enumerate(header["episodes"]):
        prefix = f"{i}."
        episodes.append((ep["id"], {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)},
                         ep["meta"]))
    from prop_desktop.services.training_compute import ComputeCancelled, TrainRequest, compute

    request = TrainRequest(
        episodes=episodes,
        key=bytes.fromhex(header["key"]),
        policy_dir=header.get("policy_dir"),
        max_steps=int(header["max_steps"]),
        max_seconds=header.get("max_seconds"),
        fine_tune_trunk=bool(header.get("fine_tune_trunk", False)),
        other_keys=[(name, bytes.fromhex(k)) for name, k in header.get("other_keys", [])],
        init_adapter=None if init_adapter is None else init_adapter.tobytes(),
    )

    def progress(state: TrainingState, step: int, total: int, losses: dict[str, float], message: str) -> None:
        write_frame(out, {"type": "progress", "state": state.value, "step": step, "total": total,
                          "losses": losses, "message": message})

    from prop_desktop.prop import PropError
    from prop_desktop.services.errors import ServiceError

    try:
        outcome = compute(request, progress, lambda: False)
    except ComputeCancelled:
        write_frame(out, {"type": "cancelled"})
        return 0
    except ServiceError as exc:
        write_frame(out, {"type": "error", "kind": "service", "message": exc.message, "fix": exc.fix})
        return 0
    except PropError as exc:
        write_frame(out, {"type": "error", "kind": "prop", "message": str(exc), "fix": None})
        return 0
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a plain failure
        write_frame(out, {"type": "error", "kind": "other", "message": f"{type(exc).__name__}: {exc}", "fix": None})
        return 1
    import numpy as np

    body_arrays = {"adapter": np.frombuffer(outcome.adapter, dtype=np.uint8)}
    write_frame(
        out,
        {
            "type": "done",
            "alpha": outcome.alpha,
            "at_alpha": alpha_to_json(outcome.at_alpha),
            "report": report_to_json(outcome.report),
            "steps": outcome.steps,
            "train_seconds": outcome.train_seconds,
            "episode_ids": outcome.episode_ids,
            "skipped": outcome.skipped,
            "alpha_curve": [alpha_to_json(m) for m in outcome.alpha_curve],
            "error_before": outcome.error_before,
            "error_after": outcome.error_after,
            "corrections": outcome.corrections,
            "kept_previous": outcome.kept_previous,
        },
        pack_arrays(body_arrays),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
