"""How much of each score component a checkpoint explains on held-out complexes, comparable across runs.

The validation loss logged during training is a mean of per-batch losses on one fixed noise draw. A model
that predicts zero scores gets 1 on average, but on one draw of 37 complexes the torsion figure of a zero
predictor can be anywhere from about 0.9 to 1.2. This script scores every checkpoint on the *same* draws
(the latents have their own generator, so runs with and without latents see identical noise) and reports,
per component and diffusion time t, the pooled

    unexplained = sum ||pred - target||^2 / score_norm  /  sum ||target||^2 / score_norm

so a model that predicts zero gets exactly 1 and every point below 1 is learned. It also prints the ratio of
the predicted to the target score size, which shows a head that has collapsed to zero.

    python benchmarks/val_loss.py runs/v2_pointer/snap_*.pt runs/v2_m0/snap_*.pt \\
        --data <training roots> --ids data/splits/val.txt [--cache /work/cache] [--times 0.1 0.25 0.5 0.75]

Training checkpoints (``last.pt``) are scored with their EMA weights, exported weights as they are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--cache", default="cache")
    ap.add_argument("--times", nargs="+", type=float, default=[0.1, 0.25, 0.5, 0.75])
    ap.add_argument("--repeats", type=int, default=2, help="noise draws per complex and time")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    from discodock.data.training_set import load_training_complexes
    from discodock.diffusion.components import COMPONENTS
    from discodock.train import load_models, make_batch, score_predictions

    rows = []
    val_set = None
    for path in args.checkpoints:
        models, cfg, ckpt = load_models(path)
        ema = (ckpt.get("state") or {}).get("ema")
        if ema is not None:  # a training checkpoint: score with the averaged weights, as validation does
            models.load_state_dict(ema["shadow"], strict=False)
        models.eval()
        if val_set is None:
            val_set = load_training_complexes(args.data, args.ids, cfg, cache=args.cache, progress_bar=False)
        for t_val in args.times:
            gen = torch.Generator().manual_seed(args.seed)
            latent_gen = torch.Generator().manual_seed(args.seed + 1)
            err = {comp.name: 0.0 for comp in COMPONENTS}
            zero, size_p, size_y = dict(err), dict(err), dict(err)
            for _ in range(args.repeats):
                for start in range(0, len(val_set), 8):
                    items = val_set[start:start + 8]
                    batch = make_batch(items, cfg, gen, torch.device("cpu"))
                    t = torch.full((len(items),), float(t_val))
                    with torch.no_grad():
                        pred, target, sigma = score_predictions(
                            models, batch, cfg, gen, t=t, p_drop=0.0, latent_generator=latent_gen
                        )
                    for comp in COMPONENTS:
                        c = comp.name
                        p, y = pred[c].reshape(len(target[c]), -1), target[c].reshape(len(target[c]), -1)
                        norm = comp.score_norm(sigma[c])
                        err[c] += float(((p - y).pow(2).sum(1) / norm).sum())
                        zero[c] += float((y.pow(2).sum(1) / norm).sum())
                        size_p[c] += float(p.pow(2).sum())
                        size_y[c] += float(y.pow(2).sum())
            rows.append((path, int(ckpt["step"]), t_val, {
                c: (err[c] / max(zero[c], 1e-12), (size_p[c] / max(size_y[c], 1e-12)) ** 0.5) for c in err
            }))

    print(f"{len(val_set)} complexes of {Path(args.ids).name}, {args.repeats} draws each; "
          "unexplained fraction (1 = predicts zero), in brackets |pred| / |target|")
    print("| checkpoint | step | t | translation | rotation | torsion |")
    print("|---|---|---|---|---|---|")
    for path, step, t_val, res in rows:
        cells = " | ".join(f"{res[c][0]:.3f} ({res[c][1]:.2f})" for c in res)
        print(f"| {path} | {step} | {t_val:g} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
