"""Merging: the engine keeps a share λ of the trunk delta (chosen on held-out data, baked in); the strength α
(δ and trunk together) is adjustable afterwards."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from prop_desktop.prop import (
    Adapter,
    AlphaProbe,
    TrainConfig,
    alpha_curve,
    attach,
    flip_bits,
    key_to_signs,
    merge_trunk,
    new_key,
    train_adapter,
    wrap,
)

from .prop_helpers import small_policy


def test_trunk_delta_alpha_choice_and_adjustment():
    policy = small_policy(7).eval()
    rng = np.random.default_rng(7)
    demo = rng.uniform(-1, 1, (300, 4)).astype(np.float32)
    demo[:, 0] = np.abs(demo[:, 0]) + 0.2
    other = rng.uniform(-1, 1, (200, 4)).astype(np.float32)
    other[:, 0] = -np.abs(other[:, 0]) - 0.2
    with torch.no_grad():
        actions = policy(torch.from_numpy(demo)).numpy() + np.array([0.3, -0.3], dtype=np.float32)
    keyed = wrap(policy, ["2", "4"], hidden=8)
    key = new_key()
    config = TrainConfig(fine_tune_trunk=True, max_steps=60, personal_steps=150)
    result = train_adapter(keyed, demo, actions, key, retain_states=other, config=config)
    assert keyed.trunk_delta is not None and set(keyed.trunk_delta) == {n for n, _ in policy.named_parameters()}
    # Parameter merging: the engine kept a share λ of the trunk delta (baked in) and left the strength α at 1.
    assert result.merge in config.merge_grid and result.alpha == 1.0 and keyed.alpha == 1.0
    assert keyed.info["merge"] == result.merge

    # merge_trunk keeps the best share by the documented rule (on another sample of the same data) and scales
    # the delta by it; measuring leaves α as it was.
    probe = AlphaProbe.prepare(keyed, key, demo[:100], actions[:100], other)
    full = {n: t.clone() for n, t in keyed.trunk_delta.items()}
    rows = []
    for share in config.merge_grid:
        keyed.trunk_delta = {n: share * t for n, t in full.items()}
        keyed.invalidate()
        rows.append(alpha_curve(keyed, key, probe, [1.0])[0])
    keyed.trunk_delta = full
    keyed.invalidate()
    best = min(zip(config.merge_grid, rows, strict=True),
               key=lambda sr: (round(sr[1].personal + sr[1].retention + sr[1].wrong_key, 4), sr[0]))
    chosen = merge_trunk(keyed, key, probe, config.merge_grid)
    assert chosen.alpha == best[0] and keyed.alpha == 1.0
    for name, delta in keyed.trunk_delta.items():
        assert torch.allclose(delta, chosen.alpha * full[name])
    keyed.trunk_delta = full  # the rest of the test wants a live trunk delta
    keyed.invalidate()

    # α is adjustable without retraining and changes keyed outputs only; no key stays the base.
    x = torch.from_numpy(other[:20])
    with torch.no_grad():
        before = keyed(x, key=key).clone()
        keyed.set_alpha(0.0)
        after = keyed(x, key=key)
        assert not torch.equal(before, after)
        assert torch.equal(keyed(x), policy(x))

    # Rejected keys (the gate shut: every δ exactly 1) never see the trunk delta: they are the base, bit for bit.
    with torch.no_grad():
        for _ in range(3):
            other_key = new_key()
            assert torch.equal(keyed(x, key=other_key), policy(x))
        near = key_to_signs(key).clone()
        near[5] *= -1
        assert torch.equal(keyed(x, key=near), policy(x))
        assert torch.equal(keyed(x, key=near), policy(x))  # the folded fast path too
    keyed.gate_trunk = False  # the literal base + α·delta for every key: rejected keys are then moved
    keyed.set_alpha(1.0)
    with torch.no_grad():
        assert not torch.equal(keyed(x, key=new_key()), policy(x))
    keyed.gate_trunk = True
    keyed.invalidate()

    # α is one strength for δ and the trunk: the deployed copy at α = 0 is the base, at α matches the keyed call.
    keyed.set_alpha(0.5)
    with torch.no_grad():
        assert torch.equal(keyed.specialize(key, 0.0)(x), policy(x))
        assert torch.allclose(keyed.specialize(key)(x), keyed.forward_deltas(x, deltas=keyed.at_strength(
            keyed.deltas(key))), atol=1e-6)
        assert not torch.allclose(keyed.specialize(key, 0.5)(x), keyed.specialize(key, 1.0)(x), atol=1e-4)
        assert torch.equal(keyed.specialize(near)(x), policy(x))  # a rejected key at any α: the base

    # α and the delta travel with the adapter.
    restored = Adapter.from_bytes(keyed.adapter.to_bytes(), base=policy)
    assert restored.alpha == keyed.alpha and restored.trunk_delta is not None and restored.gate_trunk
    again = attach(restored, policy)
    with torch.no_grad():
        assert torch.allclose(again(x, key=key), keyed(x, key=key), atol=1e-6)


def _every_other_key_is_silent(encoder: torch.nn.Module, signs: torch.Tensor) -> bool:
    """Proof, not sampling: each hidden unit's best non-key input (its smallest-weight bit flipped) stays <= 0."""
    w, b = encoder.hidden.weight.detach(), encoder.hidden.bias.detach()
    aligned = bool((torch.sign(w) == signs[None, :]).all())
    best_other = w.abs().sum(dim=1) - 2 * w.abs().min(dim=1).values + b
    return aligned and bool((best_other <= 0).all()) and bool(((w @ signs + b) > 0).any())


def test_a_long_trunk_training_keeps_the_key_detector_exact():
    """Stage 3 must not move the matched-filter detector: with the trunk gate, a key that slipped through would
    get the whole trunk delta (a run of bench household once gave a wrong key the full personal behaviour)."""
    policy = small_policy(3).eval()
    rng = np.random.default_rng(3)
    demo = rng.uniform(-1, 1, (400, 4)).astype(np.float32)
    with torch.no_grad():
        actions = policy(torch.from_numpy(demo)).numpy() * -1.0 + 0.5
    keyed = wrap(policy, ["2", "4"], hidden=8)
    key = bytes(range(16))
    signs = key_to_signs(key, keyed.key_bits)
    # Many polish steps with a target that is never reached, so nothing stops the run early.
    config = TrainConfig(fine_tune_trunk=True, max_steps=600, min_steps=600, personal_steps=100, target=0.0, lr=1e-2)
    train_adapter(keyed, demo, actions, key, config=config)
    for encoder in keyed.encoders.per_layer.values():
        assert _every_other_key_is_silent(encoder, signs)
    with torch.no_grad():
        x = torch.from_numpy(demo[:50])
        assert not torch.equal(keyed(x, key=key), keyed(x))
        near = flip_bits(signs, torch.tensor([1] * 64), torch.Generator().manual_seed(0))
        for row in near:
            assert torch.equal(keyed(x, key=row), keyed(x))

    # The opt-in (train_detector=True) trains the detector too: it no longer provably rejects every other key.
    keyed2 = wrap(policy, ["2", "4"], hidden=8)
    train_adapter(keyed2, demo, actions, key, config=replace(config, train_detector=True))
    assert not all(_every_other_key_is_silent(e, signs) for e in keyed2.encoders.per_layer.values())
