"""The application object the UI constructs: one of each service, wired together.

    app = App()                                 # the real thing
    app = App(data_dir=tmp, keyring_backend=InMemoryKeyring())   # tests
    app.arm.connect()                            # simulated arm unless a real one is plugged in
    created = app.profiles.create("Alex")        # created.recovery_code shown once
    app.record.start_click_episode("serve", [(0.25, 0.05, 0.10), (0.20, -0.10, 0.05)])
    job = app.training.start(); job.wait()
    app.drive.start("serve", personalized=True)
    app.close()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prop_desktop.services.arm_service import ArmService
from prop_desktop.services.drive_session import DriveSession
from prop_desktop.services.profile_service import PassphraseProvider, ProfileService
from prop_desktop.services.record_service import RecordService
from prop_desktop.services.training_job import TrainingService


class App:
    def __init__(self, data_dir: Path | str | None = None, arm_choice: str | None = None,
                 keyring_backend: Any = None, passphrase_provider: PassphraseProvider | None = None,
                 control_rate_hz: float = 50.0) -> None:
        raise NotImplementedError
        self.arm: ArmService
        self.profiles: ProfileService
        self.record: RecordService
        self.training: TrainingService
        self.drive: DriveSession

    def close(self) -> None:
        """Stop everything (e-stop driving, cancel training, stop recording), release torque, disconnect."""
        raise NotImplementedError

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
