import math

import numpy as np
import pytest
import torch
from scipy import stats

from discodock.diffusion.components import (
    COMPONENTS,
    Pose,
    Rotation,
    Torsion,
    Translation,
    apply_updates,
    perturb_pose,
    sample_prior_pose,
)
from discodock.diffusion.noise import PoseNoiseSchedule
from discodock.geometry.rigid import axis_angle_to_matrix, kabsch
from discodock.geometry.torsion import torsion_angles, torsion_neighbors

D = torch.float64
BY_NAME = {c.name: c for c in COMPONENTS}


def _pose(lig, n=1, rigid=False):
    if rigid:
        return Pose.create(lig["pos"]).replicate(n)
    return Pose.create(lig["pos"], tor_bonds=lig["tor_bonds"], tor_mask=lig["tor_mask"]).replicate(n)


def _rmsd(a: Pose, b: Pose) -> torch.Tensor:
    sq = ((a.pos - b.pos) ** 2).sum(-1)
    n = torch.zeros(a.num_poses, dtype=D).index_add_(0, a.batch, torch.ones_like(sq))
    return (torch.zeros(a.num_poses, dtype=D).index_add_(0, a.batch, sq) / n).sqrt()


def _bond_lengths(pose: Pose, lig, n):
    N = lig["pos"].shape[0]
    pos = pose.pos.view(n, N, 3)
    e = lig["edge_index"]
    return (pos[:, e[0]] - pos[:, e[1]]).norm(dim=-1)


def test_pose_stack_is_block_diagonal(flexible_ligand, ring_ligand):
    a, b = _pose(flexible_ligand), _pose(ring_ligand, 2)
    p = Pose.stack([a, b])
    Na, Nb, Ta, Tb = 23, 22, a.num_torsions, ring_ligand["tor_bonds"].shape[0]
    assert p.num_poses == 3 and p.pos.shape == (Na + 2 * Nb, 3) and p.num_torsions == Ta + 2 * Tb
    assert p.batch.tolist() == [0] * Na + [1] * Nb + [2] * Nb
    assert p.tor_batch.tolist() == [0] * Ta + [1] * Tb + [2] * Tb
    assert torch.equal(p.tor_mask[Ta + Tb :, Na + Nb :], ring_ligand["tor_mask"])
    assert not p.tor_mask[:Ta, Na:].any() and not p.tor_mask[Ta:, :Na].any()
    # bonds index the right atoms after the offsets
    assert torch.equal(p.pos[p.tor_bonds[-1]], ring_ligand["pos"][ring_ligand["tor_bonds"][-1]])


def test_translation_and_rotation_moves(flexible_ligand):
    p = _pose(flexible_ligand, 3)
    g = torch.Generator().manual_seed(0)
    shift = torch.randn(3, 3, generator=g, dtype=D)
    moved = Translation().apply(p, shift)
    assert torch.allclose(moved.centroids() - p.centroids(), shift)
    rotvec = torch.randn(3, 3, generator=g, dtype=D)
    rotated = Rotation().apply(p, rotvec)
    assert torch.allclose(rotated.centroids(), p.centroids(), atol=1e-10)
    N = 23
    R, _ = kabsch(p.pos.view(3, N, 3), rotated.pos.view(3, N, 3))
    assert torch.allclose(R, axis_angle_to_matrix(rotvec), atol=1e-10)


def test_torsion_move_is_aligned_and_twists_exactly(flexible_ligand):
    lig, n = flexible_ligand, 4
    p = _pose(lig, n)
    g = torch.Generator().manual_seed(1)
    delta = (2 * torch.rand(p.num_torsions, generator=g, dtype=D) - 1) * math.pi
    aligned = Torsion().apply(p, delta)
    raw = Torsion(align=False).apply(p, delta)
    # same shape (bond lengths), same centroid, and no farther from the start than the unaligned twist
    assert torch.allclose(_bond_lengths(aligned, lig, n), _bond_lengths(p, lig, n), atol=1e-10)
    assert torch.allclose(aligned.centroids(), p.centroids(), atol=1e-10)
    assert bool((_rmsd(aligned, p) <= _rmsd(raw, p) + 1e-12).all())
    # Kabsch optimality: re-aligning the aligned pose onto the start does not move it
    R, t = kabsch(aligned.pos.view(n, 23, 3), p.pos.view(n, 23, 3))
    assert torch.allclose(R, torch.eye(3, dtype=D).expand(n, 3, 3), atol=1e-8)
    # every dihedral changed by its delta
    nbr = torsion_neighbors(lig["tor_bonds"], lig["edge_index"])
    before = torsion_angles(p.pos.view(n, 23, 3), lig["tor_bonds"], nbr)
    after = torsion_angles(aligned.pos.view(n, 23, 3), lig["tor_bonds"], nbr)
    assert torch.allclose(torch.cos(after - before - delta.view(n, -1)), torch.ones(n, p.num_torsions // n, dtype=D))


def test_stacked_batch_moves_like_separate_poses(flexible_ligand, ring_ligand):
    a, b = _pose(flexible_ligand), _pose(ring_ligand)
    both = Pose.stack([a, b])
    g = torch.Generator().manual_seed(2)
    upd = {"tr": torch.randn(2, 3, generator=g, dtype=D), "rot": torch.randn(2, 3, generator=g, dtype=D),
           "tor": torch.randn(both.num_torsions, generator=g, dtype=D)}
    moved = apply_updates(both, upd)
    Ta = a.num_torsions
    ma = apply_updates(a, {"tr": upd["tr"][:1], "rot": upd["rot"][:1], "tor": upd["tor"][:Ta]})
    mb = apply_updates(b, {"tr": upd["tr"][1:], "rot": upd["rot"][1:], "tor": upd["tor"][Ta:]})
    assert torch.allclose(moved.pos, torch.cat([ma.pos, mb.pos]), atol=1e-10)


@pytest.mark.parametrize("name", ["tr", "rot", "tor"])
def test_a_step_along_the_target_score_moves_back(flexible_ligand, name):
    comp = BY_NAME[name]
    p = _pose(flexible_ligand, 64)
    sigma = {"tr": 2.0, "rot": 0.5, "tor": 0.6}[name]
    g = torch.Generator().manual_seed(3)
    sigmas = {name: torch.full((64,), sigma, dtype=D)}
    noisy, target, item_sigma = perturb_pose(p, sigmas, generator=g, components=(comp,))
    back = comp.apply(noisy, 0.3 * sigma**2 * target[name])
    before, after = _rmsd(noisy, p), _rmsd(back, p)
    assert after.mean() < 0.85 * before.mean()
    assert (after < before).double().mean() > 0.8
    assert torch.equal(item_sigma[name], comp.per_item(p, torch.full((64,), sigma, dtype=D)))


@pytest.mark.parametrize("name,sigma", [("tr", 0.7), ("rot", 0.2), ("rot", 1.3), ("tor", 0.1), ("tor", 2.0)])
def test_perturbation_targets_have_the_expected_norm(name, sigma):
    comp = BY_NAME[name]
    sig = torch.full((20000,), sigma, dtype=D)
    _, target = comp.perturb(sig, generator=torch.Generator().manual_seed(4))
    sq = target.pow(2).reshape(len(sig), -1).sum(-1)
    expected = comp.score_norm(torch.tensor(sigma, dtype=D))
    assert abs(sq.mean() - expected) < 4 * sq.std() / math.sqrt(len(sq)) + 2e-3 * expected
    assert torch.allclose(comp.score_scale(sig[:2]) ** 2 * max(1, math.prod(comp.item_shape)), comp.score_norm(sig[:2]))


def test_priors(flexible_ligand):
    g = torch.Generator().manual_seed(5)
    tr = Translation().sample_prior(4000, sigma_max=19.0, generator=g, dtype=D)
    assert stats.kstest(tr.flatten().numpy() / 19.0, stats.norm.cdf).pvalue > 1e-3
    rot = Rotation().sample_prior(4000, sigma_max=1.55, generator=g, dtype=D)
    assert stats.kstest(rot.norm(dim=-1).numpy(), lambda w: (w - np.sin(w)) / np.pi).pvalue > 1e-3
    tor = Torsion().sample_prior(4000, sigma_max=math.pi, generator=g, dtype=D)
    assert stats.kstest(tor.numpy(), stats.uniform(loc=-math.pi, scale=2 * math.pi).cdf).pvalue > 1e-3
    # a whole prior pose: centroid around the given centre, uniform dihedrals, bond lengths kept
    lig, n = flexible_ligand, 300
    center = torch.tensor([10.0, -5.0, 3.0], dtype=D)
    p = sample_prior_pose(_pose(lig, n), schedule=PoseNoiseSchedule(), center=center, generator=g)
    c = p.centroids()
    assert ((c.mean(0) - center).abs() < 4 * 19 / math.sqrt(n)).all()
    assert ((c.std(0) / 19 - 1).abs() < 0.15).all()
    nbr = torsion_neighbors(lig["tor_bonds"], lig["edge_index"])
    dih = torsion_angles(p.pos.view(n, 23, 3), lig["tor_bonds"], nbr)
    for t in range(dih.shape[1]):
        assert stats.kstest(dih[:, t].numpy(), stats.uniform(loc=-math.pi, scale=2 * math.pi).cdf).pvalue > 1e-4
    assert torch.allclose(_bond_lengths(p, lig, n), _bond_lengths(_pose(lig, n), lig, n), atol=1e-9)


def test_rigid_ligand_through_every_verb(flexible_ligand):
    p = _pose(flexible_ligand, 3, rigid=True)
    assert p.num_torsions == 0 and p.tor_mask.shape == (0, 69)
    sched = PoseNoiseSchedule()
    g = torch.Generator().manual_seed(6)
    noisy, target, item_sigma = perturb_pose(p, sched.sigmas(torch.rand(3, dtype=D)), generator=g)
    assert target["tor"].shape == (0,) and item_sigma["tor"].shape == (0,)
    prior = sample_prior_pose(p, schedule=sched, generator=g)
    assert torch.isfinite(prior.pos).all()
    step = Torsion().step(target["tor"], sigma=item_sigma["tor"], sigma_next=item_sigma["tor"] / 2)
    assert step.shape == (0,)


def test_step_rules():
    comp = Translation()
    g = torch.Generator().manual_seed(8)
    score = torch.randn(5, 3, generator=g, dtype=D)
    s, s_next = torch.full((5,), 2.0, dtype=D), torch.full((5,), 1.5, dtype=D)
    a = 2 * 4.0 * math.log(2.0 / 1.5)  # g^2 dt on a geometric schedule
    assert torch.allclose(comp.step(score, sigma=s, sigma_next=s_next, ode=True), 0.5 * a * score)
    sde = comp.step(score, sigma=s, sigma_next=s_next, add_noise=False)
    assert torch.allclose(sde, a * score)
    assert torch.allclose(comp.step(score, sigma=s, sigma_next=s_next, ode=True, rule="sigma"), 2.0 * 0.5 * score)
    many = dict(sigma=s[:1].expand(2000), sigma_next=s_next[:1].expand(2000))
    noisy = comp.step(torch.zeros(2000, 3, dtype=D), **many, generator=g)
    assert noisy.std().item() == pytest.approx(math.sqrt(a), rel=0.05)
    # temperature 1 is no-op; temperature < 1 strengthens the drift
    hot = comp.step(score, sigma=s, sigma_next=s_next, ode=True, temperature=0.5, sigma_data=1.0)
    assert torch.allclose(hot, 0.5 * a * score * (1 + 4) / (0.5 + 4))
    with pytest.raises(ValueError):
        comp.step(score, sigma=s, sigma_next=s_next, rule="heun")
