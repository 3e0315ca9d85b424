"""The CSV batch format of ``discodock dock --csv``: reading the file and checking one row.

Columns: ``complex_name, protein_path, ligand[, pocket_center]``. A row's paths may be relative to the CSV.
The whole file is checked for its columns up front; each row is checked only when its turn comes, so a bad
row is reported and skipped while the others run.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from discodock.errors import InputError

REQUIRED_COLUMNS = ("complex_name", "protein_path", "ligand")
_LIGAND_FILE_SUFFIXES = {".sdf", ".mol2", ".pdb", ".mol"}


@dataclass(frozen=True)
class BatchRow:
    name: str
    protein: str
    ligand: str
    pocket_center: tuple[float, float, float] | None


def parse_center(text: str) -> tuple[float, float, float]:
    """``"X,Y,Z"`` (Angstrom; ``;`` also separates) -> three finite floats, or ValueError."""
    try:
        xyz = tuple(float(v) for v in str(text).replace(";", ",").split(","))
    except ValueError:
        xyz = ()
    if len(xyz) != 3 or not all(abs(v) < 1e6 for v in xyz):  # also refuses nan / inf
        raise ValueError(f"expected X,Y,Z in Angstrom, got {text!r}")
    return xyz  # type: ignore[return-value]


def read_batch_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a batch CSV as stripped strings. InputError for a missing/unreadable file, missing
    columns or no rows."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "CSV file not found")
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            fields = [(f or "").strip() for f in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in fields]
            if missing:
                raise InputError(path, f"CSV lacks the column(s) {', '.join(missing)} "
                                 "(needs complex_name, protein_path, ligand [, pocket_center])")
            rows = []
            for row in reader:
                clean = {}
                for k, v in row.items():
                    if isinstance(v, list):  # more cells than header columns: csv puts them under None
                        v = ",".join(v)
                    clean[(k or "").strip()] = (v or "").strip()
                rows.append(clean)
    except csv.Error as err:
        raise InputError(path, f"not a readable CSV file ({err})") from None
    except OSError as err:
        raise InputError(path, f"cannot read CSV file ({err.strerror or err})") from None
    if not rows:
        raise InputError(path, "CSV has no rows")
    return rows


def resolve_row(row: dict[str, str], index: int, *, csv_path: str | Path) -> BatchRow:
    """Check one row (0-based ``index``) and resolve its paths relative to the CSV. InputError names the
    row and the problem."""
    name = row.get("complex_name") or f"row{index + 1}"
    where = f"row {index + 1} ({name})"
    if any(c in name for c in "/\\\x00") or name in (".", ".."):
        raise InputError(csv_path, f"{where}: complex_name cannot be used as a folder name")
    if not row.get("protein_path") or not row.get("ligand"):
        raise InputError(csv_path, f"{where}: empty protein_path or ligand")
    center = None
    if row.get("pocket_center"):
        try:
            center = parse_center(row["pocket_center"])
        except ValueError as err:
            raise InputError(csv_path, f"{where}: pocket_center: {err}") from None
    base = Path(csv_path).parent
    protein = row["protein_path"]
    if "\x00" in protein or "\x00" in row["ligand"]:
        raise InputError(csv_path, f"{where}: NUL character in a path")
    if not Path(protein).is_absolute() and not Path(protein).exists():
        protein = str(base / protein)
    ligand = row["ligand"]
    if Path(ligand).suffix.lower() in _LIGAND_FILE_SUFFIXES and not Path(ligand).exists() \
            and (base / ligand).exists():
        ligand = str(base / ligand)
    return BatchRow(name=name, protein=protein, ligand=ligand, pocket_center=center)
