"""Image encoder for DisCo-Diff's global latents: a clean image -> logits ``[B, m, k]``.

A small convolutional net (strided 3x3 convolutions with group norm), average pooling to a fixed
``pool x pool`` grid (so any image size works and the head still sees *where* the strokes are), then an
MLP head to m x k logits. Quantize the logits with ``disco_core.latents.quantize_global``.
"""

from __future__ import annotations

import torch
from torch import nn

from disco_core.images.unet import _groups


class ImageEncoder(nn.Module):
    """Encode clean images ``x0`` ``[B, C, H, W]`` (and an optional one-hot class ``cond``) into m latents.

    Args:
        in_channels: image channels.
        m: number of latents.
        k: codes per latent.
        channels: width of each convolutional stage (each stage after the first halves the resolution).
        pool: side of the pooled feature grid fed to the head.
        num_classes: > 0 to also read the class (``cond`` one-hot ``[B, num_classes]``), so the latents
            can spend their bits on what the class does not say.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        m: int,
        k: int,
        channels: tuple[int, ...] | list[int] = (32, 64),
        pool: int = 4,
        num_classes: int = 0,
    ):
        super().__init__()
        if m < 1 or k < 2:
            raise ValueError(f"need m >= 1 and k >= 2, got m={m}, k={k}")
        self.m, self.k, self.num_classes = int(m), int(k), int(num_classes)
        layers: list[nn.Module] = []
        width = in_channels
        for i, out in enumerate(channels):
            layers += [nn.Conv2d(width, out, 3, stride=1 if i == 0 else 2, padding=1), nn.GroupNorm(_groups(out), out), nn.SiLU()]
            width = out
        layers.append(nn.AdaptiveAvgPool2d(pool))
        self.features = nn.Sequential(*layers)
        head_in = width * pool * pool + self.num_classes
        self.head = nn.Sequential(nn.Linear(head_in, 2 * width), nn.SiLU(), nn.Linear(2 * width, self.m * self.k))

    def forward(self, x0: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[B, m, k]``."""
        h = self.features(x0).flatten(1)
        if self.num_classes:
            if cond is None:
                cond = h.new_zeros(h.shape[0], self.num_classes)
            h = torch.cat([h, cond.reshape(h.shape[0], -1).to(h.dtype)], dim=1)
        return self.head(h).view(-1, self.m, self.k)
