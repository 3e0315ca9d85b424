"""One optimiser update, written once: zero the gradients, backpropagate, clip, step."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters: Iterable[torch.nn.Parameter],
                   *, grad_clip: float | None = None, skip_nonfinite: bool = False) -> torch.Tensor:
    """Backpropagate ``loss`` and update; returns the gradient norm before clipping (inf when not clipped).

    ``skip_nonfinite``: a non-finite loss leaves the weights as they were (its gradients would ruin them).
    """
    params = list(parameters)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(params, grad_clip) if grad_clip is not None else torch.tensor(float("inf"))
    if not skip_nonfinite or bool(torch.isfinite(loss)):
        optimizer.step()
    return norm
