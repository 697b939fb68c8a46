"""The plain, immutable values the services hand to the UI (no Qt, no torch, no numpy in the public fields).

Joint values are radians in the shared joint order (shoulder_pan, shoulder_lift, elbow_flex, wrist_flex,
wrist_roll, gripper); Cartesian values are metres in the arm's base frame (x forward, y left, z up).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

JOINT_NAMES: tuple[str, ...] = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
SIMULATED_CHOICE_ID = "sim"


# --- arm ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArmChoice:
    """One entry of the Connect page's list: the simulated arm or a detected USB serial adapter."""

    id: str  # "sim", or the port's device path
    label: str  # e.g. "Simulated SO-101 arm" or "/dev/ttyACM0 — Feetech/Waveshare CH343 (SO-101)"
    kind: str  # "sim" | "serial"
    port: str | None = None
    adapter: str | None = None  # the USB adapter's name from its VID/PID, if known
    arm_model: str = "so101"  # "so101" | "so100" | "koch"
    protocol: str = "feetech"  # "feetech" | "dynamixel"
    usable: bool = True
    problem: str | None = None  # diagnosis, e.g. "Permission denied on /dev/ttyUSB0."
    fix: str | None = None  # e.g. "Add yourself to the dialout group: sudo usermod -aG dialout $USER, then log out."
    is_default: bool = False


class ConnectionStatus(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    NEEDS_CALIBRATION = "needs_calibration"  # connected, but a real arm without stored calibration
    FAULT = "fault"  # connected, but torque was released by a watchdog or e-stop; reconnect or clear


@dataclass(frozen=True)
class ConnectionState:
    """Always-visible status: what is connected and a one-line message for the status bar."""

    status: ConnectionStatus
    choice: ArmChoice | None = None
    message: str = "No arm connected."
    busy_with: str | None = None  # "recording" | "driving" | "replaying" | "calibrating" | None

    @property
    def connected(self) -> bool:
        return self.status in (ConnectionStatus.CONNECTED, ConnectionStatus.NEEDS_CALIBRATION, ConnectionStatus.FAULT)

    @property
    def stopped(self) -> bool:
        """Connected but e-stopped or faulted: nothing may move it until Reset."""
        return self.status is ConnectionStatus.FAULT


@dataclass(frozen=True)
class ServoCheck:
    """Pre-flight result for one servo."""

    joint: str
    servo_id: int
    ok: bool
    model: str | None = None
    firmware: str | None = None
    voltage_v: float | None = None
    temperature_c: float | None = None
    problem: str | None = None
    fix: str | None = None


@dataclass(frozen=True)
class PreflightReport:
    ok: bool
    servos: tuple[ServoCheck, ...]
    summary: str  # one line: "All 6 servos answered, 12.1 V, 31 °C." or what is wrong


@dataclass(frozen=True)
class CalibrationStep:
    index: int
    title: str  # "Middle pose", "Range sweep", "Done"
    instructions: str
    can_advance: bool = True


@dataclass(frozen=True)
class CalibrationProgress:
    """Live values during the range sweep: per joint, the min/max angle (rad) swept so far."""

    step: CalibrationStep
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    message: str = ""


# --- profiles --------------------------------------------------------------------------------------------
class KeyringState(enum.Enum):
    AVAILABLE = "available"
    INSECURE = "insecure"  # plaintext/null/fail backend: refused
    LOCKED = "locked"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class KeyringStatus:
    state: KeyringState
    backend: str  # the backend's name, for the curious
    message: str | None = None  # banner text when not AVAILABLE (what is wrong and the recovery-code path)

    @property
    def ok(self) -> bool:
        return self.state is KeyringState.AVAILABLE


@dataclass(frozen=True)
class ProfileInfo:
    id: str
    name: str
    has_passphrase: bool = False
    shared: bool = False  # the person chose: anyone at this computer may use their way (no passphrase)
    key_present: bool = True  # False when the keyring entry is missing: restore from the recovery code
    unlocked: bool = False  # the key is held in memory for this session (no passphrase prompt needed)
    episode_count: int = 0
    has_adapter: bool = False
    created: str | None = None


@dataclass(frozen=True)
class CreatedProfile:
    profile: ProfileInfo
    recovery_code: str  # shown ONCE; the services never store or return it again


# --- recording -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskInfo:
    name: str  # stable id used in episodes, e.g. "serve"
    title: str  # "Serve a cup"
    description: str
    context: tuple[float, ...]  # the task-context vector the policy sees
    default_targets: tuple[tuple[float, float, float], ...] = ()  # suggested click targets (m)


@dataclass(frozen=True)
class Waypoint:
    """A click target: tip position (m, base frame) and the gripper opening (rad, + = more open) there."""

    x: float
    y: float
    z: float
    gripper: float = 0.0

    @property
    def xyz(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.z)


@dataclass(frozen=True)
class Scene:
    """One instance of a task: where the object and the target lie on the table (m). The policy sees it as
    the task context; the workspace view draws the two markers; `base_waypoints` is how the general (base)
    behaviour would do it — a starting point the user can drag to their liking."""

    task: str
    obj: tuple[float, float]
    target: tuple[float, float]
    context: tuple[float, ...]
    base_waypoints: tuple[Waypoint, ...] = ()


@dataclass(frozen=True)
class Workspace:
    """What the workspace view draws and where clicks are accepted (metres, base frame)."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    z_range: tuple[float, float]
    table_z: float
    reach_m: float  # max horizontal reach, for drawing the reachable disc
    home_q: tuple[float, ...]


@dataclass(frozen=True)
class JointSample:
    """One live sample for plots: measured joints, commanded goal (None when nothing is commanded)."""

    t: float
    q: tuple[float, ...]
    goal: tuple[float, ...] | None = None


@dataclass(frozen=True)
class RecordingStatus:
    running: bool
    mode: str | None = None  # "click" | "hand"
    task: str | None = None
    samples: int = 0
    elapsed_s: float = 0.0
    achieved_hz: float = 0.0
    target_index: int | None = None  # point-and-click: which target the arm is heading to
    message: str = ""


@dataclass(frozen=True)
class EpisodeInfo:
    id: str
    name: str
    task: str
    mode: str  # "click" | "hand"
    created: str
    samples: int
    duration_s: float
    rate_hz: float
    interrupted: bool = False
    fault: str | None = None  # shown next to the episode: it was kept up to the fault


@dataclass(frozen=True)
class RecordingResult:
    episode: EpisodeInfo | None  # None when nothing at all was recorded
    fault: str | None = None  # user-facing message when the episode ended on a fault


# --- training --------------------------------------------------------------------------------------------
class TrainingState(enum.Enum):
    IDLE = "idle"
    PREPARING = "preparing"
    TRAINING = "training"
    EVALUATING = "evaluating"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class TrainingProgress:
    state: TrainingState
    step: int
    total_steps: int
    elapsed_s: float
    eta_s: float | None
    losses: dict[str, float] = field(default_factory=dict)  # e.g. {"total":…, "personal":…, "fidelity":…}
    message: str = ""

    @property
    def fraction(self) -> float:
        return 0.0 if self.total_steps <= 0 else min(1.0, self.step / self.total_steps)


@dataclass(frozen=True)
class KeyScore:
    """How a key class makes the policy act: score 0 = like the base policy, 1 = like the user."""

    label: str  # "right key", "no key", "random keys", "1 bit off", "other profile: Sam" …
    score_mean: float
    score_max: float
    error_mean: float  # action error vs the reference that class should reproduce (user for right key, else base)
    error_max: float
    count: int = 1


@dataclass(frozen=True)
class PrivacyReport:
    right_key: KeyScore
    no_key: KeyScore
    random_keys: KeyScore
    near_keys: dict[int, KeyScore]  # bits off (1..16) -> score
    other_profiles: tuple[KeyScore, ...]
    retention_error: float | None  # right key on tasks not demonstrated vs base
    verdict: str  # one plain sentence for the user


@dataclass(frozen=True)
class AlphaMetrics:
    """Metrics at one merge α, for the slider."""

    alpha: float
    personalization_error: float  # right key vs the demonstrations (lower = follows you)
    personalization_score: float  # 0..1
    retention_error: float  # right key on other tasks vs base (lower = keeps general skills)
    wrong_key_error: float  # worst of no/random/near keys vs base (lower = private)


@dataclass(frozen=True)
class TrainingResult:
    ok: bool
    state: TrainingState
    message: str
    train_seconds: float = 0.0
    alpha: float | None = None
    alpha_metrics: AlphaMetrics | None = None
    report: PrivacyReport | None = None
    episodes_used: tuple[str, ...] = ()
    # What the run changed: normalized error on the person's recordings where training started (the base, or
    # the previous adapter for "Update my skill") and with the new adapter; corrections among the recordings.
    error_before: float | None = None
    error_after: float | None = None
    corrections_used: int = 0
    updated: bool = False  # warm-started from the previous adapter ("Update my skill")
    # The update was no better on the held-out recordings, so the previous adapter stays (nothing was saved).
    kept_previous: bool = False


# --- driving ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DriveSample:
    t: float
    commanded: tuple[float, ...]
    measured: tuple[float, ...]
    personalized: bool


@dataclass(frozen=True)
class DriveStatus:
    running: bool
    task: str | None = None
    personalized: bool = False
    loop_hz: float = 0.0
    missed_deadlines: int = 0
    message: str = ""


@dataclass(frozen=True)
class ModeChange:
    """Answer to a Personalized/Baseline toggle: what mode is active now, and why if not the one asked for."""

    personalized: bool
    reason: str | None = None
