"""ScoreNet: equivariance, batching, gradients and latent conditioning on real complexes."""

from __future__ import annotations

import math

import pytest
import torch

from discodock.data import keys as K
from discodock.models.latents import codes_to_global, codes_to_latents, item_batch
from discodock.models.score_net import ScoreNet

SIGMA = {"tr": [6.0, 0.8], "rot": [0.9, 0.1], "tor": [1.5, 0.2]}


def sigma_for(n: int, dtype=torch.float32, start: int = 0) -> dict[str, torch.Tensor]:
    return {c: torch.tensor(v[start:start + n], dtype=dtype) for c, v in SIGMA.items()}


def fixed_latents(cfg, batch, *, keep, seed=0):
    """Deterministic latents for a batch: random pointer items (local to each complex) or global codes."""
    if not cfg.latent.active:
        return None
    gen = torch.Generator().manual_seed(seed)
    b = batch.num_graphs
    keep = torch.tensor(keep)
    if cfg.latent.mode == "pointer":
        counts = torch.bincount(item_batch(batch), minlength=b)
        local = (torch.rand(b, cfg.latent.m, generator=gen) * counts[:, None]).long()
        codes = codes_to_global(batch, local)
    else:
        codes = torch.randint(cfg.latent.k, (b, cfg.latent.m), generator=gen)
    return codes_to_latents(batch, codes, latent=cfg.latent, keep=keep)


def in_dtype(latents, dtype):
    if latents is None:
        return None
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in latents.items()}


LEGACY_TORSION_HEAD = {"tor_edge_lmax": 1, "tor_fourier": 0}  # checkpoints made before 2026-11-28
SITE_AWARE = {"site_features": True, "sidechain_vectors": True}  # the cpu_site networks
ATOMS = {"pocket_atoms": True}  # receptor heavy atoms as nodes (the cpu_site_atoms score network)


@pytest.mark.parametrize(
    "mode, lmax, head",
    [("none", 1, {}), ("pointer", 1, {}), ("global", 1, {}), ("pointer", 2, {}), ("pointer", 1, LEGACY_TORSION_HEAD),
     ("pointer", 1, SITE_AWARE), ("none", 2, SITE_AWARE), ("pointer", 1, SITE_AWARE | ATOMS), ("none", 2, ATOMS)],
)
def test_equivariance(mode, lmax, head, request, collate, make_cfg, as_dtype, move, rigid_motion):
    cfg = make_cfg(mode, sh_lmax=lmax, **head)
    torch.manual_seed(0)
    net = ScoreNet(cfg).double().eval()
    complexes = request.getfixturevalue("atom_complexes" if head.get("pocket_atoms") else "complexes")
    batch = as_dtype(collate(complexes), torch.float64)
    # Move the ligand off its crystal pose so the outputs are not special.
    gen = torch.Generator().manual_seed(1)
    batch[K.LIGAND][K.POS] = batch[K.LIGAND][K.POS] + torch.randn(3, generator=gen, dtype=torch.float64)
    latents = in_dtype(fixed_latents(cfg, batch, keep=[True, False]), torch.float64)
    sigma = sigma_for(2, torch.float64)
    rot, shift = rigid_motion(3)
    with torch.no_grad():
        out = net(batch, sigma=sigma, latents=latents)
        moved = net(move(batch, rot, shift), sigma=sigma, latents=latents)
    assert out["tr"].shape == (2, 3) and out["rot"].shape == (2, 3)
    assert out["tor"].shape == (batch[K.LIGAND][K.TOR_BONDS].shape[0],)
    for key in ("tr", "rot", "tor"):
        assert torch.isfinite(out[key]).all()
        assert out[key].abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(moved["tr"], out["tr"] @ rot.T, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(moved["rot"], out["rot"] @ rot.T, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(moved["tor"], out["tor"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("mode", ["none", "pointer", "global"])
def test_batch_matches_single_complexes(mode, complexes, collate, make_cfg):
    cfg = make_cfg(mode)
    torch.manual_seed(0)
    net = ScoreNet(cfg).eval()
    batch = collate(complexes)
    latents = fixed_latents(cfg, batch, keep=[True, True], seed=3)
    with torch.no_grad():
        out = net(batch, sigma=sigma_for(2), latents=latents)
    tor_start = 0
    for i, c in enumerate(complexes):
        single = collate([c])
        lat = None
        if latents is not None:
            sub = {"keep": latents["keep"][i : i + 1]}
            if cfg.latent.mode == "pointer":
                sub["ligand"] = latents["ligand"][batch[K.LIGAND].batch == i]
                sub["receptor"] = latents["receptor"][batch[K.RECEPTOR].batch == i]
            else:
                sub["onehot"] = latents["onehot"][i : i + 1]
            lat = sub
        with torch.no_grad():
            alone = net(single, sigma=sigma_for(1, start=i), latents=lat)
        n_tor = c[K.LIGAND][K.TOR_BONDS].shape[0]
        torch.testing.assert_close(alone["tr"][0], out["tr"][i], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(alone["rot"][0], out["rot"][i], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(alone["tor"], out["tor"][tor_start : tor_start + n_tor], atol=1e-5, rtol=1e-4)
        tor_start += n_tor


@pytest.mark.parametrize("mode", ["pointer", "global"])
def test_gradient_reaches_every_parameter(mode, complexes, collate, build):
    cfg, net = build(ScoreNet, mode)
    batch = collate(complexes)
    # One kept and one dropped example, so the latent embedding and the null embedding both get used.
    out = net(batch, sigma=sigma_for(2), latents=fixed_latents(cfg, batch, keep=[True, False]))
    (out["tr"].pow(2).sum() + out["rot"].pow(2).sum() + out["tor"].pow(2).sum()).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing, f"no gradient for {missing}"


def test_pointer_labels_change_the_output(complexes, collate, make_cfg):
    cfg = make_cfg("pointer")
    torch.manual_seed(0)
    net = ScoreNet(cfg).eval()
    batch = collate(complexes)
    sigma = sigma_for(2)
    with torch.no_grad():
        a = net(batch, sigma=sigma, latents=fixed_latents(cfg, batch, keep=[True, True], seed=0))
        b = net(batch, sigma=sigma, latents=fixed_latents(cfg, batch, keep=[True, True], seed=1))
        dropped = net(batch, sigma=sigma, latents=fixed_latents(cfg, batch, keep=[False, False], seed=0))
        dropped_other = net(batch, sigma=sigma, latents=fixed_latents(cfg, batch, keep=[False, False], seed=1))
        none = net(batch, sigma=sigma, latents=None)
    for key in ("tr", "rot", "tor"):
        assert (a[key] - b[key]).abs().max() > 1e-4, key
        assert (a[key] - dropped[key]).abs().max() > 1e-4, key
        # Dropped examples ignore their labels, and no latents at all means every example dropped.
        torch.testing.assert_close(dropped[key], dropped_other[key])
        torch.testing.assert_close(dropped[key], none[key])


def test_global_codes_change_the_output(complexes, collate, make_cfg):
    cfg = make_cfg("global")
    torch.manual_seed(0)
    net = ScoreNet(cfg).eval()
    batch = collate(complexes)
    with torch.no_grad():
        a = net(batch, sigma=sigma_for(2), latents=fixed_latents(cfg, batch, keep=[True, True], seed=0))
        b = net(batch, sigma=sigma_for(2), latents=fixed_latents(cfg, batch, keep=[True, True], seed=5))
    assert (a["tr"] - b["tr"]).abs().max() > 1e-4


def test_score_norm_callables_scale_outputs(complexes, collate, make_cfg):
    from discodock.geometry import so3, torus

    cfg = make_cfg("none")
    torch.manual_seed(0)
    net = ScoreNet(cfg).eval()
    scaled = ScoreNet(cfg, rot_score_norm=lambda s: 4.0 * so3.score_norm(s), tor_score_norm=lambda s: 9.0 * torus.score_norm(s))
    scaled.load_state_dict(net.state_dict())
    batch = collate(complexes)
    with torch.no_grad():
        a = net(batch, sigma=sigma_for(2))
        b = scaled.eval()(batch, sigma=sigma_for(2))
    torch.testing.assert_close(b["rot"], 2.0 * a["rot"])
    torch.testing.assert_close(b["tor"], 3.0 * a["tor"])
    torch.testing.assert_close(b["tr"], a["tr"])


def test_ligand_without_rotatable_bonds(complexes, collate, make_cfg):
    cfg = make_cfg("pointer")
    net = ScoreNet(cfg).eval()
    c = complexes[0].clone()
    n = c[K.LIGAND][K.POS].shape[0]
    c[K.LIGAND][K.TOR_BONDS] = torch.zeros(0, 2, dtype=torch.long)
    c[K.LIGAND][K.TOR_MASK] = torch.zeros(0, n, dtype=torch.bool)
    with torch.no_grad():
        out = net(collate([c]), sigma=sigma_for(1))
    assert out["tor"].shape == (0,)
    assert torch.isfinite(out["tr"]).all() and torch.isfinite(out["rot"]).all()


def test_torsion_score_is_the_same_from_either_end_of_the_bond(complexes, collate, make_cfg, as_dtype):
    """A twist of (u, v) and of (v, u) is one move, so listing a bond the other way round changes nothing."""
    cfg = make_cfg("pointer")
    torch.manual_seed(0)
    net = ScoreNet(cfg).double().eval()
    batch = as_dtype(collate(complexes), torch.float64)
    flipped = batch.clone()
    flipped[K.LIGAND][K.TOR_BONDS] = batch[K.LIGAND][K.TOR_BONDS].flip(1)
    with torch.no_grad():
        a = net(batch, sigma=sigma_for(2, torch.float64))
        b = net(flipped, sigma=sigma_for(2, torch.float64))
    torch.testing.assert_close(a["tor"], b["tor"])


class _Constant(torch.nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, h):
        return self.value.expand(h.shape[0], -1)


def test_torsion_fourier_term_follows_the_dihedral_angle(complexes, collate, make_cfg, as_dtype):
    """With coefficients fixed to (c, a_1, b_1, ...) = (0, 0, 1, 0, ...) the torsion score is sin(phi) times
    its scale, with phi the dihedral RDKit measures on the same four atoms."""
    from rdkit import Chem
    from rdkit.Chem import rdMolTransforms
    from rdkit.Geometry import Point3D

    from discodock.geometry import torus
    from discodock.geometry.torsion import torsion_neighbors

    cfg = make_cfg("none")
    net = ScoreNet(cfg).double().eval()
    n_out = net.tor_out[-1].out_features
    assert n_out == 1 + 2 * cfg.score.tor_fourier
    fixed = torch.zeros(n_out, dtype=torch.float64)
    fixed[2] = 1.0  # b_1: the sin(phi) coefficient
    net.tor_out = _Constant(fixed)

    c = complexes[0]
    batch = as_dtype(collate([c]), torch.float64)
    sigma = sigma_for(1, torch.float64)
    with torch.no_grad():
        tor = net(batch, sigma=sigma)["tor"]
    scale = torch.sqrt(torus.score_norm(sigma["tor"]))
    bonds = c[K.LIGAND][K.TOR_BONDS]
    nbrs = torsion_neighbors(bonds, c[K.LIGAND_BOND][K.EDGE_INDEX])
    pos = c[K.LIGAND][K.POS].double()
    conf = Chem.Conformer(pos.shape[0])
    for i, p in enumerate(pos.tolist()):
        conf.SetAtomPosition(i, Point3D(*p))
    expected = []
    for (u, v), (a, d) in zip(bonds.tolist(), nbrs.tolist()):
        phi = rdMolTransforms.GetDihedralRad(conf, a, u, v, d)
        expected.append(scale[0] * math.sin(phi))
    torch.testing.assert_close(tor, torch.stack(expected))


def test_site_aware_net_reads_the_site(complexes, collate, make_cfg):
    """With site features the translation score changes when only the site moves (nothing else does), and
    the learned pull alone can point the ligand centre at the site; without them the site is ignored."""
    for site_aware, should_change in ((True, True), (False, False)):
        cfg = make_cfg("none", **(SITE_AWARE if site_aware else {}))
        torch.manual_seed(0)
        net = ScoreNet(cfg).eval()
        batch = collate(complexes)
        sigma = sigma_for(2)
        with torch.no_grad():
            out = net(batch, sigma=sigma)
            batch[K.POCKET_CENTER] = batch[K.POCKET_CENTER] + torch.tensor([3.0, -2.0, 1.0])
            moved = net(batch, sigma=sigma)
        changed = not torch.allclose(out["tr"], moved["tr"], atol=1e-6)
        assert changed == should_change


def contact_latents(cfg, batch, *, keep, seed=0):
    """Contact latents: a random ligand atom, then a random residue of each complex."""
    gen = torch.Generator().manual_seed(seed)
    b = batch.num_graphs
    n_lig = torch.bincount(batch[K.LIGAND].batch, minlength=b)
    n_rec = torch.bincount(batch[K.RECEPTOR].batch, minlength=b)
    atom = (torch.rand(b, generator=gen) * n_lig).long()
    residue = n_lig + (torch.rand(b, generator=gen) * n_rec).long()
    codes = codes_to_global(batch, torch.stack([atom, residue], dim=1))
    return codes_to_latents(batch, codes, latent=cfg.latent, keep=torch.tensor(keep))


def test_contact_pull(complexes, collate, make_cfg, as_dtype, move, rigid_motion):
    """The contact-pull head: zero at the start (a warm start keeps the parent's scores), equivariant once
    trained, moved by the picked pair, and silent for dropped examples."""
    parent_cfg = make_cfg("contact", **SITE_AWARE)
    cfg = make_cfg("contact", contact_pull=True, **SITE_AWARE)
    torch.manual_seed(0)
    parent = ScoreNet(parent_cfg).double().eval()
    net = ScoreNet(cfg).double().eval()
    missing, unexpected = net.load_state_dict(parent.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith(("contact_pull.", "contact_rbf.")) for k in missing)
    batch = as_dtype(collate(complexes), torch.float64)
    gen = torch.Generator().manual_seed(1)
    batch[K.LIGAND][K.POS] = batch[K.LIGAND][K.POS] + torch.randn(3, generator=gen, dtype=torch.float64)
    latents = in_dtype(contact_latents(cfg, batch, keep=[True, False]), torch.float64)
    sigma = sigma_for(2, torch.float64)
    with torch.no_grad():
        start, before = net(batch, sigma=sigma, latents=latents), parent(batch, sigma=sigma, latents=latents)
    for key in ("tr", "rot", "tor"):
        torch.testing.assert_close(start[key], before[key])

    torch.nn.init.normal_(net.contact_pull[-1].weight, std=0.5)  # as if trained
    rot, shift = rigid_motion(3)
    other = in_dtype(contact_latents(cfg, batch, keep=[True, False], seed=5), torch.float64)
    with torch.no_grad():
        out = net(batch, sigma=sigma, latents=latents)
        moved = net(move(batch, rot, shift), sigma=sigma, latents=latents)
        swapped = net(batch, sigma=sigma, latents=other)
    torch.testing.assert_close(moved["tr"], out["tr"] @ rot.T, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(moved["rot"], out["rot"] @ rot.T, atol=1e-6, rtol=1e-6)
    for key in ("tr", "rot"):
        assert (out[key][0] - before[key][0]).abs().max() > 1e-3  # the kept example hears its contact
        torch.testing.assert_close(out[key][1], before[key][1])  # the dropped one does not
        assert (out[key][0] - swapped[key][0]).abs().max() > 1e-3  # another pair, another push


def test_contact_pull_needs_contact_latents(make_cfg):
    from discodock.errors import ConfigError

    with pytest.raises(ConfigError, match="contact_pull needs contact latents"):
        make_cfg("pointer", contact_pull=True)
