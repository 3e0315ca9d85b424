"""AutoDock Vina through its Python API: scoring and local optimisation of discodock's poses (inference) and
Vina's own global search (the baseline), on one prepared receptor.

Never import openbabel/pybel in a process that uses this module: ``import vina`` followed by pybel
aborts the interpreter (DESIGN.md section 5).

Seeds: Vina treats seed 0 as "pick one at random", so a user seed ``s`` is passed to Vina as ``s + 1``.
"""

from __future__ import annotations

import functools
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem

from discodock.errors import ProteinError
from discodock.scoring.pdbqt import ligand_pdbqt, pdbqt_to_poses, receptor_pdbqt

POCKET_BOX_SIZE = 25.0  # Angstrom, edge of the cubic search box in pocket mode
BLIND_BOX_PADDING = 5.0  # Angstrom added on each side of the protein's bounding box in blind mode
BLIND_BOX_MAX_SIZE = 80.0  # Angstrom cap per edge: Vina's grid cost grows with the box volume
SHARED_MAP_MAX_VOLUME = 27000.0  # A^3 (a 30 A cube, where Vina starts to warn): larger -> maps per pose


@dataclass(frozen=True)
class VinaPose:
    """A pose (input molecule, heavy atoms, protein frame) and its Vina score (kcal/mol, lower is better)."""

    mol: Chem.Mol
    score: float


def _left_the_grid(err: RuntimeError) -> bool:
    return "outside the grid box" in str(err)


def _optimized(v, pose: Chem.Mol, out: Path) -> VinaPose:
    """Vina's local optimisation of the ligand loaded in ``v`` (``pose``), read back through ``out``."""
    energy = float(v.optimize()[0])
    v.write_pose(str(out), overwrite=True)
    return VinaPose(mol=pdbqt_to_poses(out.read_text(), pose)[0], score=energy)


class VinaReceptor:
    """One protein prepared for Vina (the PDBQT is written once, to a private temporary folder).

    Args:
        protein: PDB file (``.pdb`` or ``.pdb.gz``).
        cpu: threads Vina may use (1 keeps a shared machine usable; 0 means all cores).
        scoring: Vina scoring function name (``vina`` or ``vinardo``).
    """

    def __init__(self, *, protein: str | Path, cpu: int = 1, scoring: str = "vina",
                 drop_residues: frozenset = frozenset()):
        self.protein = Path(protein)
        self.cpu = int(cpu)
        self.scoring = scoring
        text = receptor_pdbqt(self.protein, drop_residues=drop_residues)
        self._tmp = tempfile.TemporaryDirectory(prefix="discodock_vina_")
        weakref.finalize(self, self._tmp.cleanup)
        self.pdbqt_path = Path(self._tmp.name) / "receptor.pdbqt"
        self.pdbqt_path.write_text(text)
        xyz = np.array([[float(l[30:38]), float(l[38:46]), float(l[46:54])] for l in text.splitlines()])
        self.lower, self.upper = xyz.min(0), xyz.max(0)

    def blind_box(
        self, *, padding: float = BLIND_BOX_PADDING, max_size: float = BLIND_BOX_MAX_SIZE
    ) -> tuple[np.ndarray, np.ndarray]:
        """Centre and edge lengths (Angstrom) of a box over the whole protein, each edge capped at
        ``max_size`` (a larger protein is then searched only around its centre)."""
        center = (self.lower + self.upper) / 2
        size = np.minimum(self.upper - self.lower + 2 * padding, max_size)
        return center, size

    def _vina(self, seed: int):
        from vina import Vina

        v = Vina(sf_name=self.scoring, cpu=self.cpu, seed=int(seed) + 1, verbosity=0)
        v.set_receptor(str(self.pdbqt_path))
        return v

    def dock(
        self,
        ligand: Chem.Mol,
        *,
        center: Sequence[float],
        size: float | Sequence[float] = POCKET_BOX_SIZE,
        exhaustiveness: int = 8,
        num_poses: int = 10,
        seed: int = 0,
    ) -> list[VinaPose]:
        """Global search in the box (centre and edges in Angstrom); poses ranked best first.

        ``ligand`` needs a 3D conformer (its bond lengths, angles and ring shapes are kept; position,
        orientation and torsions are searched)."""
        size = np.broadcast_to(np.asarray(size, dtype=float), (3,))
        v = self._vina(seed)
        v.set_ligand_from_string(ligand_pdbqt(ligand))
        v.compute_vina_maps(center=[float(c) for c in center], box_size=[float(s) for s in size])
        v.dock(exhaustiveness=int(exhaustiveness), n_poses=max(int(num_poses), 1))
        # A wide energy range so that num_poses poses come back whenever Vina found them.
        energies = v.energies(n_poses=int(num_poses), energy_range=1e6)[:, 0]
        poses = pdbqt_to_poses(v.poses(n_poses=int(num_poses), energy_range=1e6), ligand)
        return [VinaPose(mol=p, score=float(e)) for p, e in zip(poses, energies)]

    def _poses_on_maps(self, poses: Sequence[Chem.Mol], padding: float):
        """Yield ``(vina, pose)`` for each pose, loaded into a Vina whose grid maps cover it (``padding``
        Angstrom around it). Maps are the costly part, so poses share one map when their joint box is
        small; poses scattered over a protein get one small map each instead of one huge one."""
        boxes = [(xyz.min(0) - padding, xyz.max(0) + padding)
                 for xyz in (p.GetConformer().GetPositions() for p in poses)]
        lower = np.min([b[0] for b in boxes], axis=0)
        upper = np.max([b[1] for b in boxes], axis=0)
        shared = float(np.prod(upper - lower)) <= SHARED_MAP_MAX_VOLUME
        v = self._vina(seed=0)
        for i, pose in enumerate(poses):
            v.set_ligand_from_string(ligand_pdbqt(pose))  # maps are built for the loaded ligand's atom types
            if i == 0 or not shared:
                lo, hi = (lower, upper) if shared else boxes[i]
                v.compute_vina_maps(center=((lo + hi) / 2).tolist(), box_size=(hi - lo).tolist())
            yield v, pose

    def score_poses(self, poses: Sequence[Chem.Mol], *, padding: float = 4.0) -> list[float]:
        """Vina score (kcal/mol) of each pose as it is (score_only); all poses must be the same molecule."""
        return [float(v.score()[0]) for v, _ in self._poses_on_maps(poses, padding)]

    def score(self, pose: Chem.Mol) -> float:
        """Vina score (kcal/mol) of one pose as it is (score_only)."""
        return self.score_poses([pose])[0]

    def local_optimize_poses(self, poses: Sequence[Chem.Mol], *, padding: float = 6.0) -> list[VinaPose]:
        """Vina's local optimisation of each pose (ring shapes kept; torsions, position and orientation
        free); returns optimised poses (input atom order, heavy atoms) with their scores (kcal/mol)."""
        results = []
        with tempfile.TemporaryDirectory(prefix="discodock_vina_") as tmp:
            out = Path(tmp) / "pose.pdbqt"
            for v, pose in self._poses_on_maps(poses, padding):
                try:
                    results.append(_optimized(v, pose, out))
                except RuntimeError as err:
                    if not _left_the_grid(err):
                        raise
                    # The optimiser walked off the maps: redo this pose alone on a wider map of its own, and
                    # if even that fails keep it unrefined rather than losing the whole complex.
                    (wide, _), = self._poses_on_maps([pose], 2 * padding)
                    try:
                        results.append(_optimized(wide, pose, out))
                    except RuntimeError as err_again:
                        if not _left_the_grid(err_again):
                            raise
                        results.append(VinaPose(mol=Chem.Mol(pose), score=float(wide.score()[0])))
        return results

    def local_optimize(self, pose: Chem.Mol) -> VinaPose:
        """Vina's local optimisation of one pose (see :meth:`local_optimize_poses`)."""
        return self.local_optimize_poses([pose])[0]


@functools.lru_cache(maxsize=8)
def _cached_receptor(path: str, mtime_ns: int, cpu: int, scoring: str, drop_residues: frozenset) -> VinaReceptor:
    return VinaReceptor(protein=path, cpu=cpu, scoring=scoring, drop_residues=drop_residues)


def get_receptor(protein: str | Path, *, cpu: int = 1, scoring: str = "vina",
                 drop_residues: frozenset = frozenset()) -> VinaReceptor:
    """A :class:`VinaReceptor` for ``protein`` without the hetero groups ``drop_residues``, prepared once per
    process and file version."""
    path = Path(protein).resolve()
    if not path.is_file():
        raise ProteinError(protein, "protein file not found")
    return _cached_receptor(str(path), path.stat().st_mtime_ns, int(cpu), scoring, frozenset(drop_residues))


def vina_dock(
    protein: str | Path,
    ligand: Chem.Mol,
    *,
    center: Sequence[float] | None = None,
    box_size: float = POCKET_BOX_SIZE,
    exhaustiveness: int = 8,
    num_poses: int = 10,
    seed: int = 0,
    cpu: int = 1,
    drop_residues: frozenset = frozenset(),
) -> list[VinaPose]:
    """Dock ``ligand`` (a 3D conformer) into ``protein`` with Vina; poses ranked best first.

    With ``center`` (Angstrom) the search box is a cube of edge ``box_size`` there (pocket mode); without
    it the box covers the whole protein (blind mode, see :meth:`VinaReceptor.blind_box`).
    """
    receptor = get_receptor(protein, cpu=cpu, drop_residues=drop_residues)
    if center is None:
        center, size = receptor.blind_box()
    else:
        size = box_size
    return receptor.dock(
        ligand, center=center, size=size, exhaustiveness=exhaustiveness, num_poses=num_poses, seed=seed
    )


def vina_score(protein: str | Path, pose_mol: Chem.Mol, *, cpu: int = 1) -> float:
    """Vina score (kcal/mol, lower is better) of a pose in the protein's frame, without moving it."""
    return get_receptor(protein, cpu=cpu).score(pose_mol)


def vina_local_optimize(protein: str | Path, pose_mol: Chem.Mol, *, cpu: int = 1) -> tuple[Chem.Mol, float]:
    """Vina local optimisation of a pose: (optimised pose in the input's heavy-atom order, score kcal/mol)."""
    result = get_receptor(protein, cpu=cpu).local_optimize(pose_mol)
    return result.mol, result.score
