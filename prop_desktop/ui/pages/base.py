"""What every page of the journey shares: a title, a one-line hint, and hooks the main window calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QVBoxLayout, QWidget

from prop_desktop.ui.widgets.banner import Banner

if TYPE_CHECKING:
    from prop_desktop.ui.main_window import MainWindow


class Page(QWidget):
    title = ""
    hint = ""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.app = window.app
        self.bridge = window.bridge
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(18, 12, 18, 12)
        self.outer.setSpacing(10)
        self.banner = Banner(self)
        self.outer.addWidget(self.banner)

    # --- hooks ------------------------------------------------------------------------------------------
    def profile_changed(self, profile: Any) -> None:
        """The active household member changed (or was renamed): repopulate everything profile-specific."""

    def page_shown(self) -> None:
        """The user opened this page."""

    def settings_changed(self) -> None:
        """Units or control rate changed."""

    def is_moving(self) -> str | None:
        """What this page is doing with the arm right now ("recording", "driving" …), else None."""
        return None

    def unfinished_work(self) -> str | None:
        """Work closing the window would throw away ("training Ana's personal skill" …), else None."""
        return None

    def stop_motion(self) -> None:
        """Stop what this page moves (a normal stop: recordings are kept)."""

    def emergency_stopped(self) -> None:
        """The arm was e-stopped (torque released) by the services: show it, do not command the arm."""

    def shutdown(self) -> None:
        """The window closes: disconnect from services, stop timers."""
