"""A control-loop fast path: trace and freeze a plain module (e.g. `keyed.specialize(key)`) with TorchScript.

At batch 1 the cost of a small policy is dominated by per-operation dispatch in eager mode; a frozen trace
roughly halves it. Tracing is only an optimisation, so any module it cannot reproduce exactly is returned as is.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from .scope import Scoped


def compile_for_control(module: nn.Module, example: torch.Tensor, *, atol: float = 1e-5) -> nn.Module:
    """A traced, frozen copy of `module` for inputs shaped like `example`, or `module` itself when tracing fails
    or the traced copy disagrees with the module on probe inputs around the example (a trace freezes one path
    through data-dependent control flow; probing with the negated and perturbed example catches that).
    A scoped policy (scope.py) gets its two parts compiled and keeps its per-row choice, which no probe could
    be trusted to catch (the negated example is in the same scope)."""
    if isinstance(module, Scoped):
        return Scoped(compile_for_control(module.personal, example, atol=atol),
                      compile_for_control(module.base, example, atol=atol), module.scope)
    module = module.eval()
    generator = torch.Generator().manual_seed(0)
    probes = [example, -example, example + torch.randn(example.shape, generator=generator, dtype=example.dtype)]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constants captured from buffers are exactly what we want here
            traced: nn.Module = torch.jit.freeze(torch.jit.trace(module, example))  # type: ignore[no-untyped-call]
            for probe in probes:
                if not torch.allclose(module(probe), traced(probe), atol=atol, rtol=0):
                    return module
    except Exception:  # noqa: BLE001 - any tracing failure just means "no fast path"
        return module
    return traced
