"""Complexes in the PDBBind directory layout, and split files.

Layout (one folder per complex, under one or more data roots)::

    <root>/<id>/<id>_protein.pdb        (or .pdb.gz, .cif, .cif.gz)
    <root>/<id>/<id>_ligand.sdf         (crystal pose; <id>_ligand.mol2 is tried when the SDF fails RDKit)
"""

from __future__ import annotations

from pathlib import Path

from discodock.errors import InputError

PROTEIN_NAMES = ("{id}_protein.pdb", "{id}_protein.pdb.gz", "{id}_protein.cif", "{id}_protein.cif.gz")
LIGAND_NAMES = ("{id}_ligand.sdf", "{id}_ligand.mol2")


def read_split(path: str | Path) -> list[str]:
    """Complex IDs from a split file: one per line; blank lines and ``#`` comments ignored; order kept.

    Raises:
        InputError: the file is missing or lists no ID.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "split file not found")
    ids, seen = [], set()
    for line in path.read_text(errors="replace").splitlines():
        item = line.split("#", 1)[0].strip()
        if item and item not in seen:
            seen.add(item)
            ids.append(item)
    if not ids:
        raise InputError(path, "split file lists no complex IDs")
    return ids


def complex_files(folder: str | Path, complex_id: str | None = None) -> tuple[Path | None, list[Path]]:
    """The protein file (or None) and the existing ligand files (SDF first) of one complex folder."""
    folder = Path(folder)
    cid = complex_id or folder.name
    protein = next((folder / n.format(id=cid) for n in PROTEIN_NAMES if (folder / n.format(id=cid)).is_file()), None)
    ligands = [folder / n.format(id=cid) for n in LIGAND_NAMES if (folder / n.format(id=cid)).is_file()]
    return protein, ligands


def index_complexes(roots: list[str | Path]) -> dict[str, Path]:
    """``{id: folder}`` for every complex folder under the data roots (first root wins on duplicates).

    A folder counts when it holds ``<id>_protein.*`` or ``<id>_ligand.*`` named after itself; a root that
    is itself such a folder is indexed too.

    Raises:
        InputError: a root does not exist or is not a directory.
    """
    index: dict[str, Path] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise InputError(root, "data directory not found")
        candidates = [root] + sorted(p for p in root.iterdir() if p.is_dir())
        for folder in candidates:
            protein, ligands = complex_files(folder)
            if (protein is not None or ligands) and folder.name not in index:
                index[folder.name] = folder
    return index


def resolve_ids(ids: list[str], index: dict[str, Path]) -> tuple[dict[str, Path], list[str]]:
    """Folders of ``ids`` (exact match, else case-insensitive) and the IDs found nowhere."""
    lower = {k.lower(): k for k in index}
    found, missing = {}, []
    for cid in ids:
        key = cid if cid in index else lower.get(cid.lower())
        if key is None:
            missing.append(cid)
        else:
            found[key] = index[key]
    return found, missing
