"""Receptor heavy atoms near the binding site as graph nodes (the all-atom pocket of DiffDock-Pocket).

Residue nodes (C-alphas) say where the protein is; the side-chain atoms say which groups line the pocket and
where exactly they point. Pocket-mode models with ``data.pocket_atoms`` get every protein heavy atom within
``atom_radius`` Angstrom of the site as a node (element and atom-name class as features), linked to the
residue it belongs to and to its nearest atoms (at most ``atom_max_neighbours`` within ``atom_edge_radius``).
Ligand-atom edges depend on the pose; the model builds them.

The atoms of a whole protein come with :class:`ResidueAtoms` (filled by ``load_protein``);
:func:`add_receptor_atoms` puts them into a complex graph, :func:`crop_receptor_atoms` (called by
:func:`discodock.data.pocket.site_view`, the one crop) keeps those near the site.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.data.neighbors import radius_graph

ATOM_ELEMENTS = ("C", "N", "O", "S")  # then one "other" slot (Se of MSE, metals of odd residues...)
ATOM_NAME_CLASSES = ("N", "CA", "C", "O")  # backbone; then one slot for every side-chain atom
ATOM_FEATURE_DIM = len(ATOM_ELEMENTS) + 1 + len(ATOM_NAME_CLASSES) + 1


@dataclass
class ResidueAtoms:
    """The heavy atoms of a protein's residue nodes. Coordinates in Angstrom.

    Attributes:
        pos: [A, 3] float32 coordinates.
        elements: element symbol per atom, upper case (``C``, ``SE``).
        names: PDB atom name per atom (``CA``, ``OG1``).
        residue: [A] int64 row of the atom's residue in the protein's residue arrays.
    """

    pos: np.ndarray
    elements: list[str]
    names: list[str]
    residue: np.ndarray

    def select(self, residue_index: np.ndarray, num_residues: int) -> ResidueAtoms:
        """The atoms of the residues ``residue_index`` (sorted rows of the old ``num_residues`` residues),
        their residue rows renumbered to the new order."""
        new = np.full(num_residues, -1, dtype=np.int64)
        new[residue_index] = np.arange(len(residue_index))
        keep = np.nonzero(new[self.residue] >= 0)[0]
        return ResidueAtoms(pos=self.pos[keep], elements=[self.elements[i] for i in keep],
                            names=[self.names[i] for i in keep], residue=new[self.residue[keep]])


def receptor_atom_features(elements: list[str], names: list[str]) -> torch.Tensor:
    """[A, ATOM_FEATURE_DIM] float: one-hot element (C, N, O, S, other), one-hot name class (N, CA, C, O,
    side chain)."""
    out = torch.zeros(len(elements), ATOM_FEATURE_DIM)
    n_el = len(ATOM_ELEMENTS) + 1
    for i, (element, name) in enumerate(zip(elements, names)):
        e = element.upper()
        out[i, ATOM_ELEMENTS.index(e) if e in ATOM_ELEMENTS else len(ATOM_ELEMENTS)] = 1.0
        out[i, n_el + (ATOM_NAME_CLASSES.index(name) if name in ATOM_NAME_CLASSES else len(ATOM_NAME_CLASSES))] = 1.0
    return out


def add_receptor_atoms(data: HeteroData, atoms: ResidueAtoms) -> None:
    """Store ``atoms`` in ``data`` (in place): node type RECEPTOR_ATOM and its edges to its residues; the
    atom-atom edges are made by :func:`crop_receptor_atoms`."""
    store = data[K.RECEPTOR_ATOM]
    store[K.POS] = torch.as_tensor(atoms.pos, dtype=torch.float32).reshape(-1, 3)
    store[K.X] = receptor_atom_features(atoms.elements, atoms.names)
    owner = torch.as_tensor(atoms.residue, dtype=torch.long)
    data[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX] = torch.stack([torch.arange(owner.numel()), owner])
    data[K.RECEPTOR_ATOM_EDGE][K.EDGE_INDEX] = torch.zeros(2, 0, dtype=torch.long)


def has_receptor_atoms(data: HeteroData) -> bool:
    return K.RECEPTOR_ATOM in data.node_types


def drop_receptor_atoms(data: HeteroData) -> None:
    """Remove the atom nodes and their edges from ``data`` (in place; a shallow copy's stores only)."""
    for edge_type in (K.ATOM_RESIDUE_EDGE, K.RECEPTOR_ATOM_EDGE):
        if edge_type in data.edge_types:
            del data[edge_type]
    if has_receptor_atoms(data):
        del data[K.RECEPTOR_ATOM]


def crop_receptor_atoms(
    out: HeteroData,
    *,
    kept_residues: torch.Tensor,
    center: torch.Tensor,
    radius: float,
    edge_radius: float,
    max_neighbours: int | None,
) -> None:
    """Keep, in ``out`` (a shallow copy made by ``site_view``; its stores are replaced, not changed), the atoms
    within ``radius`` Angstrom of ``center`` [1, 3] whose residue is kept (``kept_residues``: bool [R] over the
    residues before the crop), renumber their residue edges, and rebuild the atom-atom radius graph
    (``edge_radius`` Angstrom, at most ``max_neighbours`` nearest per atom)."""
    atoms = out[K.RECEPTOR_ATOM]
    pos = atoms[K.POS]
    owner = out[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX][1]
    renumber = torch.full((kept_residues.shape[0],), -1, dtype=torch.long)
    renumber[kept_residues] = torch.arange(int(kept_residues.sum()))
    keep = (torch.linalg.norm(pos - center.to(pos), dim=1) < radius) & kept_residues[owner]
    n = int(keep.sum())
    for key in list(atoms.keys()):
        value = atoms[key]
        if torch.is_tensor(value) and value.dim() > 0 and value.shape[0] == keep.shape[0]:
            atoms[key] = value[keep]
    out[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX] = torch.stack([torch.arange(n), renumber[owner[keep]]])
    out[K.RECEPTOR_ATOM_EDGE][K.EDGE_INDEX] = radius_graph(atoms[K.POS], edge_radius, max_neighbours=max_neighbours)
