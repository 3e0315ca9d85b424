"""Blind docking through predicted sites, per site count and cross-site ranking, and why a top-1 pose missed.

On validation complexes this chooses the site count and the ranking (never on test ones); on any run,
``--sites-table`` (the per-complex site centres that ``benchmarks/sites/site_finding.py`` writes) also splits
the misses into: site not among those docked, site docked but another site's pose ranked first, and site
right but pose wrong (DCA < 4 A of a site centre to the crystal ligand's nearest heavy atom).

Reads one finished ``discodock benchmark`` run in blind mode through predicted sites (its ranked SDFs in
``RUN/poses/LABEL/``, each pose carrying the SD properties ``site``, ``site_probability``, ``vina_score`` and
``rmsd``) and scores, for every site count k up to the run's, the poses of the k most likely sites re-ranked
by each candidate ranking. A site's poses do not depend on how many sites were docked (site i always runs
with seed + i), so one run with the largest k answers every smaller k. Complexes that failed count as misses.

    discodock benchmark --method discodock --data DIRS --ids data/splits/val_pocket.txt --limit 80 --sites 4 \\
        --out runs/blind_sites_val --seed 0 --workers 1 --threads 1 --timeout 60
    python benchmarks/sites/blind_sites.py runs/blind_sites_val
    python benchmarks/sites/blind_sites.py runs/bench_timesplit_blind --label discodock-prior-blind-sites4 \
        --sites-table docs/benchmarks/timesplit301_blind/sites_predicted.jsonl.gz
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "accuracy"))
from pose_accuracy import mcnemar  # noqa: E402

# Cross-site rankings: lower is better. Vina's score is in kcal/mol; the site term adds kcal/mol per nat of
# the site's probability, so a confident site can outrank a slightly better score elsewhere.
RANKINGS = {
    "vina": lambda p: p["vina_score"],
    "vina - 0.5 ln p(site)": lambda p: p["vina_score"] - 0.5 * math.log(max(p["site_probability"], 1e-4)),
    "vina - 1.0 ln p(site)": lambda p: p["vina_score"] - 1.0 * math.log(max(p["site_probability"], 1e-4)),
}


def read_poses(path: Path) -> list[dict]:
    from rdkit import Chem

    poses = []
    for mol in Chem.SDMolSupplier(str(path), sanitize=False):
        if mol is None:
            continue
        props = mol.GetPropsAsDict()
        pose = {k: props[k] for k in ("site", "site_probability", "rmsd")}
        pose["vina_score"] = props.get("vina_score", math.inf)  # none for a ligand Vina cannot type (boron)
        pose["centroid"] = mol.GetConformer().GetPositions().mean(0)
        poses.append(pose)
    return poses


def why_missed(pools: dict, sites_table: Path, k: int) -> None:
    """Top-1 outcomes (Vina ranking over k sites) split by where the crystal site was among the k docked."""
    import gzip
    import json

    import numpy as np

    from discodock.eval.site_metrics import dca

    table = {}
    with (gzip.open(sites_table, "rt") if sites_table.suffix == ".gz" else open(sites_table)) as fh:
        for line in fh:
            row = json.loads(line)
            if row["method"] == "predictor":
                table[row["id"].lower()] = row
    counts = {"top-1 < 2 A": 0, "site right, pose wrong": 0, "site docked, another site's pose ranked first": 0,
              "site not among those docked": 0, "failed or no site table row": 0}
    near = []
    for cid, pool in pools.items():
        row = table.get(cid.lower())
        kept = [p for p in pool if p["site"] <= k]
        if not kept or row is None:
            counts["failed or no site table row"] += 1
            continue
        top = min(kept, key=RANKINGS["vina"])
        ligand, centres = np.asarray(row["ligand"]), np.asarray(row["centers"][:k])
        right = [dca(c, ligand) < 4.0 for c in centres]
        near.append(float(np.linalg.norm(top["centroid"] - centres[top["site"] - 1])))
        if top["rmsd"] < 2.0:
            counts["top-1 < 2 A"] += 1
        elif right[top["site"] - 1]:
            counts["site right, pose wrong"] += 1
        elif any(right):
            counts["site docked, another site's pose ranked first"] += 1
        else:
            counts["site not among those docked"] += 1
    n = max(1, len(pools))
    print(f"\nTop-1 outcome with {k} sites (Vina ranking), site right = DCA < 4 A:\n")
    print("| outcome | complexes | share |\n|---|---|---|")
    for name, c in counts.items():
        print(f"| {name} | {c} | {100 * c / n:.1f}% |")
    # a check that the table's centres are those docked: a top-1 pose lies near its own site's centre
    print(f"\nmedian distance of the top-1 pose's centroid from its site's centre in the table: "
          f"{float(np.median(near)):.1f} A (a few A when the table matches the run)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a finished blind benchmark folder (per_complex.csv, poses/)")
    ap.add_argument("--label", help="method label in the run (default: the only one with a poses folder)")
    ap.add_argument("--sites-table", type=Path, help="site_finding.py's sites.jsonl.gz for these complexes")
    ap.add_argument("--k", type=int, default=None, help="site count for the outcome split (default: the run's)")
    args = ap.parse_args()
    labels = sorted(p.name for p in (args.run / "poses").iterdir() if p.is_dir())
    label = args.label or (labels[0] if len(labels) == 1 else None)
    if label is None:
        raise SystemExit(f"{args.run}: several labels ({', '.join(labels)}); pick one with --label")
    with open(args.run / "per_complex.csv") as fh:
        ids = list(dict.fromkeys(r["id"] for r in csv.DictReader(fh) if r["method"] == label))  # a row per pose
    pools = {}
    for cid in ids:
        path = args.run / "poses" / label / f"{cid}.sdf"
        pools[cid] = read_poses(path) if path.is_file() else []
    k_max = max((p["site"] for pool in pools.values() for p in pool), default=0)
    print(f"{label}: {len(ids)} complexes ({sum(not p for p in pools.values())} failed), up to {k_max} sites\n")
    print("| sites | ranking | top-1 < 2 A | top-1 < 5 A | best of all < 2 A | paired with 3 sites ranked by vina: won / lost, p |")
    print("|---|---|---|---|---|---|")
    rows, hits = [], {}
    for k in range(1, k_max + 1):
        for name, key in RANKINGS.items():
            top1, within5, best = {}, 0, 0
            for cid, pool in pools.items():
                kept = [p for p in pool if p["site"] <= k]
                top = min(kept, key=key) if kept else None
                top1[cid] = top is not None and top["rmsd"] < 2.0
                within5 += top is not None and top["rmsd"] < 5.0
                best += any(p["rmsd"] < 2.0 for p in kept)
            hits[k, name] = top1
            rows.append((k, name, within5, best))
    n, ref = max(1, len(pools)), hits.get((min(3, k_max), "vina"), {})
    for k, name, within5, best in rows:
        top1 = hits[k, name]
        won, lost, p = mcnemar([top1[c] for c in pools], [ref[c] for c in pools])
        print(f"| {k} | {name} | {100 * sum(top1.values()) / n:.1f}% | {100 * within5 / n:.1f}% | "
              f"{100 * best / n:.1f}% | {won} / {lost}, p = {p:.2f} |")
    if args.sites_table:
        why_missed(pools, args.sites_table, args.k or k_max)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
