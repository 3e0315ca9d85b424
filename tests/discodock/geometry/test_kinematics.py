"""Forward kinematics of a flexible ligand (translation, rotation, torsions relative to reference poses)."""

import math

import pytest
import torch

from discodock.errors import ConfigError
from discodock.geometry.kinematics import LigandKinematics
from discodock.geometry.rigid import axis_angle_to_matrix, random_rotation_vectors
from discodock.geometry.torsion import apply_torsion_updates, torsion_angles, torsion_neighbors

D = torch.float64


def _refs(lig, S, seed=0):
    """S reference poses of the ligand: the crystal pose twisted and moved at random (distinct per pose)."""
    g = torch.Generator().manual_seed(seed)
    T = lig["tor_bonds"].shape[0]
    delta = torch.rand(S, T, generator=g, dtype=D) * 6
    twisted = apply_torsion_updates(lig["pos"], lig["tor_bonds"], lig["tor_mask"], delta)
    R = axis_angle_to_matrix(random_rotation_vectors(S, generator=g, dtype=D))
    return twisted @ R.mT + 5 * torch.randn(S, 1, 3, generator=g, dtype=D)


def _params(B, T, seed):
    g = torch.Generator().manual_seed(seed)
    return (
        3 * torch.randn(B, 3, generator=g, dtype=D),
        random_rotation_vectors(B, generator=g, dtype=D),
        (2 * torch.rand(B, T, generator=g, dtype=D) - 1) * math.pi,
    )


@pytest.fixture(params=["flexible", "ring"])
def ligand(request, flexible_ligand, ring_ligand):
    return flexible_ligand if request.param == "flexible" else ring_ligand


def test_zero_parameters_give_each_reference_pose_exactly(ligand):
    refs = _refs(ligand, 4)
    kin = LigandKinematics.create(refs, ligand["tor_bonds"], ligand["tor_mask"])
    T = kin.num_torsions
    for dtype in (D, torch.float32):
        kin_d = LigandKinematics.create(refs.to(dtype), ligand["tor_bonds"], ligand["tor_mask"])
        idx = torch.tensor([2, 0, 3, 3, 1])
        zero = torch.zeros(5, 3 + 3 + T, dtype=dtype)
        out = kin_d.coords(zero[:, :3], zero[:, 3:6], zero[:, 6:], idx)
        assert torch.equal(out, refs.to(dtype)[idx])  # bit for bit
    eye = torch.eye(3, dtype=D).expand(4, 3, 3)
    assert torch.equal(kin.coords(torch.zeros(4, 3, dtype=D), eye, torch.zeros(4, T, dtype=D)), refs)


def test_bonds_angles_and_rigid_fragments_keep_their_shape(ligand):
    refs = _refs(ligand, 3)
    kin = LigandKinematics.create(refs, ligand["tor_bonds"], ligand["tor_mask"])
    B = 12
    idx = torch.arange(B) % 3
    out = kin.coords(*_params(B, kin.num_torsions, 1), idx)
    dist = lambda p: (p[..., :, None, :] - p[..., None, :, :]).norm(dim=-1)  # noqa: E731
    d_new, d_ref = dist(out), dist(refs[idx])
    # atoms on the same side of every rotatable bond form one rigid fragment: all their distances are kept
    mask = ligand["tor_mask"]
    same_fragment = (mask[:, :, None] == mask[:, None, :]).all(0)
    src, dst = ligand["edge_index"]
    bonded = torch.zeros_like(same_fragment)
    bonded[src, dst] = True
    angle = (bonded.double() @ bonded.double()) > 0  # 1-3 pairs: their distance fixes the bond angle
    keep = same_fragment | bonded | angle
    assert (d_new - d_ref)[:, keep].abs().max() < 1e-10
    # ... and the torsions did change the shape elsewhere
    assert (d_new - d_ref)[:, ~keep].abs().max() > 1.0


def test_every_dihedral_changes_by_its_torsion_and_matches_sequential_twists(flexible_ligand):
    lig = flexible_ligand
    refs = _refs(lig, 2)
    kin = LigandKinematics.create(refs, lig["tor_bonds"], lig["tor_mask"])
    # the moving sides are the smaller ones (rooted at the tree centroid)
    n = refs.shape[1]
    assert bool((kin.moving.sum(1) <= n / 2).all())
    tr, rv, tor = _params(6, kin.num_torsions, 2)
    idx = torch.tensor([0, 1, 0, 1, 0, 1])
    out = kin.coords(tr, rv, tor, idx)
    bonds = torch.stack([kin.axis_from, kin.axis_to], 1)
    nbr = torsion_neighbors(bonds, lig["edge_index"])
    change = torsion_angles(out, bonds, nbr) - torsion_angles(refs[idx], bonds, nbr)
    assert torch.allclose(torch.cos(change - tor), torch.ones_like(tor), atol=1e-12)
    assert torch.allclose(torch.sin(change - tor), torch.zeros_like(tor), atol=1e-6)
    # the same pose from the one-bond-at-a-time twist of discodock.geometry.torsion, then the rigid motion
    seq = apply_torsion_updates(refs[idx], bonds[kin.order], kin.moving[kin.order], tor[:, kin.order])
    c = refs[idx].mean(1, keepdim=True)
    seq = (seq - c) @ axis_angle_to_matrix(rv).mT + c + tr[:, None]
    assert torch.allclose(out, seq, atol=1e-10)


def test_coordinates_are_differentiable_and_match_finite_differences(flexible_ligand):
    lig = flexible_ligand
    refs = _refs(lig, 2)
    kin = LigandKinematics.create(refs, lig["tor_bonds"], lig["tor_mask"])
    tr, rv, tor = _params(2, kin.num_torsions, 3)
    inputs = tuple(x.clone().requires_grad_(True) for x in (tr, rv, tor))
    assert torch.autograd.gradcheck(lambda a, b, c: kin.coords(a, b, c), inputs, eps=1e-6, atol=1e-6, fast_mode=True)


def test_pullback_is_the_gradient_in_translation_left_rotation_and_torsions(ring_ligand, flexible_ligand):
    for lig in (ring_ligand, flexible_ligand):
        refs = _refs(lig, 2)
        kin = LigandKinematics.create(refs, lig["tor_bonds"], lig["tor_mask"])
        T = kin.num_torsions
        tr, rv, tor = _params(2, T, 4)
        R = axis_angle_to_matrix(rv)
        g = torch.Generator().manual_seed(5)
        target = refs[0] + torch.randn(refs.shape[1:], generator=g, dtype=D)

        def f(pos, target=target):  # a smooth, non-linear function of the coordinates
            return (pos - target).square().sum(-1).sqrt().sin().sum(-1)

        posed = kin.pose(tr, R, tor)
        pos = posed.pos.clone().requires_grad_(True)
        (grad_pos,) = torch.autograd.grad(f(pos).sum(), pos)
        analytic = kin.pullback(posed, grad_pos)
        h = 1e-6
        numeric = torch.zeros_like(analytic)
        for i in range(6 + T):
            e = torch.zeros(2, 6 + T, dtype=D)
            vals = []
            for sgn in (1, -1):
                e[:, i] = sgn * h
                vals.append(f(kin.coords(tr + e[:, :3], axis_angle_to_matrix(e[:, 3:6]) @ R, tor + e[:, 6:])))
            numeric[:, i] = (vals[0] - vals[1]) / (2 * h)
        assert torch.allclose(analytic, numeric, atol=1e-6), (analytic - numeric).abs().max()


def test_bad_topology_raises_config_error(flexible_ligand):
    lig = flexible_ligand
    pos, bonds, mask = lig["pos"], lig["tor_bonds"], lig["tor_mask"]
    with pytest.raises(ConfigError, match=r"tor_mask must be \[T="):
        LigandKinematics.create(pos, bonds, mask[:, :-1])
    with pytest.raises(ConfigError, match="v atom"):
        LigandKinematics.create(pos, bonds.flip(1), mask)
    with pytest.raises(ConfigError, match=r"\[S, N, 3\]"):
        LigandKinematics.create(pos[:, :2], bonds, mask)
    with pytest.raises(ConfigError, match="outside"):
        LigandKinematics.create(pos, bonds + 100, mask)
    # no rotatable bonds: a rigid body
    no_bonds = torch.zeros(0, 2, dtype=torch.long), torch.zeros(0, pos.shape[0], dtype=torch.bool)
    kin = LigandKinematics.create(pos, *no_bonds)
    tr, rv, _ = _params(1, 0, 6)
    out = kin.coords(tr, rv, torch.zeros(1, 0, dtype=D))
    c = pos.mean(0)
    assert torch.allclose(out[0], (pos - c) @ axis_angle_to_matrix(rv[0]).T + c + tr[0], atol=1e-12)
