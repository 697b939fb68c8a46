"""Small dialogs: Settings and About."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from prop_desktop import __version__
from prop_desktop.paths import data_dir
from prop_desktop.ui.settings import CONTROL_RATES_HZ, IDLE_LOCK_MINUTES, TRAINING_EFFORT, UiSettings


class SettingsDialog(QDialog):
    """Units, control rate, and where the data lives. `on_saved(settings)` runs after OK."""

    def __init__(self, settings: UiSettings, on_saved: Callable[[UiSettings], None], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._settings = settings
        self._on_saved = on_saved
        form = QFormLayout()
        self.units = QComboBox()
        self.units.setObjectName("unitsCombo")
        self.units.addItem("Degrees (°)", "deg")
        self.units.addItem("Radians (rad)", "rad")
        self.units.setCurrentIndex(0 if settings.units == "deg" else 1)
        form.addRow("Show joint angles in", self.units)
        self.rate = QComboBox()
        self.rate.setObjectName("rateCombo")
        for hz in CONTROL_RATES_HZ:
            self.rate.addItem(f"{hz:g} times per second", hz)
        idx = self.rate.findData(settings.control_rate_hz)
        self.rate.setCurrentIndex(idx if idx >= 0 else CONTROL_RATES_HZ.index(50.0))
        form.addRow("Arm control and recording rate", self.rate)
        self.rate.setToolTip("How often the arm's joints are read and commanded. The learnt policy decides "
                             "20 times a second on top of this loop (shown as decisions/s while driving).")
        self.training = QComboBox()
        self.training.setObjectName("trainingCombo")
        labels = {"normal": "Thorough (up to about a minute)", "quick": "Quick try (about 15 seconds)"}
        for key in TRAINING_EFFORT:
            self.training.addItem(labels.get(key, key), key)
        self.training.setCurrentIndex(max(0, self.training.findData(settings.training)))
        form.addRow("Training", self.training)
        self.idle_lock = QComboBox()
        self.idle_lock.setObjectName("idleLockCombo")
        for minutes in IDLE_LOCK_MINUTES:
            self.idle_lock.addItem(f"after {minutes} min unused" if minutes else "never (only on switching)", minutes)
        self.idle_lock.setCurrentIndex(max(0, self.idle_lock.findData(settings.idle_lock_minutes)))
        self.idle_lock.setToolTip("A profile with a passphrase locks again when nobody used it for this long: "
                                  "its key leaves memory and the passphrase is asked again.")
        form.addRow("Lock a protected profile", self.idle_lock)
        folder_row = QHBoxLayout()
        self.folder = QLineEdit(settings.data_folder or str(data_dir()))
        self.folder.setObjectName("dataFolder")
        self.folder.setToolTip(self.folder.text())
        self.folder.textChanged.connect(self.folder.setToolTip)
        # The whole path is readable: the field is as wide as the path (within reason), not 150 px.
        self.folder.setMinimumWidth(min(520, self.folder.fontMetrics().horizontalAdvance(self.folder.text()) + 24))
        self.folder.setCursorPosition(0)
        folder_row.addWidget(self.folder, 1)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        folder_row.addWidget(browse)
        open_btn = QPushButton("Open")
        open_btn.setToolTip("Show the data folder in your file manager")
        open_btn.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder.text())))
        folder_row.addWidget(open_btn)
        form.addRow("Data folder", folder_row)
        note = QLabel("Your recordings and personal skills are stored here, sealed (unreadable without your key). "
                      "A new data folder is used from the next start.")
        note.setWordWrap(True)
        note.setObjectName("muted")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose the data folder", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def _save(self) -> None:
        s = self._settings
        s.units = self.units.currentData()
        s.control_rate_hz = float(self.rate.currentData())
        s.training = self.training.currentData()
        s.idle_lock_minutes = int(self.idle_lock.currentData())
        folder = self.folder.text().strip()
        s.data_folder = "" if folder == str(data_dir()) else folder
        self._on_saved(s)
        self.accept()


def torch_version() -> str:
    """Imported only when asked (About box): torch takes seconds to import."""
    try:
        import torch

        return torch.__version__
    except Exception as exc:  # noqa: BLE001 - About must open even without torch
        return f"not available ({exc.__class__.__name__})"


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About PRoP Desktop")
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>PRoP Desktop {__version__}</h2>")
        layout.addWidget(title)
        text = QLabel(
            "Teach a shared robot arm how <b>you</b> like things done, privately. Your personal skill is locked "
            "with your own secret key: with it the arm follows your way, without it the arm does the general "
            "thing.<br><br>Method: PRoP (Christie, Parekh, Losey, arXiv 2509.18311) with parameter merging "
            "(Yadav et al., arXiv 2512.08333)."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.versions = QLabel()
        self.versions.setObjectName("versions")
        self.versions.setTextInteractionFlags(self.versions.textInteractionFlags())
        layout.addWidget(self.versions)
        self._fill_versions(torch="loading…")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def _fill_versions(self, torch: str) -> None:
        rows = [
            ("App", __version__),
            ("Python", f"{platform.python_version()} ({sys.platform})"),
            ("Qt", qVersion()),
            ("PySide6", pyside_version),
            ("torch", torch),
            ("Data folder", str(data_dir())),
        ]
        self.versions.setText("<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>"
                                                  for k, v in rows) + "</table>")

    def set_torch_version(self, version: str) -> None:
        self._fill_versions(torch=version)
