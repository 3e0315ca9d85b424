"""The whole receptor as a residue graph for binding-site prediction, and its training labels.

Every amino-acid residue with a C-alpha becomes a node (the same residues ``load_protein`` keeps). Node
features are rotation- and translation-invariant: the residue type, how buried the residue is (C-alpha and
heavy-atom counts around it, half-sphere exposure along C-alpha -> C-beta) and how far its side chain
points into a concavity (the length of the mean unit vector to the atoms around it: near 0 inside the
protein or a deep pocket, near 1 on a convex surface). Edges join each residue to its ``k`` nearest
C-alphas, with distances, the neighbour's direction in the residue's own backbone frame and the sequence
separation. A few ligand scalars (size, flexibility, polarity) go to every node. Coordinates are Angstrom.

The label of a residue is the distance from its nearest heavy atom to the nearest crystal ligand heavy atom
(positives: below a cutoff, see :mod:`discodock.training.site`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem
from rdkit.Chem import Lipinski

from discodock.errors import ProteinError

NUM_TYPES = 21  # 20 amino acids + other
NODE_SCALARS = 10  # invariant geometry scalars per residue, see residue_scalars
LIGAND_SCALARS = 4
NODE_FEATURE_DIM = NUM_TYPES + NODE_SCALARS + LIGAND_SCALARS
RBF_BINS = 16
SEQ_BINS = 6  # |i - j| = 1, 2, 3, 4, > 4 in the same chain; other chain
EDGE_FEATURE_DIM = 2 * RBF_BINS + 3 + 1 + SEQ_BINS
BACKBONE_ATOMS = frozenset({"N", "CA", "C", "O", "OXT"})
_BLOCK = 1 << 22  # cdist elements per block (16 MiB of float32)


@dataclass
class ResidueStructure:
    """Residues of one receptor file. Arrays are float32 [R, 3] unless said otherwise.

    Attributes:
        types: long [R] index into ``AMINO_ACIDS`` (20 = other).
        ca, n, c: backbone atoms (a missing N or C is the C-alpha).
        side: side-chain centroid (heavy atoms beyond the backbone; a virtual C-beta for glycine).
        atoms: float32 [A, 3] every heavy atom of the kept residues; ``atom_residue``: long [A] its residue.
        chain: long [R] chain index; ``number``: long [R] residue number (sequence separation).
        source: the file read.
    """

    types: torch.Tensor
    ca: torch.Tensor
    n: torch.Tensor
    c: torch.Tensor
    side: torch.Tensor
    atoms: torch.Tensor
    atom_residue: torch.Tensor
    chain: torch.Tensor
    number: torch.Tensor
    source: str = ""

    @property
    def num_residues(self) -> int:
        return int(self.ca.shape[0])


def virtual_cb(n: torch.Tensor, ca: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Ideal C-beta position from the backbone (the usual tetrahedral construction)."""
    b, cc = ca - n, c - ca
    a = torch.cross(b, cc, dim=-1)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca


def read_residues(path: str | Path) -> ResidueStructure:
    """Residues (backbone, side-chain centroid, heavy atoms) of a .pdb/.cif file, optionally gzipped.

    Raises:
        ProteinError: the file cannot be read or holds no amino-acid residue with a C-alpha.
    """
    import gemmi

    from discodock.data.featurize import residue_type_index
    from discodock.data.parsing.files import _check_file
    from discodock.data.parsing.protein import _find_atom, _residue_type  # the same residue rules

    path = Path(path)
    _check_file(path, ProteinError)
    try:
        structure = gemmi.read_structure(str(path))
    except (RuntimeError, ValueError, OSError) as err:
        raise ProteinError(path, f"not a readable structure file ({err})") from None
    if len(structure) == 0:
        raise ProteinError(path, "not a structure: no models or atoms found")
    structure.remove_alternative_conformations()
    model = structure[0]
    types, ca, n, c, side, chains, numbers, atoms, atom_res = [], [], [], [], [], [], [], [], []
    for ci, chain in enumerate(model):
        for residue in chain:
            rtype = _residue_type(residue)
            if rtype is None:
                continue
            ca_atom = _find_atom(residue, "CA", "C")
            if ca_atom is None:
                continue
            n_atom = _find_atom(residue, "N", "N") or ca_atom
            c_atom = _find_atom(residue, "C", "C") or ca_atom
            r = len(types)
            heavy = [a for a in residue if a.element.name not in ("H", "D")]
            sc = [a.pos.tolist() for a in heavy if a.name not in BACKBONE_ATOMS]
            types.append(rtype)
            ca.append(ca_atom.pos.tolist())
            n.append(n_atom.pos.tolist())
            c.append(c_atom.pos.tolist())
            side.append(np.mean(sc, axis=0).tolist() if sc else [math.nan] * 3)
            chains.append(ci)
            numbers.append(residue.seqid.num)
            for a in heavy:
                atoms.append(a.pos.tolist())
                atom_res.append(r)
    if not types:
        raise ProteinError(path, "no amino-acid residues with a C-alpha atom (only waters/hetero groups?)")
    t = lambda v: torch.tensor(np.asarray(v, dtype=np.float32))  # noqa: E731
    ca_t, n_t, c_t, side_t = t(ca), t(n), t(c), t(side)
    missing = torch.isnan(side_t).any(dim=1)
    side_t[missing] = virtual_cb(n_t, ca_t, c_t)[missing]
    out = ResidueStructure(
        types=residue_type_index(types), ca=ca_t, n=n_t, c=c_t, side=side_t, atoms=t(atoms).reshape(-1, 3),
        atom_residue=torch.tensor(atom_res, dtype=torch.long), chain=torch.tensor(chains, dtype=torch.long),
        number=torch.tensor(numbers, dtype=torch.long), source=str(path),
    )
    if not all(torch.isfinite(x).all() for x in (out.ca, out.n, out.c, out.atoms)):
        raise ProteinError(path, "coordinates contain NaN or infinite values")
    return out


def _count_within(x: torch.Tensor, y: torch.Tensor, radii: tuple[float, ...]) -> torch.Tensor:
    """[len(x), len(radii)] how many points of ``y`` lie within each radius of each point of ``x``."""
    out = torch.zeros(x.shape[0], len(radii))
    block = max(1, _BLOCK // max(1, y.shape[0]))
    for s in range(0, x.shape[0], block):
        d = torch.cdist(x[s:s + block], y)
        out[s:s + block] = torch.stack([(d < r).sum(1).float() for r in radii], dim=1)
    return out


def _concavity(x: torch.Tensor, y: torch.Tensor, radius: float) -> torch.Tensor:
    """|mean unit vector from each x to the points of y within ``radius``|: [len(x)] in [0, 1]."""
    out = torch.zeros(x.shape[0])
    block = max(1, _BLOCK // max(1, 3 * y.shape[0]))
    for s in range(0, x.shape[0], block):
        diff = y[None] - x[s:s + block, None]
        d = diff.norm(dim=-1)
        w = ((d < radius) & (d > 0.5)).float()
        unit = diff / d.clamp_min(1e-6)[..., None]
        mean = (unit * w[..., None]).sum(1) / w.sum(1).clamp_min(1.0)[:, None]
        out[s:s + block] = mean.norm(dim=-1)
    return out


def residue_scalars(res: ResidueStructure) -> torch.Tensor:
    """Invariant geometry per residue: float [R, NODE_SCALARS], each roughly in [0, 1]."""
    ca, side = res.ca, res.side
    ca_counts = _count_within(ca, ca, (8.0, 12.0, 16.0)) / torch.tensor([10.0, 25.0, 50.0])
    atom_counts = _count_within(side, res.atoms, (8.0, 12.0)) / torch.tensor([100.0, 300.0])
    cb_dir = virtual_cb(res.n, ca, res.c) - ca
    cb_dir = cb_dir / cb_dir.norm(dim=1, keepdim=True).clamp_min(1e-6)
    up = torch.zeros(ca.shape[0])
    down = torch.zeros(ca.shape[0])
    block = max(1, _BLOCK // max(1, ca.shape[0]))
    for s in range(0, ca.shape[0], block):
        diff = ca[None] - ca[s:s + block, None]
        near = (diff.norm(dim=-1) < 13.0) & (diff.norm(dim=-1) > 0.1)
        side_of = (diff * cb_dir[s:s + block, None]).sum(-1) > 0
        up[s:s + block] = (near & side_of).sum(1).float()
        down[s:s + block] = (near & ~side_of).sum(1).float()
    conc8 = _concavity(side, res.atoms, 8.0)
    conc12 = _concavity(side, res.atoms, 12.0)
    centre = ca.mean(0)
    rg = ((ca - centre).norm(dim=1) ** 2).mean().sqrt().clamp_min(1.0)
    rel = (ca - centre).norm(dim=1) / rg
    return torch.stack([*ca_counts.T, *atom_counts.T, up / 20.0, down / 20.0, conc8, conc12, rel / 2.0], dim=1)


def ligand_scalars(mol: Chem.Mol | None) -> torch.Tensor:
    """Size, flexibility, aromaticity and polarity of the ligand: float [LIGAND_SCALARS] (zeros: no ligand)."""
    if mol is None or mol.GetNumAtoms() == 0:
        return torch.zeros(LIGAND_SCALARS)
    heavy = [a for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    n = max(1, len(heavy))
    polar = sum(a.GetSymbol() in ("N", "O") for a in heavy) / n
    aromatic = sum(a.GetIsAromatic() for a in heavy) / n
    rot = Lipinski.NumRotatableBonds(mol)
    return torch.tensor([math.log1p(n) / 4.0, min(rot, 20) / 10.0, aromatic, polar], dtype=torch.float32)


def _frames(res: ResidueStructure) -> torch.Tensor:
    """Orthonormal backbone frame per residue [R, 3, 3] (rows: axes); degenerate backbones get a fallback."""
    e1 = res.c - res.ca
    u = res.n - res.ca
    bad = (e1.norm(dim=1) < 1e-3) | (u.norm(dim=1) < 1e-3)
    e1 = torch.where(bad[:, None], torch.tensor([1.0, 0.0, 0.0]), e1)
    u = torch.where(bad[:, None], torch.tensor([0.0, 1.0, 0.0]), u)
    e1 = e1 / e1.norm(dim=1, keepdim=True)
    e2 = u - (u * e1).sum(1, keepdim=True) * e1
    e2 = e2 / e2.norm(dim=1, keepdim=True).clamp_min(1e-6)
    e3 = torch.cross(e1, e2, dim=1)
    return torch.stack([e1, e2, e3], dim=1)


def _rbf(d: torch.Tensor, max_d: float = 20.0) -> torch.Tensor:
    centres = torch.linspace(0.0, max_d, RBF_BINS)
    width = max_d / RBF_BINS
    return torch.exp(-((d[:, None] - centres) / width) ** 2)


def residue_graph(res: ResidueStructure, *, k: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """kNN edges over C-alphas (``edge_index`` long [2, E]: row 0 neighbour j, row 1 centre i) and their
    invariant features [E, EDGE_FEATURE_DIM]."""
    from discodock.data.neighbors import knn_graph

    k = min(k, res.num_residues - 1)
    if k < 1:
        return torch.zeros(2, 0, dtype=torch.long), torch.zeros(0, EDGE_FEATURE_DIM)
    edge_index = knn_graph(res.ca, k)
    j, i = edge_index
    vec = res.ca[j] - res.ca[i]
    d = vec.norm(dim=1)
    local = torch.einsum("eab,eb->ea", _frames(res)[i], vec) / d.clamp_min(1e-6)[:, None]
    d_side = (res.side[j] - res.side[i]).norm(dim=1)
    cb = virtual_cb(res.n, res.ca, res.c) - res.ca
    cb = cb / cb.norm(dim=1, keepdim=True).clamp_min(1e-6)
    cos_cb = (cb[i] * cb[j]).sum(1, keepdim=True)
    sep = (res.number[j] - res.number[i]).abs().clamp(1, 5) - 1
    sep = torch.where(res.chain[i] == res.chain[j], sep, torch.full_like(sep, 5))
    seq = torch.nn.functional.one_hot(sep, SEQ_BINS).float()
    feats = torch.cat([_rbf(d), _rbf(d_side), local, cos_cb, seq], dim=1)
    return edge_index, feats


@dataclass
class SiteGraph:
    """Input of the site predictor for one receptor (+ ligand): node features [R, NODE_FEATURE_DIM], edges,
    and the coordinates sites are placed with (side-chain centroids and C-alphas, [R, 3])."""

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    side: torch.Tensor
    ca: torch.Tensor

    @property
    def num_residues(self) -> int:
        return int(self.x.shape[0])


def site_graph(res: ResidueStructure, ligand: Chem.Mol | None = None, *, k: int = 16) -> SiteGraph:
    """The site predictor's input for a receptor and (optionally) the ligand to dock."""
    types = torch.nn.functional.one_hot(res.types, NUM_TYPES).float()
    lig = ligand_scalars(ligand).expand(res.num_residues, LIGAND_SCALARS)
    x = torch.cat([types, residue_scalars(res), lig], dim=1)
    edge_index, edge_attr = residue_graph(res, k=k)
    return SiteGraph(x=x, edge_index=edge_index, edge_attr=edge_attr, side=res.side.clone(), ca=res.ca.clone())


def ligand_distances(res: ResidueStructure, ligand_pos: torch.Tensor) -> torch.Tensor:
    """Per residue, the distance from its nearest heavy atom to the nearest ligand heavy atom: [R] (Angstrom)."""
    d_atom = torch.cdist(res.atoms, torch.as_tensor(ligand_pos, dtype=torch.float32)).min(dim=1).values
    out = torch.full((res.num_residues,), float("inf"))
    return out.scatter_reduce(0, res.atom_residue, d_atom, reduce="amin")
