"""Learning-rate schedule as a pure function of the step, so a resumed run needs no scheduler state."""

from __future__ import annotations

import torch


def linear_decay_lr(step: int, *, lr: float, start: int | None, end: int, final_lr: float) -> float:
    """Constant ``lr`` until ``start``, then linear to ``final_lr`` at ``end``; ``start=None`` keeps it constant.

    Step counts optimiser updates already taken, so the update after ``step`` uses this rate.
    """
    if start is None or step <= start:
        return lr
    if end <= start:
        raise ValueError(f"learning-rate decay must end after it starts (start {start}, end {end})")
    if step >= end:
        return final_lr
    return lr + (step - start) / (end - start) * (final_lr - lr)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
