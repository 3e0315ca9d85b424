"""How a checkpoint's pointer latents are used: which nodes each latent picks, and how well the prior guesses.

DisCo-Diff's latents only help if the encoder spreads its choices: a latent that always picks the same kind of
node (or both latents picking the same node) carries no information about the pose. For each complex of an
ID list this script takes the encoder's deterministic (argmax) codes on the crystal pose, in the same pocket
view the prior is trained on, and prints per latent:

* the share of picks on ligand atoms vs receptor residues;
* the distance (Angstrom) of the picked node from the crystal ligand centroid (median, quartiles);
* the normalised entropy of the picks over the complex's nodes, pooled by node kind and relative rank
  (1 = spread over every node, 0 = always the same node), and the share of the most common pick;
* the share of complexes where both latents pick the same node;
* with a trained prior: its top-1 agreement with the encoder, its mean log-likelihood per latent (nats) and the
  uniform baseline (-log of the node count) for comparison.

    python benchmarks/diagnostics/latent_usage.py --checkpoint runs/cpu_pointer/weights.pt \\
        --data ../shared/data/pdbbind_subset213 ... --ids data/splits/val.txt [--cache /work/cache]
"""

from __future__ import annotations

import argparse
import math
from collections import Counter

import torch


def quartiles(values: list[float]) -> str:
    if not values:
        return "-"
    t = torch.tensor(values)
    q = torch.quantile(t, torch.tensor([0.25, 0.5, 0.75])).tolist()
    return f"{q[1]:.1f} ({q[0]:.1f}-{q[2]:.1f})"


def entropy(counter: Counter) -> tuple[float, float]:
    """Normalised entropy and the share of the most common key."""
    n = sum(counter.values())
    if n == 0 or len(counter) < 2:
        return 0.0, 1.0
    p = torch.tensor(list(counter.values()), dtype=torch.float64) / n
    h = float(-(p * p.log()).sum())
    return h / math.log(n) if n > 1 else 0.0, float(p.max())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--cache", default="cache")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()

    from discodock.data import keys as K
    from discodock.data.graph import collate_complexes
    from discodock.data.pocket import crystal_pose, place_reference_ligand
    from discodock.training.data import load_training_complexes
    from discodock.models.latents import codes_to_global, codes_to_local
    from discodock.models.bundle import load_models
    from discodock.training.views import fixed_site_view

    models, cfg, _ = load_models(args.checkpoint)
    if models.encoder is None or cfg.model.latent.mode != "pointer":
        print(f"{args.checkpoint}: no pointer latents (mode {cfg.model.latent.mode}, m = {cfg.model.latent.m})")
        return 0
    models.eval()
    data = load_training_complexes(args.data, args.ids, cfg, cache=args.cache, progress_bar=False)
    data = data[: args.limit] if args.limit else data
    m = cfg.model.latent.m
    gen = torch.Generator().manual_seed(0)
    on_ligand = [0] * m
    dist: list[list[float]] = [[] for _ in range(m)]
    picks: list[Counter] = [Counter() for _ in range(m)]
    same = 0
    agree = [0] * m
    loglik, uniform = [], []
    with torch.no_grad():
        for i, d in enumerate(data):
            view = fixed_site_view(d, cfg, seed=cfg.train.seed, noisy=False)
            batch = collate_complexes([view])
            local = codes_to_local(batch, models.encoder.encode(batch, sample=False)["codes"])[0]
            n_lig = view[K.LIGAND][K.POS].shape[0]
            n_items = n_lig + view[K.RECEPTOR][K.POS].shape[0]
            centroid = crystal_pose(view).mean(0)
            crystal = crystal_pose(view)
            for j, c in enumerate(local.tolist()):
                if c < n_lig:
                    on_ligand[j] += 1
                    pos = crystal[c]
                    picks[j][("ligand", c)] += 1
                else:
                    pos = view[K.RECEPTOR][K.POS][c - n_lig]
                    # residues pooled by their distance rank from the site: "the 3rd closest residue" etc.
                    order = (view[K.RECEPTOR][K.POS] - centroid).norm(dim=1).argsort().tolist()
                    picks[j][("residue", order.index(c - n_lig))] += 1
                dist[j].append(float((pos - centroid).norm()))
            same += int(len(set(local.tolist())) < m)
            if models.prior is not None:
                pbatch = collate_complexes([place_reference_ligand(view, gen)])
                codes = codes_to_global(pbatch, local[None])
                loglik.append(float(models.prior.log_prob(pbatch, codes)[0]) / m)
                uniform.append(-math.log(n_items))
                guess = codes_to_local(pbatch, models.prior.sample(pbatch, temperature=0.0))[0]
                for j in range(m):
                    agree[j] += int(guess[j] == local[j])
    n = len(data)
    print(f"{args.checkpoint}: {n} complexes from {args.ids}, m = {m} pointer latents")
    print("| latent | on ligand atoms | distance to ligand centroid, A: median (quartiles) | normalised entropy | "
          "most common pick | prior top-1 agreement |")
    print("|---|---|---|---|---|---|")
    for j in range(m):
        h, top = entropy(picks[j])
        agreement = f"{agree[j] / n:.2f}" if loglik else "-"
        print(f"| {j} | {on_ligand[j] / n:.2f} | {quartiles(dist[j])} | {h:.2f} | {top:.2f} | {agreement} |")
    print(f"both latents on the same node: {same / n:.2f}")
    if loglik:
        print(f"prior log-likelihood per latent: {sum(loglik) / n:.2f} nats (uniform over the nodes: "
              f"{sum(uniform) / n:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
