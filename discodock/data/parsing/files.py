"""File names and checks shared by the receptor and ligand readers."""

from __future__ import annotations

from pathlib import Path

PROTEIN_SUFFIXES = (".pdb", ".pdb.gz", ".ent", ".ent.gz", ".cif", ".cif.gz", ".mmcif", ".mmcif.gz")
LIGAND_SUFFIXES = (".sdf", ".mol", ".mol2", ".pdb")


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


def _examples(items: list[str], limit: int = 5) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")
