"""What every page of the journey shares: a title, a one-line hint, and hooks the main window calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QVBoxLayout, QWidget

from prop_desktop.ui.widgets.banner import Banner

if TYPE_CHECKING:
    from prop_desktop.services import App
    from prop_desktop.services.models import ConnectionState, ProfileInfo
    from prop_desktop.ui.bridge import ThreadBridge
    from prop_desktop.ui.settings import UiSettings


class Window(Protocol):
    """What a page uses of the main window (ui/main_window.py's MainWindow). A protocol, so the pages do not
    import the window that imports them."""

    app: App
    bridge: ThreadBridge
    settings: UiSettings
    profiles: list[ProfileInfo]
    active_profile: ProfileInfo | None
    _last_active: tuple[str | None, str | None] | None  # cleared by a rename so every page shows the new name
    connection_changed: SignalInstance  # ConnectionState, on the GUI thread
    profiles_loaded: SignalInstance  # list[ProfileInfo], the active one, KeyringStatus | BaseException | None
    episodes_loaded: SignalInstance  # list[EpisodeInfo], BaseException | None

    def refresh_profiles(self) -> None: ...

    def refresh_episodes(self) -> None: ...

    def switch_profile(self, profile_id: str) -> None: ...

    def moving_activity(self) -> str | None: ...

    def emergency_stop(self) -> None: ...

    def close(self) -> bool: ...


class Page(QWidget):
    title = ""
    hint = ""

    def __init__(self, window: Window) -> None:
        super().__init__()
        self.window_ = window
        self.app = window.app
        self.bridge = window.bridge
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(18, 6, 18, 8)
        self.outer.setSpacing(10)
        self.banner = Banner(self)
        self.banner.reserve_space()
        self.outer.addWidget(self.banner)
        window.connection_changed.connect(self._arm_state_for_banner)

    def as_widget(self) -> QWidget:
        """The page as the Qt parent of its dialogs and shortcuts: the protocols its parts see it through
        (DriveView, RecordHost) cannot say that it is a QWidget."""
        return self

    def show_error(self, exc: BaseException, prefix: str = "") -> None:
        """An error in the banner, in plain words; one about the arm's state (stopped, gone) goes away by
        itself once the arm is usable again."""
        from prop_desktop.services.errors import ArmConnectError, ArmFaultError, NotConnectedError
        from prop_desktop.ui.messages import user_message

        about_arm = isinstance(exc, ArmFaultError | NotConnectedError | ArmConnectError)
        self.banner.show_message(prefix + user_message(exc), "error", topic="arm" if about_arm else None)

    def refuse_if_stopped(self) -> bool:
        """Shortcuts reach a page even while its Start button is disabled: after an e-stop, say why nothing
        moves instead of asking the arm (True = refused)."""
        if not self.app.arm.state.stopped:
            return False
        self.banner.show_message("The arm is stopped (emergency stop or a safety fault). Press Reset (top right) "
                                 "to use it again.", "warning", topic="arm")
        return True

    def _arm_state_for_banner(self, state: ConnectionState) -> None:
        if state.connected and getattr(state.status, "value", state.status) == "connected":
            self.banner.resolve("arm")

    # --- hooks ------------------------------------------------------------------------------------------
    def profile_changed(self, profile: ProfileInfo | None) -> None:
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
