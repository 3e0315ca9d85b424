"""Virtual-screening enrichment on DUD-E: does docking rank actives above property-matched decoys?

Targets, fixed before any run (not chosen by results): ``ada`` (adenosine deaminase: a buried, zinc-bearing
enzyme pocket with polar nucleoside-like actives), ``hs90a`` (HSP90-alpha N-terminal ATP site: an open,
well-studied pocket) and ``fabp4`` (fatty-acid binding protein 4: a large hydrophobic cavity with acidic
actives): three protein families and three kinds of pocket, each with a receptor and crystal ligand in
``dude_crystal_dsdp``. These receptors' crystal complexes are in the pose model's training pool; their
actives and decoys are not. This is test data: nothing here is tuned on it.

Per target: 20 actives and 200 decoys drawn with a fixed seed (the same molecules for every method), docked
into the site of the crystal ligand (``--autobox-ligand``). Methods: ``discodock screen`` with default
settings, ranked by the best Vina score after refinement and (when the weights have a confidence model) by
confidence; AutoDock Vina alone (exhaustiveness 8, the same box, maps computed once, one thread); and, with no
docking, ligand size alone (heavy-atom count, larger first: docking scores favour big ligands, and DUD-E's
decoys are matched on size). Metrics: ROC AUC, BEDROC (alpha 20), EF at 5% with the maximum possible EF beside
it. Ligands that fail rank last.

Resumable: discodock runs go through the screen journal (``WORK/<target>/discodock``) and Vina results to a
journal of their own (``WORK/<target>/vina.jsonl``); re-running the same command continues where it stopped.

    nice -n 19 python benchmarks/screening/enrichment.py --workdir DIR [--targets ada hs90a fabp4] [--report-only]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
TARGETS = ("ada", "hs90a", "fabp4")
N_ACTIVES, N_DECOYS, SEED = 20, 200, 20261207
EF_FRACTION, BEDROC_ALPHA = 0.05, 20.0


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _site(target: str) -> tuple[Path, Path]:
    folder = SHARED / "dude_crystal_dsdp" / f"dude_{target}"
    return folder / f"dude_{target}_protein.pdb.gz", folder / f"dude_{target}_ligand.sdf"


def make_library(target: str, path: Path) -> dict[str, int]:
    """The seeded 20 + 200 sample as a SMILES library; returns ligand ID -> 1 (active) / 0 (decoy)."""
    rng = random.Random(f"{SEED}-{target}")
    folder = SHARED / "dude_screening" / target
    labels, lines = {}, []
    for fname, n, label, prefix in (("actives_final.ism", N_ACTIVES, 1, "active"),
                                    ("decoys_final.ism", N_DECOYS, 0, "decoy")):
        rows = [ln.split() for ln in (folder / fname).read_text().splitlines() if ln.strip()]
        for row in rng.sample(rows, n):
            ligand_id = f"{prefix}_{row[-1]}"
            k = 2
            while ligand_id in labels:  # DUD-E lists repeat some IDs (protomers)
                ligand_id, k = f"{prefix}_{row[-1]}#{k}", k + 1
            labels[ligand_id] = label
            lines.append(f"{row[0]} {ligand_id}\n")
    rng.shuffle(lines)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines))
    return labels


def run_discodock(target: str, lib: Path, out: Path, *, retry_errors: bool = False) -> None:
    protein, ref = _site(target)
    cmd = [sys.executable, "-m", "discodock.cli", "screen", "--protein", str(protein), "--autobox-ligand", str(ref),
           "--ligands", str(lib), "--out", str(out), "--quiet", "--device", "cpu", "--seed", "0"]
    if retry_errors:
        cmd.append("--retry-errors")
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True)
    print(f"  discodock {target}: {proc.stdout.strip() or proc.stderr.strip()}", flush=True)


def run_vina(target: str, lib: Path, journal_path: Path, *, retry_errors: bool = False) -> None:
    sys.path.insert(0, str(REPO))
    from discodock.data.conformers import generate_conformer
    from discodock.data.parsing import load_ligand
    from discodock.scoring.vina import get_receptor
    from discodock.screen.engine import SiteMapsVina
    from discodock.screen.journal import Journal
    from discodock.screen.library import read_library
    from discodock.screen.site import autobox
    import time

    protein, ref = _site(target)
    journal = Journal(journal_path, key="ligand_id")
    done = {r["ligand_id"] for r in journal.records() if not retry_errors or r["error"] is None}
    vina = None
    for entry in read_library(lib):
        if entry.ligand_id in done:
            continue
        if vina is None:
            vina = SiteMapsVina(get_receptor(protein, cpu=1), autobox(ref))
        t0 = time.perf_counter()
        try:
            mol = generate_conformer(load_ligand(entry.smiles), seed=0)
            score, error = vina.dock(mol, exhaustiveness=8, num_poses=9, seed=0)[0].score, None
        except Exception as err:
            score, error = None, f"{type(err).__name__}: {err}"
        journal.append({"ligand_id": entry.ligand_id, "score": score, "error": error,
                        "seconds": round(time.perf_counter() - t0, 2)})
    journal.close()


def metrics(scores: dict[str, float | None], labels: dict[str, int], *, higher_is_better: bool) -> dict:
    """AUC, BEDROC(20), EF5% (+ max) over every sampled ligand; missing or failed ones rank last."""
    from rdkit.ML.Scoring import Scoring
    from sklearn.metrics import roc_auc_score

    worst = -math.inf if higher_is_better else math.inf
    ranked = sorted(labels, key=lambda i: (scores.get(i) if scores.get(i) is not None else worst,
                                           i), reverse=higher_is_better)
    y = [labels[i] for i in ranked]
    key = [(-(k + 1)) for k in range(len(ranked))]  # rank order as the score (best first)
    auc = roc_auc_score(y, key)
    table = [[k, lab] for k, lab in zip(key, y)]
    bedroc = Scoring.CalcBEDROC(table, 1, BEDROC_ALPHA)
    n, n_act = len(y), sum(y)
    top = max(1, math.ceil(EF_FRACTION * n))
    ef = (sum(y[:top]) / top) / (n_act / n)
    ef_max = (min(top, n_act) / top) / (n_act / n)
    return {"auc": auc, "bedroc": bedroc, "ef": ef, "ef_max": ef_max, "n": n, "actives": n_act,
            "scored": sum(scores.get(i) is not None for i in labels)}


def _vina_scores(rows: list[dict]) -> dict[str, float | None]:
    """A ligand's score from its latest row that has one (a retried error is replaced by the retry)."""
    scores: dict[str, float | None] = {}
    for r in rows:
        if r["score"] is not None or scores.get(r["ligand_id"]) is None:
            scores[r["ligand_id"]] = r["score"]
    return scores


def _heavy_atoms(smiles: str) -> int:
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    return mol.GetNumHeavyAtoms() if mol is not None else 0


def report(work: Path, targets) -> None:
    sys.path.insert(0, str(REPO))
    from discodock.screen.journal import Journal
    from discodock.screen.library import read_library
    from discodock.screen.table import shard_dirs, shard_rows

    complete: dict[str, list[dict]] = {}  # method -> metrics of the targets it finished
    print("\n| target | method | docked | ROC AUC | BEDROC (20) | EF5% (max) |\n|---|---|---|---|---|---|")
    for target in targets:
        labels = make_library(target, work / target / "library.smi")
        rows = [r for s in shard_dirs(work / target / "discodock") for r in shard_rows(s)]
        vina_rows = list(Journal(work / target / "vina.jsonl", key="ligand_id").records())
        vina_ids = {r["ligand_id"] for r in vina_rows}  # a ligand docked twice (two runs at once) counts once
        done_ids = {r["ligand_id"] for r in rows}
        # (name, scores, higher is better, ligands finished, the IDs scored): a partial run is scored on the
        # ligands it finished (the table says how many of the 220).
        methods = [
            ("discodock, Vina score after refinement", {r["ligand_id"]: r["vina_score"] for r in rows
                                                        if r["status"] == "ok"}, False, len(rows), done_ids),
            ("discodock, confidence model", {r["ligand_id"]: r["confidence"] for r in rows
                                             if r["status"] == "ok" and r["confidence"] is not None}, True, len(rows),
             done_ids),
            ("AutoDock Vina (exh. 8)", _vina_scores(vina_rows), False, len(vina_ids), vina_ids),
            # No docking: how far ligand size alone goes (docking scores favour big ligands).
            ("heavy-atom count alone (no docking)", {e.ligand_id: float(_heavy_atoms(e.smiles)) for e in
                                                     read_library(work / target / "library.smi")},
             True, len(labels), set(labels)),
        ]
        for name, scores, higher, finished, ids in methods:
            done = {i: labels[i] for i in ids if i in labels}
            if finished == 0 or not any(v is not None for v in scores.values()) or len(set(done.values())) < 2:
                note = ("no confidence model in these weights" if "confidence" in name and finished
                        else "too few finished to score" if finished else "not run yet")
                print(f"| {target} | {name} | {finished}/{len(labels)} | {note} | | |")
                continue
            m = metrics(scores, done, higher_is_better=higher)
            failed = m["n"] - m["scored"]
            extra = f"; {failed} failed, ranked last" if failed else ""
            print(f"| {target} | {name} | {finished}/{len(labels)} ({m['actives']} actives{extra}) | {m['auc']:.3f} | "
                  f"{m['bedroc']:.3f} | {m['ef']:.1f} ({m['ef_max']:.1f}) |")
            if finished == len(labels):
                complete.setdefault(name, []).append(m)
    for name, ms in complete.items():
        if len(ms) == len(targets) > 1:
            mean = {k: sum(m[k] for m in ms) / len(ms) for k in ("auc", "bedroc", "ef", "ef_max")}
            print(f"| mean of {len(ms)} | {name} | | {mean['auc']:.3f} | {mean['bedroc']:.3f} | {mean['ef']:.1f} "
                  f"({mean['ef_max']:.1f}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True, help="where libraries, screens and journals live (resumable)")
    ap.add_argument("--targets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    ap.add_argument("--methods", nargs="+", default=["discodock", "vina"], choices=["discodock", "vina"])
    ap.add_argument("--report-only", action="store_true", help="print the table from what is finished")
    ap.add_argument("--retry-errors", action="store_true",
                    help="dock again, with both methods, the ligands that finished with an error")
    args = ap.parse_args()
    work = Path(args.workdir)
    if not args.report_only:
        for target in args.targets:
            lib = work / target / "library.smi"
            make_library(target, lib)
            if "discodock" in args.methods:
                run_discodock(target, lib, work / target / "discodock", retry_errors=args.retry_errors)
            if "vina" in args.methods:
                run_vina(target, lib, work / target / "vina.jsonl", retry_errors=args.retry_errors)
                print(f"  vina {target}: done", flush=True)
    report(work, args.targets)


if __name__ == "__main__":
    main()
