"""The two engine benchmarks run end to end and write the documented JSON."""

from __future__ import annotations

import argparse
import json

import pytest

from prop_desktop.bench import inference, paper_il


def _args(module, **values) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    module.add_arguments(parser)
    args = parser.parse_args([])
    for name, value in values.items():
        setattr(args, name, value)
    return args


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_paper_il_json_shape(tmp_path, capsys):
    out = tmp_path / "paper.json"
    args = _args(paper_il, json=str(out), demos=300, keys=4, eval_states=40, baseline_steps=20, base_steps=300,
                 threads=1)
    assert paper_il.run(args) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"prop", "mlp_concat", "cvae"}
    for result in data.values():
        assert set(result) == {"correct", "none", "random", "near", "train_seconds"}
        assert set(result["near"]) == {"1", "2", "4", "8", "16"}
        assert all(set(v) == {"mean", "max"} for v in result["near"].values())
    # PRoP's wrong keys act exactly like the base (none = base policy vs expert, tiny after 300 base steps).
    assert data["prop"]["near"]["1"]["max"] <= data["prop"]["none"] + 1e-6
    assert "prop" in capsys.readouterr().out


@pytest.mark.timeout(120)
def test_inference_json(tmp_path):
    out = tmp_path / "inference.json"
    assert inference.run(_args(inference, json=str(out), steps=200, warmup=20)) == 0
    data = json.loads(out.read_text())
    assert {"p50_ms", "p99_ms", "base_p50_ms", "uncached_p50_ms", "policy", "layers"} <= set(data)
    assert 0 < data["p50_ms"] <= data["p99_ms"]
