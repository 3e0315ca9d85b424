"""The paper's 2-D data: a mixture of Gaussians whose means sit evenly on a circle."""

from __future__ import annotations

import math

import torch


class RingMixture:
    """``num_modes`` isotropic Gaussians of standard deviation ``std`` centred on a circle of ``radius``.

    DisCo-Diff's toy uses 8 modes, radius 3, std 0.2. Units are arbitrary (the plane's).
    """

    def __init__(self, *, num_modes: int = 8, radius: float = 3.0, std: float = 0.2):
        if num_modes < 1 or radius < 0 or std <= 0:
            raise ValueError(f"bad mixture: num_modes={num_modes}, radius={radius}, std={std}")
        self.num_modes = int(num_modes)
        self.radius = float(radius)
        self.std = float(std)

    def means(self, *, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Mode centres ``[num_modes, 2]``, mode j at angle 2 pi j / num_modes."""
        angle = 2 * math.pi * torch.arange(self.num_modes, dtype=torch.float64) / self.num_modes
        centres = self.radius * torch.stack([angle.cos(), angle.sin()], -1)
        return centres.to(dtype or torch.get_default_dtype())

    def sample_with_modes(
        self, n: int, *, generator: torch.Generator | None = None, stratified: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` points ``[n, 2]`` and their mode indices ``[n]``.

        ``stratified=True`` gives every mode exactly its share (n / num_modes, the remainder spread in
        order) instead of multinomial counts: a low-variance reference set for distances such as W2,
        whose estimate on a few thousand points is otherwise dominated by random mode counts.
        """
        if stratified:
            modes = torch.arange(n) % self.num_modes
        else:
            modes = torch.randint(0, self.num_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.means()[modes] + self.std * noise, modes

    def sample(
        self, n: int, *, generator: torch.Generator | None = None, stratified: bool = False
    ) -> torch.Tensor:
        """``n`` points ``[n, 2]`` (see ``sample_with_modes``)."""
        return self.sample_with_modes(n, generator=generator, stratified=stratified)[0]

    def nearest_mode(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the closest mode centre for each point of ``x`` ``[n, 2]``."""
        return torch.cdist(x, self.means().to(x)).argmin(-1)
