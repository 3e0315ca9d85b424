"""Radius / k-nearest-neighbour graphs in plain torch, and the protein-ligand complex as PyG data.

PyG 2.8's ``radius_graph`` / ``knn_graph`` need ``pyg-lib`` or ``torch-cluster`` (compiled extensions
that are hard to install), so the graphs here are built with ``torch.cdist`` per example, in row blocks to
bound memory, and ``topk`` for neighbour caps. They follow PyG's ``source_to_target`` convention:
``edge_index[0]`` is the neighbour (source, j) and ``edge_index[1]`` the centre (target, i) that receives
the message; a neighbour cap limits how many edges each *centre* receives (the nearest are kept).
Graph construction is not differentiable (indices only) and runs on the device of its inputs.
"""

from __future__ import annotations

import numpy as np
import torch
from rdkit import Chem
from torch_geometric.data import Batch, HeteroData

from discodock.data import keys as K
from discodock.data.featurize import ligand_atom_features, ligand_bond_graph, residue_features, rotatable_bonds
from discodock.data.parsing import Protein, remove_hydrogens
from discodock.errors import LigandError, ProteinError

# cdist blocks are kept to about this many distances (16 MiB of float32).
_BLOCK_ELEMENTS = 1 << 22


def _segments(batch: torch.Tensor | None, n: int, num_graphs: int | None, device: torch.device):
    """Yield (graph id, indices of its elements) for a batch vector (sorted or not)."""
    if batch is None:
        yield 0, torch.arange(n, device=device)
        return
    batch = batch.long()
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if n else 0
    order = torch.argsort(batch, stable=True)
    counts = torch.bincount(batch, minlength=num_graphs).tolist()
    start = 0
    for g, c in enumerate(counts):
        yield g, order[start:start + c]
        start += c


def _radii(r) -> list[float] | None:
    """Per-example radii as floats (one host transfer), or None for a single float radius."""
    if isinstance(r, torch.Tensor) and r.ndim > 0:
        return [float(v) for v in r.detach().cpu().tolist()]
    return None


def _radius_of(r, radii: list[float] | None, g: int) -> float:
    return float(r) if radii is None else radii[g]


def _pairs_within(
    x: torch.Tensor,
    y: torch.Tensor,
    r: float,
    max_neighbours: int | None,
    exclude_self: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs (i in x, j in y) with |x_i - y_j| < r; at most ``max_neighbours`` nearest j per i.

    ``exclude_self`` drops i == j (x and y are then the same point set).
    """
    rows, cols = [], []
    n_y = y.shape[0]
    if x.shape[0] == 0 or n_y == 0:
        empty = torch.zeros(0, dtype=torch.long, device=x.device)
        return empty, empty
    block = max(1, _BLOCK_ELEMENTS // n_y)
    for start in range(0, x.shape[0], block):
        d = torch.cdist(x[start:start + block], y)
        if exclude_self:
            idx = torch.arange(d.shape[0], device=x.device)
            d[idx, idx + start] = float("inf")
        if max_neighbours is not None and max_neighbours < n_y:
            vals, nbr = torch.topk(d, max_neighbours, dim=1, largest=False)
            keep = vals < r
            i = torch.arange(d.shape[0], device=x.device).unsqueeze(1).expand_as(nbr)[keep]
            j = nbr[keep]
        else:
            i, j = torch.nonzero(d < r, as_tuple=True)
        rows.append(i + start)
        cols.append(j)
    return torch.cat(rows), torch.cat(cols)


@torch.no_grad()
def radius_graph(
    pos: torch.Tensor,
    r: float | torch.Tensor,
    *,
    batch: torch.Tensor | None = None,
    max_neighbours: int | None = None,
    loop: bool = False,
) -> torch.Tensor:
    """Edges between points closer than ``r`` (Angstrom) within each example of a batch.

    Args:
        pos: [N, 3] coordinates.
        r: cutoff radius, a float or a tensor [num_graphs] with one radius per example.
        batch: [N] example index of each point (None: one example).
        max_neighbours: keep at most this many nearest neighbours per centre.
        loop: include self-edges (i, i).

    Returns:
        long [2, E]: row 0 the neighbour j, row 1 the centre i, sorted by centre within each example.
    """
    edges = []
    num_graphs = None if not isinstance(r, torch.Tensor) or r.ndim == 0 else r.numel()
    radii = _radii(r)
    for g, idx in _segments(batch, pos.shape[0], num_graphs, pos.device):
        p = pos[idx]
        centre, nbr = _pairs_within(p, p, _radius_of(r, radii, g), max_neighbours, exclude_self=not loop)
        edges.append(torch.stack([idx[nbr], idx[centre]]))
    if not edges:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    return torch.cat(edges, dim=1)


@torch.no_grad()
def knn_graph(
    pos: torch.Tensor,
    k: int,
    *,
    batch: torch.Tensor | None = None,
    loop: bool = False,
) -> torch.Tensor:
    """Edges from each point's ``k`` nearest neighbours within its example: long [2, E] (neighbour, centre)."""
    return radius_graph(pos, float("inf"), batch=batch, max_neighbours=k, loop=loop)


@torch.no_grad()
def radius_bipartite(
    x: torch.Tensor,
    y: torch.Tensor,
    r: float | torch.Tensor,
    *,
    batch_x: torch.Tensor | None = None,
    batch_y: torch.Tensor | None = None,
    max_neighbours: int | None = None,
) -> torch.Tensor:
    """Cross edges between two point sets of the same examples (e.g. ligand atoms and residues).

    Args:
        x: [Nx, 3] points (e.g. ligand atoms); y: [Ny, 3] points (e.g. receptor C-alphas).
        r: cutoff in Angstrom, a float or a tensor [num_graphs] (e.g. growing with each example's sigma_tr).
        batch_x, batch_y: example index of each point (None: one example).
        max_neighbours: at most this many nearest y per x.

    Returns:
        long [2, E]: row 0 indexes x, row 1 indexes y; pairs closer than ``r``, grouped by x.
    """
    if (batch_x is None) != (batch_y is None):
        raise ValueError("give both batch_x and batch_y, or neither")
    if batch_x is None:
        seg_x = [(0, torch.arange(x.shape[0], device=x.device))]
        seg_y = {0: torch.arange(y.shape[0], device=y.device)}
    else:
        num_graphs = int(max(batch_x.max() if batch_x.numel() else -1, batch_y.max() if batch_y.numel() else -1)) + 1
        if isinstance(r, torch.Tensor) and r.ndim > 0:
            num_graphs = max(num_graphs, r.numel())
        seg_x = list(_segments(batch_x, x.shape[0], num_graphs, x.device))
        seg_y = dict(_segments(batch_y, y.shape[0], num_graphs, y.device))
    edges = []
    radii = _radii(r)
    for g, ix in seg_x:
        iy = seg_y[g]
        i, j = _pairs_within(x[ix], y[iy], _radius_of(r, radii, g), max_neighbours, exclude_self=False)
        edges.append(torch.stack([ix[i], iy[j]]))
    if not edges:
        return torch.zeros(2, 0, dtype=torch.long, device=x.device)
    return torch.cat(edges, dim=1)


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
    if pocket_radius is not None:
        if center is None:
            if crystal is None:
                raise ValueError("pocket cropping needs pocket_center or crystal_pos")
            center = crystal.mean(dim=0, keepdim=True)
        keep = torch.linalg.norm(ca - center, dim=1) < pocket_radius
        if not bool(keep.any()):
            raise ProteinError(name, f"no residue has its C-alpha within {pocket_radius:g} A of the pocket centre")
        ca, n_pos, c_pos, sc_pos = ca[keep], n_pos[keep], c_pos[keep], sc_pos[keep]
        emb = None if emb is None else emb[keep]
        residue_types = [t for t, k in zip(residue_types, keep.tolist()) if k]
    if center is None:
        center = ca.mean(dim=0, keepdim=True)

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
    data[K.RECEPTOR_EDGE][K.EDGE_INDEX] = radius_graph(
        ca, receptor_radius, max_neighbours=receptor_max_neighbours
    )

    data[K.NAME] = name
    data[K.MOL] = mol
    data[K.POCKET_CENTER] = center
    if crystal is not None:
        data[K.CRYSTAL_POS] = crystal
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
