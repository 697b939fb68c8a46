"""What the Record page's parts (the click tab, the recordings table, the LeRobot buttons) use of the page.
A protocol, so the parts do not import the page that builds them (no import circle)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PySide6.QtWidgets import QComboBox, QLabel, QWidget

    from prop_desktop.services import App
    from prop_desktop.ui.bridge import ThreadBridge
    from prop_desktop.ui.pages.base import Window
    from prop_desktop.ui.widgets.banner import Banner


class RecordHost(Protocol):
    app: App
    bridge: ThreadBridge
    window_: Window
    banner: Banner
    status_label: QLabel
    task_combo: QComboBox
    recording: bool
    replaying: bool

    def as_widget(self) -> QWidget: ...

    def current_task(self) -> str | None: ...

    def show_scene(self) -> None: ...

    def show_error(self, exc: BaseException, prefix: str = "") -> None: ...

    def update_controls(self) -> None: ...

    def refresh_episodes(self) -> None: ...

    def refuse_if_stopped(self) -> bool: ...

    def reset_live(self) -> None: ...

    def stop_motion(self) -> None: ...
