"""Dialogs of the Profiles page: new member, recovery code (shown once), restore, rename, passphrase.

All are opened with `open()` (window-modal, no nested event loop) so tests can fill and click them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
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
        # Grow for the message instead of squashing the fields (the layout does not resize a shown dialog).
        self.layout().activate()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    def _ok(self) -> None:
        self.error.hide()
        self.submit()

    def submit(self) -> None:  # pragma: no cover - overridden
        self.accept()


class NewProfileDialog(FormDialog):
    """Name + optional passphrase. `on_submit(name, passphrase|None, dialog)` does the work."""

    def __init__(self, on_submit: Callable[[str, str | None, NewProfileDialog], None], parent: QWidget | None):
        super().__init__("Add a household member", parent)
        self.setObjectName("newProfileDialog")
        self._on_submit = on_submit
        self.name = QLineEdit()
        self.name.setObjectName("profileName")
        self.name.setPlaceholderText("e.g. Alex")
        self.form.addRow("Name", self.name)
        self.use_passphrase = QCheckBox("Also protect my key with a passphrase (asked before the arm does things "
                                        "your way)")
        self.use_passphrase.setObjectName("usePassphrase")
        self.form.addRow(self.use_passphrase)
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase2 = QLineEdit()
        self.passphrase2.setObjectName("passphrase2")
        self.passphrase2.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("Passphrase", self.passphrase)
        self.form.addRow("Repeat it", self.passphrase2)
        self.use_passphrase.toggled.connect(self._toggle)
        self._toggle(False)
        self.ok_button.setText("Create")
        note = QLabel("A secret key is made for this person and kept in this computer's keyring. It locks their "
                      "recordings and their personal skill.")
        note.setWordWrap(True)
        note.setObjectName("muted")
        self.layout_.insertWidget(1, note)

    def _toggle(self, on: bool) -> None:
        self.passphrase.setEnabled(on)
        self.passphrase2.setEnabled(on)

    def submit(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.show_error("Please type a name.")
            return
        passphrase = None
        if self.use_passphrase.isChecked():
            passphrase = self.passphrase.text()
            if len(passphrase) < 4:
                self.show_error("The passphrase is too short: use at least 4 characters.")
                return
            if passphrase != self.passphrase2.text():
                self.show_error("The two passphrases differ. Type the same one twice.")
                return
        self.ok_button.setEnabled(False)
        self._on_submit(name, passphrase, self)


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


class RestoreDialog(FormDialog):
    """Recovery code + which profile it belongs to (or a new name). `on_submit(code, profile_id, name, dlg)`."""

    def __init__(self, profiles: list[Any], on_submit: Callable[[str, str | None, str | None, RestoreDialog], None],
                 parent: QWidget | None) -> None:
        super().__init__("Restore a key from its recovery code", parent)
        self.setObjectName("restoreDialog")
        self.setMinimumWidth(600)  # the whole recovery code stays visible while it is typed
        self._on_submit = on_submit
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
        self.target.currentIndexChanged.connect(lambda _i: self.name.setEnabled(self.target.currentData() is None))
        missing = next((i for i, p in enumerate(profiles) if not getattr(p, "key_present", True)), None)
        self.target.setCurrentIndex(missing if missing is not None else 0)
        self.name.setEnabled(self.target.currentData() is None)
        self.ok_button.setText("Restore")

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
        self.ok_button.setEnabled(False)
        self._on_submit(code, profile_id, name, self)


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
                 parent: QWidget | None) -> None:
        super().__init__("Passphrase needed", parent)
        self.setObjectName("passphraseDialog")
        self._on_done = on_done
        self._answered = False
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

    def submit(self) -> None:
        self._answer(self.field.text())
        self.accept()

    def _answer(self, value: str | None) -> None:
        if not self._answered:
            self._answered = True
            self._on_done(value)


class ChangePassphraseDialog(FormDialog):
    """Add, change or remove a passphrase. `on_submit(new|None, old|None, dialog)`."""

    def __init__(self, profile: Any, on_submit: Callable[[str | None, str | None, ChangePassphraseDialog], None],
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
        self.new.setPlaceholderText("leave empty to remove the passphrase" if self.has_old else "")
        self.new2 = QLineEdit()
        self.new2.setObjectName("newPassphrase2")
        self.new2.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow("New passphrase", self.new)
        self.form.addRow("Repeat it", self.new2)

    def submit(self) -> None:
        new = self.new.text()
        if new != self.new2.text():
            self.show_error("The two new passphrases differ.")
            return
        if new and len(new) < 4:
            self.show_error("The passphrase is too short: use at least 4 characters.")
            return
        if not new and not self.has_old:
            self.show_error("Type a passphrase.")
            return
        self.ok_button.setEnabled(False)
        self._on_submit(new or None, self.old.text() if self.has_old else None, self)
