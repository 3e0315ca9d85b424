"""Classifier-free guidance over latents: D_w = D(x | z) + w (D(x | z) - D(x | no z)).

Relies on the convention that a denoiser called with ``latents=None`` is its latent-dropped branch
(networks trained with latent dropout learn that branch through the null embedding).
"""

from __future__ import annotations

import torch

from disco_core.diffusion.precond import Denoiser


class GuidedDenoiser:
    """Wrap ``denoiser`` with classifier-free guidance of weight ``w`` (w = 0: plain conditional)."""

    def __init__(self, *, denoiser: Denoiser, w: float):
        self.denoiser = denoiser
        self.w = float(w)

    def __call__(self, x: torch.Tensor, sigma, cond=None, latents=None) -> torch.Tensor:
        """The :class:`~disco_core.diffusion.precond.Denoiser` call: D(x; sigma, cond, latents)."""
        d_cond = self.denoiser(x, sigma, cond, latents)
        if self.w == 0 or latents is None:
            return d_cond
        d_uncond = self.denoiser(x, sigma, cond, None)
        return d_cond + self.w * (d_cond - d_uncond)
