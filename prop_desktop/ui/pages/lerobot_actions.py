"""The Record page's LeRobot buttons: export this person's recordings as a LeRobot dataset (unencrypted, so
asked first, and never into the data folder) and import a LeRobot dataset into their sealed recordings.

The work is prop_desktop/interop (the same as `prop-desktop dataset export/import`); here only the choices a
person makes: which folder, yes I understand it is not encrypted, which task an unknown dataset shows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QMessageBox, QPushButton

from prop_desktop.ui.messages import ask, show_error
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from prop_desktop.interop.lerobot_dataset import ExportResult, ImportResult
    from prop_desktop.ui.pages.record_host import RecordHost

UNKNOWN_TASKS = "are not PRoP Desktop tasks"


class LeRobotActions:
    def __init__(self, page: RecordHost, row: QHBoxLayout) -> None:
        self.page = page
        self.export_button = QPushButton("Export to LeRobot…")
        self.export_button.setObjectName("exportLeRobot")
        self.export_button.setToolTip("Write your recordings as a LeRobot dataset (not encrypted)")
        self.export_button.clicked.connect(self.export)
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("importLeRobot")
        self.import_button.setToolTip("Add the episodes of a LeRobot dataset to your recordings (sealed)")
        self.import_button.clicked.connect(self.choose_import)
        row.addWidget(self.export_button)
        row.addWidget(self.import_button)
        self.dialog: QMessageBox | None = None  # the open question, kept referenced

    def update(self, has_profile: bool, has_recordings: bool, busy: bool) -> None:
        self.export_button.setEnabled(has_profile and has_recordings and not busy)
        self.import_button.setEnabled(has_profile and not busy)

    # --- export ------------------------------------------------------------------------------------------
    def export(self) -> None:
        active = self.page.window_.active_profile
        if active is None:
            return
        parent = QFileDialog.getExistingDirectory(self.page.as_widget(),
                                                  "Export to LeRobot: choose where the dataset goes")
        if not parent:
            return
        stamp = datetime.now().strftime("%Y-%m-%d-%H%M")
        out = Path(parent) / f"prop-desktop-{''.join(c if c.isalnum() else '-' for c in active.name)}-{stamp}"
        self.dialog = ask(self.page.as_widget(), "Export without encryption?",
                          f"{active.name}'s recordings will be written to {out} as a LeRobot dataset. Unlike "
                          "everything PRoP Desktop keeps, it is NOT encrypted: anyone who can read that folder "
                          "sees how you do the tasks.", "Export", lambda: self._export(out))

    def _export(self, out: Path) -> None:
        from prop_desktop.interop.lerobot_dataset import export_recordings

        app = self.page.app

        def work() -> ExportResult:
            return export_recordings(app.profiles.session(), out, data_root=Path(app.data_dir))

        def done(result: ExportResult) -> None:
            notes = f" {' '.join(result.notes)}" if result.notes else ""
            self.page.banner.show_message(f"Exported {result.episodes} recording(s), {result.frames} frames, to "
                                          f"{result.folder} (not encrypted).{notes}", "success")

        run_in_background(self.page.bridge, work, done, lambda e: show_error(self.page.as_widget(), "Not exported", e),
                          name="lerobot-export")

    # --- import ------------------------------------------------------------------------------------------
    def choose_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.page.as_widget(), "Import a LeRobot dataset: choose its folder")
        if folder:
            self.import_from(Path(folder))

    def import_from(self, folder: Path, task: str | None = None) -> None:
        from prop_desktop.interop.lerobot_dataset import import_dataset

        app = self.page.app

        def done(result: ImportResult) -> None:
            notes = f" {' '.join(result.notes)}" if result.notes else ""
            self.page.banner.show_message(f"Imported {len(result.episode_ids)} episode(s) ({result.frames} frames, "
                                          f"{result.robot_type}) as sealed recordings.{notes}", "success")
            self.page.refresh_episodes()

        def failed(exc: BaseException) -> None:
            wanted = self.page.current_task()
            if task is None and UNKNOWN_TASKS in str(exc) and wanted is not None:
                title = self.page.task_combo.currentText()
                self.dialog = ask(self.page.as_widget(), "Which task is this?", f"{exc}.\n\nImport them as “{title}” "
                                  "(the task chosen on this page)?", f"Import as “{title}”",
                                  lambda: self.import_from(folder, wanted))
                return
            show_error(self.page.as_widget(), "Not imported", exc)

        run_in_background(self.page.bridge, lambda: import_dataset(app.profiles.session(), folder, task=task),
                          done, failed, name="lerobot-import")
