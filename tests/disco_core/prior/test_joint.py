import pytest
import torch

from disco_core.prior.ar_transformer import ARPrior
from disco_core.prior.joint import prior_codes_by_inverse_cdf


def test_inverse_cdf_codes_follow_prior_probabilities():
    torch.manual_seed(0)
    prior = ARPrior(m=2, k=3, d_model=16, n_layers=1, n_heads=2)
    with torch.no_grad():
        prior.head.weight.mul_(20)  # make the joint clearly non-uniform
    u = (torch.arange(9000) + 0.5) / 9000
    codes = prior_codes_by_inverse_cdf(prior, u)
    assert codes.shape == (9000, 2)
    seqs = torch.cartesian_prod(torch.arange(3), torch.arange(3))
    with torch.no_grad():
        probs = prior.log_prob(seqs).exp()
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)
    freq = torch.stack([((codes == s).all(1)).float().mean() for s in seqs])
    torch.testing.assert_close(freq, probs, atol=2e-3, rtol=0)
