"""Reading receptors and ligands from files (and ligands from SMILES), with typed, one-line errors.

Receptors are reduced to amino-acid residues: each residue with a C-alpha becomes a node (its C-alpha,
backbone N and C, and its residue type). Waters, ions, cofactors and other hetero groups are dropped;
modified amino acids (MSE, SEP, ...) take their parent's type; amino acids of unknown chemistry that are
written as ATOM records become ``UNK``. Only the first model and the first alternate location are used.

Ligands are RDKit molecules with hydrogens removed; atom order, bond orders, formal charges and stereo of
the input are kept, so output poses can be written as the same molecule.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from rdkit import Chem, rdBase

from discodock.data.featurize import AMINO_ACIDS, OTHER_RESIDUE, is_metal
from discodock.errors import LigandError, ProteinError

PROTEIN_SUFFIXES = (".pdb", ".pdb.gz", ".ent", ".ent.gz", ".cif", ".cif.gz", ".mmcif", ".mmcif.gz")
LIGAND_SUFFIXES = (".sdf", ".mol", ".mol2", ".pdb")

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
        embedding: optional [R, D] per-residue embedding supplied by the user (e.g. ESM), float32.
        source: the file read.
        warnings: what reading had to decide (several models, altlocs, renamed or skipped residues...).
        hetero: the non-water hetero groups (:class:`discodock.data.hetero.HeteroGroup`), not residue nodes.
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
        )


def _strip_suffixes(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".pdb", ".ent", ".cif", ".mmcif", ".sdf", ".mol2", ".mol"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _check_file(path: Path, error: type) -> None:
    if not path.exists():
        raise error(path, "file not found")
    if path.is_dir():
        raise error(path, "is a directory, expected a file")
    if path.stat().st_size == 0:
        raise error(path, "file is empty")


# Force-field names for protonation states (Amber, CHARMM) -> the residue they are.
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


def _examples(items: list[str], limit: int = 5) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


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
        types, ca, n, c, chains, numbers, icodes = [], [], [], [], [], [], []
        renamed, modified, unknown, no_ca, incomplete, hetero = set(), set(), set(), [], [], []
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
                chains.append(chain.name)
                numbers.append(_number(residue))
                icodes.append(residue.seqid.icode.strip())
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
        chain_ids=chains,
        residue_numbers=np.asarray(numbers, dtype=np.int64),
        insertion_codes=icodes,
        source=str(path),
        warnings=warnings,
        hetero=hetero,
    )
    if embeddings is not None:
        if isinstance(embeddings, (str, Path)):
            protein.embedding = load_embeddings(embeddings, num_residues=protein.num_residues)
        else:
            protein.embedding = _check_embedding(np.asarray(embeddings, dtype=np.float32), "embeddings",
                                                 protein.num_residues)
    return protein


def _check_embedding(array: np.ndarray, source, num_residues: int | None) -> np.ndarray:
    if array.ndim != 2:
        raise ProteinError(source, f"expected a [residues, features] embedding array, got shape {tuple(array.shape)}")
    if num_residues is not None and array.shape[0] != num_residues:
        raise ProteinError(
            source, f"embedding has {array.shape[0]} rows but the protein has {num_residues} residues"
        )
    if not np.isfinite(array).all():
        raise ProteinError(source, "embedding contains NaN or infinite values")
    return array.astype(np.float32, copy=False)


def load_embeddings(path: str | Path, *, num_residues: int | None = None) -> np.ndarray:
    """Per-residue embeddings [R, D] float32 from a .npy or .pt file, checked against ``num_residues``.

    A .pt file may hold a tensor, a list of per-chain tensors (concatenated in order), or a dict with
    one tensor or ESM's ``{"representations": {layer: tensor}}`` (the highest layer is used).
    """
    import torch

    path = Path(path)
    _check_file(path, ProteinError)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix == ".pt":
            obj = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(obj, dict) and "representations" in obj:
                reps = obj["representations"]
                obj = reps[max(reps)] if isinstance(reps, dict) else reps
            if isinstance(obj, dict):
                tensors = [v for v in obj.values() if isinstance(v, torch.Tensor)]
                if len(tensors) != 1:
                    raise ProteinError(path, "expected one embedding tensor in the .pt dict")
                obj = tensors[0]
            if isinstance(obj, (list, tuple)):
                obj = torch.cat([torch.as_tensor(t) for t in obj], dim=0)
            if not isinstance(obj, torch.Tensor):
                raise ProteinError(path, f"unsupported embedding content ({type(obj).__name__})")
            array = obj.detach().float().numpy()
        else:
            raise ProteinError(path, "unsupported embedding file type (use .npy or .pt)")
    except ProteinError:
        raise
    except Exception as err:  # corrupt file: numpy / torch raise many types
        raise ProteinError(path, f"cannot read embeddings ({type(err).__name__}: {err})") from None
    return _check_embedding(np.asarray(array, dtype=np.float32), path, num_residues)


# ----------------------------------------------------------------------------------------------- ligands


def _looks_like_path(spec) -> bool:
    if isinstance(spec, Path):
        return True
    # Not "contains a slash": SMILES use "/" and "\\" for double-bond stereo.
    text = str(spec).strip()
    lower = text.lower()
    return any(lower.endswith(s) for s in LIGAND_SUFFIXES + (".sdf.gz", ".mol2.gz")) or os.path.isfile(text)


def _sanitize(mol: Chem.Mol, source) -> None:
    try:
        Chem.SanitizeMol(mol)
    except Chem.AtomValenceException as err:
        raise LigandError(source, f"impossible valence ({err})") from None
    except Chem.KekulizeException as err:
        raise LigandError(source, f"aromatic system cannot be kekulized ({err})") from None
    except Exception as err:  # other RDKit sanitization failures
        raise LigandError(source, f"RDKit cannot sanitize the molecule ({err})") from None


_LIGAND_KINDS = {"sdf": "SDF/MOL", "mol": "SDF/MOL", "mol2": "mol2", "pdb": "PDB"}
WARNINGS_PROP = "discodock_warnings"  # a ligand's reading warnings travel with the molecule (JSON list)


def _records(kind: str, text: str) -> list[str]:
    """The molecule records of a multi-molecule SDF / mol2 text (other kinds: the whole text)."""
    if kind in ("sdf", "mol"):
        parts = re.split(r"^\$\$\$\$[^\n]*$", text, flags=re.M)
        records = [p.lstrip("\r\n") for p in parts if p.strip()]
    elif kind == "mol2":
        starts = [m.start() for m in re.finditer(r"^@<TRIPOS>MOLECULE", text, flags=re.M)]
        records = [text[i:j] for i, j in zip(starts, starts[1:] + [len(text)])] or [text]
    else:
        records = [text]
    return records or [text]


def _parse(kind: str, text: str, sanitize: bool) -> Chem.Mol | None:
    if kind == "smiles":
        return Chem.MolFromSmiles(text, sanitize=sanitize)
    if kind in ("sdf", "mol"):
        return Chem.MolFromMolBlock(text, sanitize=sanitize, removeHs=False, strictParsing=False)
    if kind == "mol2":
        return Chem.MolFromMol2Block(text, sanitize=sanitize, removeHs=False)
    return Chem.MolFromPDBBlock(text, sanitize=sanitize, removeHs=False)


def _symbol(atom) -> str:
    try:
        return atom.GetSymbol()
    except UnicodeDecodeError:  # an unknown element label of non-UTF-8 bytes in the file
        return "?"


def _read_ligand(kind: str, text: str, source) -> Chem.Mol:
    """Parse without sanitizing first, so a failure can be explained, then parse as RDKit normally does
    (which also perceives stereo from SMILES marks, wedges or 3D coordinates)."""
    raw = _parse(kind, text, sanitize=False)
    if raw is None:
        if kind == "smiles":
            raise LigandError(source, "SMILES does not parse (and is not an existing file)")
        raise LigandError(source, f"not a valid {_LIGAND_KINDS[kind]} file (RDKit could not parse the molecule)")
    if raw.GetNumAtoms() == 0:
        raise LigandError(source, "ligand has no atoms")
    dummies = sorted({_symbol(a) for a in raw.GetAtoms() if a.GetAtomicNum() == 0})
    if dummies:
        raise LigandError(source, f"ligand has dummy or query atoms ({', '.join(dummies)}), which cannot be docked")
    _sanitize(raw, source)
    try:
        mol = _parse(kind, text, sanitize=True)
    except Exception:  # RDKit raises on a few inputs that plain sanitization accepts
        mol = None
    if mol is None:  # RDKit's full pipeline refused what plain sanitization accepted: keep ours
        mol = raw
        if mol.GetNumConformers() and mol.GetConformer().Is3D():
            Chem.AssignStereochemistryFrom3D(mol)
        else:
            Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
    return mol


def _read_ligand_file(path: Path, index: int | None, warnings: list[str]) -> Chem.Mol:
    _check_file(path, LigandError)
    text = _read_text(path)
    if not text.strip():
        raise LigandError(path, "file is empty")
    kind = path.name.lower().removesuffix(".gz").rsplit(".", 1)[-1]
    if kind not in _LIGAND_KINDS:
        raise LigandError(path, "unsupported ligand file type (use .sdf, .mol, .mol2 or .pdb)")
    records = _records(kind, text)
    if index is not None:
        if not 1 <= index <= len(records):
            raise LigandError(path, f"--ligand-index {index} is out of range: the file holds {len(records)} "
                                    f"molecule record(s)")
        record = records[index - 1]
    else:
        record = records[0]
        if len(records) > 1:
            warnings.append(f"the file holds {len(records)} molecules; the first is docked (choose another "
                            "with --ligand-index N)")
    return _read_ligand(kind, record, path)


def _is_organic(mol: Chem.Mol) -> bool:
    return any(a.GetAtomicNum() == 6 for a in mol.GetAtoms())


def _largest_organic_fragment(mol: Chem.Mol, source, warnings: list[str]) -> Chem.Mol:
    """Salts, counter-ions and solvent in one record: keep the largest fragment that contains carbon."""
    frags = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
    if len(frags) < 2:
        return mol
    organic = [f for f in frags if _is_organic(f)]
    if not organic:
        raise LigandError(source, f"none of the ligand's {len(frags)} fragments contains carbon "
                                  f"({'.'.join(Chem.MolToSmiles(f) for f in frags)}); nothing to dock")
    best = max(organic, key=lambda f: f.GetNumHeavyAtoms())  # first of equal size
    if sum(f.GetNumHeavyAtoms() == best.GetNumHeavyAtoms() for f in organic) > 1:
        warnings.append("several organic fragments of equal size; the first is docked")
    removed = [Chem.MolToSmiles(f) for f in frags if f is not best]
    warnings.append(f"ligand has {len(frags)} fragments; docked the largest organic one "
                    f"({Chem.MolToSmiles(best)}), removed {_examples(removed)}")
    best.UpdatePropertyCache(strict=False)
    return best


def _fix_undefined_stereo(mol: Chem.Mol, warnings: list[str]) -> Chem.Mol:
    """A molecule without 3D coordinates may leave stereocentres undefined; the conformer generator would then
    pick one at random per seed. Pick one isomer deterministically instead and say which."""
    from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions

    if mol.GetNumConformers() and mol.GetConformer().Is3D():
        return mol
    centres = [c for c in Chem.FindMolChiralCenters(mol, includeUnassigned=True, useLegacyImplementation=False)
               if c[1] == "?"]
    bonds = [b for b in mol.GetBonds() if b.GetStereo() == Chem.BondStereo.STEREOANY]
    if not centres and not bonds:
        return mol
    options = StereoEnumerationOptions(onlyUnassigned=True, maxIsomers=1, unique=True, rand=None)
    try:
        isomer = next(iter(EnumerateStereoisomers(mol, options=options)))
    except Exception:  # RDKit could not enumerate: keep the molecule, the conformer decides
        return mol
    what = f"{len(centres)} stereocentre(s)" + (f" and {len(bonds)} double bond(s)" if bonds else "")
    warnings.append(f"undefined stereo ({what}); docked one isomer, {Chem.MolToSmiles(isomer)}: give the stereo "
                    "in the input to choose another")
    for prop in mol.GetPropNames():
        isomer.SetProp(prop, mol.GetProp(prop))
    return isomer


def _read_text(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", errors="replace") as fh:
            return fh.read()
    except (OSError, EOFError, ValueError) as err:  # ValueError: e.g. embedded NUL in a gzip name
        raise LigandError(path, f"cannot read file ({err})") from None


def remove_hydrogens(mol: Chem.Mol) -> Chem.Mol:
    """A copy of ``mol`` without any hydrogen atoms (implicit H counts, stereo and conformers kept)."""
    if all(atom.GetAtomicNum() != 1 for atom in mol.GetAtoms()):
        return Chem.Mol(mol)
    try:
        return Chem.RemoveAllHs(mol, sanitize=True)
    except Exception:  # e.g. unusual H-count fields; the heavy-atom graph is still fine
        out = Chem.RemoveAllHs(mol, sanitize=False)
        out.UpdatePropertyCache(strict=False)
        return out


def ligand_warnings(mol: Chem.Mol) -> list[str]:
    """What :func:`load_ligand` had to decide for this molecule (fragments removed, isomer picked...)."""
    return json.loads(mol.GetProp(WARNINGS_PROP)) if mol.HasProp(WARNINGS_PROP) else []


def load_ligand(spec: str | Path, *, max_heavy_atoms: int | None = None, index: int | None = None) -> Chem.Mol:
    """A ligand as a heavy-atom RDKit molecule, from a SMILES string or a .sdf/.mol/.mol2/.pdb file.

    Hydrogens are removed; bond orders, charges, stereo and (for files) the 3D coordinates are kept.
    A SMILES string gives a molecule without conformer (see :mod:`discodock.data.conformers`). Bond orders
    of a .pdb ligand come only from its CONECT records. The property ``source`` holds the spec.
    Real inputs are tidied, each step noted in :func:`ligand_warnings`: from a multi-molecule SDF/mol2 the
    record ``index`` (1-based; default the first) is read; of several fragments (salts, counter-ions, solvent)
    the largest one containing carbon is kept; undefined stereocentres of a 2D/SMILES input are set to one
    isomer, chosen deterministically.

    Raises:
        LigandError: missing/empty/corrupt file, SMILES that does not parse, impossible valences, dummy
            atoms, no heavy atoms, no organic fragment, only metal atoms (a lone ion), more heavy atoms than
            ``max_heavy_atoms``, non-finite coordinates, ``index`` out of range.
    """
    warnings: list[str] = []
    with rdBase.BlockLogs():  # RDKit's own stderr chatter; our errors carry the reason
        if _looks_like_path(spec):
            source = Path(spec)
            mol = _read_ligand_file(source, index, warnings)
        else:
            source = str(spec).strip()
            if not source:
                raise LigandError(None, "empty SMILES string")
            if "\x00" in source:
                raise LigandError(None, "SMILES contains a NUL character")
            mol = _read_ligand("smiles", source, source)
        mol = remove_hydrogens(mol)
        if mol.GetNumAtoms() == 0:
            raise LigandError(source, "ligand has no heavy atoms")
        symbols = sorted({a.GetSymbol() for a in mol.GetAtoms()})
        if all(is_metal(s) for s in symbols):
            raise LigandError(source, f"ligand has only metal atoms ({', '.join(symbols)}); a lone ion cannot be docked")
        mol = _largest_organic_fragment(mol, source, warnings)
        if max_heavy_atoms is not None and mol.GetNumAtoms() > max_heavy_atoms:
            raise LigandError(
                source, f"ligand has {mol.GetNumAtoms()} heavy atoms, more than the limit of {max_heavy_atoms} "
                        "(--max-heavy-atoms)"
            )
        if mol.GetNumConformers() and not np.isfinite(mol.GetConformer().GetPositions()).all():
            raise LigandError(source, "coordinates contain NaN or infinite values")
        mol = _fix_undefined_stereo(mol, warnings)
    mol.SetProp("source", str(source))
    mol.SetProp(WARNINGS_PROP, json.dumps(warnings))
    return mol


__all__ = [
    "AMINO_ACIDS",
    "LIGAND_SUFFIXES",
    "PROTEIN_SUFFIXES",
    "Protein",
    "load_embeddings",
    "load_ligand",
    "ligand_warnings",
    "load_protein",
    "read_receptor_atoms",
    "remove_hydrogens",
]
