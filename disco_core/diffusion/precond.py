"""EDM preconditioning (Karras et al. 2022, Table 1): wrap a raw network F into a denoiser D.

    D(x, sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma))

The coefficients keep F's input and its training target at unit variance for every sigma when the clean
data have standard deviation ``sigma_data``, so one network serves all noise levels.

Conventions shared by the whole ``diffusion`` package: ``x`` is ``[B, ...]``; ``sigma`` is a scalar or a
``[B]`` tensor (one noise level per example), broadcast over the trailing dimensions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn


class Denoiser(Protocol):
    """The interface every loss, sampler and guidance wrapper takes: an estimate of the clean x0."""

    def __call__(
        self, x: torch.Tensor, sigma: torch.Tensor | float, cond: Any = None, latents: Any = None
    ) -> torch.Tensor: ...


def sigma_like(sigma: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    """``sigma`` (scalar or ``[B]``) as a ``[B, 1, ..., 1]`` tensor broadcastable against ``x``."""
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if sigma.ndim == 0:
        sigma = sigma.expand(x.shape[0])
    if sigma.ndim != 1 or sigma.shape[0] != x.shape[0]:
        raise ValueError(f"sigma must be a scalar or [B] with B={x.shape[0]}, got shape {tuple(sigma.shape)}")
    return sigma.reshape(-1, *([1] * (x.ndim - 1)))


@dataclass(frozen=True)
class EDMCoefficients:
    """c_skip, c_out, c_in, c_noise for one sigma tensor (same shape as sigma)."""

    c_skip: torch.Tensor
    c_out: torch.Tensor
    c_in: torch.Tensor
    c_noise: torch.Tensor


def edm_coefficients(sigma: torch.Tensor, sigma_data: float) -> EDMCoefficients:
    """EDM's preconditioning coefficients at noise level(s) ``sigma`` (any shape, sigma > 0)."""
    sd2 = sigma_data**2
    total = sigma**2 + sd2
    return EDMCoefficients(
        c_skip=sd2 / total,
        c_out=sigma * sigma_data / total.sqrt(),
        c_in=total.rsqrt(),
        c_noise=sigma.log() / 4,
    )


def edm_loss_weight(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2 = 1 / c_out^2.

    With this weight the denoiser loss equals the unit-weighted loss on F's effective target.
    """
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


class EDMPrecond(nn.Module):
    """Denoiser ``D(x, sigma, cond=None, latents=None)`` built from a raw network ``F``.

    ``model`` is called as ``model(c_in * x, c_noise, cond, latents)`` with ``c_noise`` of shape ``[B]``
    and must return a tensor shaped like ``x``. ``sigma_data`` is the standard deviation of the clean data
    (in the data's units). ``cond`` and ``latents`` are passed through untouched; ``latents=None`` means
    "no latents" (the dropped / unconditional branch for networks trained with latent dropout).
    """

    def __init__(self, *, model: nn.Module, sigma_data: float):
        super().__init__()
        if sigma_data <= 0:
            raise ValueError(f"need sigma_data > 0, got {sigma_data}")
        self.model = model
        self.sigma_data = float(sigma_data)

    def forward(
        self,
        x: torch.Tensor,
        sigma: torch.Tensor | float,
        cond: torch.Tensor | None = None,
        latents: torch.Tensor | None = None,
    ) -> torch.Tensor:
        s = sigma_like(sigma, x)
        c = edm_coefficients(s, self.sigma_data)
        F = self.model(c.c_in * x, c.c_noise.reshape(-1), cond, latents)
        return c.c_skip * x + c.c_out * F
