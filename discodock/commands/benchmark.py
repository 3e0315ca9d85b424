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
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

from discodock.data.pdbbind import read_split
from discodock.errors import ConfigError, InputError
from discodock.eval.complexes import find_complexes
from discodock.eval.pool import run_pending
from discodock.eval.runner import BenchmarkSettings, method_label
from discodock.sampling.settings import DEFAULT_SITES, RANKINGS, REFINEMENTS

# Settings that make two runs of one method label comparable; the rest (workers, limit...) may change
# between a run and its resumption.
_RESULT_SETTINGS = ("method", "samples", "latents", "pocket", "seed", "exhaustiveness", "checkpoint", "posebusters",
                    "rank", "refine", "timeout_minutes", "random_starts", "search_keep", "sites")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", metavar="DIR", help="folders of complexes in the PDBBind layout")
    parser.add_argument("--ids", metavar="FILE", help="complex IDs, one per line (default: every complex in --data)")
    parser.add_argument("--out", metavar="DIR", required=True, help="output folder (re-use it to resume)")
    parser.add_argument("--method", choices=("discodock", "vina"), default="discodock")
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="discodock checkpoint (default: the shipped weights; the blind ones without --pocket)")
    parser.add_argument("--samples", type=int, default=None,
                        help="poses sampled per complex (default: the checkpoint's); 0 with --refine search and "
                             "--random-starts N: the search from random starts alone, no model (the null model). "
                             "Vina: poses kept (default 10)")
    parser.add_argument("--latents", choices=("prior", "oracle", "none"), default="prior",
                        help="discodock latents: from the AR prior, from the crystal pose (upper bound), or none")
    parser.add_argument("--pocket", action="store_true", help="give the crystal ligand's centroid as the site")
    parser.add_argument("--workers", type=int, default=1,
                        help="parallel worker processes (0: run in this process, no crash isolation)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per worker for Vina / torch (default: cores // workers)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N complexes of the ID list")
    parser.add_argument("--rank", choices=RANKINGS, default=None,
                        help="discodock ranking (default: the checkpoint's)")
    parser.add_argument("--refine", choices=REFINEMENTS, default=None,
                        help="discodock: Vina local optimisation of each pose, or a Monte Carlo search on Vina's "
                             "energy from each pose then that (default: the checkpoint's)")
    parser.add_argument("--random-starts", type=int, default=None, metavar="N",
                        help="discodock, --refine search: also search from N random orientations of the conformer "
                             "at the site, ranked with the samples (default: the checkpoint's)")
    parser.add_argument("--search-keep", type=int, default=None, metavar="K",
                        help="discodock, --refine search: searched poses kept for Vina's optimisation, best by "
                             "Vina score on the maps (0: all; default: the checkpoint's)")
    parser.add_argument("--sites", type=int, default=None, metavar="K",
                        help="discodock blind with the shipped weights: dock in the K most likely predicted sites "
                             f"(default: {DEFAULT_SITES})")
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
    if args.samples is not None and args.samples < 1 and (args.method == "vina" or args.samples < 0):
        raise ConfigError(None, f"--samples must be at least 1, got {args.samples}")
    if args.method == "discodock":  # the same check as dock's, before any complex runs
        from discodock.sampling.settings import DockSettings, check_settings

        check_settings(DockSettings(samples=args.samples, refine=args.refine, rank=args.rank,
                                    random_starts=args.random_starts, search_keep=args.search_keep))
        # Spelled out here: the checkpoint's defaults are resolved per complex, in the workers, too late to refuse.
        if args.samples == 0 and (args.refine != "search" or not args.random_starts):
            raise ConfigError("--samples", "0 samples leaves no pose: it needs --refine search and --random-starts N")
    if args.samples is None and args.method == "vina":
        args.samples = 10  # Vina's poses kept; discodock's None is the checkpoint's recommendation
    if args.sites is not None and (args.sites < 1 or args.pocket or args.checkpoint or args.method != "discodock"):
        raise ConfigError("--sites", "needs a count of at least 1, and discodock blind with the shipped weights "
                                     "(no --pocket, no --checkpoint)")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(None, f"--limit must be at least 1, got {args.limit}")
    if args.timeout is not None and not args.timeout > 0:
        raise ConfigError(None, f"--timeout must be a positive number of minutes, got {args.timeout}")
    if args.timeout is not None and args.workers <= 0:
        raise ConfigError(None, "--timeout needs worker processes (--workers 1 or more) to stop a complex")
    if args.method == "discodock":
        if args.checkpoint and not Path(args.checkpoint).is_file():
            raise InputError(args.checkpoint, "checkpoint file not found")
    workers = max(0, int(args.workers))
    threads = args.threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    from discodock.data.hetero import parse_keep_het

    parse_keep_het(args.keep_het)  # a bad value fails here, not once per complex
    settings = BenchmarkSettings(
        method=args.method, samples=args.samples,
        label=method_label(args.method, args.latents, args.pocket, refine=args.refine, rank=args.rank,
                           samples=args.samples, random_starts=args.random_starts, search_keep=args.search_keep,
                           sites=args.sites),
        latents=args.latents, pocket=bool(args.pocket), seed=args.seed, exhaustiveness=args.exhaustiveness,
        checkpoint=str(Path(args.checkpoint).resolve()) if args.checkpoint else None, device=args.device,
        posebusters=bool(args.posebusters), threads=int(threads), rank=args.rank, refine=args.refine,
        timeout_minutes=args.timeout, keep_het=args.keep_het, random_starts=args.random_starts,
        search_keep=args.search_keep, sites=args.sites,
    )
    if settings.method == "vina":  # latents and device mean nothing for Vina
        settings = replace(settings, latents="none", checkpoint=None, rank=None, refine=None, random_starts=None,
                           search_keep=None, sites=None)
    settings = replace(settings, poses_dir=str(out / "poses" / settings.label))  # ranked SDF per complex

    complexes = find_complexes(args.data, read_split(args.ids) if args.ids else None)
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
        run_pending(pending, settings, workers, record, timeout_s)

    report.write_summary(out, ids=[c.id for c in complexes])
    print((out / report.SUMMARY_MD).read_text(), end="")
    print(f"wrote {out / report.PER_COMPLEX_CSV}, {out / report.SUMMARY_JSON}, {out / report.SUMMARY_MD}, "
          f"{out / report.RMSD_CDF_PNG}")
    return 0
