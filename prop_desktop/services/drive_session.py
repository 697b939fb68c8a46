"""Driving: the base policy (optionally with the active profile's adapter and key) on the arm, closed loop.

`start(task, personalized)` first moves the arm home (smoothly, not part of the policy run), then runs the arm
layer's DriveLoop (read joints → policy step → safe write) at the policy's own rate (20 Hz) on a worker.
`set_personalized(on)` toggles live; Personalized needs this profile's trained adapter and its key (from the
keyring, asking for the passphrase through the ProfileService's provider); when impossible it stays on
Baseline and the returned ModeChange says why. Switching profile while driving drops to Baseline at once.
`sample` carries commanded vs measured joints per tick; `status_changed` (≈2 Hz) the achieved loop rate.
`stop()` ends the run and the arm holds its pose; `emergency_stop()` releases torque within one tick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from prop_desktop.policy.tasks import tasks_in_words
from prop_desktop.services.background import BackgroundRun
from prop_desktop.services.errors import BusyError, NoAdapterError, ServiceError
from prop_desktop.services.events import Signal
from prop_desktop.services.models import DriveSample, DriveStatus, ModeChange, ProfileInfo, Scene
from prop_desktop.services.scenes import check_task, default_scene
from prop_desktop.services.skill import Skills

if TYPE_CHECKING:
    from torch import nn

    from prop_desktop.services.arm_service import ArmService
    from prop_desktop.services.policy_provider import PolicyProvider
    from prop_desktop.services.profile_service import ProfileService

STATUS_PERIOD_S = 0.5


class DriveSession:
    def __init__(self, arm: ArmService, profiles: ProfileService, policy: PolicyProvider,
                 scene_for: Callable[[str], Scene] | None = None) -> None:
        self.sample: Signal[DriveSample] = Signal("drive.sample")
        self.status_changed: Signal[DriveStatus] = Signal("drive.status_changed")
        self._arm = arm
        self._profiles = profiles
        self._policy = policy
        self._scene_for = scene_for or default_scene
        self._lock = threading.RLock()
        self._loop: Any = None
        self._run: BackgroundRun | None = None  # the current (or last) drive
        self._personalized = False
        self._deployed: nn.Module | None = None  # the personal policy, folded once at its α (no key kept)
        self._taught: tuple[str, ...] | None = None  # the tasks it personalizes (None: all); the rest are the base
        self._mode_profile: str | None = None
        self._status = DriveStatus(False)
        self._t_status = 0.0
        arm.add_stop_hook(lambda reason: self.stop())
        profiles.active_changed.connect(self._on_profile_changed)

    # --- state -------------------------------------------------------------------------------------------
    def status(self) -> DriveStatus:
        return self._status

    @property
    def running(self) -> bool:
        run = self._run
        return run is not None and run.running

    @property
    def personalized(self) -> bool:
        return self._personalized

    # --- mode --------------------------------------------------------------------------------------------
    def can_personalize(self) -> ModeChange:
        """Whether Personalized is possible for the active profile, without asking for anything."""
        try:
            info = self._profiles.active()
        except ServiceError as exc:
            return ModeChange(False, exc.user_message)
        reason = _why_not(info)
        if reason is not None:
            return ModeChange(False, reason)
        if info is not None and info.has_passphrase and not info.unlocked:
            return ModeChange(True, "You will be asked for your passphrase.")
        return ModeChange(True, None)

    def set_personalized(self, on: bool) -> ModeChange:
        """Switch Personalized/Baseline (live while driving, or for the next start). May ask for the passphrase
        (blocks while the provider answers): call from a worker thread."""
        if not on:
            with self._lock:
                self._personalized = False
            self._update_status(personalized=False, message="Baseline: the general behaviour.")
            return ModeChange(False, None)
        try:
            deployed, profile_id, taught = self._resolve_personal()
        except ServiceError as exc:
            with self._lock:
                self._personalized = False
            self._update_status(personalized=False, message=f"Baseline. {exc.user_message}")
            return ModeChange(False, exc.user_message)
        with self._lock:
            self._deployed, self._mode_profile, self._taught = deployed, profile_id, taught
            self._personalized = True
        self._update_status(personalized=True, message=self._personal_message(self._status.task) or
                            "Personalized: your way.")
        return ModeChange(True, None)

    def _resolve_personal(self) -> tuple[nn.Module, str, tuple[str, ...] | None]:
        """The active profile's deployed policy (its adapter at its α with its key, folded into one module) and
        the tasks it personalizes."""
        from prop_desktop.policy.tasks import scope_tasks
        from prop_desktop.prop import Adapter, AdapterError, attach

        info = self._profiles.active()
        reason = _why_not(info)
        if reason is not None:
            raise NoAdapterError(reason)
        assert info is not None
        session = self._profiles.session(info.id)  # may ask for the passphrase
        base = self._policy.model()
        stored = Skills(self._profiles, self._policy).stored(info.id)
        if stored is None:
            raise NoAdapterError(
                f"{info.name} has no personalization for this version of the robot's policy yet.",
                "Train on the Train page first.",
            )
        try:
            keyed = attach(Adapter.from_bytes(stored[0], base), base)
        except AdapterError as exc:
            raise NoAdapterError(f"{info.name}'s personalization cannot be used: {exc}.", "Train again.") from exc
        return keyed.specialize(bytes(session.network_key)), info.id, scope_tasks(keyed.scope)

    def _personal_message(self, task: str | None) -> str | None:
        """In Personalized mode, for a task the person never showed: it runs the general way, and how to change
        that (None otherwise)."""
        taught = self._taught
        if not self._personalized or task is None or taught is None or task in taught:
            return None
        return (f"The general way for {tasks_in_words((task,))}: your skill covers only what you showed "
                f"({tasks_in_words(taught)}). "
                "Record this task to teach the arm your way.")

    def _on_profile_changed(self, info: ProfileInfo | None) -> None:
        # Privacy: another member must never drive with the previous member's personalization.
        with self._lock:
            if self._mode_profile is not None and (info is None or info.id != self._mode_profile):
                self._personalized = False
                self._deployed, self._mode_profile, self._taught = None, None, None
                changed = True
            else:
                changed = False
        if changed:
            self._update_status(personalized=False, message="Profile switched: back to Baseline.")

    # --- running -----------------------------------------------------------------------------------------
    def start(self, task: str, personalized: bool = False, duration_s: float | None = None,
              scene: Scene | None = None) -> ModeChange:
        """Start driving `task` (returns once the worker runs; loading the policy the first time takes a few
        seconds: call from a worker). Raises NotConnectedError, BusyError, InvalidInputError."""
        check_task(task)
        scene = scene or self._scene_for(task)
        self._policy.model()  # load (and report a broken install) before the arm moves
        mode = self.set_personalized(personalized) if personalized else self.set_personalized(False)
        with self._lock:
            if self.running:
                raise BusyError("The arm is already driving.", "Stop it first.")
            arm = self._arm.claim("driving")
            self._status = DriveStatus(True, task, self._personalized, message="Going to the start pose…")
            self._run = BackgroundRun(lambda run: self._drive(run, arm, scene, duration_s), "drive-session").start()
        self.status_changed.emit(self._status)
        return mode

    def stop(self) -> None:
        """End the run; the arm holds its last pose (torque on). Returns at once."""
        run = self._run
        if run is not None:
            run.cancel()
        loop = self._loop
        if loop is not None:
            loop.stop()

    def emergency_stop(self) -> None:
        """Torque off within one tick, from any thread."""
        self._arm.emergency_stop("Emergency stop.")
        self.stop()

    def wait(self, timeout: float | None = None) -> DriveStatus:
        run = self._run
        if run is not None:
            run.wait(timeout)
        return self._status

    def _drive(self, run: BackgroundRun, arm: Any, scene: Scene, duration_s: float | None) -> None:
        import torch

        from prop_desktop.arm.loop import DriveLoop
        from prop_desktop.policy.expert import RATE_HZ
        from prop_desktop.services.motion import HOME, move_to

        fault: str | None = None
        try:
            fault = move_to(arm, HOME, cancel=run.is_cancelled)
            if fault is None and not run.cancelled:
                base = self._policy.model()
                ctx = torch.as_tensor(np.asarray(scene.context, dtype=np.float32))

                def policy_step(q: np.ndarray) -> np.ndarray:
                    obs = torch.cat([torch.as_tensor(q, dtype=torch.float32), ctx])[None]
                    with self._lock:
                        policy = self._deployed if self._personalized and self._deployed is not None else base
                    with torch.no_grad():
                        targets: torch.Tensor = base.next_targets(obs, policy(obs))
                    return targets[0].numpy().astype(np.float64)

                loop = DriveLoop(arm, policy_step, rate_hz=RATE_HZ, on_tick=self._on_tick)
                self._loop = loop
                self._t0 = time.monotonic()
                self._update_status(message=self._personal_message(self._status.task) or "Driving.")
                loop.run(duration_s, cancel=run.is_cancelled)
                fault = loop.fault
        except Exception as exc:  # noqa: BLE001 - the worker must always free the arm and report
            fault = str(exc)
        finally:
            loop_stats = self._loop.stats() if self._loop is not None else None
            self._loop = None
        if getattr(arm, "estopped", False):
            message = "Emergency stop. Torque released. Press Reset to use the arm again."
        elif fault:
            message = self._arm.report_fault(fault)
        else:
            message = "Stopped. The arm holds its pose."
        self._arm.release("driving")
        hz = loop_stats.achieved_hz if loop_stats is not None else 0.0
        missed = loop_stats.missed if loop_stats is not None else 0
        self._status = DriveStatus(False, self._status.task, self._personalized, hz, missed, message)
        run.finish()
        self.status_changed.emit(self._status)

    def _on_tick(self, tick: Any) -> None:
        measured = tuple(float(v) for v in tick.q)
        self._arm.note_joints(measured)
        self.sample.emit(DriveSample(float(tick.t), tuple(float(v) for v in tick.goal), measured, self._personalized))
        now = time.monotonic()
        if now - self._t_status >= STATUS_PERIOD_S and self._loop is not None:
            self._t_status = now
            stats = self._loop.stats()
            self._update_status(loop_hz=stats.achieved_hz, missed_deadlines=stats.missed)

    def _update_status(self, **changes: Any) -> None:
        s = self._status
        self._status = DriveStatus(**{**s.__dict__, "personalized": self._personalized, **changes})
        self.status_changed.emit(self._status)


def _why_not(info: ProfileInfo | None) -> str | None:
    if info is None:
        return "No household member is selected: pick a profile to drive personalized."
    if not info.key_present:
        return f"{info.name}'s key is not in the keyring. Restore it from the recovery code on the Profiles page."
    if not info.has_adapter:
        return f"{info.name} has not trained a personalization yet. Record a few demonstrations and train first."
    return None
