"""Benchmark folders side by side over the same complexes (the first N of an ID list), with exact McNemar tests
of top-1 < 2 A against one reference method: the ablation tables of the README.

    python benchmarks/accuracy/ablation_table.py --ids data/splits/test_posebusters.txt --limit 50 \\
        --runs runs/pb327_default runs/pb50_ablations docs/benchmarks/posebusters327_pocket \\
        --reference null-pocket-search-rs20 --out runs/pb50_table

Writes ``OUT/per_complex.csv`` (the rows of those complexes from every folder; a method found in several
folders is named ``method (folder)``) and ``OUT/summary.md`` (the table, as ``discodock benchmark`` writes it,
then the paired tests), and prints the latter.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "accuracy"))
from pose_accuracy import mcnemar  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ids", required=True, help="complex IDs, one per line")
    ap.add_argument("--limit", type=int, default=None, help="the first N IDs (default: all)")
    ap.add_argument("--runs", nargs="+", required=True, help="benchmark folders (each with per_complex.csv)")
    ap.add_argument("--reference", required=True, help="the method the others are tested against")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from discodock.eval import report

    ids = [line.strip() for line in open(args.ids) if line.strip()][: args.limit]
    wanted = set(ids)
    tables = []
    for folder in map(Path, args.runs):
        with open(folder / report.PER_COMPLEX_CSV, newline="") as fh:
            tables.append((folder, [r for r in csv.DictReader(fh) if r["id"] in wanted]))
    seen = Counter(m for _, rows in tables for m in {r["method"] for r in rows})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    top1: dict[str, dict[str, bool]] = {}
    with open(out / report.PER_COMPLEX_CSV, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=report.COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for folder, rows in tables:
            for r in rows:
                if seen[r["method"]] > 1:
                    r["method"] = f"{r['method']} ({folder.name})"
                writer.writerow(r)
                if r["rank"] in ("1", ""):  # a failed complex is a miss
                    top1.setdefault(r["method"], {})[r["id"]] = bool(r["rmsd"]) and float(r["rmsd"]) < 2.0
    report.write_summary(out, ids)
    ref = top1.get(args.reference)
    if ref is None:
        raise SystemExit(f"no method {args.reference!r} in {args.runs}")
    lines = ["", f"Paired top-1 < 2 A against {args.reference} (exact McNemar: the method wins / loses, p):", ""]
    for method, res in top1.items():
        common = [i for i in ids if i in res and i in ref]
        if method != args.reference and common:
            w, l, p = mcnemar([res[i] for i in common], [ref[i] for i in common])
            lines.append(f"- {method} ({len(common)} complexes): {w} / {l}, p = {p:.3g}")
    with open(out / report.SUMMARY_MD, "a") as fh:
        fh.write("\n".join(lines) + "\n")
    print((out / report.SUMMARY_MD).read_text(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
