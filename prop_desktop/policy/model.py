"""The base policy network: a small MLP from (joint positions, task context) to the next joint targets.

Input  obs (..., 14) = q (6, rad) + task context (8), raw units.
Output (..., 6) = the normalized step (q' - q) / STEP_SCALE, nominally in [-1, 1]; `step()` turns it into
the next joint targets q'. The network first adds fixed (non-trained) features: the gripper tip position
from the arm's kinematics and its horizontal offsets to the object and the (style's) target, so deciding "am I
at the cup yet?" is a simple function for the MLP, the active task's style numbers (styles.py), and how far each
arm joint still has to turn to each of the task's waypoints (torch_kinematics.waypoint_offsets). Normalization
lives in buffers, saved with the weights.

Style numbers: `style` is an nn.Linear fed with ones (identity weights, zero bias), so its output is u = 1, the
general way, unless PRoP's δ(key) scales its inputs or a trunk delta moves it; base training passes u directly.
The layers are plain nn.Linear named style, fc1, fc2, fc3, head: PRoP wraps them by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from prop_desktop.policy.expert import STEP_SCALE
from prop_desktop.policy.kinematics import JOINT_LIMITS
from prop_desktop.policy.styles import (
    ACTIVE_DIM,
    ACTIVE_NAMES,
    STYLE_DIM,
    active_defaults,
    active_selector,
    style_units,
)
from prop_desktop.policy.tasks import CONTEXT_DIM, N_TASKS
from prop_desktop.policy.torch_kinematics import N_WAYPOINT_FEATURES, tip_features, waypoint_offsets

if TYPE_CHECKING:
    import numpy as np

OBS_DIM = 6 + CONTEXT_DIM
ACT_DIM = 6
FEATURE_DIM = OBS_DIM + 3 + 4 + 2 + ACTIVE_DIM + N_WAYPOINT_FEATURES
LAYER_NAMES: tuple[str, ...] = ("style", "fc1", "fc2", "fc3", "head")
_TARGET = 6 + N_TASKS + 2  # obs index of the target (x, y)
_SHIFT_X, _SHIFT_Y, _BIN_SIDE, _BY_ITEM, _HOVER, _POINT_HEIGHT, _POINT_PITCH, _POINT_REACH = (
    ACTIVE_NAMES.index(n) for n in ("serve_shift_x", "serve_shift_y", "bin_side", "bin_by_item", "hover_height",
                                    "point_height", "point_pitch", "point_reach")
)
_OBJECT_Y = 6 + N_TASKS + 1  # obs index of the object's y


class BasePolicy(nn.Module):
    # The buffers registered in __init__ (register_buffer gives them no static type).
    feature_mean: torch.Tensor
    feature_std: torch.Tensor
    step_scale: torch.Tensor
    q_low: torch.Tensor
    q_high: torch.Tensor
    style_select: torch.Tensor
    active_default: torch.Tensor
    active_unit: torch.Tensor

    def __init__(self, hidden: int = 192) -> None:
        super().__init__()
        self.hidden = hidden
        self.style = nn.Linear(STYLE_DIM, STYLE_DIM)
        with torch.no_grad():
            self.style.weight.copy_(torch.eye(STYLE_DIM))
            self.style.bias.zero_()
        self.fc1 = nn.Linear(FEATURE_DIM, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, ACT_DIM)
        self.act = nn.SiLU()
        self.register_buffer("feature_mean", torch.zeros(FEATURE_DIM))
        self.register_buffer("feature_std", torch.ones(FEATURE_DIM))
        self.register_buffer("step_scale", torch.as_tensor(STEP_SCALE, dtype=torch.float32))
        self.register_buffer("q_low", torch.as_tensor(JOINT_LIMITS[:, 0], dtype=torch.float32))
        self.register_buffer("q_high", torch.as_tensor(JOINT_LIMITS[:, 1], dtype=torch.float32))
        self.register_buffer("style_select", torch.as_tensor(active_selector()))
        self.register_buffer("active_default", torch.as_tensor(active_defaults()))
        unit = (style_units()[:, None] * active_selector().max(axis=0)).max(axis=0)  # one unit per active feature
        self.register_buffer("active_unit", torch.as_tensor(unit, dtype=torch.float32))

    def style_numbers(self, obs: torch.Tensor) -> torch.Tensor:
        """u (..., STYLE_DIM): 1 everywhere for the general way, moved by a key's δ or trunk delta."""
        u: torch.Tensor = self.style(obs.new_ones(*obs.shape[:-1], STYLE_DIM))
        return u

    def features(self, obs: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        select = torch.einsum("...t,tsa->...sa", obs[..., 6 : 6 + N_TASKS], self.style_select)
        active = torch.einsum("...s,...sa->...a", style, select) + (1.0 - select.sum(dim=-2))  # absent: u = 1
        value = self.active_default + self.active_unit * (active - 1.0)
        target = obs[..., _TARGET : _TARGET + 2]
        tx = target[..., 0] + value[..., _SHIFT_X]
        ty = (target[..., 1] + value[..., _SHIFT_Y]) * value[..., _BIN_SIDE]
        # The bin on the item's side: the asked bin's distance from the centre line, on the item's side
        # (both bins stand at the same x). Blended, so a key's δ moves it smoothly while it is fitted.
        item_side = torch.where(obs[..., _OBJECT_Y] >= 0, 1.0, -1.0) * target[..., 1].abs()
        ty = ty + value[..., _BY_ITEM] * (item_side - ty)
        effective = torch.stack([tx, ty], dim=-1)
        waypoints = waypoint_offsets(obs, effective, value[..., _HOVER], value[..., _POINT_HEIGHT],
                                     value[..., _POINT_PITCH], value[..., _POINT_REACH])
        return torch.cat([obs, tip_features(obs, effective), active - 1.0, waypoints], dim=-1)

    def set_normalization(self, obs: torch.Tensor, style: torch.Tensor | None = None) -> None:
        """Fit the input normalization to a sample of observations (N, 14) and their style numbers (N, STYLE_DIM)."""
        with torch.no_grad():
            f = self.features(obs, self.style_numbers(obs) if style is None else style)
            self.feature_mean.copy_(f.mean(dim=0))
            self.feature_std.copy_(f.std(dim=0).clamp_min(1e-3))

    def forward(self, obs: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """obs (..., 14) -> normalized step (..., 6); `style` (..., STYLE_DIM) overrides the style layer (training)."""
        u = self.style_numbers(obs) if style is None else style
        return self.from_features(self.normalized_features(obs, u))

    def normalized_features(self, obs: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = (self.features(obs, style) - self.feature_mean) / self.feature_std
        return result

    def from_features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized features (..., FEATURE_DIM) -> normalized step (..., 6): the trained layers after the style."""
        x = self.act(self.fc1(x))
        x = self.act(self.fc2(x))
        x = self.act(self.fc3(x))
        step: torch.Tensor = self.head(x)
        return step

    def next_targets(self, obs: torch.Tensor, output: torch.Tensor | None = None) -> torch.Tensor:
        """Next joint targets q' (..., 6) from observations (and optionally a precomputed forward output)."""
        out: torch.Tensor = self(obs) if output is None else output
        q = obs[..., :6]
        return torch.minimum(torch.maximum(q + out.clamp(-1.0, 1.0) * self.step_scale, self.q_low), self.q_high)


def make_obs(q: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    return torch.cat([q, context.expand(*q.shape[:-1], context.shape[-1])], dim=-1)


@torch.no_grad()
def step(policy: nn.Module, q: np.ndarray | torch.Tensor, task_context: np.ndarray | torch.Tensor,
         key: bytes | None = None) -> np.ndarray | torch.Tensor:
    """One control tick: joint positions (6,) or (N, 6) + context (8,) or (N, 8) -> next joint targets.

    Works with the base policy or a PRoP-wrapped one (any module whose forward maps obs -> normalized step);
    with `key`, calls `policy(obs, key=key)` (a KeyedModule from prop_desktop.prop.wrap).
    numpy in, numpy out (float32); torch in, torch out.
    """
    import numpy as np

    as_numpy = not isinstance(q, torch.Tensor)
    qt = torch.as_tensor(np.asarray(q, dtype=np.float32) if as_numpy else q, dtype=torch.float32)
    ct = task_context if isinstance(task_context, torch.Tensor) else torch.as_tensor(np.asarray(task_context))
    ct = ct.to(torch.float32)
    obs = make_obs(qt, ct)
    base = policy if isinstance(policy, BasePolicy) else _find_base(policy)
    out = base.next_targets(obs, policy(obs) if key is None else policy(obs, key=key))
    targets: np.ndarray | torch.Tensor = out.numpy() if as_numpy else out
    return targets


def _find_base(module: nn.Module) -> BasePolicy:
    for m in module.modules():
        if isinstance(m, BasePolicy):
            return m
    raise TypeError("step() needs a BasePolicy or a module that wraps one")
