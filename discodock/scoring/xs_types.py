"""AutoDock Vina's view of a ligand, rebuilt from its PDBQT: X-Score (XS) atom types, the intramolecular atom
pairs Vina scores, and the torsion count of its rotatable-bond normalisation.

Vina 1.2 (``parse_pdbqt.cpp``, ``model.cpp``, ``conf_independent.cpp``) does this from the PDBQT alone, so the
same steps are repeated here on the PDBQT that :func:`discodock.scoring.pdbqt.ligand_pdbqt` writes:

- rigid segments: ROOT and each BRANCH; the second atom of ``BRANCH a b`` stays in the parent's segment (it
  lies on the rotation axis). Two atoms keep a fixed distance when they share a segment or one of them is an
  axis atom (``a`` or ``b``) of the other's segment; all other pairs are "variable";
- bonds: fixed-distance pairs closer than 1.1 x the sum of covalent radii, unless a third fixed atom is
  closer to both (Vina's ``assign_bonds``);
- XS types: carbon bonded to a heteroatom is C_P else C_H; N/O are acceptors when typed NA/OA and donors when
  bonded to an HD hydrogen; metals are donors (``assign_types``);
- intramolecular pairs: variable pairs more than three bonds apart, hydrogens and macrocycle dummies left out
  (``initialize_pairs``);
- torsions: each heavy atom adds 0.5 per rotatable bond to a heavy neighbour that itself has more than one
  heavy neighbour (``conf_independent_inputs``).
The result is mapped onto the input molecule's atoms by coordinates (the PDBQT is written from them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem

from discodock.errors import LigandError

XS_NAMES = ("C_H", "C_P", "N_P", "N_D", "N_A", "N_DA", "O_P", "O_D", "O_A", "O_DA", "S_P", "P_P", "F_H", "Cl_H",
            "Br_H", "I_H", "Si", "At", "Met_D")
XS = {name: i for i, name in enumerate(XS_NAMES)}
# Vina's xs_vdw_radii, indexed by XS type, the macrocycle-closure types (19-31) included as Vina lists them.
XS_RADII = np.array([1.9, 1.9, 1.8, 1.8, 1.8, 1.8, 1.7, 1.7, 1.7, 1.7, 2.0, 2.1, 1.5, 1.8, 2.0, 2.2, 2.2, 2.3, 1.2]
                    + [1.9] * 8 + [0.0] * 5)
XS_C_H_CG = (19, 22, 25, 28)  # closure carbons C_H_CG0..3; C_P_CGk is one more
HYDROPHOBIC = frozenset({XS["C_H"], XS["F_H"], XS["Cl_H"], XS["Br_H"], XS["I_H"]})
ACCEPTORS = frozenset({XS["N_A"], XS["N_DA"], XS["O_A"], XS["O_DA"]})
DONORS = frozenset({XS["N_D"], XS["N_DA"], XS["O_D"], XS["O_DA"], XS["Met_D"]})
# AutoDock type -> (element class, covalent radius in Angstrom), from Vina's atom_kind_data.
AD_TYPES = {
    "C": ("C", 0.77), "A": ("C", 0.77), "N": ("N", 0.75), "O": ("O", 0.73), "P": ("P", 1.06), "S": ("S", 1.02),
    "H": ("H", 0.37), "F": ("F", 0.71), "I": ("I", 1.33), "NA": ("N", 0.75), "OA": ("O", 0.73),
    "SA": ("S", 1.02), "HD": ("H", 0.37), "Mg": ("Met", 1.30), "Mn": ("Met", 1.39), "Zn": ("Met", 1.31),
    "Ca": ("Met", 1.74), "Fe": ("Met", 1.25), "Cl": ("Cl", 0.99), "Br": ("Br", 1.14), "Si": ("Si", 1.11),
    "At": ("At", 1.44), "Se": ("S", 1.02),
    **{f"G{k}": ("G", 0.77) for k in range(4)}, **{f"CG{k}": ("C", 0.77) for k in range(4)},
}
NON_AD_METALS = frozenset({"Cu", "Fe", "Na", "K", "Hg", "Co", "U", "Cd", "Ni"})
METAL_COVALENT_RADIUS = 1.75  # Angstrom, Vina's radius for metals outside the AutoDock table
ELEMENT_XS = {"S": "S_P", "P": "P_P", "F": "F_H", "Cl": "Cl_H", "Br": "Br_H", "I": "I_H", "Si": "Si", "At": "At",
              "Met": "Met_D"}
BOND_ALLOWANCE = 1.1  # Vina's bond_length_allowance_factor
COORD_MATCH = 0.01  # Angstrom: the PDBQT keeps 3 decimals of the input coordinates


@dataclass(frozen=True)
class VinaLigandTypes:
    """Vina's typing of one ligand, indexed by the input molecule's atoms.

    ``grid_type``: XS type per atom for the receptor maps (-1: not scored, e.g. hydrogens);
    ``pairs``: [P, 2] intramolecular atom pairs; ``pair_radius``: [P] optimal surface distance R_i + R_j
    (Angstrom); ``pair_hydrophobic`` / ``pair_hbond``: [P] which pair terms apply; ``num_tors``: the torsion
    count in Vina's ``1 + w * num_tors`` normalisation; ``rotatable_bonds``: [R, 2] the bonds Vina twists
    (its BRANCH axes: ring bonds meeko opened in a macrocycle included, amides excluded)."""

    grid_type: np.ndarray
    pairs: np.ndarray
    pair_radius: np.ndarray
    pair_hydrophobic: np.ndarray
    pair_hbond: np.ndarray
    num_tors: float
    rotatable_bonds: np.ndarray


@dataclass
class _Atom:
    ad: str
    xyz: np.ndarray
    segment: int


def _parse(pdbqt: str) -> tuple[list[_Atom], list[tuple[int, int]]]:
    """Atoms (with their rigid segment) and, per segment, its axis atoms (-1, -1 for the root)."""
    atoms: list[_Atom] = []
    serial_index: dict[int, int] = {}
    axes: list[tuple[int, int]] = [(-1, -1)]
    stack = [0]
    pending_axis_end: int | None = None  # serial of the branch's first atom, which stays in the parent
    for line in pdbqt.splitlines():
        if line.startswith(("ATOM  ", "HETATM")):
            serial = int(line[6:11])
            ad = line[77:].strip()
            segment = stack[-2] if serial == pending_axis_end else stack[-1]
            serial_index[serial] = len(atoms)
            atoms.append(_Atom(ad, np.array([float(line[30:38]), float(line[38:46]), float(line[46:54])]), segment))
        elif line.startswith("BRANCH"):
            begin, end = (int(x) for x in line.split()[1:3])
            axes.append((serial_index[begin], end))  # end's index is known once its ATOM line is read
            stack.append(len(axes) - 1)
            pending_axis_end = end
        elif line.startswith("ENDBRANCH"):
            stack.pop()
    axes = [(b, serial_index[e] if e >= 0 else -1) for b, e in axes]
    return atoms, axes


def _fixed_distance(atoms: list[_Atom], axes: list[tuple[int, int]]) -> np.ndarray:
    """[n, n] True where Vina keeps the distance between two atoms fixed (its mobility matrix)."""
    seg = np.array([a.segment for a in atoms])
    fixed = seg[:, None] == seg[None, :]
    for s, (begin, end) in enumerate(axes):
        if begin < 0:
            continue
        for axis_atom in (begin, end):
            fixed[axis_atom, seg == s] = fixed[seg == s, axis_atom] = True
    return fixed


def _covalent_radius(ad: str) -> float:
    return AD_TYPES[ad][1] if ad in AD_TYPES else METAL_COVALENT_RADIUS


def _bonds(atoms: list[_Atom], fixed: np.ndarray) -> np.ndarray:
    """[n, n] Vina's bond matrix (``model::assign_bonds``)."""
    xyz = np.array([a.xyz for a in atoms])
    r2 = ((xyz[:, None] - xyz[None]) ** 2).sum(-1)
    cov = np.array([_covalent_radius(a.ad) for a in atoms])
    candidate = fixed & (r2 < (BOND_ALLOWANCE * (cov[:, None] + cov[None])) ** 2)
    np.fill_diagonal(candidate, False)
    bonded = candidate.copy()
    for i, j in zip(*np.nonzero(np.triu(candidate))):
        # A third atom, fixed to both and closer to each than they are to each other, sits between them.
        between = fixed[i] & fixed[j] & (r2[i] < r2[i, j]) & (r2[j] < r2[i, j])
        between[[i, j]] = False
        if between.any():
            bonded[i, j] = bonded[j, i] = False
    return bonded


def _xs_types(atoms: list[_Atom], bonded: np.ndarray) -> list[int]:
    """XS type per atom as Vina assigns it (``model::assign_types``), -1 for hydrogens."""
    element = [AD_TYPES[a.ad][0] if a.ad in AD_TYPES else ("Met" if a.ad in NON_AD_METALS else None)
               for a in atoms]
    hetero = [e not in ("C", "H") and e is not None or a.ad.startswith("CG") for a, e in zip(atoms, element)]
    types = []
    for i, (a, el) in enumerate(zip(atoms, element)):
        neighbours = np.nonzero(bonded[i])[0]
        if el is None:
            raise LigandError(None, f"AutoDock Vina has no type {a.ad!r} for a ligand atom")
        if el in ("H", "G"):
            types.append(-1)
        elif el == "C":
            polar = any(hetero[j] for j in neighbours)
            if a.ad.startswith("CG"):
                types.append(XS_C_H_CG[int(a.ad[2])] + int(polar))
            else:
                types.append(XS["C_P"] if polar else XS["C_H"])
        elif el in ("N", "O"):
            acceptor = a.ad in ("NA", "OA")
            donor = any(atoms[j].ad == "HD" for j in neighbours)
            types.append(XS[f"{el}_" + ("DA" if acceptor and donor else "A" if acceptor else "D" if donor else "P")])
        else:
            types.append(XS[ELEMENT_XS[el]])
    return types


def _within_three_bonds(bonded: np.ndarray) -> np.ndarray:
    """[n, n] True for pairs at most three bonds apart (and each atom with itself)."""
    n = len(bonded)
    reach = np.eye(n, dtype=bool)
    step = bonded.astype(np.int64)
    for _ in range(3):
        reach = reach | ((reach.astype(np.int64) @ step) > 0)
    return reach


def _closure_clash(atoms: list[_Atom], bonded: np.ndarray) -> np.ndarray:
    """[n, n] True for pairs that sit within one bond of the two ends of the same opened macrocycle bond
    (both ends typed CGk): Vina leaves them out (``model::is_closure_clash``)."""
    n = len(atoms)
    near = bonded | np.eye(n, dtype=bool)
    clash = np.zeros((n, n), dtype=bool)
    for k in range(4):
        ends = np.array([a.ad == f"CG{k}" for a in atoms])
        touches = (near & ends[None, :]).any(1)
        clash |= touches[:, None] & touches[None, :]
    return clash


def _num_tors(atoms: list[_Atom], bonded: np.ndarray, axes: list[tuple[int, int]]) -> float:
    heavy = np.array([a.ad not in ("H", "HD") for a in atoms])
    heavy_degree = (bonded & heavy[None, :]).sum(1)
    rotatable = {frozenset(axis) for axis in axes if axis[0] >= 0}
    total = 0.0
    for i in np.nonzero(heavy)[0]:
        for j in np.nonzero(bonded[i])[0]:
            if frozenset((i, j)) in rotatable and heavy[j] and heavy_degree[j] > 1:
                total += 0.5
    return total


def _match_atoms(atoms: list[_Atom], types: list[int], mol: Chem.Mol) -> np.ndarray:
    """PDBQT atom index for each of the molecule's heavy atoms (-1 for its hydrogens)."""
    xyz = mol.GetConformer().GetPositions()
    scored = [k for k, t in enumerate(types) if t >= 0]
    pdb_xyz = np.array([atoms[k].xyz for k in scored])
    index = np.full(mol.GetNumAtoms(), -1)
    for i, atom in enumerate(mol.GetAtoms()):
        if atom.GetAtomicNum() == 1:
            continue
        dist = np.linalg.norm(pdb_xyz - xyz[i], axis=1)
        k = int(dist.argmin())
        if dist[k] > COORD_MATCH:
            raise LigandError(None, f"ligand atom {i} ({atom.GetSymbol()}) is missing from its Vina PDBQT")
        index[i] = scored[k]
    heavy = index[index >= 0]
    if len(set(heavy.tolist())) != len(heavy) or len(heavy) != len(scored):
        raise LigandError(None, "the ligand's atoms do not match its Vina PDBQT one to one")
    return index


def vina_ligand_types(pdbqt: str, mol: Chem.Mol) -> VinaLigandTypes:
    """Vina's typing of ``mol`` from the PDBQT written for it (same coordinates), on ``mol``'s atom indices."""
    atoms, axes = _parse(pdbqt)
    fixed = _fixed_distance(atoms, axes)
    bonded = _bonds(atoms, fixed)
    types = _xs_types(atoms, bonded)
    to_pdbqt = _match_atoms(atoms, types, mol)
    near = _within_three_bonds(bonded) | _closure_clash(atoms, bonded)
    from_pdbqt = {int(k): i for i, k in enumerate(to_pdbqt) if k >= 0}

    grid_type = np.full(mol.GetNumAtoms(), -1)
    for i, k in enumerate(to_pdbqt):
        if k >= 0:
            t = types[k]
            # closure carbons use the plain carbon maps (Vina's cache::eval)
            grid_type[i] = t if t < len(XS_NAMES) else (XS["C_P"] if (t - 19) % 3 else XS["C_H"])
    pairs, radius, hydrophobic, hbond = [], [], [], []
    mol_atoms = np.nonzero(to_pdbqt >= 0)[0]
    for a_pos, i in enumerate(mol_atoms):
        for j in mol_atoms[a_pos + 1:]:
            ki, kj = to_pdbqt[i], to_pdbqt[j]
            if fixed[ki, kj] or near[ki, kj]:
                continue
            ti, tj = types[ki], types[kj]
            pairs.append((i, j))
            radius.append(XS_RADII[ti] + XS_RADII[tj])
            hydrophobic.append(ti in HYDROPHOBIC and tj in HYDROPHOBIC)
            hbond.append((ti in DONORS and tj in ACCEPTORS) or (tj in DONORS and ti in ACCEPTORS))
    return VinaLigandTypes(
        grid_type=grid_type,
        pairs=np.array(pairs, dtype=np.int64).reshape(-1, 2),
        pair_radius=np.array(radius, dtype=np.float64),
        pair_hydrophobic=np.array(hydrophobic, dtype=bool),
        pair_hbond=np.array(hbond, dtype=bool),
        num_tors=_num_tors(atoms, bonded, axes),
        rotatable_bonds=np.array([(from_pdbqt[b], from_pdbqt[e]) for b, e in axes if b >= 0
                                  and b in from_pdbqt and e in from_pdbqt], dtype=np.int64).reshape(-1, 2),
    )
