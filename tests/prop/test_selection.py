"""Selecting a way the base knows: the selection layer's δ fitted alone, and kept alone when it generalizes best."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from prop_desktop.prop import TrainConfig, new_key, train_adapter, wrap
from prop_desktop.prop.selection import fit_selection

WAY = torch.tensor([0.3, 1.0, 1.7, 1.0])  # the person's way; the 4th number is one this policy never reads


class KnowsWays(nn.Module):
    """A small policy that takes 'style numbers' from a layer fed with ones (like the household base's `style`).

    The numbers act through a periodic map and a steep nonlinearity (like a target 1 cm off changing every last
    step), so the loss in them is sharp and not convex; over the searched range each way is still unique.
    """

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.style = nn.Linear(4, 4)
        with torch.no_grad():
            self.style.weight.copy_(torch.eye(4))
            self.style.bias.zero_()
        self.body = nn.Linear(9, 32)
        self.head = nn.Linear(32, 3)
        with torch.no_grad():
            self.body.weight[:, 6].zero_()  # the 4th style number feeds nothing

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        u = self.style(x.new_ones(x.shape[0], 4)) if style is None else style.expand(x.shape[0], 4)
        angle = 2.0 * u[:, :3]  # unique over the searched δ range [0, 2]: 2 · 2 < 2π
        step = torch.tanh(8.0 * (torch.cat([torch.sin(angle), torch.cos(angle)], dim=1) - x.repeat(1, 2)))
        return self.head(torch.tanh(self.body(torch.cat([step, u[:, 3:4], x[:, :2]], dim=1)))) + step[:, :3]


def _demonstrations(
    policy: KnowsWays, episodes: int = 10, rows: int = 60, noise: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(episodes * rows, 3, generator=gen) * 2 - 1
    with torch.no_grad():
        y = policy(x, style=WAY) + noise * torch.randn(episodes * rows, 3, generator=gen)
    return x, y, np.repeat(np.arange(episodes), rows)


def test_the_selection_lands_on_the_persons_way_and_leaves_unread_numbers_exactly_at_one():
    policy = KnowsWays().eval()
    keyed = wrap(policy, ["style", "body", "head"], hidden=16)
    x, y, _ = _demonstrations(policy)
    deltas = fit_selection(keyed, ("style",), x, y, torch.ones(3))
    np.testing.assert_allclose(deltas["style"][:3].numpy(), WAY[:3].numpy(), atol=2e-3)
    assert float(deltas["style"][3]) == 1.0  # never read: not moved at all
    assert torch.equal(deltas["body"], torch.ones(9)) and torch.equal(deltas["head"], torch.ones(32))


def test_for_a_way_outside_the_trained_range_the_selection_stays_inside_it():
    """The base never saw style numbers outside select_range: there it extrapolates, and a trunk delta fitted on
    top of such a start drove the UI journey's Alex elsewhere in closed loop (prop/selection.py)."""
    policy = KnowsWays().eval()
    keyed = wrap(policy, ["style", "body", "head"], hidden=16)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(600, 3, generator=gen) * 2 - 1
    with torch.no_grad():
        y = policy(x, style=torch.tensor([2.4, -0.4, 1.0, 1.0]))
    deltas = fit_selection(keyed, ("style",), x, y, torch.ones(3), bounds=(0.0, 2.0))
    numbers = deltas["style"][:3]
    assert bool((numbers >= 0.0).all() and (numbers <= 2.0).all()), numbers
    assert float(numbers[0]) == 2.0  # the nearest the base knows of a number past its range: the edge


def test_training_keeps_the_selection_alone_when_it_wins_on_held_out_episodes_and_wrong_keys_stay_the_base():
    policy = KnowsWays().eval()
    keyed = wrap(policy, ["style", "body", "head"], hidden=16)
    x, y, episodes = _demonstrations(policy, noise=0.05)  # a person's demonstrations are never exact
    key = new_key()
    config = TrainConfig(fine_tune_trunk=True, select_layers=("style",), seed=0, max_steps=50, personal_steps=200,
                         trunk_lr=3e-3)
    result = train_adapter(keyed, x, y, key, config=config, episodes=episodes)
    assert result.selection_only and keyed.trunk_delta is None
    with torch.no_grad():
        clean = policy(x, style=WAY)
        assert float((keyed(x, key=key) - clean).square().mean()) < 1e-4  # the way itself, not the noise
        for _ in range(8):
            assert torch.equal(keyed(x, key=new_key()), policy(x))  # any other key: exactly the base


def test_held_out_rows_are_whole_episodes_and_corrections_always_train():
    from prop_desktop.prop.train_data import split_rows as _split

    episodes = np.concatenate([np.repeat(np.arange(10), 5), np.full(7, -1)])
    val, train, by_episode = _split(len(episodes), episodes, TrainConfig(), torch.Generator().manual_seed(0))
    assert by_episode and len(val) == 10  # 2 of the 10 demonstrations, whole
    held = set(episodes[val.numpy()])
    assert len(held) == 2 and -1 not in held
    assert not held & set(episodes[train.numpy()])
    with pytest.raises(Exception, match="episodes has 3 entries"):
        _split(len(episodes), np.zeros(3), TrainConfig(), torch.Generator())


def test_an_update_that_would_do_the_held_out_demonstrations_worse_keeps_the_previous_adapter():
    policy = KnowsWays().eval()
    keyed = wrap(policy, ["style", "body", "head"], hidden=16)
    x, y, episodes = _demonstrations(policy, noise=0.05)
    key = new_key()
    config = TrainConfig(fine_tune_trunk=True, select_layers=("style",), seed=0, max_steps=50, personal_steps=200)
    train_adapter(keyed, x, y, key, config=config, episodes=episodes)
    before = keyed.adapter.to_bytes()
    # "Corrections" that contradict the demonstrations (a confused session): always trained on (-1), so the fit
    # moves, and the held-out demonstrations (the same ones as in the first training) get worse.
    gen = torch.Generator().manual_seed(5)
    bad_x = torch.rand(400, 3, generator=gen) * 2 - 1
    with torch.no_grad():
        bad_y = policy(bad_x, style=torch.tensor([1.9, 0.1, 0.2, 1.0]))
    update = train_adapter(
        keyed, torch.cat([x, bad_x]), torch.cat([y, bad_y]), key, config=config, init=keyed.adapter,
        episodes=np.concatenate([episodes, np.full(400, -1)]),
    )
    assert update.kept_previous
    assert update.metrics["val_new"] > update.metrics["val_previous"]
    assert keyed.adapter.to_bytes() == before  # nothing installed
    good = train_adapter(keyed, x, y, key, config=config, init=keyed.adapter, episodes=episodes)
    assert not good.kept_previous  # the same data again is no worse: the update goes through


NEEDLE = torch.tensor([0.2, 1.5])  # between the pair grid's points (step 0.2 from 0): 1.5 is 0.1 from both


class NeedleAndDecoy(nn.Module):
    """Two style numbers whose loss is a needle at the person's way (narrower than the pair grid's step) and a
    wider, shallower valley elsewhere: the grid's best point lies in the valley, the needle's grid neighbours
    rank a few places behind it (ray's pointing pose on the household base, docs/policy.md)."""

    def __init__(self) -> None:
        super().__init__()
        self.style = nn.Linear(2, 2)
        with torch.no_grad():
            self.style.weight.copy_(torch.eye(2))
            self.style.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.style(x.new_ones(x.shape[0], 2))
        needle = torch.exp(-(u - NEEDLE).square().sum(dim=1, keepdim=True) / 0.1**2)
        decoy = torch.exp(-(u - torch.tensor([1.2, 0.4])).square().sum(dim=1, keepdim=True) / 0.15**2)
        return x * (1.0 - needle - 0.7 * decoy + 0.05 * u.sum(dim=1, keepdim=True))


def test_a_way_narrower_than_the_grid_between_its_points_is_found_past_a_wider_valley():
    policy = NeedleAndDecoy().eval()
    keyed = wrap(policy, ["style"], hidden=16)
    x = torch.rand(400, 3, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        y = keyed.call_with((x,), {}, {"style": NEEDLE}, None)  # δ on a layer fed with ones is its style
    deltas = fit_selection(keyed, ("style",), x, y, torch.ones(3))
    np.testing.assert_allclose(deltas["style"].numpy(), NEEDLE.numpy(), atol=5e-3)
