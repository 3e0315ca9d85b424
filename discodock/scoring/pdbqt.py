"""PDBQT for AutoDock Vina: the receptor written by our own minimal writer, ligands through meeko.

Receptor (``receptor_pdbqt``): meeko 0.8's receptor preparation (``Polymer.from_pdb_string``) was tried on the
shipped examples and the PoseBusters proteins: it stops on ambiguous histidines and tries to download CCD
templates for every unknown HETATM group (no network here), so it is not used. What Vina needs from a
receptor is small: heavy atoms with AutoDock types and the polar hydrogens that mark donors (Vina's scoring
ignores charges and hydrogen positions; an H only tells Vina that the heavy atom it is bonded to is a donor).
So the writer keeps heavy atoms (first altloc, no water), keeps hydrogens bonded to N/O/S as ``HD``, and, for
proteins stored without any hydrogen, adds one ``HD`` on each standard donor (backbone N,
Arg/Asn/Gln/His/Lys/Trp/Ser/Thr/Tyr side-chain donors). Elements Vina does not know (B, Mo, Xe, ...) are
dropped.

Ligand (``ligand_pdbqt``): meeko's ``MoleculePreparation`` + ``PDBQTWriterLegacy`` from an RDKit molecule with
a 3D conformer (hydrogens are added with coordinates when missing). Poses come back through meeko's
``PDBQTMolecule`` / ``RDKitMolCreate`` and are mapped onto the input molecule's heavy atoms by graph
matching, so every returned pose is the input molecule (hydrogens removed) with new coordinates, in the
input's atom order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem

from discodock.data.atom_matching import match_atoms
from discodock.errors import LigandError, ProteinError

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


def pdbqt_to_poses(pdbqt: str, template: Chem.Mol) -> list[Chem.Mol]:
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
