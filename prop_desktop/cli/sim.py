"""`prop-desktop sim`: run the simulated arm on a pseudo-terminal until Ctrl-C and print its port."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prop_desktop.arm.sim import SimulatedArm


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run the simulated arm on a pseudo-terminal and print its port (Ctrl-C stops it)",
        description="Run a simulated SO-101/SO-100 (Feetech STS3215) or Koch (Dynamixel) arm that speaks the "
        "servo protocol byte for byte on a pseudo-terminal. Any program (this app, LeRobot, the vendors' "
        "SDKs) can open the printed port like a USB serial adapter at 1000000 baud.",
    )
    parser.add_argument("--protocol", choices=("feetech", "dynamixel"), help="servo protocol (default feetech)")
    parser.add_argument("--model", choices=("so101", "so100", "koch"), help="arm model (default: by protocol)")
    parser.add_argument(
        "--transport",
        choices=("pty", "tcp"),
        help="pty: a pseudo-terminal (default where available); tcp: socket://127.0.0.1:PORT (Windows)",
    )
    parser.add_argument("--link", metavar="PATH", help="also make a symlink PATH to the port (e.g. /tmp/ttySIM)")
    parser.add_argument(
        "--corrupt-rate", type=float, default=0.0, metavar="P", help="garble answers with probability P (testing)"
    )
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop by itself after SECONDS")
    parser.add_argument(
        "--leader",
        action="store_true",
        help="also run the matching leader arm (SO-101/SO-100 leader, Koch leader) on a second port; both are printed",
    )
    parser.add_argument("--leader-link", metavar="PATH", help="with --leader: a symlink PATH to the leader's port")
    parser.add_argument(
        "--wave",
        action="store_true",
        help="with --leader: a scripted hand moves the leader slowly (try teleoperation without holding one)",
    )
    parser.set_defaults(handler=run)


def _link(link: str | None, sim: SimulatedArm) -> str | None:
    """Make the symlink; an error message when that fails."""
    if not link or sim.transport != "pty":
        return None
    try:
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(sim.port, link)
    except OSError as exc:
        return f"cannot create the link {link}: {exc}"
    return None


def run(args: argparse.Namespace) -> int:
    from prop_desktop.arm.models import leader_model_for
    from prop_desktop.arm.sim import SimulatedArm
    from prop_desktop.arm.sim.hands import gentle_wave

    if (args.leader_link or args.wave) and not args.leader:
        print("prop-desktop sim: --leader-link and --wave need --leader", file=sys.stderr)
        return 2
    try:
        sim = SimulatedArm(args.protocol, args.model, transport=args.transport)
        if args.corrupt_rate:
            sim.set_corruption_rate(args.corrupt_rate)
        leader = None
        if args.leader:
            if sim.spec.leader:
                raise ValueError(f"{sim.model} is already a leader arm: pick the follower (so101, so100, koch)")
            leader = SimulatedArm(model=leader_model_for(sim.model).key, transport=args.transport)
    except ValueError as exc:
        print(f"prop-desktop sim: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    links = [(args.link, sim), (args.leader_link, leader)] if leader is not None else [(args.link, sim)]
    with sim, leader or contextlib.nullcontext():
        for link, arm in links:
            assert arm is not None
            problem = _link(link, arm)
            if problem:
                print(f"prop-desktop sim: {problem}", file=sys.stderr)
                return 2
        kinds = ", ".join(f"{j.servo_id}={j.name} ({j.kind.name})" for j in sim.spec.joints)
        print(f"Simulated {sim.model} arm ({sim.protocol}) on {sim.port}", flush=True)
        if leader is not None:
            print(f"Simulated {leader.model} arm ({leader.protocol}) on {leader.port}", flush=True)
            if args.wave:
                leader.play_hand_trajectory(gentle_wave, 24 * 3600.0)
        print(f"servos: {kinds}")
        print("baud 1000000; open the port like a USB adapter. Ctrl-C stops the simulator.", flush=True)
        try:
            stop.wait(args.duration)
        finally:
            for link, _ in links:
                if link and os.path.islink(link):
                    os.unlink(link)
    try:
        print("simulator stopped", flush=True)
    except BrokenPipeError:  # whoever read our port line has gone: nothing to tell
        pass
    return 0
