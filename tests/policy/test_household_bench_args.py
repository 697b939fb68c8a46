"""`prop-desktop bench household`: argument mistakes are one clear line before any training starts."""

from __future__ import annotations

import argparse

import pytest

from prop_desktop.bench import household as bench
from tests.bench_args import bench_args


def _args(**changes) -> argparse.Namespace:
    return bench_args(bench, **changes)


def test_defaults_cover_every_profile_on_48_instances_without_corrections():
    args = _args()
    assert args.profiles is None and args.instances == 48 and args.corrections == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"profiles": "alex,bob"}, "unknown profile"),
        ({"demos": 1}, "at least 2"),
        ({"instances": 0}, "--instances"),
        ({"corrections": -1}, "--corrections"),
    ],
)
def test_bad_arguments_are_refused_with_one_line(changes, message, capsys):
    assert bench.run(_args(**changes)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
