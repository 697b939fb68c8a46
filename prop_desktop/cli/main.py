"""`prop-desktop`: no arguments opens the app; subcommands serve headless use and our checks.

Each subcommand lives in its own module with `register(subparsers)`; heavy imports (torch, Qt) happen
inside the handlers so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from prop_desktop import __version__

# Modules under prop_desktop.cli that each add one subcommand.
SUBCOMMAND_MODULES = ("bench", "sim", "ports", "profile", "policy", "arm", "dataset")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prop-desktop",
        description="PRoP Desktop: personalize your home robot arm privately. "
        "Run with no arguments to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"prop-desktop {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the main window offscreen, connect the simulated arm, run a policy step with and "
        "without a key, close, and exit 0 on success",
    )
    parser.add_argument(
        "--try-out",
        action="store_true",
        help="open the app for this run only, for a computer without a usable keyring: keys are kept in memory "
        "and everything (profiles, recordings, skills) is deleted when the app closes",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<subcommand>")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"prop_desktop.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"prop_desktop.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from prop_desktop.ui.self_test import run_self_test

        return run_self_test()
    if args.command is None:
        try:
            from prop_desktop.ui.app import run_app
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("prop_desktop.ui"):
                raise
            parser.print_help()
            print("\nThe desktop window is not built yet; the subcommands above work.", file=sys.stderr)
            return 0
        return run_app(try_out=args.try_out)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
