"""The α slider's metrics between measured points: plain Python, so the app needs no torch for the slider."""

from __future__ import annotations

from collections.abc import Sequence

from prop_desktop.services.models import AlphaMetrics

SLIDER_GRID = tuple(round(i / 20, 2) for i in range(21))  # measured after training; interpolated in between


def interpolate(curve: Sequence[AlphaMetrics], alpha: float) -> AlphaMetrics:
    """Metrics at α by linear interpolation on a precomputed curve (instant: the slider needs no torch)."""
    points = sorted(curve, key=lambda m: m.alpha)
    if alpha <= points[0].alpha:
        return AlphaMetrics(alpha, *_fields(points[0]))
    for lo, hi in zip(points, points[1:], strict=False):
        if alpha <= hi.alpha:
            w = (alpha - lo.alpha) / max(hi.alpha - lo.alpha, 1e-12)
            return AlphaMetrics(alpha, *(a + w * (b - a) for a, b in zip(_fields(lo), _fields(hi), strict=True)))
    return AlphaMetrics(alpha, *_fields(points[-1]))


def _fields(m: AlphaMetrics) -> tuple[float, float, float, float]:
    return (m.personalization_error, m.personalization_score, m.retention_error, m.wrong_key_error)
