"""Node and edge features of the ligand and the receptor, and the ligand's rotatable bonds.

Every feature is a fixed-width float vector so the score network can size its embeddings from the
constants below (``LIGAND_FEATURE_DIM``, ``BOND_FEATURE_DIM``, ``RESIDUE_FEATURE_DIM``). The ligand is
the heavy-atom RDKit molecule (hydrogens removed, as :func:`discodock.data.parsing.load_ligand` returns).

Ligand atom features, in order (one-hot blocks unless said otherwise):

==================  ======================================================================  =====
block               values                                                                  width
==================  ======================================================================  =====
element             C N O F P S Cl Br I B Si Se, any metal, other                            14
heavy degree        0 1 2 3 4 5+                                                            6
formal charge       -2 -1 0 +1 +2 (clipped)                                                 5
aromatic            flag                                                                    1
ring                in any ring, then in a ring of size 3 4 5 6 7 8+ (multi-hot)             7
hybridization       SP SP2 SP3 SP3D SP3D2 other                                             6
chirality           none, R, S, stereocentre without a CIP label                           4
hydrogens           total H count 0 1 2 3 4+                                                 5
==================  ======================================================================  =====

Chirality is given as the CIP label rather than RDKit's CW/CCW tag: the tag refers to the order of the
atom's neighbours in the file, which a message-passing network cannot see, while R/S does not depend on it.

Bond features: type SINGLE DOUBLE TRIPLE AROMATIC other (one-hot), conjugated, in ring.
Residue features: one-hot over the 20 standard amino acids and ``other``.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import torch
from rdkit import Chem

ELEMENTS = ("C", "N", "O", "F", "P", "S", "Cl", "Br", "I", "B", "Si", "Se")
# Non-metals and metalloids that are not in ELEMENTS go to "other"; everything else is a metal.
NON_METALS = frozenset(
    {"H", "He", "B", "C", "N", "O", "F", "Ne", "Si", "P", "S", "Cl", "Ar", "As", "Se", "Br", "Kr", "Te",
     "I", "Xe", "At", "Rn", "Ge", "Sb", "*"}
)
DEGREES = (0, 1, 2, 3, 4, 5)
FORMAL_CHARGES = (-2, -1, 0, 1, 2)
RING_SIZES = (3, 4, 5, 6, 7, 8)
HYBRIDIZATIONS = (
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
)
CHIRALITY = ("none", "R", "S", "unlabelled")
HYDROGEN_COUNTS = (0, 1, 2, 3, 4)
BOND_TYPES = (
    Chem.BondType.SINGLE,
    Chem.BondType.DOUBLE,
    Chem.BondType.TRIPLE,
    Chem.BondType.AROMATIC,
)

#: The 20 standard amino acids (three-letter codes); index 20 of the residue one-hot is "other".
AMINO_ACIDS = (
    "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE",
    "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL",
)
OTHER_RESIDUE = "UNK"

LIGAND_FEATURE_DIM = (
    len(ELEMENTS) + 2
    + len(DEGREES)
    + len(FORMAL_CHARGES)
    + 1
    + 1 + len(RING_SIZES)
    + len(HYBRIDIZATIONS) + 1
    + len(CHIRALITY)
    + len(HYDROGEN_COUNTS)
)
BOND_FEATURE_DIM = len(BOND_TYPES) + 1 + 2
RESIDUE_FEATURE_DIM = len(AMINO_ACIDS) + 1


def _one_hot_index(value, choices) -> int:
    """Index of ``value`` in ``choices``, or ``len(choices)`` (the "other" slot) when absent."""
    try:
        return choices.index(value)
    except ValueError:
        return len(choices)


def _element_index(symbol: str) -> int:
    if symbol in ELEMENTS:
        return ELEMENTS.index(symbol)
    return len(ELEMENTS) + (1 if symbol in NON_METALS else 0)  # metal slot, then other slot


def is_metal(symbol: str) -> bool:
    """True for metallic elements (everything that is not a non-metal or metalloid)."""
    return symbol not in NON_METALS


def _cip_labels(mol: Chem.Mol) -> list[str]:
    """Per-atom chirality label: "R", "S", "unlabelled" (a tagged stereocentre without CIP code) or "none"."""
    work = Chem.Mol(mol)  # AssignStereochemistry writes properties; leave the caller's molecule alone
    Chem.AssignStereochemistry(work, cleanIt=True, force=True)
    labels = []
    for atom in work.GetAtoms():
        if atom.HasProp("_CIPCode"):
            labels.append(atom.GetProp("_CIPCode"))
        elif atom.GetChiralTag() in (Chem.ChiralType.CHI_TETRAHEDRAL_CW, Chem.ChiralType.CHI_TETRAHEDRAL_CCW):
            labels.append("unlabelled")
        else:
            labels.append("none")
    return labels


def ligand_atom_features(mol: Chem.Mol) -> torch.Tensor:
    """Atom features of a heavy-atom molecule: float tensor [N, LIGAND_FEATURE_DIM] (see module doc)."""
    n = mol.GetNumAtoms()
    feats = torch.zeros(n, LIGAND_FEATURE_DIM)
    ring_info = mol.GetRingInfo()
    chirality = _cip_labels(mol)
    for i, atom in enumerate(mol.GetAtoms()):
        offset = 0
        hot = [offset + _element_index(atom.GetSymbol())]
        offset += len(ELEMENTS) + 2
        hot.append(offset + min(atom.GetDegree(), DEGREES[-1]))
        offset += len(DEGREES)
        charge = max(FORMAL_CHARGES[0], min(FORMAL_CHARGES[-1], atom.GetFormalCharge()))
        hot.append(offset + FORMAL_CHARGES.index(charge))
        offset += len(FORMAL_CHARGES)
        if atom.GetIsAromatic():
            hot.append(offset)
        offset += 1
        if atom.IsInRing():
            hot.append(offset)
            for k, size in enumerate(RING_SIZES):
                in_size = (
                    ring_info.IsAtomInRingOfSize(i, size)
                    if size < RING_SIZES[-1]
                    else any(len(r) >= size and i in r for r in ring_info.AtomRings())
                )
                if in_size:
                    hot.append(offset + 1 + k)
        offset += 1 + len(RING_SIZES)
        hot.append(offset + _one_hot_index(atom.GetHybridization(), HYBRIDIZATIONS))
        offset += len(HYBRIDIZATIONS) + 1
        hot.append(offset + CHIRALITY.index(chirality[i] if chirality[i] in CHIRALITY else "unlabelled"))
        offset += len(CHIRALITY)
        hot.append(offset + min(atom.GetTotalNumHs(), HYDROGEN_COUNTS[-1]))
        offset += len(HYDROGEN_COUNTS)
        feats[i, hot] = 1.0
    return feats


def ligand_bond_graph(mol: Chem.Mol) -> tuple[torch.Tensor, torch.Tensor]:
    """Bond edges, each in both directions: ``edge_index`` long [2, 2*nbonds] and features [2*nbonds, BOND_FEATURE_DIM].

    Columns ``2b`` and ``2b + 1`` are bond ``b`` as (begin, end) and (end, begin).
    """
    pairs, rows = [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        row = [0.0] * BOND_FEATURE_DIM
        row[_one_hot_index(bond.GetBondType(), BOND_TYPES)] = 1.0
        row[len(BOND_TYPES) + 1] = float(bond.GetIsConjugated())
        row[len(BOND_TYPES) + 2] = float(bond.IsInRing())
        pairs += [(i, j), (j, i)]
        rows += [row, row]
    if not pairs:
        return torch.zeros(2, 0, dtype=torch.long), torch.zeros(0, BOND_FEATURE_DIM)
    return torch.tensor(pairs, dtype=torch.long).t().contiguous(), torch.tensor(rows, dtype=torch.float32)


def _side(adjacency: list[list[int]], start: int, blocked: int) -> set[int]:
    """Atoms reachable from ``start`` without stepping onto ``blocked`` (breadth-first)."""
    seen = {start}
    queue = deque([start])
    while queue:
        a = queue.popleft()
        for b in adjacency[a]:
            if b != blocked and b not in seen:
                seen.add(b)
                queue.append(b)
    return seen


def rotatable_bonds(mol: Chem.Mol) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotatable bonds of a heavy-atom molecule and, for each, the atoms that move when it twists.

    A bond is rotatable when it is single, in no ring, and both its atoms have at least two heavy
    neighbours (twisting a bond to a terminal atom moves nothing but hydrogens). For each such bond
    (u, v) the moving side is the one holding v, chosen as the smaller side so that a twist moves as few
    atoms as possible (ties keep RDKit's begin -> end order).

    Returns ``tor_bonds`` long [T, 2] and ``tor_mask`` bool [T, N] (True on the v side, v included).
    """
    n = mol.GetNumAtoms()
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        adjacency[i].append(j)
        adjacency[j].append(i)
    bonds, masks = [], []
    for bond in mol.GetBonds():
        if bond.GetBondType() != Chem.BondType.SINGLE or bond.IsInRing():
            continue
        u, v = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        if len(adjacency[u]) < 2 or len(adjacency[v]) < 2:
            continue
        side_v = _side(adjacency, v, blocked=u)
        if u in side_v:  # not a bridge (cannot happen for a non-ring bond, but stay safe)
            continue
        if len(side_v) > n - len(side_v):
            side_v = set(range(n)) - side_v
            u, v = v, u
        bonds.append((u, v))
        mask = torch.zeros(n, dtype=torch.bool)
        mask[sorted(side_v)] = True
        masks.append(mask)
    if not bonds:
        return torch.zeros(0, 2, dtype=torch.long), torch.zeros(0, n, dtype=torch.bool)
    return torch.tensor(bonds, dtype=torch.long), torch.stack(masks)


@lru_cache(maxsize=1)
def _residue_index() -> dict[str, int]:
    return {name: i for i, name in enumerate(AMINO_ACIDS)}


def residue_type_index(residue_types) -> torch.Tensor:
    """Index of each three-letter residue name in ``AMINO_ACIDS`` (20 = other): long [R]."""
    table = _residue_index()
    return torch.tensor([table.get(name, len(AMINO_ACIDS)) for name in residue_types], dtype=torch.long)


def residue_features(residue_types) -> torch.Tensor:
    """One-hot residue type over the 20 standard amino acids + other: float [R, RESIDUE_FEATURE_DIM]."""
    index = residue_type_index(residue_types)
    return torch.nn.functional.one_hot(index, RESIDUE_FEATURE_DIM).float()
