import pytest
import torch

from disco_core.prior.ar_transformer import ARPrior
from disco_core.prior.joint import (
    all_sequences,
    choose_temperature,
    draw_by_inverse_cdf,
    joint_table,
    marginal_gap,
    prior_codes_by_inverse_cdf,
    table_marginals,
)


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


def _peaked_prior(seed=0, m=2, k=3, scale=20.0):
    torch.manual_seed(seed)
    prior = ARPrior(m=m, k=k, d_model=16, n_layers=1, n_heads=2).eval()
    with torch.no_grad():
        prior.head.weight.mul_(scale)
    return prior


def test_joint_table_is_the_ancestral_samplers_distribution_at_every_temperature():
    prior = _peaked_prior()
    for t in (0.7, 1.0, 1.5):
        seqs, probs = joint_table(prior, temperature=t)
        assert seqs.shape == (9, 2) and probs.sum().item() == pytest.approx(1.0, abs=1e-6)
        draws = prior.sample(batch_size=40000, temperature=t, generator=torch.Generator().manual_seed(1))
        freq = torch.stack([((draws == s).all(1)).float().mean() for s in seqs])
        torch.testing.assert_close(freq, probs, atol=0.01, rtol=0)
    # Lower temperature concentrates the mass.
    assert joint_table(prior, temperature=0.5)[1].max() > joint_table(prior, temperature=2.0)[1].max()
    with pytest.raises(ValueError, match="too many"):
        joint_table(prior, max_sequences=8)


def test_stratified_inverse_cdf_draw_hits_the_table_proportions():
    seqs = all_sequences(3, 2)
    probs = torch.tensor([0.3, 0.0, 0.1, 0.2, 0.05, 0.05, 0.1, 0.15, 0.05])
    n = 1000
    u = (torch.arange(n) + 0.5) / n
    codes = draw_by_inverse_cdf(seqs, probs, u)
    counts = torch.stack([((codes == s).all(1)).sum() for s in seqs])
    assert counts.tolist() == [300, 0, 100, 200, 50, 50, 100, 150, 50]


def test_choose_temperature_recovers_the_temperature_that_made_the_codes():
    prior = _peaked_prior(scale=3.0)
    for true_t in (0.8, 1.25):
        codes = prior.sample(batch_size=20000, temperature=true_t, generator=torch.Generator().manual_seed(2))
        best, nll = choose_temperature(prior, codes, [0.8, 1.0, 1.25])
        assert best == true_t
        assert min(nll.values()) == nll[true_t]
    with pytest.raises(ValueError):
        choose_temperature(prior, codes, [])


def test_marginal_gap_and_table_marginals():
    a = torch.tensor([[0, 1], [0, 2], [1, 2], [1, 2]])
    b = torch.tensor([[0, 2], [0, 2], [0, 2], [0, 2]])
    # latent 0: (.5, .5, 0) vs (1, 0, 0) -> 0.5; latent 1: (0, .25, .75) vs (0, 0, 1) -> 0.25
    torch.testing.assert_close(marginal_gap(a, b, 3), torch.tensor([0.5, 0.25], dtype=torch.float64))
    assert marginal_gap(a, a, 3).abs().max() == 0
    seqs, probs = all_sequences(3, 2), torch.zeros(9)
    probs[[1, 5]] = 0.5  # (0, 1) and (1, 2)
    marg = table_marginals(seqs, probs, 3)
    torch.testing.assert_close(marg, torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], dtype=torch.float64))
    # A distribution compares with codes: the two sequences drawn once each match it exactly.
    assert marginal_gap(marg, torch.tensor([[0, 1], [1, 2]]), 3).abs().max() == 0
