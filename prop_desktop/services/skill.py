"""A profile's current personal skill as the app shows it: when it was trained, from which recordings, its
personalization strength α, the privacy report and the α curve measured at the end of training.

α lives in the adapter itself (Adapter.alpha, the one stored α); the rest in the adapter's sealed metadata. So
the Train page can show it again after a profile switch or a restart (it owns no per-profile state), and the α
slider works on any trained skill, not only on the training job that just ran. Plain Python: no torch is needed
to read or adjust it (prop/adapter_format.py edits α in the adapter's description).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prop_desktop.prop.adapter_format import adapter_alpha, with_alpha
from prop_desktop.prop.errors import AdapterError
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
    alpha: float  # the personalization strength driving uses
    report: PrivacyReport | None  # None for skills trained before reports were stored
    curve: tuple[AlphaMetrics, ...]  # empty for skills trained before curves were stored
    updated: bool = False  # made by "Update my skill" (a warm-started retrain)
    corrections: int = 0  # correction recordings among its episodes


def skill_meta(report: PrivacyReport, curve: list[AlphaMetrics]) -> dict[str, Any]:
    """What training adds to the adapter's metadata so the skill can be shown and adjusted later."""
    return {"report": report_to_json(report), "alpha_curve": [alpha_to_json(m) for m in curve]}


def summary_from_meta(profile_id: str, meta: dict[str, Any], alpha: float) -> SkillSummary:
    report = None
    curve: tuple[AlphaMetrics, ...] = ()
    try:
        if isinstance(meta.get("report"), dict):
            report = report_from_json(meta["report"])
        curve = tuple(alpha_from_json(m) for m in meta.get("alpha_curve") or [])
    except (KeyError, TypeError, ValueError):
        report, curve = None, ()  # written by another version: show what is certain, not a crash
    corrections = meta.get("corrections")
    return SkillSummary(profile_id, str(meta.get("trained", "")), tuple(meta.get("episodes") or ()), alpha, report,
                        curve, meta.get("updated") is True, corrections if isinstance(corrections, int) else 0)


def _moved_alpha(blob: bytes, meta: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """An adapter saved when the metadata held α too (and won when driving): that α moved into the adapter."""
    rest = {k: v for k, v in meta.items() if k != "alpha"}
    try:
        alpha = min(1.0, max(0.0, float(meta["alpha"])))
    except (TypeError, ValueError):
        alpha = 1.0  # what driving used for an unreadable α
    return with_alpha(blob, alpha), rest


@contextmanager
def _unreadable_skill() -> Iterator[None]:
    try:
        yield
    except AdapterError as exc:
        raise NoAdapterError(f"The stored skill cannot be read: {exc}.", "Train again.") from exc


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

    def stored(self, profile_id: str | None = None) -> tuple[bytes, dict[str, Any]] | None:
        """The profile's adapter (bytes, with its α) and metadata, or None before the first training. An adapter
        from before α lived only in the adapter gets its metadata's α (the one driving used) moved in, once."""
        session = self._profiles.session(profile_id)
        base_hash = self._policy.hash()
        with user_errors():
            if not session.adapters.has(base_hash):
                return None
            blob, meta = session.adapters.load_with_meta(base_hash)
            if "alpha" in meta:
                with _unreadable_skill():
                    blob, meta = _moved_alpha(blob, meta)
                session.adapters.save(base_hash, blob, meta)
        return blob, meta

    def get(self, profile_id: str | None = None) -> SkillSummary | None:
        stored = self.stored(profile_id)
        if stored is None:
            return None
        blob, meta = stored
        with _unreadable_skill():
            alpha = adapter_alpha(blob)
        return summary_from_meta(self._profiles.session(profile_id).profile.id, meta, alpha)

    def evaluate_alpha(self, alpha: float, profile_id: str | None = None) -> AlphaMetrics:
        """The slider's metrics at α, interpolated on the curve measured after training (instant)."""
        return interpolate(self._curve(profile_id), check_alpha(alpha))

    def apply_alpha(self, alpha: float, profile_id: str | None = None) -> AlphaMetrics:
        """Save α in the stored adapter (sealed, atomic); the next drive uses it."""
        alpha = check_alpha(alpha)
        curve = self._curve(profile_id)
        stored = self.stored(profile_id)
        assert stored is not None  # _curve found a skill
        blob, meta = stored
        with _unreadable_skill():
            blob = with_alpha(blob, alpha)
        session = self._profiles.session(profile_id)
        with user_errors():
            session.adapters.save(self._policy.hash(), blob, meta)
        return interpolate(curve, alpha)

    def _curve(self, profile_id: str | None) -> tuple[AlphaMetrics, ...]:
        skill = self.get(profile_id)
        if skill is None or not skill.curve:
            raise NoAdapterError("There is no trained skill to adjust." if skill is None else
                                 "This skill was trained by an older version and cannot be adjusted.",
                                 "Train first, then move the slider.")
        return skill.curve
