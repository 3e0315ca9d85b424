import math

import pytest
import torch

from disco_core.toy.mixtures import RingMixture


def test_means_lie_on_the_circle_evenly():
    mix = RingMixture(num_modes=8, radius=3.0, std=0.2)
    mu = mix.means()
    assert mu.shape == (8, 2)
    torch.testing.assert_close(mu.norm(dim=1), torch.full((8,), 3.0))
    gaps = (mu - mu.roll(1, 0)).norm(dim=1)
    torch.testing.assert_close(gaps, torch.full((8,), 2 * 3.0 * math.sin(math.pi / 8)))


def test_samples_have_mode_std_and_stratified_counts():
    mix = RingMixture(num_modes=8, radius=3.0, std=0.2)
    x, modes = mix.sample_with_modes(8000, generator=torch.Generator().manual_seed(0), stratified=True)
    assert torch.bincount(modes, minlength=8).tolist() == [1000] * 8
    resid = x - mix.means()[modes]
    assert resid.std().item() == pytest.approx(0.2, rel=0.03)
    assert bool((mix.nearest_mode(x) == modes).float().mean() > 0.999)
    _, random_modes = mix.sample_with_modes(8000, generator=torch.Generator().manual_seed(0))
    assert torch.bincount(random_modes, minlength=8).tolist() != [1000] * 8
