"""The binding site: where a complex's site centre is, and the one crop of the receptor around it.

:func:`site_view` is the only pocket crop. Training, the prior, the confidence model and docking all call it;
training passes a site offset (the noisy site a user would give), the others none or a per-complex seeded one.
"""

from __future__ import annotations

import copy
import zlib

import torch
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.data.neighbors import radius_graph
from discodock.data.receptor_atoms import crop_receptor_atoms, drop_receptor_atoms, has_receptor_atoms
from discodock.errors import ProteinError


def crystal_pose(data: HeteroData) -> torch.Tensor:
    """The crystal ligand pose [N, 3]: CRYSTAL_POS when the complex has one, else the ligand's POS."""
    crystal = data[K.CRYSTAL_POS] if K.CRYSTAL_POS in data else None
    if isinstance(crystal, torch.Tensor) and crystal.shape == data[K.LIGAND][K.POS].shape:
        return crystal
    return data[K.LIGAND][K.POS]


def complex_generator(seed: int, name: str) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and the complex's name: each complex gets its own draws, and the
    same complex the same draws for the same seed."""
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + zlib.crc32(str(name).encode())) % (2**63))


def site_offset(noise: float, shape: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random offset [3] (Angstrom) of a training site from the crystal centroid: an isotropic Gaussian of
    ``noise`` per axis (``shape="gaussian"``) or uniform in a ball of radius ``noise`` (``"ball"``)."""
    if shape == "gaussian":
        return noise * torch.randn(3, generator=generator)
    direction = torch.randn(3, generator=generator)
    direction = direction / direction.norm().clamp_min(1e-8)
    radius = noise * torch.rand(1, generator=generator).pow(1.0 / 3.0)  # uniform in volume
    return direction * radius


def site_view(
    data: HeteroData,
    *,
    radius: float,
    center: torch.Tensor | None = None,
    offset: torch.Tensor | None = None,
    receptor_radius: float = 15.0,
    receptor_max_neighbours: int | None = 24,
    atom_radius: float | None = None,
    atom_edge_radius: float = 5.0,
    atom_max_neighbours: int | None = 8,
) -> HeteroData:
    """A copy of ``data`` keeping the residues whose C-alpha lies within ``radius`` Angstrom of the site.

    The site is ``center`` [3] (a user's site), else the crystal ligand's centroid; ``offset`` [3] is added to
    it (training's site noise, :func:`site_offset`). The receptor radius graph is rebuilt on the kept
    residues and POCKET_CENTER set to the site.

    Receptor atom nodes (:mod:`discodock.data.receptor_atoms`), when ``data`` has them, are kept within
    ``atom_radius`` Angstrom of the site (their residue kept too) with a fresh atom-atom graph
    (``atom_edge_radius``, ``atom_max_neighbours``); ``atom_radius=None`` drops them.

    Raises:
        ProteinError: no residue is that close to the site.
    """
    if center is None:
        center = crystal_pose(data).mean(0)
    center = torch.as_tensor(center, dtype=torch.float32).reshape(1, 3)
    if offset is not None:
        center = center + torch.as_tensor(offset, dtype=torch.float32).reshape(1, 3)
    rec = data[K.RECEPTOR]
    keep = torch.linalg.norm(rec[K.POS] - center, dim=1) < radius
    if not bool(keep.any()):
        raise ProteinError(data[K.NAME] if K.NAME in data else None,
                           f"no residue has its C-alpha within {radius:g} A of the pocket centre")
    out = copy.copy(data)  # PyG copies each store shallowly: new tensors below leave ``data`` untouched
    new_rec = out[K.RECEPTOR]
    for key in list(rec.keys()):
        value = rec[key]
        if torch.is_tensor(value) and value.dim() > 0 and value.shape[0] == keep.shape[0]:
            new_rec[key] = value[keep]
    out[K.RECEPTOR_EDGE][K.EDGE_INDEX] = radius_graph(
        new_rec[K.POS], receptor_radius, max_neighbours=receptor_max_neighbours
    )
    out[K.POCKET_CENTER] = center
    if has_receptor_atoms(out):
        if atom_radius is None:
            drop_receptor_atoms(out)
        else:
            crop_receptor_atoms(out, kept_residues=keep, center=center, radius=atom_radius,
                                edge_radius=atom_edge_radius, max_neighbours=atom_max_neighbours)
    return out


def place_reference_ligand(data: HeteroData, generator: torch.Generator | None = None) -> HeteroData:
    """A copy of ``data`` with the ligand's reference conformer (graph field CONFORMER_POS, else POS) centred
    on the site (POCKET_CENTER) in a uniformly random orientation: what the AR prior sees (no crystal pose)."""
    from discodock.geometry.rigid import axis_angle_to_matrix, random_rotation_vectors

    from discodock.data.cache import CONFORMER_POS

    ref = data[CONFORMER_POS] if CONFORMER_POS in data else data[K.LIGAND][K.POS]
    rot = axis_angle_to_matrix(random_rotation_vectors(1, generator=generator)[0]).to(ref)
    center = torch.as_tensor(data[K.POCKET_CENTER]).reshape(1, 3).to(ref)
    out = copy.copy(data)  # PyG copies stores shallowly: the new POS leaves ``data`` untouched
    out[K.LIGAND][K.POS] = (ref - ref.mean(0, keepdim=True)) @ rot.T + center
    return out
