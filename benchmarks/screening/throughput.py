"""Screening throughput and memory on this machine: ligands/hour for ``discodock screen`` (default settings,
10 diffusion samples with Vina refinement, and the ``--preset fast``) and for AutoDock Vina alone
(exhaustiveness 8, the same box, maps computed once), on the same ligands, plus the peak memory of a
``--dry-run`` over a 1,000- and a 10,000-line library (it should stay flat: the library is streamed).

Receptor: the shipped example 3d6p, site from its crystal ligand (``--autobox-ligand``). Ligands: a seeded
sample of DUD-E FABP4 decoys (ZINC drug-like molecules docked into another protein; only time and memory are
read here, never scores). One worker, 1 thread each. Printed per method: ligands per hour of wall time
(depends on what else the machine runs) and ligands per CPU-hour of the docking process (what one idle core
would give; model loading excluded).

    nice -n 19 python benchmarks/screening/throughput.py [--n 200] [--skip-vina] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
EXAMPLE = REPO / "data" / "examples" / "3d6p"
DECOYS = SHARED / "dude_screening" / "fabp4" / "decoys_final.ism"
MEMORY_LIBRARIES = ("ada", "comt", "def", "fak1")  # decoy lists pooled for the 10,000-line dry-run library


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def sample_library(path: Path, n: int, seed: int) -> list[tuple[str, str]]:
    lines = [ln.split() for ln in DECOYS.read_text().splitlines() if ln.strip()]
    picked = random.Random(seed).sample(lines, n)
    path.write_text("".join(f"{p[0]} {p[1]}\n" for p in picked))
    return [(p[0], p[1]) for p in picked]


def run_screen(lib: Path, out: Path, *extra: str) -> tuple[float, float, float]:
    """(ligands/hour of wall time inside the docking loop, ligands per CPU-hour, wall seconds incl. model load)."""
    cmd = [sys.executable, "-m", "discodock.cli", "screen", "--protein", str(EXAMPLE / "3d6p_protein.pdb.gz"),
           "--autobox-ligand", str(EXAMPLE / "3d6p_ligand.sdf"), "--ligands", str(lib), "--out", str(out),
           "--quiet", "--device", "cpu", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"screen failed: {proc.stderr.strip()}")
    import pyarrow.parquet as pq

    rows = [r for p in sorted((out / "shard-0-of-1").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    n = len(rows)
    return (3600 * n / sum(r["seconds"] for r in rows), 3600 * n / sum(r["cpu_seconds"] for r in rows), wall)


def run_vina(ligands: list[tuple[str, str]], *, seed: int = 0) -> tuple[float, float, int, int]:
    """(ligands/hour of wall time, ligands per CPU-hour, ok, failed): Vina exhaustiveness 8, same box, 1 thread."""
    sys.path.insert(0, str(REPO))
    from discodock.data.conformers import generate_conformer
    from discodock.data.parsing import load_ligand
    from discodock.scoring.vina import get_receptor
    from discodock.screen.engine import SiteMapsVina
    from discodock.screen.site import autobox

    site = autobox(EXAMPLE / "3d6p_ligand.sdf")
    vina = SiteMapsVina(get_receptor(EXAMPLE / "3d6p_protein.pdb.gz", cpu=1), site)
    ok = failed = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    for smiles, _ in ligands:
        try:
            mol = generate_conformer(load_ligand(smiles), seed=seed)
            vina.dock(mol, exhaustiveness=8, num_poses=9, seed=seed)
            ok += 1
        except Exception as err:  # counted, as the screen counts error rows
            print(f"vina: {smiles}: {type(err).__name__}: {err}", file=sys.stderr)
            failed += 1
    n = ok + failed
    return n / (time.perf_counter() - t0) * 3600, n / (time.process_time() - cpu0) * 3600, ok, failed


def dry_run_memory(lib: Path, out: Path) -> str:
    cmd = [sys.executable, "-m", "discodock.cli", "screen", "--protein", str(EXAMPLE / "3d6p_protein.pdb.gz"),
           "--autobox-ligand", str(EXAMPLE / "3d6p_ligand.sdf"), "--ligands", str(lib), "--out", str(out),
           "--quiet", "--device", "cpu", "--dry-run"]
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"dry run failed: {proc.stderr.strip()}")
    return proc.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="ligands docked by each method (default 200)")
    ap.add_argument("--n-vina", type=int, default=None, help="ligands docked by Vina (default: --n; the first ones)")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--skip-vina", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--workdir", help="keep outputs here (default: a temporary folder)")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="screen_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    lib = work / "library.smi"
    ligands = sample_library(lib, args.n, args.seed)
    print(f"{args.n} ligands (DUD-E FABP4 decoys, seed {args.seed}); receptor 3d6p, autobox from its ligand; "
          f"1 worker, 1 thread")
    rows = []
    for name, label, extra in (
            ("default", "discodock screen (defaults: a search from 20 random starts, no samples)", ()),
            ("samples", "discodock screen --samples 10 --refine vina (10 samples, 20 steps, Vina refine)",
             ("--samples", "10", "--refine", "vina")),
            ("fast", "discodock screen --preset fast (4 samples, 10 steps, no refine)", ("--preset", "fast"))):
        rate, cpu_rate, wall = run_screen(lib, work / name, *extra)
        rows.append((label, args.n, rate, cpu_rate, f"{wall:.0f} s wall incl. model load"))
        print(f"  {label}: {rate:.0f} ligands/hour wall, {cpu_rate:.0f} per CPU-hour", flush=True)
    if not args.skip_vina:
        n_vina = args.n_vina or args.n
        rate, cpu_rate, ok, failed = run_vina(ligands[:n_vina])
        rows.append(("AutoDock Vina 1.2 (exhaustiveness 8, same box)", n_vina, rate, cpu_rate,
                     f"{ok} ok, {failed} failed"))
        print(f"  vina: {rate:.0f} ligands/hour wall, {cpu_rate:.0f} per CPU-hour", flush=True)
    print("\n| method | ligands | ligands/hour (wall, 1 worker) | ligands per CPU-hour | notes |\n|---|---|---|---|---|")
    for label, n, rate, cpu_rate, note in rows:
        print(f"| {label} | {n} | {rate:.0f} | {cpu_rate:.0f} | {note} |")
    if not args.skip_memory:
        pool = []
        for target in MEMORY_LIBRARIES:
            pool += [ln for ln in (SHARED / "dude_screening" / target / "decoys_final.ism").read_text().splitlines()
                     if ln.strip()]
        print("\n| library lines | dry run (receptor prepared, every ligand parsed) |\n|---|---|")
        for size in (1000, 10000):
            big = work / f"library_{size}.smi"
            big.write_text("\n".join(pool[:size]) + "\n")
            print(f"| {size:,} | {dry_run_memory(big, work / f'dry_{size}')} |", flush=True)


if __name__ == "__main__":
    main()
