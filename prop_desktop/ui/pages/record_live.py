"""The Record page's live column: the Record/Stop button, the achieved rate and sample count, one status line
and the live joint plot (measured solid, commanded dashed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from prop_desktop.ui.ring_buffer import RingBuffer
from prop_desktop.ui.widgets.fitted_label import FittedLabel
from prop_desktop.ui.widgets.joint_plot import JointPlot

if TYPE_CHECKING:
    from prop_desktop.services.models import EpisodeInfo, RecordingStatus


class LivePanel(QWidget):
    def __init__(self, buffer: RingBuffer, goal_buffer: RingBuffer, degrees: bool, on_record: Callable[[], None]):
        super().__init__()
        rl = QVBoxLayout(self)
        rl.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.record_button = QPushButton("●  Record  (Space)")
        self.record_button.setObjectName("recordButton")
        self.record_button.setProperty("primary", True)
        self.record_button.setMinimumHeight(44)
        self.record_button.clicked.connect(on_record)
        controls.addWidget(self.record_button, 1)
        rl.addLayout(controls)
        stats = QHBoxLayout()
        self.rate_label = QLabel("")
        self.rate_label.setObjectName("bigNumber")
        self.rate_label.setToolTip("How many times per second the joints are actually being sampled")
        stats.addWidget(self.rate_label)
        self.samples_label = QLabel("")
        self.samples_label.setObjectName("muted")
        # Counting samples changes the text's width many times a second: never let it re-lay out the column.
        self.samples_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # ...but keep room for the longest count a recording reaches, so it is never cut.
        longest = "99999 samples · 999.9 s"
        self.samples_label.setMinimumWidth(self.samples_label.fontMetrics().horizontalAdvance(longest))
        stats.addWidget(self.samples_label, 1)
        rl.addLayout(stats)
        # Room for two lines up front: a message that changes height would resize the live plot below it, and
        # a resized plot re-renders its axes and the page (tens of ms on the GUI thread at every start/stop).
        self.status_label = FittedLabel("", min_lines=2)
        self.status_label.setObjectName("recordStatus")
        rl.addWidget(self.status_label)
        self.plot = JointPlot("Joint angles, live", buffer, dashed=goal_buffer)
        self.plot.set_degrees(degrees)
        rl.addWidget(self.plot, 1)

    def show_status(self, status: RecordingStatus, replaying: bool) -> None:
        """A running recording's or replay's live numbers (a few times a second)."""
        if status.running and replaying:
            self.rate_label.setText("Replaying")
            self.samples_label.setText(f"{status.elapsed_s:.1f} s")
        elif status.running:
            self.rate_label.setText(f"{status.achieved_hz:.0f} samples/s")
            self.samples_label.setText(f"{status.samples} samples · {status.elapsed_s:.1f} s")
            if status.message:
                self.status_label.setText(status.message)

    def show_saved(self, ep: EpisodeInfo) -> None:
        # The saved numbers are the true ones (the live counter is refreshed a few times a second).
        self.rate_label.setText(f"{ep.rate_hz:.0f} samples/s")
        self.samples_label.setText(f"{ep.samples} samples · {ep.duration_s:.1f} s")
        self.status_label.setText(f"Saved “{ep.name}”: {ep.samples} samples in {ep.duration_s:.1f} s "
                                  f"({ep.rate_hz:.0f} samples/s).")
