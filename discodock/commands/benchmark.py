"""``discodock benchmark``: RMSD success rates on complexes in the PDBBind layout, for discodock or Vina.

Each complex ``<DIR>/<id>/`` holds ``<id>_protein.pdb[.gz]`` and ``<id>_ligand.sdf`` (the crystal pose).
The ligand always starts from a fresh RDKit conformer of its graph (the crystal SMILES, re-embedded with
the run's seed), never from crystal coordinates. ``--pocket`` gives the method the crystal ligand's
centroid as the site (Vina: a 25 A cube there; discodock: its pocket centre); otherwise both run blind.

Results go to ``--out`` one complex at a time (see :mod:`discodock.eval.report`): a failing complex is
recorded with its reason and the run goes on; re-running with the same ``--out`` skips complexes already
recorded for the same method label; the summary files are rewritten at the end. Complexes run in worker
processes (``--workers``; a crashing complex then costs only itself), or in this process with
``--workers 0``. ``--timeout`` bounds the wall time a complex may spend in its worker (from its start,
RMSD and PoseBusters included): one over it is recorded as failed, so it counts as a miss, and has no time;
a benchmark of hundreds of complexes then cannot stall on one ligand with 50 rotatable bonds.
``seconds`` is the docking wall time inside the worker (receptor/ligand preparation and
search; not process start-up, RMSD or PoseBusters); ``cpu_seconds`` the CPU time of the same span.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path

from discodock.errors import ConfigError, InputError

# Settings that make two runs of one method label comparable; the rest (workers, limit...) may change
# between a run and its resumption.
_RESULT_SETTINGS = ("method", "samples", "latents", "pocket", "seed", "exhaustiveness", "checkpoint", "posebusters",
                    "rank", "refine", "timeout_minutes")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", metavar="DIR", help="folders of complexes in the PDBBind layout")
    parser.add_argument("--ids", metavar="FILE", help="complex IDs, one per line (default: every complex in --data)")
    parser.add_argument("--out", metavar="DIR", required=True, help="output folder (re-use it to resume)")
    parser.add_argument("--method", choices=("discodock", "vina"), default="discodock")
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="discodock checkpoint (default: the shipped weights; the blind ones without --pocket)")
    parser.add_argument("--samples", type=int, default=10, help="poses per complex (Vina: poses kept)")
    parser.add_argument("--latents", choices=("prior", "oracle", "none"), default="prior",
                        help="discodock latents: from the AR prior, from the crystal pose (upper bound), or none")
    parser.add_argument("--pocket", action="store_true", help="give the crystal ligand's centroid as the site")
    parser.add_argument("--workers", type=int, default=1,
                        help="parallel worker processes (0: run in this process, no crash isolation)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per worker for Vina / torch (default: cores // workers)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N complexes of the ID list")
    parser.add_argument("--rank", choices=("confidence", "vina"), default=None,
                        help="discodock ranking (default: the checkpoint's)")
    parser.add_argument("--refine", choices=("none", "vina"), default=None,
                        help="discodock: Vina local optimisation of each pose (default: the checkpoint's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the ligand conformer and the search")
    parser.add_argument("--exhaustiveness", type=int, default=8, help="Vina exhaustiveness")
    parser.add_argument("--keep-het", default="auto", metavar="auto|none|all|HEM,NAD,ZN",
                        help="hetero groups in the receptor Vina docks / refines against, for both methods "
                             "(default auto; the README tables before 2026-12-07 kept all: 'all')")
    parser.add_argument("--timeout", type=float, default=None, metavar="MIN",
                        help="wall-clock minutes a complex may take in its worker; one that runs longer is "
                             "stopped and recorded as failed (a miss in every rate). Default: no limit")
    parser.add_argument("--device", default="auto", help="discodock device: auto, cpu or cuda")
    parser.add_argument("--no-posebusters", dest="posebusters", action="store_false",
                        help="skip the PoseBusters checks of top-1 poses")
    parser.add_argument("--compare", nargs="+", metavar="DIR",
                        help="instead of running: put these finished run folders side by side in --out")


@dataclass(frozen=True)
class BenchmarkSettings:
    """Everything a worker needs to benchmark one complex (all plain values, so it pickles)."""

    method: str
    label: str
    samples: int
    latents: str
    pocket: bool
    seed: int
    exhaustiveness: int
    checkpoint: str | None
    device: str
    posebusters: bool
    threads: int
    rank: str | None = None  # discodock: confidence | vina (None: the checkpoint's default)
    refine: str | None = None  # discodock: none | vina (None: the checkpoint's default)
    timeout_minutes: float | None = None  # wall-clock limit per complex (None: none)
    keep_het: str = "auto"  # hetero groups in Vina's receptor, for both methods (discodock.data.hetero)


@dataclass(frozen=True)
class BenchmarkComplex:
    """One complex: its ID and files (None when they were not found; ``problem`` says why)."""

    id: str
    protein: str | None
    ligand: str | None
    problem: str | None = None


def method_label(method: str, latents: str, pocket: bool) -> str:
    """The name a run is recorded under, e.g. ``vina-pocket`` or ``discodock-prior-blind``."""
    site = "pocket" if pocket else "blind"
    return f"vina-{site}" if method == "vina" else f"discodock-{latents}-{site}"


def read_ids(path: str | Path) -> list[str]:
    """IDs from a text file: one per line; blank lines and ``#`` comments ignored."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise InputError(path, f"cannot read the ID list ({err.strerror or err})") from None
    ids = [line.split("#", 1)[0].strip() for line in lines]
    ids = [i for i in ids if i]
    if not ids:
        raise InputError(path, "the ID list is empty")
    return ids


def _complex_files(folder: Path, cid: str) -> tuple[Path | None, Path | None]:
    protein = next((p for p in (folder / f"{cid}_protein.pdb", folder / f"{cid}_protein.pdb.gz") if p.is_file()), None)
    ligand = folder / f"{cid}_ligand.sdf"
    return protein, ligand if ligand.is_file() else None


def find_complexes(data_dirs: list[str | Path], ids: list[str] | None) -> list[BenchmarkComplex]:
    """Locate each complex in the first data folder that has it; without ``ids``, every sub-folder that
    holds a ``<name>_ligand.sdf`` (sorted by name, first folder first)."""
    roots = [Path(d) for d in data_dirs]
    for root in roots:
        if not root.is_dir():
            raise InputError(root, "data folder not found")
    if ids is None:
        ids, seen = [], set()
        for root in roots:
            for sub in sorted(p for p in root.iterdir() if p.is_dir()):
                if sub.name not in seen and (sub / f"{sub.name}_ligand.sdf").is_file():
                    ids.append(sub.name)
                    seen.add(sub.name)
        if not ids:
            raise InputError(", ".join(map(str, roots)), "no complexes (<id>/<id>_ligand.sdf) found")
    complexes = []
    for cid in ids:
        found = None
        for root in roots:
            if (root / cid).is_dir():
                protein, ligand = _complex_files(root / cid, cid)
                if protein and ligand:
                    found = BenchmarkComplex(cid, str(protein), str(ligand))
                    break
                missing = "protein (.pdb/.pdb.gz)" if protein is None else "ligand (.sdf)"
                found = BenchmarkComplex(cid, None, None, f"{root / cid}: {missing} file missing")
        complexes.append(found or BenchmarkComplex(cid, None, None, "not found in the --data folders"))
    return complexes


def fresh_ligand(crystal, *, seed: int):
    """The crystal ligand's molecule (heavy atoms, from its canonical SMILES, so in a new atom order)
    with a new RDKit ETKDG conformer, MMFF-relaxed; no crystal coordinate is used."""
    from rdkit import Chem

    from discodock.data.conformers import generate_conformer

    mol = Chem.MolFromSmiles(Chem.MolToSmiles(crystal))
    if mol is None or mol.GetNumAtoms() != crystal.GetNumAtoms():  # SMILES round trip failed: keep the graph
        mol = Chem.Mol(crystal)
        mol.RemoveAllConformers()
    return generate_conformer(mol, seed=seed, mmff=True)


def _one_line(err: BaseException) -> str:
    text = str(err) if isinstance(err, InputError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split())[:500] or type(err).__name__


def _dock(entry: BenchmarkComplex, crystal, ligand, settings: BenchmarkSettings):
    """Run the method: (ranked pose Mols, their confidence/score)."""
    centre = crystal.GetConformer().GetPositions().mean(0) if settings.pocket else None
    if settings.method == "vina":
        from discodock.data.hetero import choose_hetero
        from discodock.data.parsing import load_protein
        from discodock.eval.vina_baseline import POCKET_BOX_SIZE, get_receptor

        _, dropped = choose_hetero(load_protein(entry.protein).hetero, settings.keep_het, site=centre)
        receptor = get_receptor(entry.protein, cpu=settings.threads, drop_residues=frozenset(g.key for g in dropped))
        centre, size = receptor.blind_box() if centre is None else (centre, POCKET_BOX_SIZE)
        poses = receptor.dock(ligand, center=centre, size=size, exhaustiveness=settings.exhaustiveness,
                              num_poses=settings.samples, seed=settings.seed)
        return [p.mol for p in poses], [p.score for p in poses]
    from discodock.sampling.pipeline import dock_for_benchmark

    extra = {"crystal_mol": crystal} if settings.latents == "oracle" else {}
    ranked = dock_for_benchmark(
        entry.protein, ligand, checkpoint=settings.checkpoint, samples=settings.samples,
        latents=settings.latents, pocket_center=None if centre is None else [float(c) for c in centre],
        seed=settings.seed, device=settings.device, rank=settings.rank, refine=settings.refine,
        keep_het=settings.keep_het, **extra,
    )
    return [m for m, _ in ranked], [None if c is None else float(c) for _, c in ranked]


def _failure(entry: BenchmarkComplex, settings: BenchmarkSettings, reason: str, *,
             seconds: float | None = None, cpu_seconds: float | None = None) -> dict:
    """A failed complex as a worker result: the reason, and the time spent when it is known."""
    from discodock.eval.metrics import ComplexOutcome

    outcome = ComplexOutcome(id=entry.id, method=settings.label, seconds=seconds, cpu_seconds=cpu_seconds,
                             status=f"error: {reason}")
    return {"outcome": outcome, "checks": None, "pb_reason": None}


def benchmark_one(entry: BenchmarkComplex, settings: BenchmarkSettings) -> dict:
    """Benchmark one complex; never raises. Returns ``outcome`` (a ComplexOutcome), ``checks`` and
    ``pb_reason`` (PoseBusters)."""
    from rdkit import RDLogger

    from discodock.eval.metrics import ComplexOutcome

    RDLogger.DisableLog("rdApp.*")
    seconds = cpu_seconds = None
    try:
        if entry.problem:
            raise InputError(None, entry.problem)
        from discodock.data.parsing import load_ligand
        from discodock.eval.rmsd import SymmetryRMSD

        crystal = load_ligand(entry.ligand)
        ligand = fresh_ligand(crystal, seed=settings.seed)
        start, cpu_start = time.perf_counter(), time.process_time()
        poses, scores = _dock(entry, crystal, ligand, settings)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        if not poses:
            raise RuntimeError("the method returned no pose")
        rmsds = SymmetryRMSD(crystal=crystal)(poses)
    except Exception as err:  # one failing complex must not stop the run: record why
        return _failure(entry, settings, _one_line(err), seconds=seconds, cpu_seconds=cpu_seconds)
    checks, pb_valid, pb_reason = None, None, None
    if settings.posebusters:
        from discodock.eval.posebusters import check_pose

        result = check_pose(poses[0], crystal, entry.protein)
        checks, pb_valid, pb_reason = result.checks, result.pb_valid, result.reason
    outcome = ComplexOutcome(
        id=entry.id, method=settings.label, rmsds=tuple(float(r) for r in rmsds), scores=tuple(scores),
        seconds=seconds, cpu_seconds=cpu_seconds, status="ok", pb_valid=pb_valid,
    )
    return {"outcome": outcome, "checks": checks, "pb_reason": pb_reason}


def _init_worker(threads: int, method: str, parent_pid: int) -> None:
    from discodock.worker_process import exit_with_parent

    exit_with_parent(parent_pid)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if method == "discodock":
        import torch

        torch.set_num_threads(threads)


def _executor(workers: int, settings: BenchmarkSettings) -> ProcessPoolExecutor:
    # spawn, not fork: workers must not inherit a parent that has imported torch/vina threads.
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=_init_worker, initargs=(settings.threads, settings.method, os.getpid()))


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # A Vina search runs in C++ and never returns to Python, so a busy worker can only be killed from outside;
    # ProcessPoolExecutor has no public way to do that before Python 3.14 (kill_workers).
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


def _run_pool(todo: deque, settings: BenchmarkSettings, workers: int, record, timeout_s: float | None) -> list:
    """Run complexes from ``todo`` on one pool, at most ``workers`` at a time (so a complex's clock starts
    when it does), until ``todo`` is empty or the pool has to go. A complex past ``timeout_s`` seconds is
    recorded as failed and the workers are killed; the other complexes that were running go back to the
    front of ``todo``. Returns the complexes that were running when a worker died (which one did it is
    unknown)."""
    running: dict = {}  # future -> (complex, start time)
    crashed = []
    with _executor(workers, settings) as pool:
        while todo or running:
            while todo and len(running) < workers:
                entry = todo.popleft()
                try:
                    running[pool.submit(benchmark_one, entry, settings)] = (entry, time.monotonic())
                except BrokenProcessPool:
                    crashed.append(entry)
                    break
            if not running:
                break
            wait_s = None
            if timeout_s is not None:
                wait_s = max(0.0, min(start for _, start in running.values()) + timeout_s - time.monotonic())
            done, _ = wait(running, timeout=wait_s, return_when=FIRST_COMPLETED)
            for future in done:
                entry, _ = running.pop(future)
                try:
                    record(future.result())
                except BrokenProcessPool:
                    crashed.append(entry)
            if crashed:  # the pool is broken: everything still running went with it
                return crashed + [entry for entry, _ in running.values()]
            now = time.monotonic()
            late = [f for f, (_, start) in running.items() if timeout_s is not None and now - start >= timeout_s]
            if late:
                for future in late:
                    entry, _ = running.pop(future)
                    record(_failure(entry, settings, f"timed out after {timeout_s / 60:g} min (--timeout)"))
                todo.extendleft(reversed([entry for entry, _ in running.values()]))
                _kill_workers(pool)
                return []
    return crashed


def _run_pending(pending: list[BenchmarkComplex], settings: BenchmarkSettings, workers: int, record,
                 timeout_s: float | None = None) -> None:
    if workers <= 0:
        for entry in pending:
            record(benchmark_one(entry, settings))
        return
    todo, crashed = deque(pending), []
    while todo:
        crashed += _run_pool(todo, settings, workers, record, timeout_s)
    # A worker died (a native crash or out of memory) and took the pool down. We cannot tell which
    # complex did it, so each one that was running then is retried alone in its own process.
    for entry in crashed:
        if _run_pool(deque([entry]), settings, 1, record, timeout_s):
            record(_failure(entry, settings, "worker process died (native crash or out of memory)"))


def _check_resumable(out: Path, settings: BenchmarkSettings) -> None:
    """Refuse to mix results of different settings under one method label in one folder."""
    path = out / f"settings_{settings.label}.json"
    current = {k: getattr(settings, k) for k in _RESULT_SETTINGS}
    if path.exists():
        try:
            previous = json.loads(path.read_text())
        except (OSError, ValueError):
            previous = None
        if isinstance(previous, dict):
            changed = [k for k in _RESULT_SETTINGS if k in previous and previous[k] != current[k]]
            if changed:
                raise ConfigError(
                    out, f"holds a {settings.label} run with other settings ({', '.join(changed)}); "
                    "use another --out or the same settings"
                )
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")


def _log_invocation(out: Path, settings: BenchmarkSettings, args: argparse.Namespace, n: int) -> None:
    from discodock.eval.report import machine_description

    entry = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "command": " ".join(sys.argv),
        "settings": asdict(settings),
        "data": args.data,
        "ids": args.ids,
        "limit": args.limit,
        "workers": args.workers,
        "complexes_to_run": n,
    }
    with open(out / "runs.jsonl", "a") as handle:
        handle.write(json.dumps(entry) + "\n")


def run(args: argparse.Namespace) -> int:
    from discodock.eval import report

    out = Path(args.out)
    if args.compare:
        for d in args.compare:
            if not (Path(d) / report.PER_COMPLEX_CSV).is_file():
                raise InputError(d, f"no {report.PER_COMPLEX_CSV} here (not a benchmark run folder)")
        report.compare(args.compare, out)
        print((out / report.SUMMARY_MD).read_text(), end="")
        print(f"wrote {out / report.SUMMARY_MD}, {out / report.SUMMARY_JSON}, {out / report.RMSD_CDF_PNG}")
        return 0
    if not args.data:
        raise ConfigError(None, "--data DIR is required (or --compare DIR... to compare finished runs)")
    if args.samples < 1:
        raise ConfigError(None, f"--samples must be at least 1, got {args.samples}")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(None, f"--limit must be at least 1, got {args.limit}")
    if args.timeout is not None and not args.timeout > 0:
        raise ConfigError(None, f"--timeout must be a positive number of minutes, got {args.timeout}")
    if args.timeout is not None and args.workers <= 0:
        raise ConfigError(None, "--timeout needs worker processes (--workers 1 or more) to stop a complex")
    if args.method == "discodock":
        try:
            from discodock.sampling.pipeline import dock_for_benchmark  # noqa: F401
        except ImportError:
            raise InputError(None, "discodock model not available yet (discodock.sampling.pipeline."
                             "dock_for_benchmark is missing); use --method vina") from None
        if args.checkpoint and not Path(args.checkpoint).is_file():
            raise InputError(args.checkpoint, "checkpoint file not found")
    workers = max(0, int(args.workers))
    threads = args.threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    from discodock.data.hetero import parse_keep_het

    parse_keep_het(args.keep_het)  # a bad value fails here, not once per complex
    settings = BenchmarkSettings(
        method=args.method, samples=args.samples,
        label=method_label(args.method, args.latents, args.pocket) + ("-refined" if args.refine == "vina" else ""),
        latents=args.latents, pocket=bool(args.pocket), seed=args.seed, exhaustiveness=args.exhaustiveness,
        checkpoint=str(Path(args.checkpoint).resolve()) if args.checkpoint else None, device=args.device,
        posebusters=bool(args.posebusters), threads=int(threads), rank=args.rank, refine=args.refine,
        timeout_minutes=args.timeout, keep_het=args.keep_het,
    )
    if settings.method == "vina":  # latents and device mean nothing for Vina
        settings = replace(settings, latents="none", checkpoint=None, rank=None, refine=None)

    complexes = find_complexes(args.data, read_ids(args.ids) if args.ids else None)
    if args.limit is not None:
        complexes = complexes[: args.limit]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(out, f"cannot create the output folder ({err.strerror or err})") from None
    _check_resumable(out, settings)
    done = report.finished(out)
    pending = [c for c in complexes if (settings.label, c.id) not in done]
    _log_invocation(out, settings, args, len(pending))
    skipped = len(complexes) - len(pending)
    if skipped:
        print(f"{skipped} complexes already in {out / report.PER_COMPLEX_CSV}: skipped", file=sys.stderr)

    from tqdm import tqdm

    failures = 0
    with tqdm(total=len(pending), desc=settings.label, unit="complex", file=sys.stderr) as bar:

        def record(result: dict) -> None:
            nonlocal failures
            outcome = result["outcome"]
            report.append_outcome(out, outcome, result["checks"], result["pb_reason"])
            failures += outcome.status != "ok"
            bar.set_postfix(failed=failures)
            bar.update(1)

        timeout_s = None if settings.timeout_minutes is None else 60.0 * settings.timeout_minutes
        _run_pending(pending, settings, workers, record, timeout_s)

    report.write_summary(out, ids=[c.id for c in complexes])
    print((out / report.SUMMARY_MD).read_text(), end="")
    print(f"wrote {out / report.PER_COMPLEX_CSV}, {out / report.SUMMARY_JSON}, {out / report.SUMMARY_MD}, "
          f"{out / report.RMSD_CDF_PNG}")
    return 0
