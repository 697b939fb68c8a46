"""The app's privacy report: fast, JSON-able, plain words, and honest about what an attacker gets."""

from __future__ import annotations

import json
import time

import pytest
import torch

from prop_desktop.prop import Adapter, InputError, TrainConfig, new_key, train_adapter, wrap
from prop_desktop.prop.privacy_report import SEALED_LINE, PrivacyReport, privacy_report

from .prop_helpers import SmallTask, small_policy


@pytest.fixture(scope="module")
def small_adapter():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: one thread is faster, and far faster on a busy machine
    policy = small_policy().eval()
    task = SmallTask(policy, n=200)
    keyed = wrap(policy, ["2", "4"], hidden=16)
    key = new_key()
    config = TrainConfig(seed=5, max_steps=40, min_steps=25, personal_steps=200)
    train_adapter(keyed, task.states, task.actions, key, config=config)
    yield keyed, key, task
    torch.set_num_threads(threads)


def test_report_is_fast_json_and_in_plain_words(small_adapter):
    keyed, key, task = small_adapter
    started = time.perf_counter()
    report = privacy_report(keyed, key, task.test_states)
    elapsed = time.perf_counter() - started
    assert elapsed < 10.0  # ~1 s on an idle 2-core machine; generous for a loaded CI box
    data = json.loads(json.dumps(report.to_json()))
    assert sorted(int(d) for d in data["near"]) == list(range(1, 17))
    assert data["near_keys_hold"] is True and data["near_worst"] <= 0.05
    assert set(data["attacks"]) == {"weight_reading", "relaxed_key", "direct_delta", "other_profile"}
    assert all(0.0 <= v <= 1.0 for v in data["attacks"].values())
    text = "\n".join(report.summary)
    assert "Keys 1–16 bits off: behave like the general policy" in text
    assert report.summary[-1] == SEALED_LINE
    # The report does not hide what weight reading gets from an unsealed adapter.
    assert "read your key from its weights" in text
    assert PrivacyReport.from_json(data).summary == report.summary


def test_report_from_an_adapter_and_its_base(small_adapter):
    keyed, key, task = small_adapter
    adapter = Adapter.from_bytes(keyed.adapter.to_bytes())
    report = privacy_report(adapter, key, task.test_states, base=task.policy, attacks=("other_profile",),
                            other_keys=[new_key()])
    assert report.near_keys_hold
    assert any(line.startswith("Other people's keys: behave like the general policy") for line in report.summary)
    with pytest.raises(InputError, match="base="):
        privacy_report(adapter, key, task.test_states)


def test_report_refuses_untrained_or_wrong_objects(small_adapter):
    keyed, key, task = small_adapter
    fresh = wrap(small_policy().eval(), ["2", "4"], hidden=16)
    with pytest.raises(InputError, match="not been trained"):
        privacy_report(fresh, key, task.test_states)
    with pytest.raises(InputError, match="KeyedModule or an Adapter"):
        privacy_report(task.policy, key, task.test_states)
    with pytest.raises(InputError, match="version-1"):
        PrivacyReport.from_json({"version": 99})
