"""Segment operations over variable-size examples packed into one batch.

Items (graph nodes, tokens, ...) of several examples are stored as one tensor of N rows with a ``batch``
vector [N] (long) naming each row's example. These helpers reduce or normalise over the rows of each
example using plain torch ops (``scatter_reduce`` / ``index_add_``), so disco_core needs no
torch_geometric or torch-scatter.
"""

from __future__ import annotations

import torch
from torch import Tensor


def num_segments(batch: Tensor, num_examples: int | None = None) -> int:
    """Number of examples B: ``num_examples`` when given, else ``batch.max() + 1`` (0 for no items)."""
    if num_examples is not None:
        return int(num_examples)
    return int(batch.max().item()) + 1 if batch.numel() else 0


def _check_batch(batch: Tensor, n: int) -> None:
    if batch.dim() != 1 or batch.shape[0] != n:
        raise ValueError(f"batch must be a vector of {n} example indices, got shape {tuple(batch.shape)}")
    if batch.dtype != torch.long:
        raise ValueError(f"batch must be a long tensor, got {batch.dtype}")


def segment_count(batch: Tensor, num_examples: int) -> Tensor:
    """Items per example: [B] long."""
    return torch.bincount(batch, minlength=num_examples)[:num_examples]


def segment_sum(values: Tensor, batch: Tensor, num_examples: int) -> Tensor:
    """Sum of ``values`` [N, ...] over each example's rows -> [B, ...]."""
    out = values.new_zeros((num_examples,) + tuple(values.shape[1:]))
    return out.index_add(0, batch, values)


def segment_max(values: Tensor, batch: Tensor, num_examples: int) -> Tensor:
    """Max of ``values`` [N, ...] over each example's rows -> [B, ...] (-inf for an empty example)."""
    index = batch.view(-1, *([1] * (values.dim() - 1))).expand_as(values)
    out = values.new_full((num_examples,) + tuple(values.shape[1:]), float("-inf"))
    return out.scatter_reduce(0, index, values, reduce="amax", include_self=False)


def segment_mean(values: Tensor, batch: Tensor, num_examples: int) -> Tensor:
    """Mean of ``values`` [N, ...] over each example's rows -> [B, ...] (0 for an empty example)."""
    total = segment_sum(values, batch, num_examples)
    count = segment_count(batch, num_examples).clamp_min(1).to(values.dtype)
    return total / count.view(-1, *([1] * (values.dim() - 1)))


def segment_log_softmax(logits: Tensor, batch: Tensor, num_examples: int | None = None) -> Tensor:
    """log-softmax of ``logits`` [N, ...] over the rows of each example, separately for every column."""
    _check_batch(batch, logits.shape[0])
    b = num_segments(batch, num_examples)
    # Subtracting the (detached) per-example max keeps exp() finite; it cancels in the result.
    shift = segment_max(logits.detach(), batch, b)[batch]
    z = logits - shift
    log_norm = segment_sum(z.exp(), batch, b).log()[batch]
    return z - log_norm


def segment_softmax(logits: Tensor, batch: Tensor, num_examples: int | None = None) -> Tensor:
    """softmax of ``logits`` [N, ...] over the rows of each example; each example's column sums to 1."""
    return segment_log_softmax(logits, batch, num_examples).exp()


def segment_argmax(values: Tensor, batch: Tensor, num_examples: int | None = None) -> Tensor:
    """Global row index of the maximum of each example, per column: [N, m] -> [B, m] long.

    Ties go to the lowest row index. Raises ``ValueError`` if an example has no rows.
    """
    _check_batch(batch, values.shape[0])
    b = num_segments(batch, num_examples)
    if values.dim() == 1:
        return segment_argmax(values[:, None], batch, b)[:, 0]
    n = values.shape[0]
    if b and bool((segment_count(batch, b) == 0).any()):
        empty = int((segment_count(batch, b) == 0).nonzero()[0].item())
        raise ValueError(f"example {empty} has no items to point at")
    best = segment_max(values, batch, b)
    is_best = values == best[batch]
    rows = torch.arange(n, device=values.device).view(-1, 1).expand_as(values)
    candidates = torch.where(is_best, rows, torch.full_like(rows, n))
    out = torch.full((b, values.shape[1]), n, dtype=torch.long, device=values.device)
    index = batch.view(-1, 1).expand_as(values)
    return out.scatter_reduce(0, index, candidates, reduce="amin", include_self=True)


def to_dense(
    values: Tensor, batch: Tensor, num_examples: int | None = None, *, fill: float = 0.0
) -> tuple[Tensor, Tensor, Tensor]:
    """Pad per-item rows into a dense per-example tensor.

    Args:
        values: [N, ...] item values.
        batch: [N] long example index of each item (need not be sorted).
        num_examples: B; defaults to ``batch.max() + 1``.
        fill: value for padding slots.

    Returns:
        ``dense`` [B, L, ...] (L = largest example), ``mask`` [B, L] bool (True on real items) and
        ``index`` [B, L] long: the global row of each slot (-1 on padding). Within an example, items keep
        their order in ``values``.
    """
    _check_batch(batch, values.shape[0])
    b = num_segments(batch, num_examples)
    counts = segment_count(batch, b)
    width = int(counts.max().item()) if b else 0
    order = torch.argsort(batch, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.empty_like(batch)
    slot[order] = torch.arange(batch.numel(), device=batch.device) - starts[batch[order]]
    dense = values.new_full((b, width) + tuple(values.shape[1:]), fill)
    dense[batch, slot] = values
    mask = torch.zeros(b, width, dtype=torch.bool, device=batch.device)
    mask[batch, slot] = True
    index = torch.full((b, width), -1, dtype=torch.long, device=batch.device)
    index[batch, slot] = torch.arange(batch.numel(), device=batch.device)
    return dense, mask, index
