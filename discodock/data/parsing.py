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
import os
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
        sc: [R, 3] centroid of the side-chain heavy atoms (beyond CB included; C-alpha for glycine and
            for residues whose side chain is missing): where the residue points.
        chain_ids, residue_numbers, insertion_codes: where each residue comes from in the file.
        embedding: optional [R, D] per-residue embedding supplied by the user (e.g. ESM), float32.
        source: the file read.
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
    sc: np.ndarray | None = None

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


@lru_cache(maxsize=4096)
def _tabulated_type(name: str) -> str | None:
    """Parent three-letter type of a residue name in gemmi's table; "" for non-amino acids; None if unknown."""
    import gemmi

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


def load_protein(path: str | Path, *, embeddings=None) -> Protein:
    """Read a receptor from .pdb, .pdb.gz, .cif/.mmcif (optionally gzipped) at residue level.

    Args:
        path: structure file.
        embeddings: optional per-residue embeddings, a path (.pt / .npy) or an array [R, D]; their row
            count must equal the number of residues kept.

    Raises:
        ProteinError: missing or empty file, not a structure, no amino-acid residue, non-finite coordinates.
    """
    import gemmi

    path = Path(path)
    _check_file(path, ProteinError)
    try:
        structure = gemmi.read_structure(str(path))
    except (RuntimeError, ValueError, OSError) as err:
        raise ProteinError(path, f"not a readable structure file ({err})") from None
    if len(structure) == 0:
        raise ProteinError(path, "not a structure: no models or atoms found")
    structure.remove_alternative_conformations()  # keeps the first altloc (and first of point mutations)
    model = structure[0]
    if sum(len(r) for ch in model for r in ch) == 0:
        raise ProteinError(path, "not a structure: no ATOM/HETATM records found")

    types, ca, n, c, sc, chains, numbers, icodes = [], [], [], [], [], [], [], []
    for chain in model:
        for residue in chain:
            rtype = _residue_type(residue)
            if rtype is None:
                continue
            ca_atom = _find_atom(residue, "CA", "C")
            if ca_atom is None:  # residues without a C-alpha cannot be placed
                continue
            n_atom = _find_atom(residue, "N", "N")
            c_atom = _find_atom(residue, "C", "C")
            n_atom = ca_atom if n_atom is None else n_atom
            c_atom = ca_atom if c_atom is None else c_atom
            types.append(rtype)
            ca.append(ca_atom.pos.tolist())
            n.append(n_atom.pos.tolist())
            c.append(c_atom.pos.tolist())
            sc.append(_side_chain_centroid(residue, ca_atom))
            chains.append(chain.name)
            numbers.append(residue.seqid.num)
            icodes.append(residue.seqid.icode.strip())
    if not types:
        raise ProteinError(path, "no amino-acid residues with a C-alpha atom (only waters/hetero groups?)")
    ca_arr = np.asarray(ca, dtype=np.float32)
    n_arr = np.asarray(n, dtype=np.float32)
    c_arr = np.asarray(c, dtype=np.float32)
    if not (np.isfinite(ca_arr).all() and np.isfinite(n_arr).all() and np.isfinite(c_arr).all()):
        raise ProteinError(path, "coordinates contain NaN or infinite values")
    protein = Protein(
        name=_strip_suffixes(path),
        residue_types=types,
        ca=ca_arr,
        n=n_arr,
        c=c_arr,
        sc=np.asarray(sc, dtype=np.float32),
        chain_ids=chains,
        residue_numbers=np.asarray(numbers, dtype=np.int64),
        insertion_codes=icodes,
        source=str(path),
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


def _read_text(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", errors="replace") as fh:
            return fh.read()
    except (OSError, EOFError) as err:
        raise LigandError(path, f"cannot read file ({err})") from None


_LIGAND_KINDS = {"sdf": "SDF/MOL", "mol": "SDF/MOL", "mol2": "mol2", "pdb": "PDB"}


def _parse(kind: str, text: str, sanitize: bool) -> Chem.Mol | None:
    if kind == "smiles":
        return Chem.MolFromSmiles(text, sanitize=sanitize)
    if kind in ("sdf", "mol"):
        block = text.split("$$$$", 1)[0]
        return Chem.MolFromMolBlock(block, sanitize=sanitize, removeHs=False, strictParsing=False)
    if kind == "mol2":
        return Chem.MolFromMol2Block(text, sanitize=sanitize, removeHs=False)
    return Chem.MolFromPDBBlock(text, sanitize=sanitize, removeHs=False)


def _read_ligand(kind: str, text: str, source) -> Chem.Mol:
    """Parse without sanitizing first, so a failure can be explained, then parse as RDKit normally does
    (which also perceives stereo from SMILES marks, wedges or 3D coordinates)."""
    raw = _parse(kind, text, sanitize=False)
    if raw is None:
        if kind == "smiles":
            raise LigandError(source, "SMILES does not parse (and is not an existing file)")
        raise LigandError(source, f"not a valid {_LIGAND_KINDS[kind]} file (RDKit could not parse the first molecule)")
    if raw.GetNumAtoms() == 0:
        raise LigandError(source, "ligand has no atoms")
    _sanitize(raw, source)
    mol = _parse(kind, text, sanitize=True)
    if mol is None:  # RDKit's full pipeline refused what plain sanitization accepted: keep ours
        mol = raw
        if mol.GetNumConformers() and mol.GetConformer().Is3D():
            Chem.AssignStereochemistryFrom3D(mol)
        else:
            Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
    return mol


def _read_ligand_file(path: Path) -> Chem.Mol:
    _check_file(path, LigandError)
    text = _read_text(path)
    if not text.strip():
        raise LigandError(path, "file is empty")
    kind = path.name.lower().removesuffix(".gz").rsplit(".", 1)[-1]
    if kind not in _LIGAND_KINDS:
        raise LigandError(path, "unsupported ligand file type (use .sdf, .mol, .mol2 or .pdb)")
    return _read_ligand(kind, text, path)


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


def load_ligand(spec: str | Path, *, max_heavy_atoms: int | None = None) -> Chem.Mol:
    """A ligand as a heavy-atom RDKit molecule, from a SMILES string or a .sdf/.mol/.mol2/.pdb file.

    Hydrogens are removed; bond orders, charges, stereo and (for files) the 3D coordinates are kept.
    A SMILES string gives a molecule without conformer (see :mod:`discodock.data.conformers`). Bond orders
    of a .pdb ligand come only from its CONECT records. The property ``source`` holds the spec.

    Raises:
        LigandError: missing/empty/corrupt file, SMILES that does not parse, impossible valences,
            no heavy atoms, only metal atoms (a lone ion), more heavy atoms than ``max_heavy_atoms``,
            non-finite coordinates.
    """
    with rdBase.BlockLogs():  # RDKit's own stderr chatter; our errors carry the reason
        if _looks_like_path(spec):
            source = Path(spec)
            mol = _read_ligand_file(source)
        else:
            source = str(spec).strip()
            if not source:
                raise LigandError(None, "empty SMILES string")
            mol = _read_ligand("smiles", source, source)
        mol = remove_hydrogens(mol)
    if mol.GetNumAtoms() == 0:
        raise LigandError(source, "ligand has no heavy atoms")
    symbols = sorted({a.GetSymbol() for a in mol.GetAtoms()})
    if all(is_metal(s) for s in symbols):
        raise LigandError(source, f"ligand has only metal atoms ({', '.join(symbols)}); a lone ion cannot be docked")
    if max_heavy_atoms is not None and mol.GetNumAtoms() > max_heavy_atoms:
        raise LigandError(
            source, f"ligand has {mol.GetNumAtoms()} heavy atoms, more than the limit of {max_heavy_atoms}"
        )
    if mol.GetNumConformers() and not np.isfinite(mol.GetConformer().GetPositions()).all():
        raise LigandError(source, "coordinates contain NaN or infinite values")
    mol.SetProp("source", str(source))
    return mol


__all__ = [
    "AMINO_ACIDS",
    "LIGAND_SUFFIXES",
    "PROTEIN_SUFFIXES",
    "Protein",
    "load_embeddings",
    "load_ligand",
    "load_protein",
    "remove_hydrogens",
]
