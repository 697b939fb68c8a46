"""`prop-desktop bench teleop`: the follower mirroring a leader arm on the simulated pair.

Measures the teleoperation loop's achieved rate (and jitter, missed deadlines) and the end-to-end latency,
defined as: from the moment the simulated leader's position changes (a scripted hand steps one joint by
0.01 rad; the clock is read just before the change, so waiting for the simulator's lock counts too) to the
moment the follower's goal carrying that change has been written to the follower's port (the sync write
returned). It therefore includes waiting for the next tick, the leader's sync read, both calibrations, the
rails and the follower's sync write.

The leader's simulator runs in this process (the hand has to move it); the follower's runs in its own
process by default, as separate as a real bus (`--follower-in-process` to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time

STEP_RAD = 0.01  # a small hand step: one tick's speed clamp (2 rad/s x 10 ms = 0.02 rad) never delays it
LOST_AFTER_S = 0.25  # a change not seen by then is counted as lost (none expected)
JOINT = "wrist_flex"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to measure (default 10)")
    parser.add_argument("--rate", type=float, default=100.0, help="teleoperation loop rate in Hz (default 100)")
    parser.add_argument("--model", choices=("so101", "so100", "koch"), default="so101",
                        help="the follower; the leader is its kit's leader (default so101)")
    parser.add_argument("--follower-in-process", action="store_true",
                        help="run the follower's simulator as a thread of this process (default: its own process)")
    parser.add_argument("--realtime", action="store_true",
                        help="ask for real-time priority for the follower's simulator (Linux; needs rtprio)")


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def run(args: argparse.Namespace) -> int:
    from prop_desktop.arm.connect import connect, open_simulated_arm
    from prop_desktop.arm.models import leader_model_for
    from prop_desktop.arm.recording import Recorder, Sample

    if not (args.seconds > 0 and args.rate > 0):
        print("bench teleop: --seconds and --rate must be positive", file=sys.stderr)
        return 2
    if args.follower_in_process:
        follower = connect(sim=True, model=args.model)
    else:
        follower = open_simulated_arm(args.model, process=True, realtime=args.realtime)
    leader = connect(sim=True, model=leader_model_for(args.model).key)
    sim = leader.sim
    assert sim is not None
    j = leader.joint_names.index(JOINT)
    sign = leader.model.joint(JOINT).sign
    pending: dict[str, float] = {}  # the change being timed: t0, old goal, direction
    latencies: list[float] = []
    lock = threading.Lock()
    seen = threading.Event()

    def on_sample(_: Sample) -> None:
        goal = follower.last_goal
        now = time.monotonic()
        with lock:
            if not pending or goal is None:
                return
            if (goal[j] - pending["old"]) * pending["direction"] >= 0.5 * STEP_RAD:
                latencies.append(now - pending["t0"])
                pending.clear()
                seen.set()

    rec = Recorder(follower, "leader", leader=leader, rate_hz=args.rate, on_sample=on_sample, release_at_end=True)
    rng = random.Random(0)
    lost = 0
    try:
        rec.start()
        time.sleep(1.3)  # the follower's 1 s ramp-in after torque on; then it follows at full speed
        direction = 1.0
        end = time.monotonic() + args.seconds
        while time.monotonic() < end and rec.loop is not None and rec.loop.error is None:
            actual = sim.actual_radians(JOINT)
            old = follower.last_goal
            if old is None:
                break
            seen.clear()
            with lock:
                pending.update(t0=time.monotonic(), old=float(old[j]), direction=direction * sign)
            sim.move_by_hand(JOINT, actual + direction * STEP_RAD)
            if not seen.wait(LOST_AFTER_S):
                lost += 1
                with lock:
                    pending.clear()
            direction = -direction
            time.sleep(rng.uniform(0.02, 0.04))  # the next change falls at a random phase of the tick
        rec.stop()
        episode = rec.join(timeout=10)
    finally:
        follower.close()
        leader.close()
    stats = rec.stats()
    fault = None if episode is None else episode.meta.get("fault")
    ms = [x * 1e3 for x in latencies]
    result = {
        "loop_hz": None if stats is None else round(stats.achieved_hz, 2),
        "requested_hz": args.rate,
        "jitter_p50_ms": None if stats is None else round(stats.jitter_p50_ms, 3),
        "jitter_p99_ms": None if stats is None else round(stats.jitter_p99_ms, 3),
        "missed": None if stats is None else stats.missed,
        "ticks": None if stats is None else stats.ticks,
        "latency_p50_ms": round(_percentile(ms, 50), 3),
        "latency_p95_ms": round(_percentile(ms, 95), 3),
        "latency_max_ms": round(max(ms), 3) if ms else None,
        "changes_timed": len(ms),
        "changes_lost": lost,
        "latency_definition": "leader position changed in the simulator -> follower goal with it written to the "
        "follower's port",
        "model": args.model,
        "follower_sim": "in-process thread" if args.follower_in_process else "separate process",
        "fault": fault,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    print(f"teleoperation on the simulated {args.model} pair (follower sim: {result['follower_sim']}), "
          f"load average {result['load_average_1min']} on {result['cpus']} CPUs")
    print(f"{'requested':>10} {'achieved':>10} {'p99 jit':>9} {'missed':>7} | latency {'p50':>8} {'p95':>8} "
          f"{'max':>8} {'timed':>6} {'lost':>5}")
    print(f"{args.rate:>8.1f}Hz {result['loop_hz'] or 0:>8.2f}Hz {result['jitter_p99_ms'] or 0:>7.3f}ms "
          f"{result['missed'] or 0:>7d} |         {result['latency_p50_ms']:>6.2f}ms "
          f"{result['latency_p95_ms']:>6.2f}ms {result['latency_max_ms'] or float('nan'):>6.2f}ms {len(ms):>6d} "
          f"{lost:>5d}")
    if fault:
        print(f"the loop stopped early: {fault}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0 if not fault and ms else 1
