"""Samplers for the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma (EDM, Karras et al. 2022).

Three pieces, each written once: ``ode_derivative`` (the ODE's right-hand side), single steps
(``euler_step``, ``heun_step``, ``churn``) and one loop (``_integrate``) over a decreasing ``sigmas``
tensor whose last element is usually 0 (see ``EDMSchedule.sigmas``). The public samplers only pick a step.

Every sampler has the signature ``(denoiser, x_T, sigmas, *, cond=None, latents=None, generator=None,
return_trajectory=False)``; ``x_T`` must already be scaled to ``sigmas[0]`` (e.g. ``sigmas[0] * randn``).
With ``return_trajectory=True`` they return ``(x_0, trajectory)``, the trajectory ``[S, B, ...]`` holding
the state at each of the ``S = len(sigmas)`` noise levels (the first is ``x_T``, the last the result).
Samplers run under ``torch.no_grad()``; to differentiate through a solve, loop over the steps yourself.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from disco_core.diffusion.precond import Denoiser

Step = Callable[[torch.Tensor, float, float], torch.Tensor]


def ode_derivative(
    denoiser: Denoiser,
    x: torch.Tensor,
    sigma: float,
    cond: torch.Tensor | None = None,
    latents: torch.Tensor | None = None,
) -> torch.Tensor:
    """dx/dsigma = (x - D(x, sigma)) / sigma, with one sigma shared by the batch."""
    sigma_b = x.new_full((x.shape[0],), sigma)
    return (x - denoiser(x, sigma_b, cond, latents)) / sigma


def euler_step(
    denoiser: Denoiser,
    x: torch.Tensor,
    sigma_cur: float,
    sigma_next: float,
    cond: torch.Tensor | None = None,
    latents: torch.Tensor | None = None,
) -> torch.Tensor:
    """One explicit Euler step of the ODE from ``sigma_cur`` to ``sigma_next`` (1 denoiser call)."""
    return x + (sigma_next - sigma_cur) * ode_derivative(denoiser, x, sigma_cur, cond, latents)


def heun_step(denoiser: Denoiser, x: torch.Tensor, sigma_cur: float, sigma_next: float, cond=None,
              latents=None) -> torch.Tensor:
    """One Heun (2nd-order) step; falls back to Euler when stepping to sigma = 0 (EDM Alg. 1).

    Costs 2 denoiser calls, or 1 on the final step to 0.
    """
    h = sigma_next - sigma_cur
    d = ode_derivative(denoiser, x, sigma_cur, cond, latents)
    x_next = x + h * d
    if sigma_next > 0:
        d_next = ode_derivative(denoiser, x_next, sigma_next, cond, latents)
        x_next = x + h * 0.5 * (d + d_next)
    return x_next


def churn(
    x: torch.Tensor,
    sigma: float,
    gamma: float,
    *,
    S_noise: float = 1.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, float]:
    """Raise the noise level from ``sigma`` to ``sigma_hat = sigma (1 + gamma)`` by adding fresh noise.

    Returns ``(x_hat, sigma_hat)``. ``S_noise`` slightly above 1 offsets the denoiser's tendency to
    remove a little too much noise (EDM Sec. 4).
    """
    sigma_hat = sigma * (1.0 + gamma)
    if gamma <= 0:
        return x, sigma
    eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + math.sqrt(sigma_hat**2 - sigma**2) * S_noise * eps, sigma_hat


def _integrate(
    step: Step, x_T: torch.Tensor, sigmas: torch.Tensor, return_trajectory: bool
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The one sampling loop: apply ``step(x, sigma_cur, sigma_next)`` down the ``sigmas`` ladder."""
    levels = [float(s) for s in sigmas]
    if len(levels) < 2:
        raise ValueError("sigmas needs at least two noise levels")
    if any(b > a for a, b in zip(levels, levels[1:])):
        raise ValueError("sigmas must be non-increasing")
    x = x_T
    states = [x] if return_trajectory else None
    for sigma_cur, sigma_next in zip(levels, levels[1:]):
        x = step(x, sigma_cur, sigma_next)
        if states is not None:
            states.append(x)
    if states is not None:
        return x, torch.stack(states)
    return x


def _ode_sampler(step, doc: str):
    """A deterministic probability-flow ODE sampler from its one-step update (Euler or Heun)."""

    # The same signature as stochastic_sampler without its S_* knobs (see there for the types).
    def sampler(denoiser: Denoiser, x_T, sigmas, *, cond=None, latents=None, generator=None, return_trajectory=False):
        del generator  # accepted for a uniform signature: the sampler draws nothing
        with torch.no_grad():
            return _integrate(
                lambda x, s, s_next: step(denoiser, x, s, s_next, cond, latents), x_T, sigmas, return_trajectory
            )

    sampler.__doc__ = doc
    return sampler


euler_sampler = _ode_sampler(euler_step, "Deterministic Euler integration of the probability-flow ODE "
                                         "(``len(sigmas) - 1`` denoiser calls).")
euler_sampler.__name__ = "euler_sampler"
heun_sampler = _ode_sampler(heun_step, "Deterministic Heun integration of the probability-flow ODE (EDM Alg. 1). "
                                       "With N steps ending at sigma = 0 it costs 2N - 1 denoiser calls.")
heun_sampler.__name__ = "heun_sampler"


def stochastic_sampler(
    denoiser: Denoiser,
    x_T: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    cond: torch.Tensor | None = None,
    latents: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    return_trajectory: bool = False,
    S_churn: float = 0.0,
    S_min: float = 0.0,
    S_max: float = float("inf"),
    S_noise: float = 1.0,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """EDM's stochastic sampler (Alg. 2): at each level in [S_min, S_max] add noise (churn), then Heun.

    ``S_churn`` is the total churn spread over the steps: gamma_i = min(S_churn / N, sqrt(2) - 1).
    ``S_churn = 0`` reduces to ``heun_sampler``. The trajectory records the state after each step.
    """
    num_steps = len(sigmas) - 1
    gamma_max = min(S_churn / max(num_steps, 1), math.sqrt(2.0) - 1.0)

    def step(x: torch.Tensor, sigma_cur: float, sigma_next: float) -> torch.Tensor:
        gamma = gamma_max if S_min <= sigma_cur <= S_max else 0.0
        x_hat, sigma_hat = churn(x, sigma_cur, gamma, S_noise=S_noise, generator=generator)
        return heun_step(denoiser, x_hat, sigma_hat, sigma_next, cond, latents)

    with torch.no_grad():
        return _integrate(step, x_T, sigmas, return_trajectory)


class CallCounter:
    """Counts denoiser calls (NFE) while passing them through."""

    def __init__(self, denoiser: Callable[..., torch.Tensor]):
        self.denoiser, self.calls = denoiser, 0

    def __call__(self, *args: Any) -> torch.Tensor:
        self.calls += 1
        return self.denoiser(*args)
