"""Where calibrations are kept: one JSON file per arm in a folder the caller gives.

The app passes the calibration folder of its data folder (services.App); scripts and the CLI use
`CalibrationStore.default()`, the calibration folder of `prop_desktop.paths.data_dir()`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from prop_desktop.arm.calibration import ArmCalibration, CalibrationError
from prop_desktop.paths import data_dir

FOLDER_NAME = "calibration"


class CalibrationStore:
    """The calibrations in `folder` (made on the first save), one `<arm id>.json` each."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    @classmethod
    def default(cls) -> CalibrationStore:
        """The calibration folder of the app's data folder (PROP_DESKTOP_DATA_DIR when set)."""
        return cls(data_dir() / FOLDER_NAME)

    @classmethod
    def in_data_folder(cls, data_folder: Path | str) -> CalibrationStore:
        return cls(Path(data_folder) / FOLDER_NAME)

    def path(self, arm_id: str) -> Path:
        return self.folder / f"{arm_id}.json"

    def save(self, calibration: ArmCalibration) -> Path:
        """Write atomically (temp file + rename) so a crash never leaves half a calibration."""
        path = self.path(calibration.arm_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cal-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(calibration.to_json(), fh, indent=2)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def load(self, arm_id: str) -> ArmCalibration | None:
        """The stored calibration of that arm, or None when it was never calibrated."""
        path = self.path(arm_id)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CalibrationError(f"cannot read the calibration {path} ({exc}); calibrate the arm again") from exc
        return ArmCalibration.from_json(data)
