"""The PRoP engine: key encoders, layer modulation of any torch module, training, merging, metrics, adapters.

No Qt, no serial, no keyring, no storage here (enforced by tests/test_architecture.py). See docs/prop_engine.md.
"""

from __future__ import annotations

from .adapter import FORMAT_VERSION, Adapter
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
from .keyed import KeyedModule, gate_open, linear_layer_names, wrap
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
from .merge import alpha_curve, choose_alpha
from .metrics import (
    evaluate,
    fidelity,
    key_scores,
    near_key_fidelity,
    no_key_fidelity,
    outputs,
    per_key_errors,
    personalization_error,
    personalization_score,
    random_key_fidelity,
    retention_error,
    score_mask,
)
from .train import TrainConfig, TrainResult, auto_max_steps, output_scale, train_adapter

__all__ = [
    "DEFAULT_KEY_BITS",
    "FORMAT_VERSION",
    "Adapter",
    "AdapterError",
    "AdapterMismatchError",
    "EncoderConfig",
    "InputError",
    "KeyEncoder",
    "KeyFormatError",
    "KeyedModule",
    "PropError",
    "TrainConfig",
    "TrainResult",
    "TrainingCancelled",
    "WrapError",
    "alpha_curve",
    "auto_max_steps",
    "choose_alpha",
    "compile_for_control",
    "evaluate",
    "fidelity",
    "flip_bits",
    "gate_open",
    "hamming_distance",
    "key_scores",
    "key_to_signs",
    "keys_to_signs",
    "linear_layer_names",
    "model_hash",
    "near_key_fidelity",
    "near_signs",
    "new_key",
    "no_key_fidelity",
    "output_scale",
    "outputs",
    "per_key_errors",
    "personalization_error",
    "personalization_score",
    "random_key_fidelity",
    "random_signs",
    "retention_error",
    "score_mask",
    "signs_to_key",
    "train_adapter",
    "window_flips",
    "wrap",
]
