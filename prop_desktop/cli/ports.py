"""`prop-desktop ports`: the serial adapters found, what is wrong with each (and the fix), and the simulator."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ports",
        help="list USB serial adapters for servo arms and diagnose problems",
        description="List serial ports (known servo-arm adapters first) with plain-language fixes for "
        "permission denied, brltty, busy or vanished ports. The simulated arm is always available.",
    )
    parser.add_argument("--all", action="store_true", help="also list ports without a known adapter VID/PID")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--identify", metavar="PORT", help="ping PORT with both protocols and say which arm answers")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prop_desktop.arm import discovery

    if args.identify:
        return _identify(args.identify)
    ports = discovery.list_ports(only_known=not args.all)
    system = discovery.system_problems()
    if args.json:
        print(
            json.dumps(
                {
                    "ports": [
                        {
                            "device": p.device,
                            "usb_id": p.usb_id,
                            "adapter": p.adapter,
                            "description": p.description,
                            "serial_number": p.serial_number,
                            "usable": p.usable,
                            "problems": [vars(x) for x in p.problems],
                        }
                        for p in ports
                    ],
                    "system_problems": [vars(x) for x in system],
                    "simulated_arm": {"available": True, "how": "prop-desktop arm ... --sim, or prop-desktop sim"},
                },
                indent=2,
            )
        )
        return 0
    if not ports:
        print("No servo-arm USB adapter found" + ("." if args.all else " (use --all to list every serial port)."))
    for p in ports:
        name = p.adapter or p.description or "serial port"
        ident = f" [{p.usb_id}]" if p.usb_id else ""
        serial_no = f" serial {p.serial_number}" if p.serial_number else ""
        state = "ready" if p.usable else "PROBLEM"
        print(f"{p.device}: {name}{ident}{serial_no} -- {state}")
        for problem in p.problems:
            print(f"    {problem.message}\n    Fix: {problem.fix}")
    for problem in system:
        print(f"Note: {problem.message}\n    Fix: {problem.fix}")
    print("Simulated arm: always available (prop-desktop arm preflight --sim, or prop-desktop sim for a port).")
    return 0


def _identify(port: str) -> int:
    from prop_desktop.arm import discovery
    from prop_desktop.arm.errors import ArmError

    try:
        guess = discovery.identify_arm(port)
    except ArmError as exc:
        print(f"error: {exc}")
        return 2
    if guess is None:
        print(f"{port}: no servo answers (Feetech or Dynamixel at 1 000 000 baud). Check the arm's power supply, "
              "the cable to the first servo, and the baud rate.")
        return 1
    print(guess.summary)
    return 0
