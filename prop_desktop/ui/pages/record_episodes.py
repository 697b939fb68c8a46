"""The Record page's recordings table: this profile's recordings with replay, rename, delete and the LeRobot
export/import buttons. Replaying is the page's (it moves the arm and shares the live plot)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from prop_desktop.ui.messages import ask, show_error, user_message
from prop_desktop.ui.pages.lerobot_actions import LeRobotActions
from prop_desktop.ui.profile_dialogs import TextDialog
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from prop_desktop.services.models import EpisodeInfo
    from prop_desktop.ui.pages.record_host import RecordHost

# The table's "How" column.
HOW = {"click": "clicked", "hand": "by hand", "leader": "leader arm", "correction": "correction"}
EPISODE_COLUMNS = ("Name", "Task", "How", "Length", "Samples", "Rate", "Note")


class RecordingsBox(QGroupBox):
    def __init__(self, page: RecordHost) -> None:
        super().__init__("Your recordings for this profile")
        self.page = page
        self.episodes: list[EpisodeInfo] = []
        self.dialog: QDialog | None = None  # the open rename/delete dialog, kept referenced
        self._error_shown = False
        el = QVBoxLayout(self)
        self.table = QTableWidget(0, len(EPISODE_COLUMNS))
        self.table.setObjectName("episodeTable")
        self.table.setHorizontalHeaderLabels(EPISODE_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMaximumHeight(130)
        self.table.itemSelectionChanged.connect(page.update_controls)
        el.addWidget(self.table)
        erow = QHBoxLayout()
        self.replay_button = QPushButton("▶  Replay on the arm")
        self.replay_button.setObjectName("replayEpisode")
        self.replay_button.clicked.connect(self.toggle_replay)
        erow.addWidget(self.replay_button)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setObjectName("renameEpisode")
        self.rename_button.clicked.connect(self.rename_selected)
        erow.addWidget(self.rename_button)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteEpisode")
        self.delete_button.setProperty("danger", True)
        self.delete_button.clicked.connect(self.delete_selected)
        erow.addWidget(self.delete_button)
        erow.addStretch(1)
        self.lerobot = LeRobotActions(page, erow)
        el.addLayout(erow)

    def show_episodes(self, episodes: list[EpisodeInfo], error: BaseException | None, titles: dict[str, str]) -> None:
        """Fill the table (keeping the selection); `titles`: task name -> what people read."""
        self.episodes = list(episodes)
        banner = self.page.banner
        if error is not None:
            banner.show_message(f"Your recordings cannot be read: {user_message(error)}", "error")
            self._error_shown = True
        elif self._error_shown:
            banner.hide()  # readable again (e.g. the passphrase was given meanwhile): the error is stale
            self._error_shown = False
        selected = self.selected_episode_id
        self.table.setRowCount(len(self.episodes))
        for r, ep in enumerate(self.episodes):
            note = f"⚠ {ep.fault}" if ep.fault else ("stopped early" if ep.interrupted else "")
            rate = ep.rate_hz or (ep.samples / ep.duration_s if ep.duration_s > 0 else 0.0)
            cells = (ep.name, titles.get(ep.task, ep.task), HOW.get(ep.mode, "by hand"), f"{ep.duration_s:.1f} s",
                     str(ep.samples), f"{rate:.0f}/s", note)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, ep.id)
                self.table.setItem(r, c, item)
            if selected is not None and ep.id == selected:
                self.table.selectRow(r)

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.episodes = []

    @property
    def selected_episode_id(self) -> str | None:
        ep = self.selected_episode()
        return None if ep is None else ep.id

    def selected_episode(self) -> EpisodeInfo | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        r = rows[0].row()
        return self.episodes[r] if 0 <= r < len(self.episodes) else None

    def toggle_replay(self) -> None:
        """The replay button stops a replay that runs (Esc also does, as an emergency stop)."""
        if self.page.replaying:
            self.page.stop_motion()
        else:
            self.replay_selected()

    def replay_selected(self) -> None:
        page = self.page
        if page.refuse_if_stopped():
            return
        ep = self.selected_episode()
        if ep is None or page.recording:
            return
        page.reset_live()
        try:
            page.app.record.replay_episode(ep.id)
        except Exception as exc:  # noqa: BLE001
            # The storage names files by id; the person knows the recording by its name.
            text = user_message(exc).replace(f"{ep.id}.sealed: ", "").replace(f"episode {ep.id}", "recording")
            page.banner.show_message(f"“{ep.name}” cannot be replayed: {text}", "error")
            return
        page.replaying = True
        page.status_label.setText(f"Replaying “{ep.name}” on the arm…")
        page.update_controls()

    def rename_selected(self) -> None:
        ep = self.selected_episode()
        if ep is None:
            return
        page = self.page

        def submit(name: str, dlg: TextDialog) -> None:
            def done(_r: EpisodeInfo) -> None:
                dlg.accept()
                page.refresh_episodes()

            run_in_background(page.bridge, lambda: page.app.record.rename_episode(ep.id, name), done,
                              lambda e: dlg.show_error(user_message(e)), name="rename-episode")

        self.dialog = TextDialog("Rename recording", "Name", ep.name, submit, page.as_widget())
        self.dialog.open()

    def delete_selected(self) -> None:
        ep = self.selected_episode()
        if ep is None:
            return
        page = self.page

        def confirmed() -> None:
            run_in_background(page.bridge, lambda: page.app.record.delete_episode(ep.id),
                              lambda _r: page.refresh_episodes(),
                              lambda e: show_error(page.as_widget(), "Could not delete", e), name="delete-episode")

        self.dialog = ask(page.as_widget(), "Delete this recording?", f"Delete “{ep.name}”? This cannot be undone.",
                          "Delete", confirmed, destructive=True)

    def update_controls(self, connected_ok: bool, has_profile: bool, busy: bool, replaying: bool) -> None:
        ep = self.selected_episode()
        self.replay_button.setEnabled(replaying or (ep is not None and connected_ok and not busy))
        self.replay_button.setText("■  Stop replay" if replaying else "▶  Replay on the arm")
        self.rename_button.setEnabled(ep is not None and not busy)
        self.delete_button.setEnabled(ep is not None and not busy)
        self.lerobot.update(has_profile, bool(self.episodes), busy)
