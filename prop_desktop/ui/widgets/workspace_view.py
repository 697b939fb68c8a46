"""The arm and its table seen from above and from the side; clicking places a target for the gripper.

The page computes the arm's joint positions with the policy's forward kinematics and hands them in with
`set_arm(points)`; the view only draws, and reports clicks as 3-D targets in metres (x forward, y left, z up,
origin at the arm's base on the table).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

MM = 1000.0  # scene units are millimetres; the world is in metres
REACH_M = 0.45
SCENE_SNAP_M = 0.04  # a click this close to the item (or its destination) means "there": its working height
TABLE_COLOR = QColor("#f1f5f9")
ARM_COLOR = QColor("#334155")
JOINT_COLOR = QColor("#f59e0b")
TARGET_COLOR = QColor("#dc2626")
TRAIL_COLOR = QColor("#2563eb")


class _Plane(QGraphicsView):
    """One orthographic view. `axes` picks which world axes map to screen (horizontal, vertical)."""

    clicked = Signal(float, float)  # world coordinates on this plane's two axes, metres
    dragged = Signal(float, float)

    def __init__(self, axes: tuple[int, int], h_range: tuple[float, float], v_range: tuple[float, float]) -> None:
        super().__init__()
        self.axes = axes
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumSize(220, 205)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.scene_ = QGraphicsScene(self)
        self.setScene(self.scene_)
        self.rect_ = QRectF(h_range[0] * MM, -v_range[1] * MM, (h_range[1] - h_range[0]) * MM,
                            (v_range[1] - v_range[0]) * MM)
        self.scene_.setSceneRect(self.rect_)
        self.setBackgroundBrush(QBrush(QColor("#ffffff")))
        self._draw_grid()
        self.trail = QGraphicsPathItem()
        self.trail.setPen(QPen(TRAIL_COLOR, 3, Qt.PenStyle.DotLine))
        self.scene_.addItem(self.trail)
        self.arm = QGraphicsPathItem()
        self.arm.setPen(QPen(ARM_COLOR, 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        self.scene_.addItem(self.arm)
        self.joints: list[QGraphicsEllipseItem] = []
        self.target = QGraphicsEllipseItem(-12, -12, 24, 24)
        self.target.setPen(QPen(TARGET_COLOR, 4))
        self.target.setBrush(QBrush(QColor(220, 38, 38, 60)))
        self.target.setVisible(False)
        self.scene_.addItem(self.target)
        self.markers: list[tuple[QGraphicsEllipseItem, QGraphicsSimpleTextItem]] = []
        self._pressed = False

    def _draw_grid(self) -> None:
        pen = QPen(QColor("#e2e8f0"), 1)
        r = self.rect_
        step = 50.0
        x = np.ceil(r.left() / step) * step
        while x <= r.right():
            self.scene_.addLine(x, r.top(), x, r.bottom(), pen)
            x += step
        y = np.ceil(r.top() / step) * step
        while y <= r.bottom():
            self.scene_.addLine(r.left(), y, r.right(), y, pen)
            y += step

    heading = 0.0  # side view only: the vertical plane the arm currently swings in (radians about z)

    def _project(self, world: np.ndarray) -> tuple[float, float]:
        h, v = self.axes
        if self.axes == (0, 2):  # side view: distance along the arm's heading, height
            reach = float(world[0]) * np.cos(self.heading) + float(world[1]) * np.sin(self.heading)
            return reach, float(world[2])
        return float(world[h]), float(world[v])

    def to_scene(self, world: np.ndarray) -> QPointF:
        a, b = self._project(world)
        return QPointF(a * MM * self._h_sign(), -b * MM)

    def _h_sign(self) -> float:
        # Top view: world y (left) is drawn to the left, so screen x = -y.
        return -1.0 if self.axes[0] == 1 else 1.0

    def to_world(self, p: QPointF) -> tuple[float, float]:
        return p.x() / MM * self._h_sign(), -p.y() / MM

    def set_rect(self, h_range: tuple[float, float], v_range: tuple[float, float]) -> None:
        self.rect_ = QRectF(h_range[0] * MM, -v_range[1] * MM, (h_range[1] - h_range[0]) * MM,
                            (v_range[1] - v_range[0]) * MM)
        self.scene_.setSceneRect(self.rect_)
        self.fitInView(self.rect_, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fitInView(self.rect_, Qt.AspectRatioMode.KeepAspectRatio)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.fitInView(self.rect_, Qt.AspectRatioMode.KeepAspectRatio)
        # The layout may still resize the view after it is shown: fit again once it has settled.
        QTimer.singleShot(0, lambda: self.fitInView(self.rect_, Qt.AspectRatioMode.KeepAspectRatio))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed = True
            self.clicked.emit(*self.to_world(self.mapToScene(event.position().toPoint())))
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._pressed:
            self.dragged.emit(*self.to_world(self.mapToScene(event.position().toPoint())))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._pressed = False
        super().mouseReleaseEvent(event)

    def set_arm(self, points: np.ndarray) -> None:
        path = QPainterPath()
        for i, p in enumerate(points):
            q = self.to_scene(p)
            if i == 0:
                path.moveTo(q)
            else:
                path.lineTo(q)
        self.arm.setPath(path)
        while len(self.joints) < len(points):
            dot = QGraphicsEllipseItem(-8, -8, 16, 16)
            dot.setBrush(QBrush(JOINT_COLOR))
            dot.setPen(QPen(ARM_COLOR, 2))
            self.scene_.addItem(dot)
            self.joints.append(dot)
        for i, dot in enumerate(self.joints):
            dot.setVisible(i < len(points))
            if i < len(points):
                dot.setPos(self.to_scene(points[i]))

    def set_target(self, world: np.ndarray | None) -> None:
        self.target.setVisible(world is not None)
        if world is not None:
            self.target.setPos(self.to_scene(world))

    def set_markers(self, targets: list[np.ndarray]) -> None:
        """Numbered markers for queued targets (point and click)."""
        font = QFont()
        font.setPointSize(22)
        font.setBold(True)
        while len(self.markers) < len(targets):
            dot = QGraphicsEllipseItem(-14, -14, 28, 28)
            dot.setPen(QPen(TARGET_COLOR, 3))
            dot.setBrush(QBrush(QColor("#fee2e2")))
            label = QGraphicsSimpleTextItem()
            label.setFont(font)
            label.setBrush(QBrush(TARGET_COLOR))
            self.scene_.addItem(dot)
            self.scene_.addItem(label)
            self.markers.append((dot, label))
        for i, (dot, label) in enumerate(self.markers):
            visible = i < len(targets)
            dot.setVisible(visible)
            label.setVisible(visible)
            if visible:
                pos = self.to_scene(targets[i])
                dot.setPos(pos)
                label.setText(str(i + 1))
                label.setPos(pos + QPointF(14, -40))

    def set_scene_items(self, obj: tuple[float, float] | None, dest: tuple[float, float] | None) -> None:
        if not hasattr(self, "obj_item"):
            self.obj_item = QGraphicsEllipseItem(-22, -22, 44, 44)
            self.obj_item.setBrush(QBrush(QColor("#fb923c")))
            self.obj_item.setPen(QPen(QColor("#c2410c"), 3))
            self.obj_item.setZValue(-1)
            self.dest_item = QGraphicsRectItem(-26, -26, 52, 52)
            self.dest_item.setBrush(QBrush(QColor(34, 197, 94, 70)))
            self.dest_item.setPen(QPen(QColor("#15803d"), 3, Qt.PenStyle.DashLine))
            self.dest_item.setZValue(-2)
            self.scene_.addItem(self.obj_item)
            self.scene_.addItem(self.dest_item)
        for item, xy in ((self.obj_item, obj), (self.dest_item, dest)):
            item.setVisible(xy is not None)
            if xy is not None:
                item.setPos(self.to_scene(np.array([xy[0], xy[1], 0.02])))

    def set_trail(self, points: np.ndarray) -> None:
        path = QPainterPath()
        for i, p in enumerate(points):
            q = self.to_scene(p)
            if i == 0:
                path.moveTo(q)
            else:
                path.lineTo(q)
        self.trail.setPath(path)

    def world_point_to_viewport(self, a: float, b: float) -> QPointF:
        """Where the world point (a, b) on this plane's axes appears in the widget (for tests and hints)."""
        scene = QPointF(a * MM * self._h_sign(), -b * MM)
        return QPointF(self.mapFromScene(scene))


class WorkspaceView(QWidget):
    """Top-down and side views side by side, in metres: a click from above emits `target_clicked(x, y, z)`
    (a new target at the current height), a click from the side `target_adjusted(x, y, z)` (same direction,
    new reach and height)."""

    target_clicked = Signal(float, float, float)
    target_adjusted = Signal(float, float, float)
    target_dragged = Signal(float, float, float)

    def __init__(self, parent: QWidget | None = None, interactive: bool = True) -> None:
        super().__init__(parent)
        self.interactive = interactive
        self.top = _Plane(axes=(1, 0), h_range=(-REACH_M, REACH_M), v_range=(-0.15, 0.5))
        self.side = _Plane(axes=(0, 2), h_range=(-0.1, 0.5), v_range=(-0.05, 0.45))
        self._decorate()
        self.target: np.ndarray | None = None
        self.default_height_m = 0.08
        self._trail: list[np.ndarray] = []
        self._scene_points: list[tuple[float, float]] = []
        self._last_tip: np.ndarray | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        captions = (("Seen from above — click to choose where the gripper goes",
                     "Seen from the side — click to choose reach and height") if interactive else
                    ("Seen from above", "Seen from the side"))
        for plane, caption in zip((self.top, self.side), captions, strict=True):
            if not interactive:
                plane.setCursor(Qt.CursorShape.ArrowCursor)
                plane.setMinimumSize(120, 130)  # a view to watch, not to aim at: it may be smaller
            col = QVBoxLayout()
            label = QLabel(caption)
            label.setObjectName("caption")
            label.setWordWrap(True)
            col.addWidget(label)
            col.addWidget(plane, 1)
            layout.addLayout(col, 1)
        if not interactive:
            return
        self.top.clicked.connect(self._top_clicked)
        self.side.clicked.connect(self._side_clicked)
        self.top.dragged.connect(lambda a, b: self._top_clicked(a, b, drag=True))
        self.side.dragged.connect(lambda a, b: self._side_clicked(a, b, drag=True))

    def _decorate(self) -> None:
        # Table: the top view shows the tabletop, the side view its surface line.
        table_pen = QPen(QColor("#94a3b8"), 2)
        self.top.scene_.addRect(QRectF(-REACH_M * MM, -0.5 * MM, 2 * REACH_M * MM, 0.6 * MM),
                                table_pen, QBrush(TABLE_COLOR)).setZValue(-10)
        reach = self.top.scene_.addEllipse(-REACH_M * MM, -REACH_M * MM, 2 * REACH_M * MM, 2 * REACH_M * MM,
                                           QPen(QColor("#cbd5e1"), 2, Qt.PenStyle.DashLine))
        reach.setZValue(-5)
        self.top.scene_.addEllipse(-30, -30, 60, 60, QPen(ARM_COLOR, 2), QBrush(QColor("#cbd5e1")))
        self.side.scene_.addRect(QRectF(-0.1 * MM, 0, 0.6 * MM, 0.05 * MM), table_pen,
                                 QBrush(TABLE_COLOR)).setZValue(-10)
        self.side.scene_.addRect(QRectF(-30, -40, 60, 40), QPen(ARM_COLOR, 2), QBrush(QColor("#cbd5e1")))
        font = QFont()
        font.setPointSize(28)
        for plane, text, pos in ((self.top, "front", QPointF(-40, -0.5 * MM + 5)),
                                 (self.side, "table", QPointF(0.5 * MM - 110, 2))):
            item = QGraphicsSimpleTextItem(text)
            item.setFont(font)
            item.setBrush(QBrush(QColor("#94a3b8")))
            item.setPos(pos)
            plane.scene_.addItem(item)

    # --- drawing -------------------------------------------------------------------------------------
    def set_arm(self, points: np.ndarray) -> None:
        """Joint positions from the base to the gripper tip, (k, 3) metres."""
        points = np.asarray(points, dtype=float)
        tip = points[-1]
        if np.hypot(tip[0], tip[1]) > 1e-3:
            self.side.heading = float(np.arctan2(tip[1], tip[0]))
        self.top.set_arm(points)
        self.side.set_arm(points)
        self._last_tip = points[-1]

    def set_target(self, target: np.ndarray | None) -> None:
        self.target = None if target is None else np.asarray(target, dtype=float)
        self.top.set_target(self.target)
        self.side.set_target(self.target)

    def set_ranges(self, x_range: tuple[float, float], y_range: tuple[float, float],
                   z_range: tuple[float, float]) -> None:
        """The region shown (metres): forward range, left-right range, height range."""
        self.top.set_rect(y_range, x_range)
        self.side.set_rect((min(x_range[0], -0.1), max(x_range[1], abs(y_range[0]), y_range[1])),
                           # Down to 6 cm below the tabletop: the table and its "table" label are drawn there.
                           (min(z_range[0] - 0.05, -0.06), z_range[1]))

    def set_markers(self, targets: list[np.ndarray]) -> None:
        pts = [np.asarray(t, dtype=float)[:3] for t in targets]
        self.top.set_markers(pts)
        self.side.set_markers(pts)

    def set_scene(self, obj: tuple[float, float] | None, destination: tuple[float, float] | None) -> None:
        """The task's object (orange disc) and where it should go (green square), on the table."""
        self._scene_points = [p for p in (obj, destination) if p is not None]
        for plane in (self.top, self.side):
            plane.set_scene_items(obj, destination)

    def clear_trail(self) -> None:
        self._trail.clear()
        self.top.set_trail(np.zeros((0, 3)))
        self.side.set_trail(np.zeros((0, 3)))

    def add_trail_point(self, tip: np.ndarray) -> None:
        self._trail.append(np.asarray(tip, dtype=float))
        if len(self._trail) > 2000:
            del self._trail[:500]
        pts = np.asarray(self._trail)
        self.top.set_trail(pts)
        self.side.set_trail(pts)

    # --- clicks --------------------------------------------------------------------------------------
    def _base_target(self) -> np.ndarray:
        if self.target is not None:
            return self.target.copy()
        if self._last_tip is not None:
            return self._last_tip.copy()
        return np.array([0.25, 0.0, self.default_height_m])

    def _new_target_height(self, x: float, y: float) -> float:
        """Height of a target placed from above. On the item or where it should go: the working height over
        the table there (the arm's current height would put it ~18 cm above the item). Elsewhere: the height
        of the previous target, so a path keeps its level until the side view changes it."""
        near_scene = any(np.hypot(x - p[0], y - p[1]) <= SCENE_SNAP_M for p in self._scene_points)
        if near_scene or self.target is None:
            return self.default_height_m
        return float(self.target[2])

    def _top_clicked(self, y: float, x: float, drag: bool = False) -> None:
        if drag and self.target is not None:
            t = self.target.copy()  # moving the target being placed keeps its height
        else:
            t = np.array([x, y, self._new_target_height(x, y)])
        t[0], t[1] = x, y
        self._emit(t, drag)

    def _side_clicked(self, x: float, z: float, drag: bool = False) -> None:
        t = self._base_target()
        # Keep the direction chosen from above; the side view sets reach (along that direction) and height.
        heading = np.arctan2(t[1], t[0]) if np.hypot(t[0], t[1]) > 1e-3 else 0.0
        t[0], t[1], t[2] = x * np.cos(heading), x * np.sin(heading), max(0.0, z)
        self._emit(t, drag, adjust=True)

    def _emit(self, t: np.ndarray, drag: bool, adjust: bool = False) -> None:
        self.set_target(t)
        signal = self.target_dragged if drag else (self.target_adjusted if adjust else self.target_clicked)
        signal.emit(float(t[0]), float(t[1]), float(t[2]))

    def click_point_top(self, x: float, y: float) -> QPointF:
        """Widget position (in `self.top`) of world point (x, y) — lets tests click like a person."""
        return self.top.world_point_to_viewport(y, x)

    def click_point_side(self, x: float, z: float) -> QPointF:
        return self.side.world_point_to_viewport(x, z)
