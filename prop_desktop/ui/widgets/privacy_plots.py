"""The privacy report drawn for people: how much each kind of key makes the arm act "your way"."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from prop_desktop.ui.widgets.joint_plot import cache_axes, legend_label

if TYPE_CHECKING:
    from prop_desktop.services.models import PrivacyReport

RIGHT = "#7c3aed"
OTHER = "#0f766e"


class PrivacyPlots(QWidget):
    """Left: a bar per key kind (right key, no key, random keys, other profiles). Right: score vs bits off."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        # The right plot's legend sits in a row above BOTH plots, so both get the same height (above the
        # right plot alone it took 16 px from it, and its bits-off axis was cut at 1280×800).
        legend_row = QHBoxLayout()
        legend_row.addStretch(3)
        legend_row.addWidget(legend_label([("average", OTHER, False), ("worst", "#94a3b8", True),
                                           ("your key", RIGHT, False)]), 2)
        outer.addLayout(legend_row)
        layout = QHBoxLayout()
        outer.addLayout(layout, 1)
        self.bars = pg.PlotWidget(title="Does it act your way? (1 = your way, 0 = general way)")
        self.bars.setMouseEnabled(x=False, y=False)
        self.bars.hideButtons()
        self.bars.setYRange(0, 1.2)  # room for the score written over a full bar
        self.bars.setMinimumHeight(175)  # less cuts its axis labels; at 1280×800 the Train page scrolls a little
        layout.addWidget(self.bars, 3)
        # The x axis is named in the title: an axis label is cut off when the page is not very tall.
        self.near = pg.PlotWidget(title="Keys almost right: score by bits off")
        self.near.setMouseEnabled(x=False, y=False)
        self.near.hideButtons()
        self.near.setYRange(0, 1.05)
        self.near.setMinimumHeight(175)
        layout.addWidget(self.near, 2)
        for plot in (self.bars, self.near):
            cache_axes(plot)
        # The items are made once and given new data on every report: rebuilding them (clear + new bar,
        # scatter, text and line items) cost 18 ms of GUI-thread CPU at the end of each training, the longest
        # stretch the GUI thread was busy then (measured with ui.stall_monitor; twice that under CI load).
        self._bar_item = pg.BarGraphItem(x=[], height=[], width=0.6)
        self._max_item = pg.ScatterPlotItem(symbol="t", size=9, brush=pg.mkBrush("#334155"), pen=None)
        self._score_texts: list[pg.TextItem] = []
        for item in (self._bar_item, self._max_item):
            self.bars.addItem(item)
        self._near_mean = self.near.plot([], [], pen=pg.mkPen(OTHER, width=2), symbol="o", symbolBrush=OTHER,
                                         name="average")
        self._near_worst = self.near.plot([], [], name="worst",
                                          pen=pg.mkPen("#94a3b8", width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.right_key_line = self.near.addLine(y=0.0, pen=pg.mkPen(RIGHT, width=1.5))
        self.labels: list[str] = []
        self.scores: list[float] = []
        self.clear()

    def clear(self) -> None:
        """Nothing shown (nobody's report): no bars, no labels."""
        self._bar_item.setOpts(x=[], height=[], brushes=[])
        self._max_item.setData(x=[], y=[])
        for text in self._score_texts:
            text.hide()
        self._near_mean.setData([], [])
        self._near_worst.setData([], [])
        self.right_key_line.hide()
        self.bars.getAxis("bottom").setTicks(None)
        self.labels, self.scores = [], []

    def show_report(self, report: PrivacyReport) -> None:
        entries = [(report.right_key, RIGHT), (report.no_key, OTHER), (report.random_keys, OTHER)]
        entries += [(s, OTHER) for s in report.other_profiles]
        self.labels = [e.label for e, _ in entries]
        self.scores = [float(e.score_mean) for e, _ in entries]
        xs = np.arange(len(entries), dtype=float)
        self._bar_item.setOpts(x=xs, height=self.scores, brushes=[pg.mkBrush(c) for _, c in entries])
        self._max_item.setData(x=xs, y=[float(e.score_max) for e, _ in entries])
        self._show_scores(xs, self.scores)
        axis = self.bars.getAxis("bottom")
        axis.setTicks([[(i, _short(lbl)) for i, lbl in enumerate(self.labels)]])
        self.bars.setXRange(-0.6, len(entries) - 0.4)
        bits = sorted(report.near_keys)
        self._near_mean.setData(bits, [report.near_keys[b].score_mean for b in bits])
        self._near_worst.setData(bits, [report.near_keys[b].score_max for b in bits])
        self.right_key_line.setValue(report.right_key.score_mean)
        self.right_key_line.setVisible(bool(bits))
        if bits:
            self.near.setXRange(0.5, max(bits) + 0.5)

    def shown_scores(self) -> list[tuple[float, str]]:
        """The numbers written over the bars, as drawn: (x, text) of each visible one."""
        return [(t.pos().x(), t.toPlainText()) for t in self._score_texts if t.isVisible()]

    def _show_scores(self, xs: np.ndarray, scores: list[float]) -> None:
        # The number over each bar: a score of 0 draws no bar at all, which looks like missing data.
        while len(self._score_texts) < len(scores):
            text = pg.TextItem("", color="#334155", anchor=(0.5, 1.0))
            self.bars.addItem(text)
            self._score_texts.append(text)
        for i, text in enumerate(self._score_texts):
            if i < len(scores):
                text.setText(f"{scores[i]:.2f}")
                text.setPos(float(xs[i]), min(scores[i], 0.92) + 0.1)
            text.setVisible(i < len(scores))


def _short(label: str) -> str:
    """Tick labels in the words of the page: the report's "right key" is "your key"."""
    return {"right key": "your key"}.get(label, label.replace("other profile: ", ""))
