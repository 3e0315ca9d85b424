"""Sample count and search length against accuracy per CPU-second, on pocket validation complexes.

For each setting (seed poses S, Monte Carlo iterations per chain, chains per seed) it runs
``diffusion+search`` and ``null+search`` exactly as ``search_val.py`` does (same complexes, same fresh
conformers, one thread), ranks each pool by Vina's score and, when ``--ranker`` is given, by the learned
ranking, and prints per setting: top-1 < 2 A, best of S < 2 A and median CPU-seconds per complex; the row
``diffusion+search|null+search`` is both pools as one, ranked by Vina's score (what ``--random-starts S``
next to ``S`` samples does), at the sum of their cost. The curve
this draws chose the shipped ``search_iterations`` / ``search_chains`` / ``samples``. Results per setting and
complex go to ``OUT/<setting>.jsonl`` (a re-run resumes).

    OMP_NUM_THREADS=1 python benchmarks/accuracy/search_settings.py --checkpoint CKPT --limit 20 --out runs/search_settings
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "accuracy"))
from pose_accuracy import add_common_arguments, start_run  # noqa: E402
from search_val import run_method  # noqa: E402

# (seed poses, iterations per chain, chains per seed): the default (10, 30, 4) and one axis changed at a time
SETTINGS = ((10, 30, 4), (5, 30, 4), (20, 30, 4), (10, 10, 4), (10, 60, 4), (10, 30, 2), (10, 30, 8))
METHODS = ("diffusion+search", "null+search")


def setting_name(s) -> str:
    return f"S{s[0]}_it{s[1]}_ch{s[2]}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(p, limit=20)
    p.add_argument("--out", required=True)
    p.add_argument("--ranker", default=None, help="also rank by this pose ranker (e.g. the shipped weights)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = p.parse_args()
    from discodock.data.parsing import load_ligand, load_protein
    from discodock.data.pdbbind import complex_files
    from discodock.eval.rmsd import SymmetryRMSD
    from discodock.eval.runner import fresh_ligand
    from discodock.scoring.pose_ranker import load_pose_ranker

    ids, found, _, out, docker = start_run(args)
    ranker = load_pose_ranker(args.ranker) if args.ranker else None
    table = {}
    for setting in SETTINGS:
        name = setting_name(setting)
        log = out / f"{name}.jsonl"
        rows = [json.loads(x) for x in log.read_text().splitlines()] if log.is_file() else []
        done = {r["id"] for r in rows}
        run_args = argparse.Namespace(**(vars(args) | {"samples": setting[0], "iterations": setting[1],
                                                        "chains": setting[2]}))
        for cid in ids:
            if cid in done or cid not in found:
                continue
            protein, ligands = complex_files(found[cid], cid)
            crystal = load_ligand(ligands[0])
            ligand = fresh_ligand(crystal, seed=args.seed)
            site = crystal.GetConformer().GetPositions().mean(0).tolist()
            scorer = SymmetryRMSD(crystal=crystal)
            atoms = load_protein(protein).atoms if ranker else None
            row = {"id": cid}
            for method in args.methods:
                cpu0 = time.process_time()
                poses, seconds = run_method(method, docker, cid, protein, ligand, site, run_args)
                rmsd = [float(r) for r in scorer([m for m, _ in poses])]
                entry = {"rmsd": rmsd, "vina": [s for _, s in poses], "seconds": seconds,
                         "cpu_seconds": time.process_time() - cpu0}
                if ranker:
                    pos = torch.tensor(np.stack([m.GetConformer().GetPositions() for m, _ in poses]),
                                       dtype=torch.float32)
                    prob = ranker.score_pool(pos, [a.GetSymbol() for a in poses[0][0].GetAtoms()], atoms.pos,
                                             atoms.elements, [s for _, s in poses])
                    entry["learned_top1_rmsd"] = rmsd[int(prob.argmax())]
                row[method] = entry
            rows.append(row)
            with open(log, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(f"{name} {cid}: " + ", ".join(f"{m} {row[m]['rmsd'][0]:.1f} A {row[m]['cpu_seconds']:.0f} s"
                                                 for m in args.methods), file=sys.stderr, flush=True)
        table[name] = [r for r in rows if r["id"] in set(ids)]
    lines = [f"checkpoint {args.checkpoint}; first {args.limit} of {args.ids}; one thread", "",
             "| setting (seeds, iterations, chains) | method | complexes | top-1 < 2 A (Vina score) | "
             "top-1 < 2 A (learned) | best of S < 2 A | CPU-s / complex (median) |", "|---|---|---|---|---|---|---|"]
    union = "|".join(METHODS)
    for rows in table.values():  # both methods' pools as one, ranked by Vina's score: what --random-starts does
        for r in rows:
            if all(m in r for m in METHODS):
                parts = [r[m] for m in METHODS]
                pairs = sorted((v if v is not None else float("inf"), x) for q in parts for v, x in zip(q["vina"], q["rmsd"]))
                r[union] = {"rmsd": [x for _, x in pairs], "cpu_seconds": sum(q["cpu_seconds"] for q in parts)}
    for name, rows in table.items():
        for m in list(args.methods) + [union]:
            rs = [r[m] for r in rows if m in r]
            if not rs:
                continue
            learned = (f"{100 * np.mean([x['learned_top1_rmsd'] < 2 for x in rs]):.1f}%"
                       if "learned_top1_rmsd" in rs[0] else "-")
            lines.append(f"| {name} | {m} | {len(rs)} | {100 * np.mean([x['rmsd'][0] < 2 for x in rs]):.1f}% | "
                         f"{learned} | {100 * np.mean([min(x['rmsd']) < 2 for x in rs]):.1f}% | "
                         f"{statistics.median(x['cpu_seconds'] for x in rs):.1f} |")
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
