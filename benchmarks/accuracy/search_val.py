"""Seeded search against one local optimisation and against Vina's own search, on pocket validation complexes.

For each complex the site is the crystal ligand's centroid (a 25 A box, as for Vina), the ligand starts from a
fresh RDKit conformer (from its SMILES, seeded), and the methods run interleaved per complex on one thread:

- ``vina``: AutoDock Vina's global search (``--exhaustiveness``, 8 by default), its 9 poses ranked by its score;
- ``<seeds>+vina``: ``S`` seed poses, each locally optimised by Vina, ranked by Vina score (today's default);
- ``<seeds>+search``: ``S`` seed poses, each starting Monte Carlo chains on Vina's energy in torch
  (``--refine search``), the best of each then optimised by Vina and ranked by Vina score.

Seeds: ``diffusion`` (the checkpoint's samples with prior latents) or ``null`` (the conformer in a uniformly
random orientation with its centroid at the site). Printed per method: top-1 < 2 A, best-of-N < 2 A, median
top-1 RMSD, median best Vina score, median seconds per complex (ligand to ranked poses), with exact McNemar tests
of top-1 between methods. Results go per complex to ``OUT/per_complex.jsonl`` (a re-run resumes).

    OMP_NUM_THREADS=1 python benchmarks/accuracy/search_val.py --checkpoint runs/site_pointer_prior/weights.pt \\
        --limit 30 --out runs/search_val [--iterations 30 --chains 4]
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
from pose_accuracy import add_common_arguments, mcnemar, null_poses, run_resumable, start_run  # noqa: E402

METHODS = ("vina", "diffusion+vina", "diffusion+search", "null+vina", "null+search")


def run_method(method: str, docker, cid: str, protein: Path, ligand, site, args) -> tuple[list, float]:
    """Ranked poses (RDKit molecules, best first) with their Vina scores, and the seconds it took."""
    from discodock.data.cache import CONFORMER_POS
    from discodock.sampling.ranking import rank_poses
    from discodock.sampling.seeded_search import search_arguments
    from discodock.sampling.settings import DockSettings
    from discodock.scoring.vina import POCKET_BOX_SIZE, get_receptor

    t0 = time.perf_counter()
    if method == "vina":
        poses = get_receptor(protein).dock(ligand, center=site, size=POCKET_BOX_SIZE, exhaustiveness=args.exhaustiveness,
                                           num_poses=9, seed=args.seed)
        return [(p.mol, p.score) for p in poses], time.perf_counter() - t0
    seeds, refine = method.split("+")
    data, mol, _ = docker.build(protein, ligand, name=cid, pocket_center=site, settings=DockSettings(), seed=args.seed)
    if seeds == "null":
        pos = null_poses(data[CONFORMER_POS], torch.tensor(site, dtype=torch.float32), args.samples, args.seed)
    else:
        gen = torch.Generator(device=docker.device).manual_seed(args.seed)
        torch.manual_seed(args.seed)
        pos = docker.sample(data, settings=DockSettings(samples=args.samples), generator=gen)
    search = None
    if refine == "search":
        search = search_arguments(data, center=site, iterations=args.iterations, chains=args.chains, seed=args.seed)
    ranked = rank_poses(data, mol, pos, confidence=None, protein_path=protein, method="vina", refine=refine,
                        info={}, device=docker.device, search=search)
    return [(p.mol, p.vina_score) for p in ranked], time.perf_counter() - t0


def run_complex(docker, cid: str, protein: Path, ligand_file: Path, methods, args) -> dict:
    from discodock.data.parsing import load_ligand
    from discodock.eval.rmsd import SymmetryRMSD
    from discodock.eval.runner import fresh_ligand, keep_poses

    crystal = load_ligand(ligand_file)
    ligand = fresh_ligand(crystal, seed=args.seed)
    site = crystal.GetConformer().GetPositions().mean(0).tolist()
    scorer = SymmetryRMSD(crystal=crystal)
    row = {"id": cid}
    for method in methods:
        poses, seconds = run_method(method, docker, cid, protein, ligand, site, args)
        row[method] = {"rmsd": [float(r) for r in scorer([m for m, _ in poses])],
                       "vina": [None if s is None else float(s) for _, s in poses], "seconds": seconds}
        if args.keep_poses:
            for mol, score in poses:
                if score is not None:
                    mol.SetDoubleProp("vina_score", float(score))
            keep_poses(Path(args.out) / "poses" / cid / f"{method}.sdf", [m for m, _ in poses],
                       row[method]["vina"], row[method]["rmsd"])
    return row


def summarise(rows: list[dict], methods) -> str:
    lines = [f"n = {len(rows)} complexes", "",
             "| method | top-1 < 2 A | best of N < 2 A | median top-1 RMSD (A) | median best Vina score | "
             "s / complex (median) |", "|---|---|---|---|---|---|"]
    top1 = {}
    for m in methods:
        rs = [r[m] for r in rows if m in r]
        if not rs:
            continue
        top1[m] = [x["rmsd"][0] < 2.0 for x in rs]
        best = np.mean([min(x["rmsd"]) < 2.0 for x in rs])
        med = statistics.median(x["rmsd"][0] for x in rs)
        score = statistics.median(x["vina"][0] for x in rs if x["vina"] and x["vina"][0] is not None)
        sec = statistics.median(x["seconds"] for x in rs)
        lines.append(f"| {m} (N = {len(rs[0]['rmsd'])}) | {100 * np.mean(top1[m]):.1f}% | {100 * best:.1f}% | "
                     f"{med:.2f} | {score:.2f} | {sec:.1f} |")
    lines += ["", "Paired, top-1 < 2 A (exact McNemar): A wins / B wins, p", ""]
    for a, b in (("diffusion+search", "diffusion+vina"), ("null+search", "null+vina"),
                 ("diffusion+search", "null+search"), ("diffusion+search", "vina"), ("null+search", "vina")):
        if a in top1 and b in top1:
            w, l, p = mcnemar(top1[a], top1[b])
            lines.append(f"- {a} vs {b}: {w} / {l}, p = {p:.3g}")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(p, limit=30)
    p.add_argument("--iterations", type=int, default=30, help="search: Monte Carlo steps per chain")
    p.add_argument("--chains", type=int, default=4, help="search: chains per seed pose")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--exhaustiveness", type=int, default=8, help="vina: its search effort")
    p.add_argument("--keep-poses", action="store_true", help="write OUT/poses/<id>/<method>.sdf (ranked poses)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    ids, found, missing, out, docker = start_run(args)
    (out / "settings.json").write_text(json.dumps(vars(args), indent=1))
    log = out / "per_complex.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    done = {r["id"] for r in rows}
    run_resumable(ids, found, done, rows, log,
                  run=lambda cid, protein, ligand: run_complex(docker, cid, protein, ligand, args.methods, args),
                  describe=lambda row: ", ".join(f"{m} {row[m]['rmsd'][0]:.1f} A {row[m]['seconds']:.0f} s"
                                                 for m in args.methods))
    if missing:
        print(f"not found: {', '.join(missing)}", file=sys.stderr)
    text = (f"checkpoint {args.checkpoint}; {args.samples} seeds; search {args.iterations} iterations x "
            f"{args.chains} chains\n\n" + summarise([r for r in rows if r["id"] in set(ids)], args.methods))
    (out / "summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
