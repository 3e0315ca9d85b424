"""Training the learned pose ranking (:mod:`discodock.scoring.pose_ranker`) on pools of ranked poses.

A pool is one method's ranked poses of one complex, as ``benchmarks/accuracy/search_val.py --keep-poses``
writes them (``POSES/<id>/<method>.sdf``, SD properties ``rmsd`` and ``vina_score``). Training pools come from
training complexes only and from several sources (Vina's search, the null model and diffusion samples, each
searched or optimised on Vina's energy), so the ranking learns what a right pose looks like rather than what
one pose model gets wrong. Labels: symmetry-corrected RMSD < 2 A to the crystal pose.

Loss: binary cross-entropy per pose plus a listwise term per pool (softmax over the pool, cross-entropy to
the uniform distribution over its right poses), because what counts is which pose comes first. The epoch
kept is the one with the best top-1 < 2 A on the validation pools.

    python -m discodock.training.ranker --train-poses runs/ranker_train/poses --val-poses runs/ranker_val/poses \\
        --out discodock/weights/pose_ranker.pt
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from discodock.models.confidence import RMSD_THRESHOLD
from discodock.scoring.pose_features import FEATURE_NAMES, pose_features
from discodock.scoring.pose_ranker import PoseRanker


@dataclass
class Pool:
    """One method's poses of one complex: features [P, F], RMSD [P] (Angstrom), in the method's own order."""

    complex_id: str
    method: str
    features: torch.Tensor
    rmsd: torch.Tensor

    @property
    def labels(self) -> torch.Tensor:
        return (self.rmsd < RMSD_THRESHOLD).float()


def read_poses(sdf: Path) -> tuple[torch.Tensor, list[str], list, torch.Tensor]:
    """(positions [P, N, 3], elements, Vina scores, RMSD [P]) of the poses in ``sdf`` (heavy atoms; SD properties
    ``rmsd`` and ``vina_score``), in the file's order."""
    from rdkit import Chem

    mols = [Chem.RemoveHs(m, sanitize=False) for m in Chem.SDMolSupplier(str(sdf), removeHs=False) if m is not None]
    if not mols:
        raise ValueError(f"{sdf}: no poses")
    elements = [a.GetSymbol() for a in mols[0].GetAtoms()]
    pos = torch.tensor(np.stack([m.GetConformer().GetPositions() for m in mols]), dtype=torch.float32)
    vina = [m.GetDoubleProp("vina_score") if m.HasProp("vina_score") else None for m in mols]
    rmsd = torch.tensor([m.GetDoubleProp("rmsd") for m in mols], dtype=torch.float32)
    return pos, elements, vina, rmsd


def pool_of(parts: list[tuple], receptor_atoms) -> tuple[torch.Tensor, torch.Tensor, list] | None:
    """The poses of ``parts`` (:func:`read_poses` tuples, one per method) as one pool, concatenated in order:
    (features [P, F], RMSD [P], Vina scores) in a receptor with
    :class:`~discodock.data.receptor_atoms.ResidueAtoms` ``receptor_atoms``; None where the methods list the
    atoms in different orders (such poses cannot be compared)."""
    if any(q[1] != parts[0][1] for q in parts):
        return None
    pos, vina = torch.cat([q[0] for q in parts]), [v for q in parts for v in q[2]]
    features = pose_features(pos, parts[0][1], receptor_atoms.pos, receptor_atoms.elements, vina)
    return features, torch.cat([q[3] for q in parts]), vina


def load_pools(poses_root: str | Path, data_roots: list[str], *, cache: str | Path | None = None,
               unions: tuple[str, ...] = ()) -> list[Pool]:
    """Every pool under ``poses_root`` (``<id>/<method>.sdf``) with its receptor from ``data_roots`` (PDBBind
    layout), plus the ``unions`` (``"a|b"``: the poses of methods ``a`` and ``b`` of a complex as one pool, where
    both exist and list the atoms in one order). ``cache``: a file the features are kept in (recomputed when
    the pool set changes)."""
    from discodock.data.parsing import load_protein
    from discodock.data.pdbbind import complex_files, index_complexes

    files = sorted(Path(poses_root).glob("*/*.sdf"))
    key = [str(f.relative_to(poses_root)) for f in files] + list(unions)
    if cache and Path(cache).is_file():
        stored = torch.load(cache, weights_only=True)  # plain tensors and strings: no pickled classes
        if stored["key"] == key and stored["features"] == list(FEATURE_NAMES):
            return [Pool(complex_id=c, method=m, features=f, rmsd=r) for c, m, f, r in stored["pools"]]
    found = index_complexes(data_roots)
    pools = []
    by_complex: dict[str, list[Path]] = {}
    for f in files:
        by_complex.setdefault(f.parent.name, []).append(f)
    for cid, sdfs in by_complex.items():
        if cid not in found:
            print(f"{cid}: not in the data roots, skipped", file=sys.stderr)
            continue
        atoms = load_protein(complex_files(found[cid], cid)[0]).atoms
        poses = {f.stem: read_poses(f) for f in sdfs}
        for name in [f.stem for f in sdfs] + [u for u in unions if all(m in poses for m in u.split("|"))]:
            pool = pool_of([poses[m] for m in name.split("|")], atoms)
            if pool is None:
                continue
            features, rmsd, vina = pool
            # in Vina-score order, as a method's own file is: "pool order" then means ranked by Vina's score
            order = sorted(range(len(vina)), key=lambda i: float("inf") if vina[i] is None else vina[i])
            pools.append(Pool(complex_id=cid, method=name, features=features[order], rmsd=rmsd[order]))
    if cache:
        torch.save({"key": key, "features": list(FEATURE_NAMES),
                    "pools": [(q.complex_id, q.method, q.features, q.rmsd) for q in pools]}, cache)
    return pools


def top1_success(model: PoseRanker, pools: list[Pool]) -> dict[str, float]:
    """Top-1 < 2 A per method when the model ranks each pool, and with the pool's own order (Vina's score)."""
    model.eval()
    out: dict[str, list[tuple[bool, bool]]] = {}
    with torch.no_grad():
        for p in pools:
            pick = int(model(p.features).argmax())
            out.setdefault(p.method, []).append((bool(p.labels[pick]), bool(p.labels[0])))
    return {m: float(np.mean([a for a, _ in v])) for m, v in out.items()} | {
        f"{m} (pool order)": float(np.mean([b for _, b in v])) for m, v in out.items()}


def pool_loss(model: PoseRanker, pools: list[Pool], *, listwise_weight: float) -> torch.Tensor:
    features = torch.cat([p.features for p in pools])
    labels = torch.cat([p.labels for p in pools])
    logits = model(features)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    listwise, n, start = logits.new_zeros(()), 0, 0
    for p in pools:
        lo, y = logits[start : start + len(p.rmsd)], p.labels
        start += len(p.rmsd)
        if 0 < y.sum() < len(y):  # a pool all right or all wrong says nothing about the order
            listwise = listwise - (torch.log_softmax(lo, 0) * (y / y.sum())).sum()
            n += 1
    return loss + listwise_weight * listwise / max(n, 1)


def train_ranker(train: list[Pool], val: list[Pool], *, hidden: int = 64, dropout: float = 0.1, epochs: int = 200,
                 lr: float = 3e-3, weight_decay: float = 1e-4, pools_per_batch: int = 32,
                 listwise_weight: float = 1.0, seed: int = 0, select_method: str | None = None
                 ) -> tuple[PoseRanker, dict]:
    """Fit a :class:`PoseRanker` on the ``train`` pools; keep the epoch with the best mean top-1 < 2 A over
    methods on the ``val`` pools (or of ``select_method``). Returns the model and a summary (epochs,
    validation figures)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = PoseRanker(hidden=hidden, dropout=dropout)
    all_features = torch.cat([p.features for p in train])
    model.mean.copy_(all_features.mean(0))
    model.std.copy_(all_features.std(0).clamp(min=1e-3))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    best, best_state, history = -1.0, None, []
    for epoch in range(-1, epochs):  # epoch -1: untrained, i.e. Vina's order; kept unless training beats it
        model.train()
        order = torch.randperm(len(train), generator=gen).tolist() if epoch >= 0 else []
        for start in range(0, len(order), pools_per_batch):
            loss = pool_loss(model, [train[i] for i in order[start : start + pools_per_batch]],
                             listwise_weight=listwise_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
        figures = top1_success(model, val)
        ours = {m: v for m, v in figures.items() if not m.endswith("(pool order)")}
        score = ours[select_method] if select_method else float(np.mean(list(ours.values())))
        history.append({"epoch": epoch, "val_top1": score})
        if score > best:
            best, best_state = score, copy.deepcopy(model.state_dict())
            best_figures = figures | {"epoch": epoch}
    model.load_state_dict(best_state)
    return model.eval(), {"best_epoch": best_figures["epoch"], "val": best_figures, "history": history}


def _fraction(complex_id: str) -> float:
    """A fixed number in [0, 1) per ID (not Python's salted hash): which complexes are held out never changes."""
    import hashlib

    return int(hashlib.sha256(complex_id.encode()).hexdigest()[:8], 16) / 16**8


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-poses", required=True, help="POSES folder of the training complexes")
    p.add_argument("--unions", nargs="*", default=["null+search|diffusion+search"],
                   help="pools made of several methods' poses (a|b), trained on besides each method's own")
    p.add_argument("--holdout", type=float, default=0.2, help="fraction of training complexes that picks the epoch")
    p.add_argument("--data", nargs="+", required=True, help="data roots in the PDBBind layout (receptors)")
    p.add_argument("--out", required=True, help="where the ranker weights go")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--listwise-weight", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    pools = load_pools(args.train_poses, args.data, cache=Path(args.train_poses).parent / "ranker_features.pt",
                       unions=tuple(args.unions))
    held = {c for c in {q.complex_id for q in pools} if _fraction(c) < args.holdout}
    train, val = [q for q in pools if q.complex_id not in held], [q for q in pools if q.complex_id in held]
    model, summary = train_ranker(train, val, hidden=args.hidden, epochs=args.epochs,
                                  listwise_weight=args.listwise_weight, seed=args.seed)
    extra = {"train_pools": len(train), "train_complexes": len({q.complex_id for q in train}),
             "holdout_pools": len(val), "holdout_complexes": len(held),
             "sources": sorted({q.method for q in train}), "args": vars(args)} | summary
    extra.pop("history")
    model.save(args.out, extra=extra)
    print(json.dumps({k: v for k, v in extra.items() if k != "args"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
