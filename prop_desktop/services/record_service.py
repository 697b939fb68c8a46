"""Recording demonstrations and managing the active profile's episodes.

Point and click: the UI gives Cartesian targets (metres, base frame) picked in the workspace view; each is
turned into joint targets by inverse kinematics (prop_desktop.policy.kinematics) and the arm layer moves
there smoothly while sampling. By hand: torque off, the arm is sampled until `stop()`.
Recording runs on a worker thread; `sample` (for live plots) and `status_changed` are emitted from it, and
`finished` once with the RecordingResult. An episode that ends on a fault (unplug, overheating) is KEPT up
to the fault, sealed under the active profile, and its `fault` message is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from prop_desktop.services.arm_service import ArmService
from prop_desktop.services.events import Signal
from prop_desktop.services.models import (
    EpisodeInfo,
    JointSample,
    RecordingResult,
    RecordingStatus,
    TaskInfo,
    Workspace,
)
from prop_desktop.services.profile_service import ProfileService

Target = tuple[float, float, float]


class RecordService:
    def __init__(self, arm: ArmService, profiles: ProfileService, rate_hz: float = 50.0) -> None:
        self.sample: Signal[JointSample] = Signal("record.sample")
        self.status_changed: Signal[RecordingStatus] = Signal("record.status_changed")
        self.finished: Signal[RecordingResult] = Signal("record.finished")
        self.episodes_changed: Signal[list[EpisodeInfo]] = Signal("record.episodes_changed")
        self.rate_hz = rate_hz
        self._arm = arm
        self._profiles = profiles

    # --- tasks and workspace -----------------------------------------------------------------------------
    def tasks(self) -> list[TaskInfo]:
        """The base policy's named tasks (from prop_desktop.policy.tasks)."""
        raise NotImplementedError

    def workspace(self) -> Workspace:
        """Extents for the workspace view and the reachable region."""
        raise NotImplementedError

    def arm_points(self, q: Sequence[float]) -> list[Target]:
        """Forward kinematics: base, shoulder, elbow, wrist, gripper tip positions (m) for drawing the arm."""
        raise NotImplementedError

    def check_target(self, target: Target) -> str | None:
        """None when reachable, else a plain reason ("Too far: 0.52 m, the arm reaches 0.40 m.")."""
        raise NotImplementedError

    # --- recording ---------------------------------------------------------------------------------------
    def status(self) -> RecordingStatus:
        raise NotImplementedError

    def start_click_episode(self, task: str, targets: Sequence[Target], gripper: Sequence[float] | None = None,
                            name: str | None = None) -> None:
        """Start a point-and-click demonstration (returns at once). Raises NotConnectedError, BusyError,
        NoActiveProfileError, InvalidInputError (unknown task), UnreachableTargetError (names the target)."""
        raise NotImplementedError

    def start_hand_episode(self, task: str, max_seconds: float = 60.0, name: str | None = None) -> None:
        """Start a hand-guided demonstration: torque off, sample until stop() or max_seconds."""
        raise NotImplementedError

    def stop(self) -> None:
        """End the current recording (the episode is saved); returns at once, `finished` follows."""
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> RecordingResult | None:
        """Block until the current recording ends (for scripts/tests, never the GUI thread)."""
        raise NotImplementedError

    # --- episodes of the active profile -----------------------------------------------------------------
    def episodes(self) -> list[EpisodeInfo]:
        raise NotImplementedError

    def rename_episode(self, episode_id: str, name: str) -> EpisodeInfo:
        raise NotImplementedError

    def delete_episode(self, episode_id: str) -> None:
        raise NotImplementedError

    def replay_episode(self, episode_id: str) -> None:
        """Replay the recorded joint path on the arm (worker thread; `sample` and `finished` as recording)."""
        raise NotImplementedError
