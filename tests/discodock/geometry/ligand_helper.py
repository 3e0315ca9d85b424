"""Small real ligands for geometry and diffusion tests, with rotatable bonds found by a plain BFS.

(The production featuriser lives in ``discodock.data``; this helper is deliberately independent of it.)
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"


def side(num_atoms: int, neighbours: list[list[int]], u: int, v: int) -> list[int]:
    """Atoms reachable from v without crossing the bond (u, v) (v included)."""
    seen, queue = {v}, deque([v])
    while queue:
        a = queue.popleft()
        for b in neighbours[a]:
            if b not in seen and not (a == v and b == u):
                seen.add(b)
                queue.append(b)
    return sorted(seen)


def from_mol(mol) -> dict:
    """Heavy-atom coordinates (float64), bond graph, rotatable bonds (single, acyclic, non-terminal) + masks."""
    from rdkit import Chem

    mol = Chem.RemoveHs(mol)
    n = mol.GetNumAtoms()
    pos = torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float64)
    neighbours = [[nb.GetIdx() for nb in a.GetNeighbors()] for a in mol.GetAtoms()]
    edges, tor_bonds, masks = [], [], []
    for bond in mol.GetBonds():
        u, v = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        edges += [(u, v), (v, u)]
        if bond.GetBondType() != Chem.BondType.SINGLE or bond.IsInRing():
            continue
        if len(neighbours[u]) < 2 or len(neighbours[v]) < 2:
            continue
        moving = side(n, neighbours, u, v)
        if u in moving:  # cannot happen for an acyclic bond; guards the helper itself
            raise AssertionError("ring bond classified as rotatable")
        mask = torch.zeros(n, dtype=torch.bool)
        mask[moving] = True
        tor_bonds.append((u, v))
        masks.append(mask)
    return {
        "mol": mol,
        "pos": pos,
        "edge_index": torch.tensor(edges, dtype=torch.long).T.contiguous(),
        "tor_bonds": torch.tensor(tor_bonds, dtype=torch.long).reshape(-1, 2),
        "tor_mask": torch.stack(masks) if masks else torch.zeros(0, n, dtype=torch.bool),
    }


def example_ligand(pdb_id: str) -> dict:
    """A crystal ligand from ``data/examples/<id>/<id>_ligand.sdf`` (skips when the examples are absent)."""
    from rdkit import Chem

    path = EXAMPLES / pdb_id / f"{pdb_id}_ligand.sdf"
    if not path.is_file():
        pytest.skip(f"example ligand {path} not present")
    mol = Chem.MolFromMolFile(str(path), sanitize=True)
    if mol is None:
        pytest.skip(f"RDKit cannot read {path}")
    return from_mol(mol)
