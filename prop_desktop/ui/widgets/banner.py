"""An inline banner for problems and hints that should stay on screen (not a dialog that goes away)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class Banner(QWidget):
    """Kinds: "error", "warning", "info", "success" (styled by resources/style.qss via the `kind` property)."""

    def __init__(self, parent: QWidget | None = None, closable: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setProperty("kind", "info")
        self.topic: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
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

    def reserve_space(self, lines: int = 2) -> None:
        """Keep room for a message of up to `lines` lines even while hidden, so showing one never pushes
        the page's controls down (after an e-stop a second click where STOP was must not land on Start).
        A longer message is cut and shown whole in the tooltip."""
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        layout = self.layout()
        assert layout is not None  # built in __init__
        margins = layout.contentsMargins()
        line = self.label.fontMetrics().lineSpacing()
        self.setFixedHeight(lines * line + margins.top() + margins.bottom() + 4)

    def show_message(self, text: str, kind: str = "info", topic: str | None = None) -> None:
        """`topic` names the condition the message is about (e.g. "arm": the arm is stopped or gone), so the
        page can take it away when that condition ends instead of leaving a stale message on screen."""
        self.topic = topic
        self.label.setText(text)
        self.setToolTip(text)
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()

    def resolve(self, topic: str) -> None:
        """The condition `topic` is over: hide the message if it is about it."""
        if self.topic == topic and not self.isHidden():
            self.hide()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()
