"""The protein-ligand complex as PyG ``HeteroData`` (fields of :mod:`discodock.data.keys`), and batching."""

from __future__ import annotations

import numpy as np
import torch
from rdkit import Chem
from torch_geometric.data import Batch, HeteroData

from discodock.data import keys as K
from discodock.data.featurize import ligand_atom_features, ligand_bond_graph, residue_features, rotatable_bonds
from discodock.data.parsing import Protein, remove_hydrogens
from discodock.data.neighbors import radius_graph
from discodock.data.pocket import site_view
from discodock.data.receptor_atoms import add_receptor_atoms
from discodock.errors import LigandError

def _ligand_coordinates(mol: Chem.Mol, name: str) -> torch.Tensor:
    if mol.GetNumConformers() == 0:
        raise LigandError(name, "ligand has no 3D coordinates; generate a conformer first")
    pos = torch.tensor(np.asarray(mol.GetConformer().GetPositions()), dtype=torch.float32)
    if not torch.isfinite(pos).all():
        raise LigandError(name, "ligand coordinates contain NaN or infinite values")
    return pos


def build_complex(
    protein: Protein,
    ligand_mol: Chem.Mol,
    *,
    ligand_pos: torch.Tensor | np.ndarray | None = None,
    crystal_pos: torch.Tensor | np.ndarray | None = None,
    pocket_center: torch.Tensor | np.ndarray | None = None,
    pocket_radius: float | None = None,
    receptor_radius: float = 15.0,
    receptor_max_neighbours: int | None = 24,
    name: str | None = None,
    atom_radius: float | None = None,
    atom_edge_radius: float = 5.0,
    atom_max_neighbours: int | None = 8,
) -> HeteroData:
    """The protein-ligand complex as ``HeteroData`` with the fields of :mod:`discodock.data.keys`.

    Args:
        protein: parsed receptor (:func:`discodock.data.parsing.load_protein`).
        ligand_mol: heavy-atom RDKit molecule (hydrogens are removed here if present). It is stored as
            MOL for output (bond orders, charges and stereo kept).
        ligand_pos: [N, 3] current ligand pose in Angstrom; default: the molecule's first conformer.
        crystal_pos: [N, 3] crystal pose, stored as CRYSTAL_POS when given (training / evaluation).
        pocket_center: [3] centre of the binding site; stored as POCKET_CENTER. Default: the crystal
            ligand's centroid when cropping with ``crystal_pos`` known, else the mean receptor C-alpha.
        pocket_radius: if given, keep only residues whose C-alpha lies within this distance (Angstrom)
            of the pocket centre (pocket cropping, e.g. to make CPU training affordable).
        receptor_radius: cutoff of the receptor C-alpha radius graph (Angstrom).
        receptor_max_neighbours: neighbour cap of that graph (nearest kept; None: no cap).
        name: complex name (NAME); default: the protein's file stem.
        atom_radius: if given, the protein's heavy atoms within this distance (Angstrom) of the pocket centre
            become RECEPTOR_ATOM nodes (needs ``pocket_radius``; see :mod:`discodock.data.receptor_atoms`),
            with atom-atom edges within ``atom_edge_radius`` (Angstrom, at most ``atom_max_neighbours``).
    """
    name = name if name is not None else protein.name
    mol = remove_hydrogens(ligand_mol)
    if mol.GetNumAtoms() == 0:
        raise LigandError(name, "ligand has no heavy atoms")
    pos = _ligand_coordinates(mol, name) if ligand_pos is None else torch.as_tensor(ligand_pos, dtype=torch.float32)
    if pos.shape != (mol.GetNumAtoms(), 3):
        raise ValueError(f"ligand_pos has shape {tuple(pos.shape)}, expected ({mol.GetNumAtoms()}, 3)")
    crystal = None if crystal_pos is None else torch.as_tensor(crystal_pos, dtype=torch.float32)
    if crystal is not None and crystal.shape != pos.shape:
        raise ValueError(f"crystal_pos has shape {tuple(crystal.shape)}, expected {tuple(pos.shape)}")

    ca = torch.as_tensor(protein.ca, dtype=torch.float32)
    n_pos = torch.as_tensor(protein.n, dtype=torch.float32)
    c_pos = torch.as_tensor(protein.c, dtype=torch.float32)
    sc_pos = ca.clone() if protein.sc is None else torch.as_tensor(protein.sc, dtype=torch.float32)
    emb = None if protein.embedding is None else torch.as_tensor(protein.embedding, dtype=torch.float32)
    residue_types = list(protein.residue_types)

    center = None if pocket_center is None else torch.as_tensor(pocket_center, dtype=torch.float32).reshape(1, 3)
    if pocket_radius is not None and center is None and crystal is None:
        raise ValueError("pocket cropping needs pocket_center or crystal_pos")
    if atom_radius is not None and (pocket_radius is None or protein.atoms is None):
        raise ValueError("receptor atom nodes need a pocket crop (pocket_radius) and a protein read with its atoms")

    data = HeteroData()
    lig = data[K.LIGAND]
    lig[K.POS] = pos
    lig[K.X] = ligand_atom_features(mol)
    tor_bonds, tor_mask = rotatable_bonds(mol)
    lig[K.TOR_BONDS] = tor_bonds
    lig[K.TOR_MASK] = tor_mask
    edge_index, edge_attr = ligand_bond_graph(mol)
    data[K.LIGAND_BOND][K.EDGE_INDEX] = edge_index
    data[K.LIGAND_BOND][K.EDGE_ATTR] = edge_attr

    rec = data[K.RECEPTOR]
    rec[K.POS] = ca
    rec[K.X] = residue_features(residue_types)
    rec[K.N_POS] = n_pos
    rec[K.C_POS] = c_pos
    rec[K.SC_POS] = sc_pos
    if emb is not None:
        rec[K.EMB] = emb
    if atom_radius is not None:
        add_receptor_atoms(data, protein.atoms)
    # A pocket crop rebuilds this graph on the kept residues (site_view below).
    data[K.RECEPTOR_EDGE][K.EDGE_INDEX] = (
        radius_graph(ca, receptor_radius, max_neighbours=receptor_max_neighbours)
        if pocket_radius is None else torch.zeros(2, 0, dtype=torch.long)
    )

    data[K.NAME] = name
    data[K.MOL] = mol
    data[K.POCKET_CENTER] = ca.mean(dim=0, keepdim=True) if center is None else center
    if crystal is not None:
        data[K.CRYSTAL_POS] = crystal
    if pocket_radius is not None:
        data = site_view(data, radius=pocket_radius, center=center, receptor_radius=receptor_radius,
                         receptor_max_neighbours=receptor_max_neighbours, atom_radius=atom_radius,
                         atom_edge_radius=atom_edge_radius, atom_max_neighbours=atom_max_neighbours)
    return data


def collate_complexes(data_list: list[HeteroData]) -> HeteroData:
    """Batch complexes: PyG's batching, plus the torsion fields it cannot handle.

    TOR_BONDS are offset by the ligand atoms of the complexes before them and TOR_MASK becomes the
    block-diagonal [sum T, sum N]. Non-tensor graph attributes (NAME, MOL) become lists. Graph-level
    [N, 3] tensors (CRYSTAL_POS...) are concatenated along atoms, POCKET_CENTER to [B, 3].
    """
    if not data_list:
        raise ValueError("collate_complexes needs at least one complex")
    batch = Batch.from_data_list(data_list, exclude_keys=[K.TOR_BONDS, K.TOR_MASK])
    bonds, masks = [], []
    offset = 0
    for d in data_list:
        lig = d[K.LIGAND]
        n = lig[K.POS].shape[0]
        bonds.append(lig[K.TOR_BONDS] + offset)
        masks.append(lig[K.TOR_MASK].to(torch.uint8).reshape(-1, n))
        offset += n
    batch[K.LIGAND][K.TOR_BONDS] = torch.cat(bonds, dim=0).reshape(-1, 2)
    batch[K.LIGAND][K.TOR_MASK] = torch.block_diag(*masks).bool().reshape(-1, offset)
    return batch


def torsion_batch(data: HeteroData) -> torch.Tensor:
    """Complex index of each rotatable bond: long [T] (all zeros for a single, unbatched complex).

    This is the ``tor_batch`` that :func:`discodock.geometry.torsion.apply_torsion_updates` takes.
    """
    lig = data[K.LIGAND]
    bonds = lig[K.TOR_BONDS]
    if "batch" not in lig:
        return torch.zeros(bonds.shape[0], dtype=torch.long, device=bonds.device)
    return lig.batch[bonds[:, 0]]
