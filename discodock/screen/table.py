"""Screening results as Parquet: per-shard parts compacted from the journal, and the merged hit table.

A shard folder holds ``journal.jsonl`` (ligands finished since the last compaction), ``part-NNNNN.parquet``
(one row per ligand) and ``poses-NNNNN.sdf.gz`` (the top poses, ligand ID and scores as SD properties).
Compaction writes a part under a temporary name and renames it into place complete, then empties the
journal; a kill in between leaves rows in both, and every reader keeps one row per ligand ID (its first ok row,
else its latest error: ``--retry-errors`` docks error rows again and the new attempt replaces them).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from discodock.screen.journal import Journal

JOURNAL = "journal.jsonl"
MANIFEST = "manifest.json"
PART_RE = re.compile(r"part-(\d{5})\.parquet$")

SCHEMA = pa.schema([
    ("ligand_id", pa.string()),
    ("position", pa.int64()),  # 0-based place in the library
    ("smiles", pa.string()),
    ("status", pa.string()),  # ok | error
    ("error", pa.string()),
    ("vina_score", pa.float64()),  # kcal/mol of the top-ranked pose (lower is better)
    ("confidence", pa.float64()),  # confidence model's best score over the poses (higher is better)
    ("heavy_atoms", pa.int64()),
    ("seconds", pa.float64()),  # wall time of this ligand in its worker
    ("cpu_seconds", pa.float64()),  # CPU time of the worker process for this ligand (all its threads)
    ("seed", pa.int64()),
    ("model_sha256", pa.string()),
    ("discodock_version", pa.string()),
    ("warnings", pa.string()),
])


def _row(record: dict) -> dict:
    return {name: record.get(name) for name in SCHEMA.names}


def parts(shard_dir: Path) -> list[Path]:
    return sorted(p for p in Path(shard_dir).glob("part-*.parquet") if PART_RE.search(p.name))


def _row_key(r: dict) -> tuple:
    """What makes two copies of a row the same row (a kill between compaction's rename and its clear)."""
    return r["ligand_id"], r["status"], r["seconds"]


def compact(shard_dir: str | Path) -> int:
    """Move the journal's records into a new Parquet part (+ poses file); returns how many rows moved."""
    shard_dir = Path(shard_dir)
    journal = Journal(shard_dir / JOURNAL, key="ligand_id")
    compacted = [r for p in parts(shard_dir)
                 for r in pq.read_table(p, columns=["ligand_id", "status", "seconds"]).to_pylist()]
    have = {_row_key(r) for r in compacted}
    final = {r["ligand_id"] for r in compacted if r["status"] == "ok"}
    records, seen = [], set()
    for r in journal.records():
        if r["ligand_id"] not in seen and r["ligand_id"] not in final and _row_key(r) not in have:
            seen.add(r["ligand_id"])
            records.append(r)
    if records:
        existing = parts(shard_dir)
        number = int(PART_RE.search(existing[-1].name).group(1)) + 1 if existing else 0
        poses = shard_dir / f"poses-{number:05d}.sdf.gz"
        tmp = poses.with_name(poses.name + ".tmp")
        with gzip.open(tmp, "wt") as fh:
            for r in records:
                for block in r.get("poses") or ():
                    fh.write(block)
        os.replace(tmp, poses)
        part = shard_dir / f"part-{number:05d}.parquet"
        tmp = part.with_name(part.name + ".tmp")
        pq.write_table(pa.Table.from_pylist([_row(r) for r in records], schema=SCHEMA), tmp)
        os.replace(tmp, part)  # the part appears complete or not at all
    journal.clear()
    return len(records)


def shard_rows(shard_dir: str | Path) -> Iterator[dict]:
    """Every finished ligand of a shard (parts, then journal), one row per ID: its first ok row, else its
    latest error (a ligand retried with ``--retry-errors`` has its error row replaced by the new attempt)."""
    shard_dir = Path(shard_dir)
    rows: dict[str, dict] = {}

    def keep(r: dict) -> None:
        old = rows.get(r["ligand_id"])
        if old is None or old["status"] != "ok":
            rows[r["ligand_id"]] = r

    for p in parts(shard_dir):
        for r in pq.read_table(p, schema=SCHEMA).to_pylist():
            keep(r)
    for r in Journal(shard_dir / JOURNAL, key="ligand_id").records():
        keep(_row(r))
    yield from rows.values()


def finished_ids(shard_dir: str | Path, *, ok_only: bool = False) -> set[str]:
    """IDs of the shard's finished ligands (``ok_only``: those that docked, leaving errors to retry)."""
    return {r["ligand_id"] for r in shard_rows(shard_dir) if not ok_only or r["status"] == "ok"}


def shard_dirs(out: str | Path) -> list[Path]:
    return sorted(p for p in Path(out).glob("shard-*-of-*") if p.is_dir())


def shard_poses(shard_dir: Path) -> Iterator[str]:
    """SDF blocks of the shard's poses (compacted files, then the journal)."""
    for f in sorted(shard_dir.glob("poses-*.sdf.gz")):
        with gzip.open(f, "rt") as fh:
            block: list[str] = []
            for line in fh:
                block.append(line)
                if line.startswith("$$$$"):
                    yield "".join(block)
                    block = []
    for r in Journal(shard_dir / JOURNAL, key="ligand_id").records():
        yield from r.get("poses") or ()


def sort_hits(rows: Iterable[dict], *, by: str) -> list[dict]:
    """ok rows best first (``by``: ``vina`` lowest score first, ``confidence`` highest first), then errors."""
    rows = list(rows)
    ok = [r for r in rows if r["status"] == "ok"]
    err = [r for r in rows if r["status"] != "ok"]
    if by == "confidence":
        ok.sort(key=lambda r: (r["confidence"] is None, -(r["confidence"] or 0.0), r["position"]))
    else:
        ok.sort(key=lambda r: (r["vina_score"] is None, r["vina_score"] or 0.0, r["position"]))
    err.sort(key=lambda r: r["position"])
    return ok + err


def write_table(rows: list[dict], path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pylist([_row(r) for r in rows], schema=SCHEMA), tmp)
    os.replace(tmp, path)
