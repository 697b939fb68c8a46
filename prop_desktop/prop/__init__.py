"""The PRoP engine: key encoders, layer modulation of any torch module, training, merging, metrics, adapters.

No Qt, no serial, no keyring, no storage here (the contracts in pyproject.toml). See docs/prop_engine.md.
The names below load on first use: `prop_desktop.prop.adapter_format` (the adapter's description, plain Python)
must be importable without torch, whose import holds the GIL for seconds while the GUI is live.
"""

# ruff: noqa: F401 - the imports under TYPE_CHECKING are the public names, for type checkers
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the public names for type checkers ("X": re-exported)
    from .adapter import Adapter
    from .adapter_format import (
        FORMAT_VERSION,
        adapter_alpha,
        with_alpha,
    )
    from .compiled import compile_for_control
    from .encoder import EncoderConfig, KeyEncoder
    from .errors import (
        AdapterError,
        AdapterMismatchError,
        InputError,
        KeyFormatError,
        PropError,
        TrainingCancelled,
        WrapError,
    )
    from .fingerprint import model_hash
    from .keyed import (
        KeyedModule,
        attach,
        deltas_at,
        gate_open,
        linear_layer_names,
        wrap,
    )
    from .keys import (
        DEFAULT_KEY_BITS,
        flip_bits,
        hamming_distance,
        key_to_signs,
        keys_to_signs,
        near_signs,
        new_key,
        random_signs,
        signs_to_key,
        window_flips,
    )
    from .merge import (
        ALPHA_GRID,
        AlphaPoint,
        AlphaProbe,
        alpha_curve,
        choose_alpha,
        measure_alpha,
        merge_trunk,
    )
    from .metrics import (
        evaluate,
        fidelity,
        key_scores,
        keyed_outputs_many,
        near_key_fidelity,
        no_key_fidelity,
        output_scale,
        outputs,
        per_key_errors,
        personalization_error,
        personalization_score,
        random_key_fidelity,
        retention_error,
        scaled_error,
        score_mask,
    )
    from .selection import fit_selection
    from .train import (
        TrainConfig,
        TrainResult,
        auto_max_steps,
        train_adapter,
    )

# Where each public name lives (module -> names): one place, read by __getattr__ and __all__.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "adapter": ("Adapter",),
    "adapter_format": ("FORMAT_VERSION", "adapter_alpha", "with_alpha"),
    "compiled": ("compile_for_control",),
    "encoder": ("EncoderConfig", "KeyEncoder"),
    "errors": (
        "AdapterError", "AdapterMismatchError", "InputError", "KeyFormatError", "PropError",
        "TrainingCancelled", "WrapError"
    ),
    "fingerprint": ("model_hash",),
    "keyed": ("KeyedModule", "attach", "deltas_at", "gate_open", "linear_layer_names", "wrap"),
    "keys": (
        "DEFAULT_KEY_BITS", "flip_bits", "hamming_distance", "key_to_signs", "keys_to_signs", "near_signs",
        "new_key", "random_signs", "signs_to_key", "window_flips"
    ),
    "merge": ("ALPHA_GRID", "AlphaPoint", "AlphaProbe", "alpha_curve", "choose_alpha", "measure_alpha", "merge_trunk"),
    "metrics": (
        "evaluate", "fidelity", "key_scores", "keyed_outputs_many", "near_key_fidelity", "no_key_fidelity",
        "output_scale", "outputs", "per_key_errors", "personalization_error", "personalization_score",
        "random_key_fidelity", "retention_error", "scaled_error", "score_mask"
    ),
    "selection": ("fit_selection",),
    "train": ("TrainConfig", "TrainResult", "auto_max_steps", "train_adapter"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
