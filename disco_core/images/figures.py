"""Sample figures of the image experiment: a grid of images, one class per column when labelled."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch


def save_grid(path: str | Path, images: torch.Tensor, *, grid: int, scale: int = 4) -> None:
    """Write the first ``grid * grid`` images ``[N, C, H, W]`` in [-1, 1] as one PNG (nearest-neighbour
    upscaled by ``scale``, a 1-pixel light border between tiles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(grid * grid, images.shape[0])
    rows = math.ceil(n / grid)
    c, h, w = images.shape[1:]
    x = ((images[:n].clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    x = x.repeat(scale, axis=1).repeat(scale, axis=2)
    hs, ws = h * scale + 1, w * scale + 1
    canvas = np.full((rows * hs + 1, grid * ws + 1, c), 0.75, dtype=np.float32)
    for j in range(n):
        r, q = divmod(j, grid)
        canvas[1 + r * hs : (r + 1) * hs, 1 + q * ws : (q + 1) * ws] = x[j]
    if c == 1:
        # Digits are dark ink on light paper in sklearn's convention (0 = background): show ink dark.
        plt.imsave(path, 1.0 - canvas[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        plt.imsave(path, canvas)



def grid_order(images: torch.Tensor, labels: torch.Tensor | None, grid: int) -> torch.Tensor:
    """With labels, put class c's first samples in column c (so each column of the grid is one class)."""
    if labels is None:
        return images
    num = int(labels.max()) + 1
    if num > grid:
        return images
    picks = [torch.nonzero(labels == c).flatten()[:grid] for c in range(num)]
    rows = min(len(p) for p in picks)
    order = torch.stack([p[:rows] for p in picks], dim=1).flatten()
    return images[order]

