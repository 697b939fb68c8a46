"""`prop-desktop bench bus`: sync-read / sync-write rates and round-trip latency on the simulated bus.

For each protocol: a simulated arm (in-process thread by default, or a separate `prop-desktop sim` process
with --sim-process, which is closer to a real arm that does not share our CPU), a driver on its pty, and for
--seconds each: sync read of 6 present positions, sync write of 6 goals, and the closed-loop cycle
(read 6 + write 6). Latency = one sync read's round trip. Sync writes count once the simulator applied them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

IDS = [1, 2, 3, 4, 5, 6]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per operation (default 2)")
    parser.add_argument(
        "--protocol", choices=("feetech", "dynamixel", "both"), default="both", help="which bus (default both)"
    )
    parser.add_argument(
        "--sim-process", action="store_true", help="run the simulator in its own process instead of a thread"
    )
    parser.add_argument(
        "--wire-timing", action="store_true", help="answers take as long as on a real 1 Mbaud line (thread only)"
    )


def _rate(op: Callable[[], object], seconds: float) -> tuple[float, list[float]]:
    durations = []
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        op()
        t1 = time.perf_counter()
        durations.append(t1 - t0)
        if t1 >= end:
            break
    return len(durations) / (time.perf_counter() - start), durations


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _SimProcess:
    """`prop-desktop sim` in a child process; the port is read from its first line."""

    def __init__(self, protocol: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "prop_desktop", "sim", "--protocol", protocol],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.port = line.strip().rsplit(" on ", 1)[-1]
        if not self.port.startswith("/dev/"):
            self.stop()
            raise RuntimeError(f"the simulator did not start: {line!r}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def measure(protocol: str, seconds: float, sim_process: bool = False, wire_timing: bool = False) -> dict[str, float]:
    from prop_desktop.arm.protocols import make_bus
    from prop_desktop.arm.sim import SimulatedArm

    sim = _SimProcess(protocol) if sim_process else SimulatedArm(protocol, wire_timing=wire_timing).start()
    try:
        with make_bus(protocol, sim.port) as bus:
            for _ in range(50):  # warm up
                bus.sync_read_register("present_position", IDS)
            goals = bus.sync_read_register("present_position", IDS)
            read_hz, read_times = _rate(lambda: bus.sync_read_register("present_position", IDS), seconds)
            # Sync writes are not answered: count them as applied only once the simulator has worked through
            # them all, which the next sync read proves (it is answered after everything sent before it).
            start = time.perf_counter()
            writes = 0
            while time.perf_counter() - start < seconds:
                bus.sync_write_register("goal_position", goals)
                writes += 1
            bus.timeout_s, timeout = 10.0, bus.timeout_s
            bus.sync_read_register("present_position", IDS)
            bus.timeout_s = timeout
            write_hz = writes / (time.perf_counter() - start)

            def cycle() -> None:
                bus.sync_read_register("present_position", IDS)
                bus.sync_write_register("goal_position", goals)

            cycle_hz, _ = _rate(cycle, seconds)
            ping_hz, ping_times = _rate(lambda: bus.ping(1), min(seconds, 1.0))
            stats = bus.stats
    finally:
        sim.stop()
    return {
        "sync_read_hz": read_hz,
        "sync_write_hz": write_hz,
        "cycle_hz": cycle_hz,
        "sync_read_p50_ms": statistics.median(read_times) * 1e3,
        "sync_read_p99_ms": _percentile(read_times, 0.99) * 1e3,
        "ping_p50_ms": statistics.median(ping_times) * 1e3,
        "ping_p99_ms": _percentile(ping_times, 0.99) * 1e3,
        "retries": stats.retries,
        "timeouts": stats.timeouts,
    }


def run(args: argparse.Namespace) -> int:
    protocols = ["feetech", "dynamixel"] if args.protocol == "both" else [args.protocol]
    results: dict[str, object] = {
        "sim": "process" if args.sim_process else "thread",
        "wire_timing": bool(getattr(args, "wire_timing", False)) and not args.sim_process,
        "seconds_per_op": args.seconds,
    }
    for protocol in protocols:
        results[protocol] = measure(protocol, args.seconds, args.sim_process, bool(results["wire_timing"]))
    columns = [
        ("sync read 6/s", "sync_read_hz", "{:.0f}"),
        ("sync write 6/s", "sync_write_hz", "{:.0f}"),
        ("read+write/s", "cycle_hz", "{:.0f}"),
        ("read p50 ms", "sync_read_p50_ms", "{:.3f}"),
        ("read p99 ms", "sync_read_p99_ms", "{:.3f}"),
        ("ping p50 ms", "ping_p50_ms", "{:.3f}"),
        ("ping p99 ms", "ping_p99_ms", "{:.3f}"),
        ("retries", "retries", "{}"),
    ]
    timing = ", real wire timing" if results["wire_timing"] else ""
    print(f"servo bus on the simulated arm (simulator in a {results['sim']}{timing}, {args.seconds:g} s per operation)")
    print(f"{'':10}" + "".join(f"{title:>16}" for title, _, _ in columns))
    for protocol in protocols:
        row = results[protocol]
        assert isinstance(row, dict)
        print(f"{protocol:10}" + "".join(f"{fmt.format(row[key]):>16}" for _, key, fmt in columns))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0
