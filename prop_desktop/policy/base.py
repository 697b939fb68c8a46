"""Load and save the shipped base policy: resources/base_policy.safetensors + resources/base_policy.json.

Weights are safetensors only (never pickle). The model's identity is the SHA-256 of the safetensors file:
adapters record it so they are never applied to another base model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from prop_desktop.paths import resources_dir
from prop_desktop.policy.kinematics import JOINT_NAMES
from prop_desktop.policy.model import ACT_DIM, FEATURE_DIM, LAYER_NAMES, OBS_DIM, BasePolicy
from prop_desktop.policy.styles import STYLE_DIM, STYLE_DIMS
from prop_desktop.policy.tasks import CONTEXT_DIM, TASK_COLUMNS, TASK_NAMES
from prop_desktop.prop.train_config import TrainConfig

FORMAT = "prop-desktop-base-policy"
FORMAT_VERSION = 3  # 2: the style layer and style features (styles.py); 3: waypoint joint offsets
WEIGHTS_NAME = "base_policy.safetensors"
CONFIG_NAME = "base_policy.json"
# The layers whose inputs PRoP modulates by default (their input features get multiplied by δ). `style` is
# fed with ones, so δ there *is* the style numbers: a key selects one of the ways the base knows. fc1 is
# included: its inputs are the normalized observation features (context, tip offsets), so δ there can move
# "where" a task goes - measured on bench household, held-out personal error 0.17 with fc1 vs 0.20 without.
DEFAULT_PROP_LAYERS: tuple[str, ...] = ("style", "fc1", "fc2", "fc3", "head")
# The layer whose δ selects one of the ways the base knows (its input is all ones: δ is the style numbers).
SELECTION_LAYERS: tuple[str, ...] = ("style",)


def personalize_config(**knobs: Any) -> TrainConfig:
    """The engine's settings for this policy (its selection layer and task scope) with `knobs` on top."""
    return TrainConfig(**{"select_layers": SELECTION_LAYERS, "scope_columns": TASK_COLUMNS, **knobs})


class BasePolicyError(ValueError):
    """The base policy files are missing, corrupt, or do not fit this version of the app."""


def _paths(path: str | Path | None) -> tuple[Path, Path]:
    """Accept a folder, the .safetensors file, or the .json file."""
    p = resources_dir() if path is None else Path(path)
    if p.is_dir() or p.suffix == "":
        return p / WEIGHTS_NAME, p / CONFIG_NAME
    return p.with_suffix(".safetensors"), p.with_suffix(".json")


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def base_policy_hash(path: str | Path | None = None) -> str:
    """SHA-256 (hex) of the base policy's weights file (the shipped one by default)."""
    weights, _ = _paths(path)
    if not weights.is_file():
        raise BasePolicyError(f"base policy weights not found at {weights}; run `prop-desktop policy train-base`")
    return file_hash(weights)


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    _, config_path = _paths(path)
    if not config_path.is_file():
        raise BasePolicyError(
            f"base policy config not found at {config_path}; reinstall the app or run `prop-desktop policy train-base`"
        )
    try:
        config = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BasePolicyError(f"base policy config {config_path} is not valid JSON ({exc}); reinstall the app") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise BasePolicyError(f"{config_path} is not a PRoP Desktop base policy config (format {FORMAT!r} expected)")
    if config.get("format_version") != FORMAT_VERSION:
        raise BasePolicyError(
            f"{config_path} has format version {config.get('format_version')}, this app reads {FORMAT_VERSION}"
        )
    return config


def load_base_policy(path: str | Path | None = None, verify_hash: bool = True) -> BasePolicy:
    """The base policy in eval mode. `path`: a folder holding both files, or either file; default: shipped."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights, config_path = _paths(path)
    config = load_config(path)
    if not weights.is_file():
        raise BasePolicyError(f"base policy weights not found at {weights}; run `prop-desktop policy train-base`")
    arch = config.get("architecture", {})
    expected = {"obs_dim": OBS_DIM, "act_dim": ACT_DIM, "feature_dim": FEATURE_DIM, "style_dim": STYLE_DIM}
    for key, value in expected.items():
        if arch.get(key) != value:
            raise BasePolicyError(f"{config_path}: {key}={arch.get(key)} but this app's policy needs {value}")
    if tuple(config.get("joint_names", ())) != JOINT_NAMES or tuple(config.get("task_names", ())) != TASK_NAMES:
        raise BasePolicyError(f"{config_path}: joints or tasks differ from this app's ({', '.join(TASK_NAMES)})")
    if verify_hash and config.get("weights_sha256") not in (None, file_hash(weights)):
        raise BasePolicyError(
            f"{weights} does not match its config (SHA-256 differs): the file was changed or corrupted; reinstall"
        )
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BasePolicyError(f"{weights} is not a readable safetensors file ({exc}); reinstall the app") from exc
    hidden = arch.get("hidden")
    if not isinstance(hidden, int) or hidden <= 0:
        raise BasePolicyError(f"{config_path}: architecture.hidden must be a positive integer, got {hidden!r}")
    model = BasePolicy(hidden)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise BasePolicyError(
            f"{weights} does not fit the policy: missing {missing or 'none'}, unexpected {extra or 'none'}"
        )
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise BasePolicyError(
                f"{weights}: {name} has shape {tuple(tensor.shape)}, expected {tuple(own[name].shape)}"
            )
        if not torch.isfinite(tensor).all():
            raise BasePolicyError(f"{weights}: {name} contains NaN or inf; reinstall the app")
    model.load_state_dict(state)
    model.eval()
    return model


def save_base_policy(model: BasePolicy, out_dir: str | Path, train_config: dict[str, Any],
                     report: dict[str, Any]) -> Path:
    """Write both files into out_dir (created); returns the weights path."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_NAME
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    tmp = weights.with_suffix(".safetensors.tmp")
    save_file(state, str(tmp), metadata={"format": FORMAT})
    tmp.chmod(0o644)  # shipped with the app: readable by everyone, like the JSON beside it
    tmp.replace(weights)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "weights_sha256": file_hash(weights),
        "architecture": {
            "kind": "mlp",
            "hidden": model.hidden,
            "obs_dim": OBS_DIM,
            "act_dim": ACT_DIM,
            "feature_dim": FEATURE_DIM,
            "style_dim": STYLE_DIM,
            "style_numbers": [f"{d.task}.{d.name}" for d in STYLE_DIMS],  # u = 1 is the general way
            "layer_names": list(LAYER_NAMES),
            "default_prop_layers": list(DEFAULT_PROP_LAYERS),  # informative; the code's list is what is used
            "activation": "silu",
        },
        "observation": "q (6 rad, joint_names order) + task context (one-hot task_names + object xy + target xy, m)",
        "action": "normalized step (q' - q) / step_scale; next targets q' = clip(q + clamp(out, -1, 1) * step_scale)",
        "joint_names": list(JOINT_NAMES),
        "task_names": list(TASK_NAMES),
        "context_dim": CONTEXT_DIM,
        "step_scale": model.step_scale.tolist(),
        "rate_hz": 20.0,
        "train_config": train_config,
        "report": report,
    }
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    return weights
