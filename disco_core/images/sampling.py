"""Sampling the image models: Heun on the probability-flow ODE, the shared starting noise, ODE curvature."""

from __future__ import annotations

import math
from typing import Callable

import torch

from disco_core.diffusion.curvature import mean_curvature
from disco_core.diffusion.samplers import CallCounter, heun_sampler
from disco_core.diffusion.schedules import EDMSchedule
from disco_core.images.config import ImagesConfig


def sigmas_for(cfg: ImagesConfig) -> torch.Tensor:
    return EDMSchedule(sigma_min=cfg.sigma_min, sigma_max=cfg.sigma_max, rho=cfg.rho).sigmas(cfg.num_steps)


def sampling_inputs(
    cfg: ImagesConfig, shape: tuple[int, int, int], num_classes: int, *, n: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Starting noise ``x_T`` ``[n, C, H, W]`` (scaled to sigma_max), balanced labels ``[n]`` (class
    i % num_classes) when conditional, and uniforms ``u`` ``[n]`` for an inverse-CDF draw of the codes
    (``None`` unless ``cfg.quasi_random``). Every model gets the same, so their difference is the models'.

    With ``quasi_random`` the noise and ``u`` are the coordinates of one scrambled Sobol sequence (Gaussian
    by the inverse normal CDF): the n samples cover the inputs more evenly than i.i.d. draws, for the
    baseline and DisCo alike.
    """
    labels = torch.arange(n) % num_classes if num_classes else None
    dims = math.prod(shape)
    if not cfg.quasi_random:
        g = torch.Generator().manual_seed(seed)
        return cfg.sigma_max * torch.randn((n, *shape), generator=g), labels, None
    points = torch.quasirandom.SobolEngine(dims + 1, scramble=True, seed=seed).draw(n, dtype=torch.float64)
    points = points.clamp(1e-7, 1 - 1e-7)
    x_T = (cfg.sigma_max * torch.special.ndtri(points[:, :dims])).float().reshape(n, *shape)
    return x_T, labels, points[:, dims]


@torch.no_grad()
def sample_images(
    denoiser: Callable[..., torch.Tensor],
    x_T: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    cond: torch.Tensor | None = None,
    latents: torch.Tensor | None = None,
    batch_size: int = 500,
) -> tuple[torch.Tensor, float, int]:
    """Heun-sample in batches: returns images ``[n, C, H, W]`` clamped to [-1, 1], the mean ODE curvature
    of their paths, and the NFE per sample."""
    images, curvatures, nfe = [], [], 0
    for i in range(0, x_T.shape[0], batch_size):
        part = slice(i, i + batch_size)
        counter = CallCounter(denoiser)
        x0, traj = heun_sampler(
            counter, x_T[part], sigmas, cond=None if cond is None else cond[part],
            latents=None if latents is None else latents[part], return_trajectory=True,
        )
        images.append(x0.clamp(-1, 1).cpu())
        curvatures.append(mean_curvature(traj) * x0.shape[0])
        nfe = counter.calls
    return torch.cat(images), sum(curvatures) / x_T.shape[0], nfe

