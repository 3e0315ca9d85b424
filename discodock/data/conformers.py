"""RDKit conformers, and conformer matching (DiffDock's training targets).

The docking model only moves a ligand rigidly and twists its rotatable bonds; bond lengths, angles and ring
shapes stay those of the RDKit conformer it starts from. A crystal pose is in general *not* reachable that
way, so training uses the *matched* pose instead: the conformer with its torsion angles optimised so that,
after the best rigid superposition, it lies as close as possible to the crystal pose (heavy-atom RMSD).
The residual RMSD measures what the model's pose space cannot express.

Matching is cyclic coordinate descent on the torsion angles (each set to its closed-form optimum in turn)
alternated with the optimal superposition (Kabsch), over a batch of starting torsions; see
:func:`match_torsions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from rdkit import Chem, rdBase
from rdkit.Chem import AllChem

from discodock.data.featurize import rotatable_bonds
from discodock.errors import LigandError
from discodock.geometry.rigid import kabsch


def _source(mol: Chem.Mol) -> str | None:
    return mol.GetProp("source") if mol.HasProp("source") else None


def generate_conformer(
    mol: Chem.Mol,
    *,
    seed: int,
    mmff: bool = False,
    timeout_s: int = 60,
) -> Chem.Mol:
    """A copy of heavy-atom ``mol`` with one new 3D conformer from RDKit ETKDG (v3).

    Hydrogens are added for the embedding (and the optional MMFF94 relaxation) and removed again; atom order,
    bond orders and stereo are those of ``mol`` (stereocentres it specifies are enforced). Coordinates in
    Angstrom, centred wherever RDKit puts them.

    Args:
        mol: heavy-atom molecule (any conformers it has are ignored).
        seed: random seed of the embedding (same seed, same conformer).
        mmff: relax the embedded conformer with MMFF94 (UFF when MMFF lacks parameters).
        timeout_s: give up an embedding attempt after this many seconds.

    Raises:
        LigandError: RDKit cannot embed the molecule (also not from random starting coordinates).
    """
    n = mol.GetNumAtoms()
    work = Chem.Mol(mol)
    work.RemoveAllConformers()
    work = Chem.AddHs(work)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed) & 0x7FFFFFFF
    params.timeout = int(timeout_s)
    with rdBase.BlockLogs():
        cid = AllChem.EmbedMolecule(work, params)
        if cid < 0:  # distance-geometry start failed: retry from random coordinates (slower, more robust)
            params.useRandomCoords = True
            cid = AllChem.EmbedMolecule(work, params)
        if cid < 0:
            raise LigandError(_source(mol), "RDKit could not embed a 3D conformer (ETKDG failed)")
        if mmff:
            if AllChem.MMFFHasAllMoleculeParams(work):
                AllChem.MMFFOptimizeMolecule(work, maxIters=500)
            else:
                AllChem.UFFOptimizeMolecule(work, maxIters=500)
    # AddHs appends hydrogens after the heavy atoms, so the first n rows are mol's atoms in order.
    coords = work.GetConformer().GetPositions()[:n]
    out = Chem.Mol(mol)
    out.RemoveAllConformers()
    conf = Chem.Conformer(n)
    for i, xyz in enumerate(coords):
        conf.SetAtomPosition(i, xyz.tolist())
    conf.Set3D(True)
    out.AddConformer(conf, assignId=True)
    return out


def rmsd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Root-mean-square deviation between point sets ``[..., N, 3]`` (no superposition, no symmetry)."""
    return ((a - b) ** 2).sum(-1).mean(-1).sqrt()


def superposed_rmsd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """RMSD after the best rigid superposition of ``a`` onto ``b`` (Kabsch), ``[..., N, 3]`` -> ``[...]``."""
    R, t = kabsch(a, b)
    return rmsd(a @ R.mT + t[..., None, :], b)


@dataclass
class ConformerMatch:
    """Result of conformer matching. Coordinates [N, 3] float32 in Angstrom, angles in radians.

    Attributes:
        pos: the matched pose: the conformer with optimised torsions, superposed on the crystal pose.
        rmsd: its heavy-atom RMSD to the crystal pose (the residual, Angstrom).
        conformer_pos: the starting conformer (as given, not moved).
        delta: [T] torsion changes applied to the conformer (radians, about each bond u -> v).
        initial_rmsd: RMSD of the starting conformer after rigid superposition only.
    """

    pos: torch.Tensor
    rmsd: float
    conformer_pos: torch.Tensor
    delta: torch.Tensor
    initial_rmsd: float


def _kabsch_np(pos: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``pos`` [S, N, 3] each superposed onto ``target`` [N, 3] (least squares, proper rotations)."""
    pc = pos.mean(axis=1, keepdims=True)
    yc = target.mean(axis=0)
    H = np.einsum("sni,nj->sij", pos - pc, target - yc)
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(np.einsum("sji,skj->sik", Vt, U)))  # det(V U^T)
    d[d == 0] = 1.0
    Vt[:, 2, :] *= d[:, None]
    R = np.einsum("sji,skj->sik", Vt, U)  # V diag(1,1,d) U^T
    return np.einsum("sij,snj->sni", R, pos - pc) + yc


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (np.cross is slow on small arrays)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _twist(pos: np.ndarray, u: int, v: int, side: np.ndarray, target: np.ndarray | None, theta=None) -> np.ndarray:
    """Rotate atoms ``side`` (indices) of every sample about its bond u -> v, in place, right-handed.

    With ``target`` ([N, 3]) the angle of each sample is the one that brings the moving atoms closest to
    their targets (closed form); otherwise ``theta`` [S] is used. Returns the angles applied [S].
    """
    origin = pos[:, u]
    k = pos[:, v] - origin
    k /= np.sqrt((k * k).sum(-1, keepdims=True))
    k = k[:, None]
    a = pos[:, side] - origin[:, None]
    a_par = (a * k).sum(-1, keepdims=True) * k
    a_perp = a - a_par
    k_x_a = _cross(k, a)
    if target is not None:
        y = target[side][None] - origin[:, None]
        # |R(theta) a - y|^2 is minimal where cos(theta) (y . a_perp) + sin(theta) (y . k x a) is maximal
        theta = np.arctan2((y * k_x_a).sum((1, 2)), (y * a_perp).sum((1, 2)))
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    pos[:, side] = origin[:, None] + a_par + c * a_perp + s * k_x_a
    return theta


def match_torsions(
    conformer_pos: torch.Tensor | np.ndarray,
    crystal_pos: torch.Tensor | np.ndarray,
    tor_bonds: torch.Tensor,
    tor_mask: torch.Tensor,
    *,
    generator: np.random.Generator,
    num_starts: int = 16,
    max_sweeps: int = 50,
    tol: float = 1e-5,
) -> ConformerMatch:
    """Torsion changes of ``conformer_pos`` that minimise its superposed RMSD to ``crystal_pos``.

    Cyclic coordinate descent over a batch of starts: each sweep superposes the current poses on the
    crystal pose (Kabsch), then sets every torsion in turn to its exact optimum with the rest held fixed
    (one closed-form ``atan2`` per bond: the moving atoms rotate about the bond to best meet their targets).
    Every step lowers the squared deviation, so the loss never increases; several starts (the conformer's
    own torsions plus uniformly random ones) avoid poor local minima. Sweeps stop when the best RMSD
    improves by less than ``tol`` Angstrom.

    Args:
        conformer_pos, crystal_pos: [N, 3] the same atoms in the same order (Angstrom).
        tor_bonds, tor_mask: rotatable bonds [T, 2] and moving sides [T, N] (see ``featurize.rotatable_bonds``).
        generator: numpy random generator for the starting torsions (start 0 is the conformer itself).
        num_starts: parallel starts. max_sweeps: cap on the sweeps.
    """
    P0 = np.asarray(conformer_pos, dtype=np.float64)
    Y = np.asarray(crystal_pos, dtype=np.float64)
    bonds = np.asarray(tor_bonds, dtype=np.int64).reshape(-1, 2)
    masks = np.asarray(tor_mask, dtype=bool).reshape(len(bonds), len(P0))
    T = len(bonds)
    P0_t = torch.as_tensor(P0, dtype=torch.float32)
    initial = float(np.sqrt(((_kabsch_np(P0[None], Y)[0] - Y) ** 2).sum(-1).mean()))
    S = num_starts if T > 0 else 1
    delta = generator.uniform(-math.pi, math.pi, size=(S, T))
    delta[0] = 0.0
    pos = np.repeat(P0[None], S, axis=0)
    sides = [np.nonzero(m)[0] for m in masks]
    for t in range(T):  # twist each start to its initial torsions, in bond order like apply_torsion_updates
        _twist(pos, bonds[t, 0], bonds[t, 1], sides[t], None, delta[:, t])
    best = np.inf
    for _ in range(max_sweeps if T > 0 else 0):
        pos = _kabsch_np(pos, Y)
        for t in range(T):
            delta[:, t] += _twist(pos, bonds[t, 0], bonds[t, 1], sides[t], Y)
        err = np.sqrt(((pos - Y) ** 2).sum(-1).mean(-1))
        if best - err.min() < tol:
            best = min(best, err.min())
            break
        best = err.min()
    pos = _kabsch_np(pos, Y)
    errors = np.sqrt(((pos - Y) ** 2).sum(-1).mean(-1))
    i = int(np.argmin(errors))
    best_delta = np.remainder(delta[i] + math.pi, 2 * math.pi) - math.pi
    return ConformerMatch(
        pos=torch.as_tensor(pos[i], dtype=torch.float32),
        rmsd=float(errors[i]),
        conformer_pos=P0_t,
        delta=torch.as_tensor(best_delta, dtype=torch.float32),
        initial_rmsd=initial,
    )


def match_conformer(
    mol: Chem.Mol,
    crystal_pos: torch.Tensor | np.ndarray,
    *,
    seed: int,
    mmff: bool = False,
    conformer: Chem.Mol | None = None,
    num_starts: int = 16,
) -> ConformerMatch:
    """Conformer matching for one heavy-atom ligand (DiffDock's training-target construction).

    Args:
        mol: heavy-atom molecule.
        crystal_pos: [N, 3] crystal pose of ``mol``'s atoms (Angstrom).
        seed: seeds the ETKDG conformer and the random starts.
        mmff: MMFF-relax the conformer first.
        conformer: a molecule with a ready conformer of the same atoms (skips generating one).

    Returns:
        :class:`ConformerMatch` with the matched pose in the crystal frame and the residual RMSD.
    """
    crystal = torch.as_tensor(np.asarray(crystal_pos), dtype=torch.float32)
    if crystal.shape != (mol.GetNumAtoms(), 3):
        raise ValueError(f"crystal_pos has shape {tuple(crystal.shape)}, expected ({mol.GetNumAtoms()}, 3)")
    conf_mol = conformer if conformer is not None else generate_conformer(mol, seed=seed, mmff=mmff)
    P0 = torch.as_tensor(conf_mol.GetConformer().GetPositions(), dtype=torch.float32)
    tor_bonds, tor_mask = rotatable_bonds(mol)
    generator = np.random.default_rng(int(seed))
    return match_torsions(P0, crystal, tor_bonds, tor_mask, generator=generator, num_starts=num_starts)
