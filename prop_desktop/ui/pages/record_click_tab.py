"""The Record page's "Point and click" tab: click targets for the gripper in the workspace view (from above;
the side view sets reach and height), pick the gripper's state, start from the general way or move the
objects. The targets are checked for reach as they are placed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from prop_desktop.ui.messages import user_message
from prop_desktop.ui.widgets.workspace_view import WorkspaceView

if TYPE_CHECKING:
    from prop_desktop.ui.pages.record_host import RecordHost

GRIPPER_OPEN = 0.5  # radians: the base tasks open to 0.5 before grasping and close to -0.4 on the item
GRIPPER_CLOSED = -0.4
MAX_TARGETS = 8


class ClickTab(QWidget):
    def __init__(self, page: RecordHost) -> None:
        super().__init__()
        self.page = page
        self.targets: list[np.ndarray] = []
        cl = QVBoxLayout(self)
        self.workspace = WorkspaceView()
        self.workspace.setObjectName("workspaceView")
        self.workspace.target_clicked.connect(lambda x, y, z: self._target_clicked(x, y, z, adjust=False))
        self.workspace.target_adjusted.connect(lambda x, y, z: self._target_clicked(x, y, z, adjust=True))
        cl.addWidget(self.workspace, 1)
        legend = QLabel("<span style='color:#ea580c'>●</span> the item (or the person)  "
                        "<span style='color:#15803d'>■</span> where it should go  "
                        "<span style='color:#dc2626'>○</span> your targets, in order")
        legend.setObjectName("caption")
        cl.addWidget(legend)
        trow = QHBoxLayout()
        self.targets_label = QLabel()
        self.targets_label.setObjectName("targetsLabel")
        self.targets_label.setWordWrap(True)
        trow.addWidget(self.targets_label, 1)
        self.undo_target_button = QPushButton("Remove last")
        self.undo_target_button.setObjectName("removeLastTarget")
        self.undo_target_button.clicked.connect(self.remove_last_target)
        trow.addWidget(self.undo_target_button)
        self.clear_targets_button = QPushButton("Clear targets")
        self.clear_targets_button.setObjectName("clearTargets")
        self.clear_targets_button.clicked.connect(self.clear_targets)
        trow.addWidget(self.clear_targets_button)
        cl.addLayout(trow)
        srow = QHBoxLayout()
        srow.addWidget(QLabel("Gripper at new targets:"))
        self.gripper_combo = QComboBox()
        self.gripper_combo.setObjectName("gripperCombo")
        self.gripper_combo.addItem("open", GRIPPER_OPEN)
        self.gripper_combo.addItem("closed (holding)", GRIPPER_CLOSED)
        self.gripper_combo.setToolTip("Whether the gripper is open or closed when the arm reaches the next target")
        srow.addWidget(self.gripper_combo)
        srow.addStretch(1)
        self.general_way_button = QPushButton("Start from the general way")
        self.general_way_button.setObjectName("generalWayButton")
        self.general_way_button.setToolTip("Put the targets the arm would use by default; then change them to your "
                                           "liking")
        self.general_way_button.clicked.connect(self.load_general_way)
        srow.addWidget(self.general_way_button)
        self.shuffle_button = QPushButton("Move the objects")
        self.shuffle_button.setObjectName("shuffleScene")
        self.shuffle_button.setToolTip("Place the cup/item and its destination somewhere else on the table")
        self.shuffle_button.clicked.connect(self.shuffle_scene)
        srow.addWidget(self.shuffle_button)
        cl.addLayout(srow)

    def _target_clicked(self, x: float, y: float, z: float, adjust: bool) -> None:
        """From above: add a target. From the side: change the last target's reach and height."""
        page = self.page
        if page.recording or page.replaying:
            return
        target = np.array([x, y, z, float(self.gripper_combo.currentData())])
        if adjust and self.targets:
            target[3] = self.targets[-1][3]
        try:
            problem = page.app.record.check_target(tuple(float(v) for v in target))
        except Exception as exc:  # noqa: BLE001
            problem = user_message(exc)
        if problem:
            page.status_label.setText(f"⚠ {problem}")
            self.workspace.set_target(None)
            return
        if adjust and self.targets:
            self.targets[-1] = target
        elif len(self.targets) >= MAX_TARGETS:
            page.status_label.setText(f"At most {MAX_TARGETS} targets per recording. Record, or clear targets.")
            return
        else:
            self.targets.append(target)
        page.status_label.setText("")
        self.workspace.set_target(None)
        self.workspace.target = target[:3]  # side clicks adjust the reach/height around the last target
        self.update_targets_label()

    def remove_last_target(self) -> None:
        if self.targets:
            self.targets.pop()
        self.update_targets_label()

    def clear_targets(self) -> None:
        self.targets.clear()
        self.workspace.set_target(None)
        self.update_targets_label()

    def update_targets_label(self) -> None:
        self.workspace.set_markers(self.targets)
        if not self.targets:
            self.targets_label.setText("Click in the views to place targets for the gripper (up to "
                                       f"{MAX_TARGETS}), then press Record.")
        else:
            text = ", ".join(f"{i + 1}: {t[0] * 100:.0f}/{t[1] * 100:.0f}/{t[2] * 100:.0f} cm"
                             f"{' (holding)' if t[3] < 0 else ''}" for i, t in enumerate(self.targets))
            self.targets_label.setText(f"{len(self.targets)} target(s) (forward/left/height): {text}")
        self.page.update_controls()

    def load_general_way(self) -> None:
        """Targets the base behaviour would use in this scene: a starting point to adjust."""
        scene = getattr(self.page, "scene", None)
        if scene is None or self.page.recording:
            return
        self.targets[:] = [np.array([w.x, w.y, w.z, w.gripper]) for w in scene.base_waypoints][:MAX_TARGETS]
        self.update_targets_label()

    def shuffle_scene(self) -> None:
        page = self.page
        task = page.current_task()
        if task is None or page.recording:
            return
        try:
            page.app.record.shuffle_scene(task)
        except Exception as exc:  # noqa: BLE001
            page.show_error(exc)
            return
        self.clear_targets()
        page.show_scene()

    def update_controls(self, busy: bool) -> None:
        self.undo_target_button.setEnabled(bool(self.targets) and not busy)
        self.clear_targets_button.setEnabled(bool(self.targets) and not busy)
        self.general_way_button.setEnabled(not busy)
        self.shuffle_button.setEnabled(not busy)
