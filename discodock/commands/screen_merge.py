"""``discodock screen-merge``: all shards of a screen -> one ranked Parquet table (+ the best poses as SDF)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from discodock.errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the screen's output folder (holding shard-I-of-N/ folders)")
    p.add_argument("--out", required=True, help="merged table (.parquet)")
    p.add_argument("--by", choices=["vina", "confidence"], default=None,
                   help="sort ok rows by best Vina score or best confidence (default: the screen's ranking)")
    p.add_argument("--sdf", help="also write the top-ranked pose of the best --top ligands here (.sdf)")
    p.add_argument("--top", type=int, default=100, help="ligands written to --sdf (default 100)")


def sd_property(block: str, name: str) -> str | None:
    """The value of SD property ``name`` in an SDF record, or None."""
    lines = block.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith(">") and f"<{name}>" in line:
            return lines[i + 1].strip()
    return None


def run(args: argparse.Namespace) -> int:
    from discodock.screen.table import MANIFEST, shard_dirs, shard_poses, shard_rows, sort_hits, write_table

    root = Path(args.dir)
    shards = shard_dirs(root)
    if not shards:
        raise InputError(root, "no shard-I-of-N folders here (is it a discodock screen output folder?)")
    counts = {int(s.name.rsplit("-", 1)[1]) for s in shards}
    if len(counts) > 1:
        raise InputError(root, f"shards of different counts ({sorted(counts)}); merge one screen at a time")
    by = args.by
    if by is None:
        try:
            by = json.loads((root / MANIFEST).read_text()).get("rank", "vina")
        except (OSError, ValueError):
            by = "vina"
    seen, rows = set(), []
    for s in shards:
        for r in shard_rows(s):
            if r["ligand_id"] not in seen:
                seen.add(r["ligand_id"])
                rows.append(r)
    rows = sort_hits(rows, by=by)
    write_table(rows, args.out)
    n_ok = sum(r["status"] == "ok" for r in rows)
    seconds = sum(r["seconds"] or 0.0 for r in rows)
    if args.sdf:
        wanted = {r["ligand_id"]: i for i, r in enumerate(rows[: args.top]) if r["status"] == "ok"}
        best: dict[str, str] = {}
        for s in shards:
            for block in shard_poses(s):
                ligand_id = block.split("\n", 1)[0].strip()
                if ligand_id in wanted and ligand_id not in best and sd_property(block, "rank") == "1":
                    best[ligand_id] = block
        with open(args.sdf, "w") as fh:
            for ligand_id in sorted(best, key=wanted.get):
                fh.write(best[ligand_id])
    rate = len(rows) / seconds * 3600 if seconds > 0 else 0.0
    print(f"{len(rows)} ligands, {n_ok} ok, {len(rows) - n_ok} errors; {rate:.0f} ligands/hour per worker "
          f"(from per-ligand times); sorted by {by}; table in {args.out}")
    return 0

