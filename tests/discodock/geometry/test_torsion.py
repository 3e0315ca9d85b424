import math

import pytest
import torch
from rdkit.Chem import rdMolTransforms

from discodock.geometry.torsion import apply_torsion_updates, dihedral, torsion_angles, torsion_neighbors

D = torch.float64


def _bond_lengths(pos, edge_index):
    return (pos[..., edge_index[0], :] - pos[..., edge_index[1], :]).norm(dim=-1)


def _bond_angles(pos, edge_index):
    """Cosines of every angle a-b-c between two bonds sharing atom b."""
    src, dst = edge_index.tolist()
    triples = [(a, b, c) for (a, b) in zip(src, dst) for (b2, c) in zip(src, dst) if b2 == b and c != a and a < c]
    a, b, c = (torch.tensor(x) for x in zip(*triples))
    u = pos[..., a, :] - pos[..., b, :]
    w = pos[..., c, :] - pos[..., b, :]
    return (u * w).sum(-1) / (u.norm(dim=-1) * w.norm(dim=-1))


def test_dihedral_matches_rdkit(flexible_ligand):
    lig = flexible_ligand
    conf = lig["mol"].GetConformer()
    nbr = torsion_neighbors(lig["tor_bonds"], lig["edge_index"])
    ours = torsion_angles(lig["pos"], lig["tor_bonds"], nbr)
    for t, ((u, v), (a, d)) in enumerate(zip(lig["tor_bonds"].tolist(), nbr.tolist())):
        ref = rdMolTransforms.GetDihedralRad(conf, a, u, v, d)
        assert math.cos(ours[t].item() - ref) == pytest.approx(1.0, abs=1e-10)


def test_twists_keep_bond_lengths_and_angles(flexible_ligand):
    lig = flexible_ligand
    g = torch.Generator().manual_seed(0)
    T = lig["tor_bonds"].shape[0]
    delta = (2 * torch.rand(16, T, generator=g, dtype=D) - 1) * math.pi
    for dtype, tol in ((D, 1e-10), (torch.float32, 1e-4)):
        pos = lig["pos"].to(dtype)
        new = apply_torsion_updates(pos, lig["tor_bonds"], lig["tor_mask"], delta.to(dtype))
        assert new.shape == (16, *pos.shape) and new.dtype == dtype
        assert (_bond_lengths(new, lig["edge_index"]) - _bond_lengths(pos, lig["edge_index"])).abs().max() < tol
        assert (_bond_angles(new, lig["edge_index"]) - _bond_angles(pos, lig["edge_index"])).abs().max() < 10 * tol
    # the twists do change the shape
    assert (new - lig["pos"].float()).norm(dim=-1).max() > 1.0


def test_only_masked_atoms_move_and_about_the_right_axis(flexible_ligand):
    lig = flexible_ligand
    pos = lig["pos"]
    for t in range(lig["tor_bonds"].shape[0]):
        delta = torch.zeros(lig["tor_bonds"].shape[0], dtype=D)
        delta[t] = 1.1
        new = apply_torsion_updates(pos, lig["tor_bonds"], lig["tor_mask"], delta)
        moved = (new - pos).norm(dim=-1) > 1e-9
        mask = lig["tor_mask"][t]
        assert not bool((moved & ~mask).any())
        # atoms off the bond axis on the moving side do move; distances to both bond atoms are kept
        u, v = lig["tor_bonds"][t].tolist()
        for end in (u, v):
            assert torch.allclose((new - new[end]).norm(dim=-1), (pos - pos[end]).norm(dim=-1), atol=1e-10)
        assert bool(moved[mask].any())


def test_every_dihedral_changes_by_its_delta(flexible_ligand):
    lig = flexible_ligand
    nbr = torsion_neighbors(lig["tor_bonds"], lig["edge_index"])
    g = torch.Generator().manual_seed(1)
    T = lig["tor_bonds"].shape[0]
    delta = (2 * torch.rand(4, T, generator=g, dtype=D) - 1) * 3.0
    new = apply_torsion_updates(lig["pos"], lig["tor_bonds"], lig["tor_mask"], delta)
    change = torsion_angles(new, lig["tor_bonds"], nbr) - torsion_angles(lig["pos"], lig["tor_bonds"], nbr)
    # right-handed twist about u -> v raises the IUPAC dihedral a-u-v-d by delta (mod 2 pi)
    assert torch.allclose(torch.cos(change - delta), torch.ones_like(delta), atol=1e-12)
    assert torch.allclose(torch.sin(change - delta), torch.zeros_like(delta), atol=1e-6)


def test_full_turn_is_identity_and_updates_compose(flexible_ligand):
    lig = flexible_ligand
    T = lig["tor_bonds"].shape[0]
    args = (lig["tor_bonds"], lig["tor_mask"])
    full = apply_torsion_updates(lig["pos"], *args, torch.full((T,), 2 * math.pi, dtype=D))
    assert torch.allclose(full, lig["pos"], atol=1e-10)
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(T, generator=g, dtype=D), torch.randn(T, generator=g, dtype=D)
    twice = apply_torsion_updates(apply_torsion_updates(lig["pos"], *args, a), *args, b)
    once = apply_torsion_updates(lig["pos"], *args, a + b)
    assert torch.allclose(twice, once, atol=1e-9)


def test_batched_molecules_and_samples_match_one_at_a_time(flexible_ligand, ring_ligand):
    ligs = [flexible_ligand, ring_ligand]
    n = [l["pos"].shape[0] for l in ligs]
    pos = torch.cat([l["pos"] for l in ligs])
    tor_bonds = torch.cat([ligs[0]["tor_bonds"], ligs[1]["tor_bonds"] + n[0]])
    tor_mask = torch.block_diag(*[l["tor_mask"].to(torch.uint8) for l in ligs]).bool()
    tor_batch = torch.cat([torch.full((l["tor_bonds"].shape[0],), i) for i, l in enumerate(ligs)])
    g = torch.Generator().manual_seed(3)
    delta = torch.randn(3, tor_bonds.shape[0], generator=g, dtype=D)
    batched = apply_torsion_updates(pos, tor_bonds, tor_mask, delta, tor_batch=tor_batch)
    sequential = apply_torsion_updates(pos, tor_bonds, tor_mask, delta)
    assert torch.allclose(batched, sequential, atol=1e-10)
    T0 = ligs[0]["tor_bonds"].shape[0]
    for s in range(3):
        alone = apply_torsion_updates(ligs[1]["pos"], ligs[1]["tor_bonds"], ligs[1]["tor_mask"], delta[s, T0:])
        assert torch.allclose(batched[s, n[0]:], alone, atol=1e-10)
    # samples given as [S, N, 3] too
    stacked = apply_torsion_updates(pos.expand(3, -1, -1), tor_bonds, tor_mask, delta, tor_batch=tor_batch)
    assert torch.allclose(stacked, batched, atol=1e-12)
    with pytest.raises(ValueError):  # a wrong tor_batch would twist overlapping atoms together
        wrong = torch.arange(len(tor_batch)) % 2
        apply_torsion_updates(pos, tor_bonds, tor_mask, delta[0], tor_batch=wrong)


def test_no_rotatable_bonds_and_gradients(flexible_ligand):
    pos = flexible_ligand["pos"]
    none = (torch.zeros(0, 2, dtype=torch.long), torch.zeros(0, len(pos), dtype=torch.bool))
    out = apply_torsion_updates(pos, *none, torch.zeros(0, dtype=D))
    assert torch.equal(out, pos) and out is not pos
    delta = torch.zeros(flexible_ligand["tor_bonds"].shape[0], dtype=D, requires_grad=True)
    new = apply_torsion_updates(pos, flexible_ligand["tor_bonds"], flexible_ligand["tor_mask"], delta)
    new.pow(2).sum().backward()
    assert torch.isfinite(delta.grad).all() and delta.grad.abs().max() > 0


def test_dihedral_sign_convention():
    p0 = torch.tensor([1.0, 0.0, 0.0], dtype=D)
    p1 = torch.tensor([0.0, 0.0, 0.0], dtype=D)
    p2 = torch.tensor([0.0, 0.0, 1.0], dtype=D)
    for angle in (0.3, 1.7, -2.5):
        p3 = torch.tensor([math.cos(angle), math.sin(angle), 1.0], dtype=D)
        # p3 is p0's direction turned right-handed about p1 -> p2 (+z) by angle: seen looking along +z that
        # turn is clockwise, so the IUPAC dihedral is +angle (RDKit agrees, see test_dihedral_matches_rdkit)
        assert dihedral(p0, p1, p2, p3).item() == pytest.approx(angle, abs=1e-12)
