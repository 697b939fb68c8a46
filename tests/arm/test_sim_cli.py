"""`prop-desktop sim` as a separate process (a real program on the other end of the pty) and `bench bus`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from prop_desktop.arm.protocols import make_bus


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("protocol", "models"), [("feetech", [777] * 6), ("dynamixel", [1060, 1060] + [1200] * 4)])
def test_sim_command_prints_its_port_and_serves_until_interrupted(
    tmp_path: Path, protocol: str, models: list[int]
) -> None:
    link = tmp_path / "ttySIM"
    proc = subprocess.Popen(
        [sys.executable, "-m", "prop_desktop", "sim", "--protocol", protocol, "--link", str(link)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        port = first.strip().rsplit(" on ", 1)[-1]
        assert port.startswith("/dev/pts/"), first
        assert os.path.realpath(link) == port
        with make_bus(protocol, str(link)) as bus:  # through the symlink, like a udev alias
            assert bus.broadcast_ping() == dict(zip(range(1, 7), models, strict=True))
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "simulator stopped" in out
        assert not link.exists()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.timeout(30)
def test_sim_command_refuses_a_mismatched_model() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "prop_desktop", "sim", "--protocol", "feetech", "--model", "koch"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "koch arm uses dynamixel" in result.stderr


@pytest.mark.timeout(60)
def test_bench_bus_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from prop_desktop.bench import bus as bench

    out = tmp_path / "bus.json"
    args = argparse.Namespace(seconds=0.2, protocol="both", sim_process=False, json=str(out))
    assert bench.run(args) == 0
    data = json.loads(out.read_text())
    for protocol in ("feetech", "dynamixel"):
        row = data[protocol]
        assert row["sync_read_hz"] > 50 and row["cycle_hz"] > 50
        assert 0 < row["sync_read_p50_ms"] <= row["sync_read_p99_ms"]
        assert row["timeouts"] == 0
    assert "sync read 6/s" in capsys.readouterr().out
