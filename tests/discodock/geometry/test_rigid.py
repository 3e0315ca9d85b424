import math

import numpy as np
import pytest
import torch
from scipy import stats

from discodock.geometry.rigid import (
    axis_angle_to_matrix,
    hat,
    kabsch,
    matrix_to_axis_angle,
    random_rotation_vectors,
    random_rotations,
)


def _rotvecs(n, seed, max_angle=math.pi - 1e-3):
    g = torch.Generator().manual_seed(seed)
    axis = torch.randn(n, 3, generator=g, dtype=torch.float64)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    return axis * torch.rand(n, 1, generator=g, dtype=torch.float64) * max_angle


def test_axis_angle_matches_matrix_exponential():
    v = _rotvecs(200, 0)
    assert torch.allclose(axis_angle_to_matrix(v), torch.linalg.matrix_exp(hat(v)), atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-6, 1e-9])
def test_axis_angle_round_trip(scale):
    v = _rotvecs(300, 1) * scale
    R = axis_angle_to_matrix(v)
    eye = torch.eye(3, dtype=R.dtype)
    assert torch.allclose(R @ R.mT, eye.expand_as(R), atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(300, dtype=R.dtype), atol=1e-12)
    back = matrix_to_axis_angle(R)
    assert torch.allclose(back, v, atol=1e-10 * max(scale, 1e-2), rtol=1e-8)


def test_round_trip_near_pi_gives_equivalent_rotation():
    v = _rotvecs(50, 2) / (math.pi - 1e-3) * math.pi  # angle exactly up to pi
    back = matrix_to_axis_angle(axis_angle_to_matrix(v))
    assert torch.allclose(axis_angle_to_matrix(back), axis_angle_to_matrix(v), atol=1e-9)
    assert bool((back.norm(dim=-1) <= math.pi + 1e-9).all())


def test_gradient_finite_at_zero_rotation():
    v = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    axis_angle_to_matrix(v).sum().backward()
    assert torch.isfinite(v.grad).all()
    # d/dv of exp(hat(v)) at 0 is hat: check one directional derivative
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    h = 1e-6
    d = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    fd = (axis_angle_to_matrix(h * d) - axis_angle_to_matrix(-h * d)) @ x / (2 * h)
    assert torch.allclose(fd, torch.linalg.cross(d, x), atol=1e-8)


def test_float32_follows_input():
    v = _rotvecs(10, 3).float()
    assert axis_angle_to_matrix(v).dtype == torch.float32
    assert matrix_to_axis_angle(axis_angle_to_matrix(v)).dtype == torch.float32


def test_kabsch_recovers_known_transform_batched():
    g = torch.Generator().manual_seed(4)
    P = 5 * torch.randn(6, 30, 3, generator=g, dtype=torch.float64)
    R_true = random_rotations(6, generator=g, dtype=torch.float64)
    t_true = 10 * torch.randn(6, 3, generator=g, dtype=torch.float64)
    Q = P @ R_true.mT + t_true[:, None]
    R, t = kabsch(P, Q)
    assert torch.allclose(R, R_true, atol=1e-10)
    assert torch.allclose(t, t_true, atol=1e-9)


def test_kabsch_weights_ignore_outliers():
    g = torch.Generator().manual_seed(5)
    P = torch.randn(40, 3, generator=g, dtype=torch.float64)
    R_true = random_rotations(1, generator=g, dtype=torch.float64)[0]
    Q = P @ R_true.T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    Q[:5] += 20 * torch.randn(5, 3, generator=g, dtype=torch.float64)  # corrupted points, weight 0
    w = torch.ones(40, dtype=torch.float64)
    w[:5] = 0
    R, t = kabsch(P, Q, weights=w)
    assert torch.allclose(R, R_true, atol=1e-10)
    R_unweighted, _ = kabsch(P, Q)
    assert not torch.allclose(R_unweighted, R_true, atol=1e-3)


def test_kabsch_returns_proper_rotation_for_mirror_image():
    g = torch.Generator().manual_seed(6)
    P = torch.randn(20, 3, generator=g, dtype=torch.float64)
    Q = P * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)  # a reflection: no rotation maps P onto Q
    R, t = kabsch(P, Q)
    assert torch.linalg.det(R).item() == pytest.approx(1.0, abs=1e-10)
    assert torch.allclose(R @ R.T, torch.eye(3, dtype=R.dtype), atol=1e-10)
    # it is still the best proper rotation: no random rotation does better
    best = ((P @ R.T + t - Q) ** 2).sum()
    Rs = random_rotations(500, generator=g, dtype=torch.float64)
    for Rr in Rs:
        Pc, Qc = P - P.mean(0), Q - Q.mean(0)
        assert ((Pc @ Rr.T - Qc) ** 2).sum() >= best - 1e-9


def test_random_rotations_are_haar_uniform():
    g = torch.Generator().manual_seed(7)
    R = random_rotations(4000, generator=g, dtype=torch.float64)
    assert torch.allclose(torch.linalg.det(R), torch.ones(4000, dtype=R.dtype), atol=1e-12)
    # Haar: the angle has density (1 - cos w) / pi, CDF (w - sin w) / pi
    omega = matrix_to_axis_angle(R).norm(dim=-1).numpy()
    assert stats.kstest(omega, lambda w: (w - np.sin(w)) / np.pi).pvalue > 1e-3
    # and the mean rotation matrix vanishes
    assert R.mean(0).abs().max() < 0.05
    v = random_rotation_vectors(10, generator=g)
    assert v.shape == (10, 3) and v.dtype == torch.get_default_dtype()
