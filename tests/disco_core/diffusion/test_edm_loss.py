import pytest
import torch

from disco_core.diffusion.loss import EDMLoss
from disco_core.testing import GaussianDenoiser


def test_loss_is_per_element_and_reproducible():
    loss = EDMLoss(P_mean=-1.2, P_std=1.2, sigma_data=0.5)
    x0 = torch.randn(16, 3, 2)
    D = GaussianDenoiser(mean=0.0, std=0.5)
    a = loss(D, x0, generator=torch.Generator().manual_seed(1))
    b = loss(D, x0, generator=torch.Generator().manual_seed(1))
    assert a.shape == x0.shape
    assert torch.equal(a, b)
    assert bool((a >= 0).all())


def test_exact_denoiser_has_unit_weighted_loss_and_beats_wrong_one():
    # For x0 ~ N(0, sd^2), lambda(sigma) times the posterior variance is exactly 1 at every sigma.
    sd = 0.5
    loss = EDMLoss(P_mean=-1.2, P_std=1.2, sigma_data=sd)
    g = torch.Generator().manual_seed(0)
    x0 = sd * torch.randn(100_000, 2, generator=g, dtype=torch.float64)
    exact = loss(GaussianDenoiser(mean=0.0, std=sd), x0, generator=torch.Generator().manual_seed(2)).mean()
    wrong = loss(GaussianDenoiser(mean=0.3, std=sd), x0, generator=torch.Generator().manual_seed(2)).mean()
    assert exact.item() == pytest.approx(1.0, rel=0.03)
    assert wrong.item() > exact.item() + 0.1


def test_loss_passes_cond_and_latents_through():
    seen = {}

    def D(x, sigma, cond=None, latents=None):
        seen["sigma"], seen["cond"], seen["latents"] = sigma, cond, latents
        return x

    x0 = torch.randn(5, 2)
    EDMLoss(sigma_data=1.0)(D, x0, cond="c", latents="z")
    assert seen["cond"] == "c" and seen["latents"] == "z"
    assert seen["sigma"].shape == (5,)
