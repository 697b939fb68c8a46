"""`prop-desktop policy train-base` is reproducible and writes loadable files; `policy info` reports them."""

from __future__ import annotations

import json

import pytest

from prop_desktop.cli.main import main
from prop_desktop.policy.base import base_policy_hash, load_base_policy, load_config


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_quick_train_is_reproducible_and_seed_matters(tmp_path, capsys):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert main(["policy", "train-base", "--quick", "--seed", "3", "--out", str(a)]) == 0
    assert main(["policy", "train-base", "--quick", "--seed", "3", "--out", str(b)]) == 0
    assert main(["policy", "train-base", "--quick", "--seed", "4", "--out", str(c)]) == 0
    assert base_policy_hash(a) == base_policy_hash(b)
    assert base_policy_hash(a) != base_policy_hash(c)
    out = capsys.readouterr().out
    assert "normalized imitation error" in out and "closed-loop success" in out
    config = load_config(a)
    assert config["train_config"]["seed"] == 3
    assert 0 <= config["report"]["held_out"]["normalized_error"]
    load_base_policy(a)

    assert main(["policy", "info", "--path", str(a), "--json", str(tmp_path / "info.json")]) == 0
    printed = capsys.readouterr().out
    assert base_policy_hash(a) in printed and "normalized error" in printed
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["sha256"] == base_policy_hash(a) and info["size_bytes"] > 0


def test_info_on_missing_policy_says_what_to_do(tmp_path, capsys):
    assert main(["policy", "info", "--path", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not found" in err and "train-base" in err
