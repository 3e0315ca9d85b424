import pytest
import torch
from torch import nn

from disco_core.diffusion.precond import EDMPrecond, edm_coefficients, edm_loss_weight, sigma_like


def test_coefficient_limits():
    sd = 0.5
    small = edm_coefficients(torch.tensor(1e-6), sd)
    assert small.c_skip.item() == pytest.approx(1.0, abs=1e-9)
    assert small.c_out.item() == pytest.approx(0.0, abs=1e-5)
    large = edm_coefficients(torch.tensor(1e6), sd)
    assert large.c_skip.item() == pytest.approx(0.0, abs=1e-9)
    assert large.c_out.item() == pytest.approx(sd, rel=1e-6)
    at_sd = edm_coefficients(torch.tensor(sd), sd)
    assert at_sd.c_skip.item() == pytest.approx(0.5)


def test_loss_weight_is_inverse_c_out_squared():
    sigma = torch.logspace(-3, 2, 20, dtype=torch.float64)
    c = edm_coefficients(sigma, 0.7)
    torch.testing.assert_close(edm_loss_weight(sigma, 0.7), 1 / c.c_out**2)


@pytest.mark.parametrize("sigma", [0.01, 0.3, 2.0, 50.0])
def test_network_input_and_target_have_unit_variance(sigma):
    sd = 0.5
    g = torch.Generator().manual_seed(0)
    x0 = sd * torch.randn(200_000, generator=g, dtype=torch.float64)
    x = x0 + sigma * torch.randn(200_000, generator=g, dtype=torch.float64)
    c = edm_coefficients(torch.tensor(sigma, dtype=torch.float64), sd)
    net_input = c.c_in * x
    target = (x0 - c.c_skip * x) / c.c_out
    assert net_input.var().item() == pytest.approx(1.0, rel=0.02)
    assert target.var().item() == pytest.approx(1.0, rel=0.02)


class _Recorder(nn.Module):
    def __init__(self):
        super().__init__()
        self.seen = None

    def forward(self, x, c_noise, cond, latents):
        self.seen = (x.clone(), c_noise.clone(), cond, latents)
        return torch.full_like(x, 3.0)


def test_precond_composes_network_output():
    sd = 0.5
    rec = _Recorder()
    D = EDMPrecond(model=rec, sigma_data=sd)
    x = torch.randn(4, 2, 3)
    sigma = torch.tensor([0.1, 1.0, 5.0, 20.0])
    cond, latents = torch.ones(4, 1), torch.zeros(4, 1, 8)
    out = D(x, sigma, cond, latents)
    c = edm_coefficients(sigma_like(sigma, x), sd)
    torch.testing.assert_close(out, c.c_skip * x + c.c_out * 3.0)
    seen_x, seen_noise, seen_cond, seen_latents = rec.seen
    torch.testing.assert_close(seen_x, c.c_in * x)
    assert seen_noise.shape == (4,)
    torch.testing.assert_close(seen_noise, sigma.log() / 4)
    assert seen_cond is cond and seen_latents is latents


def test_sigma_like_broadcasts_scalar_and_rejects_wrong_batch():
    x = torch.zeros(3, 5)
    assert sigma_like(0.5, x).shape == (3, 1)
    with pytest.raises(ValueError):
        sigma_like(torch.ones(4), x)
