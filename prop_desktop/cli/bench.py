"""`prop-desktop bench NAME`: benchmarks that print a table and, with --json FILE, write JSON.

Each benchmark is a module `prop_desktop.bench.<module>` with `add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

BENCHMARKS = {
    "paper-il": ("paper_il", "the paper's imitation task: PRoP vs key-concatenation MLP vs CVAE"),
    "household": ("household", "household profiles: personalization, closed loop, wrong keys, corrections"),
    "selection": ("selection", "how often the selection finds each profile's own style numbers (seeds x row samples)"),
    "inference": ("inference", "p50/p99 latency of one policy step with an adapter"),
    "bus": ("bus", "sync-read and sync-write rates on the simulated bus, both protocols"),
    "loop": ("loop", "closed loop read -> policy -> write on the simulated arm: rate, jitter, misses"),
    "teleop": ("teleop", "the follower mirroring a leader arm on the simulated pair: loop rate, end-to-end latency"),
    "journey": ("journey", "the headless app journey: record, train, drive; how long the GUI waits while training"),
    "attacks": ("attacks", "attack suite against trained adapters: near keys, weight reading, relaxed keys"),
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser("bench", help="run a benchmark (prints a table; --json FILE writes JSON)")
    names = bench.add_subparsers(dest="bench_name", metavar="<benchmark>", required=True)
    for name, (module_name, help_text) in BENCHMARKS.items():
        sub = names.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
        sub.set_defaults(handler=_runner(module_name), _bench_module=module_name)
        _add_module_arguments(module_name, sub)


def _add_module_arguments(module_name: str, parser: argparse.ArgumentParser) -> None:
    try:
        module = importlib.import_module(f"prop_desktop.bench.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"prop_desktop.bench.{module_name}":
            raise
        return
    add_arguments = getattr(module, "add_arguments", None)
    if add_arguments is not None:
        add_arguments(parser)


def _runner(module_name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            module = importlib.import_module(f"prop_desktop.bench.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"prop_desktop.bench.{module_name}":
                raise
            print(f"benchmark {module_name!r} is not available in this build")
            return 2
        return int(module.run(args) or 0)

    return run
