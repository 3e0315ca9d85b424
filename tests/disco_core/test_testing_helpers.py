import pytest
import torch

from disco_core.testing import GaussianDenoiser, assert_equivariant, finite_difference_grad, random_rotation


def test_gaussian_denoiser_is_posterior_mean():
    # Check E[x0 | x] against a Monte-Carlo estimate: regress x0 on x for one sigma.
    g = torch.Generator().manual_seed(0)
    mean, std, sigma = 1.0, 0.5, 0.8
    x0 = mean + std * torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    x = x0 + sigma * torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    D = GaussianDenoiser(mean=mean, std=std)
    residual = x0 - D(x, torch.full((200_000,), sigma, dtype=torch.float64))
    assert residual.mean().item() == pytest.approx(0.0, abs=5e-3)
    # The posterior mean is uncorrelated with its error.
    assert torch.corrcoef(torch.cat([residual, x], 1).T)[0, 1].item() == pytest.approx(0.0, abs=1e-2)
    torch.testing.assert_close(D(x[:3], 1e-8), x[:3])


def test_finite_difference_matches_autograd():
    x = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fn = lambda v: (v.sin() * v.roll(1, 0)).sum() + (v**2).sum().sqrt()
    x_req = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(fn(x_req), x_req)
    torch.testing.assert_close(finite_difference_grad(fn, x, 1e-6), auto, atol=1e-7, rtol=1e-6)


def test_random_rotation_is_proper_and_seeded():
    R = random_rotation(torch.Generator().manual_seed(5), dtype=torch.float64)
    torch.testing.assert_close(R @ R.T, torch.eye(3, dtype=torch.float64))
    assert torch.linalg.det(R).item() == pytest.approx(1.0)
    assert torch.equal(R, random_rotation(torch.Generator().manual_seed(5), dtype=torch.float64))


def _centred_and_radii(pos, weights):
    centred = pos - (weights[:, None] * pos).sum(0) / weights.sum()
    return centred, centred.norm(dim=-1)


def test_assert_equivariant_accepts_equivariant_function():
    g = torch.Generator().manual_seed(1)
    pos, w = torch.randn(10, 3, generator=g), torch.rand(10, generator=g)
    err = assert_equivariant(_centred_and_radii, [pos, w], vector_args=[0], vector_outputs=[0], generator=g)
    assert err < 1e-5


def test_assert_equivariant_rejects_broken_functions():
    g = torch.Generator().manual_seed(2)
    pos = torch.randn(10, 3, generator=g)
    with pytest.raises(AssertionError, match="output 0 is not equivariant"):
        assert_equivariant(lambda p: p + torch.tensor([1.0, 0.0, 0.0]), [pos], vector_args=[0], vector_outputs=[0])
    with pytest.raises(AssertionError, match="output 0 is not invariant"):
        assert_equivariant(lambda p: p[:, 0], [pos], vector_args=[0])
