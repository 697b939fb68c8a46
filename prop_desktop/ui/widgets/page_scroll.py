"""A page that does not fit the window scrolls instead of forcing the window to grow.

QScrollArea's own `widgetResizable` sizes a page with word-wrapped labels to its *preferred* height (it asks
heightForWidth of the preferred layout), which made the Train page 700 px taller than the window. Here the page
gets the viewport's size, and never less than its minimum: it scrolls only when it truly cannot fit.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class PageScroll(QScrollArea):
    def __init__(self, page: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(False)
        self.setWidget(page)
        page.installEventFilter(self)  # its minimum changes when its content does (a LayoutRequest)

    def page(self) -> QWidget:
        page = self.widget()
        assert page is not None  # set in __init__, never taken
        return page

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return False

    def _fit(self) -> None:
        page = self.widget()
        if page is None:
            return
        minimum = page.minimumSizeHint().expandedTo(page.minimumSize())
        # Room as if no scroll bar were shown; a bar appears only when the minimum does not fit.
        room = self.maximumViewportSize()
        width = max(room.width(), minimum.width())
        height = max(room.height(), minimum.height())
        if height > room.height():
            width = max(room.width() - self.verticalScrollBar().sizeHint().width(), minimum.width())
        if width > room.width():
            height = max(room.height() - self.horizontalScrollBar().sizeHint().height(), minimum.height())
        if (page.width(), page.height()) != (width, height):
            page.resize(width, height)
