"""``discodock screen``: one receptor against a ligand library, sharded and resumable; Parquet out."""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

from discodock.commands.dock import _center
from discodock.errors import ConfigError, InputError
from discodock.sampling.settings import RANKINGS, REFINEMENTS

# "fast": fewer poses and steps, no Vina refinement (poses are still Vina-scored when ranked by Vina).
PRESETS = {"default": {}, "fast": {"samples": 4, "steps": 10, "refine": "none"}}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protein", required=True, help="receptor structure (.pdb, .pdb.gz, .cif)")
    site = p.add_mutually_exclusive_group(required=True)
    site.add_argument("--pocket-center", type=_center, metavar="X,Y,Z", help="binding site centre (Angstrom)")
    site.add_argument("--autobox-ligand", metavar="REF",
                      help="reference ligand file: the site is its centroid and extent (+4 A per side)")
    p.add_argument("--ligands", required=True,
                   help="library: .smi/.smiles/.ism (SMILES [ID] per line), .csv (smiles,id), .sdf; optionally .gz")
    p.add_argument("--out", required=True, help="output folder (one subfolder per shard)")
    p.add_argument("--shard", metavar="I/N|auto", default=None,
                   help="dock every N-th ligand starting at I (0-based); auto: from Slurm's SLURM_ARRAY_TASK_* "
                        "variables")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--dask", metavar="ADDRESS", help="send ligands to a Dask cluster (tcp://scheduler:8786)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="fast: 4 samples, 10 steps, no Vina refinement (explicit options win)")
    p.add_argument("--samples", type=int, default=None,
                   help="diffusion samples per ligand (default: the checkpoint's; 0 for the shipped weights, which search "
                        "from 20 random starts instead)")
    p.add_argument("--steps", type=int, default=None,
                   help="reverse-diffusion steps (default: the checkpoint's, 20 for the shipped weights)")
    p.add_argument("--refine", choices=REFINEMENTS, default=None,
                   help="none, Vina local optimisation of each pose, or a Monte Carlo search on Vina's energy then "
                        "that (default: the checkpoint's: search for the shipped weights)")
    p.add_argument("--rank", choices=RANKINGS, default=None, help="ranking (default: the checkpoint's)")
    p.add_argument("--latents", choices=["prior", "none"], default="prior")
    p.add_argument("--pocket-radius", type=float, default=None, help="receptor crop radius (Angstrom)")
    p.add_argument("--top-poses", type=int, default=3, help="poses kept per ligand in the SDF output (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed used for every ligand (results do not depend on "
                                                     "sharding or order)")
    p.add_argument("--timeout-s", type=float, default=None, help="per-ligand time limit in seconds (local workers)")
    p.add_argument("--vina-cpu", type=int, default=1, help="Vina threads per worker (default 1)")
    p.add_argument("--max-heavy-atoms", type=int, default=150)
    p.add_argument("--checkpoint", help="model checkpoint (default: the shipped pocket weights)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--dry-run", action="store_true",
                   help="prepare the receptor and parse every ligand of the shard; dock nothing, write nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar (batch systems)")
    p.add_argument("--retry-errors", action="store_true",
                   help="also dock again the ligands that finished with an error (after a timeout, a crash or a "
                        "fixed input problem); each new row replaces the error row")


def _positive(name: str, value, minimum: int = 1) -> None:
    if value is not None and value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")


def spec_from_args(args: argparse.Namespace):
    from discodock.screen.engine import ScreenSpec
    from discodock.screen.site import site_from_args

    preset = PRESETS[args.preset]
    samples = args.samples if args.samples is not None else preset.get("samples")  # None: the checkpoint's
    steps = args.steps if args.steps is not None else preset.get("steps")
    for name, value in (("--samples", samples), ("--steps", steps), ("--workers", args.workers),
                        ("--top-poses", args.top_poses), ("--vina-cpu", args.vina_cpu)):
        if value is not None:
            _positive(name, value)
    if args.timeout_s is not None and args.timeout_s <= 0:
        raise ConfigError("--timeout-s", f"must be positive, got {args.timeout_s}")
    site = site_from_args(pocket_center=args.pocket_center, autobox_ligand=args.autobox_ligand)
    if not Path(args.protein).is_file():
        raise InputError(args.protein, "protein file not found")
    return ScreenSpec(
        protein=str(Path(args.protein).resolve()), site=site, checkpoint=args.checkpoint, device=args.device,
        samples=samples, steps=steps, latents=args.latents, pocket_radius=args.pocket_radius,
        refine=args.refine or preset.get("refine"), rank=args.rank, max_heavy_atoms=args.max_heavy_atoms,
        seed=args.seed, top_poses=args.top_poses, vina_cpu=args.vina_cpu, timeout_s=args.timeout_s)


def run(args: argparse.Namespace) -> int:
    from discodock.screen.runner import run_shard
    from discodock.screen.shards import parse_shard

    shard = parse_shard(args.shard)
    spec = spec_from_args(args)
    summary = run_shard(spec, library=args.ligands, out=args.out, shard=shard, workers=args.workers,
                        dask_address=args.dask, quiet=args.quiet, dry_run=args.dry_run,
                        retry_errors=args.retry_errors)
    if args.dry_run:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"dry run {summary.shard}: {summary.owned} ligands read, {summary.ok} parse, {summary.errors} do not; "
              f"{summary.seconds:.1f} s; peak memory {peak_mib:.0f} MiB")
        return 0
    done = summary.finished_before + summary.ok + summary.errors
    rate = (summary.ok + summary.errors) / summary.seconds * 3600 if summary.seconds > 0 else 0.0
    print(f"{summary.shard}: {summary.ok} docked, {summary.errors} errors this run "
          f"({rate:.0f} ligands/hour); {done}/{summary.owned} finished in {args.out}", file=sys.stdout)
    return 0
