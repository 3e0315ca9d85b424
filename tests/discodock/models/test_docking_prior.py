"""DockingPrior: invariance, normalised log-probabilities, sampling and training signal."""

from __future__ import annotations

import itertools

import pytest
import torch

from discodock.data import keys as K
from discodock.models.latents import codes_to_global, item_batch
from discodock.models.prior import DockingPrior
from discodock.models.score_net import ScoreNet


def some_codes(cfg, batch, seed=0):
    gen = torch.Generator().manual_seed(seed)
    b = batch.num_graphs
    if cfg.latent.mode == "global":
        return torch.randint(cfg.latent.k, (b, cfg.latent.m), generator=gen)
    counts = torch.bincount(item_batch(batch), minlength=b)
    return codes_to_global(batch, (torch.rand(b, cfg.latent.m, generator=gen) * counts[:, None]).long())


@pytest.mark.parametrize("mode", ["pointer", "global"])
def test_prior_is_invariant(mode, complexes, collate, build, as_dtype, move, rigid_motion):
    cfg, prior = build(DockingPrior, mode, double=True)
    batch = as_dtype(collate(complexes), torch.float64)
    rot, shift = rigid_motion(11)
    moved_batch = move(batch, rot, shift)
    codes = some_codes(cfg, batch)
    with torch.no_grad():
        emb, _ = prior.embed(batch)
        emb_moved, _ = prior.embed(moved_batch)
        logp = prior.log_prob(batch, codes)
        logp_moved = prior.log_prob(moved_batch, codes)
    assert emb.std() > 1e-3
    torch.testing.assert_close(emb_moved, emb, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(logp_moved, logp, atol=1e-4, rtol=1e-4)


def test_pointer_log_probs_are_normalised(small_complex, collate, make_cfg):
    cfg = make_cfg("pointer")
    torch.manual_seed(0)
    prior = DockingPrior(cfg).eval()
    batch = collate([small_complex])
    with torch.no_grad():
        emb, items = prior.embed(batch)
        n = emb.shape[0]
        assert n < 60, "the fixture should be small enough to enumerate"
        # Every code pair (z0, z1) of this complex, scored as n*n copies of its items.
        pairs = torch.tensor(list(itertools.product(range(n), repeat=cfg.latent.m)))
        copies = pairs.shape[0]
        codes = pairs + n * torch.arange(copies)[:, None]
        logp = prior.ar.log_prob(codes, emb.repeat(copies, 1), torch.arange(copies).repeat_interleave(n))
    torch.testing.assert_close(torch.logsumexp(logp, 0), torch.tensor(0.0), atol=1e-4, rtol=0)
    # The direct call on the complex agrees with the enumeration.
    some = pairs[17:18]
    torch.testing.assert_close(prior.log_prob(batch, some).detach()[0], logp[17], atol=1e-5, rtol=1e-5)


def test_global_log_probs_are_normalised(small_complex, collate, make_cfg):
    cfg = make_cfg("global")
    prior = DockingPrior(cfg).eval()
    batch = collate([small_complex])
    with torch.no_grad():
        ctx, _ = prior.embed(batch)
        codes = torch.tensor(list(itertools.product(range(cfg.latent.k), repeat=cfg.latent.m)))
        logp = prior.ar.log_prob(codes, ctx.expand(codes.shape[0], -1))
    torch.testing.assert_close(torch.logsumexp(logp, 0), torch.tensor(0.0), atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["pointer", "global"])
def test_sample_train_and_condition(mode, complexes, collate, build):
    cfg, prior = build(DockingPrior, mode)
    batch = collate(complexes)
    codes = prior.sample(batch, temperature=1.5, generator=torch.Generator().manual_seed(0))
    assert codes.shape == (2, cfg.latent.m)
    again = prior.sample(batch, temperature=1.5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(codes, again)
    if mode == "pointer":
        assert (item_batch(batch)[codes] == torch.arange(2)[:, None]).all()
    else:
        assert ((codes >= 0) & (codes < cfg.latent.k)).all()
    loss = prior.loss(batch, codes)
    assert torch.isfinite(loss)
    loss.backward()
    missing = [n for n, p in prior.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing, f"no gradient for {missing}"
    # Prior samples feed the score network.
    latents = prior.to_latents(batch, codes)
    assert latents["keep"].all()
    sigma = {"tr": torch.tensor([2.0, 2.0]), "rot": torch.tensor([0.3, 0.3]), "tor": torch.tensor([0.5, 0.5])}
    with torch.no_grad():
        out = ScoreNet(cfg)(batch, sigma=sigma, latents=latents)
    assert out["tr"].shape == (2, 3)
    if mode == "pointer":
        labels = torch.cat([latents["ligand"], latents["receptor"]])
        assert (labels.sum(0) == 2).all() and labels[codes, torch.arange(cfg.latent.m)].eq(1).all()


def test_prior_learns_cached_codes(complexes, collate, make_cfg):
    """A few optimiser steps on fixed codes raise their log-probability (the training signal works)."""
    cfg = make_cfg("pointer")
    torch.manual_seed(0)
    prior = DockingPrior(cfg)
    batch = collate(complexes)
    codes = some_codes(cfg, batch, seed=2)
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)
    with torch.no_grad():
        before = prior.log_prob(batch, codes).sum()
    for _ in range(15):
        opt.zero_grad()
        prior.loss(batch, codes).backward()
        opt.step()
    with torch.no_grad():
        after = prior.log_prob(batch, codes).sum()
    assert after > before + 1.0
    assert batch[K.LIGAND][K.POS].shape[0] > 0


def _contact_cfg(make_cfg):
    import dataclasses

    cfg = make_cfg("pointer")
    return dataclasses.replace(cfg, latent=dataclasses.replace(cfg.latent, pointer_targets="contact"))


def test_contact_latents_pick_an_atom_then_a_residue(complexes, small_complex, collate, make_cfg):
    """Contact pointer latents: the encoder's and the prior's first latent is a ligand atom, the second a
    residue; the prior's probabilities over the allowed (atom, residue) pairs sum to one."""
    from discodock.models.latent_encoder import LatentEncoder
    from discodock.models.latents import pointer_allowed

    cfg = _contact_cfg(make_cfg)
    torch.manual_seed(0)
    batch = collate(complexes)
    n_lig = batch[K.LIGAND][K.POS].shape[0]
    enc_codes = LatentEncoder(cfg).encode(batch, generator=torch.Generator().manual_seed(1))["codes"]
    prior = DockingPrior(cfg).eval()
    prior_codes = prior.sample(batch, generator=torch.Generator().manual_seed(2), temperature=3.0)
    for codes in (enc_codes, prior_codes):
        assert (codes[:, 0] < n_lig).all() and (codes[:, 1] >= n_lig).all()
    assert torch.isfinite(prior.log_prob(batch, prior_codes)).all()

    one = collate([small_complex])
    allowed = pointer_allowed(one, cfg.latent)
    n_atoms = small_complex[K.LIGAND][K.POS].shape[0]
    with torch.no_grad():
        emb, _ = prior.embed(one)
        n = emb.shape[0]
        pairs = torch.tensor([(a, r) for a in range(n_atoms) for r in range(n_atoms, n)])
        copies = pairs.shape[0]
        codes = pairs + n * torch.arange(copies)[:, None]
        logp = prior.ar.log_prob(codes, emb.repeat(copies, 1), torch.arange(copies).repeat_interleave(n),
                                 allowed=allowed.repeat(copies, 1))
    torch.testing.assert_close(torch.logsumexp(logp, 0), torch.tensor(0.0), atol=1e-4, rtol=0)
