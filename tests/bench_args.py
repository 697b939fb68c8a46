"""The arguments a `prop-desktop bench NAME` run gets, built from the benchmark module's own parser."""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any


def bench_args(module: ModuleType, **changes: Any) -> argparse.Namespace:
    """`module`'s defaults (and --json, which the CLI adds to every benchmark) with `changes` applied."""
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    parser.add_argument("--json")
    args = parser.parse_args([])
    for name, value in changes.items():
        setattr(args, name, value)
    return args
