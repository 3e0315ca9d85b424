import pytest
import torch

from disco_core.diffusion.guidance import GuidedDenoiser
from disco_core.diffusion.samplers import euler_sampler, heun_sampler, stochastic_sampler
from disco_core.diffusion.schedules import EDMSchedule
from disco_core.testing import GaussianDenoiser

MEAN = torch.tensor([1.5, -0.5])
STD = 0.7


def _start(n=4000, sigma_max=80.0, seed=0):
    return sigma_max * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(
    "sampler, steps", [(heun_sampler, 25), (euler_sampler, 200)], ids=["heun", "euler"]
)
def test_ode_samplers_recover_gaussian(sampler, steps):
    D = GaussianDenoiser(mean=MEAN, std=STD)
    sigmas = EDMSchedule(sigma_min=0.002, sigma_max=80.0).sigmas(steps).double()
    x = sampler(D, _start(), sigmas)
    torch.testing.assert_close(x.mean(0), MEAN.double(), atol=0.05, rtol=0)
    torch.testing.assert_close(x.std(0), torch.full((2,), STD, dtype=torch.float64), atol=0.04, rtol=0)


def test_stochastic_sampler_roughly_recovers_gaussian():
    D = GaussianDenoiser(mean=MEAN, std=STD)
    sigmas = EDMSchedule(sigma_min=0.002, sigma_max=80.0).sigmas(40).double()
    x = stochastic_sampler(
        D, _start(), sigmas, S_churn=30, S_min=0.01, S_max=50, generator=torch.Generator().manual_seed(3)
    )
    torch.testing.assert_close(x.mean(0), MEAN.double(), atol=0.08, rtol=0)
    torch.testing.assert_close(x.std(0), torch.full((2,), STD, dtype=torch.float64), atol=0.08, rtol=0)


def test_stochastic_without_churn_equals_heun():
    D = GaussianDenoiser(mean=MEAN, std=STD)
    sigmas = EDMSchedule(sigma_min=0.002, sigma_max=80.0).sigmas(10).double()
    x_T = _start(100)
    torch.testing.assert_close(stochastic_sampler(D, x_T, sigmas, S_churn=0.0), heun_sampler(D, x_T, sigmas))


def test_trajectory_shape_endpoints_and_nfe():
    calls = []
    base = GaussianDenoiser(mean=MEAN, std=STD)

    def D(x, sigma, cond=None, latents=None):
        calls.append(sigma.shape)
        return base(x, sigma)

    n = 12
    sigmas = EDMSchedule(sigma_min=0.002, sigma_max=80.0).sigmas(n).double()
    x_T = _start(7)
    x, traj = heun_sampler(D, x_T, sigmas, return_trajectory=True)
    assert traj.shape == (n + 1, 7, 2)
    assert torch.equal(traj[0], x_T) and torch.equal(traj[-1], x)
    assert len(calls) == 2 * n - 1  # Heun, last step to sigma=0 is Euler
    assert all(s == (7,) for s in calls)
    calls.clear()
    euler_sampler(D, x_T, sigmas)
    assert len(calls) == n


def test_stochastic_sampler_is_seeded():
    D = GaussianDenoiser(mean=MEAN, std=STD)
    sigmas = EDMSchedule(sigma_min=0.002, sigma_max=80.0).sigmas(8).double()
    x_T = _start(50)
    run = lambda seed: stochastic_sampler(D, x_T, sigmas, S_churn=20, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_samplers_reject_increasing_sigmas():
    with pytest.raises(ValueError):
        heun_sampler(GaussianDenoiser(mean=0.0, std=1.0), torch.zeros(2, 2), torch.tensor([0.0, 1.0]))


def test_guidance_extrapolates_away_from_dropped_branch():
    def D(x, sigma, cond=None, latents=None):
        return x * 0 + (0.0 if latents is None else latents)

    x = torch.zeros(3, 2)
    z = torch.ones(3, 2)
    assert torch.equal(GuidedDenoiser(denoiser=D, w=0.0)(x, 1.0, None, z), z)
    torch.testing.assert_close(GuidedDenoiser(denoiser=D, w=2.0)(x, 1.0, None, z), 3 * z)
    assert torch.equal(GuidedDenoiser(denoiser=D, w=2.0)(x, 1.0, None, None), torch.zeros(3, 2))


def _exact_flow(x_T, sigma_T, mean=MEAN.double(), std=STD):
    # Probability-flow ODE of Gaussian data: x(sigma) - mean scales with sqrt(std^2 + sigma^2).
    return mean + (x_T - mean) * std / (std**2 + sigma_T**2) ** 0.5


def test_heun_matches_analytic_flow_pointwise_and_converges_faster_than_euler():
    D = GaussianDenoiser(mean=MEAN, std=STD)
    x_T = _start(200, sigma_max=10.0)
    exact = _exact_flow(x_T, 10.0)

    def err(sampler, n):
        sigmas = EDMSchedule(sigma_min=0.002, sigma_max=10.0).sigmas(n).double()
        return (sampler(D, x_T, sigmas) - exact).abs().max().item()

    heun_10, heun_40 = err(heun_sampler, 10), err(heun_sampler, 40)
    euler_10, euler_40 = err(euler_sampler, 10), err(euler_sampler, 40)
    assert heun_40 < 0.015
    assert heun_10 < euler_10 and heun_40 < euler_40
    assert heun_40 < heun_10 / 4 and euler_40 < euler_10  # both converge; Heun at second order
