"""The base policy network: a small MLP from (joint positions, task context) to the next joint targets.

Input  obs (..., 14) = q (6, rad) + task context (8), raw units.
Output (..., 6) = the normalized step (q' - q) / STEP_SCALE, nominally in [-1, 1]; `step()` turns it into
the next joint targets q'. The network first adds fixed (non-trained) features: the gripper tip position
from the arm's kinematics and its horizontal offsets to the object and the target, so deciding "am I at the
cup yet?" is a simple function for the MLP. Normalization lives in buffers, saved with the weights.

The hidden layers are plain nn.Linear named fc1, fc2, fc3, head: PRoP wraps them by name.
"""

from __future__ import annotations

import torch
from torch import nn

from prop_desktop.policy.expert import STEP_SCALE
from prop_desktop.policy.kinematics import (
    FOREARM,
    GRIPPER,
    JOINT_LIMITS,
    SHOULDER,
    UPPER_ARM,
    WRIST,
)
from prop_desktop.policy.tasks import CONTEXT_DIM, N_TASKS

OBS_DIM = 6 + CONTEXT_DIM
ACT_DIM = 6
FEATURE_DIM = OBS_DIM + 3 + 4 + 2
LAYER_NAMES: tuple[str, ...] = ("fc1", "fc2", "fc3", "head")
_LINKS = [[float(v[0]), float(v[1])] for v in (UPPER_ARM, FOREARM, WRIST, GRIPPER)]


def tip_features(obs: torch.Tensor) -> torch.Tensor:
    """Differentiable tip position and its horizontal offsets/distances to object and target: (..., 9)."""
    # Planar chain in the arm's vertical plane, all four links at once: a handful of tensor ops instead of a
    # Python loop keeps a batch-1 control step cheap (the features used to cost more than the whole MLP).
    q = obs[..., :6]
    pitch = -torch.cumsum(q[..., 1:4], dim=-1)  # absolute pitch of upper arm, forearm, wrist
    angles = torch.cat([pitch, pitch[..., 2:3]], dim=-1)  # the gripper link shares the wrist's pitch
    c, s = torch.cos(angles), torch.sin(angles)
    links = torch.as_tensor(_LINKS, dtype=obs.dtype)
    r = float(SHOULDER[0]) + (c * links[:, 0] - s * links[:, 1]).sum(dim=-1)
    z = float(SHOULDER[1]) + (s * links[:, 0] + c * links[:, 1]).sum(dim=-1)
    yaw = -q[..., 0]
    tip = torch.stack([r * torch.cos(yaw), r * torch.sin(yaw), z], dim=-1)
    places = obs[..., 6 + N_TASKS : 6 + N_TASKS + 4].unflatten(-1, (2, 2))  # object (x, y), target (x, y)
    offsets = tip[..., None, :2] - places
    return torch.cat([tip, offsets.flatten(-2), offsets.norm(dim=-1)], dim=-1)


class BasePolicy(nn.Module):
    def __init__(self, hidden: int = 192) -> None:
        super().__init__()
        self.hidden = hidden
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

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.cat([obs, tip_features(obs)], dim=-1)

    def set_normalization(self, obs: torch.Tensor) -> None:
        """Fit the input normalization to a sample of observations (N, 14)."""
        with torch.no_grad():
            f = self.features(obs)
            self.feature_mean.copy_(f.mean(dim=0))
            self.feature_std.copy_(f.std(dim=0).clamp_min(1e-3))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = (self.features(obs) - self.feature_mean) / self.feature_std
        x = self.act(self.fc1(x))
        x = self.act(self.fc2(x))
        x = self.act(self.fc3(x))
        return self.head(x)

    def next_targets(self, obs: torch.Tensor, output: torch.Tensor | None = None) -> torch.Tensor:
        """Next joint targets q' (..., 6) from observations (and optionally a precomputed forward output)."""
        out = self(obs) if output is None else output
        q = obs[..., :6]
        return torch.minimum(torch.maximum(q + out.clamp(-1.0, 1.0) * self.step_scale, self.q_low), self.q_high)


def make_obs(q: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    return torch.cat([q, context.expand(*q.shape[:-1], context.shape[-1])], dim=-1)


@torch.no_grad()
def step(policy: nn.Module, q, task_context, key=None):
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
    return out.numpy() if as_numpy else out


def _find_base(module: nn.Module) -> BasePolicy:
    for m in module.modules():
        if isinstance(m, BasePolicy):
            return m
    raise TypeError("step() needs a BasePolicy or a module that wraps one")
