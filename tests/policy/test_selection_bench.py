"""`prop-desktop bench selection`: the selection alone, on the household bench's own data, against the exact way."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from prop_desktop.bench import selection as bench
from prop_desktop.policy.personalize import BENCH_PROFILES
from prop_desktop.policy.selection_eval import selectable
from prop_desktop.policy.styles import in_style_space
from tests.bench_args import bench_args


def _args(**changes) -> argparse.Namespace:
    return bench_args(bench, **changes)


def test_only_ways_the_style_numbers_express_are_selectable():
    profiles = {p.name: p for p in BENCH_PROFILES}
    assert not selectable(profiles["lee"])  # a slower arm: no style number for it
    assert selectable(profiles["ray"])  # two tasks: each task's numbers express its part
    slower = dataclasses.replace(profiles["pia"].style, max_step=0.03)
    assert in_style_space("point", profiles["pia"].style) and not in_style_space("point", slower)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"profiles": "lee"}, "selectable"), ({"profiles": "bob"}, "selectable"), ({"seeds": "0,x"}, "--seeds"),
     ({"samples": 0}, "--samples")],
)
def test_bad_arguments_are_refused_with_one_line(changes, message, capsys):
    assert bench.run(_args(**changes)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_selection_finds_pias_pointing_pose_on_the_bench_sample(tmp_path, capsys):
    out = tmp_path / "selection.json"
    assert bench.run(_args(profiles="pia", seeds="1", samples=1, json=str(out))) == 0
    report = json.loads(out.read_text())
    (case,) = report["cases"]
    assert (case["profile"], case["seed"], case["sample"]) == ("pia", 1, 0)
    assert case["on_exact"] and case["held_out"] < 0.01
    assert case["numbers"] == pytest.approx(case["exact_numbers"], abs=0.02)  # height 0.2, pitch 1.5, reach 1
    assert report["summary"]["on_exact"] == 1
    assert "1 of 1" in capsys.readouterr().out
