"""Dialogs of the Profiles page: new member, recovery code (shown once), restore, rename, passphrase.

All are opened with `open()` (window-modal, no nested event loop) so tests can fill and click them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from prop_desktop.ui.passphrase_fields import StrengthLine, passphrase_problem

if TYPE_CHECKING:
    from prop_desktop.services.models import ProfileInfo


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("dialogError")
    label.setWordWrap(True)
    label.setStyleSheet("color: #b91c1c;")
    label.hide()
    return label


class FormDialog(QDialog):
    """A dialog whose OK runs `submit()`; an error it reports stays inline and the dialog stays open."""

    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        self.layout_ = QVBoxLayout(self)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.error = _error_label()
        self.layout_.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("dialogOk")
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        self.layout_.addWidget(self.buttons)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self.ok_button.setEnabled(True)
        # Grow for the message instead of squashing the fields. The layout does not resize a shown dialog, and a
        # wrapped message's height depends on the width, which a window's minimum size ignores: so the height the
        # layout needs at this width becomes the dialog's minimum (a later layout pass cannot undo it, as it could
        # a one-off resize: CI once saw the fields squashed two seconds after the message appeared).
        layout = self.layout()
        assert layout is not None  # built in __init__
        layout.activate()
        width = self.width()
        needed = max(layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else 0,
                     layout.totalSizeHint().height(), self.sizeHint().height())
        self.setMinimumHeight(needed)
        self.resize(width, max(self.height(), needed))

    def _ok(self) -> None:
        self.error.hide()
        self.submit()

    def submit(self) -> None:  # pragma: no cover - overridden
        self.accept()


class NewProfileDialog(FormDialog):
    """Name + passphrase (the default), or the explicit choice to share. `on_submit(name, passphrase|None,
    shared, dialog)` does the work."""

    def __init__(self, on_submit: Callable[[str, str | None, bool, NewProfileDialog], None],
                 parent: QWidget | None):
        super().__init__("Add a household member", parent)
        self.setObjectName("newProfileDialog")
        self._on_submit = on_submit
        self.name = QLineEdit()
        self.name.setObjectName("profileName")
        self.name.setPlaceholderText("e.g. Alex")
        self.form.addRow("Name", self.name)
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase2 = QLineEdit()
        self.passphrase2.setObjectName("passphrase2")
        self.passphrase2.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("Passphrase", self.passphrase)
        self.form.addRow("Repeat it", self.passphrase2)
        self.strength = StrengthLine(self.passphrase, lambda: [self.name.text()])
        self.form.addRow(self.strength)
        self.name.textChanged.connect(lambda _t: self.strength.update_verdict())
        self.shared = QCheckBox("Anyone at this computer may use my way (no passphrase)")
        self.shared.setObjectName("sharedProfile")
        self.shared.setToolTip("Without a passphrase, whoever sits at this computer can pick you in “Who is using "
                               "the arm” and drive the arm your way.")
        self.form.addRow(self.shared)
        self.shared.toggled.connect(self._toggle)
        self.ok_button.setText("Create")
        note = QLabel("A secret key is made for this person and kept in this computer's keyring. It locks their "
                      "recordings and their personal skill; the passphrase keeps others at this computer out.")
        note.setWordWrap(True)
        note.setObjectName("muted")
        self.layout_.insertWidget(1, note)

    def _toggle(self, shared: bool) -> None:
        for widget in (self.passphrase, self.passphrase2, self.strength):
            widget.setEnabled(not shared)

    def submit(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.show_error("Please type a name.")
            return
        shared = self.shared.isChecked()
        passphrase = None
        if not shared:
            passphrase = self.passphrase.text()
            problem = passphrase_problem(passphrase, self.passphrase2.text(), [name])
            if problem:
                self.show_error(problem + " Or tick “Anyone at this computer may use my way”.")
                return
        self.ok_button.setEnabled(False)
        self._on_submit(name, passphrase, shared, self)


class RecoveryCodeDialog(QDialog):
    """Shows the recovery code ONCE. Continue is enabled only after “I have saved it” is ticked."""

    def __init__(self, name: str, code: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryCodeDialog")
        self.setWindowTitle(f"{name}'s recovery code")
        self.setMinimumWidth(640)  # the code on one line: a wrapped group is easy to copy down wrongly
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>Write this down and keep it somewhere safe.</b> It is the only way to get {name}'s key back if "
            "this computer's keyring is lost. It is shown only now — the app does not keep a copy."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.code = QLabel(code)
        self.code.setObjectName("recoveryCode")
        self.code.setWordWrap(True)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.code)
        row = QHBoxLayout()
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("copyRecoveryCode")
        self.copy_button.clicked.connect(self._copy)
        row.addWidget(self.copy_button)
        self.copied = QLabel("")
        self.copied.setObjectName("muted")
        row.addWidget(self.copied, 1)
        layout.addLayout(row)
        self.saved = QCheckBox("I have saved my recovery code")
        self.saved.setObjectName("savedCheckbox")
        layout.addWidget(self.saved)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setProperty("primary", True)
        self.continue_button.setEnabled(False)
        self.continue_button.clicked.connect(self.accept)
        self.saved.toggled.connect(self.continue_button.setEnabled)
        layout.addWidget(self.continue_button)

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code.text())
        self.copied.setText("Copied. Paste it into your password manager or print it.")

    def reject(self) -> None:
        # Closing without confirming would lose the only view of the code: insist politely.
        if self.saved.isChecked():
            super().reject()
        else:
            self.copied.setText("Please save the code and tick “I have saved my recovery code” first.")


@dataclass(frozen=True)
class RestoreRequest:
    code: str
    profile_id: str | None  # None: a new profile called `name`
    name: str | None
    passphrase: str | None  # the new passphrase protecting the restored key
    current_passphrase: str | None  # opens the current keyring entry (its keys may still be needed)
    shared: bool  # the explicit choice: no passphrase, anyone at this computer may use this way


class RestoreDialog(FormDialog):
    """Recovery code, which profile it belongs to (or a new name), the current passphrase of a protected
    profile, and the new protection (a passphrase, or shared). `on_submit(RestoreRequest, dialog)`."""

    def __init__(self, profiles: list[ProfileInfo], on_submit: Callable[[RestoreRequest, RestoreDialog], None],
                 parent: QWidget | None) -> None:
        super().__init__("Restore a key from its recovery code", parent)
        self.setObjectName("restoreDialog")
        self.setMinimumWidth(600)  # the whole recovery code stays visible while it is typed
        self._on_submit = on_submit
        self._profiles = {p.id: p for p in profiles}
        self.code = QLineEdit()
        self.code.setObjectName("recoveryCodeInput")
        self.code.setPlaceholderText("the words or groups you wrote down")
        self.form.addRow("Recovery code", self.code)
        self.target = QComboBox()
        self.target.setObjectName("restoreTarget")
        for p in profiles:
            suffix = "" if getattr(p, "key_present", True) else " (key missing)"
            self.target.addItem(f"{p.name}{suffix}", p.id)
        self.target.addItem("Someone new (type a name)…", None)
        self.form.addRow("For", self.target)
        self.name = QLineEdit()
        self.name.setObjectName("restoreName")
        self.form.addRow("Name", self.name)
        self.current = QLineEdit()
        self.current.setObjectName("restoreCurrentPassphrase")
        self.current.setEchoMode(QLineEdit.EchoMode.Password)
        self.current.setPlaceholderText("if you still know it: keeps files an interrupted change left behind")
        self.form.addRow("Current passphrase", self.current)
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("restorePassphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase2 = QLineEdit()
        self.passphrase2.setObjectName("restorePassphrase2")
        self.passphrase2.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("New passphrase", self.passphrase)
        self.form.addRow("Repeat it", self.passphrase2)
        self.strength = StrengthLine(self.passphrase, lambda: [self._person_name()])
        self.form.addRow(self.strength)
        self.shared = QCheckBox("Anyone at this computer may use this way (no passphrase)")
        self.shared.setObjectName("restoreShared")
        self.form.addRow(self.shared)
        self.shared.toggled.connect(lambda _on: self._update_fields())
        self.target.currentIndexChanged.connect(lambda _i: self._update_fields())
        missing = next((i for i, p in enumerate(profiles) if not getattr(p, "key_present", True)), None)
        self.target.setCurrentIndex(missing if missing is not None else 0)
        self._update_fields()
        self.ok_button.setText("Restore")

    def _selected(self) -> ProfileInfo | None:
        return self._profiles.get(self.target.currentData())

    def _person_name(self) -> str:
        selected = self._selected()
        return selected.name if selected is not None else self.name.text()

    def _update_fields(self) -> None:
        selected = self._selected()
        self.name.setEnabled(selected is None)
        self.current.setEnabled(selected is not None and bool(selected.has_passphrase))
        if selected is not None and getattr(selected, "shared", False) and not self.shared.isChecked():
            self.shared.setChecked(True)  # their earlier choice, shown; untick it to add a passphrase
        for widget in (self.passphrase, self.passphrase2, self.strength):
            widget.setEnabled(not self.shared.isChecked())

    def submit(self) -> None:
        code = self.code.text().strip()
        if not code:
            self.show_error("Type the recovery code first.")
            return
        profile_id = self.target.currentData()
        name = self.name.text().strip() or None
        if profile_id is None and not name:
            self.show_error("Type the name of the person this code belongs to.")
            return
        shared = self.shared.isChecked()
        passphrase = None
        if not shared:
            passphrase = self.passphrase.text()
            problem = passphrase_problem(passphrase, self.passphrase2.text(), [self._person_name()])
            if problem:
                self.show_error(problem + " Or tick “Anyone at this computer may use this way”.")
                return
        current = self.current.text() if self.current.isEnabled() and self.current.text() else None
        self.ok_button.setEnabled(False)
        self._on_submit(RestoreRequest(code, profile_id, name if profile_id is None else None, passphrase, current,
                                       shared), self)


class TextDialog(FormDialog):
    """One line of text (rename). `on_submit(text, dialog)`."""

    def __init__(self, title: str, label: str, text: str, on_submit: Callable[[str, TextDialog], None],
                 parent: QWidget | None) -> None:
        super().__init__(title, parent)
        self.setObjectName("textDialog")
        self._on_submit = on_submit
        self.field = QLineEdit(text)
        self.field.setObjectName("textField")
        self.field.selectAll()
        self.form.addRow(label, self.field)

    def submit(self) -> None:
        text = self.field.text().strip()
        if not text:
            self.show_error("This cannot be empty.")
            return
        self.ok_button.setEnabled(False)
        self._on_submit(text, self)


class PassphraseDialog(FormDialog):
    """Asks for a profile's passphrase. `on_done(passphrase | None)` (None = cancelled)."""

    def __init__(self, name: str, reason: str | None, on_done: Callable[[str | None], None],
                 parent: QWidget | None, wait_left: Callable[[], float] | None = None) -> None:
        super().__init__("Passphrase needed", parent)
        self.setObjectName("passphraseDialog")
        self._on_done = on_done
        self._answered = False
        self._wait_left = wait_left
        intro = QLabel(f"{name}'s key is protected by a passphrase. Type it to open {name}'s recordings and "
                       "personal skill for this session.")
        intro.setWordWrap(True)
        self.layout_.insertWidget(0, intro)
        self.field = QLineEdit()
        self.field.setObjectName("passphraseField")
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("Passphrase", self.field)
        if reason:
            self.show_error(reason)
        self.ok_button.setText("Unlock")
        self.rejected.connect(lambda: self._answer(None))
        # After wrong passphrases, Unlock waits out the back-off, counting down ("Try again in 4 s").
        self.wait_label = QLabel()
        self.wait_label.setObjectName("unlockWait")
        self.layout_.insertWidget(self.layout_.count() - 1, self.wait_label)
        self._wait_timer = QTimer(self)
        self._wait_timer.setInterval(200)
        self._wait_timer.timeout.connect(self._update_wait)
        self._update_wait()

    def _update_wait(self) -> None:
        left = self._wait_left() if self._wait_left is not None else 0.0
        waiting = left > 0
        self.wait_label.setText(f"Try again in {math.ceil(left)} s" if waiting else "")
        self.wait_label.setVisible(waiting)
        self.ok_button.setEnabled(not waiting)
        if waiting and not self._wait_timer.isActive():
            self._wait_timer.start()
        elif not waiting:
            self._wait_timer.stop()

    def submit(self) -> None:
        self._answer(self.field.text())
        self.accept()

    def _answer(self, value: str | None) -> None:
        if not self._answered:
            self._answered = True
            self._on_done(value)


class ChangePassphraseDialog(FormDialog):
    """Add, change or remove a passphrase; removing it is the explicit choice to share.
    `on_submit(new|None, old|None, dialog)`."""

    def __init__(self, profile: ProfileInfo,
                 on_submit: Callable[[str | None, str | None, ChangePassphraseDialog], None],
                 parent: QWidget | None) -> None:
        super().__init__(f"Passphrase for {profile.name}", parent)
        self.setObjectName("changePassphraseDialog")
        self._on_submit = on_submit
        self.has_old = bool(profile.has_passphrase)
        self.old = QLineEdit()
        self.old.setObjectName("oldPassphrase")
        self.old.setEchoMode(QLineEdit.EchoMode.Password)
        if self.has_old:
            self.form.addRow("Current passphrase", self.old)
        self.new = QLineEdit()
        self.new.setObjectName("newPassphrase")
        self.new.setEchoMode(QLineEdit.EchoMode.Password)
        self.new2 = QLineEdit()
        self.new2.setObjectName("newPassphrase2")
        self.new2.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("New passphrase", self.new)
        self.form.addRow("Repeat it", self.new2)
        self.strength = StrengthLine(self.new, lambda: [profile.name])
        self.form.addRow(self.strength)
        self.shared = QCheckBox("Remove it: anyone at this computer may use my way")
        self.shared.setObjectName("removePassphrase")
        self.shared.toggled.connect(lambda on: [w.setEnabled(not on) for w in (self.new, self.new2, self.strength)])
        if self.has_old:
            self.form.addRow(self.shared)
        self._name = profile.name

    def submit(self) -> None:
        old = self.old.text() if self.has_old else None
        if self.has_old and not old:
            self.show_error("Type the current passphrase first.")
            return
        if self.shared.isChecked():
            self.ok_button.setEnabled(False)
            self._on_submit(None, old, self)
            return
        problem = passphrase_problem(self.new.text(), self.new2.text(), [self._name])
        if problem:
            self.show_error(problem)
            return
        self.ok_button.setEnabled(False)
        self._on_submit(self.new.text(), old, self)
