"""Fixtures for the UI tests: the real services (simulated arm, in-memory keyring, private data folder) under
the real main window, plus helpers that drive it like a person: clicks and typing on widgets."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "keys"))

from tests.keys.keyring_fakes import MemoryKeyring  # noqa: E402
from tests.secret_service import real_secret_service_backend  # noqa: E402


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def services(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[object]:
    from prop_desktop.services import App

    # PROP_DESKTOP_TEST_POLICY_DIR: another base policy folder (development only); default the shipped one.
    app = App(data_dir=tmp_path / "data", keyring_backend=memory_keyring,
              policy_dir=os.environ.get("PROP_DESKTOP_TEST_POLICY_DIR") or None)
    # No back-off after a wrong passphrase by default: tests type the right one at once. The back-off itself
    # is tested with an injected clock (test_private_profiles.py, tests/services/test_profile_service.py).
    app.profiles.guard.first_delay_s = 0.0
    yield app
    app.close()


@pytest.fixture
def window(qtbot, services) -> Iterator[object]:
    from prop_desktop.ui.app import create_qapplication
    from prop_desktop.ui.main_window import MainWindow
    from prop_desktop.ui.settings import UiSettings

    create_qapplication()  # the app's name, icon and stylesheet on pytest-qt's QApplication
    w = MainWindow(services, UiSettings(), save_prefs=False)
    qtbot.addWidget(w)
    w.resize(1280, 820)
    w.show()
    qtbot.waitExposed(w)
    w.build_all_later(0)  # as the app does right after showing the window
    qtbot.waitUntil(lambda: not w.pages.missing(), timeout=20_000)
    yield w
    w._closing_confirmed = True  # teardown closes without asking, the arm is stopped by shutdown()
    w.close()


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("PROP_DESKTOP_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def real_keyring_window(qtbot, tmp_path: Path):
    """A window on the REAL Secret Service (skips without one, fails in CI); removes its entries after."""
    backend = real_secret_service_backend()
    from prop_desktop.services import App
    from prop_desktop.ui.app import create_qapplication
    from prop_desktop.ui.main_window import MainWindow
    from prop_desktop.ui.settings import UiSettings

    create_qapplication()
    app = App(data_dir=tmp_path / "data", keyring_backend=backend)
    app.profiles.guard.first_delay_s = 0.0  # as in `services`; a test that checks the back-off sets it
    window = MainWindow(app, UiSettings(), save_prefs=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window, backend
    window.close()
    for profile in app.profiles.list():  # leave nothing behind in the session's keyring
        try:
            backend.delete_password("prop-desktop", profile.id)
        except Exception:  # noqa: BLE001
            pass
