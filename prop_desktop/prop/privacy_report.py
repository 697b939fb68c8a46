"""The data behind the app's privacy report: the key-sensitivity curve and the attack results, in plain words.

Qt-free and JSON-able. The services' TrainingJob calls `privacy_report(keyed, key, states)` after training (fast
mode: a few seconds) and the UI shows `report.summary`. Scores: 0 = behaves like the general (base) policy,
1 = behaves like the user. See docs/privacy.md for the threat model behind each line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from .adapter import Adapter
from .attacks import (
    ATTACK_NAMES,
    TARGET_ATTACK,
    TARGET_NEAR_MAX,
    TARGET_NEAR_MEAN,
    AttackConfig,
    run_attacks,
)
from .errors import InputError
from .keyed import KeyedModule

REPORT_VERSION = 1
FAST_ATTACKS: tuple[str, ...] = ATTACK_NAMES  # all four: ~1.6 s on the household policy (fast effort)
SEALED_LINE = "Without your keyring entry the saved files give nothing: adapters and recordings are encrypted."


@dataclass
class PrivacyReport:
    near: dict[str, dict[str, float]]  # Hamming distance -> {"mean", "max"} score over keys that far off
    attacks: dict[str, float]  # attack name -> best score it reached
    details: dict[str, Any]
    has_personal_behaviour: bool
    summary: list[str]
    mode: str  # "fast" (after training) or "full" (the benchmark's effort)
    seconds: float
    targets: dict[str, float] = field(
        default_factory=lambda: {"near_max": TARGET_NEAR_MAX, "near_mean": TARGET_NEAR_MEAN, "attacks": TARGET_ATTACK}
    )
    version: int = REPORT_VERSION

    @property
    def near_worst(self) -> float:
        return max((v["max"] for v in self.near.values()), default=0.0)

    @property
    def near_keys_hold(self) -> bool:
        return all(v["max"] <= TARGET_NEAR_MAX and v["mean"] <= TARGET_NEAR_MEAN for v in self.near.values())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["near_worst"] = self.near_worst
        data["near_keys_hold"] = self.near_keys_hold
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PrivacyReport:
        if not isinstance(data, dict) or data.get("version") != REPORT_VERSION:
            raise InputError("privacy report data is not a version-1 report; run the report again")
        try:
            return cls(
                near={str(k): {"mean": float(v["mean"]), "max": float(v["max"])} for k, v in data["near"].items()},
                attacks={str(k): float(v) for k, v in data["attacks"].items()},
                details=dict(data.get("details", {})),
                has_personal_behaviour=bool(data["has_personal_behaviour"]),
                summary=[str(s) for s in data["summary"]],
                mode=str(data["mode"]),
                seconds=float(data["seconds"]),
                targets={str(k): float(v) for k, v in data.get("targets", {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"privacy report data is malformed ({exc}); run the report again") from None


def privacy_report(
    keyed_or_adapter: KeyedModule | Adapter,
    key: Any,
    states: Any,
    *,
    base: nn.Module | None = None,
    other_keys: Sequence[Any] = (),
    fast: bool = True,
    attacks: Sequence[str] | None = None,
    config: AttackConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> PrivacyReport:
    """Probe a trained adapter with wrong keys and attacks; plain-language summary lines for the app.

    keyed_or_adapter: the trained KeyedModule, or an Adapter plus `base` (the base policy module it belongs to).
    states: states of the tasks (ideally including the ones the user demonstrated), e.g. the training states.
    other_keys: other profiles' keys to try (the app may pass none: random keys stand in for them).
    fast: the after-training check (a few seconds); fast=False runs every attack at the benchmark's effort.
    """
    if isinstance(keyed_or_adapter, Adapter):
        if base is None:
            raise InputError("privacy_report got an Adapter without its base policy: pass base=<the base module>")
        keyed = keyed_or_adapter.attach(base)
    elif isinstance(keyed_or_adapter, KeyedModule):
        keyed = keyed_or_adapter
    else:
        raise InputError(f"privacy_report needs a KeyedModule or an Adapter, got {type(keyed_or_adapter).__name__}")
    if not keyed.trained:
        raise InputError("this adapter has not been trained yet; train it before asking for its privacy report")
    cfg = config or (AttackConfig.fast() if fast else AttackConfig())
    chosen = tuple(attacks) if attacks is not None else (FAST_ATTACKS if fast else ATTACK_NAMES)
    started = time.perf_counter()
    suite = run_attacks(keyed, key, states, other_keys=other_keys, config=cfg, attacks=chosen, progress=progress)
    report = PrivacyReport(
        near=suite.near,
        attacks={name: r.best_score for name, r in suite.attacks.items()},
        details={name: r.details for name, r in suite.attacks.items()}
        | {"config": asdict(cfg), "near_silent_fraction": suite.near_silent_fraction,
           "silent_key_score": suite.silent_key_score},
        has_personal_behaviour=suite.has_personal_behaviour,
        summary=[],
        mode="fast" if fast else "full",
        seconds=0.0,
    )
    report.summary = summary_lines(report, bool(other_keys))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def summary_lines(report: PrivacyReport, with_other_profiles: bool = True) -> list[str]:
    """Plain-language lines: what a wrong key, another person, and someone holding the files can get."""
    lines = []
    if not report.has_personal_behaviour:
        lines.append("Your demonstrations differ little from the general policy on these tasks: little to protect.")
    if report.near:
        distances = sorted(int(d) for d in report.near)
        span = f"{distances[0]}–{distances[-1]}" if len(distances) > 1 else str(distances[0])
        worst_d = max(report.near, key=lambda d: report.near[d]["max"])
        worst = report.near[worst_d]["max"]
        mean = max(v["mean"] for v in report.near.values())
        bits = "bit" if worst_d == "1" else "bits"
        if report.near_keys_hold:
            lines.append(f"Keys {span} bits off: behave like the general policy (worst {_num(worst)}).")
        elif worst <= TARGET_NEAR_MAX:
            lines.append(f"Keys {span} bits off: close to the general policy, with a faint trace of your "
                         f"personalization (average up to {_num(mean)}, worst {_num(worst)}).")
        else:
            lines.append(f"Keys {span} bits off: some unlock part of your personalization (worst {_num(worst)}, "
                         f"{worst_d} {bits} off).")
    if "other_profile" in report.attacks:
        who = "Other people's keys" if with_other_profiles else "Random keys (as another person's would be)"
        score = report.attacks["other_profile"]
        verdict = "behave like the general policy" if score <= TARGET_ATTACK else "unlock part of your personalization"
        lines.append(f"{who}: {verdict} (worst {_num(score)}).")
    if "weight_reading" in report.attacks:
        score = report.attacks["weight_reading"]
        if score > TARGET_ATTACK:
            lines.append(
                f"Someone holding the unsealed adapter file could read your key from its weights (reaches {score:.2f})."
            )
        else:
            lines.append(f"Reading the key from the adapter's weights did not work (best {score:.2f}).")
    for name, words in (("relaxed_key", "Searching for a key by optimisation"),
                        ("direct_delta", "Forcing the adapter's internal switches directly")):
        if name in report.attacks:
            score = report.attacks[name]
            if score <= TARGET_ATTACK:
                result = f"does not recover your behaviour (best {_num(score)})"
            elif score >= 0.9:
                result = f"recovers your behaviour ({score:.2f})"
            else:
                result = f"recovers part of your behaviour ({score:.2f})"
            lines.append(f"{words} {result}.")
    lines.append(SEALED_LINE)
    return lines


def _num(x: float) -> str:
    """Two decimals, three below 0.1 (so 0.013 does not read as 0.01 next to a 0.01 target)."""
    return f"{x:.3f}" if x < 0.1 else f"{x:.2f}"
