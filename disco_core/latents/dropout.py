"""Latent dropout: with probability p an example's latent embedding is replaced by a learned null.

Training with dropped latents teaches the denoiser an unconditional mode, which gives an m = 0 fallback
and classifier-free guidance (DisCo-Diff uses p = 0.1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def drop_mask(
    batch_size: int,
    *,
    p: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Which examples keep their latents: [B] bool, each False with probability ``p``.

    For callers that apply the mask themselves (pointer latents zero their 0/1 labels where False).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    draw_device = generator.device if generator is not None else device
    u = torch.rand(batch_size, generator=generator, device=draw_device)
    return (u >= p).to(device)


class LatentDropout(nn.Module):
    """Replace each example's latent embedding by a learned ``null`` [dim] with probability ``p``.

    Only in training mode; in eval mode nothing is dropped unless ``force_drop=True`` (unconditional
    pass for classifier-free guidance, or no latents at all).
    """

    def __init__(self, *, p: float, dim: int):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = float(p)
        self.dim = int(dim)
        self.null = nn.Parameter(torch.zeros(self.dim))

    def null_embedding(self, batch_size: int) -> Tensor:
        """The null embedding for ``batch_size`` examples: [B, dim]."""
        return self.null.expand(batch_size, self.dim)

    def forward(
        self,
        emb: Tensor,
        *,
        generator: torch.Generator | None = None,
        force_drop: bool = False,
        keep: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Apply dropout to ``emb`` [B, dim].

        Args:
            emb: per-example latent embeddings.
            generator: source of the drop decisions.
            force_drop: drop every example (any mode).
            keep: an explicit [B] bool mask to apply instead of drawing one (e.g. shared with pointer
                labels dropped elsewhere).

        Returns:
            ``emb_out`` [B, dim] and ``keep`` [B] bool (False where the null was used).
        """
        if emb.dim() != 2 or emb.shape[1] != self.dim:
            raise ValueError(f"expected latent embeddings [B, {self.dim}], got shape {tuple(emb.shape)}")
        b = emb.shape[0]
        if force_drop:
            keep = torch.zeros(b, dtype=torch.bool, device=emb.device)
        elif keep is None:
            if self.training and self.p > 0:
                keep = drop_mask(b, p=self.p, generator=generator, device=emb.device)
            else:
                keep = torch.ones(b, dtype=torch.bool, device=emb.device)
        out = torch.where(keep[:, None], emb, self.null.to(emb.dtype).expand_as(emb))
        return out, keep

    def extra_repr(self) -> str:
        return f"p={self.p}, dim={self.dim}"
