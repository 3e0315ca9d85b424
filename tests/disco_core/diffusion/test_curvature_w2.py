import itertools
import math

import numpy as np
import pytest
import torch

from disco_core.diffusion.curvature import curvature, mean_curvature, wasserstein2


def test_straight_line_has_zero_curvature():
    t = torch.linspace(0, 1, 50, dtype=torch.float64) ** 3  # uneven steps along one direction
    direction = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]], dtype=torch.float64)
    traj = t[:, None, None] * direction[None]  # [S, B=2, 3]
    k = curvature(traj)
    assert k.shape == (48, 2)
    assert k.abs().max().item() < 1e-6
    assert mean_curvature(traj) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("r", [0.5, 2.0, 7.0])
def test_circle_has_curvature_one_over_r(r):
    theta = torch.linspace(0, 1.5 * math.pi, 2000, dtype=torch.float64)
    theta = theta + 0.3 * torch.sin(theta)  # uneven spacing: curvature is geometric
    traj = torch.stack([r * theta.cos(), r * theta.sin()], -1)[:, None]  # [S, 1, 2]
    k = curvature(traj)
    torch.testing.assert_close(k, torch.full_like(k, 1 / r), rtol=1e-3, atol=0)


def test_curvature_of_one_corner_by_hand():
    # Segments of length 1 then 2 meeting at a right angle: turn |(0,1) - (1,0)| = sqrt(2) over the
    # path length between segment midpoints, (1 + 2) / 2.
    traj = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]], dtype=torch.float64)[:, None]
    assert curvature(traj).item() == pytest.approx(math.sqrt(2) / 1.5)


def test_curvature_flattens_trailing_dims_and_survives_stalls():
    traj = torch.zeros(5, 3, 2, 2)
    traj[:, :, 0, 0] = torch.arange(5.0)[:, None]
    traj[3] = traj[2]  # a zero-length segment
    k = curvature(traj)
    assert k.shape == (3, 3)
    assert torch.isfinite(k).all()


def test_w2_identity_and_shift():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(300, 2, generator=g)
    assert wasserstein2(a, a) == pytest.approx(0.0, abs=1e-12)
    shift = torch.tensor([0.3, -0.4])
    assert wasserstein2(a, a + shift) == pytest.approx(0.5, rel=1e-6)
    perm = a[torch.randperm(300, generator=g)]
    assert wasserstein2(a, perm) == pytest.approx(0.0, abs=1e-12)


def test_w2_matches_brute_force_on_small_sets():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    best = min(
        np.mean([np.sum((a[i] - b[j]) ** 2) for i, j in enumerate(p)]) for p in itertools.permutations(range(6))
    )
    assert wasserstein2(a, b) == pytest.approx(math.sqrt(best), rel=1e-9)


def test_w2_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        wasserstein2(np.zeros((3, 2)), np.zeros((4, 2)))
