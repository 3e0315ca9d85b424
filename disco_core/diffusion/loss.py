"""EDM denoising loss: draw sigma log-normally, noise the data, weight the squared error by lambda(sigma)."""

from __future__ import annotations

import torch

from disco_core.diffusion.precond import Denoiser, edm_loss_weight, sigma_like
from disco_core.diffusion.schedules import LogNormalSigma


class EDMLoss:
    """Per-element weighted denoising loss lambda(sigma) |D(x0 + sigma n, sigma) - x0|^2.

    ``P_mean``, ``P_std``: parameters of ln(sigma) ~ N(P_mean, P_std^2), one sigma per example.
    ``sigma_data``: standard deviation of the clean data, used by the weight
    lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2. Reduction is left to the caller.
    """

    def __init__(self, *, P_mean: float = -1.2, P_std: float = 1.2, sigma_data: float = 0.5):
        if sigma_data <= 0:
            raise ValueError(f"need sigma_data > 0, got {sigma_data}")
        self.sigma_dist = LogNormalSigma(P_mean=P_mean, P_std=P_std)
        self.sigma_data = float(sigma_data)

    def __call__(
        self,
        denoiser: Denoiser,
        x0: torch.Tensor,
        cond: torch.Tensor | None = None,
        latents: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        sigma = self.sigma_dist.sample(x0.shape[0], generator=generator, device=x0.device).to(x0.dtype)
        s = sigma_like(sigma, x0)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        denoised = denoiser(x0 + s * noise, sigma, cond, latents)
        return edm_loss_weight(s, self.sigma_data) * (denoised - x0) ** 2
