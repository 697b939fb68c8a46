"""The application object the UI constructs: one of each service, wired together.

    app = App()                                                  # the real thing
    app = App(data_dir=tmp, keyring_backend=MemoryKeyring())     # tests
    app.arm.connect()                     # the simulated arm unless a real one is plugged in
    created = app.profiles.create("Ana", shared=True)  # created.recovery_code: show it once
    app.record.start_click_episode("point", [(0.20, 0.10, 0.25, 0.0)]); app.record.wait()
    job = app.training.start(); job.wait()
    app.drive.start("point", personalized=True)
    app.close()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prop_desktop.services.arm_service import ArmService
from prop_desktop.services.drive_session import DriveSession
from prop_desktop.services.leader_service import LeaderArmService
from prop_desktop.services.policy_provider import PolicyProvider
from prop_desktop.services.profile_service import PassphraseProvider, ProfileService
from prop_desktop.services.record_service import RecordService
from prop_desktop.services.training_job import TrainingService


class App:
    def __init__(self, data_dir: Path | str | None = None, arm_choice: str | None = None,
                 keyring_backend: Any = None, passphrase_provider: PassphraseProvider | None = None,
                 control_rate_hz: float = 50.0, policy_dir: Path | str | None = None) -> None:
        """`data_dir`: app data (default prop_desktop.paths.data_dir()); `arm_choice`: connect at once ("sim",
        a port path) — None leaves it to the Connect page; `keyring_backend`: a keyring backend object
        (tests); `policy_dir`: base policy folder (default: the shipped resources)."""
        from prop_desktop.arm.calibration_store import CalibrationStore
        from prop_desktop.paths import data_dir as default_data_dir

        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.policy = PolicyProvider(policy_dir)
        # One data folder for every layer: calibrations too live in this App's folder, never the user's.
        self.arm = ArmService(control_rate_hz, CalibrationStore.in_data_folder(self.data_dir))
        self.leader = LeaderArmService(CalibrationStore.in_data_folder(self.data_dir))  # optional second arm
        self.profiles = ProfileService(self.data_dir, keyring_backend)
        self.profiles.passphrase_provider = passphrase_provider
        self.record = RecordService(self.arm, self.profiles, control_rate_hz, self.leader)
        self.training = TrainingService(self.profiles, self.record, self.policy)
        self.drive = DriveSession(self.arm, self.profiles, self.policy, scene_for=self.record.scene)
        self.try_out_folder: Path | None = None  # set by for_try_out: deleted on close
        if arm_choice is not None:
            self.arm.connect(arm_choice)

    @classmethod
    def for_try_out(cls, **kwargs: Any) -> App:
        """Everything for this run only, for a computer without a usable keyring: keys in this process's
        memory (never on disk), the sealed files in a private temporary folder that `close()` deletes. The
        person chooses it explicitly (`prop-desktop --try-out`, or the Profiles page's button); the app says
        so on screen the whole time. Nothing falls back to it silently."""
        import tempfile

        from prop_desktop.keys.ephemeral import EphemeralKeyring

        folder = Path(tempfile.mkdtemp(prefix="prop-desktop-try-out-"))  # 0700, like the real data folder
        app = cls(data_dir=folder, keyring_backend=EphemeralKeyring(), **kwargs)
        app.try_out_folder = folder
        return app

    def close(self) -> None:
        """Stop everything (driving, recording, training), release torque, disconnect. Safe to call twice."""
        self.drive.stop()
        self.record.stop()
        self.training.cancel()
        # Let the loops finish their tick and release the arm before the port closes under them.
        self.drive.wait(timeout=2.0)
        self.record.wait(timeout=2.0)
        self.leader.disconnect()
        self.arm.disconnect()
        self.training.wait(timeout=2.0)
        self.profiles.lock()
        if self.try_out_folder is not None:
            import shutil

            shutil.rmtree(self.try_out_folder, ignore_errors=True)

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
