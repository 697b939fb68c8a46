"""Adapters: safetensors + JSON bound to the base model's hash; round trips; refusals with clear errors."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from prop_desktop.prop import (
    FORMAT_VERSION,
    Adapter,
    AdapterError,
    AdapterMismatchError,
    attach,
    model_hash,
    wrap,
)

from .prop_helpers import small_policy


def test_model_hash_is_stable_and_sensitive(trained):
    keyed, _, _, _ = trained
    h = model_hash(keyed.base)
    assert len(h) == 64 and h == model_hash(keyed.base)
    other = small_policy(0)
    assert model_hash(other) == h  # same seed, same weights
    with torch.no_grad():
        other[0].weight[0, 0] += 1e-6
    assert model_hash(other) != h


def test_save_load_round_trip_reproduces_the_outputs(trained, tmp_path):
    keyed, key, task, _ = trained
    path = keyed.adapter.save(tmp_path / "user.safetensors")
    loaded = Adapter.load(path, base=keyed.base)
    assert loaded.layers == ["2", "4"] and loaded.key_bits == 128 and loaded.alpha == 1.0
    description = json.loads(_header(path.read_bytes())["__metadata__"]["prop_adapter"])
    assert description["format_version"] == FORMAT_VERSION
    assert description["base_hash"] == model_hash(keyed.base)
    assert description["layers"] == ["2", "4"] and description["encoder"]["key_bits"] == 128
    fresh = attach(loaded, small_policy(0).eval())
    x = torch.from_numpy(task.test_states)
    with torch.no_grad():
        # Equal up to float rounding: a repeated key runs a copy with δ folded into the weights.
        assert torch.allclose(fresh(x, key=key), keyed(x, key=key), atol=1e-6)
        assert torch.equal(fresh(x), keyed.base(x))


def test_bytes_round_trip_is_self_contained(trained):
    keyed, key, task, _ = trained
    blob = keyed.adapter.to_bytes()
    assert isinstance(blob, bytes) and b"pickle" not in blob
    restored = attach(Adapter.from_bytes(blob, base=keyed.base), keyed.base)
    x = torch.from_numpy(task.test_states)
    with torch.no_grad():
        assert torch.allclose(restored(x, key=key), keyed(x, key=key), atol=1e-6)
    second = wrap(keyed.base, ["2", "4"], hidden=16)
    second.load_adapter(Adapter.from_bytes(blob))
    assert second.trained


def test_adapter_for_another_base_model_is_refused(trained, tmp_path):
    keyed, _, _, _ = trained
    path = keyed.adapter.save(tmp_path / "a.safetensors")
    with pytest.raises(AdapterMismatchError, match="belongs to base model"):
        Adapter.load(path, base=small_policy(9))
    with pytest.raises(AdapterMismatchError):
        attach(Adapter.load(path), small_policy(9))


def test_wrong_layers_are_refused(trained):
    keyed, _, _, _ = trained
    other = wrap(keyed.base, ["2"], hidden=16)
    with pytest.raises(AdapterMismatchError, match="layers"):
        other.load_adapter(keyed.adapter)


def _header(blob: bytes) -> dict:
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8 : 8 + n])


def _rewrite_description(blob: bytes, change) -> bytes:
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    description = json.loads(header["__metadata__"]["prop_adapter"])
    change(description)
    header["__metadata__"]["prop_adapter"] = json.dumps(description)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + blob[8 + n :]


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda b: b[: len(b) // 2], "corrupt or truncated"),
        (lambda b: b[:5], "truncated"),
        (lambda b: b"", "truncated"),
        (lambda b: b"\x00" * 64, "not a safetensors"),
        (lambda b: b"hello world, not an adapter at all" * 4, "not a safetensors"),
        (lambda b: _rewrite_description(b, lambda d: d.update(format_version=99)), "version"),
        (lambda b: _rewrite_description(b, lambda d: d.update(format="other")), "not a PRoP adapter"),
        (lambda b: _rewrite_description(b, lambda d: d.pop("layers")), "missing or has a malformed field"),
        (lambda b: _rewrite_description(b, lambda d: d["encoder"].update(hidden=99)), "shape"),
        (lambda b: _rewrite_description(b, lambda d: d.update(alpha=7)), "alpha"),
    ],
)
def test_malformed_adapters_are_refused_clearly(trained, corrupt, message):
    keyed, _, _, _ = trained
    with pytest.raises(AdapterError, match=message):
        Adapter.from_bytes(corrupt(keyed.adapter.to_bytes()))


def test_nan_weights_are_refused(trained):
    keyed, _, _, _ = trained
    adapter = keyed.adapter
    name = next(iter(adapter.encoder_state))
    adapter.encoder_state[name] = torch.full_like(adapter.encoder_state[name], float("nan"))
    with pytest.raises(AdapterError, match="NaN"):
        Adapter.from_bytes(adapter.to_bytes())


def test_missing_files_and_folders_are_reported(tmp_path):
    with pytest.raises(AdapterError, match="does not exist"):
        Adapter.load(tmp_path / "nope.safetensors")
    with pytest.raises(AdapterError, match="folder"):
        Adapter.load(tmp_path)
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{broken json}!!!")
    with pytest.raises(AdapterError, match="bad.safetensors"):
        Adapter.load(tmp_path / "bad.safetensors")


def test_alpha_is_edited_in_place_without_torch(trained):
    """The app reads and sets a skill's α in plain Python: the blob changes only in its description."""
    import subprocess
    import sys

    from prop_desktop.prop import adapter_alpha, with_alpha

    keyed, key, task, _ = trained
    blob = keyed.adapter.to_bytes()
    edited = with_alpha(blob, 0.35)
    assert adapter_alpha(blob) == keyed.alpha and adapter_alpha(edited) == 0.35
    loaded = Adapter.from_bytes(edited, base=keyed.base)
    assert loaded.alpha == 0.35
    assert all(torch.equal(loaded.encoder_state[k], v) for k, v in keyed.adapter.encoder_state.items())
    with pytest.raises(AdapterError, match="outside"):
        with_alpha(blob, 3.0)
    with pytest.raises(AdapterError, match="not a PRoP adapter"):
        adapter_alpha(b"\x00" * 4)
    code = "import sys; import prop_desktop.prop.adapter_format; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
