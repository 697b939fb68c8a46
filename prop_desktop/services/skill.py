"""A profile's current personal skill as the app shows it: when it was trained, from which recordings, its
merge α, the privacy report and the α curve measured at the end of training.

All of it lives in the adapter's sealed metadata, so the Train page can show it again after a profile switch
or a restart (it owns no per-profile state), and the α slider works on any trained skill, not only on the
training job that just ran. Plain Python: no torch is needed to read or adjust it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prop_desktop.services.alpha_curve import interpolate
from prop_desktop.services.error_mapping import user_errors
from prop_desktop.services.errors import InvalidInputError, NoAdapterError
from prop_desktop.services.models import AlphaMetrics, PrivacyReport
from prop_desktop.services.training_wire import alpha_from_json, alpha_to_json, report_from_json, report_to_json

if TYPE_CHECKING:
    from prop_desktop.services.policy_provider import PolicyProvider
    from prop_desktop.services.profile_service import ProfileService


@dataclass(frozen=True)
class SkillSummary:
    profile_id: str
    trained: str  # ISO time
    episodes: tuple[str, ...]
    alpha: float | None
    report: PrivacyReport | None  # None for skills trained before reports were stored
    curve: tuple[AlphaMetrics, ...]  # empty for skills trained before curves were stored


def skill_meta(report: PrivacyReport, curve: list[AlphaMetrics]) -> dict[str, Any]:
    """What training adds to the adapter's metadata so the skill can be shown and adjusted later."""
    return {"report": report_to_json(report), "alpha_curve": [alpha_to_json(m) for m in curve]}


def summary_from_meta(profile_id: str, meta: dict[str, Any]) -> SkillSummary:
    report = None
    curve: tuple[AlphaMetrics, ...] = ()
    try:
        if isinstance(meta.get("report"), dict):
            report = report_from_json(meta["report"])
        curve = tuple(alpha_from_json(m) for m in meta.get("alpha_curve") or [])
    except (KeyError, TypeError, ValueError):
        report, curve = None, ()  # written by another version: show what is certain, not a crash
    alpha = meta.get("alpha")
    return SkillSummary(profile_id, str(meta.get("trained", "")), tuple(meta.get("episodes") or ()),
                        float(alpha) if isinstance(alpha, int | float) else None, report, curve)


def check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not (0.0 <= alpha <= 1.0):
        raise InvalidInputError(f"α must be between 0 and 1, got {alpha}.", "Move the slider within its range.")
    return alpha


class Skills:
    """Reads and adjusts the stored skill of any profile (the one asked for, else the active one)."""

    def __init__(self, profiles: ProfileService, policy: PolicyProvider) -> None:
        self._profiles = profiles
        self._policy = policy

    def get(self, profile_id: str | None = None) -> SkillSummary | None:
        session = self._profiles.session(profile_id)
        base_hash = self._policy.hash()
        with user_errors():
            if not session.adapters.has(base_hash):
                return None
            meta = dict(session.adapters.info(base_hash).meta)
        return summary_from_meta(session.profile.id, meta)

    def evaluate_alpha(self, alpha: float, profile_id: str | None = None) -> AlphaMetrics:
        """The slider's metrics at α, interpolated on the curve measured after training (instant)."""
        return interpolate(self._curve(profile_id), check_alpha(alpha))

    def apply_alpha(self, alpha: float, profile_id: str | None = None) -> AlphaMetrics:
        """Save α with the stored adapter (sealed, atomic); the next drive uses it."""
        alpha = check_alpha(alpha)
        curve = self._curve(profile_id)
        session = self._profiles.session(profile_id)
        base_hash = self._policy.hash()
        with user_errors():
            data, meta = session.adapters.load_with_meta(base_hash)
            session.adapters.save(base_hash, data, dict(meta, alpha=alpha))
        return interpolate(curve, alpha)

    def _curve(self, profile_id: str | None) -> tuple[AlphaMetrics, ...]:
        skill = self.get(profile_id)
        if skill is None or not skill.curve:
            raise NoAdapterError("There is no trained skill to adjust." if skill is None else
                                 "This skill was trained by an older version and cannot be adjusted.",
                                 "Train first, then move the slider.")
        return skill.curve
