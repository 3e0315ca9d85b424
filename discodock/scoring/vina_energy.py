"""AutoDock Vina's scoring function in torch on precomputed grids: many poses of one ligand in one box scored
and differentiated at once (the batched energy of a physics search around diffusion samples).

The receptor part is Vina's own affinity maps (``Vina.compute_vina_maps`` + ``write_maps``: one map per
ligand XS type, values already weighted and summed over receptor atoms), interpolated per atom, with Vina's
soft cap on positive energies (``curl``, v = 1000). The
ligand's internal part is Vina's pair potential (gauss1, gauss2, repulsion, hydrophobic, hydrogen bond;
8 Angstrom cutoff) over the pairs Vina counts (:mod:`discodock.scoring.xs_types`). ``affinity`` is what
``Vina.score()`` / ``Vina.optimize()`` report first: the intermolecular energy divided by
``1 + w_rot * num_tors``.

Interpolation: ``"linear"`` is Vina's own trilinear map lookup (what its search and local optimisation
evaluate); it reproduces Vina's map-based score (``Vina(no_refine=True).score()``) to 0.001 kcal/mol (inter)
and 0.008 (intra) on 58 crystal complexes. But Vina *reports* ``score()`` with exact sums over receptor
atoms, and trilinear interpolation of 0.375 A maps misses those by up to ~0.9 kcal/mol at crystal poses (the
gauss and repulsion terms are sharper than the grid). The default ``"cubic"`` (a cubic B-spline through the
same maps, smooth gradients) comes within 0.23 kcal/mol of the reported inter energy (0.14 of the affinity,
median 0.03) on those 58 complexes (``benchmarks/accuracy/vina_energy_agreement.py``).

Atoms outside the box are clamped to its faces and pay ``outside_weight * d^2`` (d: distance outside in
Angstrom), a smooth wall whose gradient points back in (Vina's own is a 10^6 kcal/mol/A slope).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem

from discodock.errors import LigandError
from discodock.scoring.pdbqt import ligand_pdbqt
from discodock.scoring.xs_types import XS_NAMES, vina_ligand_types

# Vina 1.2 default weights (vina.h, set_vina_weights): gauss1, gauss2, repulsion, hydrophobic, hbond, rot.
WEIGHTS = {"gauss1": -0.035579, "gauss2": -0.005156, "repulsion": 0.840245, "hydrophobic": -0.035069,
           "hbond": -0.587439, "rot": 0.05846}
PAIR_CUTOFF = 8.0  # Angstrom
CURL_V = 1000.0  # Vina's authentic_v: positive energies e become e * v / (v + e)
OUTSIDE_WEIGHT = 10.0  # kcal/mol/A^2
INTERPOLATIONS = ("cubic", "linear")
# Uniform cubic B-spline weights of points -1, 0, 1, 2 at fraction t: (1-t)^3/6, (3t^3-6t^2+4)/6, ...
CUBIC_BSPLINE = [[1 / 6, 4 / 6, 1 / 6, 0.0], [-0.5, 0.0, 0.5, 0.0], [0.5, -1.0, 0.5, 0.0], [-1 / 6, 0.5, -0.5, 1 / 6]]


def _curl(e: torch.Tensor) -> torch.Tensor:
    return torch.where(e > 0, e * (CURL_V / (CURL_V + e.clamp(min=0))), e)


def _slope_step(x: torch.Tensor, bad: float, good: float) -> torch.Tensor:
    """Vina's slope_step: 0 at ``bad``, 1 at ``good``, linear between."""
    return ((x - bad) / (good - bad)).clamp(0.0, 1.0)


def pair_energy(r: torch.Tensor, radius: torch.Tensor, hydrophobic: torch.Tensor, hbond: torch.Tensor
                ) -> torch.Tensor:
    """Vina's weighted pair energy (kcal/mol) at distances ``r`` (Angstrom) for pairs with optimal distance
    ``radius`` (sum of XS radii); 0 beyond the cutoff, positive values curled."""
    s = r - radius  # surface distance
    e = (WEIGHTS["gauss1"] * torch.exp(s.square() * -4.0)  # exp(-(s / 0.5)^2)
         + WEIGHTS["gauss2"] * torch.exp((s - 3.0).square() * -0.25)  # exp(-((s - 3) / 2)^2)
         + WEIGHTS["repulsion"] * s.clamp(max=0).square()
         + _slope_step(s, 1.5, 0.5) * (WEIGHTS["hydrophobic"] * hydrophobic)
         + _slope_step(s, 0.0, -0.7) * (WEIGHTS["hbond"] * hbond))
    return _curl(e * (r < PAIR_CUTOFF))


def read_vina_map(path: Path) -> tuple[np.ndarray, float, tuple[int, int, int]]:
    """One map written by ``Vina.write_maps``: values [nz+1, ny+1, nx+1] (x fastest in the file), spacing
    (Angstrom) and voxel counts (nx, ny, nz)."""
    text = path.read_text()
    lines = text.split("\n", 6)
    spacing = float(lines[3].split()[1])
    nx, ny, nz = (int(v) for v in lines[4].split()[1:4])
    values = np.array(lines[6].split(), dtype=np.float64)
    if values.size != (nx + 1) * (ny + 1) * (nz + 1):
        raise RuntimeError(f"{path}: {values.size} values for a {nx + 1}x{ny + 1}x{nz + 1} grid")
    return values.reshape(nz + 1, ny + 1, nx + 1), spacing, (nx, ny, nz)


class VinaGridEnergy(torch.nn.Module):
    """Vina's energy of poses of one ligand in one box (use :meth:`build`).

    Call with ``pos`` [B, N, 3] (Angstrom, protein frame, the ligand's atoms in its molecule's order) to get
    [B] kcal/mol = :meth:`inter` + :meth:`intra`, the quantity Vina minimises; differentiable w.r.t. ``pos``.
    Computes in the module's dtype (float32 from :meth:`build`; ``.double()`` for float64).
    """

    def __init__(self, *, grids: torch.Tensor, origin: Sequence[float], spacing: float, atom_grid: torch.Tensor,
                 pairs: torch.Tensor, pair_radius: torch.Tensor, pair_hydrophobic: torch.Tensor,
                 pair_hbond: torch.Tensor, num_tors: float, outside_weight: float = OUTSIDE_WEIGHT,
                 interpolation: str = "cubic", rotatable_bonds: Sequence[tuple[int, int]] = ()):
        super().__init__()
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, not {interpolation!r}")
        self.interpolation = interpolation
        # The bonds Vina's model twists (atom indices); its pairs assume that only these change dihedrals.
        self.rotatable_bonds = tuple((int(i), int(j)) for i, j in rotatable_bonds)
        _, pz, py, px = grids.shape  # points per axis (voxels + 1), z slowest as in the map files
        self.spacing = float(spacing)
        self.num_tors = float(num_tors)
        self.outside_weight = float(outside_weight)
        if interpolation == "cubic":  # B-spline coefficients, so that the cubic spline passes through the values
            from scipy.ndimage import spline_filter

            grids = torch.from_numpy(np.stack([spline_filter(g.double().numpy(), order=3, mode="nearest")
                                               for g in grids])).to(grids.dtype)
        # One point of padding around each map, copying its faces: every stencil point then lies in the array
        # (the faces extend outwards, as Vina's lookup holds outside atoms on the box face).
        padded = torch.nn.functional.pad(grids.unsqueeze(0), (1, 1, 1, 1, 1, 1), mode="replicate")[0]
        _, qz, qy, qx = padded.shape
        self.register_buffer("grids", padded.reshape(-1).contiguous())
        self.register_buffer("origin", torch.as_tensor(origin, dtype=grids.dtype))  # x, y, z of point (0, 0, 0)
        self.register_buffer("upper", torch.tensor([px - 1, py - 1, pz - 1], dtype=grids.dtype))  # grid units
        self.register_buffer("scored", (atom_grid >= 0).to(grids.dtype))
        # Flat index of each atom's map at grid point (0, 0, 0), and steps along x, y, z.
        self.register_buffer("map_start", atom_grid.clamp(min=0) * (qz * qy * qx) + (qy + 1) * qx + 1)
        self.register_buffer("stride", torch.tensor([1, qx, qy * qx]))
        stencil = range(-1, 3) if interpolation == "cubic" else range(2)
        self.register_buffer("stencil_offset", torch.tensor([(dz * qy + dy) * qx + dx
                                                             for dz in stencil for dy in stencil for dx in stencil]))
        # Weight of each stencil point as a polynomial in the fraction t: row k holds the t^k coefficients.
        basis = CUBIC_BSPLINE if interpolation == "cubic" else [[1.0, 0.0], [-1.0, 1.0]]
        self.register_buffer("basis", torch.tensor(basis, dtype=grids.dtype))
        self.register_buffer("pairs", pairs)
        self.register_buffer("pair_radius", pair_radius.to(grids.dtype))
        self.register_buffer("pair_hydrophobic", pair_hydrophobic.to(grids.dtype))
        self.register_buffer("pair_hbond", pair_hbond.to(grids.dtype))

    @classmethod
    def build(cls, *, receptor, ligand: Chem.Mol, center: Sequence[float], size: Sequence[float] | float,
              spacing: float = 0.375, outside_weight: float = OUTSIDE_WEIGHT, interpolation: str = "cubic"
              ) -> "VinaGridEnergy":
        """Maps for ``ligand``'s atom types in the box ``center`` / ``size`` (Angstrom; edges rounded up to
        an even number of ``spacing`` steps, as Vina does with ``force_even_voxels``) around the receptor
        (a :class:`discodock.scoring.vina.VinaReceptor`). ``ligand``: RDKit molecule with a 3D conformer, in
        the atom order later poses use (hydrogens, if any, are carried but not scored)."""
        if receptor.scoring != "vina":
            raise ValueError(f"VinaGridEnergy implements the 'vina' scoring function, not {receptor.scoring!r}")
        pdbqt = ligand_pdbqt(ligand)  # LigandError for elements Vina cannot type
        types = vina_ligand_types(pdbqt, ligand)
        used = sorted({int(t) for t in types.grid_type if t >= 0})
        if not used:
            raise LigandError(None, "the ligand has no atom Vina can score")
        center = [float(c) for c in center]
        size = np.broadcast_to(np.asarray(size, dtype=float), (3,)).tolist()
        v = receptor._vina(seed=0)  # the receptor's own Vina set-up (threads, PDBQT)
        v.set_ligand_from_string(pdbqt)
        v.compute_vina_maps(center=center, box_size=size, spacing=float(spacing), force_even_voxels=True)
        with tempfile.TemporaryDirectory(prefix="discodock_vina_maps_") as tmp:
            v.write_maps(str(Path(tmp) / "map"), overwrite=True)
            maps, voxels = [], None
            for t in used:
                path = Path(tmp) / f"map.{XS_NAMES[t]}.map"
                if not path.is_file():
                    raise RuntimeError(f"Vina wrote no map for XS type {XS_NAMES[t]} (typing mismatch)")
                values, map_spacing, voxels = read_vina_map(path)
                if abs(map_spacing - spacing) > 1e-4:
                    raise RuntimeError(f"Vina wrote maps with spacing {map_spacing}, not {spacing}")
                maps.append(values)
        # Vina's grid starts at centre - n * spacing / 2 (the header's CENTER is rounded; recompute it).
        origin = [c - n * float(spacing) / 2 for c, n in zip(center, voxels)]
        slot = {t: k for k, t in enumerate(used)}
        atom_grid = torch.tensor([slot[int(t)] if t >= 0 else -1 for t in types.grid_type])
        return cls(grids=torch.from_numpy(np.stack(maps)).float(), origin=origin, spacing=spacing,
                   atom_grid=atom_grid, pairs=torch.from_numpy(types.pairs),
                   pair_radius=torch.from_numpy(types.pair_radius),
                   pair_hydrophobic=torch.from_numpy(types.pair_hydrophobic),
                   pair_hbond=torch.from_numpy(types.pair_hbond), num_tors=types.num_tors,
                   outside_weight=outside_weight, interpolation=interpolation,
                   rotatable_bonds=types.rotatable_bonds.tolist())

    @property
    def box(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Lower and upper corners of the grid (Angstrom)."""
        return self.origin, self.origin + self.upper * self.spacing

    def _pos(self, pos: torch.Tensor) -> torch.Tensor:
        if pos.dim() != 3 or pos.shape[1:] != (self.scored.shape[0], 3):
            raise ValueError(f"pos must be [B, {self.scored.shape[0]}, 3], got {list(pos.shape)}")
        return pos.to(self.grids.dtype)

    def _weights(self, frac: torch.Tensor) -> torch.Tensor:
        """[..., 3, K] interpolation weights of the stencil points along each axis (a polynomial in the
        fraction per stencil point, evaluated by Horner's rule)."""
        t = frac.unsqueeze(-1)
        w = self.basis[-1]
        for row in self.basis.flip(0)[1:]:
            w = row + t * w
        return w

    def inter(self, pos: torch.Tensor) -> torch.Tensor:
        """[B] ligand-receptor energy (kcal/mol) from the maps, plus the outside-the-box wall."""
        pos = self._pos(pos)
        g = (pos - self.origin) / self.spacing  # grid units
        inside = torch.minimum(g.clamp(min=0), self.upper)  # Vina evaluates outside atoms on the box face
        cell = torch.minimum(inside.detach().floor(), self.upper - 1)
        w = self._weights(inside - cell)  # [B, N, 3, K]
        base = self.map_start + (cell.long() * self.stride).sum(-1)  # [B, N]
        k = w.shape[-1]
        index = (base.unsqueeze(-1) + self.stencil_offset).view(*base.shape, k, k, k)  # [B, N, z, y, x]
        # separable contraction: x, then y, then z
        values = (torch.take(self.grids, index) * w[..., 0, None, None, :]).sum(-1)
        values = (values * w[..., 1, None, :]).sum(-1)
        per_atom = _curl((values * w[..., 2, :]).sum(-1))
        outside = ((g - inside) * self.spacing).square().sum(-1)
        return ((per_atom + self.outside_weight * outside) * self.scored).sum(-1)

    def intra(self, pos: torch.Tensor) -> torch.Tensor:
        """[B] the ligand's internal energy (kcal/mol) over the pairs Vina counts."""
        pos = self._pos(pos)
        if self.pairs.shape[0] == 0:
            return pos.new_zeros(pos.shape[0])
        r = (pos.index_select(1, self.pairs[:, 0]) - pos.index_select(1, self.pairs[:, 1])).norm(dim=-1)
        return pair_energy(r, self.pair_radius, self.pair_hydrophobic, self.pair_hbond).sum(-1)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        return self.inter(pos) + self.intra(pos)

    def affinity(self, pos: torch.Tensor) -> torch.Tensor:
        """[B] the score Vina reports for these poses (kcal/mol): inter / (1 + w_rot * num_tors)."""
        return self.inter(pos) / (1.0 + WEIGHTS["rot"] * self.num_tors)
