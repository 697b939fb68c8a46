"""`prop-desktop bench attacks`: argument mistakes are one clear line, not a traceback."""

from __future__ import annotations

import argparse

import pytest

from prop_desktop.bench import attacks as bench
from tests.bench_args import bench_args


def _args(**changes) -> argparse.Namespace:
    return bench_args(bench, **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"profiles": "5"}, "choose 1 to 3"),
        ({"profiles": "alex,bob"}, "unknown profile"),
        ({"train": ["no_such_field=1"]}, "--train override"),
        ({"train": ["fidelity_weight=lots"]}, "not a valid value"),
        ({"encoder": ["hidden"]}, "NAME=VALUE"),
        ({"demos": 1}, "at least 2"),
    ],
)
def test_bad_arguments_are_refused_with_one_line(changes, message, capsys):
    assert bench.run(_args(**changes)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_profile_selection():
    assert bench._profile_names("2") == ["alex", "sam"]
    assert bench._profile_names("kim, alex") == ["kim", "alex"]
