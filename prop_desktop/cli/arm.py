"""`prop-desktop arm ...`: the arm without the window. Pre-flight, calibration, reading joints, recording.

Recordings are summarised on the terminal and never written to disk (demonstrations are stored only sealed,
by the app's storage).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from prop_desktop.arm.arm import Arm
    from prop_desktop.arm.calibration import Calibration


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    arm = subparsers.add_parser("arm", help="use the arm headless: preflight, calibrate, joints, record, drive")
    sub = arm.add_subparsers(dest="arm_command", metavar="<action>", required=True)

    p = sub.add_parser("preflight", help="ping every servo; check models, firmware, voltage, temperature")
    _target_args(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=_guard(cmd_preflight))

    p = sub.add_parser("calibrate", help="guided calibration (middle pose, then range sweep); stored and reused")
    _target_args(p)
    p.add_argument("--sweep-seconds", type=float, default=None, help="end the sweep after this long (default: Enter)")
    p.add_argument("--from-lerobot", type=Path, metavar="FILE",
                   help="skip the guided calibration: use this LeRobot calibration file of the same arm "
                        "(e.g. ~/.cache/huggingface/lerobot/calibration/robots/so101_follower/ID.json)")
    p.add_argument("--export-lerobot", type=Path, metavar="FILE",
                   help="afterwards also write the calibration as a LeRobot calibration file")
    p.set_defaults(handler=_guard(cmd_calibrate))

    p = sub.add_parser("joints", help="print the joint angles (radians) a few times a second")
    _target_args(p)
    p.add_argument("--seconds", type=float, default=0.0, help="keep printing this long (default: once)")
    p.set_defaults(handler=_guard(cmd_joints))

    p = sub.add_parser("record", help="record a demonstration and print a summary (nothing is written to disk)")
    _target_args(p)
    p.add_argument("--mode", choices=("hand", "click", "leader"), default="hand",
                   help="hand-guided, point-and-click, or the follower mirroring a leader arm (teleoperation)")
    p.add_argument("--seconds", type=float, default=5.0, help="hand and leader modes: how long to record (default 5)")
    p.add_argument("--rate", type=float, default=None,
                   help="sample rate in Hz (default 50; 100 with the leader arm, the control rate)")
    p.add_argument("--leader-port", metavar="L",
                   help="leader mode: serial port of the leader arm (with --sim a simulated leader is used)")
    p.add_argument("--leader-model", choices=("so101_leader", "so100_leader", "koch_leader"), default=None,
                   help="leader mode: the leader's model (default: the leader of the follower's kit)")
    p.add_argument("--task", default="demo", help="task name stored with the episode")
    p.add_argument(
        "--target",
        action="append",
        metavar="Q1,..,Q6",
        help="click mode: a target pose as six joint angles in radians (repeat for several; default: a demo tour)",
    )
    p.set_defaults(handler=_guard(cmd_record))

    p = sub.add_parser("drive", help="drive the shipped base policy in closed loop and print the loop statistics")
    _target_args(p)
    p.add_argument("--seconds", type=float, default=5.0, help="how long to drive (default 5)")
    p.add_argument("--rate", type=float, default=50.0, help="loop rate in Hz (default 50)")
    p.add_argument("--task", default="serve", help="base-policy task (default serve)")
    p.set_defaults(handler=_guard(cmd_drive))


def _target_args(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--port", help="serial port of the arm, e.g. /dev/ttyACM0 (see `prop-desktop ports`)")
    where.add_argument("--sim", action="store_true", help="use the built-in simulated arm")
    p.add_argument("--model", choices=("so101", "so100", "koch", "so101_leader", "so100_leader", "koch_leader"),
                   default=None, help="arm model (default so101; a *_leader to calibrate or check a leader arm)")


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Arm trouble becomes a plain message and exit code 2, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        from prop_desktop.arm.errors import ArmError

        try:
            return fn(args)
        except (ArmError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("stopped (torque released)", file=sys.stderr)
            return 130

    return run


def _open(args: argparse.Namespace) -> Arm:
    from prop_desktop.arm.connect import connect

    arm = connect(args.port, args.model, sim=True if args.sim else None)
    print(f"connected: {arm.model.display_name} on {arm.port_label}"
          f"{' (calibrated)' if arm.is_calibrated else ' (not calibrated: default ranges)'}")
    for warning in arm.warnings:
        print(f"warning: {warning}")
    return arm


def cmd_preflight(args: argparse.Namespace) -> int:
    with _open(args) as arm:
        report = arm.preflight()
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.summary())
    return 0 if report.ok else 1


def cmd_joints(args: argparse.Namespace) -> int:
    with _open(args) as arm:
        end = time.monotonic() + args.seconds
        while True:
            q = arm.read_joints()
            print("  ".join(f"{n}={v:+.3f}" for n, v in zip(arm.joint_names, q, strict=True)))
            if time.monotonic() >= end:
                return 0
            time.sleep(0.25)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from prop_desktop.interop.lerobot_calibration import (
        apply_lerobot_calibration,
        lerobot_calibration_files,
        read_lerobot_calibration,
        to_lerobot,
        write_lerobot_calibration,
    )

    with _open(args) as arm:
        if args.from_lerobot is not None:
            apply_lerobot_calibration(arm, read_lerobot_calibration(args.from_lerobot, arm.model))
            print(f"LeRobot calibration {args.from_lerobot} written to the servos and stored for {arm.arm_id}; "
                  "no need to calibrate again.")
        else:
            for path in lerobot_calibration_files(arm.model):
                print(f"LeRobot calibration found: {path} (if it is this arm, --from-lerobot FILE skips this)")
            cal = arm.calibrate()
            try:
                _guided_calibration(arm, cal, args)
            except BaseException:
                if cal.step not in ("done", "cancelled"):
                    try:
                        cal.cancel()  # put the previous homing offsets and limits back
                    except Exception:  # noqa: BLE001 - the port may be gone; the original error matters
                        pass
                raise
        if args.export_lerobot is not None:
            path = write_lerobot_calibration(to_lerobot(arm.calibration), args.export_lerobot)
            print(f"LeRobot calibration written to {path}")
    return 0


def _guided_calibration(arm: Arm, cal: Calibration, args: argparse.Namespace) -> None:
    sim = arm.sim  # None on a real arm: the person moves it
    print("Torque is off: the arm is limp, support it.")
    print(f"Step 1: {cal.instructions}")
    if sim is not None:
        print("(simulated arm: it puts itself in the middle pose)")
        for name in sim.joint_names:
            sim.move_by_hand(name, 0.0)
    else:
        input("Press Enter when the arm is in its middle pose... ")
    offsets = cal.record_middle()
    print(f"homing offsets written: {', '.join(str(int(o)) for o in offsets)}")
    print(f"Step 2: {cal.instructions}")
    seconds = args.sweep_seconds
    if sim is not None:
        seconds = seconds or 2.0
        print("(simulated arm: its joints sweep by themselves)")
        sweep_s: float = seconds
        sim.play_hand_trajectory(
            lambda t: {j: 1.5 * math.sin(2 * math.pi * t / sweep_s) for j in sim.joint_names}, sweep_s
        )
    done = threading.Event()
    if seconds is None:
        print("Press Enter when every joint has been end to end.")

        def wait_for_enter() -> None:
            sys.stdin.readline()
            done.set()

        threading.Thread(target=wait_for_enter, daemon=True).start()
    end = math.inf if seconds is None else time.monotonic() + seconds
    while not done.is_set() and time.monotonic() < end:
        cal.sample()
        time.sleep(0.02)
    cal.sample()
    result = cal.finish()
    for joint in result.joints:
        lo, hi = joint.range_rad
        print(f"  {joint.name:13} {math.degrees(lo):+7.1f}° .. {math.degrees(hi):+7.1f}°  sign {joint.sign:+d}")
    print(f"Calibration stored for {arm.arm_id}; it is reused whenever this arm is connected.")


def _demo_targets(arm: Arm) -> list[np.ndarray]:
    import numpy as np

    lo, hi = arm.lower, arm.upper
    mid = np.zeros(arm.n_joints)
    return [np.clip(mid + f * (hi - lo) / 2, lo, hi) for f in (0.3, -0.25, 0.0)]


def _open_leader(args: argparse.Namespace, follower: Arm) -> Arm:
    from prop_desktop.arm.connect import connect
    from prop_desktop.arm.models import leader_model_for

    model = args.leader_model or leader_model_for(follower.model).key
    if args.leader_port is None and not args.sim:
        raise ValueError("recording with the leader arm needs --leader-port L (or --sim for the simulated pair)")
    leader = connect(args.leader_port, model, sim=True if args.leader_port is None else None)
    print(f"leader: {leader.model.display_name} on {leader.port_label}"
          f"{' (calibrated)' if leader.is_calibrated else ' (not calibrated: default ranges)'}")
    for warning in leader.warnings:
        print(f"warning (leader): {warning}")
    return leader


def cmd_record(args: argparse.Namespace) -> int:
    import contextlib

    import numpy as np

    from prop_desktop.arm.recording import Recorder
    from prop_desktop.arm.sim.hands import gentle_wave
    from prop_desktop.arm.teleop import DEFAULT_TELEOP_RATE_HZ

    if args.mode != "leader" and (args.leader_port or args.leader_model):
        raise ValueError("--leader-port and --leader-model are for --mode leader")
    rate = args.rate or (DEFAULT_TELEOP_RATE_HZ if args.mode == "leader" else 50.0)
    with contextlib.ExitStack() as stack:
        arm = stack.enter_context(_open(args))
        leader = stack.enter_context(_open_leader(args, arm)) if args.mode == "leader" else None
        targets = None
        if leader is not None:
            if leader.sim is not None:
                print("(simulated leader: a hand moves it slowly while the follower mirrors it)")
                leader.sim.play_hand_trajectory(gentle_wave, args.seconds + 1.0)
            else:
                print("Move the leader arm: the follower mirrors it (Ctrl-C stops and releases torque).")
        elif args.mode == "click":
            if args.target:
                targets = [np.array([float(x) for x in t.split(",")]) for t in args.target]
            else:
                targets = _demo_targets(arm)
        elif arm.sim is not None:
            print("(simulated arm: a hand moves the elbow and wrist while we record)")
            arm.sim.play_hand_trajectory(
                lambda t: {"elbow_flex": 0.6 * math.sin(t * 2.0), "wrist_flex": 0.4 * math.sin(t * 3.0)},
                args.seconds + 1.0,
            )
        else:
            print("Torque is off: move the arm by hand now.")
        rec = Recorder(arm, args.mode, targets=targets, seconds=None if args.mode == "click" else args.seconds,
                       rate_hz=rate, task=args.task, leader=leader, release_at_end=leader is not None)
        episode = rec.run()
    print(episode.summary())
    if len(episode):
        span = episode.q.max(axis=0) - episode.q.min(axis=0)
        joint_names = episode.meta["joint_names"]
        assert isinstance(joint_names, list | tuple)  # the recorder writes the arm's joint names
        print("joint travel (rad): " + "  ".join(
            f"{n}={v:.3f}" for n, v in zip(joint_names, span, strict=True)))
    if episode.stats is not None:
        s = episode.stats
        print(f"loop: {s.achieved_hz:.1f} Hz, p99 jitter {s.jitter_p99_ms:.2f} ms, {s.missed} missed deadlines")
    print("(kept in memory only; the app stores demonstrations sealed)")
    return 1 if episode.interrupted else 0


def cmd_drive(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from prop_desktop.arm.loop import DriveLoop
    from prop_desktop.policy.base import BasePolicyError, load_base_policy
    from prop_desktop.policy.tasks import sample_instance

    torch.set_num_threads(1)
    try:
        policy = load_base_policy()
    except BasePolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    context = torch.as_tensor(sample_instance(args.task, np.random.default_rng(0)).context(), dtype=torch.float32)
    obs = torch.zeros(1, 6 + context.numel())
    obs[0, 6:] = context

    def step(q: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            obs[0, :6] = torch.from_numpy(q.astype(np.float32))
            return policy.next_targets(obs)[0].numpy().astype(np.float64)

    with _open(args) as arm:
        drive = DriveLoop(arm, step, rate_hz=args.rate, torque_off_at_end=True)
        print(f"driving the base policy ({args.task}) for {args.seconds:g} s; Ctrl-C stops and releases torque")
        stats = drive.run(seconds=args.seconds)
        q = arm.read_joints()
    print("final joints (rad): " + "  ".join(f"{n}={v:+.3f}" for n, v in zip(arm.joint_names, q, strict=True)))
    print(f"loop: {stats.achieved_hz:.1f} Hz (requested {args.rate:g}), p99 jitter {stats.jitter_p99_ms:.2f} ms, "
          f"{stats.missed} missed deadlines")
    if drive.fault:
        print(f"stopped: {drive.fault}", file=sys.stderr)
        return 1
    return 0
