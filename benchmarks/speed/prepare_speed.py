"""Preprocessing speed and conformer-matching residuals on the shared PDBbind subset.

Prepares (a sample of) ``../shared/data/pdbbind_subset213`` into a temporary cache twice, with and without
conformer matching, on N worker processes, and prints complexes/s, the residual RMSD distribution of
conformer matching and the peak memory (resident set size of this process and of the largest worker).

    python benchmarks/speed/prepare_speed.py [--data DIR] [--workers 2] [--limit N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pdbbind_subset213"


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[1], q[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data folder in the PDBBind layout")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first N complexes (sorted IDs)")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"prepare_speed: data folder not found: {args.data}", file=sys.stderr)
        return 2

    import torch

    torch.set_num_threads(1)
    from discodock.data.pdbbind import index_complexes
    from discodock.data.prepare import FeaturizationConfig, prepare_complexes

    ids = sorted(index_complexes([args.data]))[: args.limit]
    print(f"data: {args.data.resolve()}  complexes: {len(ids)}  workers: {args.workers}")
    results = {}
    for matching in (False, True):
        config = FeaturizationConfig(conformer_matching=matching)
        with tempfile.TemporaryDirectory(prefix="discodock_prepare_speed_") as tmp:
            s = prepare_complexes([args.data], ids=ids, cache_root=tmp, config=config, workers=args.workers,
                                  progress=False)
        rate = len(s.prepared) / s.seconds
        results[matching] = s
        label = "with conformer matching   " if matching else "without conformer matching"
        print(f"{label}: {len(s.prepared)} prepared, {len(s.skipped)} skipped in {s.seconds:.1f} s "
              f"-> {rate:.2f} complexes/s")
        for reason, count in s.reason_counts().items():
            print(f"    skipped {count}: {reason}")

    rmsd = sorted(results[True].matching_rmsd.values())
    if rmsd:
        q1, med, q3 = _quantiles(rmsd)
        below1 = sum(r < 1.0 for r in rmsd) / len(rmsd)
        below2 = sum(r < 2.0 for r in rmsd) / len(rmsd)
        print(f"conformer-matching residual RMSD over {len(rmsd)} ligands (A): median {med:.3f}, "
              f"quartiles {q1:.3f} / {q3:.3f}, max {rmsd[-1]:.3f}; < 1 A: {100 * below1:.1f}%, "
              f"< 2 A: {100 * below2:.1f}%")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory (RSS): main process {own:.0f} MiB, largest worker {child:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
