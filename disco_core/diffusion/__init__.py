"""disco_core.diffusion: noise schedules, EDM preconditioning and loss, ODE/SDE samplers, curvature and W2.

All pieces meet at one denoiser interface ``D(x, sigma, cond=None, latents=None) -> estimate of x0``,
with ``x`` of shape ``[B, ...]`` and ``sigma`` a scalar or ``[B]`` tensor.
"""

from disco_core.diffusion.curvature import curvature, mean_curvature, wasserstein2
from disco_core.diffusion.guidance import GuidedDenoiser
from disco_core.diffusion.loss import EDMLoss
from disco_core.diffusion.precond import Denoiser, EDMPrecond, edm_coefficients, edm_loss_weight, sigma_like
from disco_core.diffusion.samplers import (
    churn,
    euler_sampler,
    euler_step,
    heun_sampler,
    heun_step,
    ode_derivative,
    stochastic_sampler,
)
from disco_core.diffusion.schedules import EDMSchedule, GeometricSchedule, LogNormalSigma

__all__ = [
    "Denoiser",
    "EDMLoss",
    "EDMPrecond",
    "EDMSchedule",
    "GeometricSchedule",
    "GuidedDenoiser",
    "LogNormalSigma",
    "churn",
    "curvature",
    "edm_coefficients",
    "edm_loss_weight",
    "euler_sampler",
    "euler_step",
    "heun_sampler",
    "heun_step",
    "mean_curvature",
    "ode_derivative",
    "sigma_like",
    "stochastic_sampler",
    "wasserstein2",
]
