"""AutoDock Vina on the shared test sets, through ``discodock benchmark``; prints the summary tables.

    python benchmarks/accuracy/vina_baseline.py --shared ../shared/data --out-root /tmp/bench_vina [--limit 40]
        [--sets posebusters timesplit] [--modes pocket blind] [--exhaustiveness 8] [--workers 1]

Sets: ``posebusters`` (every folder of ``posebusters_benchmark_set``) and ``timesplit`` (the PDBbind
time-split test IDs that have structures in ``pdbbind_timesplit_test_dsdp`` or ``pdbbind_subset213``: 301 of
363). Each (set, mode) run goes to ``<out-root>_<set>_<mode>`` and resumes if re-run; a comparison of all
runs is written to ``<out-root>_compare``. These are test sets: evaluation only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from discodock.cli import main as discodock_main


def timesplit_ids(shared: Path) -> list[str]:
    wanted = [line.strip() for line in (shared / "splits" / "timesplit_test").read_text().splitlines() if line.strip()]
    roots = [shared / "pdbbind_timesplit_test_dsdp", shared / "pdbbind_subset213"]
    return [i for i in wanted if any((r / i / f"{i}_ligand.sdf").is_file() for r in roots)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
    parser.add_argument("--out-root", default="/tmp/bench_vina")
    parser.add_argument("--sets", nargs="+", choices=("posebusters", "timesplit"), default=["posebusters"])
    parser.add_argument("--modes", nargs="+", choices=("pocket", "blind"), default=["pocket"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--exhaustiveness", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    runs = []
    for name in args.sets:
        if name == "posebusters":
            data, ids = [args.shared / "posebusters_benchmark_set"], None
        else:
            data = [args.shared / "pdbbind_timesplit_test_dsdp", args.shared / "pdbbind_subset213"]
            ids = Path(f"{args.out_root}_timesplit_ids.txt")
            ids.write_text("\n".join(timesplit_ids(args.shared)) + "\n")
        for mode in args.modes:
            out = f"{args.out_root}_{name}_{mode}"
            argv = ["benchmark", "--method", "vina", "--data", *map(str, data), "--out", out,
                    "--exhaustiveness", str(args.exhaustiveness), "--workers", str(args.workers)]
            argv += ["--ids", str(ids)] if ids else []
            argv += ["--pocket"] if mode == "pocket" else []
            argv += ["--limit", str(args.limit)] if args.limit else []
            argv += ["--threads", str(args.threads)] if args.threads else []
            print(f"== {name}, {mode}: discodock {' '.join(argv)}", flush=True)
            if discodock_main(argv) == 0:
                runs.append(out)
    if len(runs) > 1:
        discodock_main(["benchmark", "--compare", *runs, "--out", f"{args.out_root}_compare"])


if __name__ == "__main__":
    main()
