"""How much of the true score a model explains: per-complex error sums on seeded noise draws, and the pooled
unexplained fraction the model card reports (``benchmarks/diagnostics/val_loss.py`` compares checkpoints with it)."""

from __future__ import annotations

import torch

from discodock.diffusion.components import COMPONENTS
from discodock.diffusion.pose import Pose
from discodock.training.score import score_predictions
from discodock.training.views import make_batch


def score_draws(models, cfg, complexes, t_val: float, *, repeats: int, seed: int, batch_size: int = 8,
                p_drop: float = 0.0):
    """Score ``complexes`` at diffusion time ``t_val`` on ``repeats`` seeded noise draws each.

    Returns ``(err, zero, size)``: per component, the per-complex sums of ``||pred - target||^2 / score_norm``
    and of ``||target||^2 / score_norm`` ([n] float64, so a bootstrap can resample complexes), and the ratio
    |pred| / |target| over all items. ``p_drop`` 1 scores without latents (the null latents) on the same
    draws: the latents have their own generator."""
    gen = torch.Generator().manual_seed(seed)
    latent_gen = torch.Generator().manual_seed(seed + 1)
    n = len(complexes)
    err = {comp.name: torch.zeros(n, dtype=torch.float64) for comp in COMPONENTS}
    zero = {c: torch.zeros(n, dtype=torch.float64) for c in err}
    size_p, size_y = {c: 0.0 for c in err}, {c: 0.0 for c in err}
    for _ in range(repeats):
        for start in range(0, n, batch_size):
            items = complexes[start:start + batch_size]
            batch = make_batch(items, cfg, gen, torch.device("cpu"))
            t = torch.full((len(items),), float(t_val))
            with torch.no_grad():
                pred, target, sigma = score_predictions(
                    models, batch, cfg, gen, t=t, p_drop=p_drop, latent_generator=latent_gen
                )
            pose = Pose.from_complex(batch)
            for comp in COMPONENTS:
                c = comp.name
                p, y = pred[c].reshape(len(target[c]), -1), target[c].reshape(len(target[c]), -1)
                norm = comp.score_norm(sigma[c])
                owner = start + comp.item_pose(pose)
                err[c].index_add_(0, owner, ((p - y).pow(2).sum(1) / norm).double())
                zero[c].index_add_(0, owner, (y.pow(2).sum(1) / norm).double())
                size_p[c] += float(p.pow(2).sum())
                size_y[c] += float(y.pow(2).sum())
    return err, zero, {c: (size_p[c] / max(size_y[c], 1e-12)) ** 0.5 for c in err}


def unexplained_fraction(err: torch.Tensor, zero: torch.Tensor, sel: torch.Tensor | None = None) -> torch.Tensor:
    """The share of the target's squared size (over its expected norm) that the prediction leaves unexplained,
    pooled over complexes: sum(err) / sum(zero), with the per-complex sums of :func:`score_draws`. 1 is a zero
    predictor, 0 a perfect one. ``sel`` [B, n] indexes resampled complexes (a bootstrap), giving [B] values."""
    if sel is not None:
        err, zero = err[sel], zero[sel]
    return err.sum(-1) / zero.sum(-1).clamp_min(1e-12)
