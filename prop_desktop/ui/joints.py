"""The words the window uses for the arm's joints (their order is the arm layer's JOINT_NAMES)."""

from __future__ import annotations

from prop_desktop.arm.models import JOINT_NAMES  # the order of every joint vector, the bus's and the policy's

__all__ = ["JOINT_LABELS", "JOINT_NAMES", "joint_label"]
JOINT_LABELS = ("Base turn", "Shoulder", "Elbow", "Wrist bend", "Wrist turn", "Gripper")
_LABEL_OF = dict(zip(JOINT_NAMES, JOINT_LABELS, strict=True))


def joint_label(joint: str) -> str:
    """The label shown for a joint name (the name itself for a joint we do not know)."""
    return _LABEL_OF.get(joint, joint)
