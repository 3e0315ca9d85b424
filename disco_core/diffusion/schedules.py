"""Noise schedules as small objects: they map a time (or a step count) to a noise level sigma.

No schedule keeps a step counter: callers pass ``t`` or ``num_steps`` explicitly.
"""

from __future__ import annotations

import math

import torch


class GeometricSchedule:
    """sigma(t) = sigma_min^(1-t) * sigma_max^t for t in [0, 1] (DiffDock's variance-exploding schedule).

    Units are those of the diffused quantity (Angstrom for translations, radians for angles).
    """

    def __init__(self, *, sigma_min: float, sigma_max: float):
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)

    def sigma(self, t: torch.Tensor | float) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=torch.get_default_dtype())
        return self.sigma_min ** (1 - t) * self.sigma_max**t

    def dsigma2_dt(self, t: torch.Tensor | float) -> torch.Tensor:
        """d(sigma^2)/dt, the diffusion coefficient g(t)^2 of the VE SDE."""
        s = self.sigma(t)
        return 2 * s**2 * math.log(self.sigma_max / self.sigma_min)

    def times(self, num_steps: int, *, t_min: float = 0.0) -> torch.Tensor:
        """num_steps + 1 decreasing times from 1 to t_min, for a reverse-time integrator."""
        return torch.linspace(1.0, t_min, num_steps + 1)


class EDMSchedule:
    """Karras et al. (EDM) step discretisation for sampling.

    sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho for i < N, then
    sigma_N = 0. Large ``rho`` spends more steps at small sigma, where the ODE bends most.
    """

    def __init__(self, *, sigma_min: float, sigma_max: float, rho: float = 7.0):
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
        if rho <= 0:
            raise ValueError(f"need rho > 0, got {rho}")
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)
        self.rho = float(rho)

    def sigmas(self, num_steps: int, *, device: torch.device | str | None = None) -> torch.Tensor:
        """``num_steps + 1`` decreasing noise levels: sigma_max ... sigma_min, then a final 0."""
        if num_steps < 1:
            raise ValueError(f"need num_steps >= 1, got {num_steps}")
        dtype = torch.get_default_dtype()
        if num_steps == 1:
            body = torch.tensor([self.sigma_max], dtype=dtype, device=device)
        else:
            frac = torch.arange(num_steps, dtype=dtype, device=device) / (num_steps - 1)
            lo, hi = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
            body = (hi + frac * (lo - hi)) ** self.rho
        return torch.cat([body, body.new_zeros(1)])


class LogNormalSigma:
    """Training noise levels: ln(sigma) ~ N(P_mean, P_std^2) (EDM's training distribution)."""

    def __init__(self, *, P_mean: float = -1.2, P_std: float = 1.2):
        if P_std <= 0:
            raise ValueError(f"need P_std > 0, got {P_std}")
        self.P_mean = float(P_mean)
        self.P_std = float(P_std)

    def sample(
        self,
        shape: tuple[int, ...] | torch.Size | int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        if isinstance(shape, int):
            shape = (shape,)
        z = torch.randn(tuple(shape), generator=generator, device=device, dtype=torch.get_default_dtype())
        return (self.P_mean + self.P_std * z).exp()
