"""Recording demonstrations and managing the active profile's episodes.

Point and click: the UI gives Cartesian waypoints (metres, base frame, with a gripper opening each) picked in
the workspace view for a scene (object/target on the table); each is turned into joint targets by inverse
kinematics (prop_desktop.policy.kinematics, the expert's gripper pitch), the arm first goes home (not
recorded), then moves through them smoothly while the arm layer records. By hand: torque off, the arm is
sampled until `stop()` or `max_seconds`.
Recording runs on a worker thread; `sample` (live plots) and `status_changed` (≈2 Hz, achieved rate) are
emitted from it, and `finished` once with the RecordingResult. An episode that ends on a fault (unplug,
overheating) is KEPT up to the fault, sealed under the active profile, and its `fault` message is shown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from prop_desktop.services.arm_service import ArmService
from prop_desktop.services.error_mapping import user_errors
from prop_desktop.services.errors import (
    BusyError,
    EpisodeError,
    InvalidInputError,
    ServiceError,
)
from prop_desktop.services.events import Signal
from prop_desktop.services.models import (
    EpisodeInfo,
    JointSample,
    RecordingResult,
    RecordingStatus,
    Scene,
    TaskInfo,
    Workspace,
)
from prop_desktop.services.profile_service import ProfileService
from prop_desktop.services.scenes import check_task, default_scene, make_scene, random_scene, task_infos
from prop_desktop.services.targets import TargetLike, arm_points, solve_targets, unreachable_reason, workspace

if TYPE_CHECKING:
    from prop_desktop.services.leader_service import LeaderArmService

CLICK_MAX_SPEED = 0.8  # rad/s peak on the farthest joint: close to the base policy's 1 rad/s
STATUS_PERIOD_S = 0.5


class RecordService:
    def __init__(self, arm: ArmService, profiles: ProfileService, rate_hz: float = 50.0,
                 leader: LeaderArmService | None = None) -> None:
        """`leader`: the optional leader-arm slot, for recording by teleoperation."""
        self.sample: Signal[JointSample] = Signal("record.sample")
        self.status_changed: Signal[RecordingStatus] = Signal("record.status_changed")
        self.finished: Signal[RecordingResult] = Signal("record.finished")
        self.episodes_changed: Signal[list[EpisodeInfo]] = Signal("record.episodes_changed")
        self.rate_hz = rate_hz
        self._arm = arm
        self._profiles = profiles
        self._scenes: dict[str, Scene] = {}
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._recorder: Any = None
        self._stop = threading.Event()
        self._status = RecordingStatus(False)
        self._result: RecordingResult | None = None
        self._done = threading.Event()
        self._done.set()
        arm.add_stop_hook(lambda reason: self.stop())
        self._leader = leader
        if leader is not None:  # the leader going away ends a teleoperated recording (not the others)
            leader.add_stop_hook(lambda reason: self.stop() if self._status.mode == "leader" else None)

    # --- tasks, scenes, workspace ------------------------------------------------------------------------
    def tasks(self) -> list[TaskInfo]:
        """The base policy's named tasks (from prop_desktop.policy.tasks)."""
        return task_infos()

    def scene(self, task: str) -> Scene:
        """The current scene for `task` (the default one until the user moves or reshuffles it)."""
        check_task(task)
        return self._scenes.setdefault(task, default_scene(task))

    def set_scene(self, task: str, obj: tuple[float, float], target: tuple[float, float] | None = None) -> Scene:
        """Place the object/target (metres on the table) for the next recordings of `task`."""
        scene = make_scene(task, obj, target)
        self._scenes[task] = scene
        return scene

    def shuffle_scene(self, task: str, seed: int | None = None) -> Scene:
        """A new scene drawn from the base task distribution."""
        scene = random_scene(task, seed)
        self._scenes[task] = scene
        return scene

    def workspace(self) -> Workspace:
        return workspace()

    def arm_points(self, q: Sequence[float]) -> list[tuple[float, float, float]]:
        """Forward kinematics: base, pan, shoulder, elbow, wrist, roll, tip positions (m) for drawing."""
        return arm_points(q)

    def check_target(self, target: TargetLike) -> str | None:
        """None when the tip can reach it, else a plain reason."""
        return unreachable_reason(target)

    # --- recording ---------------------------------------------------------------------------------------
    def status(self) -> RecordingStatus:
        return self._status

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def start_click_episode(self, task: str, targets: Sequence[TargetLike], scene: Scene | None = None,
                            name: str | None = None, correction: bool = False) -> None:
        """Start a point-and-click demonstration (returns at once; `finished` follows). `correction`: from the
        current pose, stored as a correction.

        Raises NotConnectedError, BusyError, NoActiveProfileError, InvalidInputError, UnreachableTargetError.
        """
        check_task(task)
        scene = scene or self.scene(task)
        if scene.task != task:
            raise InvalidInputError(f"The scene is for {scene.task!r}, not {task!r}.", "Pick the task's scene.")
        waypoints, joint_targets = solve_targets(targets)
        self._begin("click", task, scene, name, joint_targets=joint_targets, waypoints=waypoints,
                    correction=correction)

    def start_hand_episode(self, task: str, max_seconds: float = 60.0, scene: Scene | None = None,
                           name: str | None = None, correction: bool = False) -> None:
        """Start a hand-guided demonstration: torque off (support the arm!), sample until stop()/max_seconds."""
        check_task(task)
        if not (max_seconds > 0):
            raise InvalidInputError("The recording length must be positive.", "Pick a length in seconds.")
        self._begin("hand", task, scene or self.scene(task), name, max_seconds=max_seconds, correction=correction)

    def start_leader_episode(self, task: str, max_seconds: float = 60.0, scene: Scene | None = None,
                             name: str | None = None) -> None:
        """Start a teleoperated demonstration: the follower mirrors the leader arm at the control rate (≥ 100 Hz)
        until stop()/max_seconds. Saved: the follower's joints and the leader's pose as the goal.

        Raises NotConnectedError (follower or leader), BusyError, NoActiveProfileError, InvalidInputError.
        """
        from prop_desktop.services.errors import NotConnectedError

        check_task(task)
        if not (max_seconds > 0):
            raise InvalidInputError("The recording length must be positive.", "Pick a length in seconds.")
        if self._leader is None:
            raise NotConnectedError("This app has no leader-arm slot.", "Record by clicking or by hand.")
        leader = self._leader.claim("recording")
        try:
            self._begin("leader", task, scene or self.scene(task), name, max_seconds=max_seconds, leader=leader)
        except BaseException:
            self._leader.release("recording")
            raise

    def _begin(self, mode: str, task: str, scene: Scene, name: str | None, **kw: Any) -> None:
        profile_id = self._profiles.active_id()  # NoActiveProfileError before anything moves
        with self._lock:
            if not self._done.is_set():
                raise BusyError("A recording is already running.", "Stop it first.")
            arm = self._arm.claim("recording")
            self._done.clear()
            self._stop = threading.Event()
            self._result = None
            self._status = RecordingStatus(True, mode, task, message="Preparing…")
            self._worker = threading.Thread(
                target=self._run, args=(arm, mode, task, scene, name, profile_id, kw), name=f"record-{mode}",
                daemon=True,
            )
            self._worker.start()
        self.status_changed.emit(self._status)

    def stop(self) -> None:
        """End the current recording early (the episode is kept); returns at once, `finished` follows."""
        self._stop.set()
        recorder = self._recorder
        if recorder is not None:
            recorder.stop()

    def wait(self, timeout: float | None = None) -> RecordingResult | None:
        """Block until the current recording ends (scripts/tests; never the GUI thread)."""
        self._done.wait(timeout)
        return self._result

    def _run(self, arm: Any, mode: str, task: str, scene: Scene, name: str | None, profile_id: str,
             kw: dict[str, Any]) -> None:
        from prop_desktop.arm.recording import Recorder, segment_duration

        result: RecordingResult
        try:
            try:
                session = self._profiles.session(profile_id)  # the key first: nothing is recorded we cannot seal
            except ServiceError as exc:
                self._finish(RecordingResult(None, exc.user_message))
                return
            extra: dict[str, Any] = {"context": list(scene.context), "scene": {"obj": list(scene.obj),
                                                                                "target": list(scene.target)}}
            if kw.get("correction"):
                extra.update(mode="correction", how=mode, correction=True)
            if mode == "click":
                from prop_desktop.services.motion import HOME, move_to

                self._set_status(message="Going to the start pose…")
                # A correction starts where the person took over: going home first would lose that state.
                fault = None if kw.get("correction") else move_to(arm, HOME, rate_hz=self.rate_hz,
                                                                   cancel=self._stop.is_set)
                if fault is not None:
                    message = self._arm.report_fault(fault)
                    self._finish(RecordingResult(None, message))
                    return
                targets = kw["joint_targets"]
                extra["waypoints"] = [[w.x, w.y, w.z, w.gripper] for w in kw["waypoints"]]
                # Segment end times, exactly as the recorder plans them: the trainer labels every sample with
                # a step toward the waypoint it is heading for (like the base expert), not toward a stop.
                q0 = np.asarray(arm.read_joints(), dtype=np.float64)
                ends, t, prev = [], 0.0, q0
                for tgt in targets:
                    tgt = np.clip(tgt, arm.lower, arm.upper)
                    t += segment_duration(prev, tgt, CLICK_MAX_SPEED)
                    ends.append(round(t, 6))
                    prev = tgt
                extra["segment_ends"] = ends
                recorder = Recorder(arm, "click", targets=list(targets), rate_hz=self.rate_hz, task=task,
                                    profile_id=profile_id, max_speed=CLICK_MAX_SPEED, settle_s=0.5,
                                    on_sample=self._on_sample, cancel=self._stop.is_set)
            elif mode == "leader":
                from prop_desktop.arm.teleop import DEFAULT_TELEOP_RATE_HZ

                # Mirroring a hand needs the control rate, whatever the (lower) rate set for the other modes.
                recorder = Recorder(arm, "leader", leader=kw["leader"], seconds=kw["max_seconds"],
                                    rate_hz=max(self.rate_hz, DEFAULT_TELEOP_RATE_HZ), task=task,
                                    profile_id=profile_id, on_sample=self._on_sample, cancel=self._stop.is_set)
            else:
                recorder = Recorder(arm, "hand", seconds=kw["max_seconds"], rate_hz=self.rate_hz, task=task,
                                    profile_id=profile_id, on_sample=self._on_sample, cancel=self._stop.is_set)
            self._recorder = recorder
            self._t_status = 0.0
            self._set_status(message="Recording…")
            episode = recorder.run()
            self._recorder = None
            arrays, meta = episode.to_storage()
            meta.update(extra)
            if getattr(arm, "estopped", False) and not meta.get("fault"):
                meta.update(interrupted=True, fault="emergency stop")
            fault = meta.get("fault")
            user_fault = self._report(recorder, fault) if fault else None
            if len(episode) == 0:
                self._finish(RecordingResult(None, user_fault or "Nothing was recorded."))
                return
            try:
                with user_errors():
                    stored = session.episodes.save(arrays, meta, name=name)
            except ServiceError as exc:
                self._finish(RecordingResult(None, f"{user_fault + ' ' if user_fault else ''}{exc.user_message}"))
                return
            info = _episode_info(stored, meta)
            result = RecordingResult(info, user_fault)
            self._finish(result)
            self._announce_episodes()
        except Exception as exc:  # noqa: BLE001 - a worker must always finish and free the arm
            message = self._arm.report_fault(str(exc)) if self._arm.state.connected else str(exc)
            self._finish(RecordingResult(None, message))

    def _report(self, recorder: Any, fault: str) -> str:
        """Tell the slot whose arm failed: a lost leader disconnects the leader slot; the follower stays connected
        (its torque was released)."""
        from prop_desktop.arm.teleop import LeaderLost

        if self._leader is not None and isinstance(recorder.error, LeaderLost):
            return self._leader.report_fault(fault)
        return self._arm.report_fault(fault)

    def _on_sample(self, s: Any) -> None:
        q = tuple(float(v) for v in s.q)
        goal = None if not np.all(np.isfinite(s.goal)) else tuple(float(v) for v in s.goal)
        self._arm.note_joints(q)
        self.sample.emit(JointSample(float(s.t), q, goal))
        now = time.monotonic()
        if now - self._t_status >= STATUS_PERIOD_S:
            self._t_status = now
            recorder = self._recorder
            hz = 0.0
            if recorder is not None and recorder.loop is not None:
                hz = recorder.loop.stats().achieved_hz
            self._set_status(samples=s.index + 1, elapsed_s=float(s.t), achieved_hz=hz, message="Recording…")

    def _set_status(self, **changes: Any) -> None:
        s = self._status
        fields = {**s.__dict__, **changes}
        self._status = RecordingStatus(**fields)
        self.status_changed.emit(self._status)

    def _finish(self, result: RecordingResult) -> None:
        self._recorder = None
        self._arm.release("recording")
        if self._leader is not None:
            self._leader.release("recording")
        ep = result.episode
        message = result.fault or (f"Saved “{ep.name}”: {ep.samples} samples." if ep else "Nothing was saved.")
        self._status = RecordingStatus(
            False, self._status.mode, self._status.task, ep.samples if ep else self._status.samples,
            ep.duration_s if ep else self._status.elapsed_s, ep.rate_hz if ep else self._status.achieved_hz,
            None, message,
        )
        self._result = result
        self._done.set()
        self.status_changed.emit(self._status)
        self.finished.emit(result)

    # --- episodes of the active profile -----------------------------------------------------------------
    def episodes(self) -> list[EpisodeInfo]:
        """The active profile's episodes, oldest first (needs its key: may ask for the passphrase)."""
        session = self._profiles.session()
        with user_errors():
            infos = session.episodes.list()
        return [_episode_info(i) for i in infos]

    def load_episode(self, episode_id: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, meta) of one episode, in memory only."""
        session = self._profiles.session()
        with user_errors():
            return session.episodes.load(episode_id)

    def rename_episode(self, episode_id: str, name: str) -> EpisodeInfo:
        session = self._profiles.session()
        with user_errors():
            info = session.episodes.rename(episode_id, name)
        self._announce_episodes()
        return _episode_info(info)

    def delete_episode(self, episode_id: str) -> None:
        session = self._profiles.session()
        with user_errors():
            session.episodes.delete(episode_id)
        self._announce_episodes()

    def replay_episode(self, episode_id: str) -> None:
        """Replay the recorded joint path on the arm (worker; `sample`, `status_changed`, `finished`)."""
        arrays, meta = self.load_episode(episode_id)
        t = np.asarray(arrays["t"], dtype=np.float64)
        q = np.asarray(arrays["q"], dtype=np.float64)
        if len(t) < 2:
            raise EpisodeError("This episode is too short to replay.")
        with self._lock:
            if not self._done.is_set():
                raise BusyError("A recording or replay is already running.", "Stop it first.")
            arm = self._arm.claim("replaying")
            self._done.clear()
            self._stop = threading.Event()
            self._result = None
            self._status = RecordingStatus(True, "replay", meta.get("task"), message="Replaying…")
            self._worker = threading.Thread(target=self._replay, args=(arm, t, q), name="replay", daemon=True)
            self._worker.start()
        self.status_changed.emit(self._status)

    def _replay(self, arm: Any, t: np.ndarray, q: np.ndarray) -> None:
        from prop_desktop.arm.loop import FixedRateLoop
        from prop_desktop.services.motion import move_to

        fault = None
        try:
            fault = move_to(arm, q[0], rate_hz=self.rate_hz, cancel=self._stop.is_set)
            if fault is None and not self._stop.is_set():
                t = t - t[0]
                path = [np.interp, t, q]

                def tick(tk: Any) -> bool:
                    if self._stop.is_set():
                        return False
                    goal = np.array([path[0](tk.t, path[1], path[2][:, j]) for j in range(6)])
                    measured = arm.read_joints()
                    sent = arm.command(goal)
                    self.sample.emit(JointSample(tk.t, tuple(map(float, measured)), tuple(map(float, sent))))
                    return bool(tk.t < t[-1] + 0.3)  # a numpy bool is not `False` to the loop

                loop = FixedRateLoop(tick, self.rate_hz, name="replay-loop")
                loop.run()
                if loop.error is not None:
                    fault = str(loop.error)
        except Exception as exc:  # noqa: BLE001
            fault = str(exc)
        message = self._arm.report_fault(fault) if fault else None
        self._replay_done(message)

    def _replay_done(self, message: str | None) -> None:
        self._arm.release("replaying")
        self._status = RecordingStatus(False, "replay", self._status.task, message=message or "Replay finished.")
        self._result = RecordingResult(None, message)
        self._done.set()
        self.status_changed.emit(self._status)
        self.finished.emit(self._result)

    def _announce_episodes(self) -> None:
        try:
            self.episodes_changed.emit(self.episodes())
        except ServiceError:
            pass


def _episode_info(stored: Any, meta: dict[str, Any] | None = None) -> EpisodeInfo:
    """Our EpisodeInfo from the storage layer's listing entry (+ meta when we have it)."""
    meta = meta or {}
    fault = meta.get("fault", getattr(stored, "fault", None))
    if fault is None and stored.interrupted:
        fault = "This recording was cut short by a fault; what was recorded before it is kept."
    rate = meta.get("achieved_hz") or meta.get("rate_hz") or getattr(stored, "rate_hz", 0.0) or 0.0
    return EpisodeInfo(
        id=stored.id,
        name=stored.name,
        task=stored.task,
        mode=stored.mode,
        created=stored.created,
        samples=int(stored.n_samples),
        duration_s=float(stored.duration_s),
        rate_hz=float(rate),
        interrupted=bool(stored.interrupted),
        fault=fault,
    )
