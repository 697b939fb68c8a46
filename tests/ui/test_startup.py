"""`prop-desktop` shows its window fast, without importing torch (the policy loads lazily, on first use)."""

from __future__ import annotations

import os

import pytest

from prop_desktop.ui.startup_probe import measure_once


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_window_appears_within_1_5_s_without_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("PROP_DESKTOP_DATA_DIR", str(tmp_path))
    runs = [measure_once() for _ in range(2)]
    best = min(r["process_to_window_s"] for r in runs)
    print(f"process start → window shown: {[round(r['process_to_window_s'], 3) for r in runs]} s")
    assert all(r["visible"] and r["title"] == "PRoP Desktop" for r in runs)
    assert not any(r["torch_imported"] for r in runs), "torch was imported before the window was shown"
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    # 1.5 s is the promise on a normal machine; on a heavily loaded CI box only gross regressions fail.
    assert best <= (1.5 if load < 1.0 else 4.0), f"{best:.2f} s at load {load:.1f}/core"
