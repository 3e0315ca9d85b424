"""``discodock dock``: one protein + one ligand (or a CSV of them) -> ranked poses on disk."""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from discodock.data.batch_rows import parse_center, read_batch_csv, resolve_row
from discodock.errors import ConfigError, InputError
from discodock.sampling.settings import DEFAULT_SITES, RANKINGS, REFINEMENTS, check_settings


def _center(text: str) -> tuple[float, float, float]:
    try:
        return parse_center(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("input (either --protein and --ligand, or --csv)")
    src.add_argument("--protein", help="receptor structure (.pdb, .pdb.gz, .cif)")
    src.add_argument("--ligand", help="ligand as a SMILES string or a file (.sdf, .mol2, .pdb)")
    src.add_argument("--csv", help="batch: CSV with columns complex_name, protein_path, ligand [, pocket_center] "
                                   "[, autobox_ligand]; a killed batch resumes when re-run with the same --out")
    p.add_argument("--out", required=True, help="output folder; poses go to OUT/NAME/")
    p.add_argument("--name", help="complex name (default: protein file stem + ligand)")
    p.add_argument("--samples", type=int, default=None,
                   help="diffusion samples per complex (default: the checkpoint's; 0 for the shipped weights); 0 with "
                        "--refine search and --random-starts N: the search from random starts alone, no model")
    p.add_argument("--steps", type=int, default=None,
                   help="reverse-diffusion steps (default: the checkpoint's, 20 for the shipped weights)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the shipped weights, pocket or blind by "
                                        "whether a pocket centre is given)")
    p.add_argument("--latents", choices=["prior", "none"], default="prior",
                   help="discrete latents from the AR prior, or none (default prior)")
    p.add_argument("--prior-temperature", type=float, default=None,
                   help="AR prior sampling temperature (default: the checkpoint's)")
    p.add_argument("--temperature", type=float, default=None,
                   help="diffusion sampling temperature (< 1 sharpens; default: the checkpoint's)")
    p.add_argument("--ode", action=argparse.BooleanOptionalAction, default=None,
                   help="probability-flow ODE instead of the reverse SDE (default: the checkpoint's)")
    p.add_argument("--pocket-center", type=_center, metavar="X,Y,Z", help="dock around this site (Angstrom)")
    p.add_argument("--autobox-ligand", metavar="REF",
                   help="dock around a reference ligand (its heavy-atom centroid), as in smina/GNINA")
    p.add_argument("--pocket-radius", type=float, default=None,
                   help="receptor residues kept within this radius of the site (Angstrom; default from the model)")
    p.add_argument("--refine", choices=REFINEMENTS, default=None,
                   help="vina: Vina local optimisation of each pose; search: a Monte Carlo search on Vina's energy "
                        "from each pose, then that (needs a site; default: the checkpoint's recommendation)")
    p.add_argument("--search-iterations", type=int, default=None,
                   help="refine=search: Monte Carlo steps per chain (default: the checkpoint's)")
    p.add_argument("--search-chains", type=int, default=None,
                   help="refine=search: chains started from each sampled pose (default: the checkpoint's)")
    p.add_argument("--search-keep", type=int, default=None, metavar="K",
                   help="refine=search: keep the K searched poses with the best Vina score on the maps for Vina's "
                        "own optimisation and the output (0: all; default: the checkpoint's)")
    p.add_argument("--random-starts", type=int, default=None, metavar="N",
                   help="refine=search: N more starts, the ligand in random orientations at the site, searched "
                        "next to the samples (default: the checkpoint's)")
    p.add_argument("--rank", choices=RANKINGS, default=None,
                   help="confidence: the checkpoint's confidence model; vina: Vina's score; learned: the shipped pose "
                        "ranking (Vina's score read with the poses' agreement and contacts); default: the "
                        "checkpoint's recommendation")
    p.add_argument("--sites", type=int, default=None, metavar="K",
                   help=f"without a site: dock in the K most likely predicted binding sites (default {DEFAULT_SITES})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--batch-size", type=int, default=None, help="poses denoised together (default: all samples)")
    p.add_argument("--add-hs", action="store_true", help="write hydrogens (with coordinates) in the SDFs")
    p.add_argument("--max-heavy-atoms", type=int, default=150, help="refuse larger ligands (default 150)")
    p.add_argument("--ligand-index", type=int, default=None, metavar="N",
                   help="dock molecule N (1 = first) of a multi-molecule .sdf/.mol2 (default: the first, with a "
                        "warning)")
    p.add_argument("--keep-het", default="auto", metavar="auto|none|all|HEM,NAD,ZN",
                   help="hetero groups kept in the receptor Vina refines and ranks against (default auto: metals "
                        "and common cofactors within 10 A of the site). The model itself sees residues only")
    p.add_argument("--no-resume", action="store_true",
                   help="batch: re-dock every row (default: rows the batch journal in OUT records as docked with "
                        "the same settings are kept, so a killed batch resumes)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _default_name(protein: str, ligand: str) -> str:
    """``<protein stem>`` (``_protein`` dropped), plus ``_<ligand stem>`` for a ligand file of another name."""
    stem = Path(protein).name.split(".")[0].removesuffix("_protein")
    if Path(ligand).suffix.lower() in {".sdf", ".mol2", ".pdb", ".mol"}:
        lig = Path(ligand).name.split(".")[0].removesuffix("_ligand")
        if lig != stem:
            return f"{stem}_{lig}"
    return stem


def _check_settings(args: argparse.Namespace) -> None:
    """The options DockSettings does not check (:func:`~discodock.sampling.settings.check_settings` does the rest)."""
    if args.ligand_index is not None and args.ligand_index < 1:
        raise ConfigError("--ligand-index", f"must be at least 1 (the first molecule), got {args.ligand_index}")
    if args.max_heavy_atoms < 1:
        raise ConfigError("--max-heavy-atoms", f"must be at least 1, got {args.max_heavy_atoms}")
    if args.sites is not None and args.sites < 1:
        raise ConfigError("--sites", f"must be at least 1, got {args.sites}")
    from discodock.data.hetero import parse_keep_het

    parse_keep_het(args.keep_het)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".discodock_write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise InputError(out, f"output folder is not writable ({err.strerror or err})") from None


BATCH_JOURNAL = "batch_journal.jsonl"
BATCH_MANIFEST = "batch_manifest.json"


def _batch_settings(args: argparse.Namespace) -> dict:
    """Options that change a batch's results: a re-run into the same --out must use the same ones."""
    keys = ("samples", "steps", "checkpoint", "latents", "prior_temperature", "temperature", "ode",
            "pocket_center", "autobox_ligand", "pocket_radius", "refine", "rank", "seed", "add_hs",
            "max_heavy_atoms", "csv", "ligand_index", "keep_het", "search_iterations", "search_chains",
            "random_starts", "search_keep")
    return {k: getattr(args, k) for k in keys}


def _site_center(pocket_center, autobox_ligand):
    """The docking site's centre from --pocket-center or --autobox-ligand (None: blind)."""
    from discodock.screen.site import site_from_args

    site = site_from_args(pocket_center=pocket_center, autobox_ligand=autobox_ligand)
    return None if site is None else site.center


def _print_warnings(name: str, result) -> None:
    """What the run had to do differently from what was asked (e.g. no Vina for a boron ligand), on stderr."""
    for warning in result.info.get("warnings", []):
        print(f"discodock dock: {name}: warning: {warning}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from discodock.sampling.output import remove_stale_result, write_dock_result
    from discodock.sampling.pipeline import DockSettings
    from discodock.sampling.site_docking import load_engine

    if args.csv and (args.protein or args.ligand):
        raise ConfigError("--csv", "give either --csv or --protein/--ligand, not both")
    if not args.csv and not (args.protein and args.ligand):
        raise ConfigError(None, "need --protein and --ligand (or --csv FILE)")
    settings = DockSettings(
        samples=args.samples, steps=args.steps, latents=args.latents, prior_temperature=args.prior_temperature,
        temperature=args.temperature, ode=args.ode, pocket_radius=args.pocket_radius, refine=args.refine,
        rank=args.rank, batch_size=args.batch_size, max_heavy_atoms=args.max_heavy_atoms, progress=not args.quiet,
        ligand_index=args.ligand_index, keep_het=args.keep_het, search_iterations=args.search_iterations,
        search_chains=args.search_chains, random_starts=args.random_starts, search_keep=args.search_keep,
    )
    check_settings(settings)  # before any work
    _check_settings(args)
    rows = read_batch_csv(args.csv) if args.csv else None
    default_center = _site_center(args.pocket_center, args.autobox_ligand)

    dockers = {}

    def docker_for(center):
        """One model per run, or the shipped pocket / blind weights by whether this complex has a site."""
        blind = center is None and not args.checkpoint
        if blind not in dockers:
            dockers[blind] = load_engine(args.checkpoint, device=args.device, blind=blind, sites=args.sites)
        return dockers[blind]

    if rows is None:
        name = args.name or _default_name(args.protein, args.ligand)
        docker = docker_for(default_center)
        try:
            result = docker.dock(args.protein, args.ligand, name=name, pocket_center=default_center,
                                 settings=settings, seed=args.seed)
        except BaseException:
            remove_stale_result(args.out, name)
            raise
        folder = write_dock_result(args.out, result, protein_path=args.protein, add_hs=args.add_hs)
        _print_warnings(name, result)
        print(f"{len(result.poses)} poses for {name} in {folder}/ (best: {folder}/rank1.sdf)")
        return 0

    # Batch: one row at a time (memory flat), a bad row is reported and skipped; every finished row is
    # journaled, so a killed batch re-run with the same --out skips the rows already docked.
    from disco_core.training import progress
    from discodock.screen.journal import Journal, check_manifest

    out = Path(args.out)
    if args.no_resume:  # start the batch over: its journal and recorded settings go
        for stale in (out / BATCH_JOURNAL, out / BATCH_MANIFEST):
            stale.unlink(missing_ok=True)
    check_manifest(out / BATCH_MANIFEST, _batch_settings(args), ignore=("csv",))
    journal = Journal(out / BATCH_JOURNAL, key="complex_name")
    finished = {r["complex_name"]: r for r in journal.records() if r["status"] == "ok"}
    skipped = 0
    for i, row in enumerate(progress(rows, desc="complexes", disable=args.quiet or None)):
        name = row.get("complex_name") or f"row{i + 1}"
        if name in finished and Path(finished[name]["output"]).is_dir():
            skipped += 1
            continue
        t0 = time.perf_counter()
        try:
            entry = resolve_row(row, i, csv_path=args.csv)  # paths relative to the CSV; a bad row is one error
            protein, ligand, center = entry.protein, entry.ligand, entry.pocket_center
            autobox = row.get("autobox_ligand")
            if center is None and autobox:
                if not Path(autobox).is_absolute() and not Path(autobox).exists():
                    autobox = str(Path(args.csv).parent / autobox)
                center = _site_center(None, autobox)
            elif center is None:
                center = default_center
            result = docker_for(center).dock(protein, ligand, name=name, pocket_center=center,
                                             settings=settings, seed=args.seed)
            folder = write_dock_result(out, result, protein_path=protein, add_hs=args.add_hs)
            _print_warnings(name, result)
            record = {"complex_name": name, "status": "ok", "n_poses": len(result.poses), "output": str(folder)}
        except (InputError, argparse.ArgumentTypeError) as err:
            remove_stale_result(out, name)
            record = {"complex_name": name, "status": f"error: {err}", "n_poses": 0, "output": ""}
            print(f"discodock dock: {name}: error: {err}", file=sys.stderr)
        record["seconds"] = round(time.perf_counter() - t0, 2)
        journal.append(record)
    journal.close()

    # summary.csv: the latest outcome of every CSV row, in CSV order (rewritten whole, so re-runs stay exact).
    latest = {r["complex_name"]: r for r in journal.records()}
    summary_path = out / "summary.csv"
    n_ok = 0
    with open(summary_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["complex_name", "status", "n_poses", "seconds", "output"])
        for i, row in enumerate(rows):
            name = row.get("complex_name") or f"row{i + 1}"
            r = latest.get(name, {"status": "error: not docked", "n_poses": 0, "seconds": "", "output": ""})
            n_ok += r["status"] == "ok"
            writer.writerow([name, r["status"], r["n_poses"], r["seconds"], r["output"]])
    resumed = f" ({skipped} already docked by an earlier run)" if skipped else ""
    print(f"{n_ok}/{len(rows)} complexes docked{resumed}; summary in {summary_path}")
    return 0 if n_ok == len(rows) else 1
