"""Random draws that honour a generator on any device.

Noise is drawn on the generator's device and then moved to the requested one, so a CPU generator can drive
a CUDA run (and a seed gives the same numbers wherever the tensors live).
"""

from __future__ import annotations

import torch


def _draw(fn, shape, generator, dtype, device):
    dtype = dtype or torch.get_default_dtype()
    if generator is None:
        return fn(*shape, dtype=dtype, device=device)
    return fn(*shape, generator=generator, dtype=dtype, device=generator.device).to(device)


def randn(*shape: int, generator: torch.Generator | None = None, dtype=None, device=None) -> torch.Tensor:
    """Standard normal draws of ``shape``."""
    return _draw(torch.randn, shape, generator, dtype, device)


def rand(*shape: int, generator: torch.Generator | None = None, dtype=None, device=None) -> torch.Tensor:
    """Uniform [0, 1) draws of ``shape``."""
    return _draw(torch.rand, shape, generator, dtype, device)
