"""Drawing from categorical logits with temperature, top-k and a validity mask (shared by the priors)."""

from __future__ import annotations

import torch
from torch import Tensor

from disco_core.latents.quantize import gumbel_noise


def sample_categorical(
    logits: Tensor,
    *,
    temperature: float,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Sample one category per row of ``logits`` [..., K].

    Args:
        logits: unnormalised log-probabilities over the last dimension.
        temperature: divides the logits; > 1 flattens, < 1 sharpens, 0 takes the argmax.
        top_k: keep only the k most likely (allowed) categories before sampling.
        generator: source of randomness (Gumbel-max trick).
        mask: bool, broadcastable to ``logits``; False marks categories that may never be drawn.

    Returns:
        Long tensor of shape ``logits.shape[:-1]``.
    """
    temperature = float(temperature)
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    scores = logits.detach()
    neg_inf = torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device)
    if mask is not None:
        mask = mask.to(torch.bool).expand_as(scores)
        if not bool(mask.any(-1).all()):
            raise ValueError("every row needs at least one allowed category")
        scores = torch.where(mask, scores, neg_inf)
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if top_k < scores.shape[-1]:
            kth = scores.topk(top_k, dim=-1).values[..., -1:]
            scores = torch.where(scores >= kth, scores, neg_inf)
    if temperature == 0:
        return scores.argmax(-1)
    g = gumbel_noise(scores.shape, generator=generator, device=scores.device, dtype=scores.dtype)
    # Gumbel-max: argmax(logits / T + G) is a draw from softmax(logits / T); -inf stays -inf.
    return (scores / temperature + g).argmax(-1)
