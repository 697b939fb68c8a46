"""Measure the headless journey: `prop-desktop bench journey [--demos 3] [--json FILE]`.

Records N point-and-click demonstrations on the simulated arm (a private temporary data folder and an
in-memory keyring: nothing touches the user's keyring or data), trains, and drives Personalized and Baseline.
While training, a ticker thread in this (the app's) process measures how long it waits for the GIL: what a
GUI event loop would feel. Prints a table; --json writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from prop_desktop.keys.ephemeral import EphemeralKeyring


def _user_target(scene: Any) -> tuple[float, float, float, float]:
    w = scene.base_waypoints[-1]
    d = np.array([w.x, w.y]) / np.hypot(w.x, w.y) * 0.20
    return (float(d[0]), float(d[1]), 0.30, 0.3)


def measure(demos: int = 3, policy_dir: str | None = None, max_steps: int = 1500, max_seconds: float = 45.0
        ) -> dict[str, Any]:
    from prop_desktop.policy.kinematics import tip_position
    from prop_desktop.services import App

    root = Path(tempfile.mkdtemp(prefix="prop-journey-"))
    out: dict[str, Any] = {"demos": demos}
    app = App(data_dir=root, keyring_backend=EphemeralKeyring(), policy_dir=policy_dir)
    try:
        t0 = time.perf_counter()
        app.arm.connect("sim")
        out["connect_s"] = time.perf_counter() - t0
        app.profiles.create("Bench", shared=True)
        rates = []
        ys = np.linspace(-0.2, 0.2, demos) if demos > 1 else np.array([0.0])
        for y in ys:
            scene = app.record.set_scene("point", (0.45, float(y)))
            app.record.start_click_episode("point", [_user_target(scene)])
            recorded = app.record.wait(60)
            if recorded is None or recorded.episode is None:
                raise RuntimeError(f"recording failed: {recorded}")
            rates.append(recorded.episode.rate_hz)
        out["record_hz_min"] = float(min(rates))
        stalls: list[float] = []
        t0 = time.perf_counter()
        job = app.training.start(max_steps=max_steps, max_seconds=max_seconds)

        def ticker() -> None:
            last = time.perf_counter()
            while job.running:
                time.sleep(0.005)
                now = time.perf_counter()
                stalls.append(now - last - 0.005)
                last = now

        probe = threading.Thread(target=ticker)
        probe.start()
        result = job.wait(600)
        probe.join()
        out["start_to_report_s"] = time.perf_counter() - t0
        if result is None or not result.ok or result.report is None:
            raise RuntimeError(f"training failed: {result}")
        out["train_s"] = result.train_seconds
        out["gil_stall_max_ms"] = float(max(stalls) * 1e3)
        out["gil_stall_p99_ms"] = float(np.percentile(stalls, 99) * 1e3)
        out["alpha"] = result.alpha
        out["right_key_score"] = result.report.right_key.score_mean
        out["wrong_key_score_max"] = max([result.report.random_keys.score_max,
                                          *(k.score_max for k in result.report.near_keys.values())])
        t0 = time.perf_counter()
        for a in np.linspace(0, 1, 101):
            job.evaluate_alpha(float(a))
        out["alpha_eval_ms"] = (time.perf_counter() - t0) / 101 * 1e3
        scene = app.record.set_scene("point", (0.45, 0.05))
        mine, base = np.array(_user_target(scene)[:3]), np.array(scene.base_waypoints[-1].xyz)
        for mode in (True, False):
            samples: list[Any] = []
            stop = app.drive.sample.connect(samples.append)
            app.drive.start("point", personalized=mode, duration_s=5.0)
            status = app.drive.wait(60)
            stop()
            tip = tip_position(np.array(samples[-1].measured))
            key = "personalized" if mode else "baseline"
            out[f"{key}_to_user_m"] = float(np.linalg.norm(tip - mine))
            out[f"{key}_to_base_m"] = float(np.linalg.norm(tip - base))
            out[f"{key}_loop_hz"] = status.loop_hz
    finally:
        app.close()
        shutil.rmtree(root, ignore_errors=True)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demos", type=int, default=3, help="point-and-click demonstrations (default 3)")
    parser.add_argument("--policy", default=None, help="base policy folder (default: the shipped one)")
    parser.add_argument("--max-steps", type=int, default=1500, help="training steps at most (default 1500)")
    parser.add_argument("--max-seconds", type=float, default=45.0, help="training time budget (default 45 s)")


def run(args: argparse.Namespace) -> int:
    result = measure(args.demos, args.policy, args.max_steps, args.max_seconds)
    for key, value in result.items():
        print(f"{key:24} {value:.4g}" if isinstance(value, float) else f"{key:24} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0
