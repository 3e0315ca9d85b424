"""Learned ranking against Vina's score, on the pools of poses a validation run kept.

Reads ``RUN/poses/<id>/<method>.sdf`` (``search_val.py --keep-poses``: every method's ranked poses with Vina's
score and the RMSD to the crystal), or with ``--benchmark`` a ``discodock benchmark`` folder's
``poses/<label>/<id>.sdf`` and its ``per_complex.csv``, and ranks each pool two ways: by Vina's score, and by the learned pose
ranking (``--ranker``, default the shipped weights). Besides each method's own pool it ranks unions of pools
(``a|b``: the poses of both methods, e.g. the null model's and the diffusion model's searches together),
whose cost is the sum of the methods' seconds. Printed per pool: top-1 < 2 A by Vina's score and by the
learned ranking, top-5 by the learned ranking, best of N < 2 A, median seconds per complex (from the run's
``per_complex.jsonl``), and exact McNemar tests (learned vs Vina's score on the same pool; each pool ranked
by the learned ranking vs Vina's own search ranked by its score).

With ``--gnina`` (the JSON lines of ``gnina_rescore.py``: GNINA's CNNscore per pose) each pool is also ranked by
GNINA's CNNscore, the baseline ranker to beat: one more column (over the complexes it scored; when fewer, their
count and Vina's score's top-1 on them in brackets) and McNemar tests of GNINA against Vina's score and of the
learned ranking against GNINA.

    python benchmarks/accuracy/ranker_val.py --run runs/ranker_val [--ranker discodock/weights/pose_ranker.pt] \
        [--gnina runs/gnina_val_scores.jsonl]
    python benchmarks/accuracy/ranker_val.py --benchmark --run runs/pb100 \
        --unions "vina-pocket|discodock-prior-pocket-search-rs20"
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "accuracy"))
from pose_accuracy import mcnemar  # noqa: E402

UNIONS = ("null+search|diffusion+search", "vina|diffusion+search", "vina|null+search|diffusion+search")


def ranked_outcomes(ranker, receptor_atoms, parts: list[tuple], cnn: list | None = None) -> dict | None:
    """Pool the poses of ``parts`` ((positions, elements, vina, rmsd) per method) and rank them both ways, and
    by GNINA's CNNscore where ``cnn`` (one score list per part, or None) covers every pose."""
    from discodock.training.ranker import pool_of

    pool = pool_of(parts, receptor_atoms)
    if pool is None:  # methods gave the atoms in different orders: cannot pool
        return None
    features, rmsd, vina = pool
    with torch.no_grad():
        logits = ranker(features)
    by_vina = sorted(range(len(vina)), key=lambda i: float("inf") if vina[i] is None else vina[i])
    learned = logits.argsort(descending=True).tolist()
    ok = (rmsd < 2.0).tolist()
    out = {"vina_top1": ok[by_vina[0]], "learned_top1": ok[learned[0]], "learned_top5": any(ok[i] for i in learned[:5]),
           "best": any(ok), "n": len(ok)}
    if cnn is not None and all(c is not None and len(c) == len(p[2]) for c, p in zip(cnn, parts)):
        scores = [s for c in cnn for s in c]  # concatenated in the poses' order
        out["gnina_top1"] = ok[max(range(len(scores)), key=scores.__getitem__)]
    return out


def read_gnina(path: Path) -> dict[tuple[str, str], list[float]]:
    """GNINA's CNNscore per pose for each (complex id, method) in ``gnina_rescore.py``'s JSON lines."""
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {(r["id"], r["method"]): r["CNNscore"] for r in rows}


def run_layout(run: Path, benchmark: bool) -> tuple[dict[str, dict[str, Path]], dict[str, dict[str, float]]]:
    """Per complex: method -> its ranked-pose SDF (:func:`gnina_rescore.pose_files`, either kind of run
    folder), and method -> seconds (``per_complex.csv`` of a benchmark, ``per_complex.jsonl`` of search_val)."""
    import csv

    from gnina_rescore import pose_files

    seconds: dict[str, dict[str, float]] = {}
    if benchmark:
        with open(run / "per_complex.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["rank"] in ("1", "") and row["seconds"]:
                    seconds.setdefault(row["id"], {})[row["method"]] = float(row["seconds"])
    else:
        for line in (run / "per_complex.jsonl").read_text().splitlines():
            row = json.loads(line)
            seconds[row["id"]] = {m: v["seconds"] for m, v in row.items() if isinstance(v, dict)}
    return pose_files(run, benchmark=benchmark), seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a search_val.py --keep-poses output folder")
    p.add_argument("--benchmark", action="store_true", help="--run is a discodock benchmark folder")
    p.add_argument("--unions", nargs="*", default=list(UNIONS), help="pools ranked together: 'a|b' method names")
    p.add_argument("--ranker", default=None, help="pose ranker weights (default: the shipped ones)")
    p.add_argument("--gnina", default=None, help="gnina_rescore.py's JSON lines: add GNINA's CNNscore ranking")
    p.add_argument("--data", nargs="+", default=[str(d) for d in sorted((REPO / ".." / "shared" / "data").glob("*"))
                                                  if d.is_dir() and d.name not in ("dude_screening", "splits")])
    args = p.parse_args()
    torch.set_num_threads(1)
    from discodock.data.parsing import load_protein
    from discodock.data.pdbbind import complex_files, index_complexes
    from discodock.scoring.pose_ranker import load_pose_ranker
    from discodock.training.ranker import read_poses

    run = Path(args.run)
    ranker = load_pose_ranker(args.ranker)
    gnina = read_gnina(Path(args.gnina)) if args.gnina else None
    files, seconds = run_layout(run, args.benchmark)
    found = index_complexes(args.data)
    results: dict[str, dict[str, dict]] = {}
    for cid in sorted(files):
        methods = {m: read_poses(f) for m, f in files[cid].items()}
        atoms = load_protein(complex_files(found[cid], cid)[0]).atoms
        for pool in list(methods) + list(args.unions):
            names = pool.split("|")
            if all(n in methods for n in names):
                cnn = [gnina.get((cid, n)) for n in names] if gnina is not None else None
                out = ranked_outcomes(ranker, atoms, [methods[n] for n in names], cnn)
                if out is not None:
                    out["seconds"] = sum(seconds.get(cid, {}).get(n, float("nan")) for n in names)
                    results.setdefault(pool, {})[cid] = out
    g_head, g_rule = (" top-1 < 2 A, GNINA CNNscore |", "---|") if gnina is not None else ("", "")
    lines = [f"ranker {args.ranker or 'shipped'}; run {run}" + (f"; GNINA scores {args.gnina}" if gnina else ""), "",
             (f"| pool (poses) | complexes | top-1 < 2 A, Vina score |{g_head} top-1 < 2 A, learned | top-5, learned | "
              "best of N < 2 A | s / complex (median) |"), f"|---|---|---|{g_rule}---|---|---|---|"]
    for pool, rows in results.items():
        r = list(rows.values())
        n = statistics.median(x["n"] for x in r)
        g_cell = ""
        if gnina is not None:
            g = [(x["gnina_top1"], x["vina_top1"]) for x in r if "gnina_top1" in x]
            g_cell = f" {100 * np.mean([x[0] for x in g]):.1f}%" if g else " -"
            if g and len(g) < len(r):  # fewer complexes scored: Vina's score on the same ones, for a fair look
                g_cell += f" ({len(g)}; Vina score {100 * np.mean([x[1] for x in g]):.1f}%)"
            g_cell += " |"
        lines.append(f"| {pool} ({n:g}) | {len(r)} | {100 * np.mean([x['vina_top1'] for x in r]):.1f}% |{g_cell} "
                     f"{100 * np.mean([x['learned_top1'] for x in r]):.1f}% | "
                     f"{100 * np.mean([x['learned_top5'] for x in r]):.1f}% | {100 * np.mean([x['best'] for x in r]):.1f}% | "
                     f"{statistics.median(x['seconds'] for x in r):.1f} |")
    lines += ["", "Paired, top-1 < 2 A (exact McNemar): A wins / B wins, p", ""]
    vina = results.get("vina", results.get("vina-pocket", {}))
    for pool, rows in results.items():
        ids = sorted(rows)
        w, l, pv = mcnemar([rows[i]["learned_top1"] for i in ids], [rows[i]["vina_top1"] for i in ids])
        lines.append(f"- {pool}: learned vs Vina score: {w} / {l}, p = {pv:.3g}")
        scored = [i for i in ids if "gnina_top1" in rows[i]]
        if scored:
            w, l, pv = mcnemar([rows[i]["gnina_top1"] for i in scored], [rows[i]["vina_top1"] for i in scored])
            lines.append(f"  - {pool} GNINA CNNscore vs Vina score ({len(scored)} complexes): {w} / {l}, p = {pv:.3g}")
            w, l, pv = mcnemar([rows[i]["learned_top1"] for i in scored], [rows[i]["gnina_top1"] for i in scored])
            lines.append(f"  - {pool} learned vs GNINA CNNscore ({len(scored)} complexes): {w} / {l}, p = {pv:.3g}")
        common = [i for i in ids if i in vina]
        if pool not in ("vina", "vina-pocket") and common:
            w, l, pv = mcnemar([rows[i]["learned_top1"] for i in common], [vina[i]["vina_top1"] for i in common])
            lines.append(f"  - {pool} learned vs Vina's search ranked by its score: {w} / {l}, p = {pv:.3g}")
    text = "\n".join(lines) + "\n"
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
