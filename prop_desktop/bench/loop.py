"""`prop-desktop bench loop`: closed loop on the simulated arm (sync read 6 joints -> base policy step -> sync
write) for N seconds: achieved rate, p50/p99 period jitter, missed deadlines.

The policy is the shipped base policy (prop_desktop.policy.base.load_base_policy) run at batch 1 under
torch.no_grad; when it is not available (not trained yet) a freshly initialised network of the same
architecture stands in, which costs the same per step. torch is imported only inside run().
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from prop_desktop.arm.arm import Arm


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to drive (default 10)")
    parser.add_argument("--rate", type=float, default=200.0, help="requested loop rate in Hz (default 200)")
    parser.add_argument("--protocol", choices=("feetech", "dynamixel"), default="feetech")
    parser.add_argument(
        "--spin-ms", type=float, default=0.3, help="busy-wait this long before each deadline (default 0.3 ms)"
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="ask for real-time (SCHED_FIFO) priority for the loop thread and the simulator (Linux; needs root "
        "or an rtprio limit); cuts jitter when other programs load the CPU",
    )
    parser.add_argument(
        "--sim-in-process",
        action="store_true",
        help="run the simulated arm as a thread of this process (default: its own process, like a real bus)",
    )


def _policy_step() -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """A function q (6,) -> goal (6,) running the base policy at batch 1 with no_grad; and its label."""
    import numpy as np
    import torch

    torch.set_num_threads(1)  # batch 1: threads only add overhead and jitter
    label = "base policy (shipped weights)"
    try:
        from prop_desktop.policy.base import load_base_policy

        policy = load_base_policy()
    except Exception as exc:  # noqa: BLE001 - no weights yet: an equal-size network costs the same
        from prop_desktop.policy.model import BasePolicy

        torch.manual_seed(0)
        policy = BasePolicy()
        policy.eval()
        label = f"base policy architecture, untrained weights ({type(exc).__name__}: weights not available)"
    from prop_desktop.policy.tasks import task_context

    context = torch.as_tensor(task_context("serve", (0.2, 0.0), (0.15, 0.12)), dtype=torch.float32)
    obs = torch.zeros(1, 6 + context.numel())
    obs[0, 6:] = context

    def step(q: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            obs[0, :6] = torch.from_numpy(q.astype(np.float32))
            # Scaled down so the arm stays gently in motion within its range for the whole run.
            target = policy.next_targets(obs)[0].numpy().astype(np.float64)
        moved: np.ndarray = q + 0.2 * (target - q)
        return moved

    return step, label


def _estop_latencies(arm: Arm, step: Callable[[np.ndarray], np.ndarray], args: argparse.Namespace,
                     trials: int = 5) -> list[tuple[float, float]]:
    """E-stop from another thread while the closed loop runs: (call -> torque-off packet written,
    call -> torque confirmed off by a read-back), in ms."""
    import threading
    import time

    from prop_desktop.arm.loop import DriveLoop

    out = []
    for _ in range(trials):
        arm.reset_estop()
        drive = DriveLoop(arm, step, rate_hz=args.rate, spin_s=args.spin_ms / 1000.0, realtime=args.realtime)
        drive.start(seconds=5.0)
        time.sleep(0.3)
        box: list[float] = []
        stopper = threading.Thread(target=lambda sink=box: sink.append(arm.estop("bench e-stop")))
        stopper.start()
        stopper.join()
        drive.join(timeout=5)
        sent_s = arm.last_estop_sent_s
        assert sent_s is not None, "the e-stop wrote no torque-off packet"  # a TypeError before types
        out.append((sent_s * 1e3, box[0] * 1e3))
    arm.reset_estop()
    return out


def run(args: argparse.Namespace) -> int:
    from prop_desktop.arm.connect import connect, open_simulated_arm
    from prop_desktop.arm.loop import DriveLoop

    step, label = _policy_step()
    model = "koch" if args.protocol == "dynamixel" else "so101"
    if args.sim_in_process:
        arm = connect(sim=True, model=model)
    else:
        arm = open_simulated_arm(model, process=True, realtime=args.realtime)
    try:
        step(arm.read_joints())  # warm up the policy (first call allocates)
        drive = DriveLoop(
            arm, step, rate_hz=args.rate, spin_s=args.spin_ms / 1000.0, torque_off_at_end=True, realtime=args.realtime
        )
        stats = drive.run(seconds=args.seconds)
        realtime_note = drive.loop.realtime_note
        estop_ms = _estop_latencies(arm, step, args) if drive.fault is None else []
        bus_stats = arm.bus.stats.as_dict()
    finally:
        arm.close()
    if args.realtime and realtime_note:
        print(f"note: {realtime_note}", file=sys.stderr)
    if drive.fault:
        print(f"the loop stopped early: {drive.fault}", file=sys.stderr)
    result = {
        "loop_hz": round(stats.achieved_hz, 2),
        "requested_hz": args.rate,
        "jitter_p50_ms": round(stats.jitter_p50_ms, 4),
        "jitter_p99_ms": round(stats.jitter_p99_ms, 4),
        "jitter_max_ms": round(stats.jitter_max_ms, 4),
        "missed": stats.missed,
        "estop_sent_ms_max": round(max(e[0] for e in estop_ms), 3) if estop_ms else None,
        "estop_confirmed_ms_p50": round(sorted(e[1] for e in estop_ms)[len(estop_ms) // 2], 3) if estop_ms else None,
        "estop_confirmed_ms_max": round(max(e[1] for e in estop_ms), 3) if estop_ms else None,
        "ticks": stats.ticks,
        "seconds": round(stats.duration_s, 3),
        "protocol": args.protocol,
        "sim": "in-process thread" if args.sim_in_process else "separate process",
        "policy": label,
        "realtime": bool(args.realtime and realtime_note is None),
        "bus_retries": bus_stats.get("retries", 0),
        "cpus": os.cpu_count(),
    }
    print(f"closed loop on the simulated {model} arm ({args.protocol}), {label}")
    print(f"{'requested':>12} {'achieved':>10} {'p50 jit':>9} {'p99 jit':>9} {'max jit':>9} {'missed':>7} {'ticks':>7}")
    print(
        f"{args.rate:>10.1f}Hz {stats.achieved_hz:>8.2f}Hz {stats.jitter_p50_ms:>7.3f}ms {stats.jitter_p99_ms:>7.3f}ms "
        f"{stats.jitter_max_ms:>7.3f}ms {stats.missed:>7d} {stats.ticks:>7d}"
    )
    if estop_ms:
        print(f"emergency stop during the loop, {len(estop_ms)} trials (one tick = {1000 / args.rate:.1f} ms): "
              f"torque-off sent within {result['estop_sent_ms_max']:.2f} ms (max); confirmed off by read-back "
              f"median {result['estop_confirmed_ms_p50']:.2f} ms, max {result['estop_confirmed_ms_max']:.2f} ms")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0 if drive.fault is None else 1
