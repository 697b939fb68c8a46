"""Turning exceptions into plain-language messages, and showing them in a way tests can drive.

Dialogs are shown non-modally (`open()`), so a test can find the visible QMessageBox and click its button,
and the GUI thread is never blocked in a nested event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)


def user_message(exc: BaseException) -> str:
    """The user-facing text of an error: the services' message + fix, else a plain generic sentence."""
    text = getattr(exc, "user_message", None)
    if isinstance(text, str) and text:
        return text
    if isinstance(exc, FileNotFoundError):
        return f"A file is missing: {exc.filename}."
    if isinstance(exc, PermissionError):
        return f"The app is not allowed to open {exc.filename or 'a file'}. Check its permissions."
    log.error("unexpected error shown to the user", exc_info=exc)
    return f"Something went wrong: {exc}. Your data is safe; please try again."


def show_error(parent: QWidget | None, title: str, exc_or_text: BaseException | str) -> QMessageBox:
    text = exc_or_text if isinstance(exc_or_text, str) else user_message(exc_or_text)
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.open()
    return box


def show_info(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("infoBox")
    box.open()
    return box


def ask(
    parent: QWidget | None,
    title: str,
    text: str,
    yes_text: str,
    on_yes: Callable[[], None],
    destructive: bool = False,
) -> QMessageBox:
    """A non-modal yes/cancel question; `on_yes` runs only if the user confirms."""
    box = QMessageBox(QMessageBox.Icon.Warning if destructive else QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("confirmBox")
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    yes.setObjectName("confirmYes")
    cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    cancel.setObjectName("confirmCancel")
    box.setDefaultButton(cancel)

    def finished() -> None:
        if box.clickedButton() is yes:
            on_yes()

    box.finished.connect(finished)
    box.open()
    return box
