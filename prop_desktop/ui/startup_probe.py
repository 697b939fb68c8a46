"""Measures how long `prop-desktop` takes to show its window: `python -m prop_desktop.ui.startup_probe [-n 5]`.

Each run starts a fresh interpreter (`python -m prop_desktop`, exactly what the launcher runs) with the
startup probe on; the app prints when its window is shown, then quits. Wall time is measured here, from
spawning the process to reading that line, so it includes the interpreter start and every import.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import TypedDict

from prop_desktop.ui.app import PROBE_ENV


class StartupRun(TypedDict):
    """One run: what the app printed (ui/app.py _report_startup) and the wall time measured here."""

    window_shown_s: float  # from run_app's start, inside the app
    visible: bool
    title: str
    torch_imported: bool
    process_to_window_s: float  # from spawning the process


def measure_once(timeout_s: float = 60.0) -> StartupRun:
    env = dict(os.environ, **{PROBE_ENV: "1"})
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="prop-startup-") as data:
        env.setdefault("PROP_DESKTOP_DATA_DIR", data)
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "prop_desktop"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        line = ""
        assert proc.stdout is not None
        for raw in proc.stdout:
            if raw.startswith("{"):
                line = raw
                break
        shown = time.perf_counter() - t0
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    if not line:
        raise RuntimeError("the app did not report a shown window")
    info = json.loads(line)
    return StartupRun(window_shown_s=float(info["window_shown_s"]), visible=bool(info["visible"]),
                      title=str(info["title"]), torch_imported=bool(info["torch_imported"]),
                      process_to_window_s=shown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5, help="runs (default 5)")
    args = parser.parse_args(argv)
    runs = [measure_once() for _ in range(args.n)]
    walls = [r["process_to_window_s"] for r in runs]
    print(f"{'run':>4} {'process→window s':>18} {'run_app→window s':>18} {'torch imported':>15}")
    for i, r in enumerate(runs, 1):
        print(f"{i:>4} {r['process_to_window_s']:>18.3f} {r['window_shown_s']:>18.3f} {str(r['torch_imported']):>15}")
    print(f"median process→window: {statistics.median(walls):.3f} s, max {max(walls):.3f} s (limit 1.5 s)")
    return 0 if max(walls) <= 1.5 and not any(r["torch_imported"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
