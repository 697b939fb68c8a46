"""The arm's kinematics as differentiable torch features for the policy network.

`tip_features`: where the gripper tip is and how far it is from the object and the target.
`waypoint_offsets`: how far each arm joint still has to turn to reach each waypoint of the task, the same
waypoints the expert plans (expert.plan): above/at the object, above/at the target, the pointing pose, each
solved by the same analytic IK at the same gripper pitch. The expert's step is a clipped straight line to one
of them, so with these offsets the network's job near a waypoint is a choice and a clip, not an inverse
kinematics it has to learn: on base e7f94408 (no such features) half to three quarters of the error with a
person's exact style numbers sat in the ticks within two steps of a waypoint (docs/policy.md, stop 12).

They are functions of the observation and the style values only, so a key's δ on the style numbers moves the
waypoints (hover height, serve spot, bin, pointing pose) and the gradient flows through the IK to δ.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import torch

from prop_desktop.policy.expert import BASE_STYLE, GRASP_PITCH_LOW_SHARE
from prop_desktop.policy.kinematics import (
    FOREARM,
    GRIPPER,
    JOINT_LIMITS,
    PITCH_SEARCH_HIGH,
    PITCH_SEARCH_LOW,
    PITCH_SEARCH_STEPS,
    SHOULDER,
    TOOL,
    UPPER_ARM,
    WRIST,
)
from prop_desktop.policy.tasks import CONTEXT_DIM, N_TASKS, TASK_NAMES

_LINKS = [[float(v[0]), float(v[1])] for v in (UPPER_ARM, FOREARM, WRIST, GRIPPER)]
_L1, _A1 = math.hypot(*UPPER_ARM), math.atan2(UPPER_ARM[1], UPPER_ARM[0])
_L2, _A2 = math.hypot(*FOREARM), math.atan2(FOREARM[1], FOREARM[0])
_TOOL = (float(TOOL[0]), float(TOOL[1]))
_SHOULDER = (float(SHOULDER[0]), float(SHOULDER[1]))
_ARM_LIMITS = torch.as_tensor(JOINT_LIMITS[:4], dtype=torch.float32)
# The pitch grid of kinematics.feasible_pitch_range: the features must name the expert's waypoints.
_PITCH_GRID = torch.linspace(PITCH_SEARCH_LOW, PITCH_SEARCH_HIGH, PITCH_SEARCH_STEPS, dtype=torch.float64)
_PITCH_GRID = _PITCH_GRID.to(torch.float32)
_PUT_AWAY = TASK_NAMES.index("put_away")
_STYLE_VALUES = 6  # target x, y, hover, point height, pitch, reach: what waypoint_offsets takes besides obs
_ROW_HASH = torch.randn(CONTEXT_DIM + _STYLE_VALUES, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
N_WAYPOINT_FEATURES = 5 * 4  # above object, at object, above target, at target, pointing pose x 4 arm joints


def tip_features(obs: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """Differentiable tip position and its horizontal offsets/distances to object and target: (..., 9).

    `target` (..., 2) replaces the context's target (the place this style actually takes the object to)."""
    # Planar chain in the arm's vertical plane, all four links at once: a handful of tensor ops instead of a
    # Python loop keeps a batch-1 control step cheap (the features used to cost more than the whole MLP).
    q = obs[..., :6]
    pitch = -torch.cumsum(q[..., 1:4], dim=-1)  # absolute pitch of upper arm, forearm, wrist
    angles = torch.cat([pitch, pitch[..., 2:3]], dim=-1)  # the gripper link shares the wrist's pitch
    c, s = torch.cos(angles), torch.sin(angles)
    links = torch.as_tensor(_LINKS, dtype=obs.dtype)
    r = _SHOULDER[0] + (c * links[:, 0] - s * links[:, 1]).sum(dim=-1)
    z = _SHOULDER[1] + (s * links[:, 0] + c * links[:, 1]).sum(dim=-1)
    yaw = -q[..., 0]
    tip = torch.stack([r * torch.cos(yaw), r * torch.sin(yaw), z], dim=-1)
    places = torch.unflatten(obs[..., 6 + N_TASKS : 6 + N_TASKS + 4], -1, (2, 2))  # object (x, y), target (x, y)
    if target is not None:
        places = torch.stack([places[..., 0, :], target.expand_as(places[..., 1, :])], dim=-2)
    offsets = tip[..., None, :2] - places
    return torch.cat([tip, offsets.flatten(-2), offsets.norm(dim=-1)], dim=-1)


def _wrap(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


def _ik(point: torch.Tensor, pitch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Analytic IK of kinematics._ik_fixed_pitch: points (..., 3), pitches (...) -> arm joints (..., 4), ok (...)."""
    x, y, z = point.unbind(-1)
    r = torch.sqrt(x * x + y * y + 1e-12)
    c, s = torch.cos(pitch), torch.sin(pitch)
    wrist_r = r - (c * _TOOL[0] - s * _TOOL[1])
    wrist_z = z - (s * _TOOL[0] + c * _TOOL[1])
    dx, dz = wrist_r - _SHOULDER[0], wrist_z - _SHOULDER[1]
    cos_b = (dx * dx + dz * dz - _L1**2 - _L2**2) / (2 * _L1 * _L2)
    in_range = cos_b.abs() <= 1.0
    # Clamped short of ±1: acos has an infinite slope there, and a gradient must stay finite.
    beta = -torch.acos(cos_b.clamp(-1.0 + 1e-6, 1.0 - 1e-6))
    phi1 = torch.atan2(dz, dx) - torch.atan2(_L2 * torch.sin(beta), _L1 + _L2 * torch.cos(beta))
    q1 = _wrap(_A1 - phi1)
    q2 = _wrap(_A2 - _A1 - beta)
    q = torch.stack([-torch.atan2(y, x), q1, q2, _wrap(-pitch - q1 - q2)], dim=-1)
    limits = _ARM_LIMITS.to(q.dtype)
    ok = in_range & ((q >= limits[:, 0] - 1e-6) & (q <= limits[:, 1] + 1e-6)).all(dim=-1)
    return q, ok


def grasp_pitch(point: torch.Tensor) -> torch.Tensor:
    """expert.grasp_pitch on (..., 3) points: 0.6 · lowest + 0.4 · highest reachable pitch (-π/2 where none is).

    A choice on a grid, so it has no gradient; the IK at that pitch does."""
    with torch.no_grad():
        grid = _PITCH_GRID.to(point.dtype)
        _, ok = _ik(point.detach()[..., None, :].expand(*point.shape[:-1], len(grid), 3),
                    grid.expand(*point.shape[:-1], len(grid)))
        low = torch.where(ok, grid, torch.inf).amin(dim=-1)
        high = torch.where(ok, grid, -torch.inf).amax(dim=-1)
        pitch = GRASP_PITCH_LOW_SHARE * low + (1 - GRASP_PITCH_LOW_SHARE) * high
        return torch.where(ok.any(dim=-1), pitch, torch.full_like(pitch, -math.pi / 2))


def waypoint_offsets(obs: torch.Tensor, target: torch.Tensor, hover: torch.Tensor, point_height: torch.Tensor,
                     point_pitch: torch.Tensor, point_reach: torch.Tensor) -> torch.Tensor:
    """(..., 20): waypoint joints minus q for the first four joints, waypoints as expert.plan places them.

    `target` (..., 2) is where the style takes the object; the others are the style's values (...).
    The waypoints depend on the task and the style, not on q, so they are solved once per distinct (context,
    style) - once per episode in a batch of training rows (the pitch search costs 121 IKs per waypoint: 60 ms
    for 1024 rows, 0.6 ms per distinct row) - and the gradient reaches the style through the solved rows."""
    lead = obs.shape[:-1]
    style = torch.stack([target[..., 0], target[..., 1], hover, point_height, point_pitch, point_reach], dim=-1)
    flat_obs, flat_style = obs.reshape(-1, obs.shape[-1]), style.reshape(-1, style.shape[-1])
    # Rows grouped by one number per row, a fixed random projection in float64 (unique over whole rows sorts
    # them and cost more than the IK: 8 ms for 3000 rows).
    rows_in = torch.cat([flat_obs[:, 6:], flat_style.detach()], dim=-1)
    tracing = torch.jit.is_tracing()  # type: ignore[attr-defined,no-untyped-call]  # untyped in torch
    if len(rows_in) == 1 and not torch.is_grad_enabled() and not tracing:  # a trace must record the IK itself
        goals = _one_row_goals(flat_obs, flat_style, rows_in)
        return (goals - flat_obs[:, None, :4]).reshape(*lead, N_WAYPOINT_FEATURES)
    key = rows_in.to(torch.float64) @ _ROW_HASH
    distinct, inverse = torch.unique(key, return_inverse=True)
    rows = torch.arange(len(key), device=key.device)
    first = torch.full((len(distinct),), len(key), dtype=rows.dtype).scatter_reduce(0, inverse, rows, reduce="amin")
    goals = _waypoint_joints(flat_obs[first], *flat_style[first].unbind(-1))[inverse]
    return (goals - flat_obs[:, None, :4]).reshape(*lead, N_WAYPOINT_FEATURES)


# A control step is one row whose context and style stay the same for a whole drive, so its waypoints are solved
# once and kept: bench inference, base policy, batch 1: the features were 2.25 of 3.3 ms per step, nearly all the
# pitch search. Keyed by the row's exact bytes; a few entries (the base and a personal policy may alternate).
_ONE_ROW: OrderedDict[bytes, torch.Tensor] = OrderedDict()
_ONE_ROW_LOCK = threading.Lock()
_ONE_ROW_SIZE = 8


def _one_row_goals(obs: torch.Tensor, style: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
    key = row.to(torch.float64).numpy().tobytes() + str(row.dtype).encode()
    with _ONE_ROW_LOCK:
        goals = _ONE_ROW.get(key)
        if goals is not None:
            _ONE_ROW.move_to_end(key)
            return goals
    goals = _waypoint_joints(obs, *style.unbind(-1))
    with _ONE_ROW_LOCK:
        _ONE_ROW[key] = goals
        while len(_ONE_ROW) > _ONE_ROW_SIZE:
            _ONE_ROW.popitem(last=False)
    return goals


def _waypoint_joints(obs: torch.Tensor, target_x: torch.Tensor, target_y: torch.Tensor, hover: torch.Tensor,
                     point_height: torch.Tensor, point_pitch: torch.Tensor, point_reach: torch.Tensor) -> torch.Tensor:
    """(N, 5, 4): the first four joints at above/at the object, above/at the target and the pointing pose."""
    obj = obs[:, 6 + N_TASKS : 6 + N_TASKS + 2]
    target = torch.stack([target_x, target_y], dim=-1)
    grasp_z = torch.full_like(hover, BASE_STYLE.grasp_height)
    put_away = obs[:, 6 + _PUT_AWAY] > 0.5
    release_z = torch.where(put_away, BASE_STYLE.bin_release_height, BASE_STYLE.edge_release_height)
    release_z = torch.maximum(release_z, grasp_z)
    points = torch.stack([
        torch.cat([obj, (grasp_z + hover)[:, None]], dim=-1),
        torch.cat([obj, grasp_z[:, None]], dim=-1),
        torch.cat([target, torch.maximum(release_z, grasp_z + hover)[:, None]], dim=-1),
        torch.cat([target, release_z[:, None]], dim=-1),
    ], dim=-2)
    carry, _ = _ik(points, grasp_pitch(points))
    direction = obj / obj.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    pointing = torch.cat([direction * point_reach[:, None], point_height[:, None]], dim=-1)
    aim, _ = _ik(pointing, point_pitch)
    return torch.cat([carry, aim[:, None, :]], dim=-2)
