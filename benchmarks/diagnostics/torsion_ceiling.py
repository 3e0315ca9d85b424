"""How much of the torsion score can ligand chemistry alone explain? A ceiling for the torsion loss.

The torsion target of denoising score matching is the score of the wrapped-normal kernel that moved each
rotatable bond away from its crystal angle. A model can only predict it to the extent that it can guess the
crystal angle. This script trains a plain MLP that sees what chemistry offers for one bond: the features of
its two atoms and of the two neighbours that define its dihedral angle, the bond's own features, the current
(noised) dihedral angle as cos / sin of k * phi (k = 1..3), and t. It sees no protein. It is trained on the
bonds of the training complexes and scored on those of the validation complexes, and prints the same
unexplained fraction as ``benchmarks/diagnostics/val_loss.py`` (1 = predicting zero) per diffusion time.

Whatever the MLP explains, an equivariant score network can learn from the ligand graph; the rest of the
torsion score needs the pocket (or memorising the training complexes).

    python benchmarks/diagnostics/torsion_ceiling.py --data <training roots> --train-ids data/splits/train.txt \\
        --val-ids data/splits/val.txt [--cache /work/cache] [--steps 4000]
"""

from __future__ import annotations

import argparse

import torch


def bond_table(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Per rotatable bond: chemistry features [T, F] and the dihedral angle at the (crystal) pose [T]."""
    from discodock.data import keys as K
    from discodock.geometry.torsion import torsion_angles, torsion_neighbors

    feats, angles = [], []
    for data in dataset:
        lig = data[K.LIGAND]
        if K.TOR_BONDS not in lig or lig[K.TOR_BONDS].shape[0] == 0:
            continue
        bonds, x = lig[K.TOR_BONDS], lig[K.X]
        edges, edge_attr = data[K.LIGAND_BOND][K.EDGE_INDEX], data[K.LIGAND_BOND][K.EDGE_ATTR]
        nbrs = torsion_neighbors(bonds, edges)
        same = (edges[0][None] == bonds[:, :1]) & (edges[1][None] == bonds[:, 1:])
        attr = edge_attr[same.float().argmax(1)]
        u, v = bonds[:, 0], bonds[:, 1]
        # symmetric in the two ends: a twist is the same move from either end
        feats.append(torch.cat([x[u] + x[v], x[u] * x[v], x[nbrs[:, 0]] + x[nbrs[:, 1]], attr], 1))
        angles.append(torsion_angles(lig[K.POS], bonds, nbrs))
    return torch.cat(feats), torch.cat(angles)


def draw(feats, angles, n, schedule, *, t=None, generator=None):
    """Noised bonds at time ``t`` (default: uniform in [0, 1]): inputs [n, F + 7] and normalised score targets [n]."""
    from discodock.geometry import torus

    i = torch.randint(len(angles), (n,), generator=generator)
    tt = torch.rand(n, generator=generator) if t is None else torch.full((n,), float(t))
    sigma = schedule.sigma(tt)
    delta = torus.sample(sigma, generator=generator)
    phi = torus.wrap(angles[i] + delta)
    target = torus.score(delta, sigma) / torch.sqrt(torus.score_norm(sigma))
    k = torch.arange(1, 4, dtype=phi.dtype)
    inputs = torch.cat([feats[i], torch.cos(phi[:, None] * k), torch.sin(phi[:, None] * k), tt[:, None]], 1)
    return inputs, target


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--train-ids", required=True)
    ap.add_argument("--val-ids", required=True)
    ap.add_argument("--cache", default="cache")
    ap.add_argument("--config", default="cpu")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--times", nargs="+", type=float, default=[0.1, 0.25, 0.5, 0.75])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from discodock.config import load_docking_config
    from discodock.training.data import load_training_complexes

    cfg = load_docking_config(args.config)
    schedule = cfg.diffusion.schedule()["tor"]
    train = bond_table(load_training_complexes(args.data, args.train_ids, cfg, cache=args.cache, progress_bar=False))
    val = bond_table(load_training_complexes(args.data, args.val_ids, cfg, cache=args.cache, progress_bar=False))
    print(f"rotatable bonds: {len(train[1])} training, {len(val[1])} validation")

    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    width = train[0].shape[1] + 7
    net = torch.nn.Sequential(torch.nn.Linear(width, 128), torch.nn.SiLU(), torch.nn.Linear(128, 128),
                              torch.nn.SiLU(), torch.nn.Linear(128, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(args.steps):
        x, y = draw(*train, 512, schedule, generator=gen)
        loss = (net(x)[:, 0] - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    print("| t | sigma_tor (rad) | unexplained, validation bonds | unexplained, training bonds |")
    print("|---|---|---|---|")
    with torch.no_grad():
        for t in args.times:
            cells = []
            for table in (val, train):
                x, y = draw(*table, 20000, schedule, t=t, generator=torch.Generator().manual_seed(1))
                cells.append(f"{float((net(x)[:, 0] - y).pow(2).mean() / y.pow(2).mean()):.3f}")
            print(f"| {t:g} | {float(schedule.sigma(torch.tensor(t))):.3f} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
