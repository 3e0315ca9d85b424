"""LatentEncoder: invariance, quantised latents, straight-through gradient into the encoder."""

from __future__ import annotations

import pytest
import torch

from discodock.data import keys as K
from discodock.models.latent_encoder import LatentEncoder
from discodock.models.latents import codes_to_global, codes_to_local, item_batch, item_rank
from discodock.models.score_net import ScoreNet


@pytest.mark.parametrize("mode", ["pointer", "global"])
def test_logits_are_invariant(mode, complexes, collate, build, as_dtype, move, rigid_motion):
    cfg, enc = build(LatentEncoder, mode, double=True)
    batch = as_dtype(collate(complexes), torch.float64)
    rot, shift = rigid_motion(7)
    with torch.no_grad():
        logits, items = enc(batch)
        moved, _ = enc(move(batch, rot, shift))
    n_items = batch[K.LIGAND][K.POS].shape[0] + batch[K.RECEPTOR][K.POS].shape[0]
    expected = (n_items, cfg.latent.m) if mode == "pointer" else (2, cfg.latent.m, cfg.latent.k)
    assert logits.shape == expected
    assert logits.std() > 1e-3
    torch.testing.assert_close(moved, logits, atol=1e-4, rtol=1e-4)
    if mode == "pointer":
        torch.testing.assert_close(items, item_batch(batch))


def test_encoder_reads_the_crystal_pose(complexes, collate, make_cfg):
    cfg = make_cfg("pointer")
    enc = LatentEncoder(cfg).eval()
    batch = collate(complexes)
    noised = batch.clone()
    noised[K.LIGAND][K.POS] = noised[K.LIGAND][K.POS] + 3.0
    with torch.no_grad():
        torch.testing.assert_close(enc(noised).logits, enc(batch).logits)
        moved = enc(noised, ligand_pos=noised[K.LIGAND][K.POS]).logits
    assert (moved - enc(batch).logits).abs().max() > 1e-4


@pytest.mark.parametrize("mode", ["pointer", "global"])
def test_encode_gives_one_hot_latents(mode, complexes, collate, make_cfg):
    cfg = make_cfg(mode)
    enc = LatentEncoder(cfg)
    batch = collate(complexes)
    lat = enc.encode(batch, temperature=1.0, generator=torch.Generator().manual_seed(0))
    codes = lat["codes"]
    assert codes.shape == (2, cfg.latent.m)
    assert lat["keep"].all()
    if mode == "pointer":
        onehot = torch.cat([lat["ligand"], lat["receptor"]])
        items = item_batch(batch)
        for b in range(2):
            # Exactly one item of each complex is chosen per latent, and it is the code's item.
            torch.testing.assert_close(onehot[items == b].sum(0), torch.ones(cfg.latent.m))
        assert (items[codes] == torch.arange(2)[:, None]).all()
        assert (onehot.detach()[codes, torch.arange(cfg.latent.m)] == 1).all()
    else:
        assert (lat["onehot"].detach().sum(-1) == 1).all()
        assert (lat["onehot"].detach().argmax(-1) == codes).all()


def test_encode_argmax_and_dropout(complexes, collate, make_cfg):
    cfg = make_cfg("pointer")
    enc = LatentEncoder(cfg).eval()
    batch = collate(complexes)
    with torch.no_grad():
        a = enc.encode(batch, sample=False)
        b = enc.encode(batch, sample=False, generator=torch.Generator().manual_seed(5))
        logits, items = enc(batch)
    torch.testing.assert_close(a["codes"], b["codes"])
    for i in range(2):
        rows = (items == i).nonzero()[:, 0]
        torch.testing.assert_close(rows[logits[rows].argmax(0)], a["codes"][i])
    dropped = enc.encode(batch, p_drop=1.0, generator=torch.Generator().manual_seed(0))
    assert not dropped["keep"].any()


@pytest.mark.parametrize("mode", ["pointer", "global"])
def test_straight_through_gradient_reaches_encoder(mode, complexes, collate, make_cfg):
    cfg = make_cfg(mode)
    torch.manual_seed(0)
    enc, net = LatentEncoder(cfg), ScoreNet(cfg)
    batch = collate(complexes)
    latents = enc.encode(batch, temperature=1.0, generator=torch.Generator().manual_seed(0))
    sigma = {"tr": torch.tensor([3.0, 1.0]), "rot": torch.tensor([0.5, 0.2]), "tor": torch.tensor([1.0, 0.5])}
    out = net(batch, sigma=sigma, latents=latents)
    (out["tr"].pow(2).sum() + out["rot"].pow(2).sum() + out["tor"].pow(2).sum()).backward()
    missing = [n for n, p in enc.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing, f"no gradient reached {missing}"


def test_local_and_global_codes_round_trip(complexes, collate):
    batch = collate(complexes)
    items, rank = item_batch(batch), item_rank(batch)
    n_lig = [c[K.LIGAND][K.POS].shape[0] for c in complexes]
    n_rec = [c[K.RECEPTOR][K.POS].shape[0] for c in complexes]
    # Complex 1's first ligand atom, and complex 0's first residue.
    local = torch.tensor([[0, n_lig[0]], [0, n_lig[1] + n_rec[1] - 1]])
    codes = codes_to_global(batch, local)
    assert codes[0].tolist() == [0, sum(n_lig)]
    assert codes[1].tolist() == [n_lig[0], sum(n_lig) + sum(n_rec) - 1]
    assert (items[codes] == torch.arange(2)[:, None]).all()
    torch.testing.assert_close(codes_to_local(batch, codes), local)
    assert sorted(rank[items == 1].tolist()) == list(range(n_lig[1] + n_rec[1]))
    with pytest.raises(ValueError):
        codes_to_global(batch, torch.tensor([[0, n_lig[0] + n_rec[0]], [0, 0]]))
