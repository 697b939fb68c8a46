"""Live joint plots (pyqtgraph) fed from ring buffers and redrawn by a ~30 Hz timer, never per sample."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from prop_desktop.ui.joints import JOINT_LABELS
from prop_desktop.ui.ring_buffer import RingBuffer

JOINT_COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")

pg.setConfigOptions(useOpenGL=False, antialias=False, background="w", foreground="#334155")


def legend_html(entries: list[tuple[str, str, bool]]) -> str:
    """A legend as one line of text, `(name, colour, dashed)` each: shown above a plot, so it can never cover a
    curve (pyqtgraph's legend floats over the data)."""
    parts = [f"<span style='color:{color}'>{'╍╍' if dashed else '━━'}</span>&nbsp;{name.replace(' ', '&nbsp;')}"
             for name, color, dashed in entries]  # a wrapped line breaks between entries, never inside one
    return "&nbsp;&nbsp; ".join(parts)


def legend_label(entries: list[tuple[str, str, bool]]) -> QLabel:
    label = QLabel(legend_html(entries))
    label.setObjectName("plotLegend")
    label.setWordWrap(True)
    return label


def cache_axes(plot: pg.PlotWidget) -> None:
    """Keep each axis as a pixmap: its text is re-rendered only when the axis changes, not at every frame."""
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class JointPlot(QWidget):
    """One plot with a line per joint; optional second buffer drawn dashed (e.g. commanded vs measured)."""

    def __init__(
        self,
        title: str,
        buffer: RingBuffer,
        dashed: RingBuffer | None = None,
        window_s: float = 10.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.buffer = buffer
        self.dashed = dashed
        self.window_s = window_s
        self.degrees = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(title=title)
        self.plot.setMinimumHeight(160)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "seconds ago")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        # Fixed axes: the time axis shows "seconds ago" and the angle axis changes only when the data leaves
        # it, so the (costly) axes are not re-rendered at every frame — only the curves are.
        self.plot.disableAutoRange()
        self.plot.setXRange(-window_s, 0, padding=0)
        cache_axes(self.plot)
        self._y_range: tuple[float, float] | None = None
        entries = [(n, c, False) for c, n in zip(JOINT_COLORS, JOINT_LABELS, strict=True)]
        self.legend = legend_label(entries)
        if dashed is not None:
            self.legend.setText(legend_html(entries)
                                + "<br>solid&nbsp;line&nbsp;=&nbsp;measured, dashed&nbsp;=&nbsp;commanded")
        layout.addWidget(self.legend)
        layout.addWidget(self.plot)
        # Width-1 lines: Qt's raster engine draws a wider or dashed pen several times slower, and these redraw
        # 30 times a second (measured offscreen with 10 s of 50 Hz data, redraw + paint per frame: 8.6 -> 3.5 ms
        # with the solid lines, 14.3 -> about 8 ms with the dashed set too).
        self.curves = [
            self.plot.plot([], [], pen=pg.mkPen(c, width=1), name=n)
            for c, n in zip(JOINT_COLORS, JOINT_LABELS, strict=True)
        ]
        self.dashed_curves = []
        if dashed is not None:
            self.dashed_curves = [
                self.plot.plot([], [], pen=pg.mkPen(c, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
                for c in JOINT_COLORS
            ]
        self._set_units_label()
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        self.redraws = 0

    def set_degrees(self, degrees: bool) -> None:
        self.degrees = degrees
        self._y_range = None
        self._set_units_label()
        self.redraw()

    def _set_units_label(self) -> None:
        self.plot.setLabel("left", "angle (degrees)" if self.degrees else "angle (radians)")

    def _draw(self, buffer: RingBuffer, curves: list[pg.PlotDataItem],
              t_end: float | None) -> tuple[float, float] | None:
        t, v = buffer.snapshot()
        if t.shape[0] == 0 or t_end is None:
            for c in curves:
                c.setData([], [])
            return None
        keep = t >= t_end - self.window_s
        t, v = t[keep] - t_end, v[keep]
        if self.degrees:
            v = np.degrees(v)
        for j, c in enumerate(curves):
            col = v[:, j]
            finite = np.isfinite(col)
            c.setData(t[finite], col[finite])
        finite = v[np.isfinite(v)]
        return (float(finite.min()), float(finite.max())) if finite.size else None

    def redraw(self) -> None:
        if not self.isVisible():
            return
        self.redraws += 1
        ends = [b.snapshot()[0][-1] for b in (self.buffer, self.dashed) if b is not None and b.total > 0]
        t_end = float(max(ends)) if ends else None
        drawn = [self._draw(self.buffer, self.curves, t_end)]
        if self.dashed is not None:
            drawn.append(self._draw(self.dashed, self.dashed_curves, t_end))
        spans = [s for s in drawn if s is not None]
        if spans:
            self._fit_y(min(s[0] for s in spans), max(s[1] for s in spans))

    def _fit_y(self, low: float, high: float) -> None:
        """Change the angle axis only when the data leaves it or would fit in half of it.

        The range is rounded out to whole steps (15° or 0.25 rad), so the sensor noise of an arm at rest gives
        the same range every frame: re-fitting to the raw extremes changed it ~25 times per 4 s recording, and
        each change re-renders the axis (3 ms) and its tick labels.
        """
        step = 15.0 if self.degrees else 0.25
        margin = max(step / 2, 0.15 * (high - low))
        new = (math.floor((low - margin) / step) * step, math.ceil((high + margin) / step) * step)
        current = self._y_range
        if current is not None:
            inside = current[0] <= low and high <= current[1]
            if inside and (new[1] - new[0]) > (current[1] - current[0]) / 2:
                return
        if new != current:
            self._y_range = new
            self.plot.setYRange(*new, padding=0)


class LossPlot(QWidget):
    """Training loss curves (one line per loss term), redrawn from a timer."""

    COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # The x axis is named in the title: a bottom axis label was cut off when the page is not very tall.
        self.plot = pg.PlotWidget(title="How well it is learning, step by step (lower is better)")
        self.plot.setMinimumHeight(150)  # less cuts its axis labels
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLogMode(y=True)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        cache_axes(self.plot)
        self.legend = legend_label([])
        layout.addWidget(self.legend)
        layout.addWidget(self.plot)
        self._series: dict[str, tuple[list[float], list[float]]] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._colors: dict[str, str] = {}
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    def clear(self) -> None:
        self._series.clear()
        for c in self._curves.values():
            self.plot.removeItem(c)
        self._curves.clear()
        self._colors.clear()
        self.legend.setText("")
        self._dirty = True

    def add_point(self, step: float, values: dict[str, float]) -> None:
        for name, value in values.items():
            if value is None or not math.isfinite(value) or value <= 0:
                continue
            xs, ys = self._series.setdefault(name, ([], []))
            xs.append(float(step))
            ys.append(float(value))
        self._dirty = True

    @property
    def series_names(self) -> list[str]:
        return list(self._series)

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for name, (xs, ys) in self._series.items():
            curve = self._curves.get(name)
            if curve is None:
                color = self.COLORS[len(self._curves) % len(self.COLORS)]
                curve = self.plot.plot([], [], pen=pg.mkPen(color, width=2), name=name)
                self._curves[name] = curve
                self._colors[name] = color
                self.legend.setText(legend_html([(n, c, False) for n, c in self._colors.items()]))
            curve.setData(np.asarray(xs), np.asarray(ys))
        self._set_loss_ticks()

    def _set_loss_ticks(self) -> None:
        """At most ~5 readable labels (1, 2, 5 × 10^k) on the log axis: pyqtgraph's own minor labels pile up
        on top of each other when the losses span less than a decade."""
        values = [v for _xs, ys in self._series.values() for v in ys]
        if not values:
            return
        low, high = min(values), max(values)
        ticks: list[float] = []
        for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
            ticks += [m * 10.0 ** exponent for m in (1, 2, 5)]
        inside = [t for t in ticks if low / 1.3 <= t <= high * 1.3] or [10.0 ** round(math.log10(high))]
        if len(inside) > 5:
            inside = [t for t in inside if f"{t:g}".lstrip("0.").startswith("1")] or inside[::2]
        self.plot.getAxis("left").setTicks([[(math.log10(t), f"{t:g}") for t in inside], []])
