import math
import numpy as np
import pytest
import torch
from scipy import stats

from discodock.geometry import _tables, so3
from discodock.geometry.rigid import axis_angle_to_matrix, matrix_to_axis_angle

D = torch.float64


def _angle_cdf(sigma: float):
    """The CDF of omega by fine quadrature of angle_density (independent of the sampling tables)."""
    top = min(math.pi, 16 * sigma)
    w = torch.linspace(0, top, 20001, dtype=D)
    pdf = so3.angle_density(w, torch.tensor(sigma, dtype=D))
    cdf = _tables.cumulative_trapezoid(pdf, w).numpy()
    w = w.numpy()
    return lambda x: np.interp(x, w, cdf / cdf[-1])


@pytest.mark.parametrize("sigma", [0.01, 0.03, 0.2, 0.9, 1.0, 1.55, 3.0])
def test_density_integrates_to_one_over_so3(sigma):
    # integral over SO(3) of f dHaar = integral_0^pi f(w) (1 - cos w) / pi dw
    top = min(math.pi, 16 * sigma)
    w = torch.linspace(0, top, 40001, dtype=D)
    mass = torch.trapezoid(so3.angle_density(w, torch.tensor(sigma, dtype=D)), w)
    assert mass.item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("sigma", [0.7, 1.0, 1.5, 2.5])
def test_dual_form_and_series_agree(sigma):
    w = torch.linspace(1e-3, math.pi, 300, dtype=D)
    s = torch.full_like(w, sigma)
    (a, da), (b, db) = so3._dual(w, s), so3._series(w, s)
    assert torch.allclose(a, b, atol=1e-9) and torch.allclose(da, db, atol=1e-9)


def test_large_sigma_is_uniform_and_small_sigma_is_gaussian():
    w = torch.linspace(0.01, math.pi, 50, dtype=D)
    assert torch.allclose(so3.log_density(w, 5.0), torch.zeros_like(w), atol=1e-8)
    sigma = 0.01
    w = torch.linspace(1e-4, 0.05, 50, dtype=D)
    # rotation vector ~ N(0, sigma^2 I): f(w) * Haar volume factor -> Gaussian density in R^3
    gauss = -w**2 / (2 * sigma**2) - 1.5 * math.log(2 * math.pi * sigma**2)
    haar = torch.log(2 * torch.sin(w / 2) ** 2 / math.pi / (4 * math.pi * w**2))  # dHaar / d^3v
    assert torch.allclose(so3.log_density(w, sigma) + haar, gauss, atol=1e-3)


@pytest.mark.parametrize("sigma", [0.03, 0.3, 0.99, 1.01, 1.55])
def test_angle_score_matches_finite_difference(sigma):
    top = min(math.pi - 1e-3, 6 * sigma)
    w = torch.linspace(1e-3, top, 40, dtype=D)
    h = 1e-6 * max(sigma, 0.1)
    fd = (so3.log_density(w + h, sigma) - so3.log_density(w - h, sigma)) / (2 * h)
    scale = 1 / sigma**2
    assert torch.allclose(so3.angle_score(w, sigma), fd, atol=1e-5 * scale, rtol=1e-5)


@pytest.mark.parametrize("sigma", [0.05, 0.5, 1.2])
def test_vector_score_is_the_lie_algebra_gradient(sigma):
    g = torch.Generator().manual_seed(0)
    v = so3.sample(torch.full((20,), sigma, dtype=D), generator=g)
    R = axis_angle_to_matrix(v)
    h = 1e-5
    fd = torch.zeros_like(v)
    for i in range(3):
        e = torch.zeros(3, dtype=D)
        e[i] = h
        up = matrix_to_axis_angle(axis_angle_to_matrix(e) @ R).norm(dim=-1)
        down = matrix_to_axis_angle(axis_angle_to_matrix(-e) @ R).norm(dim=-1)
        fd[:, i] = (so3.log_density(up, sigma) - so3.log_density(down, sigma)) / (2 * h)
    assert torch.allclose(so3.score(v, torch.full((20,), sigma, dtype=D)), fd, atol=1e-4 / sigma**2, rtol=1e-5)


def test_score_of_equivalent_rotation_vectors_agrees():
    g = torch.Generator().manual_seed(5)
    v = so3.sample(torch.full((50,), 1.0, dtype=D), generator=g)
    omega = v.norm(dim=-1, keepdim=True)
    other = -v / omega * (2 * math.pi - omega)  # the same rotation, written with an angle above pi
    assert torch.allclose(axis_angle_to_matrix(other), axis_angle_to_matrix(v), atol=1e-10)
    assert torch.allclose(so3.score(other, 1.0), so3.score(v, 1.0), atol=1e-10)


def test_score_small_sigma_limit_and_zero_rotation():
    v = torch.tensor([[0.0, 0.0, 0.0], [1e-8, 0, 0], [0.003, -0.001, 0.002]], dtype=D)
    s = so3.score(v, 0.01)
    assert torch.isfinite(s).all()
    assert torch.allclose(s, -v / 0.01**2, rtol=1e-3, atol=1e-9)


@pytest.mark.parametrize("sigma", [0.0123, 0.03, 0.3, 1.0, 1.55])
def test_sampled_angles_follow_the_density(sigma):
    g = torch.Generator().manual_seed(1)
    omega = so3.sample_angle(torch.full((3000,), sigma, dtype=D), generator=g).numpy()
    assert stats.kstest(omega, _angle_cdf(sigma)).pvalue > 1e-3


def test_sampled_axes_are_uniform_and_follow_dtype():
    g = torch.Generator().manual_seed(2)
    v = so3.sample(torch.full((3000,), 0.5), generator=g)
    assert v.dtype == torch.float32 and v.shape == (3000, 3)
    z = (v[:, 2] / v.norm(dim=-1)).double().numpy()  # uniform on the sphere: z ~ U(-1, 1)
    assert stats.kstest(z, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3


def test_sigmas_outside_the_table():
    g = torch.Generator().manual_seed(3)
    tiny = 2e-4  # below the table: Gaussian limit, omega ~ sigma * chi(3)
    omega = so3.sample_angle(torch.full((3000,), tiny, dtype=D), generator=g).numpy()
    assert stats.kstest(omega / tiny, stats.chi(3).cdf).pvalue > 1e-3
    assert so3.score_norm(torch.tensor(tiny, dtype=D)).item() == pytest.approx(3 / tiny**2, rel=1e-3)


@pytest.mark.parametrize("sigma", [0.05, 0.5, 1.2])
def test_score_norm_matches_monte_carlo(sigma):
    g = torch.Generator().manual_seed(4)
    sig = torch.full((20000,), sigma, dtype=D)
    sq = so3.score(so3.sample(sig, generator=g), sig).pow(2).sum(-1)
    se = sq.std() / math.sqrt(len(sq))
    expected = so3.score_norm(torch.tensor(sigma, dtype=D))
    assert abs(sq.mean() - expected) < 4 * se + 2e-3 * expected


def test_tables_are_cached_on_disk_and_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("DISCODOCK_CACHE", str(tmp_path))
    calls = []

    def build():
        calls.append(1)
        return {"x": torch.arange(3.0)}

    params = {"test": "disk-cache", "n": 3}
    a = _tables.cached_table("unit-test", params, build)
    files = list(tmp_path.glob("unit-test-*.pt"))
    assert len(files) == 1 and len(calls) == 1
    assert _tables.cached_table("unit-test", params, build) is a and len(calls) == 1
    _tables._MEMORY.clear()
    b = _tables.cached_table("unit-test", params, build)
    assert len(calls) == 1 and torch.equal(a["x"], b["x"])  # read back from disk, not rebuilt
    _tables.cached_table("unit-test", {**params, "n": 4}, build)
    assert len(calls) == 2 and len(list(tmp_path.glob("unit-test-*.pt"))) == 2  # new params, new table
    _tables._MEMORY.clear()


def test_nothing_is_built_at_import(tmp_path, monkeypatch):
    import importlib

    from discodock.geometry import torus

    monkeypatch.setenv("DISCODOCK_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    saved = dict(_tables._MEMORY)
    _tables._MEMORY.clear()
    try:
        importlib.reload(so3)
        importlib.reload(torus)
        assert not _tables._MEMORY
    finally:
        _tables._MEMORY.update(saved)
    assert list(tmp_path.iterdir()) == []  # no cache dir created, nothing written to the working directory
