"""A small U-Net denoiser for images, conditioned through adaptive group norm.

The raw network follows the ``EDMPrecond`` contract ``F(x_in, c_noise, cond, latents)`` and returns a
tensor shaped like ``x_in`` ``[B, C, H, W]``. Everything the network is conditioned on becomes one
embedding vector per example, the sum of

* the noise embedding (Fourier features of ``c_noise``, then an MLP),
* a class embedding when ``num_classes > 0`` (``cond``: one-hot ``[B, num_classes]``; an all-zero row is
  "no class"),
* a latent embedding when ``m > 0`` (``latents``: one-hot ``[B, m, k]``; an all-zero example, or
  ``latents=None``, is a dropped latent and gets the learned null embedding of ``LatentDropout``),

and every residual block reads it through adaptive group norm: ``GN(h) * (1 + scale) + shift`` with
``(scale, shift)`` a linear map of the embedding (the DisCo-Diff image models condition the same way).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from disco_core.latents.dropout import LatentDropout


def _groups(channels: int, max_groups: int = 8) -> int:
    """The largest divisor of ``channels`` that is at most ``max_groups`` (group norm needs one)."""
    for g in range(min(max_groups, channels), 0, -1):
        if channels % g == 0:
            return g
    return 1


class FourierNoiseEmbedding(nn.Module):
    """c_noise ``[B]`` -> ``[B, 2 * num_frequencies]``: sin and cos at geometrically spaced frequencies.

    EDM's c_noise = ln(sigma) / 4 spans about [-1.6, 1.1] for sigma in [0.002, 80]; frequencies from
    ``f_min`` to ``f_max`` (radians per unit of c_noise) resolve that range from coarse to fine.
    """

    def __init__(self, *, num_frequencies: int = 16, f_min: float = 1.0, f_max: float = 100.0):
        super().__init__()
        freqs = torch.exp(torch.linspace(math.log(f_min), math.log(f_max), num_frequencies))
        self.register_buffer("freqs", freqs, persistent=False)
        self.dim = 2 * num_frequencies

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        phase = c_noise.reshape(-1, 1) * self.freqs.to(c_noise.dtype)
        return torch.cat([phase.sin(), phase.cos()], dim=-1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with adaptive group norm from ``emb``, and a 1x1 skip when widths differ."""

    def __init__(self, *, in_channels: int, out_channels: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = nn.GroupNorm(_groups(out_channels), out_channels, affine=False)
        self.affine = nn.Linear(emb_dim, 2 * out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        # Start each block as (nearly) the identity: training is more stable for deep stacks.
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.affine(emb)[:, :, None, None].chunk(2, dim=1)
        h = F.silu(self.norm2(h) * (1 + scale) + shift)
        h = self.conv2(self.dropout(h))
        return (self.skip(x) + h) / math.sqrt(2)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels of a (small) feature map, with a residual connection."""

    def __init__(self, *, channels: int, num_heads: int = 1):
        super().__init__()
        if channels % num_heads:
            raise ValueError(f"channels ({channels}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.num_heads, c // self.num_heads, h * w).unbind(1)
        y = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return (x + self.proj(y.transpose(-1, -2).reshape(b, c, h, w))) / math.sqrt(2)


class UNet(nn.Module):
    """Raw U-Net denoiser network ``F(x_in, c_noise, cond=None, latents=None)`` for ``[B, C, H, W]`` images.

    Args:
        in_channels: image channels (1 for grey digits, 3 for colour).
        image_size: height = width in pixels; must be divisible by ``2 ** (len(channel_mult) - 1)``.
        channels: width of the first level; level i has ``channels * channel_mult[i]`` feature maps.
        channel_mult: one entry per resolution level (each level after the first halves the resolution).
        num_blocks: residual blocks per level on the way down (one more on the way up, for the skips).
        attn_resolutions: resolutions (in pixels) whose blocks are followed by self-attention.
        emb_dim: size of the conditioning embedding.
        num_classes: > 0 for class-conditional models (``cond`` one-hot ``[B, num_classes]``).
        m, k: number of global latents and codes per latent (``m = 0``: the baseline, no latents).
        dropout: dropout inside residual blocks.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        image_size: int = 16,
        channels: int = 32,
        channel_mult: tuple[int, ...] | list[int] = (1, 2, 2),
        num_blocks: int = 1,
        attn_resolutions: tuple[int, ...] | list[int] = (4,),
        emb_dim: int = 128,
        num_classes: int = 0,
        m: int = 0,
        k: int = 0,
        dropout: float = 0.0,
    ):
        super().__init__()
        levels = len(channel_mult)
        if levels < 1 or image_size % (2 ** (levels - 1)):
            raise ValueError(f"image_size {image_size} is not divisible by 2^{levels - 1} ({levels} levels)")
        if m and k < 2:
            raise ValueError(f"latents need k >= 2 codes, got k={k}")
        self.in_channels, self.image_size = int(in_channels), int(image_size)
        self.num_classes, self.m, self.k = int(num_classes), int(m), int(k)

        self.noise_fourier = FourierNoiseEmbedding()
        self.noise_mlp = nn.Sequential(
            nn.Linear(self.noise_fourier.dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        if self.num_classes:
            self.class_emb = nn.Linear(self.num_classes, emb_dim, bias=False)
        if self.m:
            self.latent_emb = nn.Sequential(nn.Linear(self.m * self.k, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
            # Holds the null embedding; which examples are dropped is decided by the caller (zero latents).
            self.latent_dropout = LatentDropout(p=0.0, dim=emb_dim)

        widths = [channels * mult for mult in channel_mult]
        self.conv_in = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        skip_widths = [widths[0]]
        width, res = widths[0], image_size
        for level, level_width in enumerate(widths):
            if level > 0:
                self.down.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
                res //= 2
                skip_widths.append(width)
            for _ in range(num_blocks):
                self.down.append(ResBlock(in_channels=width, out_channels=level_width, emb_dim=emb_dim, dropout=dropout))
                width = level_width
                if res in attn_resolutions:
                    self.down.append(SelfAttention(channels=width))
                skip_widths.append(width)

        self.mid = nn.ModuleList([
            ResBlock(in_channels=width, out_channels=width, emb_dim=emb_dim, dropout=dropout),
            SelfAttention(channels=width),
            ResBlock(in_channels=width, out_channels=width, emb_dim=emb_dim, dropout=dropout),
        ])

        self.up = nn.ModuleList()
        for level in reversed(range(levels)):
            for _ in range(num_blocks + 1):
                self.up.append(ResBlock(
                    in_channels=width + skip_widths.pop(), out_channels=widths[level], emb_dim=emb_dim, dropout=dropout
                ))
                width = widths[level]
                if res in attn_resolutions:
                    self.up.append(SelfAttention(channels=width))
            if level > 0:
                self.up.append(nn.Upsample(scale_factor=2, mode="nearest"))
                res *= 2
        self.norm_out = nn.GroupNorm(_groups(width), width)
        self.conv_out = nn.Conv2d(width, in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def embedding(
        self, c_noise: torch.Tensor, cond: torch.Tensor | None, latents: torch.Tensor | None, batch_size: int
    ) -> torch.Tensor:
        """The conditioning vector ``[B, emb_dim]``: noise + class + latent embeddings."""
        dtype = self.conv_in.weight.dtype
        c_noise = torch.as_tensor(c_noise, dtype=dtype, device=self.conv_in.weight.device).reshape(-1)
        emb = self.noise_mlp(self.noise_fourier(c_noise.expand(batch_size)))
        if self.num_classes and cond is not None:
            emb = emb + self.class_emb(cond.reshape(batch_size, -1).to(dtype))
        if self.m:
            if latents is None:
                latents = emb.new_zeros(batch_size, self.m, self.k)
            if latents.shape[1:] != (self.m, self.k):
                raise ValueError(f"expected latents [B, {self.m}, {self.k}], got {tuple(latents.shape)}")
            flat = latents.reshape(batch_size, -1).to(dtype)
            keep = flat.abs().sum(-1) > 0
            latent_emb, _ = self.latent_dropout(self.latent_emb(flat), keep=keep)
            emb = emb + latent_emb
        return F.silu(emb)

    def forward(
        self,
        x: torch.Tensor,
        c_noise: torch.Tensor,
        cond: torch.Tensor | None = None,
        latents: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(
                f"expected images [B, {self.in_channels}, {self.image_size}, {self.image_size}], got {tuple(x.shape)}"
            )
        emb = self.embedding(c_noise, cond, latents, x.shape[0])
        h = self.conv_in(x)
        skips = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, ResBlock) else layer(h)
            if not isinstance(layer, SelfAttention):
                skips.append(h)
            else:
                skips[-1] = h
        for layer in self.mid:
            h = layer(h, emb) if isinstance(layer, ResBlock) else layer(h)
        for layer in self.up:
            if isinstance(layer, ResBlock):
                h = layer(torch.cat([h, skips.pop()], dim=1), emb)
            else:
                h = layer(h)
        return self.conv_out(F.silu(self.norm_out(h)))
