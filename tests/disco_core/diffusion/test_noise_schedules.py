import math

import pytest
import torch

from disco_core.diffusion.schedules import EDMSchedule, GeometricSchedule, LogNormalSigma


def test_edm_schedule_endpoints_and_monotone():
    s = EDMSchedule(sigma_min=0.002, sigma_max=80.0, rho=7).sigmas(18)
    assert s.shape == (19,)
    assert s[0].item() == pytest.approx(80.0)
    assert s[-2].item() == pytest.approx(0.002, rel=1e-4)
    assert s[-1].item() == 0.0
    assert bool((s[1:] < s[:-1]).all())


def test_edm_schedule_rho_one_is_linear():
    s = EDMSchedule(sigma_min=1.0, sigma_max=5.0, rho=1).sigmas(5)[:-1]
    torch.testing.assert_close(s, torch.linspace(5.0, 1.0, 5))


def test_edm_schedule_single_step():
    s = EDMSchedule(sigma_min=0.1, sigma_max=2.0).sigmas(1)
    assert s.tolist() == pytest.approx([2.0, 0.0])


def test_schedules_reject_bad_ranges():
    with pytest.raises(ValueError):
        EDMSchedule(sigma_min=1.0, sigma_max=0.5)
    with pytest.raises(ValueError):
        GeometricSchedule(sigma_min=0.0, sigma_max=1.0)


def test_lognormal_sigma_statistics_and_seeding():
    dist = LogNormalSigma(P_mean=-1.2, P_std=1.2)
    a = dist.sample((20000,), generator=torch.Generator().manual_seed(0))
    b = dist.sample((20000,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert bool((a > 0).all())
    assert a.log().mean().item() == pytest.approx(-1.2, abs=0.03)
    assert a.log().std().item() == pytest.approx(1.2, abs=0.03)
    assert dist.sample(3).shape == (3,)


def test_geometric_schedule_still_interpolates():
    g = GeometricSchedule(sigma_min=0.1, sigma_max=10.0)
    assert g.sigma(0.5).item() == pytest.approx(1.0)
    assert g.dsigma2_dt(0.0).item() == pytest.approx(2 * 0.01 * math.log(100.0))
