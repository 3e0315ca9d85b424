import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats

from disco_core.prior import ARPrior, PointerARPrior, sample_categorical


def _all_sequences(m: int, k: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(k), repeat=m)))


def _small_prior(**kw) -> ARPrior:
    torch.manual_seed(0)
    return ARPrior(d_model=16, n_layers=2, n_heads=2, **kw).eval()


def test_ar_prior_is_causal():
    prior = _small_prior(m=4, k=5, cond_dim=3)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 5, (6, 4), generator=gen)
    cond = torch.randn(6, 3, generator=gen)
    base = prior.logits(tokens, cond)
    for j in range(4):
        changed = tokens.clone()
        changed[:, j] = (changed[:, j] + 1) % 5
        out = prior.logits(changed, cond)
        # logits of token i see only tokens < i: positions <= j are unchanged
        assert torch.allclose(out[:, : j + 1], base[:, : j + 1], atol=1e-6)
        if j < 3:
            assert not torch.allclose(out[:, j + 1], base[:, j + 1], atol=1e-4)
    # the context reaches every position
    other = prior.logits(tokens, cond + 1.0)
    assert not torch.allclose(other[:, 0], base[:, 0], atol=1e-4)


@pytest.mark.parametrize("cond_dim", [0, 2])
def test_ar_prior_probabilities_sum_to_one(cond_dim):
    m, k = 3, 4
    prior = _small_prior(m=m, k=k, cond_dim=cond_dim)
    seqs = _all_sequences(m, k)
    if cond_dim:
        cond = torch.randn(1, cond_dim, generator=torch.Generator().manual_seed(1)).expand(len(seqs), -1)
        logp = prior.log_prob(seqs, cond)
    else:
        logp = prior.log_prob(seqs)
    assert logp.shape == (k**m,)
    assert math.isclose(logp.double().exp().sum().item(), 1.0, rel_tol=1e-5)


def test_ar_prior_samples_follow_log_prob():
    m, k, draws = 2, 3, 6000
    prior = _small_prior(m=m, k=k)
    with torch.no_grad():
        prior.head.weight.mul_(20)  # make the distribution clearly non-uniform
    samples = prior.sample(batch_size=draws, generator=torch.Generator().manual_seed(2))
    assert samples.shape == (draws, m) and samples.dtype == torch.long
    seqs = _all_sequences(m, k)
    probs = prior.log_prob(seqs).double().exp().detach().numpy()
    observed = np.array([(samples == s).all(1).sum().item() for s in seqs])
    assert stats.chisquare(observed, probs / probs.sum() * draws).pvalue > 1e-3


def test_ar_prior_greedy_and_top_k():
    prior = _small_prior(m=3, k=6, cond_dim=2)
    cond = torch.randn(5, 2, generator=torch.Generator().manual_seed(3))
    greedy = prior.sample(cond, temperature=0.0)
    top1 = prior.sample(cond, top_k=1, generator=torch.Generator().manual_seed(4))
    assert torch.equal(greedy, top1)
    # greedy: each token is the argmax given the previous ones
    assert torch.equal(prior.logits(greedy, cond).argmax(-1), greedy)


def test_ar_prior_learns_a_skewed_distribution():
    torch.manual_seed(0)
    m, k = 2, 4
    gen = torch.Generator().manual_seed(5)
    # z0 ~ (0.7, 0.1, 0.1, 0.1); z1 = z0 with prob 0.9 else uniform: a dependency the prior must capture
    z0 = torch.multinomial(torch.tensor([0.7, 0.1, 0.1, 0.1]), 4000, replacement=True, generator=gen)
    copy = torch.rand(4000, generator=gen) < 0.9
    z1 = torch.where(copy, z0, torch.randint(0, k, (4000,), generator=gen))
    data = torch.stack([z0, z1], 1)
    prior = ARPrior(m=m, k=k, d_model=32, n_layers=1, n_heads=2)
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)
    for step in range(150):
        idx = torch.randint(0, 4000, (256,), generator=gen)
        loss = prior.loss(data[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    prior.eval()
    nll = -prior.log_prob(data).mean().item()
    uniform = m * math.log(k)
    # true entropy: H(z0) + H(z1 | z0)
    p0 = torch.tensor([0.7, 0.1, 0.1, 0.1])
    p1 = torch.tensor([0.925, 0.025, 0.025, 0.025])
    true_h = float(-(p0 * p0.log()).sum() - (p1 * p1.log()).sum())
    assert nll < uniform - 0.5 * (uniform - true_h)
    assert nll < true_h + 0.1


def _item_batch(sizes, item_dim, seed):
    gen = torch.Generator().manual_seed(seed)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    batch = batch[torch.randperm(batch.numel(), generator=gen)]
    return torch.randn(batch.numel(), item_dim, generator=gen), batch


def _small_pointer_prior(m, item_dim):
    torch.manual_seed(0)
    return PointerARPrior(m=m, item_dim=item_dim, d_model=16, n_layers=2, n_heads=2).eval()


def test_pointer_prior_probabilities_sum_to_one_per_example():
    m, item_dim = 2, 5
    prior = _small_pointer_prior(m, item_dim)
    items, batch = _item_batch([3, 4, 1], item_dim, seed=0)
    for b in range(3):
        own = (batch == b).nonzero()[:, 0]
        # every sequence of this example's items, with the other examples' codes fixed to their first item
        seqs = list(itertools.product(own.tolist(), repeat=m))
        total = 0.0
        for seq in seqs:
            codes = torch.stack([(batch == e).nonzero()[0, 0].repeat(m) for e in range(3)])
            codes[b] = torch.tensor(seq)
            total += prior.log_prob(codes, items, batch)[b].double().exp().item()
        assert math.isclose(total, 1.0, rel_tol=1e-5)


def test_pointer_prior_is_causal():
    m, item_dim = 3, 4
    prior = _small_pointer_prior(m, item_dim)
    items, batch = _item_batch([5, 6], item_dim, seed=1)
    codes = prior.sample(items, batch, generator=torch.Generator().manual_seed(0))
    base, index = prior.logits(codes, items, batch)
    for j in range(m):
        changed = codes.clone()
        for b in range(2):
            own = (batch == b).nonzero()[:, 0]
            changed[b, j] = own[(own == codes[b, j]).nonzero()[0, 0] - 1]  # another item of the same example
        out, _ = prior.logits(changed, items, batch)
        assert torch.allclose(out[:, : j + 1], base[:, : j + 1], atol=1e-6)
        if j < m - 1:
            assert not torch.allclose(out[:, j + 1], base[:, j + 1], atol=1e-4)
    # padding slots get probability zero
    assert torch.isneginf(base.masked_select((index < 0)[:, None, :].expand_as(base))).all()


def test_pointer_prior_samples_stay_inside_and_follow_log_prob():
    m, item_dim, draws = 2, 3, 3000
    prior = _small_pointer_prior(m, item_dim)
    with torch.no_grad():
        prior.query.weight.mul_(10)
    items, batch = _item_batch([3], item_dim, seed=2)
    rep_items = items.repeat(draws, 1)
    rep_batch = torch.arange(draws).repeat_interleave(3)
    codes = prior.sample(rep_items, rep_batch, generator=torch.Generator().manual_seed(3))
    assert torch.equal(rep_batch[codes], torch.arange(draws)[:, None].expand(-1, m))
    local = codes % 3
    seqs = _all_sequences(m, 3)
    probs = torch.stack([prior.log_prob(s[None], items, batch)[0] for s in seqs]).double().exp().detach().numpy()
    observed = np.array([(local == s).all(1).sum().item() for s in seqs])
    assert stats.chisquare(observed, probs / probs.sum() * draws).pvalue > 1e-3

    many, many_batch = _item_batch([4, 1, 7, 2], item_dim, seed=4)
    for seed in range(10):
        c = prior.sample(many, many_batch, temperature=2.0, top_k=2, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(many_batch[c], torch.arange(4)[:, None].expand(-1, m))


def test_pointer_prior_rejects_codes_in_another_example():
    prior = _small_pointer_prior(2, 3)
    items, batch = _item_batch([2, 2], 3, seed=5)
    other = (batch == 1).nonzero()[0, 0]
    own = (batch == 0).nonzero()[0, 0]
    codes = torch.stack([torch.stack([own, other]), torch.stack([other, other])])
    with pytest.raises(ValueError, match="another example"):
        prior.log_prob(codes, items, batch)


def test_pointer_prior_learns_to_point_at_marked_items():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(6)
    sizes = [6] * 32
    prior = PointerARPrior(m=1, item_dim=4, d_model=32, n_layers=1, n_heads=2)
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)

    def make():
        items = torch.randn(sum(sizes), 4, generator=gen)
        batch = torch.arange(len(sizes)).repeat_interleave(6)
        marked = (torch.arange(len(sizes)) * 6 + torch.randint(0, 6, (len(sizes),), generator=gen))
        items[:, 0] = 0.0
        items[marked, 0] = 1.0  # the latent always points at the marked item
        return items, batch, marked[:, None]

    for _ in range(120):
        items, batch, codes = make()
        loss = prior.loss(codes, items, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    items, batch, codes = make()
    nll = -prior.log_prob(codes, items, batch).mean().item()
    assert nll < 0.25 * math.log(6)


def test_sample_categorical_mask_top_k_and_temperature():
    gen = torch.Generator().manual_seed(7)
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    mask = torch.tensor([False, True, True, True])
    draws = sample_categorical(logits.expand(4000, 4), temperature=1.0, mask=mask, generator=gen)
    assert (draws != 0).all()
    top2 = sample_categorical(logits.expand(4000, 4), temperature=1.0, top_k=2, generator=gen)
    assert set(top2.unique().tolist()) == {0, 1}
    for temperature in (0.5, 2.0):
        s = sample_categorical(logits.expand(8000, 4), temperature=temperature, generator=gen)
        observed = np.bincount(s.numpy(), minlength=4)
        expected = (logits / temperature).double().softmax(-1).numpy() * 8000
        assert stats.chisquare(observed, expected).pvalue > 1e-3
    assert sample_categorical(logits[None], temperature=0.0).item() == 0
    with pytest.raises(ValueError):
        sample_categorical(logits[None], temperature=1.0, mask=torch.zeros(1, 4, dtype=torch.bool))
