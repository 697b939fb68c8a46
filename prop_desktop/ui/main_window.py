"""The main window: the journey's steps in a sidebar, who is active and what is connected always in view."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from prop_desktop.ui.bridge import ThreadBridge
from prop_desktop.ui.dialogs import AboutDialog, SettingsDialog, torch_version
from prop_desktop.ui.pages.base import Page
from prop_desktop.ui.passphrase import PassphrasePrompter
from prop_desktop.ui.settings import UiSettings, save_settings
from prop_desktop.ui.widgets.page_scroll import PageScroll
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from prop_desktop.services import App
    from prop_desktop.services.models import ConnectionState, EpisodeInfo, KeyringStatus, ProfileInfo
    from prop_desktop.ui.pages.connect_page import ConnectPage

    # What the profile list loads: the profiles, the active one, and the keyring's state (or why it is unknown).
    LoadedProfiles = tuple[list[ProfileInfo], ProfileInfo | None, KeyringStatus | BaseException | None]

log = logging.getLogger(__name__)

STEPS = ("Connect", "Profiles", "Record", "Train", "Drive")
PLOT_PAGE_MODULES = ("record_page", "train_page", "drive_page")


def import_page_modules() -> None:
    """Import the plot pages' modules (and with them pyqtgraph); safe on a worker: no widget is made."""
    import importlib

    for name in PLOT_PAGE_MODULES:
        importlib.import_module(f"prop_desktop.ui.pages.{name}")


def set_chip(label: QLabel, text: str, state: str) -> None:
    if label.text() == text and label.property("state") == state:
        return  # a restyle re-polishes the whole chip: skip it when nothing changed
    label.setText(text)
    if label.property("state") != state:
        label.setProperty("state", state)
        label.style().unpolish(label)
        label.style().polish(label)


# What the header chip can say about one arm. Its width is fixed to the longest of these, so starting or
# stopping a recording does not re-lay out the header (and with it repaint the whole page: measured 30-50 ms
# of GUI-thread work per change on a slow 2-core machine).
CHIP_ACTIVITIES = ("recording", "driving", "replaying", "calibrating", "needs calibration", "stopped")


def chip_text(name: str, activity: str | None = None, mark: str = "●") -> str:
    """Two short lines (arm, then what it does) keep the header narrow enough for a 1280-px screen."""
    return f"{mark} {name}" + (f"\n{activity}" if activity else "")


def chip_width_for(label: QLabel, name: str) -> int:
    current = label.text()
    widths = []
    candidates = [chip_text(name), chip_text(name, "connecting…", "◌")] + [chip_text(name, a) for a in CHIP_ACTIVITIES]
    for text in candidates:
        label.setText(text)
        widths.append(label.sizeHint().width())
    label.setText(current)
    return max(widths)


class PageRegistry:
    """The pages, built on first use: the plot-heavy pages (pyqtgraph takes ~0.7 s to import and set up) are
    made after the window is shown (`build_all_later`) or when first opened, so the window appears at once.
    `registry[name]` builds if needed; iterating gives only the pages built so far."""

    def __init__(self, window: MainWindow, factories: dict[str, type[Page] | str]) -> None:
        self._scrolls: dict[str, PageScroll] = {}
        self._window = window
        self._factories = factories
        self._built: dict[str, Page] = {}
        self._placeholders: dict[str, QWidget] = {}
        for name in STEPS:
            holder = QWidget()
            holder.setObjectName(f"{name.lower()}Placeholder")
            self._placeholders[name] = holder
            window.stack.addWidget(holder)

    def build(self, name: str) -> Page:
        page = self._built.get(name)
        if page is not None:
            return page
        factory = self._factories[name]
        if isinstance(factory, str):
            import importlib

            module_name, cls_name = factory.rsplit(".", 1)
            factory = getattr(importlib.import_module(f"prop_desktop.ui.pages.{module_name}"), cls_name)
            assert isinstance(factory, type) and issubclass(factory, Page), f"{cls_name} is not a page"
        page = factory(self._window)
        page.setObjectName(f"{name.lower()}Page")
        # A page taller or wider than the window scrolls instead of forcing the window to grow (a 1280×800
        # laptop screen must hold the window; a page's minimum size used to push it to 1466×894).
        scroll = PageScroll(page)
        scroll.setObjectName(f"{name.lower()}Scroll")
        self._scrolls[name] = scroll
        holder = self._placeholders.pop(name)
        index = self._window.stack.indexOf(holder)
        was_current = self._window.stack.currentWidget() is holder
        self._window.stack.insertWidget(index, scroll)
        self._window.stack.removeWidget(holder)
        holder.deleteLater()
        if was_current:
            self._window.stack.setCurrentWidget(scroll)
        self._built[name] = page
        self._window.page_built(page)
        return page

    def scroll_of(self, page: Page) -> PageScroll:
        """The scroll area a page lives in (what the stack shows)."""
        for name, built in self._built.items():
            if built is page:
                return self._scrolls[name]
        raise KeyError(page.objectName())

    def __getitem__(self, name: str) -> Page:
        return self.build(name)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def values(self) -> list[Page]:
        return list(self._built.values())

    def missing(self) -> list[str]:
        return [n for n in STEPS if n not in self._built]


class MainWindow(QMainWindow):
    """`MainWindow(app)` where `app` is a prop_desktop.services.App. Pages are reachable as `window.pages[name]`."""

    profile_changed = Signal(object)  # ProfileInfo | None, on the GUI thread
    connection_changed = Signal(object)  # ConnectionState, on the GUI thread
    profiles_loaded = Signal(object, object, object)  # list[ProfileInfo], active, KeyringStatus | Exception
    episodes_loaded = Signal(object, object)  # list[EpisodeInfo], Exception | None

    def __init__(self, app: App, settings: UiSettings | None = None, save_prefs: bool = True) -> None:
        super().__init__()
        self.app = app
        self.settings = settings or UiSettings()
        self._save_prefs = save_prefs
        self.bridge = ThreadBridge(self)
        self.passphrase_prompter = PassphrasePrompter(
            self.bridge, self, is_unlocked=lambda profile_id: app.profiles.info(profile_id).unlocked,
            wait_left=app.profiles.wait_left)
        app.profiles.passphrase_provider = self.passphrase_prompter
        self._closing_confirmed = False
        self._disconnects: list[Callable[[], None]] = []
        self._profiles_loading = False
        self._profiles_dirty = False
        self._page_modules_loading = False
        self._page_modules_ready = False
        self.profiles: list[ProfileInfo] = []
        self.active_profile: ProfileInfo | None = None
        # (id, name) of the profile the pages last showed; None = none shown yet, or a rename asks for a redraw
        self._last_active: tuple[str | None, str | None] | None = None
        self.keyring_status: KeyringStatus | BaseException | None = None
        self.episodes: list[EpisodeInfo] = []
        self._episodes_loading = False
        self._episodes_dirty = False
        self.setWindowTitle("PRoP Desktop")
        self.setObjectName("mainWindow")
        self.resize(1280, 820)
        self._build()
        self._wire_services()
        self._add_shortcuts()
        self._started = True
        from prop_desktop.ui.profile_lock import IdleRelock

        self.idle_relock = IdleRelock(self)
        self.go_to("Connect")
        self.refresh_profiles()
        run_in_background(self.bridge, self._warm_up, name="warm-up")

    def _warm_up(self) -> None:
        """Import the kinematics/IK code off the GUI thread, so the first click on the workspace is instant."""
        try:
            self.app.record.arm_points((0.0,) * 6)
            self.app.record.check_target((0.25, 0.0, 0.15))
        except Exception:  # noqa: BLE001 - only a head start; the real call reports errors
            pass

    # --- layout ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        from prop_desktop.ui.pages.connect_page import ConnectPage
        from prop_desktop.ui.pages.profiles_page import ProfilesPage

        central = QWidget()
        root = QHBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        sidebar = QFrame()
        sidebar.setObjectName("sidebar")
        sidebar.setFixedWidth(210)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(0, 0, 0, 12)
        title = QLabel("PRoP Desktop")
        title.setObjectName("appTitle")
        side.addWidget(title)
        subtitle = QLabel("Your robot, your way — privately")
        subtitle.setObjectName("appSubtitle")
        subtitle.setWordWrap(True)
        side.addWidget(subtitle)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        for i, name in enumerate(STEPS, start=1):
            item = QListWidgetItem(f"{i}   {name}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(f"Step {i}: {name} (Ctrl+{i})")
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self._nav_changed)
        side.addWidget(self.nav, 1)
        self.settings_button = QPushButton("Settings")
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.clicked.connect(self.open_settings)
        side.addWidget(self.settings_button)
        self.about_button = QPushButton("About")
        self.about_button.setObjectName("aboutButton")
        self.about_button.clicked.connect(self.open_about)
        side.addWidget(self.about_button)
        root.addWidget(sidebar)

        right = QWidget()
        right.setObjectName("pageArea")
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(0)
        header = QFrame()
        header.setObjectName("header")
        hl = QHBoxLayout(header)
        hl.setContentsMargins(18, 10, 18, 10)
        titles = QVBoxLayout()
        self.page_title = QLabel()
        self.page_title.setObjectName("pageTitle")
        self.page_hint = QLabel()
        self.page_hint.setObjectName("pageHint")
        self.page_hint.setWordWrap(True)
        titles.addWidget(self.page_title)
        titles.addWidget(self.page_hint)
        hl.addLayout(titles, 1)
        who = QLabel("Who is using the arm:")
        who.setObjectName("muted")
        hl.addWidget(who)
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("profileSwitcher")
        self.profile_combo.setMinimumWidth(160)
        self.profile_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.profile_combo.setToolTip("Switch household member: every page shows that person's data")
        self.profile_combo.activated.connect(self._profile_picked)
        hl.addWidget(self.profile_combo)
        self.arm_chip = QLabel()
        self.arm_chip.setObjectName("chip")
        self._chip_name: str | None = None
        self.arm_chip.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        # After an emergency stop or a safety fault the arm stays released until the person says so; the
        # services' messages say "Press Reset", so the button is in the header, on every page. It takes the
        # chip's place (the same size), so nothing in the header moves when it appears.
        self.reset_button = QPushButton("⟲  Reset the arm\n(stopped, motors relaxed)")
        self.reset_button.setObjectName("resetArmButton")
        self.reset_button.setProperty("danger", True)
        self.reset_button.setToolTip("The arm was stopped and its motors released. Reset to use it again.")
        self.reset_button.clicked.connect(self.reset_arm)
        self.chip_slot = QStackedWidget()
        self.chip_slot.setObjectName("chipSlot")
        self.chip_slot.addWidget(self.arm_chip)
        self.chip_slot.addWidget(self.reset_button)
        self.chip_slot.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        hl.addWidget(self.chip_slot)
        rl.addWidget(header)

        self.stack = QStackedWidget()
        self.pages = PageRegistry(self, {
            "Connect": ConnectPage, "Profiles": ProfilesPage, "Record": "record_page.RecordPage",
            "Train": "train_page.TrainPage", "Drive": "drive_page.DrivePage",
        })
        self.pages.build("Connect")
        self.pages.build("Profiles")
        rl.addWidget(self.stack, 1)
        root.addWidget(right, 1)
        self.setCentralWidget(central)

        self.status_connection = QLabel()
        self.status_connection.setObjectName("statusConnection")
        self.status_profile = QLabel()
        self.status_profile.setObjectName("statusProfile")
        self.statusBar().addWidget(self.status_connection, 1)
        self.statusBar().addPermanentWidget(self.status_profile)
        self.try_out_label: QLabel | None = None
        if getattr(self.app, "try_out_folder", None) is not None:
            self.setWindowTitle("PRoP Desktop — try-out (nothing is kept)")
            self.try_out_label = QLabel("Try-out: keys are kept in memory only; every profile, recording and "
                                        "skill is deleted when you close the app.")
            self.try_out_label.setObjectName("tryOutLabel")
            self.statusBar().addPermanentWidget(self.try_out_label)
        self.show_connection(self.app.arm.state)

    def _wire_services(self) -> None:
        self._disconnects.append(self.app.arm.state_changed.connect(self.bridge.wrap(self.show_connection)))
        self._disconnects.append(self.app.profiles.active_changed.connect(self.bridge.wrap(self._active_changed)))
        self._disconnects.append(
            self.app.profiles.profiles_changed.connect(self.bridge.wrap(lambda _p: self.refresh_profiles()))
        )
        self._disconnects.append(
            self.app.record.episodes_changed.connect(self.bridge.wrap(lambda _e: self.refresh_episodes()))
        )

    def _add_shortcuts(self) -> None:
        self.shortcuts: dict[str, QShortcut] = {}

        def add(key: str, fn: Callable[[], object], name: str) -> None:
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.ApplicationShortcut)
            sc.activated.connect(fn)
            self.shortcuts[name] = sc

        for i, name in enumerate(STEPS, start=1):
            add(f"Ctrl+{i}", partial(self.go_to, name), f"page:{name}")
        add("Escape", self.emergency_stop, "emergency-stop")
        add("Ctrl+,", self.open_settings, "settings")
        add("F1", self.open_about, "about")
        add("Ctrl+Q", self.close, "quit")
        # Page actions: Space and Ctrl+Return go to whatever the visible page offers.
        add("Space", lambda: self._page_action("space"), "space")
        add("Ctrl+Return", lambda: self._page_action("start"), "start")
        add("Ctrl+P", lambda: self._page_action("toggle"), "toggle")
        add("F5", lambda: self._page_action("refresh"), "refresh")

    def _page_action(self, action: str) -> None:
        handler = getattr(self.current_page(), f"shortcut_{action}", None)
        if handler is not None:
            handler()

    # --- navigation --------------------------------------------------------------------------------------
    def current_page(self) -> Page:
        current = self.stack.currentWidget()
        return current.widget() if isinstance(current, QScrollArea) else current  # type: ignore[return-value]

    def go_to(self, name: str) -> None:
        self.nav.setCurrentRow(STEPS.index(name))

    def _build_one_then_the_rest(self, name: str) -> None:
        self.pages.build(name)
        self.build_all_later(0)

    def build_all_later(self, delay_ms: int = 50) -> None:
        """Build the remaining pages one per event-loop turn, after the window is on screen. Their modules
        (pyqtgraph: ~0.5-1.5 s of imports) are imported on a worker first, so the GUI thread only pays for
        making the widgets (~0.1-0.2 s per page). A page opened before that simply imports on the GUI thread
        (Python's import lock makes it wait for the worker's import)."""
        if not self._page_modules_ready:
            if not self._page_modules_loading:
                self._page_modules_loading = True

                def ready(_result: object = None) -> None:
                    self._page_modules_ready = True
                    self.build_all_later(delay_ms)

                run_in_background(self.bridge, import_page_modules, ready, lambda _e: ready(), name="page-imports")
            return
        missing = self.pages.missing()
        if missing:
            QTimer.singleShot(delay_ms, lambda: self._build_one_then_the_rest(missing[0]))
        else:
            # Everything long-lived exists now: move it out of the garbage collector's way, so a full
            # collection during recording or driving does not walk (and stall on) thousands of Qt wrappers.
            # Only the young generations are collected first: a full collection here costs the GUI ~0.15 s,
            # and what little garbage survives into the frozen set is a few kilobytes.
            gc.collect(1)
            gc.freeze()

    @property
    def connect_page(self) -> ConnectPage:
        """The Connect page (always built, at start), typed: what the app and the tests drive it by."""
        from prop_desktop.ui.pages.connect_page import ConnectPage

        page = self.pages["Connect"]
        assert isinstance(page, ConnectPage)
        return page

    def page_built(self, page: Page) -> None:
        """A page made after start-up catches up with the current profile and recordings."""
        if not getattr(self, "_started", False):
            return
        page.profile_changed(self.active_profile)
        loaded = getattr(page, "_episodes_loaded", None)
        if loaded is not None:
            loaded(self.episodes, None)
        page.settings_changed()

    def _nav_changed(self, row: int) -> None:
        if row < 0:
            return
        page = self.pages[STEPS[row]]
        self.stack.setCurrentWidget(self.pages.scroll_of(page))
        self.page_title.setText(f"{row + 1}. {page.title}")
        self.page_hint.setText(page.hint)
        page.page_shown()

    # --- connection and profile, always visible ------------------------------------------------------------
    def show_connection(self, state: ConnectionState) -> None:
        status = getattr(state.status, "value", str(state.status))
        name = state.choice.label if state.choice is not None else "No arm"
        if status == "connected":
            chip_state, text = ("busy" if state.busy_with else "ok"), chip_text(name, state.busy_with)
        elif status == "needs_calibration":
            chip_state, text = "warn", chip_text(name, "needs calibration")
        elif status == "connecting":
            chip_state, text = "busy", chip_text(name, "connecting…", "◌")
        elif status == "fault":
            chip_state, text = "bad", chip_text(name, "stopped")
        else:
            chip_state, text = "bad", chip_text("No arm connected", mark="○")
        if name != self._chip_name:
            self._chip_name = name
            self.chip_slot.setFixedWidth(max(chip_width_for(self.arm_chip, name),
                                             self.reset_button.sizeHint().width()))
        set_chip(self.arm_chip, text, chip_state)
        self.chip_slot.setCurrentWidget(self.reset_button if status == "fault" else self.arm_chip)
        self.reset_button.setEnabled(True)
        self.status_connection.setText(f"Arm: {state.message}")
        self._connected = bool(state.connected)
        self.update_steps()
        self.connection_changed.emit(state)

    def refresh_profiles(self) -> None:
        """Reload the household off the GUI thread (the keyring may be slow); `profiles_loaded` follows."""
        if self._profiles_loading:
            self._profiles_dirty = True
            return
        self._profiles_loading = True
        self._profiles_dirty = False
        profiles_service = self.app.profiles

        def load() -> LoadedProfiles:
            status: KeyringStatus | Exception
            try:
                status = profiles_service.keyring_status()
            except Exception as exc:  # noqa: BLE001 - shown as a banner by the Profiles page
                status = exc
            return list(profiles_service.list()), profiles_service.active(), status

        def failed(exc: BaseException) -> None:
            log.warning("cannot list profiles: %s", exc)
            self._profiles_loading = False
            self._apply_profiles(([], None, exc))

        def done(result: LoadedProfiles) -> None:
            self._profiles_loading = False
            self._apply_profiles(result)

        run_in_background(self.bridge, load, done, failed, name="profiles")

    def _apply_profiles(self, result: LoadedProfiles) -> None:
        profiles, active, keyring_status = result
        if self._profiles_dirty:
            self.refresh_profiles()
        self.profiles = profiles
        self.keyring_status = keyring_status
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        if not profiles:
            self.profile_combo.addItem("Nobody yet", None)
        for p in profiles:
            self.profile_combo.addItem(p.name, p.id)
        if active is not None:
            self.profile_combo.setCurrentIndex(max(0, self.profile_combo.findData(active.id)))
        self.profile_combo.blockSignals(False)
        self._show_active(active)
        self.update_steps()
        self.profiles_loaded.emit(profiles, active, keyring_status)

    def refresh_episodes(self) -> None:
        """Reload the active profile's recordings off the GUI thread (unsealing needs the key); then
        `episodes_loaded` is emitted."""
        if self._episodes_loading:
            self._episodes_dirty = True
            return
        self._episodes_loading = True
        self._episodes_dirty = False
        record = self.app.record
        active = self.active_profile

        def done(result: tuple[list[EpisodeInfo], BaseException | None]) -> None:
            self._episodes_loading = False
            if self._episodes_dirty:
                self.refresh_episodes()
                return
            self.episodes = result[0]
            self.update_steps()
            self.episodes_loaded.emit(result[0], result[1])

        def load() -> tuple[list[EpisodeInfo], BaseException | None]:
            if active is None:
                return [], None
            try:
                return list(record.episodes()), None
            except Exception as exc:  # noqa: BLE001 - shown by the pages
                return [], exc

        run_in_background(self.bridge, load, done, name="episodes")

    def update_steps(self) -> None:
        """A tick beside each step of the journey already done, so a newcomer sees where they are."""
        active = self.active_profile
        done = {
            "Connect": getattr(self, "_connected", False),
            "Profiles": active is not None,
            "Record": active is not None and bool(self.episodes),
            "Train": active is not None and bool(getattr(active, "has_adapter", False)),
            "Drive": False,
        }
        for i, name in enumerate(STEPS):
            item = self.nav.item(i)
            item.setText(f"{'✓' if done[name] else i + 1}   {name}")
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, "done" if done[name] else "to do")

    def _profile_picked(self, index: int) -> None:
        profile_id = self.profile_combo.itemData(index)
        if profile_id is None:
            self.go_to("Profiles")
            return
        self.switch_profile(profile_id)

    def switch_profile(self, profile_id: str) -> None:
        moving = self.moving_activity()
        if moving:
            self.refresh_profiles()
            from prop_desktop.ui.messages import show_info

            show_info(self, "Please stop first", f"The arm is {moving}. Stop it before switching to someone else.")
            return
        from prop_desktop.services.errors import PassphraseRequiredError
        from prop_desktop.ui.messages import show_error

        def refused(exc: BaseException) -> None:
            self.refresh_profiles()  # the picker shows who is still using the arm
            if isinstance(exc, PassphraseRequiredError):  # cancelled: said quietly, not in a box
                self.statusBar().showMessage("Not switched: that profile's passphrase was not given.", 8000)
            else:
                show_error(self, "Cannot switch profile", exc)

        # A protected profile asks for its passphrase first (the services ask through the prompter).
        run_in_background(self.bridge, lambda: self.app.profiles.switch(profile_id),
                          lambda _p: self.refresh_profiles(), refused, name="switch-profile")

    def _active_changed(self, _profile: object) -> None:
        self.refresh_profiles()

    def _show_active(self, active: ProfileInfo | None) -> None:
        self.active_profile = active
        self.status_profile.setText(f"Active profile: {active.name}" if active else "No profile selected")
        if self._last_active != (active.id if active else None, active.name if active else None):
            self._last_active = (active.id if active else None, active.name if active else None)
            for page in self.pages.values():
                page.profile_changed(active)
            self.profile_changed.emit(active)
            self.refresh_episodes()

    # --- actions -----------------------------------------------------------------------------------------
    def moving_activity(self) -> str | None:
        for page in self.pages.values():
            what = page.is_moving()
            if what:
                return what
        busy = getattr(self.app.arm.state, "busy_with", None)
        return busy

    def emergency_stop(self) -> None:
        """Esc, from anywhere: stop every motion and release torque at once."""
        try:
            self.app.arm.emergency_stop("Emergency stop (Esc or the Stop button).")
        except Exception as exc:  # noqa: BLE001 - e-stop must never raise into Qt
            log.warning("emergency stop: %s", exc)
        for page in self.pages.values():
            page.emergency_stopped()
        self.statusBar().showMessage("Emergency stop: the arm's motors were released.", 8000)

    def reset_arm(self) -> None:
        """Leave the stopped (fault) state: the arm can be used again (it does not move by itself)."""
        from prop_desktop.ui.messages import show_error

        self.reset_button.setEnabled(False)

        def failed(exc: BaseException) -> None:
            self.reset_button.setEnabled(True)
            show_error(self, "Cannot reset the arm", exc)

        run_in_background(self.bridge, self.app.arm.reset, lambda _s: self.statusBar().showMessage(
            "The arm is ready again.", 5000), failed, name="arm-reset")

    def open_settings(self) -> SettingsDialog:
        dlg = SettingsDialog(self.settings, self.apply_settings, self)
        dlg.open()
        return dlg

    def apply_settings(self, settings: UiSettings) -> None:
        self.settings = settings
        if self._save_prefs:
            try:
                save_settings(settings)
            except OSError as exc:
                from prop_desktop.ui.messages import show_error

                show_error(self, "Settings not saved", f"Could not save your settings: {exc}.")
        for setter in ("rate_hz",):
            if hasattr(self.app.record, setter):
                setattr(self.app.record, setter, settings.control_rate_hz)
        if hasattr(self.app.arm, "control_rate_hz"):
            self.app.arm.control_rate_hz = settings.control_rate_hz
        self.idle_relock.apply(settings.idle_lock_minutes)
        for page in self.pages.values():
            page.settings_changed()

    def open_about(self) -> AboutDialog:
        dlg = AboutDialog(self)
        dlg.open()
        run_in_background(self.bridge, torch_version, dlg.set_torch_version, name="about-torch")
        return dlg

    # --- closing -----------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self._closing_confirmed:
            moving = self.moving_activity()
            if moving:
                event.ignore()
                self._confirm_close("The arm is moving",
                                    f"The arm is {moving}. Closing stops it safely first (anything recorded so far "
                                    "is kept).", "Stop the arm and close", "Keep it running")
                return
            work = self.unfinished_work()
            if work:
                event.ignore()
                self._confirm_close("Training is not finished",
                                    f"PRoP Desktop is {work}. Closing now stops it and the new skill is lost (the "
                                    "previous one is kept).", "Stop training and close", "Keep training")
                return
        self.shutdown()
        event.accept()

    def unfinished_work(self) -> str | None:
        for page in self.pages.values():
            what = page.unfinished_work()
            if what:
                return what
        return None

    def _confirm_close(self, title: str, text: str, close_label: str, keep_label: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("closeWhileMovingBox")
        stop = box.addButton(close_label, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(keep_label, QMessageBox.ButtonRole.RejectRole)

        def decided() -> None:
            if box.clickedButton() is stop:
                self._closing_confirmed = True
                self.close()

        box.finished.connect(decided)
        box.open()

    def shutdown(self) -> None:
        for page in self.pages.values():
            try:
                page.stop_motion()
                page.shutdown()
            except Exception as exc:  # noqa: BLE001
                log.warning("page shutdown: %s", exc)
        for disconnect in self._disconnects:
            disconnect()
        self._disconnects.clear()
        try:
            self.app.close()
        except Exception as exc:  # noqa: BLE001 - closing must always finish
            log.warning("closing services: %s", exc)
