"""Heavy-atom, symmetry-corrected RMSD between predicted ligand poses and the crystal pose.

The RMSD is taken in the protein's frame with **no re-alignment**: a pose that is right in shape but in
the wrong place scores badly, as docking should. Symmetry is handled the way spyrmsd does it: over all
automorphisms of the crystal ligand's heavy-atom graph (atoms labelled by element only, bonds unlabelled,
so a carboxylate's two oxygens or a phenyl ring's two faces are interchangeable), the smallest RMSD wins.

Atom order does not have to agree. A pose built from a SMILES has RDKit's canonical order while the crystal
SDF has the deposited order; both are reduced to their element-labelled heavy-atom graphs and the pose is
mapped onto the crystal by a graph (substructure) match of equal size, so bond-order conventions (Kekulé vs
aromatic), formal charges and hydrogens never stop the match. Any graph match is as good as another, since
the minimum over the automorphisms is taken afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem

from discodock.data.atom_matching import element_graph, match_atoms, mol_name as _mol_name
from discodock.errors import LigandError

# Element-graph automorphisms can explode for very symmetric molecules; beyond this many, the minimum is
# taken over the first ones found (RDKit enumerates them deterministically).
DEFAULT_MAX_AUTOMORPHISMS = 20000


def _conformer_coords(mol: Chem.Mol) -> list[np.ndarray]:
    if mol.GetNumConformers() == 0:
        raise LigandError(_mol_name(mol), "pose has no coordinates (no conformer)")
    return [np.asarray(c.GetPositions(), dtype=np.float64) for c in mol.GetConformers()]


class SymmetryRMSD:
    """Symmetry-corrected heavy-atom RMSD (Angstrom) of poses to one crystal ligand, no re-alignment.

    The crystal's automorphisms are computed once, so scoring many poses of the same molecule is cheap.

    Args:
        crystal: the crystal ligand, with one conformer in the protein's frame (hydrogens are ignored).
        max_automorphisms: cap on the graph automorphisms enumerated (see module docstring).
    """

    def __init__(self, *, crystal: Chem.Mol, max_automorphisms: int = DEFAULT_MAX_AUTOMORPHISMS):
        self.crystal = crystal
        graph, index = element_graph(crystal)
        if graph.GetNumAtoms() == 0:
            raise LigandError(_mol_name(crystal), "crystal ligand has no heavy atoms")
        self.crystal_coords = _conformer_coords(crystal)[0][index]  # [N, 3], crystal heavy-atom order
        self._crystal_index = index
        matches = graph.GetSubstructMatches(
            graph, uniquify=False, useChirality=False, maxMatches=int(max_automorphisms)
        )
        self.automorphisms = np.asarray(matches, dtype=np.int64)  # [K, N], identity included

    @property
    def num_heavy_atoms(self) -> int:
        return int(self.crystal_coords.shape[0])

    def coords_in_crystal_order(self, pose: Chem.Mol) -> np.ndarray:
        """Heavy-atom coordinates of every conformer of ``pose``, reordered to match the crystal: [C, N, 3]."""
        graph, index = element_graph(pose)
        # m[j] = crystal atom for pose heavy atom j; both are original atom indices.
        m = match_atoms(pose, self.crystal)
        crystal_position = {int(i): k for k, i in enumerate(self._crystal_index)}
        order = np.empty(len(m), dtype=np.int64)
        order[[crystal_position[int(t)] for t in m]] = index
        return np.stack([c[order] for c in _conformer_coords(pose)])

    def from_coords(self, coords: np.ndarray) -> np.ndarray:
        """RMSDs of poses given as coordinates already in the crystal's heavy-atom order: [P, N, 3] -> [P]."""
        coords = np.asarray(coords, dtype=np.float64)
        if coords.ndim == 2:
            coords = coords[None]
        if coords.shape[1:] != self.crystal_coords.shape:
            raise ValueError(f"expected poses of shape [P, {self.num_heavy_atoms}, 3], got {coords.shape}")
        best = np.full(coords.shape[0], np.inf)
        # Chunk the automorphisms so that [P, chunk, N, 3] stays around 16M numbers.
        chunk = max(1, int(1.6e7 // max(1, coords.shape[0] * coords.shape[1] * 3)))
        for start in range(0, len(self.automorphisms), chunk):
            perm = self.automorphisms[start : start + chunk]  # [K, N]
            diff = coords[:, perm] - self.crystal_coords  # [P, K, N, 3]
            msd = (diff * diff).sum(-1).mean(-1)  # [P, K]
            best = np.minimum(best, msd.min(axis=1))
        return np.sqrt(best)

    def __call__(self, poses: Chem.Mol | Sequence[Chem.Mol]) -> np.ndarray:
        """RMSD of each pose (Angstrom). ``poses`` is one Mol or a sequence; every conformer of every Mol
        counts as one pose, in order."""
        if isinstance(poses, Chem.Mol):
            poses = [poses]
        if len(poses) == 0:
            return np.zeros(0)
        return self.from_coords(np.concatenate([self.coords_in_crystal_order(p) for p in poses]))


def symmetry_rmsd(pose: Chem.Mol, crystal: Chem.Mol) -> float:
    """Symmetry-corrected heavy-atom RMSD (Angstrom) of the first conformer of ``pose`` to ``crystal``,
    in place (no alignment); atom orders may differ."""
    return float(SymmetryRMSD(crystal=crystal)(pose)[0])
