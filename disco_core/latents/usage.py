"""Codebook-usage regulariser: keeps straight-through Gumbel training from merging codes."""

from __future__ import annotations

import math

import torch


def usage_deficit(logits: torch.Tensor) -> torch.Tensor:
    """log k minus the entropy of the batch-averaged code distribution, averaged over the m latents.

    0 when the batch uses all k codes equally. Straight-through Gumbel training with the plain
    denoising loss lets neighbouring codes merge (one code ends up serving several modes: perplexity
    3-5 of 8 here); this small bonus on *marginal* usage keeps them apart without asking any single
    example's code to be uncertain (wav2vec 2.0's diversity term plays the same role).
    """
    p = logits.softmax(-1).mean(0)  # [m, k]
    entropy = -torch.special.xlogy(p, p).sum(-1)
    return (math.log(logits.shape[-1]) - entropy).mean()

