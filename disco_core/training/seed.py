"""Seeding: one call seeds Python, NumPy and torch and returns a generator for explicit use."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed ``random``, ``numpy`` and torch's global RNGs with ``seed``.

    Returns a fresh CPU ``torch.Generator`` seeded with ``seed``; pass it explicitly to the functions that
    draw noise, so results do not depend on what else consumed the global RNG.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
