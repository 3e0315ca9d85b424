"""Streaming ligand libraries: ``.smi``/``.smiles``/``.ism`` (SMILES, then an optional ID), ``.csv`` (columns
``smiles`` and ``id``), ``.sdf`` (one record each); any of them may be gzipped (``.gz``).

Records are read one at a time (memory flat in library size) and are not parsed by RDKit here: a broken
SMILES or SDF record becomes an error row when it is docked, never a crash of the reader.

IDs: a record without an ID gets ``line-<n>`` (SMILES, 1-based line number), ``row-<n>`` (CSV, 1-based data
row) or ``record-<n>`` (SDF, 1-based record): stable for a given file. An ID seen before in the library is made
unique by appending ``#2``, ``#3``... in order of appearance (the readers count and report these).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from discodock.errors import InputError

SMILES_SUFFIXES = (".smi", ".smiles", ".ism")
FORMATS = SMILES_SUFFIXES + (".csv", ".sdf")


@dataclass(frozen=True)
class LibraryEntry:
    """One library record: ``position`` is its 0-based place in the file (shards and order use it)."""

    position: int
    ligand_id: str
    smiles: str = ""  # as written in the library ('' for SDF records)
    molblock: str | None = None  # the SDF record's text
    error: str | None = None  # what made the record unreadable, if anything


def library_format(path: str | Path) -> str:
    name = str(path).lower().removesuffix(".gz")
    for suffix in FORMATS:
        if name.endswith(suffix):
            return suffix
    raise InputError(path, f"unknown ligand library format (expected one of {', '.join(FORMATS)}, optionally .gz)")


def _open_text(path: Path):
    if str(path).lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def check_library(path: str | Path) -> Path:
    """The library path, after checking it exists, has a known format and starts readable."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "ligand library not found")
    fmt = library_format(path)
    try:
        with _open_text(path) as fh:
            head = fh.readline()
    except (OSError, EOFError) as err:
        raise InputError(path, f"cannot read ligand library ({err})") from None
    if fmt == ".csv":
        fields = [f.strip().lower() for f in next(csv.reader([head]), [])]
        if "smiles" not in fields:
            raise InputError(path, "CSV library needs a 'smiles' column (and optionally 'id')")
    return path


class _UniqueIds:
    def __init__(self):
        self.seen: set[str] = set()
        self.renamed = 0

    def __call__(self, ligand_id: str) -> str:
        if ligand_id in self.seen:
            self.renamed += 1
            k = 2
            while f"{ligand_id}#{k}" in self.seen:
                k += 1
            ligand_id = f"{ligand_id}#{k}"
        self.seen.add(ligand_id)
        return ligand_id


def _smiles_records(fh) -> Iterator[tuple[str, str, str | None]]:
    for n, line in enumerate(fh, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split(maxsplit=2)
        yield (parts[1] if len(parts) > 1 else f"line-{n}"), parts[0], None


def _csv_records(fh, path) -> Iterator[tuple[str, str, str | None]]:
    reader = csv.DictReader(fh)
    lower = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    smiles_col, id_col = lower.get("smiles"), lower.get("id")
    if smiles_col is None:
        raise InputError(path, "CSV library needs a 'smiles' column (and optionally 'id')")
    for n, row in enumerate(reader, start=1):
        smiles = (row.get(smiles_col) or "").strip()
        ligand_id = (row.get(id_col) or "").strip() if id_col else ""
        yield ligand_id or f"row-{n}", smiles, None if smiles else "empty SMILES"


def _sdf_records(fh) -> Iterator[tuple[str, str, str | None]]:
    lines: list[str] = []
    n = 0
    for line in fh:
        if line.startswith("$$$$"):
            n += 1
            block = "".join(lines)
            lines = []
            title = block.splitlines()[0].strip() if block.strip() else ""
            yield title or f"record-{n}", block, None if block.strip() else "empty SDF record"
        else:
            lines.append(line)
    if "".join(lines).strip():  # a last record without its $$$$ terminator
        n += 1
        block = "".join(lines)
        yield block.splitlines()[0].strip() or f"record-{n}", block, None


def read_library(path: str | Path, *, stats: dict | None = None) -> Iterator[LibraryEntry]:
    """Stream the library's records in file order. ``stats`` (optional dict) receives ``records`` and
    ``renamed_duplicates`` when the stream ends."""
    path = check_library(path)
    fmt = library_format(path)
    unique = _UniqueIds()
    position = 0
    try:
        with _open_text(path) as fh:
            if fmt == ".sdf":
                for ligand_id, block, error in _sdf_records(fh):
                    yield LibraryEntry(position, unique(ligand_id), molblock=block, error=error)
                    position += 1
            else:
                records = _csv_records(fh, path) if fmt == ".csv" else _smiles_records(fh)
                for ligand_id, smiles, error in records:
                    yield LibraryEntry(position, unique(ligand_id), smiles=smiles, error=error)
                    position += 1
    except (OSError, EOFError) as err:  # e.g. a truncated .gz: what was read stands, the rest is reported
        raise InputError(path, f"ligand library unreadable after {position} records ({err})") from None
    if stats is not None:
        stats.update(records=position, renamed_duplicates=unique.renamed)


def library_records(path: str | Path) -> int:
    """Number of records (for the progress bar and shard sizes): one pass of the reader, no RDKit parsing."""
    return sum(1 for _ in read_library(path))
