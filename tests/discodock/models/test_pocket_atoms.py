"""The all-atom pocket in the score network: the atoms are read, batching is exact, every new weight learns,
and networks without the flag are the ones the shipped weights were made with."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from discodock.data import keys as K
from discodock.models.score_net import ScoreNet

from .test_score_net import fixed_latents, sigma_for

ATOMS = {"pocket_atoms": True, "site_features": True, "sidechain_vectors": True}
WEIGHTS = Path(__file__).resolve().parents[3] / "discodock" / "weights"


def test_moving_only_the_atoms_changes_the_scores(atom_complexes, collate, make_cfg):
    cfg = make_cfg("pointer", **ATOMS)
    torch.manual_seed(0)
    net = ScoreNet(cfg).eval()
    batch = collate(atom_complexes)
    shifted = batch.clone()
    shifted[K.RECEPTOR_ATOM][K.POS] = batch[K.RECEPTOR_ATOM][K.POS] + torch.tensor([0.7, -0.4, 0.3])
    latents = fixed_latents(cfg, batch, keep=[True, True])
    with torch.no_grad():
        a = net(batch, sigma=sigma_for(2), latents=latents)
        b = net(shifted, sigma=sigma_for(2), latents=latents)
    for key in ("tr", "rot", "tor"):
        assert (a[key] - b[key]).abs().max() > 1e-5, key


def test_batch_matches_single_complexes_with_atoms(atom_complexes, collate, make_cfg):
    cfg = make_cfg("none", **ATOMS)
    torch.manual_seed(0)
    net = ScoreNet(cfg).eval()
    with torch.no_grad():
        out = net(collate(atom_complexes), sigma=sigma_for(2))
        tor_start = 0
        for i, c in enumerate(atom_complexes):
            alone = net(collate([c]), sigma=sigma_for(1, start=i))
            torch.testing.assert_close(alone["tr"][0], out["tr"][i], atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(alone["rot"][0], out["rot"][i], atol=1e-5, rtol=1e-4)
            n = alone["tor"].shape[0]
            torch.testing.assert_close(alone["tor"], out["tor"][tor_start:tor_start + n], atol=1e-5, rtol=1e-4)
            tor_start += n


def test_gradient_reaches_every_atom_weight(atom_complexes, collate, make_cfg):
    cfg = make_cfg("pointer", **ATOMS)
    torch.manual_seed(0)
    net = ScoreNet(cfg)
    batch = collate(atom_complexes)
    out = net(batch, sigma=sigma_for(2), latents=fixed_latents(cfg, batch, keep=[True, False]))
    (out["tr"].pow(2).sum() + out["rot"].pow(2).sum() + out["tor"].pow(2).sum()).backward()
    names = [n for n, _ in net.named_parameters() if ".atoms." in n]
    assert names
    missing = [n for n, p in net.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing, f"no gradient for {missing}"


def test_a_graph_without_atoms_is_refused_with_a_clear_error(complexes, collate, make_cfg):
    net = ScoreNet(make_cfg("none", **ATOMS)).eval()
    with pytest.raises(ValueError, match="data.pocket_atoms"):
        net(collate(complexes), sigma=sigma_for(2))


def test_networks_without_the_flag_match_the_shipped_weights():
    from discodock.models.bundle import load_models, read_checkpoint

    path = WEIGHTS / "discodock_cpu.pt"
    if not path.is_file():
        pytest.skip("shipped weights not present")
    models, cfg, _ = load_models(path)
    assert not cfg.data.pocket_atoms and models.score.trunk.atoms is None
    state = read_checkpoint(path)["state"]["models"]
    own = {k: v.shape for k, v in models.state_dict().items()}
    assert own == {k: v.shape for k, v in state.items()}  # every tensor, no more and no fewer
