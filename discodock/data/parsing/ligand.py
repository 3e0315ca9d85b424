"""Reading ligands from files (SDF, MOL, mol2, PDB) or SMILES: heavy-atom RDKit molecules, one-line errors.

Atom order, bond orders, formal charges and stereo of the input are kept, so output poses can be written as
the same molecule. Salts and solvent are removed (the largest organic fragment is docked), undefined
stereocentres are fixed to one isomer, and each such decision travels with the molecule as a warning.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
from pathlib import Path

import numpy as np
from rdkit import Chem, rdBase

from discodock.data.featurize import is_metal
from discodock.errors import LigandError
from discodock.data.parsing.files import LIGAND_SUFFIXES, _check_file, _examples

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


_MAX_ISOMERS_TRIED = 16


def _embeds_quickly(mol: Chem.Mol) -> bool:
    from rdkit.Chem import AllChem

    params = AllChem.ETKDGv3()
    params.randomSeed = 0
    params.maxIterations = 10
    with rdBase.BlockLogs():
        return AllChem.EmbedMolecule(Chem.AddHs(mol), params) >= 0


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
    options = StereoEnumerationOptions(onlyUnassigned=True, unique=True, rand=None)
    try:
        isomers = list(itertools.islice(EnumerateStereoisomers(mol, options=options), _MAX_ISOMERS_TRIED))
    except Exception:  # RDKit could not enumerate: keep the molecule, the conformer decides
        return mol
    if not isomers:
        return mol
    # The first isomer that embeds: an arbitrary choice at an adamantane's bridgeheads can be a cage that cannot
    # exist, on which the conformer generator would fail (slowly). A few ETKDG iterations tell (~50 ms).
    isomer = next((m for m in isomers if _embeds_quickly(m)), isomers[0])
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
