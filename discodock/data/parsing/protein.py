"""Reading receptors: amino-acid residues as nodes, hetero groups set aside, every decision warned about.

Each residue with a C-alpha becomes a node (its C-alpha, backbone N and C, side-chain centroid and residue
type). Waters are dropped; other hetero groups are kept aside (``Protein.hetero``) for the ``--keep-het``
choice (:mod:`discodock.data.hetero`). Modified amino acids take their parent's type and force-field names
(HIE, CYX, ...) their residue's; amino acids of unknown chemistry written as ATOM records become ``UNK``. The
first model and, per residue, the highest-occupancy alternate location are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from discodock.data.featurize import OTHER_RESIDUE
from discodock.data.receptor_atoms import ResidueAtoms
from discodock.errors import ProteinError
from discodock.data.parsing.embeddings import _check_embedding, load_embeddings
from discodock.data.parsing.files import _check_file, _examples, _strip_suffixes

_THREE_TO_ONE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E", "GLY": "G",
    "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F", "PRO": "P", "SER": "S",
    "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V",
}
_ONE_TO_THREE = {v: k for k, v in _THREE_TO_ONE.items()}


@dataclass
class Protein:
    """A receptor at residue level. Coordinates in Angstrom, float32, one row per residue.

    Attributes:
        name: a label (the file name without its suffixes).
        residue_types: three-letter type per residue; modified residues carry their parent's type and
            unknown amino acids ``UNK``.
        ca, n, c: [R, 3] C-alpha, backbone N and backbone C. A missing N or C is set to the C-alpha, so
            the N - CA and C - CA vectors of that residue are zero.
        chain_ids, residue_numbers, insertion_codes: where each residue comes from in the file.
        sc: [R, 3] centroid of the side-chain heavy atoms (the C-alpha for glycine and for residues whose side
            chain is missing): where the residue points.
        embedding: optional [R, D] per-residue embedding supplied by the user (e.g. ESM), float32.
        source: the file read.
        warnings: what reading had to decide (several models, altlocs, renamed or skipped residues...).
        hetero: the non-water hetero groups (:class:`discodock.data.hetero.HeteroGroup`), not residue nodes.
        atoms: the heavy atoms of the residue nodes (:class:`discodock.data.receptor_atoms.ResidueAtoms`),
            for models with an all-atom pocket.
    """

    name: str
    residue_types: list[str]
    ca: np.ndarray
    n: np.ndarray
    c: np.ndarray
    chain_ids: list[str]
    residue_numbers: np.ndarray
    insertion_codes: list[str]
    embedding: np.ndarray | None = None
    source: str | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list, repr=False)
    hetero: list = field(default_factory=list, repr=False)
    sc: np.ndarray | None = None
    atoms: ResidueAtoms | None = field(default=None, repr=False)

    @property
    def num_residues(self) -> int:
        return len(self.residue_types)

    @property
    def sequence(self) -> str:
        """One-letter sequence of all residues in file order (X for other)."""
        return "".join(_THREE_TO_ONE.get(t, "X") for t in self.residue_types)

    def chain_sequences(self) -> dict[str, str]:
        """One-letter sequence per chain id, in file order (what an external embedding tool would read)."""
        out: dict[str, str] = {}
        for chain, t in zip(self.chain_ids, self.residue_types):
            out[chain] = out.get(chain, "") + _THREE_TO_ONE.get(t, "X")
        return out

    def select(self, mask: np.ndarray) -> Protein:
        """The residues where ``mask`` (bool [R]) is True."""
        mask = np.asarray(mask, dtype=bool)
        idx = np.nonzero(mask)[0]
        return replace(
            self,
            residue_types=[self.residue_types[i] for i in idx],
            ca=self.ca[idx],
            n=self.n[idx],
            c=self.c[idx],
            chain_ids=[self.chain_ids[i] for i in idx],
            residue_numbers=self.residue_numbers[idx],
            insertion_codes=[self.insertion_codes[i] for i in idx],
            embedding=None if self.embedding is None else self.embedding[idx],
            sc=None if self.sc is None else self.sc[idx],
            atoms=None if self.atoms is None else self.atoms.select(idx, self.num_residues),
        )


PROTONATION_NAMES = {
    "HIE": "HIS", "HID": "HIS", "HIP": "HIS", "HSD": "HIS", "HSE": "HIS", "HSP": "HIS", "CYX": "CYS",
    "CYM": "CYS", "ASH": "ASP", "GLH": "GLU", "LYN": "LYS", "ARN": "ARG", "TYM": "TYR",
}
# Heavy atoms of each standard residue inside a chain (OXT not counted): fewer means missing side-chain atoms.
_HEAVY_ATOMS = {
    "ALA": 5, "ARG": 11, "ASN": 8, "ASP": 8, "CYS": 6, "GLN": 9, "GLU": 9, "GLY": 4, "HIS": 10, "ILE": 8,
    "LEU": 8, "LYS": 9, "MET": 8, "PHE": 11, "PRO": 7, "SER": 6, "THR": 7, "TRP": 14, "TYR": 12, "VAL": 7,
}


@lru_cache(maxsize=4096)
def _tabulated_type(name: str) -> str | None:
    """Parent three-letter type of a residue name in gemmi's table; "" for non-amino acids; None if unknown."""
    import gemmi

    if name in PROTONATION_NAMES:
        return PROTONATION_NAMES[name]
    info = gemmi.find_tabulated_residue(name)
    if info is None or not info.found():
        return None
    if info.is_water() or not info.is_amino_acid():
        return ""
    return _ONE_TO_THREE.get(info.one_letter_code.upper(), OTHER_RESIDUE)


def _residue_type(residue) -> str | None:
    """Parent three-letter type of an amino-acid residue, or None for anything else."""
    rtype = _tabulated_type(residue.name)
    if rtype is None:  # not in gemmi's table: an amino acid only if written as a polymer (ATOM) record
        return OTHER_RESIDUE if residue.het_flag == "A" else None
    return rtype or None


def _find_atom(residue, name: str, element: str):
    atom = residue.find_atom(name, "*")  # gemmi's own lookup (altlocs were removed before)
    return atom if atom is not None and atom.element.name == element else None


_BACKBONE = frozenset({"N", "CA", "C", "O", "OXT"})


def _side_chain_centroid(residue, ca_atom) -> list[float]:
    """Mean position of the residue's side-chain heavy atoms; the C-alpha when it has none."""
    pts = [a.pos.tolist() for a in residue if a.name not in _BACKBONE and a.element.name not in ("H", "D")]
    if not pts:
        return ca_atom.pos.tolist()
    return np.mean(np.asarray(pts, dtype=np.float64), axis=0).tolist()


def _keep_best_altlocs(model) -> int:
    """Keep, in each residue, the alternate location with the highest total occupancy (ties: the first
    listed); returns how many residues had alternate locations. Atoms without an altloc are always kept."""
    n = 0
    for chain in model:
        for residue in chain:
            occupancy: dict[str, float] = {}
            for atom in residue:
                if atom.altloc != "\0":
                    occupancy[atom.altloc] = occupancy.get(atom.altloc, 0.0) + float(atom.occ)
            if len(occupancy) < 2:
                continue
            n += 1
            best = max(occupancy, key=lambda k: (occupancy[k], -list(occupancy).index(k)))
            for i in reversed(range(len(residue))):
                if residue[i].altloc not in ("\0", best):
                    del residue[i]
    return n


def _number(residue) -> int:
    """Author residue number; an mmCIF file may leave it out ('?'), then the label number or 0."""
    if residue.seqid.num is not None:
        return int(residue.seqid.num)
    return int(residue.label_seq) if residue.label_seq is not None else 0


MAX_RECEPTOR_ATOMS = 1_000_000  # refuse bigger files before building anything from them


def _read_first_model(path: Path):
    """gemmi's first model of a structure file with one conformer per residue (highest occupancy), and the
    warnings that choice produced. Shared by the model's receptor and Vina's, so both see the same atoms."""
    import gemmi

    _check_file(path, ProteinError)
    try:
        structure = gemmi.read_structure(str(path))
    except Exception as err:  # gemmi raises RuntimeError/ValueError/OSError, and others on odd bytes
        raise ProteinError(path, f"not a readable structure file ({type(err).__name__}: {err})") from None
    if len(structure) == 0:
        raise ProteinError(path, "not a structure: no models or atoms found")
    warnings: list[str] = []
    if len(structure) > 1:
        warnings.append(f"{len(structure)} models in the file; the first is used")
    n_atoms = structure[0].count_atom_sites()
    if n_atoms == 0:
        raise ProteinError(path, "not a structure: no ATOM/HETATM records found")
    if n_atoms > MAX_RECEPTOR_ATOMS:
        raise ProteinError(path, f"{n_atoms} atoms, more than the limit of {MAX_RECEPTOR_ATOMS}; crop the "
                                 "receptor to the chains around the site")
    for i in reversed(range(1, len(structure))):  # only the first model is used: free the others now
        del structure[i]
    try:
        n_alt = _keep_best_altlocs(structure[0])
    except UnicodeDecodeError:
        raise ProteinError(path, "atom, residue or chain names contain bytes that are not text (UTF-8)") from None
    if n_alt:
        warnings.append(f"alternate locations in {n_alt} residue(s); the highest-occupancy one is used")
    structure.remove_alternative_conformations()  # clears the flags; also keeps the first point mutation
    return structure[0], warnings


def read_receptor_atoms(path: str | Path) -> list[tuple]:
    """Every atom of the receptor as ``(record, atom name, residue name, chain, residue number, insertion
    code, (x, y, z), element)``, with the first model and altloc choice of :func:`load_protein` (waters
    included; the caller filters). Element in title case (``Zn``)."""
    path = Path(path)
    model, _ = _read_first_model(path)
    out = []
    try:
        for chain in model:
            for residue in chain:
                record = "HETATM" if residue.het_flag == "H" else "ATOM"
                number, icode = _number(residue), residue.seqid.icode.strip()
                for atom in residue:
                    xyz = atom.pos.tolist()
                    if not np.isfinite(xyz).all():
                        raise ProteinError(path, f"atom {atom.name} of {residue.name} {chain.name}{number}{icode}: "
                                                 "coordinates contain NaN or infinite values")
                    out.append((record, atom.name, residue.name, chain.name, number, icode, tuple(xyz),
                                atom.element.name.title()))
    except UnicodeDecodeError:
        raise ProteinError(path, "atom, residue or chain names contain bytes that are not text (UTF-8)") from None
    return out


def _residue_atoms(pos: list, elements: list[str], names: list[str], residue: list[int]) -> ResidueAtoms:
    """The residues' heavy atoms; atoms with non-finite coordinates are left out (residue nodes need only
    the backbone, so such a file still loads)."""
    xyz = np.asarray(pos, dtype=np.float64).reshape(-1, 3)
    ok = np.nonzero(np.isfinite(xyz).all(axis=1) & (np.abs(xyz) < 1e6).all(axis=1))[0]
    return ResidueAtoms(pos=xyz[ok].astype(np.float32), elements=[elements[i] for i in ok],
                        names=[names[i] for i in ok], residue=np.asarray(residue, dtype=np.int64)[ok])


def load_protein(path: str | Path, *, embeddings=None) -> Protein:
    """Read a receptor from .pdb, .pdb.gz, .cif/.mmcif (optionally gzipped) at residue level.

    What real files need, and what is done (each is listed in ``Protein.warnings``): the first of several
    models is used; of alternate locations the one with the highest occupancy is kept; force-field names
    (HIE/HID/HIP/CYX/CYM/ASH/GLH/LYN, ...) are read as their residue; modified amino acids (MSE, SEP, ...)
    take their parent's type; unknown ATOM-record residues become ``UNK``; residues without a C-alpha are
    skipped; missing side-chain atoms are reported (residue nodes use the backbone only). Hetero groups other
    than water are collected in ``Protein.hetero`` for the ``--keep-het`` choice (:mod:`.hetero`).

    Args:
        path: structure file.
        embeddings: optional per-residue embeddings, a path (.pt / .npy) or an array [R, D]; their row
            count must equal the number of residues kept.

    Raises:
        ProteinError: missing or empty file, not a structure, no amino-acid residue, non-finite coordinates,
            more than ``MAX_RECEPTOR_ATOMS`` atoms.
    """
    from discodock.data.hetero import WATERS, HeteroGroup

    path = Path(path)
    model, warnings = _read_first_model(path)
    try:
        types, ca, n, c, sc, chains, numbers, icodes = [], [], [], [], [], [], [], []
        renamed, modified, unknown, no_ca, incomplete, hetero = set(), set(), set(), [], [], []
        atom_pos, atom_elements, atom_names, atom_residue = [], [], [], []
        for chain in model:
            for residue in chain:
                label = f"{residue.name} {chain.name}{_number(residue)}{residue.seqid.icode.strip()}"
                rtype = _residue_type(residue)
                if rtype is None:
                    if residue.name not in WATERS:
                        heavy = [a for a in residue if a.element.name not in ("H", "D")]
                        if heavy:
                            hetero.append(HeteroGroup(
                                name=residue.name, chain=chain.name, number=_number(residue),
                                icode=residue.seqid.icode.strip(), elements=tuple(a.element.name for a in heavy),
                                xyz=np.array([a.pos.tolist() for a in heavy], dtype=float)))
                    continue
                ca_atom = _find_atom(residue, "CA", "C")
                if ca_atom is None:  # residues without a C-alpha cannot be placed
                    no_ca.append(label)
                    continue
                if residue.name in PROTONATION_NAMES:
                    renamed.add(f"{residue.name}->{rtype}")
                elif rtype == OTHER_RESIDUE:
                    unknown.add(residue.name)
                elif residue.name != rtype:
                    modified.add(f"{residue.name}->{rtype}")
                elif rtype in _HEAVY_ATOMS:
                    heavy = {a.name for a in residue if a.element.name not in ("H", "D")} - {"OXT"}
                    if len(heavy) < _HEAVY_ATOMS[rtype]:
                        incomplete.append(label)
                n_atom = _find_atom(residue, "N", "N")
                c_atom = _find_atom(residue, "C", "C")
                n_atom = ca_atom if n_atom is None else n_atom
                c_atom = ca_atom if c_atom is None else c_atom
                xyz = (ca_atom.pos.tolist(), n_atom.pos.tolist(), c_atom.pos.tolist())
                if not np.isfinite(xyz).all() or np.abs(xyz).max() > 1e6:
                    raise ProteinError(path, f"residue {label}: coordinates contain NaN or infinite values")
                types.append(rtype)
                ca.append(xyz[0])
                n.append(xyz[1])
                c.append(xyz[2])
                sc.append(_side_chain_centroid(residue, ca_atom))
                chains.append(chain.name)
                numbers.append(_number(residue))
                icodes.append(residue.seqid.icode.strip())
                for atom in residue:
                    if atom.element.name not in ("H", "D"):
                        atom_pos.append(atom.pos.tolist())
                        atom_elements.append(atom.element.name.upper())
                        atom_names.append(atom.name)
                        atom_residue.append(len(types) - 1)
    except UnicodeDecodeError:  # gemmi keeps raw bytes; a name that is not text cannot be reported or typed
        raise ProteinError(path, "atom, residue or chain names contain bytes that are not text (UTF-8)") from None
    if not types:
        raise ProteinError(path, "no amino-acid residues with a C-alpha atom (only waters/hetero groups?)")
    if renamed:
        warnings.append(f"force-field residue names read as standard residues: {_examples(sorted(renamed), 8)}")
    if modified:
        warnings.append(f"modified residues read as their parent amino acid: {_examples(sorted(modified), 8)}")
    if unknown:
        warnings.append(f"unknown residues read as UNK (no residue type for the model): {_examples(sorted(unknown))}")
    if no_ca:
        warnings.append(f"{len(no_ca)} amino-acid residue(s) without a C-alpha skipped: {_examples(no_ca)}")
    if incomplete:
        warnings.append(f"{len(incomplete)} residue(s) lack side-chain atoms (the model uses the backbone; Vina "
                        f"sees only the atoms present): {_examples(incomplete)}")
    protein = Protein(
        name=_strip_suffixes(path),
        residue_types=types,
        ca=np.asarray(ca, dtype=np.float32),
        n=np.asarray(n, dtype=np.float32),
        c=np.asarray(c, dtype=np.float32),
        sc=np.asarray(sc, dtype=np.float32),
        chain_ids=chains,
        residue_numbers=np.asarray(numbers, dtype=np.int64),
        insertion_codes=icodes,
        source=str(path),
        warnings=warnings,
        hetero=hetero,
        atoms=_residue_atoms(atom_pos, atom_elements, atom_names, atom_residue),
    )
    if embeddings is not None:
        if isinstance(embeddings, (str, Path)):
            protein.embedding = load_embeddings(embeddings, num_residues=protein.num_residues)
        else:
            protein.embedding = _check_embedding(np.asarray(embeddings, dtype=np.float32), "embeddings",
                                                 protein.num_residues)
    return protein
