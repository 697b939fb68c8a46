"""Point-and-click targets: the workspace the view draws, the arm's points for drawing it, and clicked
Cartesian waypoints turned into joint targets by inverse kinematics (with the expert's gripper pitch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from prop_desktop.services.errors import InvalidInputError, UnreachableTargetError
from prop_desktop.services.models import Waypoint, Workspace

TargetLike = Waypoint | Sequence[float]  # Waypoint, (x, y, z) or (x, y, z, gripper)


def workspace() -> Workspace:
    from prop_desktop.policy import kinematics as k

    reach = float(k.SHOULDER[0] + k.MAX_REACH_FROM_SHOULDER)
    return Workspace(
        x_range=(-0.15, 0.50),
        y_range=(-0.40, 0.40),
        z_range=(0.0, 0.45),
        table_z=0.0,
        reach_m=round(reach, 4),
        home_q=(0.0,) * 6,
    )


def arm_points(q: Sequence[float]) -> list[tuple[float, float, float]]:
    """Forward kinematics: base, pan, shoulder, elbow, wrist, roll, tip positions (m) for drawing."""
    from prop_desktop.policy.kinematics import forward_kinematics

    frames = forward_kinematics(np.asarray(q, dtype=np.float64))
    return [(float(p[0]), float(p[1]), float(p[2])) for p in frames]


def unreachable_reason(target: TargetLike) -> str | None:
    """None when the tip can reach `target`, else a plain reason."""
    try:
        solve_targets([target])
    except UnreachableTargetError as exc:
        return exc.message
    return None


def solve_targets(targets: Sequence[TargetLike]) -> tuple[list[Waypoint], np.ndarray]:
    """The waypoints and their joint targets (one row each; the gripper column is each waypoint's opening)."""
    from prop_desktop.policy.expert import grasp_pitch
    from prop_desktop.policy.kinematics import UnreachableError, inverse_kinematics

    waypoints = [_waypoint(t, i) for i, t in enumerate(targets)]
    if not waypoints:
        raise InvalidInputError("No targets to move to.", "Click at least one point in the workspace view.")
    points = np.array([w.xyz for w in waypoints], dtype=np.float64)
    try:
        pitch = grasp_pitch(points)
    except UnreachableError:
        pitch = None
    result = inverse_kinematics(points) if pitch is None else inverse_kinematics(points, pitch=pitch)
    for i, ok in enumerate(result.reachable):
        if not ok:
            reason = result.reasons[i]
            raise UnreachableTargetError(
                f"Target {i + 1} at ({points[i, 0]:.2f}, {points[i, 1]:.2f}, {points[i, 2]:.2f}) m cannot be "
                f"reached: {reason}.",
                "Move it closer to the arm or higher above the table.",
            )
    q = np.array(result.q, dtype=np.float64).reshape(-1, 6)
    q[:, 5] = [w.gripper for w in waypoints]
    return waypoints, q


def _waypoint(target: TargetLike, index: int) -> Waypoint:
    if isinstance(target, Waypoint):
        w = target
    else:
        values = [float(v) for v in target]
        if len(values) not in (3, 4):
            raise InvalidInputError(
                f"Target {index + 1} must be (x, y, z) or (x, y, z, gripper), got {len(values)} numbers.",
                "Click the point again in the workspace view.",
            )
        w = Waypoint(*values)
    if not all(np.isfinite([w.x, w.y, w.z, w.gripper])):
        raise InvalidInputError(f"Target {index + 1} is not a number.", "Click the point again.")
    return w
