"""A plain MLP latent encoder for vector data (toys, flattened images): x0 -> logits [B, m, k]."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MLPEncoder(nn.Module):
    """Encode a clean sample ``x0`` (and an optional context ``cond``) into m categorical latents.

    Args:
        in_dim: size of a flattened sample.
        m: number of latents.
        k: codes per latent.
        hidden: width of the hidden layers.
        cond_dim: size of the context vector (0: none).
        layers: number of hidden (Linear + SiLU) layers before the output layer (>= 1).
    """

    def __init__(
        self, *, in_dim: int, m: int, k: int, hidden: int = 128, cond_dim: int = 0, layers: int = 3
    ):
        super().__init__()
        if layers < 1:
            raise ValueError(f"need layers >= 1, got {layers}")
        self.in_dim, self.m, self.k, self.cond_dim = int(in_dim), int(m), int(k), int(cond_dim)
        blocks: list[nn.Module] = []
        width = self.in_dim + self.cond_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        blocks.append(nn.Linear(width, self.m * self.k))
        self.net = nn.Sequential(*blocks)

    def forward(self, x0: Tensor, cond: Tensor | None = None) -> Tensor:
        """Logits [B, m, k] for samples ``x0`` [B, in_dim] (any trailing shape is flattened)."""
        x = x0.reshape(x0.shape[0], -1)
        if x.shape[1] != self.in_dim:
            raise ValueError(f"expected {self.in_dim} input features, got {x.shape[1]}")
        if self.cond_dim:
            if cond is None:
                raise ValueError(f"this encoder needs a context vector of size {self.cond_dim}")
            x = torch.cat([x, cond.reshape(cond.shape[0], -1).to(x.dtype)], dim=1)
        return self.net(x).view(-1, self.m, self.k)
