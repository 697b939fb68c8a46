"""Adapter store: sealed bytes per base model, bound to the model hash."""

from __future__ import annotations

import shutil

import pytest

from prop_desktop.storage import AdapterNotFound, AdapterStore, TamperedFile

HASH_1 = "a1" * 32
HASH_2 = "b2" * 32


def test_round_trip_replace_list_delete(adapters_a: AdapterStore) -> None:
    data = bytes(range(256)) * 40
    info = adapters_a.save(HASH_1, data, {"alpha": 0.7, "steps": 300})
    assert info.size == len(data) and info.base_model_hash == HASH_1
    assert adapters_a.load(HASH_1) == data
    assert adapters_a.load_with_meta(HASH_1.upper())[1] == {"alpha": 0.7, "steps": 300}
    adapters_a.save(HASH_1, b"newer")
    assert adapters_a.load(HASH_1) == b"newer"
    adapters_a.save(HASH_2, b"other model")
    assert [i.base_model_hash for i in adapters_a.list()] == [HASH_1, HASH_2]
    assert adapters_a.has(HASH_2)
    adapters_a.delete(HASH_2)
    assert not adapters_a.has(HASH_2)
    with pytest.raises(AdapterNotFound, match="train one first"):
        adapters_a.load(HASH_2)


def test_adapter_bound_to_its_base_model(adapters_a: AdapterStore) -> None:
    adapters_a.save(HASH_1, b"weights for model 1")
    shutil.copyfile(adapters_a.folder / f"{HASH_1}.sealed", adapters_a.folder / f"{HASH_2}.sealed")
    with pytest.raises(TamperedFile):
        adapters_a.load(HASH_2)
    assert adapters_a.verify() and HASH_2[:12] in adapters_a.verify()[0]


@pytest.mark.parametrize("bad", ["", "xyz", "12", "../" + "a" * 20, "a" * 129])
def test_invalid_model_hash(adapters_a: AdapterStore, bad: str) -> None:
    with pytest.raises(ValueError, match="hex"):
        adapters_a.save(bad, b"x")
