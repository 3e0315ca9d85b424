"""Binding-site finding: DCC and DCA < 4 A at top-1 and top-3, for three ways of picking a site.

* ``predictor``: discodock's per-residue site classifier (``discodock/weights/site_predictor.pt``), its
  residue probabilities clustered into sites (:mod:`discodock.sampling.sites`), ranked by summed probability.
* ``fpocket-rs``: the PyPI package ``fpocket-rs`` 0.1.0 (a Rust reimplementation of fpocket; Debian 12 has no
  fpocket package), on the protein's ATOM records; a pocket's centre is the mean of its alpha-sphere centres.
  Two orders: its own score order (``fpocket-rs``), which on validation complexes tends to put the true pocket
  last, and largest pocket first by alpha-sphere count (``fpocket-rs_by_size``, chosen on validation data).
* ``ar_prior``: the shipped blind model's AR prior (``discodock_cpu_blind.pt``). Its pointer latents pick one
  node each; ``--prior-draws`` draws per complex, the picked nodes' positions clustered by how often they are
  drawn (the same greedy clustering, each draw weighing 1), for latent 1 and latent 2 separately.

Results go to ``OUT/sites.jsonl`` (one row per complex and method; a rerun resumes) and ``OUT/summary.md``,
for all listed complexes and for those in ``--subset`` (e.g. the unseen-receptor part of the time split).

    python benchmarks/sites/site_finding.py --data ../shared/data/pdbbind_timesplit_test_dsdp \\
        ../shared/data/pdbbind_subset213 --ids data/splits/test_timesplit.txt \\
        --subset ../shared/data/splits/timesplit_test_no_rec_overlap --out bench/sites
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import torch

METHODS = ("predictor", "fpocket-rs", "ar_prior")


def _fpocket_worker(protein_path, k, queue):
    queue.put(_fpocket_sites(protein_path, k))


def fpocket_sites(protein_path: Path, k: int = 3, timeout_s: float = 900.0) -> dict[str, list[list[float]]]:
    """:func:`_fpocket_sites` in a child process: fpocket-rs can hang on some structures (a miss after
    ``timeout_s`` seconds)."""
    import multiprocessing
    import queue as queue_lib

    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_fpocket_worker, args=(protein_path, k, q), daemon=True)
    proc.start()
    try:
        return q.get(timeout=timeout_s)
    except queue_lib.Empty:
        raise TimeoutError(f"fpocket-rs took over {timeout_s:.0f} s") from None
    finally:
        proc.kill()
        proc.join()


def _fpocket_sites(protein_path: Path, k: int = 3) -> dict[str, list[list[float]]]:
    """fpocket-rs pocket centres in its own score order and ordered by alpha-sphere count (largest first)."""
    import fpocket_rs

    opener = gzip.open if str(protein_path).endswith(".gz") else open
    with opener(protein_path, "rt") as fh:
        text = "".join(line for line in fh if line.startswith(("ATOM", "TER", "END")))
    pockets = fpocket_rs.detect_pockets(text)["pockets"]

    def centres(order):
        return [torch.tensor([s[:3] for s in p["alpha_spheres"]], dtype=torch.float64).mean(0).tolist()
                for p in order[:k]]

    return {"fpocket-rs": centres(sorted(pockets, key=lambda p: p["rank"])),
            "fpocket-rs_by_size": centres(sorted(pockets, key=lambda p: (-p["n_alpha_spheres"], p["rank"])))}


class PriorPicker:
    """The blind AR prior's pointer picks, through the docking pipeline's own preparation of a complex."""

    def __init__(self, checkpoint: str | None, draws: int, seed: int):
        from discodock.sampling.pipeline import DEFAULT_BLIND_WEIGHTS, DockSettings, load_docker

        self.docker = load_docker(checkpoint or DEFAULT_BLIND_WEIGHTS, device="cpu", blind=True)
        self.settings = DockSettings(samples=draws)
        self.draws, self.seed = draws, seed

    @torch.no_grad()
    def sites(self, protein_path: Path, ligand_mol, k: int = 3) -> dict[str, list[list[float]]]:
        from discodock.data import keys as K
        from discodock.data.graph import collate_complexes
        from discodock.data.pocket import place_reference_ligand
        from discodock.models.latents import codes_to_local
        from discodock.sampling.sites import cluster_sites

        data, _ = self.docker.build(protein_path, ligand_mol, name="site", pocket_center=None,
                                    settings=self.settings, seed=self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        views = [place_reference_ligand(data, gen) for _ in range(self.draws)]
        batch = collate_complexes(views)
        codes = self.docker.models.prior.sample(batch, temperature=1.0, generator=gen)
        local = codes_to_local(batch, codes)  # [draws, m]: ligand atoms first, then residues
        n_lig = data[K.LIGAND][K.POS].shape[0]
        out = {}
        for j in range(local.shape[1]):
            pos = []
            for d in range(self.draws):
                idx = int(local[d, j])
                pos.append(views[d][K.LIGAND][K.POS][idx] if idx < n_lig else data[K.RECEPTOR][K.POS][idx - n_lig])
            pos = torch.stack(pos)
            sites = cluster_sites(torch.ones(len(pos)), pos, k=k, min_prob=0.5)
            out[f"latent{j + 1}"] = [s.center.tolist() for s in sites]
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True, help="data roots in the PDBBind layout")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--subset", help="ID list of a part to report separately (e.g. unseen receptors)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--site-weights", default=None, help="site predictor weights (default: shipped)")
    ap.add_argument("--blind-checkpoint", default=None, help="blind docking weights (default: shipped)")
    ap.add_argument("--prior-draws", type=int, default=16)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)

    from discodock.data.pdbbind import complex_files, index_complexes, read_split, resolve_ids
    from discodock.eval.site_metrics import success_rates
    from discodock.models.site_predictor import load_site_predictor
    from discodock.sampling.settings import DEFAULT_SITES
    from discodock.sampling.sites import predict_sites
    from discodock.training.site import _crystal_ligand

    ids = read_split(args.ids)[: args.limit]
    found, missing = resolve_ids(ids, index_complexes(args.data))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "sites.jsonl"
    done = {}
    if rows_path.is_file():
        for line in rows_path.read_text().splitlines():
            r = json.loads(line)
            done[(r["id"], r["method"])] = r
    predictor = load_site_predictor(args.site_weights) if "predictor" in args.methods else None
    picker = PriorPicker(args.blind_checkpoint, args.prior_draws, args.seed) if "ar_prior" in args.methods else None
    with open(rows_path, "a") as fh:
        for n, (cid, folder) in enumerate(found.items(), start=1):
            protein, mol = _crystal_ligand(folder, cid)
            lig = mol.GetConformer().GetPositions().tolist()
            for method in args.methods:
                names = {"ar_prior": ["ar_prior_latent1", "ar_prior_latent2"],
                         "fpocket-rs": ["fpocket-rs", "fpocket-rs_by_size"]}.get(method, [method])
                if all((cid, m) in done for m in names):
                    continue
                t0 = time.perf_counter()
                try:
                    if method == "predictor":
                        # as many centres as blind docking docks in (the table scores the first 1 and 3)
                        picked = predict_sites(protein, mol, predictor=predictor, k=max(3, DEFAULT_SITES))
                        centres = {method: [s.center.tolist() for s in picked]}
                    elif method == "fpocket-rs":
                        centres = fpocket_sites(protein)
                    else:
                        centres = {f"ar_prior_{k}": v for k, v in picker.sites(protein, mol).items()}
                    error = None
                except Exception as err:  # one complex's failure is a miss, recorded with its reason
                    centres, error = {m: [] for m in names}, f"{type(err).__name__}: {err}"
                seconds = (time.perf_counter() - t0) / len(centres)
                for m, c in centres.items():
                    row = {"id": cid, "method": m, "centers": c, "ligand": lig, "seconds": seconds, "error": error}
                    done[(cid, m)] = row
                    fh.write(json.dumps(row) + "\n")
                fh.flush()
            print(f"{n}/{len(found)} {cid}", file=sys.stderr, flush=True)

    subset = {c.lower() for c in read_split(args.subset)} if args.subset else None
    methods = sorted({m for (_, m) in done}, key=lambda m: (m not in ("predictor",), m))
    lines = ["| method | set | n | DCC < 4 A top-1 | DCC < 4 A top-3 | DCA < 4 A top-1 | DCA < 4 A top-3 | s / complex (median) |",
             "|---|---|---|---|---|---|---|---|"]
    summary = {}
    for label, keep in (("all", lambda c: True), ("unseen receptors", lambda c: subset is not None and c.lower() in subset)):
        if label != "all" and subset is None:
            continue
        for m in methods:
            rows = [done[(c, m)] for c in found if (c, m) in done and keep(c)]
            if not rows:
                continue
            rates = success_rates([(r["centers"], r["ligand"]) for r in rows])
            secs = sorted(r["seconds"] for r in rows)
            med = secs[len(secs) // 2]
            summary[f"{m}/{label}"] = rates | {"median_s": med, "errors": sum(r["error"] is not None for r in rows)}
            lines.append(f"| {m} | {label} | {rates['n']} | " + " | ".join(
                f"{100 * rates[k]:.1f}%" for k in ("dcc_top1", "dcc_top3", "dca_top1", "dca_top3")) + f" | {med:.2f} |")
    text = "\n".join(lines) + "\n"
    if missing:
        text += f"\n{len(missing)} listed IDs not found in the data roots: {' '.join(missing)}\n"
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
