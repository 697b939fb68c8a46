"""A layout checker for the real window: text that does not fit its widget, visible widgets that overlap,
and controls that move when a banner or the header's Reset button appears. Used by test_layout.py."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QWidget,
)

# Containers whose children are laid out on purpose on top of each other, or drawn by the widget itself.
_SKIP_CLASSES = ("QScrollBar", "QTabBar", "QToolButton", "QLineEdit", "QHeaderView", "QComboBoxPrivateContainer",
                 "GraphicsLayoutWidget", "PlotWidget", "QTableWidget", "QListWidget")


@dataclass(frozen=True)
class Problem:
    kind: str  # "clipped" | "overlap"
    where: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}"


def _name(w: QWidget) -> str:
    text = ""
    if isinstance(w, QLabel | QAbstractButton):
        text = w.text().replace("\n", " ")[:40]
    return f"{type(w).__name__}#{w.objectName() or '?'}({text!r})"


def _really_visible(w: QWidget, root: QWidget) -> bool:
    if not w.isVisibleTo(root) or w.width() <= 1 or w.height() <= 1:
        return False
    return not any(type(p).__name__ in _SKIP_CLASSES for p in _ancestors(w, root))


def _ancestors(w: QWidget, root: QWidget) -> list[QWidget]:
    out = []
    p = w.parentWidget()
    while p is not None and p is not root:
        out.append(p)
        p = p.parentWidget()
    return out


def clipped_text(root: QWidget) -> list[Problem]:
    """Labels and buttons whose text needs more room than the widget has (one pixel of slack)."""
    problems = []
    for w in root.findChildren(QWidget):
        if not _really_visible(w, root):
            continue
        if isinstance(w, QLabel) and w.text() and not w.pixmap() and w.textFormat() != 1:
            rect = w.contentsRect()
            fm = w.fontMetrics()
            text = w.text()
            if w.wordWrap():
                need = w.heightForWidth(rect.width() + w.contentsMargins().left() + w.contentsMargins().right())
                if need > w.height() + 1:
                    problems.append(Problem("clipped", f"{_name(w)} needs {need} px high, has {w.height()}"))
            else:
                widest = max(fm.horizontalAdvance(line) for line in text.split("\n"))
                if widest > rect.width() + 1 and "<" not in text:
                    problems.append(Problem("clipped", f"{_name(w)} needs {widest} px wide, has {rect.width()}"))
        elif isinstance(w, QAbstractButton) and w.text() and type(w).__name__ == "QPushButton":
            need = w.fontMetrics().horizontalAdvance(w.text().replace("&", "")) + 8
            if need > w.width():
                problems.append(Problem("clipped", f"{_name(w)} needs {need} px wide, has {w.width()}"))
        elif isinstance(w, QComboBox) and w.currentText():
            need = w.fontMetrics().horizontalAdvance(w.currentText()) + 20
            if need > w.width():
                problems.append(Problem("clipped", f"{_name(w)} needs {need} px wide, has {w.width()}"))
    return problems


def _leaf_controls(root: QWidget) -> list[QWidget]:
    kinds = (QLabel, QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox)
    return [w for w in root.findChildren(QWidget) if isinstance(w, kinds) and _really_visible(w, root)
            and type(w).__name__ not in _SKIP_CLASSES]


def overlaps(root: QWidget) -> list[Problem]:
    """Visible sibling controls that overlap (more than a 2-px border) in the window's coordinates."""
    problems = []
    leaves = _leaf_controls(root)
    rects = [(w, QRect(w.mapTo(root, QPoint(0, 0)), w.size()).adjusted(2, 2, -2, -2)) for w in leaves]
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            if a.isAncestorOf(b) or b.isAncestorOf(a) or a.parentWidget() is not b.parentWidget():
                continue
            if ra.intersects(rb):
                problems.append(Problem("overlap", f"{_name(a)} and {_name(b)}"))
    return problems


def control_positions(root: QWidget) -> dict[str, QRect]:
    """Where every visible button, combo and slider is, in the window's coordinates, by a stable name."""
    out = {}
    for w in root.findChildren(QWidget):
        if isinstance(w, QAbstractButton | QComboBox) and _really_visible(w, root) and w.objectName():
            out[w.objectName()] = QRect(w.mapTo(root, QPoint(0, 0)), w.size())
    return out


def scrolling_pages(window: QWidget) -> list[str]:
    """Pages that do not fit the window and scroll (horizontally, or vertically)."""
    from PySide6.QtWidgets import QScrollArea

    out = []
    for area in window.findChildren(QScrollArea):
        if not area.objectName().endswith("Scroll") or not area.isVisible():
            continue
        for bar, how in ((area.horizontalScrollBar(), "sideways"), (area.verticalScrollBar(), "up and down")):
            if bar.maximum() > 0:
                out.append(f"{area.objectName()} scrolls {how} by {bar.maximum()} px")
    return out


def moved(before: dict[str, QRect], after: dict[str, QRect]) -> list[str]:
    return [f"{name}: {before[name].topLeft().toTuple()} -> {after[name].topLeft().toTuple()}"
            for name in before if name in after and before[name].topLeft() != after[name].topLeft()]
