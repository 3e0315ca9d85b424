"""One small training loop for experiments: Adam, cosine decay to 0, EMA weights, random batches."""

from __future__ import annotations

import math
import time
from typing import Callable

import torch
from torch import nn

from disco_core.training.ema import EMA
from disco_core.training.step import optimizer_step


def fit_with_ema(
    model: nn.Module,
    batch_loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    *,
    n: int,
    steps: int,
    batch_size: int,
    lr: float,
    ema_decay: float,
    generator: torch.Generator,
    name: str = "model",
    verbose: bool = True,
) -> EMA:
    """Train ``model`` for ``steps`` steps and return the EMA of its weights (``EMA.copy_to`` applies them).

    Each step draws ``batch_size`` indices in ``[0, n)`` with ``generator`` (on its device) and minimises
    ``batch_loss(indices, generator)`` with Adam, the learning rate decaying from ``lr`` to 0 on a cosine.
    Models compared with each other go through here so that they get the same budget. Prints the smoothed
    loss five times when ``verbose``.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))
    ema = EMA(model, decay=ema_decay, warmup=True)
    model.train()
    running, t0 = None, time.perf_counter()
    report_every = max(steps // 5, 1)
    for step in range(steps):
        idx = torch.randint(0, n, (batch_size,), generator=generator, device=generator.device)
        loss = batch_loss(idx, generator)
        optimizer_step(opt, loss, model.parameters())
        sched.step()
        ema.update(model)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if verbose and ((step + 1) % report_every == 0 or step + 1 == steps):
            print(f"  [{name}] step {step + 1}/{steps}  loss {running:.4f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return ema
