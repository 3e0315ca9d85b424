"""Choose the site-clustering settings on validation complexes (never test ones).

Loads a site predictor, computes its residue probabilities once for every complex of ``--ids`` (from the
training cache written by ``python -m discodock.training.site``), then prints DCC / DCA < 4 A at top-1 and
top-3 for a grid of clustering settings (radius, minimum residue probability, site coordinates, ranking).

    python benchmarks/sites/clustering_val.py --weights runs/site/best.pt --cache runs/site_cache.pt \\
        --ids data/splits/val_pocket.txt
"""

from __future__ import annotations

import argparse
import itertools

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--ids", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from discodock.data.pdbbind import read_split
    from discodock.eval.site_metrics import success_rates
    from discodock.models.site_predictor import load_site_predictor
    from discodock.sampling.sites import cluster_sites
    from discodock.training.site import graph_of

    model = load_site_predictor(args.weights)
    items = torch.load(args.cache, map_location="cpu", weights_only=False)["items"]
    lower = {k.lower(): k for k in items}
    examples = [items[lower[c.lower()]] for c in read_split(args.ids) if c.lower() in lower]
    probs = [model.probabilities(graph_of(ex)) for ex in examples]
    print(f"{len(examples)} complexes; settings sorted by DCA top-1, then DCA top-3")
    rows = []
    for radius, min_prob, coords, rank_by in itertools.product((6.0, 8.0, 9.0, 10.0, 12.0), (0.1, 0.15, 0.25, 0.4),
                                                              ("side", "ca"), ("sum", "max")):
        pairs = []
        for ex, p in zip(examples, probs):
            sites = cluster_sites(p, ex[coords], k=3, radius=radius, min_prob=min_prob, rank_by=rank_by)
            pairs.append(([s.center for s in sites], ex["ligand_pos"]))
        r = success_rates(pairs)
        rows.append((r["dca_top1"], r["dca_top3"], r["dcc_top1"], r["dcc_top3"], radius, min_prob, coords, rank_by))
    rows.sort(reverse=True)
    print("DCA@1  DCA@3  DCC@1  DCC@3  radius min_prob coords rank_by")
    for r in rows:
        print(f"{r[0]:.3f}  {r[1]:.3f}  {r[2]:.3f}  {r[3]:.3f}  {r[4]:5.1f}  {r[5]:.2f}  {r[6]:5s}  {r[7]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
