"""An inline banner for problems and hints that should stay on screen (not a dialog that goes away)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class Banner(QWidget):
    """Kinds: "error", "warning", "info", "success" (styled by resources/style.qss via the `kind` property)."""

    def __init__(self, parent: QWidget | None = None, closable: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setProperty("kind", "info")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setObjectName("bannerText")
        layout.addWidget(self.label, 1)
        self.close_button = QPushButton("✕")
        self.close_button.setObjectName("bannerClose")
        self.close_button.setFixedWidth(28)
        self.close_button.setToolTip("Hide this message")
        self.close_button.clicked.connect(self.hide)
        self.close_button.setVisible(closable)
        layout.addWidget(self.close_button)
        self.hide()

    def show_message(self, text: str, kind: str = "info") -> None:
        self.label.setText(text)
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()
