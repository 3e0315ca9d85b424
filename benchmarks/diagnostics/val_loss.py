"""How much of each score component a checkpoint explains on held-out complexes, comparable across runs.

The validation loss logged during training is a mean of per-batch losses on one fixed noise draw. A model
that predicts zero scores gets 1 on average, but on one draw of 37 complexes the torsion figure of a zero
predictor can be anywhere from about 0.9 to 1.2. This script scores every checkpoint on the *same* draws
(the latents have their own generator, so runs with and without latents see identical noise) and reports,
per component and diffusion time t, the pooled

    unexplained = sum ||pred - target||^2 / score_norm  /  sum ||target||^2 / score_norm

so a model that predicts zero gets exactly 1 and every point below 1 is learned. It also prints the ratio of
the predicted to the target score size, which shows a head that has collapsed to zero, and for every
checkpoint after the first its change from the first with a 95% interval from a paired bootstrap over
complexes (same draws for both, so the noise of the draws largely cancels).

    python benchmarks/diagnostics/val_loss.py runs/v2_pointer/snap_*.pt runs/v2_m0/snap_*.pt \\
        --data <training roots> --ids data/splits/val.txt [--cache /work/cache] [--times 0.1 0.25 0.5 0.75] \\
        [--plot curves.png]

``--latent-ablation`` also scores each checkpoint with latents dropped (its null latents) on the same draws and
prints how much the encoder's latents explain, with a paired bootstrap interval: zero means the score network
ignores its latents.

``--scores DIR`` keeps every checkpoint's scores, so a later call with more checkpoints scores only the new
ones. ``--plot`` draws the unexplained fraction against the training step, a line per run (the checkpoint's folder)
and t, a panel per component.

Training checkpoints (``last.pt``) are scored with their EMA weights, exported weights as they are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from discodock.training.validation import score_draws, unexplained_fraction


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--cache", default="cache")
    ap.add_argument("--times", nargs="+", type=float, default=[0.1, 0.25, 0.5, 0.75])
    ap.add_argument("--repeats", type=int, default=2, help="noise draws per complex and time")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--bootstrap", type=int, default=2000, help="resamples of the complexes for the intervals")
    ap.add_argument("--plot", type=Path, help="PNG of the unexplained fraction against the training step")
    ap.add_argument("--scores", type=Path, help="folder that keeps each checkpoint's scores, so a later call "
                    "(more checkpoints, another plot) re-scores only what is new")
    ap.add_argument("--latent-ablation", action="store_true",
                    help="also score without latents and print what the latents explain")
    args = ap.parse_args()

    from discodock.training.data import featurization_for, load_training_complexes

    rows = []
    dropped = {}  # (checkpoint, t) -> (err, zero) without latents, for --latent-ablation
    val_sets = {}  # per featurisation: checkpoints with and without receptor atoms need their own graphs

    def val_set(cfg):
        key = featurization_for(cfg).key()
        if key not in val_sets:
            val_sets[key] = load_training_complexes(args.data, args.ids, cfg, cache=args.cache, progress_bar=False)
        return val_sets[key]

    for path in args.checkpoints:
        models, cfg, ckpt = load_for_scoring(path)
        for t_val in args.times:
            kept = _kept_scores(args, path, t_val)
            if kept is not None and kept.is_file():
                err, zero, size = torch.load(kept, weights_only=True)
            else:
                err, zero, size = score_draws(models, cfg, val_set(cfg), t_val, repeats=args.repeats,
                                              seed=args.seed)
                if kept is not None:
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    torch.save((err, zero, size), kept)
            if args.latent_ablation and models.encoder is not None:
                dropped[path, t_val] = score_draws(models, cfg, val_set(cfg), t_val, repeats=args.repeats,
                                                   seed=args.seed, p_drop=1.0)[:2]
            rows.append((path, int(ckpt["step"]), t_val, {
                c: (float(unexplained_fraction(err[c], zero[c])), size[c]) for c in err
            }, err, zero))
    n_complexes = len(next(iter(rows[0][4].values())))

    print(f"{n_complexes} complexes of {Path(args.ids).name}, {args.repeats} draws each; "
          "unexplained fraction (1 = predicts zero), in brackets |pred| / |target|")
    print("| checkpoint | step | t | translation | rotation | torsion |")
    print("|---|---|---|---|---|---|")
    for path, step, t_val, res, _, _ in rows:
        cells = " | ".join(f"{res[c][0]:.3f} ({res[c][1]:.2f})" for c in res)
        print(f"| {path} | {step} | {t_val:g} | {cells} |")
    if len(args.checkpoints) > 1:
        print(f"\nchange from {args.checkpoints[0]} on the same draws, [95% interval, paired bootstrap over complexes]")
        print("| checkpoint | step | t | translation | rotation | torsion |")
        print("|---|---|---|---|---|---|")
        first = {t_val: (err, zero) for path, _, t_val, _, err, zero in rows[:len(args.times)]}
        boot = torch.Generator().manual_seed(args.seed)
        idx = torch.randint(n_complexes, (args.bootstrap, n_complexes), generator=boot)
        for path, step, t_val, _, err, zero in rows[len(args.times):]:
            cells = _paired_change((err, zero), first[t_val], idx)
            print(f"| {path} | {step} | {t_val:g} | {' | '.join(cells)} |")
    if args.latent_ablation:
        _latent_ablation(args, rows, dropped)
    if args.plot:
        _plot([(Path(path).parent.name, step, t_val, res) for path, step, t_val, res, _, _ in rows], args.plot)
    return 0


def _latent_ablation(args: argparse.Namespace, rows, dropped: dict) -> None:
    """Per checkpoint with an encoder and t: unexplained fraction without latents (``dropped``) minus with them, on
    the same draws (positive: the latents help), with a 95% paired-bootstrap interval over complexes."""
    print("\nwhat the latents explain: unexplained fraction without latents minus with them, same draws "
          "[95% interval, paired bootstrap over complexes]")
    print("| checkpoint | step | t | translation | rotation | torsion |")
    print("|---|---|---|---|---|---|")
    boot = torch.Generator().manual_seed(args.seed)
    for path, step, t_val, _, err, zero in rows:
        if (path, t_val) not in dropped:
            continue
        n = len(next(iter(err.values())))
        idx = torch.randint(n, (args.bootstrap, n), generator=boot)
        cells = _paired_change(dropped[path, t_val], (err, zero), idx)
        print(f"| {path} | {step} | {t_val:g} | {' | '.join(cells)} |")


def _paired_change(a, b, idx: torch.Tensor) -> list[str]:
    """Per component, the unexplained fraction of scores ``a`` minus that of ``b`` (each ``(err, zero)`` on the
    same draws) with its 95% interval over the bootstrap resamples ``idx``, as table cells."""
    (err_a, zero_a), (err_b, zero_b) = a, b
    cells = []
    for c in err_a:
        diff = unexplained_fraction(err_a[c], zero_a[c]) - unexplained_fraction(err_b[c], zero_b[c])
        d = unexplained_fraction(err_a[c], zero_a[c], idx) - unexplained_fraction(err_b[c], zero_b[c], idx)
        lo, hi = torch.quantile(d, torch.tensor([0.025, 0.975], dtype=d.dtype)).tolist()
        cells.append(f"{float(diff):+.3f} [{lo:+.3f}, {hi:+.3f}]")
    return cells


def load_for_scoring(path: str | Path):
    """``load_models`` in eval mode; a training checkpoint scores with its EMA weights, as validation does."""
    from discodock.models.bundle import load_models

    models, cfg, ckpt = load_models(path)
    ema = (ckpt.get("state") or {}).get("ema")
    if ema is not None:
        models.load_state_dict(ema["shadow"], strict=False)
    return models.eval(), cfg, ckpt


def _kept_scores(args: argparse.Namespace, path: str, t_val: float) -> Path | None:
    """Where ``--scores`` keeps one checkpoint's scores at one t: keyed by the file (path, size, time) and
    everything that decides the draws (ID list, data roots, repeats, seed)."""
    if args.scores is None:
        return None
    import hashlib

    st = Path(path).stat()
    key = [str(Path(path).resolve()), st.st_size, st.st_mtime_ns, Path(args.ids).read_text(),
           sorted(str(Path(d).resolve()) for d in args.data), args.repeats, args.seed, float(t_val)]
    return args.scores / f"{hashlib.sha1(repr(key).encode()).hexdigest()[:16]}.pt"


def _plot(rows: list[tuple[str, int, float, dict]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comps = list(rows[0][3])
    fig, axes = plt.subplots(1, len(comps), figsize=(5 * len(comps), 3.8))
    runs = sorted({r[0] for r in rows})
    times = sorted({r[2] for r in rows})
    for ax, c in zip(axes, comps):
        for i, run in enumerate(runs):
            for j, t_val in enumerate(times):
                pts = sorted((step, res[c][0]) for name, step, t, res in rows if name == run and t == t_val)
                ax.plot(*zip(*pts), marker="o", ms=3, color=f"C{j}", ls=("-", "--", ":", "-.")[i % 4],
                        label=f"{run} t={t_val:g}")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_title(f"{c}: unexplained fraction (same draws)")
        ax.set_xlabel("training step")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    raise SystemExit(main())
