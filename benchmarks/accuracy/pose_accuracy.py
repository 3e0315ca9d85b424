"""How good are the raw diffusion samples (no Vina), against a null model, on pocket validation complexes?

For each complex the site is the crystal ligand's centroid and the ligand starts from a fresh RDKit conformer
(from its SMILES, seeded). Methods:

- ``prior`` / ``oracle`` / ``none``: the checkpoint's raw samples with latents from the AR prior, from the crystal
  pose (the encoder; an upper bound), or none (the dropout-trained null latents of the same network);
- ``null``: the same conformer in a uniformly random orientation with its centroid exactly at the site.

Printed per method, over all complexes: median centroid error (A), median RMSD after moving each pose's
centroid onto the crystal centroid (orientation + shape alone), best-of-S < 2 A, first-sample < 2 A and < 5 A;
then exact McNemar tests of best-of-S < 2 A between methods, paired over the same complexes. Results are
appended per complex to ``OUT/per_complex.jsonl`` (a re-run resumes) and the table goes to ``OUT/summary.md``.

    python benchmarks/accuracy/pose_accuracy.py --checkpoint runs/site_pointer/weights.pt \\
        --ids data/splits/val_pocket.txt --limit 40 --out runs/pose_accuracy
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
METHODS = ("null", "none", "prior", "oracle")


def mcnemar(a: list[bool], b: list[bool]) -> tuple[int, int, float]:
    """(a wins, b wins, exact two-sided p) over paired outcomes."""
    from scipy.stats import binomtest

    wins = sum(x and not y for x, y in zip(a, b))
    losses = sum(y and not x for x, y in zip(a, b))
    p = binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
    return wins, losses, float(p)


def null_poses(conformer: torch.Tensor, site: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """``n`` copies of ``conformer`` [N, 3], each uniformly rotated, centroid at ``site``: [n, N, 3]."""
    from discodock.sampling.seeded_search import random_starts

    return random_starts(conformer, site.tolist(), n, generator=torch.Generator().manual_seed(seed))


def measure(mol, crystal, positions: torch.Tensor) -> dict:
    """Per-sample RMSD, centroid error and centroid-superposed RMSD of poses [S, N, 3] of ``mol``."""
    from discodock.eval.rmsd import SymmetryRMSD
    from discodock.sampling.ranking import with_coords

    scorer = SymmetryRMSD(crystal=crystal)
    target = torch.tensor(crystal.GetConformer().GetPositions()[[a.GetIdx() for a in crystal.GetAtoms()
                                                                  if a.GetAtomicNum() > 1]], dtype=torch.float32)
    centre = target.mean(0)
    rmsd = scorer([with_coords(mol, p) for p in positions])
    moved = positions - positions.mean(1, keepdim=True) + centre
    shape = scorer([with_coords(mol, p) for p in moved])
    return {"rmsd": [float(r) for r in rmsd], "shape_rmsd": [float(r) for r in shape],
            "centroid_error": [float(e) for e in (positions.mean(1) - centre).norm(dim=1)]}


def run_complex(docker, cid: str, protein: Path, ligand_file: Path, methods, samples: int, seed: int,
                prior_temperature: float | None = None) -> dict:
    from discodock.data.cache import CONFORMER_POS
    from discodock.data.parsing import load_ligand
    from discodock.eval.runner import fresh_ligand
    from discodock.sampling.settings import DockSettings

    crystal = load_ligand(ligand_file)
    ligand = fresh_ligand(crystal, seed=seed)
    site = crystal.GetConformer().GetPositions().mean(0).tolist()
    out = {"id": cid}
    for method in methods:
        t0 = time.perf_counter()
        data, mol, _ = docker.build(protein, ligand, name=cid, pocket_center=site, settings=DockSettings(), seed=seed,
                                 crystal_mol=crystal if method == "oracle" else None)
        if method == "null":
            pos = null_poses(data[CONFORMER_POS], torch.tensor(site, dtype=torch.float32), samples, seed)
        else:
            gen = torch.Generator(device=docker.device).manual_seed(seed)
            torch.manual_seed(seed)
            pos = docker.sample(data, settings=DockSettings(samples=samples, latents=method,
                                                            prior_temperature=prior_temperature), generator=gen)
        out[method] = measure(data["mol"], crystal, pos) | {"seconds": time.perf_counter() - t0}
    return out


def summarise(rows: list[dict], methods, samples: int) -> str:
    lines = [f"n = {len(rows)} complexes, {samples} samples each (raw samples: no Vina step)", "",
             "| method | median centroid error (A) | median centroid-superposed RMSD (A) | best of S < 2 A | "
             "first sample < 2 A | first sample < 5 A | median RMSD (A) | s / complex |",
             "|---|---|---|---|---|---|---|---|"]
    best = {}
    for m in methods:
        rs = [r[m] for r in rows if m in r]
        best[m] = [min(x["rmsd"]) < 2.0 for x in rs]
        ce = statistics.median(v for x in rs for v in x["centroid_error"])
        sh = statistics.median(v for x in rs for v in x["shape_rmsd"])
        md = statistics.median(v for x in rs for v in x["rmsd"])
        first2 = np.mean([x["rmsd"][0] < 2.0 for x in rs])
        first5 = np.mean([x["rmsd"][0] < 5.0 for x in rs])
        sec = statistics.median(x["seconds"] for x in rs)
        lines.append(f"| {m} | {ce:.2f} | {sh:.2f} | {100 * np.mean(best[m]):.1f}% | {100 * first2:.1f}% | "
                     f"{100 * first5:.1f}% | {md:.2f} | {sec:.1f} |")
    lines += ["", "Paired, best of S < 2 A (exact McNemar): A wins / B wins, p", ""]
    for a, b in (("none", "null"), ("prior", "null"), ("oracle", "none"), ("prior", "none"), ("oracle", "prior")):
        if a in best and b in best:
            w, l, p = mcnemar(best[a], best[b])
            lines.append(f"- {a} vs {b}: {w} / {l}, p = {p:.3g}")
    return "\n".join(lines) + "\n"


def run_resumable(ids, found: dict, done: set, rows: list, log: Path, *, run, describe) -> None:
    """``run(cid, protein, ligand_file)`` for each ID not ``done``; each row appended to ``rows`` and to the
    JSONL ``log`` as it finishes (a re-run resumes); a complex that fails is reported and skipped."""
    from discodock.data.pdbbind import complex_files

    for i, cid in enumerate(ids):
        if cid in done or cid not in found:
            continue
        protein, ligands = complex_files(found[cid], cid)
        try:
            row = run(cid, protein, ligands[0])
        except Exception as err:  # a complex that cannot be docked is reported and skipped
            print(f"{cid}: skipped ({type(err).__name__}: {err})", file=sys.stderr)
            continue
        rows.append(row)
        with open(log, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"[{i + 1}/{len(ids)}] {cid}: {describe(row)}", file=sys.stderr, flush=True)


def start_run(args, *, threads: int = 1):
    """What every validation benchmark here does first: one thread, RDKit quiet, the first ``args.limit`` IDs
    found in ``args.data``, the output folder made, the checkpoint loaded on the CPU. Returns
    ``(ids, found, missing, out, docker)``."""
    from rdkit import RDLogger

    from discodock.data.pdbbind import index_complexes, read_split, resolve_ids
    from discodock.sampling.pipeline import load_docker

    torch.set_num_threads(threads)
    RDLogger.DisableLog("rdApp.*")
    ids = read_split(args.ids)[: args.limit]
    found, missing = resolve_ids(ids, index_complexes(args.data))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return ids, found, missing, out, load_docker(args.checkpoint, device="cpu")


def add_common_arguments(p: argparse.ArgumentParser, *, limit: int) -> None:
    """Checkpoint, data roots, validation IDs (the first ``limit``), samples and seed: shared by the
    validation benchmarks in this folder."""
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", nargs="+", default=[str(d) for d in sorted((REPO / ".." / "shared" / "data").glob("*"))
                                                  if d.is_dir() and d.name not in ("dude_screening", "splits")])
    p.add_argument("--ids", default=str(REPO / "data" / "splits" / "val_pocket.txt"))
    p.add_argument("--limit", type=int, default=limit)
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(p, limit=40)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--prior-temperature", type=float, default=None,
                   help="AR prior temperature for the prior method (< 1 sharpens; default: the checkpoint's)")
    args = p.parse_args()
    ids, found, missing, out, docker = start_run(args, threads=args.threads)
    log = out / "per_complex.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    done = {r["id"] for r in rows}
    methods = [m for m in args.methods if m != "oracle" or docker.models.encoder is not None]
    run_resumable(ids, found, done, rows, log,
                  run=lambda cid, protein, ligand: run_complex(docker, cid, protein, ligand, methods, args.samples,
                                                               args.seed, args.prior_temperature),
                  describe=lambda row: ", ".join(f"{m} best {min(row[m]['rmsd']):.2f} A" for m in methods))
    if missing:
        print(f"not found: {', '.join(missing)}", file=sys.stderr)
    text = f"checkpoint {args.checkpoint}\n\n" + summarise([r for r in rows if r["id"] in set(ids)], methods,
                                                            args.samples)
    (out / "summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
