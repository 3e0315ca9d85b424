"""Exponential moving average of a model's parameters (evaluate and sample with the average)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn


class EMA:
    """Shadow copy of a model's floating-point parameters and buffers, updated as
    ``shadow <- decay * shadow + (1 - decay) * current``.

    Args:
        model: the model to track (its current weights are the initial average).
        decay: average decay per update, e.g. 0.999.
        warmup: if True, use ``min(decay, (1 + n) / (10 + n))`` after n updates, so early averages are
            not dominated by the random initialisation.
    """

    def __init__(self, model: nn.Module, *, decay: float, warmup: bool = False):
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA decay must be in [0, 1], got {decay}")
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.num_updates = 0
        self.shadow: dict[str, torch.Tensor] = {
            name: value.detach().clone() for name, value in model.state_dict().items()
        }

    def current_decay(self) -> float:
        """The decay the next ``update`` will use."""
        if self.warmup:
            n = self.num_updates
            return min(self.decay, (1 + n) / (10 + n))
        return self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the model's current weights into the average (non-float buffers are copied)."""
        decay = self.current_decay()
        for name, value in model.state_dict().items():
            avg = self.shadow[name]
            if avg.is_floating_point():
                avg.lerp_(value.detach().to(avg.dtype), 1.0 - decay)
            else:
                avg.copy_(value)
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Load the averaged weights into ``model``."""
        model.load_state_dict(self.shadow)

    @contextlib.contextmanager
    def applied_to(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily swap the averaged weights into ``model`` (restored on exit)."""
        saved = {name: value.detach().clone() for name, value in model.state_dict().items()}
        self.copy_to(model)
        try:
            yield model
        finally:
            model.load_state_dict(saved)

    def state_dict(self) -> dict[str, Any]:
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "num_updates": self.num_updates,
            "shadow": {name: value.clone() for name, value in self.shadow.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        missing = set(self.shadow) - set(state["shadow"])
        unexpected = set(state["shadow"]) - set(self.shadow)
        if missing or unexpected:
            raise KeyError(f"EMA state does not match the model (missing {sorted(missing)}, "
                           f"unexpected {sorted(unexpected)})")
        self.decay = float(state["decay"])
        self.warmup = bool(state.get("warmup", False))
        self.num_updates = int(state["num_updates"])
        for name, value in state["shadow"].items():
            self.shadow[name].copy_(value)
