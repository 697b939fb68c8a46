"""Selecting a way the base already knows: the δ of its selection layers, fitted alone first.

A base trained across many ways of doing its tasks takes them as inputs (the household base's style numbers:
a layer fed with ones, so δ on that layer *is* the style). For a person whose way is one of them, the best
adapter is that selection and nothing else: a handful of numbers fitted from the demonstrations, with the base
itself doing the rest. Four measured facts shape how they are fitted:

- The loss is sharp and far from convex in them. The network predicts the next *step*, so a target 1 cm off
  changes the last steps of every approach by a large share of a step: alex (serve_left) at style numbers 0.05
  off the truth has 4.6x the loss of the truth. L-BFGS from δ = 1 ran off to (0.10, 2.26) for alex (truth
  (0.2, 1.8)), held-out error 1.18; pia 0.52, noa 0.88.
- A coarse grid per number (coordinate sweeps) lands in the right basin, and L-BFGS from there finds the truth:
  alex (0.20, 1.80), noa 1.80, pia (0.20, 1.50), sam, ray's five numbers; held-out error equal to the base's own
  error with the exact numbers (alex 0.036, sam 0.018, noa 0.016, pia 0.009, ray 0.037; base 43bb294e, seed 0).
- A more precise base makes the basins narrow. On e801b7e5 (waypoint features) the loss of alex's serve spot is
  a needle: 0.01 at the truth, 0.5-0.9 at 0.2 off in either number, 1.2-1.5 almost everywhere else, so a sweep
  of x with y wrong finds no trace of it (alex at seed 1 ended at (1.47, 0.95), held-out 1.24). Hence: a 2-D grid
  of every two numbers that move the same rows (alex found there), sweeps on the rows where the demonstration
  moves at full speed (its step points at the waypoint, so the loss there turns smoothly; pia and ray's serve
  found there), then a sweep on all rows and a fine one; 0, 1 and 2 (the discrete numbers' values) lie on every
  grid. 19 of 20 cases (ten profiles x two seeds) ended on the person's exact numbers.
- The needle can fall between the pair grid's points (ray's pointing pose (0.2, 1.5), step 0.2): its neighbours
  then rank behind a wider valley's point, and the sweeps slide along the valley (height, pitch and reach trade
  off). So each pair's grid is narrowed around its best dozen points (NARROW). `prop-desktop bench selection`
  (ten profiles x six seeds x two row samples, docs/bench/selection-*.json): on the person's numbers 102 -> 113
  of 120, worst held-out 0.51 (pia, seed 1: the bench's own miss of stop 12) -> 0.019 (kim's floor with the
  exact numbers), at 4.0 -> 6.3 s per fit.

Numbers whose loss does not move at all (another task's block) are skipped and stay at 1 exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .keyed import KeyedModule
from .train_config import TrainConfig

# δ values tried per number lie in the range the base was trained over (TrainConfig.select_range; the household
# base's style numbers u ∈ [0, 2]). Outside it the base extrapolates: for a way it does not know, the search
# then ran to the edge of a margin (alex of the UI journey, pointing off to the side: (1.67, 2.60, -1.00)) and
# the trunk delta fitted on top of that drove the arm elsewhere in closed loop in 7 of 8 trainings; inside the
# range (0.74, 2.00, 0.00), 5 of 5 reached her point (see docs/policy.md).
GRID_STEP = 0.1
SWEEPS = 2
PAIR_STEP, PAIR_ROWS = 0.2, 96  # the 2-D grid of two numbers that move the same rows
# ...then narrowed: 5 x 5 points at step 0.1 around the 12 best grid points, 5 x 5 at step 0.05 around the 4 best
# of those. The needle can sit between grid points: ray's pointing pose (0.2, 1.5) at seed 1 has loss 0.002 on its
# rows, its grid neighbours (0.2, 1.4) and (0.2, 1.6) rank 5th and 11th (0.23, 0.30) behind (0.4, 1.8) (0.08),
# from which the coordinate sweeps slide down a valley to held-out 0.050 (truth 0.007).
NARROW = ((0.1, 12), (0.05, 4))
FINE_SPAN, FINE_POINTS = 0.1, 17  # a last sweep at step 0.0125 around each number
SEARCH_ROWS = 384  # rows for the sweeps; L-BFGS refines on all the sample's rows
REFINE_ROUNDS = 3
CRUISE_SPEED = 0.9  # a row "cruises" when its largest step is this share of the demonstrations' 90th percentile

Deltas = dict[str, torch.Tensor]
Number = tuple[str, int]  # (layer, index) of one selection number


def fit_selection(
    keyed: KeyedModule,
    layers: tuple[str, ...],
    states: torch.Tensor,
    actions: torch.Tensor,
    inv_var: torch.Tensor,
    start: Deltas | None = None,
    tick: Callable[[], None] = lambda: None,
    bounds: tuple[float, float] = TrainConfig.select_range,
) -> Deltas:
    """δ for every layer: the selection `layers` fitted to (states -> actions), every other layer 1 exactly.

    `start`: a previous adapter's δ (an update starts from the person's current way); its other layers are ignored.
    An update skips the pair grids, which look for the basin: it starts in one, and the grids cost ray (seven
    numbers) ~5 s of a correction round's 10 (bench household seed 0: a round of 11.2 s with them).
    `tick` is called once per batch of tried values (progress and cancel). `bounds`: the range of the selection
    numbers the base was trained over; every value tried, and the result, lies in it.
    """
    unknown = [n for n in layers if n not in keyed.layer_dims]
    if unknown:
        raise ValueError(f"selection layers {unknown} are not wrapped; wrapped: {list(keyed.layer_dims)}")
    deltas = {n: torch.ones(d) for n, d in keyed.layer_dims.items()}
    if start is not None:
        for n in layers:
            deltas[n] = start[n].detach().clone()
    xs, ys = states[:SEARCH_ROWS], actions[:SEARCH_ROWS]

    def loss(x: torch.Tensor, y: torch.Tensor, d: Deltas) -> torch.Tensor:
        out = keyed.call_with((x,), {}, d, None).reshape(x.shape[0], -1)
        value: torch.Tensor = ((out - y).square() * inv_var).mean()
        return value

    with torch.no_grad():
        for n in layers:
            deltas[n].clamp_(*bounds)
        live, moves = _live_numbers(keyed, layers, deltas, xs, bounds)
        if not live:
            return deltas  # nothing the demonstrations show depends on the selection: it stays the base
        _search(_Trials(keyed, deltas, inv_var, tick, bounds), live, moves, xs, ys,
                lambda d: float(loss(xs, ys, d)), pairs=start is None)
    _refine(keyed, layers, deltas, states, actions, loss, tick, bounds)
    return deltas


def _search(trials: _Trials, live: list[Number], moves: dict[Number, torch.Tensor], xs: torch.Tensor,
            ys: torch.Tensor, loss: Callable[[Deltas], float], pairs: bool = True) -> None:
    """2-D grids of every two numbers that move the same rows (`pairs`), sweeps of one number on the cruising rows,
    then on all rows, then a fine sweep (in place on trials.deltas)."""
    deltas = trials.deltas
    grid = _grid(trials.bounds, GRID_STEP)
    pair_grid = torch.cartesian_prod(*[_grid(trials.bounds, PAIR_STEP)] * 2)
    if pairs:
        _pairs(trials, live, moves, xs, ys, loss, pair_grid)
    cruise = _cruising(ys)
    if bool(cruise.any()):
        for _ in range(SWEEPS):
            for number in live:
                trials.sweep(xs[cruise], ys[cruise], [number], grid[:, None])
    for number in live:
        trials.sweep(xs, ys, [number], grid[:, None])
    for number in live:
        fine = float(deltas[number[0]][number[1]]) + torch.linspace(-FINE_SPAN, FINE_SPAN, FINE_POINTS)
        trials.sweep(xs, ys, [number], fine.clamp(*trials.bounds)[:, None])


def _grid(bounds: tuple[float, float], step: float) -> torch.Tensor:
    """Points `step` apart from bounds[0] to bounds[1], exact where they are whole multiples (0, 1, 2: the discrete
    numbers' values lie on every grid)."""
    count = int(round((bounds[1] - bounds[0]) / step)) + 1
    return (bounds[0] + torch.arange(count, dtype=torch.float64) * step).float()


def _pairs(trials: _Trials, live: list[Number], moves: dict[Number, torch.Tensor], xs: torch.Tensor,
           ys: torch.Tensor, loss: Callable[[Deltas], float], grid: torch.Tensor) -> None:
    """Each two numbers that move the same rows set to the best point of `grid` (K, 2), searched on those rows
    and kept only if all the rows agree (in place on trials.deltas)."""
    deltas = trials.deltas
    current = loss(deltas)
    for k, first in enumerate(live):
        for second in live[k + 1 :]:
            both = torch.nonzero(moves[first] & moves[second]).flatten()[:PAIR_ROWS]
            if len(both):
                kept = {n: d.clone() for n, d in deltas.items()}
                trials.narrow(xs[both], ys[both], [first, second], grid)
                after = loss(deltas)
                if after > current:
                    for n, d in kept.items():
                        deltas[n].copy_(d)
                else:
                    current = after


class _Trials:
    """Tries many values of some numbers at once (one forward pass over rows x values) and keeps the best."""

    def __init__(self, keyed: KeyedModule, deltas: Deltas, inv_var: torch.Tensor, tick: Callable[[], None],
                 bounds: tuple[float, float]) -> None:
        self.keyed, self.deltas, self.inv_var, self.tick, self.bounds = keyed, deltas, inv_var, tick, bounds

    def losses(self, x: torch.Tensor, y: torch.Tensor, numbers: list[Number], values: torch.Tensor) -> torch.Tensor:
        """(K,) losses of the K value rows (K, len(numbers)) on the rows x, the other numbers as they are."""
        k, r = values.shape[0], x.shape[0]
        rows = {n: d.expand(k, -1).clone() for n, d in self.deltas.items() if n in {m for m, _ in numbers}}
        for column, (n, i) in enumerate(numbers):
            rows[n][:, i] = values[:, column]
        per_row = {n: (rows[n].repeat_interleave(r, dim=0) if n in rows else d) for n, d in self.deltas.items()}
        out: torch.Tensor = self.keyed.call_with((x.repeat(k, 1),), {}, per_row, None)
        losses: torch.Tensor = ((out.reshape(k, r, -1) - y.reshape(1, r, -1)).square() * self.inv_var).mean(dim=(1, 2))
        return losses

    def narrow(self, x: torch.Tensor, y: torch.Tensor, numbers: list[Number], grid: torch.Tensor) -> None:
        """`sweep` over `grid` (K, len(numbers)) and, around its best points, finer and finer local grids (NARROW)."""
        self.tick()
        candidates = grid[torch.argsort(self.losses(x, y, numbers, grid))[: NARROW[0][1]]]
        for k, (step, _) in enumerate(NARROW):
            offsets = torch.cartesian_prod(*[torch.linspace(-2 * step, 2 * step, 5)] * len(numbers))
            local = (candidates[:, None, :] + offsets[None]).reshape(-1, len(numbers)).clamp(*self.bounds)
            keep = NARROW[k + 1][1] if k + 1 < len(NARROW) else 1
            self.tick()
            candidates = local[torch.argsort(self.losses(x, y, numbers, local))[:keep]]
        self.sweep(x, y, numbers, candidates)

    def sweep(self, x: torch.Tensor, y: torch.Tensor, numbers: list[Number], values: torch.Tensor) -> None:
        """Set `numbers` to the best row of `values` if it beats what they are now (in place)."""
        self.tick()
        now = torch.tensor([[float(self.deltas[n][i]) for n, i in numbers]])
        losses = self.losses(x, y, numbers, torch.cat([now, values]))
        best = int(torch.argmin(losses))
        if best > 0 and bool(losses[best] < losses[0]):
            for column, (n, i) in enumerate(numbers):
                self.deltas[n][i] = values[best - 1, column]


def _cruising(actions: torch.Tensor) -> torch.Tensor:
    """Rows where the demonstration moves at full speed: its step points at a waypoint, in a direction that turns
    smoothly as a style number moves that waypoint (near a waypoint the step is the exact remaining distance)."""
    speed = actions.abs().amax(dim=1)
    cruise: torch.Tensor = speed >= CRUISE_SPEED * torch.quantile(speed, 0.9)
    return cruise


def _live_numbers(keyed: KeyedModule, layers: tuple[str, ...], deltas: Deltas, states: torch.Tensor,
                  bounds: tuple[float, float]) -> tuple[list[Number], dict[Number, torch.Tensor]]:
    """The selection numbers that move the output on some row, and those rows (another task's block moves none:
    its numbers stay exactly 1)."""
    base = keyed.call_with((states,), {}, deltas, None).reshape(states.shape[0], -1)
    live: list[Number] = []
    moves: dict[Number, torch.Tensor] = {}
    for n in layers:
        for i in range(deltas[n].shape[0]):
            kept = float(deltas[n][i])
            rows = torch.zeros(states.shape[0], dtype=torch.bool)
            for probe in bounds:
                deltas[n][i] = probe
                out = keyed.call_with((states,), {}, deltas, None).reshape(states.shape[0], -1)
                rows |= ((out - base).abs() > 1e-6).any(dim=1)
            deltas[n][i] = kept
            if bool(rows.any()):
                live.append((n, i))
                moves[(n, i)] = rows
    return live, moves


def _refine(
    keyed: KeyedModule,
    layers: tuple[str, ...],
    deltas: Deltas,
    states: torch.Tensor,
    actions: torch.Tensor,
    loss: Callable[[torch.Tensor, torch.Tensor, Deltas], torch.Tensor],
    tick: Callable[[], None],
    bounds: tuple[float, float],
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
    low, high = max(bounds[0], 1.0 - limit), min(bounds[1], 1.0 + limit)
    with torch.no_grad():
        for n in layers:
            free[n].clamp_(low, high)
        after = float(loss(states, actions, current()))
        if after < before and all(bool(torch.isfinite(free[n]).all()) for n in layers):
            for n in layers:
                deltas[n] = free[n].detach().clone()
