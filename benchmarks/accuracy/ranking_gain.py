"""What the ranking adds, from a benchmark folder's ``per_complex.csv``: top-1 success of the ranked list
against picking one of the same samples at random, and against the best sample (the oracle).

    python benchmarks/accuracy/ranking_gain.py runs/val_bench

Per method label: complexes, top-1 < 2 A with the method's ranking, the expected top-1 < 2 A of a random pick
(the mean over samples of RMSD < 2 A), oracle (best sample) < 2 A, median top-1 RMSD and the median over
complexes of the median sample RMSD. Used to choose the default ranking and refinement on validation data.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    args = ap.parse_args()
    by_method: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    with open(args.folder / "per_complex.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["status"] == "ok" and row["rank"] and row["rmsd"]:
                by_method[row["method"]][row["id"]].append((int(row["rank"]), float(row["rmsd"])))
    print("| method | n | top-1 < 2 A | random pick < 2 A | oracle < 2 A | median top-1 RMSD | median sample RMSD |")
    print("|---|---|---|---|---|---|---|")
    for method, complexes in sorted(by_method.items()):
        top1, rand, best, med1, medall = [], [], [], [], []
        for poses in complexes.values():
            poses.sort()
            rmsds = [r for _, r in poses]
            top1.append(rmsds[0] < 2)
            rand.append(sum(r < 2 for r in rmsds) / len(rmsds))
            best.append(min(rmsds) < 2)
            med1.append(rmsds[0])
            medall.append(statistics.median(rmsds))
        n = len(complexes)
        print(f"| {method} | {n} | {sum(top1) / n:.1%} | {sum(rand) / n:.1%} | {sum(best) / n:.1%} | "
              f"{statistics.median(med1):.2f} | {statistics.median(medall):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
