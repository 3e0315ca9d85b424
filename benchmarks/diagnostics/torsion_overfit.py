"""Can the score net fit the torsion score at all? Fine-tune a checkpoint on ONE training complex and watch.

Torsion is the component the `cpu` runs barely learn on held-out complexes (`benchmarks/diagnostics/val_loss.py`): the
unexplained fraction stays near 1 and the predicted torsion scores are a small fraction of the targets' size.
That could be the head (it cannot see what decides a torsion) or generalisation (it can, but 1,618 complexes
and a few CPU hours do not teach it). This script separates the two: it fine-tunes the checkpoint's EMA
weights on fresh noise draws of a single complex, as training does (uniform t, batch of copies, AdamW at the
config's learning rate), and scores that complex on fixed draws before and every ``--eval-every`` steps.
A head that can express the torsion score drives the fraction well below 1; one that cannot stays near 1.

    python benchmarks/diagnostics/torsion_overfit.py runs/v2_pointer/snap_9250.pt --data <training roots> \\
        --ids data/splits/train.txt [--index 0] [--steps 200] [--cache /work/cache]

Prints the unexplained fraction (1 = predicts zero) per component and t, with |pred| / |target| in brackets.
"""

from __future__ import annotations

import argparse
import time

import torch

from val_loss import load_for_scoring

from discodock.training.validation import score_draws, unexplained_fraction


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--ids", required=True, help="ID list to take the complex from (a training list)")
    ap.add_argument("--index", type=int, default=0, help="which complex of the list (default: the first)")
    ap.add_argument("--cache", default="cache")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--times", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    ap.add_argument("--draws", type=int, default=8, help="fixed noise draws per t for scoring")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from discodock.data.pdbbind import read_split
    from discodock.training.data import load_complexes
    from discodock.diffusion.loss import score_matching_loss
    from discodock.training.score import score_predictions
    from discodock.training.views import make_batch

    models, cfg, ckpt = load_for_scoring(args.checkpoint)
    ids = read_split(args.ids)
    (item,) = load_complexes(args.data, [ids[args.index]], cfg, cache=args.cache, source=args.ids,
                             progress_bar=False)
    n_tor = int(item["ligand"]["tor_bonds"].shape[0]) if "tor_bonds" in item["ligand"] else -1
    print(f"{ids[args.index]}: {item['ligand'].num_nodes} ligand atoms, {n_tor} rotatable bonds; "
          f"checkpoint {args.checkpoint} step {ckpt['step']}")

    def report(step: int, seconds: float) -> None:
        models.eval()
        cells = []
        for t_val in args.times:
            err, zero, size = score_draws(models, cfg, [item], t_val, repeats=args.draws, seed=args.seed + 99)
            cells.append(f"t={t_val:g}: " + ", ".join(
                f"{c} {float(unexplained_fraction(err[c], zero[c])):.3f} ({size[c]:.2f})" for c in err))
        print(f"step {step:4d} ({seconds:4.0f} s) | " + " | ".join(cells), flush=True)
        models.train()

    report(0, 0.0)
    opt = torch.optim.AdamW(models.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    gen = torch.Generator().manual_seed(args.seed)
    start = time.time()
    for step in range(1, args.steps + 1):
        batch = make_batch([item] * cfg.train.batch_size, cfg, gen, torch.device("cpu"))
        loss, _ = score_matching_loss(*score_predictions(models, batch, cfg, gen))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(models.parameters(), cfg.train.grad_clip)
        opt.step()
        if step % args.eval_every == 0 or step == args.steps:
            report(step, time.time() - start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
