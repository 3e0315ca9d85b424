import pytest
import torch

from disco_core.images.config import ImagesConfig
from disco_core.images.sampling import sampling_inputs


def test_quasi_random_inputs_are_seeded_gaussian_noise_and_uniforms():
    cfg = ImagesConfig(sigma_data=0.75)
    x, labels, u = sampling_inputs(cfg, (1, 8, 8), 0, n=512, seed=3)
    again, _, u_again = sampling_inputs(cfg, (1, 8, 8), 0, n=512, seed=3)
    other, _, _ = sampling_inputs(cfg, (1, 8, 8), 0, n=512, seed=4)
    assert x.shape == (512, 1, 8, 8) and labels is None and u.shape == (512,)
    assert torch.equal(x, again) and torch.equal(u, u_again) and not torch.allclose(x, other)
    z = x / cfg.sigma_max
    assert z.mean().abs() < 0.02 and (z.std() - 1).abs() < 0.02  # standard normal per coordinate
    assert 0 < u.min() and u.max() < 1
    # Sobol points fill [0, 1) evenly: every eighth of the interval holds 512 / 8 of them, give or take one.
    counts = torch.bincount((u * 8).long(), minlength=8)
    assert (counts - 64).abs().max() <= 1


def test_iid_inputs_and_balanced_labels():
    cfg = ImagesConfig(sigma_data=0.75, quasi_random=False)
    x, labels, u = sampling_inputs(cfg, (1, 4, 4), 10, n=30, seed=0)
    assert u is None and x.shape == (30, 1, 4, 4)
    assert torch.bincount(labels).tolist() == [3] * 10
    g = torch.Generator().manual_seed(0)
    assert torch.equal(x, cfg.sigma_max * torch.randn((30, 1, 4, 4), generator=g))


def test_config_rejects_bad_temperatures():
    from disco_core.images.config import load_config

    with pytest.raises(ValueError, match="prior_temperature"):
        load_config(None, prior_temperature=0.0)
    with pytest.raises(ValueError, match="prior_temperatures"):
        load_config(None, prior_temperatures=[])
