"""Deterministic shuffled epochs whose position is saved with a checkpoint (exact resume, DDP-aware)."""

from __future__ import annotations

import torch

from discodock.errors import InputError


class EpochSampler:
    """Deterministic shuffled epochs over ``n`` items, split across DDP ranks; its position is saved and restored
    so a resumed run sees exactly the batches it would have seen."""

    def __init__(self, n: int, *, seed: int, rank: int = 0, world: int = 1):
        if n == 0:
            raise InputError(None, "the training set is empty")
        self.n, self.seed, self.rank, self.world = n, seed, rank, world
        self.epoch, self.offset = 0, 0

    def _order(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed + 7919 * self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        order += order[: (-len(order)) % self.world]  # pad so every rank gets the same count
        return order[self.rank :: self.world]

    def next(self, k: int) -> list[int]:
        out: list[int] = []
        while len(out) < k:
            order = self._order()
            take = order[self.offset : self.offset + k - len(out)]
            out += take
            self.offset += len(take)
            if self.offset >= len(order):
                self.epoch, self.offset = self.epoch + 1, 0
        return out

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "offset": self.offset}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])
