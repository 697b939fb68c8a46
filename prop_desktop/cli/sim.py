"""`prop-desktop sim`: run the simulated arm on a pseudo-terminal until Ctrl-C and print its port."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def register(subparsers: argparse._SubParsersAction) -> None:
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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prop_desktop.arm.sim import SimulatedArm

    try:
        sim = SimulatedArm(args.protocol, args.model, transport=args.transport)
        if args.corrupt_rate:
            sim.set_corruption_rate(args.corrupt_rate)
    except ValueError as exc:
        print(f"prop-desktop sim: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with sim:
        if args.link and sim.transport == "pty":
            try:
                if os.path.islink(args.link):
                    os.unlink(args.link)
                os.symlink(sim.port, args.link)
            except OSError as exc:
                print(f"prop-desktop sim: cannot create the link {args.link}: {exc}", file=sys.stderr)
                return 2
        kinds = ", ".join(f"{j.servo_id}={j.name} ({j.kind.name})" for j in sim.spec.joints)
        print(f"Simulated {sim.model} arm ({sim.protocol}) on {sim.port}", flush=True)
        print(f"servos: {kinds}")
        print("baud 1000000; open the port like a USB adapter. Ctrl-C stops the simulator.", flush=True)
        try:
            stop.wait(args.duration)
        finally:
            if args.link and os.path.islink(args.link):
                os.unlink(args.link)
    try:
        print("simulator stopped", flush=True)
    except BrokenPipeError:  # whoever read our port line has gone: nothing to tell
        pass
    return 0
