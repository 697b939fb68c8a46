"""The app's own preferences (units, control rate, data folder), kept as JSON beside the user's config.

The data folder itself cannot be stored inside the data folder, so preferences live in the platform's config
folder — except when PROP_DESKTOP_DATA_DIR is set (tests, portable use), where they live in that folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from prop_desktop.paths import ENV_DATA_DIR

CONTROL_RATES_HZ = (25.0, 30.0, 50.0, 100.0)
IDLE_LOCK_MINUTES = (1, 5, 10, 30, 60, 0)  # 0 = never
# Training effort: (max steps, max seconds) handed to the training service; None = the service's default.
TRAINING_EFFORT: dict[str, tuple[int, float] | None] = {
    "normal": None,
    "quick": (400, 15.0),
}


@dataclass
class UiSettings:
    units: str = "deg"  # "deg" | "rad": how joint angles are shown
    control_rate_hz: float = 50.0
    data_folder: str = ""  # empty = the platform default; takes effect at the next start
    training: str = "normal"  # a key of TRAINING_EFFORT
    idle_lock_minutes: int = 10  # a protected profile's key leaves memory after this long unused (0 = never)

    @property
    def degrees(self) -> bool:
        return self.units == "deg"


def settings_path() -> Path:
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override).expanduser() / "ui-settings.json"
    import platformdirs

    return Path(platformdirs.user_config_dir("prop-desktop", appauthor=False)) / "ui-settings.json"


def load_settings() -> UiSettings:
    path = settings_path()
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return UiSettings()
    s = UiSettings()
    if raw.get("units") in ("deg", "rad"):
        s.units = raw["units"]
    try:
        rate = float(raw.get("control_rate_hz", s.control_rate_hz))
        if 5.0 <= rate <= 200.0:
            s.control_rate_hz = rate
    except (TypeError, ValueError):
        pass
    if raw.get("training") in TRAINING_EFFORT:
        s.training = raw["training"]
    if raw.get("idle_lock_minutes") in IDLE_LOCK_MINUTES:
        s.idle_lock_minutes = raw["idle_lock_minutes"]
    if isinstance(raw.get("data_folder"), str):
        s.data_folder = raw["data_folder"]
    return s


def save_settings(settings: UiSettings) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2))
    tmp.replace(path)


def apply_data_folder(settings: UiSettings) -> None:
    """Before the services start: a data folder chosen in Settings becomes PROP_DESKTOP_DATA_DIR."""
    if settings.data_folder and not os.environ.get(ENV_DATA_DIR):
        os.environ[ENV_DATA_DIR] = settings.data_folder
