"""Straight-through Gumbel-softmax quantizers for discrete latents (DisCo-Diff, Xu et al. 2024).

Two kinds of latents:

* **global**: m latents of k codes each, logits [B, m, k];
* **pointer**: each of m latents points at one item of its own example (a node of that example's graph),
  logits [N, m] over the N items of a packed batch with an example index ``batch`` [N].

Forward values are exact one-hots; backward gradients are those of the Gumbel-softmax relaxation at the
given temperature (straight-through estimator). The temperature is always an argument, and noise is
drawn from an optional ``torch.Generator`` so runs are reproducible.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from disco_core.latents.segment import (
    num_segments,
    segment_argmax,
    segment_count,
    segment_softmax,
)


def gumbel_noise(
    shape: tuple[int, ...] | torch.Size,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Standard Gumbel(0, 1) noise of ``shape``, drawn with ``generator`` and placed on ``device``."""
    dtype = dtype or torch.get_default_dtype()
    # Draw on the generator's own device (a CPU generator cannot fill a CUDA tensor), then move.
    draw_device = generator.device if generator is not None else device
    e = torch.empty(shape, dtype=dtype, device=draw_device).exponential_(generator=generator)
    # -log(Exp(1)) is Gumbel(0, 1); the clamp guards the (float-rounding) case e == 0.
    return (-e.clamp_min(torch.finfo(dtype).tiny).log()).to(device)


def _check_temperature(temperature: float) -> float:
    temperature = float(temperature)
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    return temperature


def gumbel_softmax_st(
    logits: Tensor,
    *,
    temperature: float,
    generator: torch.Generator | None = None,
    dim: int = -1,
) -> Tensor:
    """Straight-through Gumbel-softmax: a one-hot sample forward, the relaxed sample's gradient backward.

    Args:
        logits: unnormalised log-probabilities; the categorical runs along ``dim``.
        temperature: Gumbel-softmax temperature (> 0). ``0`` means no noise: the argmax of ``logits``,
            with the gradient of ``softmax(logits)``.
        generator: source of the Gumbel noise.
        dim: the category dimension.

    Returns:
        A tensor shaped like ``logits`` that is exactly one-hot along ``dim``.
    """
    temperature = _check_temperature(temperature)
    if temperature == 0:
        soft = logits.softmax(dim)
    else:
        g = gumbel_noise(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
        soft = ((logits + g) / temperature).softmax(dim)
    index = soft.argmax(dim, keepdim=True)
    hard = torch.zeros_like(soft).scatter_(dim, index, 1.0)
    return hard - soft.detach() + soft


def quantize_global(
    logits: Tensor,
    *,
    temperature: float,
    generator: torch.Generator | None = None,
    hard: bool = True,
    sample: bool = True,
) -> tuple[Tensor, Tensor]:
    """Quantize m global latents of k codes each.

    Args:
        logits: [B, m, k] encoder logits.
        temperature: Gumbel-softmax temperature (1 in DisCo-Diff training).
        generator: source of the Gumbel noise.
        hard: True for the straight-through one-hot, False for the relaxed (soft) Gumbel-softmax sample.
        sample: False (or ``temperature=0``) takes the deterministic argmax, e.g. to cache codes from a
            frozen encoder; the one-hot then carries the gradient of ``softmax(logits)``.

    Returns:
        ``onehot`` [B, m, k] and ``codes`` [B, m] long.
    """
    if logits.dim() != 3:
        raise ValueError(f"global latent logits must be [B, m, k], got shape {tuple(logits.shape)}")
    temperature = _check_temperature(temperature)
    if not sample:
        temperature = 0.0
    if hard:
        onehot = gumbel_softmax_st(logits, temperature=temperature, generator=generator)
    elif temperature == 0:
        onehot = logits.softmax(-1)
    else:
        g = gumbel_noise(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
        onehot = ((logits + g) / temperature).softmax(-1)
    return onehot, onehot.argmax(-1)


def quantize_pointer(
    logits: Tensor,
    batch: Tensor,
    *,
    temperature: float,
    generator: torch.Generator | None = None,
    sample: bool = True,
    num_examples: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Quantize m pointer latents: each latent of example b picks one item whose ``batch == b``.

    The categorical of latent j of example b runs over the rows of ``logits[:, j]`` that belong to b
    (a segment-wise Gumbel-softmax), so a latent never points into another example.

    Args:
        logits: [N, m] per-item logits of each latent.
        batch: [N] long example index of each item.
        temperature: Gumbel-softmax temperature; ``0`` (or ``sample=False``) takes the argmax.
        generator: source of the Gumbel noise.
        sample: False for the deterministic argmax.
        num_examples: B; defaults to ``batch.max() + 1``. Every example must have at least one item.

    Returns:
        ``onehot`` [N, m]: exactly one 1 per example and latent (straight-through gradient of the
        segment-wise relaxed sample), and ``codes`` [B, m] long: global indices of the chosen items.
    """
    if logits.dim() != 2:
        raise ValueError(f"pointer latent logits must be [N, m], got shape {tuple(logits.shape)}")
    temperature = _check_temperature(temperature)
    if not sample:
        temperature = 0.0
    b = num_segments(batch, num_examples)
    if temperature == 0:
        scores = logits
        soft = segment_softmax(logits, batch, b)
    else:
        g = gumbel_noise(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
        scores = (logits + g) / temperature
        soft = segment_softmax(scores, batch, b)
    codes = segment_argmax(scores.detach(), batch, b)
    hard = torch.zeros_like(soft)
    hard[codes, torch.arange(codes.shape[1], device=codes.device).expand_as(codes)] = 1.0
    return hard - soft.detach() + soft, codes


def codebook_usage(codes: Tensor, k: int) -> Tensor:
    """How often each code is used by each latent: ``codes`` [B, m] -> counts [m, k] (long)."""
    if codes.dim() != 2:
        raise ValueError(f"codes must be [B, m], got shape {tuple(codes.shape)}")
    m = codes.shape[1]
    offsets = torch.arange(m, device=codes.device) * k
    flat = (codes.long() + offsets).reshape(-1)
    return torch.bincount(flat, minlength=m * k).view(m, k)


def _perplexity(counts: Tensor) -> float:
    p = counts.double() / counts.sum(-1, keepdim=True).clamp_min(1)
    entropy = -torch.special.xlogy(p, p).sum(-1)
    return float(entropy.exp().mean())


def codebook_perplexity(codes: Tensor, k: int) -> float:
    """Perplexity of empirical code usage: exp(entropy) per latent, averaged over the m latents.

    k for uniform use of k codes, 1 for a collapsed codebook that uses a single code.
    """
    return _perplexity(codebook_usage(codes, k))


def pointer_usage(codes: Tensor, item_category: Tensor, num_categories: int) -> Tensor:
    """Usage of pointer latents by item *category* (e.g. ligand atom vs receptor residue).

    Args:
        codes: [B, m] global item indices chosen by the pointer latents.
        item_category: [N] long category of every item.
        num_categories: C.

    Returns:
        [m, C] long counts: how often latent j pointed at an item of category c.
    """
    return codebook_usage(item_category.long()[codes], num_categories)


def pointer_perplexity(codes: Tensor, batch: Tensor, num_examples: int | None = None) -> float:
    """Perplexity of pointer choices relative to each example's size, averaged over the m latents.

    Each chosen item is mapped to its rank inside its own example, so the number is comparable across
    examples; uniform use of L items gives about L, always pointing at the same relative item gives 1.
    """
    b = num_segments(batch, num_examples)
    counts = segment_count(batch, b)
    starts = torch.cumsum(counts, 0) - counts
    order = torch.argsort(batch, stable=True)
    rank = torch.empty_like(batch)
    rank[order] = torch.arange(batch.numel(), device=batch.device) - starts[batch[order]]
    return codebook_perplexity(rank[codes], int(counts.max().item()) if b else 1)


def onehot_to_codes(onehot: Tensor) -> Tensor:
    """Inverse of the global quantizer's one-hot: [B, m, k] -> [B, m] long."""
    return onehot.argmax(-1)


def codes_to_onehot(codes: Tensor, k: int, *, dtype: torch.dtype | None = None) -> Tensor:
    """Global codes [B, m] -> one-hot [B, m, k] (e.g. prior samples fed to the denoiser)."""
    return F.one_hot(codes.long(), k).to(dtype or torch.get_default_dtype())


def pointer_codes_to_onehot(
    codes: Tensor, num_items: int, *, dtype: torch.dtype | None = None
) -> Tensor:
    """Pointer codes [B, m] (global item indices) -> 0/1 labels [N, m] on the N items."""
    out = torch.zeros(num_items, codes.shape[1], dtype=dtype or torch.get_default_dtype(), device=codes.device)
    out[codes, torch.arange(codes.shape[1], device=codes.device).expand_as(codes)] = 1.0
    return out
