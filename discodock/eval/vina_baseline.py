"""AutoDock Vina as the baseline, and Vina scoring / local refinement of poses from discodock.

Receptor: our own minimal PDBQT writer (``receptor_pdbqt``). meeko 0.8's receptor preparation
(``Polymer.from_pdb_string``) was tried on the shipped examples and the PoseBusters proteins: it stops on
ambiguous histidines and tries to download CCD templates for every unknown HETATM group (no network here),
so it is not used. What Vina needs from a receptor is small: heavy atoms with AutoDock types and the polar
hydrogens that mark donors (Vina's scoring ignores charges and hydrogen positions; an H only tells Vina
that the heavy atom it is bonded to is a donor). So the writer keeps heavy atoms (first altloc, no water),
keeps hydrogens bonded to N/O/S as ``HD``, and, for proteins stored without any hydrogen, adds one ``HD``
on each standard donor (backbone N, Arg/Asn/Gln/His/Lys/Trp/Ser/Thr/Tyr side-chain donors). Elements Vina
does not know (B, Mo, Xe, ...) are dropped.

Ligand: meeko's ``MoleculePreparation`` + ``PDBQTWriterLegacy`` from an RDKit molecule with a 3D conformer
(hydrogens are added with coordinates when missing). Poses come back through meeko's ``PDBQTMolecule`` /
``RDKitMolCreate`` and are mapped onto the input molecule's heavy atoms by graph matching, so every
returned pose is the input molecule (hydrogens removed) with new coordinates, in the input's atom order.

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

from discodock.errors import LigandError, ProteinError
from discodock.eval.rmsd import match_atoms

WATER_NAMES = frozenset({"HOH", "WAT", "DOD", "H2O", "TIP", "TIP3", "SOL"})
# AutoDock types Vina 1.2 accepts for elements other than C/N/O/S/H (checked with vina 1.2.7).
OTHER_ELEMENT_TYPES = frozenset(
    {"F", "Cl", "Br", "I", "P", "Si", "Se", "Mg", "Mn", "Zn", "Ca", "Fe", "Na", "K", "Cu", "Co", "Ni", "Hg", "Cd"}
)
# Everything Vina can type in a ligand; anything else (boron, as in boronic-acid inhibitors) makes Vina's
# PDBQT parser fail, so such a ligand can be neither docked nor scored by Vina.
VINA_LIGAND_ELEMENTS = frozenset({"C", "N", "O", "S", "H"}) | OTHER_ELEMENT_TYPES
AROMATIC_CARBONS = {
    "PHE": {"CG", "CD1", "CD2", "CE1", "CE2", "CZ"},
    "TYR": {"CG", "CD1", "CD2", "CE1", "CE2", "CZ"},
    "TRP": {"CG", "CD1", "CD2", "CE2", "CE3", "CZ2", "CZ3", "CH2"},
    "HIS": {"CG", "CD2", "CE1"},
}
HISTIDINES = frozenset({"HIS", "HID", "HIE", "HIP", "HSD", "HSE", "HSP"})
STANDARD_RESIDUES = frozenset(
    {"ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "ILE", "LEU", "LYS", "MET", "PHE", "PRO", "SER",
     "THR", "TRP", "TYR", "VAL", "MSE"} | HISTIDINES
)
# Side-chain donors that get one HD when the file has no hydrogens (HIS taken as the common HIE tautomer).
SIDECHAIN_DONORS = {
    "ARG": {"NE", "NH1", "NH2"}, "ASN": {"ND2"}, "GLN": {"NE2"}, "LYS": {"NZ"}, "TRP": {"NE1"},
    "SER": {"OG"}, "THR": {"OG1"}, "TYR": {"OH"}, **{h: {"NE2"} for h in HISTIDINES},
}
POLAR_H_MAX_DISTANCE = 1.3  # Angstrom: an H this close to N/O/S is bonded to it
BOND_MAX_DISTANCE = 1.9  # Angstrom: heavy-atom neighbours when placing added hydrogens
POCKET_BOX_SIZE = 25.0  # Angstrom, edge of the cubic search box in pocket mode
BLIND_BOX_PADDING = 5.0  # Angstrom added on each side of the protein's bounding box in blind mode
BLIND_BOX_MAX_SIZE = 80.0  # Angstrom cap per edge: Vina's grid cost grows with the box volume
SHARED_MAP_MAX_VOLUME = 27000.0  # A^3 (a 30 A cube, where Vina starts to warn): larger -> maps per pose


@dataclass(frozen=True)
class PDBAtom:
    """One ATOM/HETATM record of a PDB file (coordinates in Angstrom)."""

    record: str
    name: str
    resname: str
    chain: str
    resseq: int
    icode: str
    xyz: tuple[float, float, float]
    element: str  # title case ("C", "Zn")


def read_pdb_atoms(protein: str | Path) -> list[PDBAtom]:
    """ATOM/HETATM records of a .pdb/.cif file (optionally gzipped) as the model's reader sees them: the first
    model, the highest-occupancy alternate location (``discodock.data.parsing.read_receptor_atoms``)."""
    from discodock.data.parsing import read_receptor_atoms

    path = Path(protein)
    atoms = [PDBAtom(*a) for a in read_receptor_atoms(path)]
    if not any(a.element not in ("H", "D") for a in atoms):
        raise ProteinError(path, "no heavy atoms in ATOM/HETATM records")
    return atoms


def _pdbqt_line(serial: int, atom: PDBAtom, xyz, ad_type: str) -> str:
    name = atom.name if len(atom.name) == 4 or len(atom.element) == 2 else " " + atom.name
    resseq = atom.resseq if -999 <= atom.resseq <= 9999 else atom.resseq % 10000  # keep the 4 columns
    return (
        f"ATOM  {serial % 100000:5d} {name[:4]:<4s} {atom.resname[:3]:>3s} {(atom.chain or ' ')[:1]}{resseq:4d}"
        f"{(atom.icode or ' ')[:1]}   {xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}  1.00  0.00    {0.0:+6.3f} {ad_type:<2s}"
    )


def receptor_pdbqt(protein: str | Path, *, drop_residues: frozenset = frozenset()) -> str:
    """A rigid-receptor PDBQT for Vina from a PDB file (see the module docstring for what is kept).
    ``drop_residues``: hetero groups left out, as ``(chain, number, insertion code, name)`` keys
    (``discodock.data.hetero``: the ``--keep-het`` choice)."""
    from scipy.spatial import cKDTree

    atoms = [a for a in read_pdb_atoms(protein) if a.resname not in WATER_NAMES
             and (a.chain, a.resseq, a.icode.strip(), a.resname) not in drop_residues]
    heavy = [a for a in atoms if a.element not in ("H", "D")]
    hydrogens = [a for a in atoms if a.element in ("H", "D")]
    heavy_xyz = np.array([a.xyz for a in heavy])
    tree = cKDTree(heavy_xyz)

    # Which heavy atom carries each kept (polar) hydrogen.
    h_parent: dict[int, list[np.ndarray]] = {}
    if hydrogens:
        dist, nearest = tree.query(np.array([h.xyz for h in hydrogens]))
        for h, d, i in zip(hydrogens, dist, nearest):
            if d < POLAR_H_MAX_DISTANCE and heavy[i].element in ("N", "O", "S"):
                h_parent.setdefault(int(i), []).append(np.array(h.xyz))
    else:
        # No hydrogens at all (e.g. proteins converted from PDBQT): mark the standard donors with one HD
        # pointing away from the donor's heavy neighbours (Vina only uses it to type the donor).
        for i, a in enumerate(heavy):
            is_backbone_donor = a.name == "N" and a.resname in STANDARD_RESIDUES and a.resname != "PRO"
            if not (is_backbone_donor or a.name in SIDECHAIN_DONORS.get(a.resname, ())):
                continue
            here = heavy_xyz[i]
            neighbours = [j for j in tree.query_ball_point(here, BOND_MAX_DISTANCE) if j != i]
            away = here - heavy_xyz[neighbours].mean(0) if neighbours else np.array([1.0, 0.0, 0.0])
            norm = np.linalg.norm(away)
            away = away / norm if norm > 1e-6 else np.array([1.0, 0.0, 0.0])
            h_parent[i] = [here + 1.0 * away]

    lines, serial = [], 0
    for i, a in enumerate(heavy):
        if a.element == "C":
            ad_type = "A" if a.name in AROMATIC_CARBONS.get("HIS" if a.resname in HISTIDINES else a.resname, ()) else "C"
        elif a.element == "N":
            ring_n_acceptor = a.resname in HISTIDINES and a.name in ("ND1", "NE2") and i not in h_parent
            ad_type = "NA" if ring_n_acceptor else "N"
        elif a.element == "O":
            ad_type = "OA"
        elif a.element == "S":
            ad_type = "SA"
        elif a.element in OTHER_ELEMENT_TYPES:
            ad_type = a.element
        else:
            continue  # an element Vina has no type for
        serial += 1
        lines.append(_pdbqt_line(serial, a, a.xyz, ad_type))
        for h_xyz in h_parent.get(i, ()):
            serial += 1
            h_atom = PDBAtom("ATOM", "H", a.resname, a.chain, a.resseq, a.icode, tuple(h_xyz), "H")
            lines.append(_pdbqt_line(serial, h_atom, h_xyz, "HD"))
    return "\n".join(lines) + "\n"


def vina_untyped_elements(ligand: Chem.Mol) -> list[str]:
    """The ligand's elements that AutoDock Vina has no atom type for (empty when Vina can handle it)."""
    return sorted({a.GetSymbol() for a in ligand.GetAtoms()} - VINA_LIGAND_ELEMENTS)


def ligand_pdbqt(ligand: Chem.Mol) -> str:
    """A Vina ligand PDBQT (meeko) from an RDKit molecule with a 3D conformer; hydrogens are added with
    coordinates when missing."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    if ligand.GetNumConformers() == 0:
        raise LigandError(None, "ligand has no 3D conformer to prepare for Vina")
    untyped = vina_untyped_elements(ligand)
    if untyped:
        raise LigandError(None, f"AutoDock Vina has no atom type for element(s) {', '.join(untyped)} in the ligand")
    mol = Chem.Mol(ligand)
    mol.UpdatePropertyCache(strict=False)  # implicit-H counts, so that AddHs adds them all
    mol = Chem.AddHs(mol, addCoords=True)
    try:
        setups = MoleculePreparation().prepare(mol)
    except Exception as err:  # meeko raises plain RuntimeError/ValueError on unsupported chemistry
        raise LigandError(None, f"meeko could not prepare the ligand for Vina ({err})") from err
    text, ok, message = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise LigandError(None, f"meeko could not write the ligand PDBQT ({message})")
    return text


def _pdbqt_to_poses(pdbqt: str, template: Chem.Mol) -> list[Chem.Mol]:
    """Vina's output PDBQT (one MODEL per pose) as copies of ``template`` (heavy atoms, input order)."""
    from meeko import PDBQTMolecule, RDKitMolCreate

    parsed = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(pdbqt, is_dlg=False, skip_typing=True))
    if not parsed or parsed[0] is None:
        raise LigandError(None, "could not read Vina's output poses back")
    docked = parsed[0]
    heavy = Chem.RemoveAllHs(template)
    # For each heavy atom of the template, the atom of meeko's molecule it corresponds to.
    m = match_atoms(heavy, docked)
    poses = []
    for conf in docked.GetConformers():
        pose = Chem.Mol(heavy)
        pose.RemoveAllConformers()
        new = Chem.Conformer(heavy.GetNumAtoms())
        xyz = np.asarray(conf.GetPositions())[m]
        for k, p in enumerate(xyz):
            new.SetAtomPosition(k, p.tolist())
        new.Set3D(True)
        pose.AddConformer(new, assignId=True)
        poses.append(pose)
    return poses


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
    return VinaPose(mol=_pdbqt_to_poses(out.read_text(), pose)[0], score=energy)


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
        poses = _pdbqt_to_poses(v.poses(n_poses=int(num_poses), energy_range=1e6), ligand)
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
