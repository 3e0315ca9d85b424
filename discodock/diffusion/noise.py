"""One noise schedule for the three pose components, all driven by a single time t in [0, 1].

Each component (translation in Angstrom, rotation and torsion in radians) has its own geometric
(variance-exploding) schedule ``sigma(t) = sigma_min^(1-t) sigma_max^t`` (DiffDock's defaults below); they are
three instances of ``disco_core.diffusion.schedules.GeometricSchedule``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from disco_core.diffusion.schedules import GeometricSchedule
from discodock.geometry._random import rand

COMPONENT_NAMES = ("tr", "rot", "tor")


@dataclass
class DiffusionConfig:
    """Noise ranges of the three pose components (DiffDock's geometric schedules).

    Translation in Angstrom, rotation and torsion in radians. ``tr_max`` is the spread of the translation
    prior around the site centre: 19 A covers a whole protein (blind); pocket mode uses a few Angstrom.
    """

    tr_min: float = 0.1
    tr_max: float = 19.0
    rot_min: float = 0.03
    rot_max: float = 1.55
    tor_min: float = 0.0314
    tor_max: float = 3.1416

    def schedule(self) -> "PoseNoiseSchedule":
        return PoseNoiseSchedule(self)


class PoseNoiseSchedule:
    """sigma_tr, sigma_rot, sigma_tor as functions of one t; indexable by component name."""

    def __init__(self, ranges: DiffusionConfig | None = None):
        """Args: the noise ranges (default: :class:`DiffusionConfig`'s, the one place they are set)."""
        r = ranges or DiffusionConfig()
        self.schedules = {
            "tr": GeometricSchedule(sigma_min=r.tr_min, sigma_max=r.tr_max),
            "rot": GeometricSchedule(sigma_min=r.rot_min, sigma_max=r.rot_max),
            "tor": GeometricSchedule(sigma_min=r.tor_min, sigma_max=r.tor_max),
        }

    def __getitem__(self, name: str) -> GeometricSchedule:
        return self.schedules[name]

    def ranges(self) -> DiffusionConfig:
        """The noise ranges this schedule was built from."""
        out = {}
        for name, s in self.schedules.items():
            out[f"{name}_min"], out[f"{name}_max"] = s.sigma_min, s.sigma_max
        return DiffusionConfig(**out)

    def sigmas(self, t: torch.Tensor | float) -> dict[str, torch.Tensor]:
        """``{"tr", "rot", "tor"} -> sigma(t)``, same shape as ``t``."""
        return {name: s.sigma(t) for name, s in self.schedules.items()}

    def g2(self, t: torch.Tensor | float) -> dict[str, torch.Tensor]:
        """``name -> d sigma^2 / dt`` at ``t``: the squared diffusion coefficient of each component's VE SDE."""
        return {name: s.dsigma2_dt(t) for name, s in self.schedules.items()}

    def times(self, num_steps: int, *, t_min: float = 0.0) -> torch.Tensor:
        """``num_steps + 1`` decreasing times from 1 to ``t_min`` (for the reverse process)."""
        return torch.linspace(1.0, t_min, num_steps + 1)

    def sample_times(
        self, n: int, *, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Training times ``t ~ U(0, 1)``, one per pose."""
        return rand(n, generator=generator, device=device)
