from __future__ import annotations

import subprocess
import sys


def test_help_lists_every_subcommand():
    out = subprocess.run(
        [sys.executable, "-m", "prop_desktop", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "bench" in out
    assert "--self-test" in out


def test_bench_help_lists_benchmarks():
    out = subprocess.run(
        [sys.executable, "-m", "prop_desktop", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for name in ("paper-il", "household", "selection", "inference", "bus", "loop", "attacks"):
        assert name in out
