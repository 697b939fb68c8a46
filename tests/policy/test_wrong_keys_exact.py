"""Wrong keys measured in batches are the base bit for bit, as each one is when it drives the arm alone."""

from __future__ import annotations

import torch

from prop_desktop.policy.base import DEFAULT_PROP_LAYERS, load_base_policy
from prop_desktop.policy.household_eval import base_distribution_states
from prop_desktop.prop import keyed_outputs_many, per_key_errors, random_signs, wrap


def test_many_rejected_keys_at_once_give_the_base_exactly_whatever_the_chunk_sizes():
    # 1089 states: 15 keys per chunk, so 19 keys make a chunk of 15 and one of 4. The base on 4 x 1089 rows
    # differs from the base on 1089 rows by ~5e-6 (the matrix products sum in another order), which the
    # household bench once reported as a wrong key's error of 4e-14.
    keyed = wrap(load_base_policy(), DEFAULT_PROP_LAYERS)  # untrained encoders: every key is rejected
    states = torch.from_numpy(base_distribution_states(3, 16))[:1089]
    signs = random_signs(19, keyed.key_bits, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert all(bool((d == 1).all()) for d in keyed.encoders(signs).values())
        base = keyed(states)
    out = keyed_outputs_many(keyed, states, signs)
    assert out.shape == (19, 1089, base.shape[1])
    assert torch.equal(out, base.expand(19, -1, -1))
    assert bool((per_key_errors(keyed, states, signs) == 0).all())
