"""Selecting a way the base already knows: the δ of its selection layers, fitted alone first.

A base trained across many ways of doing its tasks takes them as inputs (the household base's style numbers:
a layer fed with ones, so δ on that layer *is* the style). For a person whose way is one of them, the best
adapter is that selection and nothing else: a handful of numbers fitted from the demonstrations, with the base
itself doing the rest. Two measured facts shape how they are fitted:

- The loss is sharp and far from convex in them. The network predicts the next *step*, so a target 1 cm off
  changes the last steps of every approach by a large share of a step: alex (serve_left) at style numbers 0.05
  off the truth has 4.6x the loss of the truth. L-BFGS from δ = 1 ran off to (0.10, 2.26) for alex (truth
  (0.2, 1.8)), held-out error 1.18; pia 0.52, noa 0.88.
- A coarse grid per number (coordinate sweeps) lands in the right basin, and L-BFGS from there finds the truth:
  alex (0.20, 1.80), noa 1.80, pia (0.20, 1.50), sam, ray's five numbers; held-out error equal to the base's own
  error with the exact numbers (alex 0.036, sam 0.018, noa 0.016, pia 0.009, ray 0.037; base 43bb294e, seed 0).

Numbers whose loss does not move at all (another task's block) are skipped and stay at 1 exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .keyed import KeyedModule

# δ values tried per number: the trained range u ∈ [0, 2] with a margin (δ reaches (1 - s, 1 + s), s = 2).
GRID_POINTS = 41
GRID_LOW, GRID_HIGH = -0.6, 2.6
SWEEPS = 2
SEARCH_ROWS = 384  # rows for the grid (each try is one forward pass); L-BFGS refines on all the sample's rows
REFINE_ROUNDS = 3


def fit_selection(
    keyed: KeyedModule,
    layers: tuple[str, ...],
    states: torch.Tensor,
    actions: torch.Tensor,
    inv_var: torch.Tensor,
    start: dict[str, torch.Tensor] | None = None,
    tick: Callable[[], None] = lambda: None,
) -> dict[str, torch.Tensor]:
    """δ for every layer: the selection `layers` fitted to (states -> actions), every other layer 1 exactly.

    `start`: a previous adapter's δ (an update starts from the person's current way); its other layers are ignored.
    `tick` is called once per tried value (progress and cancel).
    """
    unknown = [n for n in layers if n not in keyed.layer_dims]
    if unknown:
        raise ValueError(f"selection layers {unknown} are not wrapped; wrapped: {list(keyed.layer_dims)}")
    deltas = {n: torch.ones(d) for n, d in keyed.layer_dims.items()}
    if start is not None:
        for n in layers:
            deltas[n] = start[n].detach().clone()
    xs, ys = states[:SEARCH_ROWS], actions[:SEARCH_ROWS]

    def loss(x: torch.Tensor, y: torch.Tensor, d: dict[str, torch.Tensor]) -> torch.Tensor:
        out = keyed.call_with((x,), {}, d, None).reshape(x.shape[0], -1)
        value: torch.Tensor = ((out - y).square() * inv_var).mean()
        return value

    grid = torch.linspace(GRID_LOW, GRID_HIGH, GRID_POINTS)
    with torch.no_grad():
        current = float(loss(xs, ys, deltas))
        live = []
        for n in layers:
            for i in range(deltas[n].shape[0]):
                kept = float(deltas[n][i])
                moved = []
                for probe in (GRID_LOW, GRID_HIGH):
                    deltas[n][i] = probe
                    moved.append(abs(float(loss(xs, ys, deltas)) - current) > 1e-9 * max(current, 1e-12))
                deltas[n][i] = kept
                if any(moved):
                    live.append((n, i))
        for _ in range(SWEEPS):
            for n, i in live:
                best_value, best = float(deltas[n][i]), current
                for value in grid:
                    tick()
                    deltas[n][i] = value
                    trial = float(loss(xs, ys, deltas))
                    if trial < best:
                        best_value, best = float(value), trial
                deltas[n][i] = best_value
                current = best
    if live:
        _refine(keyed, layers, deltas, states, actions, loss, tick)
    return deltas


def _refine(
    keyed: KeyedModule,
    layers: tuple[str, ...],
    deltas: dict[str, torch.Tensor],
    states: torch.Tensor,
    actions: torch.Tensor,
    loss: Callable[[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]], torch.Tensor],
    tick: Callable[[], None],
) -> None:
    """L-BFGS on the selection layers from the grid's basin (in place); kept only where it lowers the loss."""
    free = {n: deltas[n].clone().requires_grad_(True) for n in layers}
    lbfgs = torch.optim.LBFGS(list(free.values()), lr=1.0, max_iter=20, history_size=20,
                              line_search_fn="strong_wolfe")

    def current() -> dict[str, torch.Tensor]:
        return {n: free[n] if n in free else d for n, d in deltas.items()}

    def closure() -> torch.Tensor:
        lbfgs.zero_grad(set_to_none=True)
        value = loss(states, actions, current())
        value.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        return value

    with torch.no_grad():
        before = float(loss(states, actions, deltas))
    for _ in range(REFINE_ROUNDS):
        tick()
        lbfgs.step(closure)  # type: ignore[no-untyped-call]
    limit = keyed.encoder_config.delta_scale * 0.999  # the encoders reach δ ∈ (1 - scale, 1 + scale)
    with torch.no_grad():
        for n in layers:
            free[n].clamp_(1.0 - limit, 1.0 + limit)
        after = float(loss(states, actions, current()))
        if after < before and all(bool(torch.isfinite(free[n]).all()) for n in layers):
            for n in layers:
                deltas[n] = free[n].detach().clone()
