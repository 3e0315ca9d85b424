"""``discodock prepare``: complexes in the PDBBind layout -> the on-disk cache of preprocessed graphs."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from discodock.errors import ConfigError, InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", nargs="+", required=True, metavar="DIR",
                   help="data folder(s) in the PDBBind layout: DIR/<id>/<id>_protein.pdb[.gz] + <id>_ligand.sdf")
    p.add_argument("--ids", metavar="FILE",
                   help="split file with one complex ID per line (default: every complex under --data)")
    p.add_argument("--cache", metavar="DIR",
                   help="cache root (default: $DISCODOCK_CACHE/complexes or ~/.cache/discodock/complexes); "
                        "records go to DIR/<config hash>/")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--no-matching", action="store_true",
                   help="keep the crystal pose as the ligand pose (no conformer matching)")
    p.add_argument("--limit", type=int, default=None, help="prepare only the first N IDs")
    p.add_argument("--pocket-radius", type=float, default=None,
                   help="crop receptors to residues within this radius (A) of the crystal ligand (default: whole protein)")
    p.add_argument("--receptor-radius", type=float, default=15.0, help="receptor graph cutoff in A (default 15)")
    p.add_argument("--receptor-max-neighbours", type=int, default=24, help="receptor graph neighbour cap (default 24)")
    p.add_argument("--max-heavy-atoms", type=int, default=150, help="skip larger ligands (default 150)")
    p.add_argument("--mmff", action="store_true", help="MMFF-relax RDKit conformers before matching")
    p.add_argument("--embeddings", metavar="DIR", help="folder of per-residue embeddings <id>.pt / <id>.npy")
    p.add_argument("--seed", type=int, default=0, help="base seed of the RDKit conformers (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _check(args: argparse.Namespace) -> None:
    if args.workers < 0:
        raise ConfigError("--workers", f"must be at least 0, got {args.workers}")
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit", f"must be at least 1, got {args.limit}")
    for name in ("pocket_radius", "receptor_radius"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise ConfigError("--" + name.replace("_", "-"), f"must be positive, got {value}")
    if args.max_heavy_atoms < 1:
        raise ConfigError("--max-heavy-atoms", f"must be at least 1, got {args.max_heavy_atoms}")
    for folder in args.data:
        if not Path(folder).is_dir():
            raise InputError(folder, "data directory not found")
    if args.embeddings is not None and not Path(args.embeddings).is_dir():
        raise InputError(args.embeddings, "embeddings directory not found")


def run(args: argparse.Namespace) -> int:
    from discodock.data.pdbbind import read_split
    from discodock.data.prepare import FeaturizationConfig, prepare_complexes

    _check(args)
    ids = read_split(args.ids) if args.ids else None
    config = FeaturizationConfig(
        receptor_radius=args.receptor_radius,
        receptor_max_neighbours=args.receptor_max_neighbours,
        pocket_radius=args.pocket_radius,
        max_heavy_atoms=args.max_heavy_atoms,
        conformer_matching=not args.no_matching,
        mmff=args.mmff,
        seed=args.seed,
        embeddings_dir=None if args.embeddings is None else str(Path(args.embeddings).resolve()),
    )
    summary = prepare_complexes(
        args.data,
        ids=ids,
        cache_root=args.cache,
        config=config,
        workers=args.workers,
        limit=args.limit,
        progress=not args.quiet,
    )
    done = len(summary.prepared) + len(summary.cached)
    rate = len(summary.prepared) / summary.seconds if summary.seconds > 0 else float("nan")
    print(f"cache: {summary.cache_dir}")
    print(f"prepared {len(summary.prepared)} (already cached {len(summary.cached)}), skipped {len(summary.skipped)}"
          f" in {summary.seconds:.1f} s ({rate:.2f} complexes/s)")
    if summary.matching_rmsd:
        values = sorted(summary.matching_rmsd.values())
        below = sum(v < 2.0 for v in values) / len(values)
        print(f"conformer matching residual RMSD: median {statistics.median(values):.2f} A, "
              f"{100 * below:.0f}% below 2 A")
    if summary.skipped:
        print(f"skip reasons (details in {summary.cache_dir / 'skipped.tsv'}):")
        for reason, count in summary.reason_counts().items():
            print(f"  {count:5d}  {reason}")
    return 0 if done > 0 else 1
