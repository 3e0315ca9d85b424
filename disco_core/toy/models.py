"""Networks of the toy experiment: an MLP denoiser that can read one-hot latents.

The raw network follows the ``EDMPrecond`` contract ``F(x_in, c_noise, cond, latents)``. Latents are
one-hot ``[B, m, k]``; an all-zero row (or ``latents=None``) means "no latent" and is replaced by the
learned null embedding of ``LatentDropout``, which is how dropped latents and the unconditional branch of
classifier-free guidance are expressed.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from disco_core.latents.dropout import LatentDropout


class NoiseEmbedding(nn.Module):
    """c_noise (a scalar per example) -> [c_noise, sin(f c_noise), cos(f c_noise)] at octave frequencies."""

    def __init__(self, *, num_frequencies: int = 4):
        super().__init__()
        self.register_buffer("freqs", 2.0 ** torch.arange(num_frequencies, dtype=torch.float32), persistent=False)
        self.dim = 1 + 2 * num_frequencies

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        c = c_noise.reshape(-1, 1)
        phase = c * self.freqs.to(c)
        return torch.cat([c, phase.sin(), phase.cos()], dim=-1)


class FourierFeatures(nn.Module):
    """x [B, dim] -> [x, sin(2 pi f u.x), cos(2 pi f u.x)] for fixed directions u and octave frequencies f.

    Plain MLPs on raw low-dimensional coordinates learn sharp structure (8 tight modes) slowly; these
    fixed features remove that handicap for both variants alike. Deterministic: no random projection.
    """

    def __init__(self, *, dim: int, num_directions: int = 4, num_frequencies: int = 3):
        super().__init__()
        if dim == 2:
            angle = math.pi * torch.arange(num_directions, dtype=torch.float32) / num_directions
            dirs = torch.stack([angle.cos(), angle.sin()], 0)  # [2, D]
        else:
            dirs = torch.eye(dim)
        freqs = 2.0 ** torch.arange(num_frequencies, dtype=torch.float32)
        self.register_buffer("proj", (dirs[:, :, None] * freqs).flatten(1) * 2 * math.pi, persistent=False)
        self.dim = dim + 2 * self.proj.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phase = x @ self.proj.to(x)
        return torch.cat([x, phase.sin(), phase.cos()], dim=-1)


class ToyMLP(nn.Module):
    """Raw denoiser network for vectors of size ``dim``, optionally conditioned on m one-hot latents of k codes.

    ``m = 0`` builds the baseline without latents (any ``latents`` argument is ignored).
    ``hidden``/``layers``: width and number of hidden SiLU layers; ``latent_dim``: size of the latent
    embedding fed to the MLP.
    """

    def __init__(self, *, dim: int = 2, hidden: int = 256, layers: int = 4, m: int = 0, k: int = 0, latent_dim: int = 32):
        super().__init__()
        self.dim, self.m, self.k = int(dim), int(m), int(k)
        self.noise_emb = NoiseEmbedding()
        self.x_emb = FourierFeatures(dim=self.dim)
        width = self.x_emb.dim + self.noise_emb.dim
        if self.m:
            self.latent_proj = nn.Linear(self.m * self.k, latent_dim)
            self.latent_dropout = LatentDropout(p=0.0, dim=latent_dim)  # the null embedding; drops chosen by caller
            width += latent_dim
        blocks: list[nn.Module] = []
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        blocks.append(nn.Linear(width, self.dim))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, cond=None, latents=None) -> torch.Tensor:
        del cond  # the toy is unconditional
        parts = [self.x_emb(x), self.noise_emb(c_noise).to(x)]
        if self.m:
            b = x.shape[0]
            if latents is None:
                latents = x.new_zeros(b, self.m, self.k)
            flat = latents.reshape(b, -1).to(x)
            keep = flat.abs().sum(-1) > 0
            emb, _ = self.latent_dropout(self.latent_proj(flat), keep=keep)
            parts.append(emb)
        return self.net(torch.cat(parts, dim=-1))
