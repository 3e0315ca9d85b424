"""Training the per-residue binding-site classifier (:mod:`discodock.models.site_predictor`).

Targets: a residue is positive when one of its heavy atoms lies within ``label_cutoff`` Angstrom of a crystal
ligand heavy atom. Loss: binary cross-entropy with positives up-weighted (they are a few percent of the
residues). Model selection: site finding on the validation complexes (DCA < 4 A of the top-1 site, then the
validation loss). Every epoch writes ``OUT/last.pt`` (model, optimiser, RNG, history), so a killed run
resumes with ``--resume``; the best epoch is kept as ``OUT/best.pt`` and ``--export`` writes the weights
file that ships.

    python -m discodock.training.site --data ../shared/data/* --train-ids data/splits/train_pocket.txt \
        --val-ids data/splits/val_pocket.txt --out runs/site --epochs 40
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch
from torch import nn

from discodock.data.site_residues import SiteGraph, ligand_distances, read_residues, site_graph
from discodock.errors import InputError
from discodock.eval.site_metrics import success_rates
from discodock.models.site_predictor import SitePredictor, SitePredictorConfig
from discodock.sampling.sites import cluster_sites

CACHE_VERSION = 1


def _crystal_ligand(folder: Path, cid: str):
    from discodock.data.pdbbind import complex_files
    from discodock.data.prepare import FeaturizationConfig, _load_crystal_ligand

    protein, ligands = complex_files(folder, cid)
    mol, _ = _load_crystal_ligand(folder, ligands, FeaturizationConfig(max_heavy_atoms=None))
    return protein, mol


def featurize_complex(folder: Path, cid: str, *, k: int = 16) -> dict:
    """One complex -> the tensors training needs (graph, per-residue ligand distance, ligand atoms)."""
    protein, mol = _crystal_ligand(Path(folder), cid)
    if protein is None:
        raise InputError(folder, "no protein file")
    res = read_residues(protein)
    lig_pos = torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float32)
    g = site_graph(res, mol, k=k)
    return {"id": cid, "x": g.x, "edge_index": g.edge_index, "edge_attr": g.edge_attr, "side": g.side, "ca": g.ca,
            "dist": ligand_distances(res, lig_pos), "ligand_pos": lig_pos}


def load_examples(roots, ids: list[str], cache_file: str | Path, *, k: int = 16, progress: bool = True) -> list[dict]:
    """Featurised complexes for ``ids``, cached in ``cache_file`` (extended, never rebuilt, on later calls)."""
    from discodock.data.pdbbind import index_complexes, resolve_ids

    cache_file = Path(cache_file)
    cache = {"version": CACHE_VERSION, "k": k, "items": {}, "skipped": {}}
    if cache_file.is_file():
        loaded = torch.load(cache_file, map_location="cpu", weights_only=False)
        if loaded.get("version") == CACHE_VERSION and loaded.get("k") == k:
            cache = loaded
    todo = [c for c in ids if c not in cache["items"] and c not in cache["skipped"]]
    if todo:
        found, missing = resolve_ids(todo, index_complexes(list(roots)))
        for cid in missing:
            cache["skipped"][cid] = "not found"
        t0 = time.perf_counter()
        for n, (cid, folder) in enumerate(found.items(), start=1):
            try:
                cache["items"][cid] = featurize_complex(folder, cid, k=k)
            except InputError as err:
                cache["skipped"][cid] = str(err)
            if n % 200 == 0 or n == len(found):
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                torch.save(cache, cache_file.with_suffix(".tmp"))
                Path(cache_file.with_suffix(".tmp")).replace(cache_file)
                if progress:
                    print(f"featurised {n}/{len(found)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    lower = {c.lower(): c for c in cache["items"]}
    out = [cache["items"][lower[c.lower()]] for c in ids if c.lower() in lower]
    return out


def _batch(examples: list[dict]):
    xs, eis, eas, offset = [], [], [], 0
    for ex in examples:
        xs.append(ex["x"])
        eis.append(ex["edge_index"] + offset)
        eas.append(ex["edge_attr"])
        offset += ex["x"].shape[0]
    return torch.cat(xs), torch.cat(eis, dim=1), torch.cat(eas)


def _loss(model: SitePredictor, examples: list[dict], *, cutoff: float, pos_weight: float) -> torch.Tensor:
    x, ei, ea = _batch(examples)
    target = torch.cat([(ex["dist"] < cutoff).float() for ex in examples])
    logits = model(x, ei, ea)
    return nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(pos_weight))


def graph_of(ex: dict) -> SiteGraph:
    return SiteGraph(x=ex["x"], edge_index=ex["edge_index"], edge_attr=ex["edge_attr"], side=ex["side"], ca=ex["ca"])


@torch.no_grad()
def evaluate(model: SitePredictor, examples: list[dict], *, cutoff: float, pos_weight: float,
             cluster_kwargs: dict | None = None) -> dict:
    """Validation loss and site-finding rates (DCC / DCA < 4 A at top-1 and top-3)."""
    model.eval()
    losses, pairs = [], []
    for ex in examples:
        losses.append(float(_loss(model, [ex], cutoff=cutoff, pos_weight=pos_weight)))
        sites = cluster_sites(model.probabilities(graph_of(ex)), ex["side"], k=3, **(cluster_kwargs or {}))
        pairs.append(([s.center for s in sites], ex["ligand_pos"]))
    model.train()
    return {"loss": sum(losses) / max(1, len(losses))} | success_rates(pairs)


def train(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    cfg = SitePredictorConfig(hidden=args.hidden, layers=args.layers, k=args.k, use_ligand=not args.no_ligand)
    from discodock.data.pdbbind import read_split

    cache = Path(args.cache)
    train_ex = load_examples(args.data, read_split(args.train_ids), cache, k=cfg.k)
    val_ex = load_examples(args.data, read_split(args.val_ids), cache, k=cfg.k)
    train_ex = [e for e in train_ex if e["x"].shape[0] <= args.max_residues]
    print(f"site predictor: {len(train_ex)} training and {len(val_ex)} validation complexes", file=sys.stderr)

    torch.manual_seed(args.seed)
    model = SitePredictor(config=cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    state = {"epoch": 0, "history": [], "best": None}
    last = out / "last.pt"
    if args.resume and last.is_file():
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ckpt["model"]["state"])
        opt.load_state_dict(ckpt["optimizer"])
        state = ckpt["train_state"]
        torch.set_rng_state(ckpt["torch_rng"])
        print(f"resumed at epoch {state['epoch']}", file=sys.stderr)
    elif last.is_file() and not args.resume:
        raise InputError(last, "a run is already here; pass --resume to continue it or choose another --out")
    rng = random.Random(args.seed + state["epoch"])
    meta = {"train_ids": str(args.train_ids), "val_ids": str(args.val_ids), "label_cutoff": args.label_cutoff,
            "pos_weight": args.pos_weight, "lr": args.lr, "batch": args.batch, "seed": args.seed}
    start = time.perf_counter()
    while state["epoch"] < args.epochs:
        t0 = time.perf_counter()
        order = list(range(len(train_ex)))
        rng.shuffle(order)
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * state["epoch"] / args.epochs))  # cosine decay per epoch
        for group in opt.param_groups:
            group["lr"] = lr
        total = 0.0
        for s in range(0, len(order), args.batch):
            loss = _loss(model, [train_ex[i] for i in order[s:s + args.batch]], cutoff=args.label_cutoff,
                         pos_weight=args.pos_weight)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * len(order[s:s + args.batch])
        state["epoch"] += 1
        val = evaluate(model, val_ex, cutoff=args.label_cutoff, pos_weight=args.pos_weight)
        row = {"epoch": state["epoch"], "train_loss": total / len(order), "lr": lr,
               "seconds": time.perf_counter() - t0} | {f"val_{k}": v for k, v in val.items()}
        state["history"].append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        key = (val["dca_top1"], -val["loss"])
        exported = model.export() | {"training": meta | {"epoch": state["epoch"], "val": val}}
        if state["best"] is None or key > tuple(state["best"]):
            state["best"] = list(key)
            torch.save({"model": exported}, out / "best.pt")
        ckpt = {"model": exported, "optimizer": opt.state_dict(), "train_state": state,
                "torch_rng": torch.get_rng_state(), "args": vars(args) | {"data": [str(d) for d in args.data]}}
        torch.save(ckpt, out / "last.tmp")
        (out / "last.tmp").replace(last)
        with open(out / "history.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if args.max_minutes is not None and time.perf_counter() - start > 60 * args.max_minutes:
            print("time budget reached; resume with --resume", file=sys.stderr)
            break
    if args.export:
        best = torch.load(out / "best.pt", map_location="cpu", weights_only=False)["model"]
        torch.save(best, args.export)
        print(f"exported epoch {best['training']['epoch']} to {args.export}", file=sys.stderr)
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m discodock.training.site", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", nargs="+", required=True, help="data roots in the PDBBind layout")
    p.add_argument("--train-ids", required=True)
    p.add_argument("--val-ids", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cache", default="runs/site_cache.pt", help="featurised complexes (one file)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--k", type=int, default=16)
    p.add_argument("--no-ligand", action="store_true", help="ignore the ligand scalars")
    p.add_argument("--label-cutoff", type=float, default=5.0, help="positive residues: this close (Angstrom)")
    p.add_argument("--pos-weight", type=float, default=4.0)
    p.add_argument("--max-residues", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that passes this")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export", help="write the best epoch's weights here when done")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        train(args)
    except InputError as err:
        print(f"discodock site training: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
