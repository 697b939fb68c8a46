"""Step 2 — Profiles: household members as cards; create (with the one-time recovery code), rename, delete,
passphrase, restore; a banner when the keyring cannot keep keys safely."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from prop_desktop.ui.messages import ask, show_error, user_message
from prop_desktop.ui.pages.base import Page
from prop_desktop.ui.profile_dialogs import (
    ChangePassphraseDialog,
    NewProfileDialog,
    RecoveryCodeDialog,
    RestoreDialog,
    RestoreRequest,
    TextDialog,
)
from prop_desktop.ui.widgets.banner import Banner
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from prop_desktop.services.models import CreatedProfile, KeyringStatus, ProfileInfo
    from prop_desktop.ui.pages.base import Window


def access_word(profile: ProfileInfo) -> str:
    """What the card says about who may use the profile: "Shared", "Locked" or "Unlocked"."""
    if not profile.has_passphrase:
        return "Shared"
    return "Unlocked" if profile.unlocked else "Locked"


class ProfileCard(QFrame):
    def __init__(self, page: ProfilesPage, profile: ProfileInfo, active: bool) -> None:
        super().__init__()
        self.profile = profile
        self.setObjectName("profileCard")
        self.setProperty("active", active)
        self.setProperty("profileId", profile.id)
        self.setMinimumWidth(260)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        name = QLabel(profile.name)
        name.setObjectName("cardName")
        top.addWidget(name, 1)
        if active:
            badge = QLabel("Using the arm now")
            badge.setObjectName("chip")
            badge.setProperty("state", "ok")
            top.addWidget(badge)
        # Who can use this person's way: everyone here (Shared), or only with the passphrase (Locked/Unlocked).
        self.access = QLabel(access_word(profile))
        self.access.setObjectName("chip")
        self.access.setProperty("access", self.access.text())
        self.access.setToolTip({
            "Shared": "No passphrase: anyone at this computer may use this person's way.",
            "Locked": "Protected by a passphrase: asked before anyone uses this person's way.",
            "Unlocked": "Protected by a passphrase, open for now: it locks again on switching or when unused.",
        }[self.access.text()])
        top.addWidget(self.access)
        layout.addLayout(top)
        facts = [
            f"{profile.episode_count} recording{'s' if profile.episode_count != 1 else ''}",
            "personal skill trained ✔" if profile.has_adapter else "no personal skill yet",
        ]
        line = QLabel(" · ".join(facts))
        line.setObjectName("muted")
        layout.addWidget(line)
        if not profile.key_present:
            warn = QLabel("⚠ This person's key is not in the keyring. Restore it from the recovery code.")
            warn.setWordWrap(True)
            warn.setStyleSheet("color: #b45309;")
            layout.addWidget(warn)
        buttons = QHBoxLayout()
        self.use_button = QPushButton("Use" if not active else "Active")
        self.use_button.setObjectName("useProfile")
        self.use_button.setEnabled(not active)
        self.use_button.setProperty("primary", not active)
        self.use_button.clicked.connect(lambda: page.window_.switch_profile(profile.id))
        buttons.addWidget(self.use_button)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setObjectName("renameProfile")
        self.rename_button.clicked.connect(lambda: page.rename(profile))
        buttons.addWidget(self.rename_button)
        self.passphrase_button = QPushButton("Passphrase")
        self.passphrase_button.setObjectName("passphraseProfile")
        self.passphrase_button.setToolTip("Add, change or remove the passphrase that protects this key")
        self.passphrase_button.clicked.connect(lambda: page.change_passphrase(profile))
        buttons.addWidget(self.passphrase_button)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteProfile")
        self.delete_button.setProperty("danger", True)
        self.delete_button.clicked.connect(lambda: page.delete(profile))
        buttons.addWidget(self.delete_button)
        layout.addLayout(buttons)


class ProfilesPage(Page):
    title = "Who is using the arm?"
    hint = ("Each person in the household gets a profile with their own secret key. Only that key makes the arm "
            "do things their way.")

    def __init__(self, window: Window) -> None:
        super().__init__(window)
        self.keyring_banner = Banner(self, closable=False)
        self.outer.insertWidget(0, self.keyring_banner)
        # Never a dead end without a keyring: a clearly labelled run that keeps nothing (or the one-line fix
        # the banner names).
        self.try_out_button = QPushButton("Try it out without a keyring (nothing is kept)…")
        self.try_out_button.setObjectName("tryOutButton")
        self.try_out_button.clicked.connect(self.offer_try_out)
        self.try_out_button.hide()
        self.outer.insertWidget(1, self.try_out_button, 0, Qt.AlignmentFlag.AlignLeft)
        actions = QHBoxLayout()
        self.add_button = QPushButton("+  Add a household member")
        self.add_button.setObjectName("addProfile")
        self.add_button.setProperty("primary", True)
        self.add_button.clicked.connect(self.open_new_profile)
        actions.addWidget(self.add_button)
        self.restore_button = QPushButton("Restore from a recovery code…")
        self.restore_button.setObjectName("restoreProfile")
        self.restore_button.clicked.connect(self.open_restore)
        actions.addWidget(self.restore_button)
        actions.addStretch(1)
        self.outer.addLayout(actions)
        self.cards_host = QWidget()
        self.cards = QGridLayout(self.cards_host)
        self.cards.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.cards.setSpacing(14)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setObjectName("cardsScroll")
        self.cards_host.setObjectName("cardsHost")
        scroll.setWidget(self.cards_host)
        self.empty_hint = QLabel("Nobody here yet. Press “Add a household member” to make the first profile — it "
                                 "takes a few seconds.")
        self.empty_hint.setObjectName("muted")
        self.outer.addWidget(self.empty_hint)
        self.outer.addWidget(scroll, 1)
        self.card_widgets: list[ProfileCard] = []
        self.dialog: QDialog | None = None  # the one open dialog, kept referenced (and reachable by tests)
        self._keyring_ok = True
        window.profiles_loaded.connect(self._profiles_loaded)

    # --- showing -----------------------------------------------------------------------------------------
    def page_shown(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.window_.refresh_profiles()

    def _profiles_loaded(self, profiles: list[ProfileInfo], active: ProfileInfo | None,
                         keyring_status: KeyringStatus | BaseException | None) -> None:
        self._show_keyring(keyring_status)
        for card in self.card_widgets:
            card.setParent(None)
            card.deleteLater()
        self.card_widgets = []
        for i, p in enumerate(profiles):
            card = ProfileCard(self, p, active is not None and p.id == active.id)
            self.cards.addWidget(card, i // 2, i % 2)
            self.card_widgets.append(card)
        self.empty_hint.setVisible(not profiles)

    def _show_keyring(self, status: KeyringStatus | BaseException | None) -> None:
        if isinstance(status, BaseException) or status is None:
            text = user_message(status) if isinstance(status, BaseException) else "unknown"
            self.keyring_banner.show_message(f"The keyring cannot be reached: {text}", "error")
            self._keyring_ok = False
        elif status.ok:
            self._keyring_ok = True
            self.keyring_banner.hide()
        else:
            self._keyring_ok = False
            text = status.message or ("This computer's keyring cannot keep keys safely "
                                      f"({status.backend}). Profiles cannot be created now.")
            self.keyring_banner.show_message(text, "error")
        self.add_button.setEnabled(self._keyring_ok)
        in_try_out = getattr(self.app, "try_out_folder", None) is not None
        self.try_out_button.setVisible(not self._keyring_ok and not in_try_out)
        self.empty_hint.setText(
            "Nobody here yet. Press “Add a household member” to make the first profile — it takes a few seconds."
            if self._keyring_ok else
            "Profiles need a keyring to keep each person's key safe. Fix the keyring as the message above says, "
            "or try the app without one: nothing is kept after you close it.")

    def offer_try_out(self) -> None:
        self.dialog = ask(self, "Try it out without a keyring?",
                          "PRoP Desktop opens again in a try-out mode: keys stay in memory, and every profile, "
                          "recording and personal skill is deleted when you close it. Nothing you do now is kept.",
                          "Open the try-out", self._start_try_out)

    def _start_try_out(self) -> None:
        import sys

        from PySide6.QtCore import QProcess

        args = ["--try-out"] if getattr(sys, "frozen", False) else ["-m", "prop_desktop", "--try-out"]
        if QProcess.startDetached(sys.executable, args):
            self.window_.close()
        else:
            show_error(self, "Cannot open the try-out", "Start it from a terminal: prop-desktop --try-out")

    def card_for(self, name: str) -> ProfileCard | None:
        return next((c for c in self.card_widgets if c.profile.name == name), None)

    # --- create ------------------------------------------------------------------------------------------
    def open_new_profile(self) -> NewProfileDialog:
        dialog = self.dialog = NewProfileDialog(self._create, self)
        dialog.open()
        return dialog

    def _create(self, name: str, passphrase: str | None, shared: bool, dlg: NewProfileDialog) -> None:
        def done(created: CreatedProfile) -> None:
            dlg.accept()
            # Whoever adds a member is usually that person, about to record: make them the one using the arm.
            if not self.window_.moving_activity():
                self.window_.switch_profile(created.profile.id)
            self.window_.refresh_profiles()
            self.dialog = RecoveryCodeDialog(created.profile.name, created.recovery_code, self)
            self.dialog.open()

        def create() -> CreatedProfile:
            # The passphrase was just typed: keep the key open for this session instead of asking again.
            return self.app.profiles.create(name, passphrase, keep_open=True, shared=shared)

        run_in_background(self.bridge, create, done, lambda e: dlg.show_error(user_message(e)),
                          name="create-profile")

    # --- restore -----------------------------------------------------------------------------------------
    def open_restore(self) -> RestoreDialog:
        try:
            profiles = self.app.profiles.list()
        except Exception:  # noqa: BLE001
            profiles = []
        dialog = self.dialog = RestoreDialog(profiles, self._restore, self)
        dialog.open()
        return dialog

    def _restore(self, request: RestoreRequest, dlg: RestoreDialog) -> None:
        def done(profile: ProfileInfo) -> None:
            dlg.accept()
            self.window_.refresh_profiles()
            self.banner.show_message(f"{profile.name}'s key is back. Their recordings and personal skill can be "
                                     "used again.", "success")

        def restore() -> ProfileInfo:
            return self.app.profiles.restore(request.code, profile_id=request.profile_id, name=request.name,
                                             passphrase=request.passphrase,
                                             current_passphrase=request.current_passphrase, shared=request.shared)

        run_in_background(self.bridge, restore, done, lambda e: dlg.show_error(user_message(e)), name="restore")

    # --- rename / passphrase / delete --------------------------------------------------------------------
    def rename(self, profile: ProfileInfo) -> TextDialog:
        def submit(new_name: str, dlg: TextDialog) -> None:
            def done(_p: ProfileInfo) -> None:
                dlg.accept()
                self.window_._last_active = None  # a rename of the active member shows on every page
                self.window_.refresh_profiles()

            run_in_background(self.bridge, lambda: self.app.profiles.rename(profile.id, new_name), done,
                              lambda e: dlg.show_error(user_message(e)), name="rename")

        dialog = self.dialog = TextDialog(f"Rename {profile.name}", "New name", profile.name, submit, self)
        dialog.open()
        return dialog

    def change_passphrase(self, profile: ProfileInfo) -> ChangePassphraseDialog:
        def submit(new: str | None, old: str | None, dlg: ChangePassphraseDialog) -> None:
            def done(_r: None) -> None:
                dlg.accept()
                self.refresh()
                self.banner.show_message(
                    f"{profile.name}'s passphrase was {'set' if new else 'removed'}.", "success")

            run_in_background(self.bridge, lambda: self.app.profiles.set_passphrase(profile.id, new, old), done,
                              lambda e: dlg.show_error(user_message(e)), name="passphrase")

        dialog = self.dialog = ChangePassphraseDialog(profile, submit, self)
        dialog.open()
        return dialog

    def delete(self, profile: ProfileInfo) -> None:
        if self.window_.moving_activity() and self._is_active(profile):
            show_error(self, "Please stop first", "The arm is moving for this person. Stop it before deleting.")
            return

        def confirmed() -> None:
            def done(warnings: list[str]) -> None:
                self.window_.refresh_profiles()
                extra = (" Note: " + " ".join(warnings)) if warnings else ""
                self.banner.show_message(f"{profile.name} was deleted. Their data can no longer be read.{extra}",
                                         "warning" if warnings else "info")

            run_in_background(self.bridge, lambda: self.app.profiles.delete(profile.id), done,
                              lambda e: show_error(self, "Could not delete", e), name="delete-profile")

        self.dialog = ask(
            self,
            f"Delete {profile.name}?",
            f"Delete {profile.name}'s profile? Their secret key is destroyed, so their recordings and personal "
            "skill become unrecoverable — nobody can read them again, not even with the recovery code.",
            f"Delete {profile.name} for good",
            confirmed,
            destructive=True,
        )

    def _is_active(self, profile: ProfileInfo) -> bool:
        active = self.window_.active_profile
        return active is not None and active.id == profile.id
