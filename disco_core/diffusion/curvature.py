"""How straight are the sampler's paths, and how close are two sample sets.

``curvature`` is the paper's measure kappa(t) = |T(x(t)) - T(x(t - dt))| / |x(t) - x(t - dt)| with T the
unit tangent, taken by finite differences along a recorded trajectory. It is the geometric curvature of
the path, so it does not depend on how the steps are spaced in sigma. ``wasserstein2`` is the exact
2-Wasserstein distance between two equal-size empirical distributions (an optimal assignment).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment


def curvature(trajectory: torch.Tensor, *, eps: float = 1e-12) -> torch.Tensor:
    """Discrete curvature along ``trajectory`` ``[S, B, ...]`` (S states of B paths): returns ``[S - 2, B]``.

    Segment i joins states i and i + 1 and has unit tangent T_i. Entry j is the turn between segments j and
    j + 1, |T_{j+1} - T_j|, divided by the path length between their midpoints, (|seg_j| + |seg_{j+1}|) / 2
    (equal to |x(t) - x(t - dt)| for even steps). On a circle of radius r this tends to 1 / r; on a straight
    line it is 0. Segments shorter than ``eps`` contribute a zero turn instead of an undefined tangent.
    """
    if trajectory.ndim < 2 or trajectory.shape[0] < 3:
        raise ValueError(f"need a trajectory [S >= 3, B, ...], got shape {tuple(trajectory.shape)}")
    seg = (trajectory[1:] - trajectory[:-1]).flatten(2)  # [S-1, B, D]
    length = seg.norm(dim=-1)  # [S-1, B]
    tangent = seg / length.clamp_min(eps).unsqueeze(-1)
    turn = (tangent[1:] - tangent[:-1]).norm(dim=-1)  # [S-2, B]
    degenerate = (length[1:] <= eps) | (length[:-1] <= eps)
    turn = torch.where(degenerate, torch.zeros_like(turn), turn)
    ds = 0.5 * (length[1:] + length[:-1])
    return turn / ds.clamp_min(eps)


def mean_curvature(trajectory: torch.Tensor) -> float:
    """Mean of ``curvature(trajectory)`` over steps and paths."""
    return float(curvature(trajectory).mean())


def wasserstein2(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Exact W2 between the uniform empirical distributions on ``a`` ``[n, d]`` and ``b`` ``[n, d]``.

    For equal sizes the optimal coupling is a permutation, found by ``scipy.optimize.linear_sum_assignment``
    on squared Euclidean costs (O(n^3); a few thousand points take about a second).
    """
    a_np = a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)
    b_np = b.detach().cpu().double().numpy() if isinstance(b, torch.Tensor) else np.asarray(b, dtype=np.float64)
    if a_np.ndim != 2 or a_np.shape != b_np.shape:
        raise ValueError(f"need two [n, d] arrays of the same shape, got {a_np.shape} and {b_np.shape}")
    cost = ((a_np[:, None, :] - b_np[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    return float(np.sqrt(cost[rows, cols].mean()))
