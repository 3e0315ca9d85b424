import math

import numpy as np
import pytest
import torch
from scipy import stats

from discodock.geometry import _tables, torus

D = torch.float64


def _cdf(sigma):
    x = torch.linspace(-math.pi, math.pi, 40001, dtype=D)
    cdf = _tables.cumulative_trapezoid(torus.log_density(x, sigma).exp(), x).numpy()
    return lambda y: np.interp(y, x.numpy(), cdf / cdf[-1])


def test_wrap_range():
    x = torch.tensor([math.pi, -math.pi, 3 * math.pi, 0.0, -4.0, 7.0, -1e-9], dtype=D)
    w = torus.wrap(x)
    assert bool(((w > -math.pi) & (w <= math.pi)).all())
    assert torch.allclose(torch.cos(w), torch.cos(x)) and torch.allclose(torch.sin(w), torch.sin(x), atol=1e-12)


@pytest.mark.parametrize("sigma", [0.01, 0.2, 1.0, 1.49, 1.51, 3.1416, 6.0])
def test_density_integrates_to_one(sigma):
    x = torch.linspace(-math.pi, math.pi, 40001, dtype=D)
    assert torch.trapezoid(torus.log_density(x, sigma).exp(), x).item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("sigma", [0.8, 1.2, 1.5, 2.0])
def test_wrapped_sum_and_fourier_series_agree(sigma):
    x = torch.linspace(-math.pi, math.pi, 200, dtype=D)
    s = torch.full_like(x, sigma)
    (a, da), (b, db) = torus._wrapped(x, s), torus._fourier(x, s)
    assert torch.allclose(a, b, atol=1e-9) and torch.allclose(da, db, atol=1e-9)


@pytest.mark.parametrize("sigma", [0.0314, 0.3, 1.0, 1.6, 3.1416])
def test_score_matches_finite_difference_and_is_periodic(sigma):
    x = torch.linspace(-math.pi + 1e-3, math.pi - 1e-3, 61, dtype=D)
    h = 1e-6 * max(sigma, 0.1)
    fd = (torus.log_density(x + h, sigma) - torus.log_density(x - h, sigma)) / (2 * h)
    assert torch.allclose(torus.score(x, sigma), fd, atol=1e-5 / sigma**2, rtol=1e-5)
    assert torch.allclose(torus.score(x + 4 * math.pi, sigma), torus.score(x, sigma), atol=1e-9 / sigma**2)
    assert torch.allclose(torus.score(-x, sigma), -torus.score(x, sigma), atol=1e-9 / sigma**2)


def test_score_small_sigma_limit():
    x = torch.tensor([-0.01, 0.0, 0.002], dtype=D)
    assert torch.allclose(torus.score(x, 0.01), -x / 0.01**2)


@pytest.mark.parametrize("sigma", [0.1, 1.0, 3.1416])
def test_samples_follow_the_density(sigma):
    g = torch.Generator().manual_seed(0)
    x = torus.sample(torch.full((3000,), sigma, dtype=D), generator=g)
    assert bool(((x > -math.pi) & (x <= math.pi)).all())
    assert stats.kstest(x.numpy(), _cdf(sigma)).pvalue > 1e-3


@pytest.mark.parametrize("sigma", [0.0314, 0.5, 1.5, 3.1416, 5e-4])
def test_score_norm_matches_monte_carlo(sigma):
    g = torch.Generator().manual_seed(1)
    sig = torch.full((20000,), sigma, dtype=D)
    sq = torus.score(torus.sample(sig, generator=g), sig) ** 2
    se = sq.std() / math.sqrt(len(sq))
    expected = torus.score_norm(torch.tensor(sigma, dtype=D))
    assert abs(sq.mean() - expected) < 4 * se + 2e-3 * expected


def test_score_norm_dtype_and_shape():
    s = torus.score_norm(torch.tensor([0.1, 1.0], dtype=torch.float32))
    assert s.dtype == torch.float32 and s.shape == (2,)
    assert s[0] == pytest.approx(100.0, rel=1e-3)
