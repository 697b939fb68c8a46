"""`prop-desktop` with no arguments: the desktop window.

Startup is kept fast: nothing here imports torch (the services load the policy lazily, on first use), the
window is shown first and the simulated arm is connected right after, off the GUI thread.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from prop_desktop.services import App
    from prop_desktop.ui.main_window import MainWindow
    from prop_desktop.ui.settings import UiSettings

from prop_desktop.paths import resources_dir

log = logging.getLogger(__name__)


def create_qapplication(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication), "a QCoreApplication already runs: the window needs a QApplication"
    app.setApplicationName("PRoP Desktop")
    app.setOrganizationName("prop-desktop")
    app.setDesktopFileName("prop-desktop")
    icon = resources_dir() / "icons" / "prop-desktop.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    style = resources_dir() / "style.qss"
    if style.exists():
        app.setStyleSheet(style.read_text())
    return app


def build_window(services: App | None = None, auto_connect: bool = True, settings: UiSettings | None = None,
                 try_out: bool = False) -> MainWindow:
    """The main window on `services` (a prop_desktop.services.App; a new one when None, for this run only
    when `try_out`)."""
    from prop_desktop.ui.main_window import MainWindow
    from prop_desktop.ui.settings import apply_data_folder, load_settings

    prefs = settings if settings is not None else load_settings()
    if services is None:
        from prop_desktop.services import App

        if try_out:
            services = App.for_try_out(control_rate_hz=prefs.control_rate_hz)
        else:
            apply_data_folder(prefs)
            services = App(control_rate_hz=prefs.control_rate_hz)
    window = MainWindow(services, prefs)
    window.connect_page.auto_connect = auto_connect
    return window


def run_app(try_out: bool = False) -> int:
    t0 = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    qt_app = create_qapplication()
    try:
        window = build_window(try_out=try_out)
    except Exception as exc:  # noqa: BLE001 - a person sees a message, not a traceback
        from PySide6.QtWidgets import QMessageBox

        from prop_desktop.ui.messages import user_message

        log.exception("the app could not start")
        QMessageBox.critical(None, "PRoP Desktop cannot start",
                             f"{user_message(exc)}\n\nIf this keeps happening, check that the data folder "
                             "can be written (Settings → Data folder) and reinstall the app.")
        return 1
    window.show()
    window.connect_page.refresh()
    window.build_all_later()
    log.info("window shown %.2f s after start of run_app", time.perf_counter() - t0)
    if os.environ.get(PROBE_ENV):
        QTimer.singleShot(0, lambda: _report_startup(window, t0))
    return qt_app.exec()


PROBE_ENV = "PROP_DESKTOP_STARTUP_PROBE"


def _report_startup(window: MainWindow, t0: float) -> None:
    """Startup probe (python -m prop_desktop.ui.startup_probe): print when the window is up, then quit."""
    print(json.dumps({"window_shown_s": time.perf_counter() - t0, "visible": window.isVisible(),
                      "title": window.windowTitle(), "torch_imported": "torch" in sys.modules}), flush=True)
    window.close()
    qt_app = QApplication.instance()
    if qt_app is not None:
        qt_app.quit()
