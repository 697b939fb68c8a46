"""model_hash: a stable fingerprint of a base model, so an adapter is never applied to the wrong one."""

from __future__ import annotations

import hashlib

import torch
from torch import nn


def model_hash(module: nn.Module) -> str:
    """sha256 (hex) over the state_dict in name order: each entry's name, dtype, shape and raw bytes."""
    digest = hashlib.sha256(b"prop-desktop model v1\n")
    state = module.state_dict()
    for name in sorted(state):
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor):
            continue
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{str(tensor.dtype)}|{tuple(tensor.shape)}\n".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
