"""Checks that turn bad arrays into clear InputError messages before torch ever sees them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .errors import InputError


def as_float_tensor(value: Any, name: str, *, min_rows: int = 1, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Convert an array-like to a finite float tensor with at least one row, or raise InputError naming `name`."""
    if value is None:
        raise InputError(f"{name} is missing (got None)")
    try:
        if isinstance(value, torch.Tensor):
            tensor = value.detach()
        else:
            array = np.asarray(value)
            if array.dtype == object:
                raise InputError(f"{name} must be a numeric array, got ragged or non-numeric data")
            if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
                raise InputError(f"{name} must be a numeric array, got dtype {array.dtype}")
            if array.ndim == 0:
                raise InputError(f"{name} must be an array with one row per sample, got a scalar")
            tensor = torch.from_numpy(np.ascontiguousarray(array))
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any conversion failure is the caller's data problem
        raise InputError(f"{name} could not be read as a numeric array: {exc}") from None
    if tensor.is_complex():
        raise InputError(f"{name} must be real-valued, got complex dtype {tensor.dtype}")
    tensor = tensor.to(dtype)
    if tensor.dim() == 0:
        raise InputError(f"{name} must be an array with one row per sample, got a scalar")
    if tensor.shape[0] < min_rows:
        raise InputError(f"{name} is empty: it needs at least {min_rows} row(s), got shape {tuple(tensor.shape)}")
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        first = int((~finite).reshape(tensor.shape[0], -1).any(dim=1).nonzero()[0, 0])
        raise InputError(f"{name} contains {bad} NaN/inf value(s) (first in row {first}); clean or drop those rows")
    return tensor


def check_same_rows(a: torch.Tensor, a_name: str, b: torch.Tensor, b_name: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise InputError(
            f"{a_name} and {b_name} must have the same number of rows, got {a.shape[0]} and {b.shape[0]}"
        )


def check_feature_shape(tensor: torch.Tensor, name: str, expected: tuple[int, ...], expected_from: str) -> None:
    if tuple(tensor.shape[1:]) != tuple(expected):
        raise InputError(
            f"{name} has per-row shape {tuple(tensor.shape[1:])}, but {expected_from} has per-row shape "
            f"{tuple(expected)}"
        )
