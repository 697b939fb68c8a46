"""A Record-page tab where a hand moves an arm: what to do, sliders that stand in for the hand on a simulated
arm, and the arm drawn from above and the side.

Used twice: "By hand" (the hand moves the follower, its torque off) and "With the leader arm" (the hand moves
the leader; the follower mirrors it). The sliders are in hundredths of a radian, in the joint order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from prop_desktop.ui.joints import JOINT_LABELS, JOINT_NAMES
from prop_desktop.ui.messages import user_message
from prop_desktop.ui.widgets.workspace_view import WorkspaceView

if TYPE_CHECKING:
    from prop_desktop.services.app import App

SLIDER_RANGE = (-200, 200)  # hundredths of a radian


class HandTab(QWidget):
    """`on_slider(joint_index, radians)` runs when a person drags a slider."""

    def __init__(self, explain: str, box_title: str, slider_name: str, view_name: str,
                 on_slider: Callable[[int, float], None]) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.explain_label = QLabel(explain)
        self.explain_label.setWordWrap(True)
        layout.addWidget(self.explain_label)
        self.sim_hand_box = QGroupBox(box_title)
        sliders = QVBoxLayout(self.sim_hand_box)
        self.sliders: list[QSlider] = []
        for joint_index, label in enumerate(JOINT_LABELS):
            row = QHBoxLayout()
            name = QLabel(label)
            name.setMinimumWidth(90)
            row.addWidget(name)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(*SLIDER_RANGE)
            slider.setObjectName(f"{slider_name}{joint_index}")
            slider.valueChanged.connect(lambda v, j=joint_index: on_slider(j, v / 100.0))
            row.addWidget(slider, 1)
            sliders.addLayout(row)
            self.sliders.append(slider)
        # The arm as it is moved, seen from above and the side (the same drawing as the clicking view), beside
        # the sliders: stacked, the tab would not fit a 1280×800 window.
        self.view = WorkspaceView(interactive=False)
        self.view.setObjectName(view_name)
        row = QHBoxLayout()
        row.addWidget(self.sim_hand_box, 2)
        row.addWidget(self.view, 3)
        layout.addLayout(row, 1)

    def show_pose(self, q: np.ndarray) -> None:
        """Put the sliders a person is not holding at `q` (radians), without moving the arm again."""
        for slider, value in zip(self.sliders, q, strict=False):
            if not slider.isSliderDown():
                slider.blockSignals(True)
                slider.setValue(int(round(value * 100)))
                slider.blockSignals(False)


def hand_on_follower(app: App, say: Callable[[str], None]) -> Callable[[int, float], None]:
    """Sliders as a hand on the simulated arm (it moves only with its torque off: while recording by hand)."""

    def move(joint: int, radians: float) -> None:
        sim = app.arm.simulator()
        if sim is None:
            return
        try:
            moved = sim.move_by_hand(JOINT_NAMES[joint], radians)
        except Exception as exc:  # noqa: BLE001
            say(f"The simulated arm did not move: {exc}")
            return
        if not moved:
            say("The motors are holding the arm. Press Record first: then they relax.")

    return move


def hand_on_leader(app: App, say: Callable[[str], None]) -> Callable[[int, float], None]:
    """Sliders as a hand on the simulated leader arm; the follower mirrors it while recording."""

    def move(joint: int, radians: float) -> None:
        sim = app.leader.simulator()
        if sim is None or not app.leader.connected:
            return
        name = JOINT_NAMES[joint]
        try:  # the slider is in joint radians; the simulator moves the servo, which may be mounted reversed
            sim.move_by_hand(name, radians * app.leader.leader().model.joint(name).sign)
        except Exception as exc:  # noqa: BLE001
            say(f"The simulated leader did not move: {user_message(exc)}")

    return move
