"""Docking speed and memory on real complexes (2-core CPU figures go in the README).

Prints seconds per complex for 10 and 40 samples on a ~400-residue protein with a ~25-heavy-atom ligand
(PDBbind 4azg: 411 residues, 25 heavy atoms), the peak resident memory of docking against the largest
protein of the shared data (PoseBusters 7M31_TDR, 4,047 residues; timing only, not accuracy: test data),
and the resident memory along a 50-row CSV batch (it should stay flat).

    python benchmarks/speed/dock_speed.py [--checkpoint PATH] [--device cpu] [--skip-batch]
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from rdkit import Chem

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def site(ligand: Path) -> tuple[float, float, float]:
    mol = Chem.MolFromMolFile(str(ligand))
    return tuple(float(v) for v in mol.GetConformer().GetPositions().mean(0))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint")
    p.add_argument("--device", default="cpu")
    p.add_argument("--skip-batch", action="store_true")
    p.add_argument("--skip-timing", action="store_true", help="only the 50-row batch memory trace")
    p.add_argument("--batch-samples", type=int, default=10, help="poses per row in the batch run")
    args = p.parse_args()
    torch.set_num_threads(2)
    if not SHARED.is_dir():
        print(f"shared data not found at {SHARED}; nothing to measure", file=sys.stderr)
        return 0
    from discodock.sampling.pipeline import DockSettings, load_docker

    docker = load_docker(args.checkpoint, device=args.device)
    print(f"checkpoint {docker.checkpoint} on {docker.device}, {torch.get_num_threads()} threads")
    folder = SHARED / "pdbbind_subset213" / "4azg"
    protein, ligand = folder / "4azg_protein.pdb.gz", folder / "4azg_ligand.sdf"
    mol = Chem.MolFromMolFile(str(ligand))
    for samples in (() if args.skip_timing else (10, 40)):
        docker.dock(protein, mol, name="warm", pocket_center=site(ligand), settings=DockSettings(samples=2, steps=2))
        t0 = time.perf_counter()
        res = docker.dock(protein, mol, name="4azg", pocket_center=site(ligand),
                          settings=DockSettings(samples=samples, rank="vina"))
        total = time.perf_counter() - t0
        t = res.info["timings"]
        print(f"4azg (411 residues, 25 heavy atoms), {samples} samples, 20 steps: {total:.1f} s "
              f"(prepare {t['prepare_s']:.1f}, sampling {t['sampling_s']:.1f}, ranking {t['ranking_s']:.1f}); "
              f"peak RSS {peak_mb():.0f} MB")

    big = SHARED / "posebusters_benchmark_set" / "7M31_TDR"
    if big.is_dir() and not args.skip_timing:
        lig = big / "7M31_TDR_ligand.sdf"
        t0 = time.perf_counter()
        docker.dock(big / "7M31_TDR_protein.pdb.gz", Chem.MolFromMolFile(str(lig)), name="big",
                    pocket_center=site(lig), settings=DockSettings(samples=10, rank="vina"))
        print(f"7M31_TDR (4,047 residues), 10 samples: {time.perf_counter() - t0:.1f} s; peak RSS {peak_mb():.0f} MB")

    if not args.skip_batch:
        from discodock.cli import main as cli

        with tempfile.TemporaryDirectory() as tmp:
            rows = sorted((SHARED / "pdbbind_subset213").iterdir())[:50]
            path = Path(tmp) / "batch.csv"
            with open(path, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["complex_name", "protein_path", "ligand", "pocket_center"])
                for r in rows:
                    lig = r / f"{r.name}_ligand.sdf"
                    w.writerow([r.name, r / f"{r.name}_protein.pdb.gz", lig, ",".join(f"{v:.3f}" for v in site(lig))])
            before = rss_mb()
            t0 = time.perf_counter()
            argv = ["dock", "--csv", str(path), "--out", str(Path(tmp) / "out"), "--samples", str(args.batch_samples),
                    "--rank", "vina", "--quiet", "--device", args.device]
            if args.checkpoint:
                argv += ["--checkpoint", args.checkpoint]
            # Resident memory sampled every second along the batch: streaming means it stays flat.
            trace: list[float] = []
            done = threading.Event()

            def watch() -> None:
                while not done.wait(1.0):
                    trace.append(rss_mb())

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            cli(argv)
            done.set()
            watcher.join()
            at = [trace[min(len(trace) - 1, int(f * len(trace)))] for f in (0.1, 0.5, 0.9)] if trace else [rss_mb()] * 3
            print(f"50-row CSV, {args.batch_samples} samples each: {time.perf_counter() - t0:.0f} s; RSS before {before:.0f} MB, "
                  f"at 10% / 50% / 90% of the batch {at[0]:.0f} / {at[1]:.0f} / {at[2]:.0f} MB, "
                  f"after {rss_mb():.0f} MB, peak {peak_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
