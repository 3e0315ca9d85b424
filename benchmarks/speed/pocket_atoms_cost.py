"""What the all-atom pocket costs: graph sizes per complex and seconds per training step, cpu_site against
cpu_site_atoms, on prepared training complexes.

Both configs take the same complexes and the same batches (same indices, same site offsets, same noise
draws), steps interleaved (one of each, in turn) so a busy machine slows both alike. A step is the score
stage's: training views, encoder + score net forward, loss, backward, AdamW update. Times are the process CPU
time of each step (one thread: the uncontended step time) and the wall clock.

Usage (the caches of both configs must exist, e.g. from ``discodock train``)::

    OMP_NUM_THREADS=1 python benchmarks/speed/pocket_atoms_cost.py --cache CACHE \\
        --ids data/splits/train_pocket.txt --complexes 200 --steps 60 --batch-size 4
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def graph_sizes(items, cfg, seed: int) -> dict[str, float]:
    """Median nodes and edges per complex of its training views (site offset drawn as in training)."""
    from discodock.data import keys as K
    from discodock.data.neighbors import radius_bipartite
    from discodock.training.views import training_view

    gen = torch.Generator().manual_seed(seed)
    rows = {"ligand atoms": [], "residues": [], "receptor atoms": [], "atom-atom edges": [],
            "ligand-atom edges (crystal pose)": []}
    for data in items:
        view = training_view(data, cfg, gen)
        rows["ligand atoms"].append(view[K.LIGAND][K.POS].shape[0])
        rows["residues"].append(view[K.RECEPTOR][K.POS].shape[0])
        if K.RECEPTOR_ATOM in view.node_types:
            pos = view[K.RECEPTOR_ATOM][K.POS]
            rows["receptor atoms"].append(pos.shape[0])
            rows["atom-atom edges"].append(view[K.RECEPTOR_ATOM_EDGE][K.EDGE_INDEX].shape[1])
            sc = cfg.model.score
            cross = radius_bipartite(view[K.LIGAND][K.POS], pos, sc.atom_cross_radius,
                                     max_neighbours=sc.atom_cross_max_neighbors)
            rows["ligand-atom edges (crystal pose)"].append(cross.shape[1])
    return {k: statistics.median(v) for k, v in rows.items() if v}


def main() -> None:
    from discodock.config import load_docking_config
    from discodock.data.pdbbind import read_split
    from discodock.data.prepare import open_dataset
    from discodock.models.bundle import DockingModels
    from discodock.training.data import featurization_for
    from discodock.training.score import score_loss
    from discodock.training.views import make_batch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--configs", nargs=2, default=["cpu_site", "cpu_site_atoms"])
    ap.add_argument("--complexes", type=int, default=200)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)

    ids = read_split(args.ids)
    runs = {}
    for name in args.configs:
        cfg = load_docking_config(name)
        ds = open_dataset(args.cache, config=featurization_for(cfg), ids=ids)
        runs[name] = {"cfg": cfg, "ds": ds}
    common = [i for i in runs[args.configs[0]]["ds"].ids if all(i in r["ds"].ids for r in runs.values())]
    common = common[: args.complexes]
    print(f"{len(common)} complexes from {args.ids}, batch size {args.batch_size}, {args.steps} steps per config")
    for name, r in runs.items():
        pos = {cid: k for k, cid in enumerate(r["ds"].ids)}
        r["items"] = [r["ds"][pos[cid]] for cid in common]
        print(f"\n{name}: median per complex (training views)")
        for k, v in graph_sizes(r["items"], r["cfg"], args.seed).items():
            print(f"  {k:34s} {v:8.0f}")
        torch.manual_seed(args.seed)
        r["models"] = DockingModels(r["cfg"].model)
        params = list(r["models"].score.parameters()) + list(r["models"].encoder.parameters())
        r["params"] = sum(p.numel() for p in params)
        r["opt"] = torch.optim.AdamW(params, lr=r["cfg"].train.lr)
        r["cpu"], r["wall"] = [], []

    pick = torch.Generator().manual_seed(args.seed)
    for step in range(args.warmup + args.steps):
        idx = torch.randint(len(common), (args.batch_size,), generator=pick).tolist()
        for name, r in runs.items():
            cfg = r["cfg"]
            t_cpu, t_wall = time.process_time(), time.perf_counter()
            batch = make_batch([r["items"][i] for i in idx], cfg, torch.Generator().manual_seed(step),
                               torch.device("cpu"))
            loss, _ = score_loss(r["models"], batch, cfg, torch.Generator().manual_seed(10_000 + step))
            r["opt"].zero_grad()
            loss.backward()
            r["opt"].step()
            if step >= args.warmup:
                r["cpu"].append(time.process_time() - t_cpu)
                r["wall"].append(time.perf_counter() - t_wall)

    print(f"\n{'config':16s} {'params':>9s} {'CPU s/step':>11s} {'(median)':>9s} {'wall s/step':>12s}")
    for name, r in runs.items():
        print(f"{name:16s} {r['params']:9d} {statistics.mean(r['cpu']):11.3f} {statistics.median(r['cpu']):9.3f} "
              f"{statistics.mean(r['wall']):12.3f}")
    a, b = (runs[n] for n in args.configs)
    print(f"\n{args.configs[1]} / {args.configs[0]}: {statistics.mean(b['cpu']) / statistics.mean(a['cpu']):.2f}x CPU "
          "time per step")


if __name__ == "__main__":
    main()
