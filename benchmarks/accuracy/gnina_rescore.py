"""GNINA's CNN pose score (gninatorch's pretrained weights) on kept pools of poses: the baseline ranker to beat.

Reads ``RUN/poses/<id>/<method>.sdf`` (``search_val.py --keep-poses``: each method's poses in rank order) and
scores every pose with GNINA's default CNN ensemble (dense, general_default2018_3, dense_3,
crossdock_default2018, redock_default2018_2; McNutt et al., J Cheminform 2021) on a 23.5 A grid centred on the
pose, as ``gnina --score_only`` does. The receptor of each complex is ``<root>/<id>/<id>_protein.pdb`` (or
``.pdb.gz``) under one of the ``--data`` roots (PDBBind layout). Writes one JSON line per (id, method) to
``--out`` (default ``RUN/gnina_scores.jsonl``): ``CNNscore`` and ``CNNaffinity`` per pose in the SDF's order.
A re-run skips the lines already written; a complex that fails is reported on stderr and skipped. Prints
poses per second at the end (one thread; gridding, receptor parsing and the five networks included), by wall
clock and by this process's CPU time (the figure that holds on a shared machine).
``ranker_val.py --gnina OUT`` puts the result in its table.

gninatorch and molgrid are not discodock dependencies: molgrid's wheel is built against numpy 1, so they live
in their own virtual environment (outside the repository), and this script runs under its Python:

    python -m venv /work/venvs/gnina
    /work/venvs/gnina/bin/pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
    /work/venvs/gnina/bin/pip install "numpy<2" molgrid==0.5.5 gninatorch==0.0.2
    OMP_NUM_THREADS=1 /work/venvs/gnina/bin/python benchmarks/accuracy/gnina_rescore.py --run runs/ranker_val \\
        [--out runs/gnina_val_scores.jsonl] [--data /path/to/pdbbind_like_root ...]
    # a discodock benchmark folder, its first 50 complexes in the ID list's order:
    OMP_NUM_THREADS=1 /work/venvs/gnina/bin/python benchmarks/accuracy/gnina_rescore.py --benchmark --run runs/pb \
        --ids data/splits/test_posebusters.txt --limit 50

The weights ship inside the gninatorch wheel: nothing is downloaded at run time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ROOTS = [str(d) for d in sorted((REPO / ".." / "shared" / "data").glob("*"))
                 if d.is_dir() and d.name not in ("dude_screening", "splits")]


def require_gnina():
    """(torch, gninatorch's gnina, setup and dataloaders modules), or exit 2 with one line saying what is missing."""
    try:
        import molgrid  # noqa: F401
        import numpy
        import torch
        from gninatorch import dataloaders, gnina, setup
    except ImportError as err:
        print(f"gnina_rescore.py: {err.name or err} is not installed in {sys.executable}'s environment; set up the "
              "gninatorch venv as this script's docstring says and run it with that venv's python", file=sys.stderr)
        sys.exit(2)
    if int(numpy.__version__.split(".")[0]) >= 2:
        print(f"gnina_rescore.py: molgrid needs numpy < 2 but {sys.executable} has numpy {numpy.__version__}; "
              "use the gninatorch venv of this script's docstring", file=sys.stderr)
        sys.exit(2)
    return torch, gnina, setup, dataloaders


def find_receptor(cid: str, roots: list[str]) -> Path | None:
    for root in roots:
        for name in (f"{cid}_protein.pdb", f"{cid}_protein.pdb.gz"):
            path = Path(root) / cid / name
            if path.is_file():
                return path
    return None


def split_sdf(sdf: Path, folder: Path, stem: str) -> list[Path]:
    """One file per molecule of ``sdf``, in its order (the text as written, so nothing is re-perceived)."""
    blocks, block = [], []
    for line in sdf.read_text().splitlines(keepends=True):
        block.append(line)
        if line.rstrip() == "$$$$":
            blocks.append("".join(block))
            block = []
    files = []
    for i, text in enumerate(blocks):
        path = folder / f"{stem}_{i}.sdf"
        path.write_text(text)
        files.append(path)
    return files


def score_types(types: Path, model, args, torch, gnina, setup, dataloaders) -> tuple[list[float], list[float]]:
    """(CNNscore, CNNaffinity) of each line of ``types`` ("receptor ligand"), in its order."""
    opts = gnina.options([str(types), "-g", "cpu", "--batch_size", str(args.batch_size)])
    provider = setup.setup_example_provider(str(types), opts, training=False)
    loader = dataloaders.GriddedExamplesLoader(example_provider=provider, grid_maker=setup.setup_grid_maker(opts),
                                               device=torch.device("cpu"), grids_only=True)
    scores, affinities = [], []
    with torch.inference_mode():
        for grids in loader:
            log_pose, affinity = model(grids)[:2]
            scores += torch.exp(log_pose[:, -1]).tolist()
            affinities += affinity.reshape(-1).tolist()
    return scores, affinities


def pose_files(run: Path, *, benchmark: bool) -> dict[str, dict[str, Path]]:
    """complex id -> {method: its ranked-pose SDF}, from ``search_val.py`` (``poses/<id>/<method>.sdf``) or
    ``discodock benchmark`` (``poses/<method>/<id>.sdf``) folders."""
    jobs: dict[str, dict[str, Path]] = {}
    for folder in sorted(f for f in (run / "poses").iterdir() if f.is_dir()):
        for f in sorted(folder.glob("*.sdf")):
            cid, method = (f.stem, folder.name) if benchmark else (folder.name, f.stem)
            jobs.setdefault(cid, {})[method] = f
    return jobs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True,
                   help="a search_val.py --keep-poses output folder (RUN/poses/<id>/*.sdf), or see --benchmark")
    p.add_argument("--out", default=None, help="JSON lines written (default RUN/gnina_scores.jsonl); a re-run resumes")
    p.add_argument("--data", nargs="+", default=DEFAULT_ROOTS, help="data roots in the PDBBind layout")
    p.add_argument("--cnn", default="default", help="gninatorch model name (default: GNINA's default ensemble)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--limit", type=int, default=None, help="score at most this many complexes")
    p.add_argument("--benchmark", action="store_true",
                   help="--run is a discodock benchmark folder (RUN/poses/<method>/<id>.sdf)")
    p.add_argument("--ids", default=None, help="complex IDs in the order to score them (with --limit: the first N)")
    args = p.parse_args()
    torch, gnina, setup, dataloaders = require_gnina()
    torch.set_num_threads(1)

    run = Path(args.run)
    out = Path(args.out) if args.out else run / "gnina_scores.jsonl"
    done = set()
    if out.is_file():
        for line in out.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done.add((row["id"], row["method"]))
    jobs = pose_files(run, benchmark=args.benchmark)  # complex id -> {method: SDF}
    order = [line.strip() for line in open(args.ids) if line.strip()] if args.ids else sorted(jobs)
    folders = [cid for cid in order if cid in jobs][: args.limit]
    model, _ = gnina.setup_gnina_model(args.cnn)
    n_poses, seconds, cpu, failed = 0, 0.0, 0.0, []
    for k, cid in enumerate(folders, start=1):
        todo = [f for m, f in sorted(jobs[cid].items()) if (cid, m) not in done]
        if not todo:
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            receptor = find_receptor(cid, args.data)
            if receptor is None:
                raise FileNotFoundError(f"no {cid}_protein.pdb[.gz] under {len(args.data)} data roots")
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                if receptor.suffix == ".gz":  # OpenBabel (inside molgrid) cannot read gzip
                    with gzip.open(receptor, "rb") as src, open(tmp / "receptor.pdb", "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    receptor = tmp / "receptor.pdb"
                method_of = {f: m for m, f in jobs[cid].items()}
                pools = {method_of[f]: split_sdf(f, tmp, f"pose{i}") for i, f in enumerate(todo)}
                types = tmp / "poses.types"
                types.write_text("".join(f"{receptor} {lig}\n" for ligs in pools.values() for lig in ligs))
                scores, affinities = score_types(types, model, args, torch, gnina, setup, dataloaders)
            n = sum(len(v) for v in pools.values())
            if len(scores) != n:
                raise RuntimeError(f"{len(scores)} scores for {n} poses")
        except Exception as err:  # noqa: BLE001 - one bad complex must not stop the batch
            failed.append(cid)
            print(f"[{k}/{len(folders)}] {cid}: skipped: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            continue
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        n_poses, seconds, cpu = n_poses + n, seconds + dt, cpu + dc
        with open(out, "a") as fh:
            i = 0
            for method, ligs in pools.items():
                fh.write(json.dumps({"id": cid, "method": method, "cnn": args.cnn,
                                     "CNNscore": [round(s, 5) for s in scores[i:i + len(ligs)]],
                                     "CNNaffinity": [round(a, 4) for a in affinities[i:i + len(ligs)]]}) + "\n")
                i += len(ligs)
        print(f"[{k}/{len(folders)}] {cid}: {n} poses in {dt:.1f} s ({dc:.1f} CPU s)", file=sys.stderr, flush=True)
    rate, cpu_rate = (n_poses / seconds, n_poses / cpu) if seconds else (float("nan"), float("nan"))
    print(f"{n_poses} poses scored in {seconds:.1f} s wall, {cpu:.1f} s CPU: {rate:.3f} poses/s wall, "
          f"{cpu_rate:.3f} poses per CPU-second (one thread, CNN '{args.cnn}'); "
          f"{len(failed)} complexes skipped{': ' + ' '.join(failed) if failed else ''}; scores in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
