"""SO-101 kinematics: forward kinematics of every joint frame and an analytic inverse to a tip target.

Geometry (metres) is taken from the public SO-101 model (TheRobotStudio SO-ARM100, `so101_new_calib`),
whose zero is the middle of each joint's range - the same zero as our servo convention, so all-zeros is the
arm's middle pose: upper arm nearly upright, forearm and gripper level, pointing forward.

World frame: origin on the table under the shoulder_pan axis, x forward (where the arm points at pan 0),
y to the arm's left, z up. As in the public model, a positive shoulder_pan turns the arm to its right
(clockwise seen from above); positive shoulder_lift, elbow_flex and wrist_flex each tip the arm forward and
down. The shoulder, elbow and wrist axes are parallel, so the arm moves in one vertical plane at angle
`yaw = -shoulder_pan`; the public model's sideways servo offsets lie along those axes and do not move the tip.
The 8 mm offset of the tip from the wrist_roll axis is kept in the arm plane (its rotation with the roll is
neglected), so wrist_roll and gripper do not change the tip position here.

Everything is vectorized: any leading batch shape (..., 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JOINT_NAMES: tuple[str, ...] = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
N_JOINTS = len(JOINT_NAMES)

# Joint limits in radians around the calibrated middle pose (public model; the gripper jaw's -10..100 deg
# range re-centred on its middle, positive = more open).
JOINT_LIMITS = np.array(
    [
        [-1.91986, 1.91986],  # shoulder_pan  +-110 deg
        [-1.74533, 1.74533],  # shoulder_lift +-100 deg
        [-1.74533, 1.57080],  # elbow_flex    -100..+90 deg
        [-1.65806, 1.65806],  # wrist_flex    +-95 deg
        [-2.79253, 2.79253],  # wrist_roll    +-160 deg
        [-0.95993, 0.95993],  # gripper       +-55 deg (closed .. open)
    ]
)

# Fixed geometry in the arm plane: (forward, up) offsets at the zero pose.
PAN_AXIS_HEIGHT = 0.0949  # table (base origin) to the shoulder_pan frame
SHOULDER = np.array([0.0304, 0.1491])  # shoulder_lift axis, relative to the pan axis foot on the table
UPPER_ARM = np.array([0.0280, 0.11257])  # shoulder_lift axis -> elbow_flex axis
FOREARM = np.array([0.1349, 0.0052])  # elbow_flex axis -> wrist_flex axis
WRIST = np.array([0.0611, 0.0])  # wrist_flex axis -> wrist_roll frame
GRIPPER = np.array([0.0981, -0.0079])  # wrist_roll frame -> gripper tip (between the jaws)
TOOL = WRIST + GRIPPER  # wrist_flex axis -> tip

FRAME_NAMES: tuple[str, ...] = (
    "base", "shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "tip"
)

_L1, _A1 = float(np.hypot(*UPPER_ARM)), float(np.arctan2(UPPER_ARM[1], UPPER_ARM[0]))
_L2, _A2 = float(np.hypot(*FOREARM)), float(np.arctan2(FOREARM[1], FOREARM[0]))
_L3, _A3 = float(np.hypot(*TOOL)), float(np.arctan2(TOOL[1], TOOL[0]))
MAX_REACH_FROM_SHOULDER = _L1 + _L2 + _L3


class UnreachableError(ValueError):
    """A tip target the arm cannot reach (out of range or beyond a joint limit)."""


def _rot(v: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate the planar vector v (2,) by `angle` (...,) -> (..., 2)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[0] - s * v[1], s * v[0] + c * v[1]], axis=-1)


def _as_q(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if q.shape[-1] != N_JOINTS:
        raise ValueError(f"joint vector must have {N_JOINTS} entries ({', '.join(JOINT_NAMES)}), got shape {q.shape}")
    return q


def planar_frames(q: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 7, 2): (forward distance from the pan axis, height) of every frame in the arm plane."""
    q = _as_q(q)
    batch = q.shape[:-1]
    a2 = -q[..., 1]
    a3 = a2 - q[..., 2]
    a4 = a3 - q[..., 3]
    base = np.zeros(batch + (2,))
    pan = np.broadcast_to(np.array([0.0, PAN_AXIS_HEIGHT]), batch + (2,))
    shoulder = np.broadcast_to(SHOULDER, batch + (2,))
    elbow = shoulder + _rot(UPPER_ARM, a2)
    wrist = elbow + _rot(FOREARM, a3)
    roll = wrist + _rot(WRIST, a4)
    tip = roll + _rot(GRIPPER, a4)
    return np.stack([base, pan, shoulder, elbow, wrist, roll, tip], axis=-2)


def forward_kinematics(q: np.ndarray) -> np.ndarray:
    """(..., 6) joint radians -> (..., 7, 3) world positions of FRAME_NAMES (base .. tip), in metres.

    Draw a top-down view from [..., :2] and a side view from (hypot of x, y) and z.
    """
    q = _as_q(q)
    planar = planar_frames(q)
    yaw = -q[..., 0][..., None]
    return np.stack([planar[..., 0] * np.cos(yaw), planar[..., 0] * np.sin(yaw), planar[..., 1]], axis=-1)


def tip_position(q: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3) position of the point between the gripper jaws."""
    return forward_kinematics(q)[..., -1, :]


def tool_pitch(q: np.ndarray) -> np.ndarray:
    """Angle of the gripper axis above the horizontal (rad): 0 level, -pi/2 pointing straight down."""
    q = _as_q(q)
    result: np.ndarray = -(q[..., 1] + q[..., 2] + q[..., 3])
    return result


def within_limits(q: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    q = _as_q(q)
    result: np.ndarray = np.all((q >= JOINT_LIMITS[:, 0] - tol) & (q <= JOINT_LIMITS[:, 1] + tol), axis=-1)
    return result


def clip_to_limits(q: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.clip(_as_q(q), JOINT_LIMITS[:, 0], JOINT_LIMITS[:, 1])
    return result


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


@dataclass(frozen=True)
class IKResult:
    q: np.ndarray  # (N, 6) joint radians (clipped to limits where unreachable)
    reachable: np.ndarray  # (N,) bool
    reasons: tuple[str, ...]  # per target: "" or why it is unreachable

    def raise_if_unreachable(self) -> np.ndarray:
        bad = np.flatnonzero(~self.reachable)
        if bad.size:
            first = self.reasons[bad[0]]
            raise UnreachableError(f"{bad.size} of {len(self.reachable)} targets unreachable; first: {first}")
        return self.q


def _ik_fixed_pitch(
    target: np.ndarray, pitch: np.ndarray, explain: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Analytic IK (elbow above the shoulder-wrist line) for targets (N, 3) at tool pitches (N,).

    With `explain`, also a reason string per unreachable row (slow: only for rows someone will read).
    """
    x, y, z = target[:, 0], target[:, 1], target[:, 2]
    yaw = np.arctan2(y, x)
    r = np.hypot(x, y)
    wrist = np.stack([r, z], axis=-1) - _rot(TOOL, pitch)
    d_vec = wrist - SHOULDER
    d = np.hypot(d_vec[:, 0], d_vec[:, 1])
    cos_b = (d**2 - _L1**2 - _L2**2) / (2 * _L1 * _L2)
    in_range = np.abs(cos_b) <= 1.0
    beta = -np.arccos(np.clip(cos_b, -1.0, 1.0))  # forearm bends down relative to the upper arm
    phi1 = np.arctan2(d_vec[:, 1], d_vec[:, 0]) - np.arctan2(_L2 * np.sin(beta), _L1 + _L2 * np.cos(beta))
    q = np.zeros((len(target), N_JOINTS))
    q[:, 0] = -yaw
    q[:, 1] = _wrap(_A1 - phi1)
    q[:, 2] = _wrap(_A2 - _A1 - beta)
    q[:, 3] = _wrap(-pitch - q[:, 1] - q[:, 2])
    ok = in_range & within_limits(q) & (r > 1e-6)
    reasons: list[str] = []
    for i in range(len(target)):
        if ok[i] or not explain:
            reasons.append("")
        elif not in_range[i]:
            reasons.append(
                f"target ({x[i]:.3f}, {y[i]:.3f}, {z[i]:.3f}) m at pitch {np.degrees(pitch[i]):.0f} deg is "
                f"{'too far' if cos_b[i] > 1 else 'too close'}: the wrist would be {d[i]:.3f} m from the shoulder, "
                f"reach is {abs(_L1 - _L2):.3f}..{_L1 + _L2:.3f} m"
            )
        else:
            bad = [
                f"{JOINT_NAMES[j]}={q[i, j]:.2f} rad outside [{JOINT_LIMITS[j, 0]:.2f}, {JOINT_LIMITS[j, 1]:.2f}]"
                for j in range(4)
                if not JOINT_LIMITS[j, 0] <= q[i, j] <= JOINT_LIMITS[j, 1]
            ]
            reasons.append(
                f"target ({x[i]:.3f}, {y[i]:.3f}, {z[i]:.3f}) m needs "
                + ("; ".join(bad) or "a pan angle near the axis")
            )
    return q, ok, reasons


def inverse_kinematics(
    target: np.ndarray,
    pitch: float | np.ndarray | None = None,
    roll: float | np.ndarray = 0.0,
    gripper: float | np.ndarray = 0.0,
    preferred_pitch: float = -np.pi / 2,
) -> IKResult:
    """Joint angles that put the tip at `target` (3,) or (N, 3) metres.

    With `pitch` given, the gripper axis points at that angle above the horizontal. Without it, the feasible
    pitch closest to `preferred_pitch` (default: straight down) is chosen. wrist_roll and gripper are copied in.
    Unreachable targets are flagged in `reachable` with a reason; `.raise_if_unreachable()` turns that into an
    UnreachableError.
    """
    target = np.asarray(target, dtype=np.float64)
    single = target.ndim == 1
    target = np.atleast_2d(target)
    if target.shape[-1] != 3 or target.ndim != 2:
        raise ValueError(f"IK target must be (3,) or (N, 3) metres, got shape {np.shape(target)}")
    if not np.all(np.isfinite(target)):
        raise ValueError("IK target contains NaN or inf")
    n = len(target)
    if pitch is not None:
        q, ok, reasons = _ik_fixed_pitch(target, np.broadcast_to(np.asarray(pitch, dtype=np.float64), (n,)).copy())
    else:
        candidates = np.concatenate([[preferred_pitch], np.linspace(-np.pi / 2 - 0.3, np.pi / 3, 73)])
        order = candidates[np.argsort(np.abs(candidates - preferred_pitch), kind="stable")]
        rep_t = np.repeat(target, len(order), axis=0)
        rep_p = np.tile(order, n)
        q_all, ok_all, _ = _ik_fixed_pitch(rep_t, rep_p, explain=False)
        ok_all = ok_all.reshape(n, len(order))
        first = np.where(ok_all.any(axis=1), ok_all.argmax(axis=1), 0)
        q, ok = q_all.reshape(n, len(order), N_JOINTS)[np.arange(n), first], ok_all[np.arange(n), first]
        reasons = [""] * n
        bad = np.flatnonzero(~ok)
        if bad.size:
            _, _, why = _ik_fixed_pitch(target[bad], np.full(bad.size, preferred_pitch))
            for i, reason in zip(bad, why, strict=True):
                reasons[i] = f"no gripper pitch reaches it; {reason}"
    q[:, 4] = roll
    q[:, 5] = gripper
    q = np.where(ok[:, None], q, clip_to_limits(q))
    result = IKResult(q=q, reachable=ok, reasons=tuple(reasons))
    if single:
        return IKResult(q=q[0], reachable=ok[:1], reasons=result.reasons)
    return result


# The tool pitches feasible_pitch_range tries (rad), from below straight down to well above level.
PITCH_SEARCH_LOW, PITCH_SEARCH_HIGH, PITCH_SEARCH_STEPS = -np.pi / 2 - 0.4, np.pi / 3, 121


def feasible_pitch_range(target: np.ndarray, resolution: int = PITCH_SEARCH_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) targets -> (lowest, highest) reachable tool pitch per target (NaN where none is)."""
    target = np.atleast_2d(np.asarray(target, dtype=np.float64))
    grid = np.linspace(PITCH_SEARCH_LOW, PITCH_SEARCH_HIGH, resolution)
    n = len(target)
    _, ok, _ = _ik_fixed_pitch(np.repeat(target, resolution, axis=0), np.tile(grid, n), explain=False)
    ok = ok.reshape(n, resolution)
    masked = np.where(ok, grid, np.nan)
    with np.errstate(all="ignore"):
        low = np.where(ok.any(axis=1), np.nanmin(np.where(ok, masked, np.inf), axis=1), np.nan)
        high = np.where(ok.any(axis=1), np.nanmax(np.where(ok, masked, -np.inf), axis=1), np.nan)
    return low, high


def solve_ik(target: np.ndarray, pitch: float | None = None, roll: float = 0.0, gripper: float = 0.0) -> np.ndarray:
    """IK for one target (3,): the joint vector (6,), or UnreachableError naming why."""
    result = inverse_kinematics(np.asarray(target, dtype=np.float64).reshape(3), pitch, roll, gripper)
    if not result.reachable[0]:
        raise UnreachableError(result.reasons[0])
    return result.q
