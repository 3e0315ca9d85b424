"""Training of the image experiment's parts: both denoisers (same budget), the prior, the metric's classifier.

``fit`` is the one loop both denoisers go through (Adam, cosine decay, EMA); ``disco_loss`` is the
DisCo objective (encode, straight-through Gumbel, latent dropout, plain EDM loss); ``train_prior`` fits
the AR prior to the frozen encoder's codes with early stopping on held-out training codes.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from disco_core.diffusion.loss import EDMLoss
from disco_core.diffusion.precond import EDMPrecond
from disco_core.images.config import ImagesConfig
from disco_core.images.datasets import ImageSet
from disco_core.images.metrics import (
    FeatureClassifier,
    class_accuracy,
    train_classifier,
)
from disco_core.images.models import (
    DiscoImageModel,
    build_baseline,
    build_classifier,
    build_prior,
    num_classes_of,
)
from disco_core.latents.dropout import drop_mask
from disco_core.latents.quantize import quantize_global
from disco_core.prior.ar_transformer import ARPrior
from disco_core.prior.joint import choose_temperature, joint_table, marginal_gap, table_marginals
from disco_core.training import EMA, optimizer_step
from disco_core.training.fit import fit_with_ema


MAX_TABLE = 65536  # largest k^m whose joint is tabulated (16^4: ~5 s on one core)


def log(msg: str, verbose: bool) -> None:
    if verbose:
        print(msg, flush=True)


def generator_on(seed: int, device: torch.device | str) -> torch.Generator:
    """A generator on ``device``: training draws its batches and noise there."""
    return torch.Generator(device=device).manual_seed(int(seed))


def fit(
    name: str,
    model: nn.Module,
    batch_loss: Callable[[torch.Tensor, torch.Tensor | None, torch.Generator], torch.Tensor],
    data: ImageSet,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    ema_decay: float,
    conditional: bool,
    generator: torch.Generator,
    verbose: bool = True,
) -> EMA:
    """``fit_with_ema`` over random batches of ``data``; returns the EMA of ``model``'s weights.

    ``batch_loss(x0, cond, generator)`` gives the scalar loss of one batch (``cond``: one-hot classes
    or None). Both denoisers go through here, so they get the same budget.
    """

    def loss_of(idx: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        idx = idx.to(data.images.device)
        return batch_loss(data.images[idx], data.onehot(idx) if conditional else None, g)

    return fit_with_ema(
        model, loss_of, n=len(data), steps=steps, batch_size=batch_size, lr=lr, ema_decay=ema_decay,
        generator=generator, name=name, verbose=verbose,
    )


def disco_loss(
    model: DiscoImageModel,
    loss_fn: EDMLoss,
    x0: torch.Tensor,
    cond: torch.Tensor | None,
    generator: torch.Generator,
    *,
    temperature: float,
    latent_dropout: float,
) -> torch.Tensor:
    """The DisCo training loss: encode, quantize (straight-through Gumbel), drop, plain EDM denoising loss."""
    onehot, _ = quantize_global(model.encoder(x0, cond), temperature=temperature, generator=generator)
    if latent_dropout > 0:
        keep = drop_mask(x0.shape[0], p=latent_dropout, generator=generator)
        onehot = onehot * keep[:, None, None].to(onehot)  # an all-zero one-hot is a dropped latent
    return loss_fn(model.denoiser, x0, cond, onehot, generator=generator).mean()


def train_baseline(cfg: ImagesConfig, train: ImageSet, *, generator: torch.Generator, verbose: bool = True) -> EDMPrecond:
    """Train the baseline on the data's device; returns it in eval mode with its EMA weights."""
    model = build_baseline(cfg, train.shape, num_classes_of(cfg, train)).to(train.images.device)
    loss_fn = EDMLoss(P_mean=cfg.P_mean, P_std=cfg.P_std, sigma_data=float(cfg.sigma_data))
    ema = fit(
        "baseline", model, lambda x0, c, g: loss_fn(model, x0, c, generator=g).mean(), train,
        steps=cfg.train_steps, batch_size=cfg.batch_size, lr=cfg.lr, ema_decay=cfg.ema_decay,
        conditional=cfg.conditional, generator=generator, verbose=verbose,
    )
    ema.copy_to(model)
    return model.eval()


def train_disco(cfg: ImagesConfig, train: ImageSet, *, generator: torch.Generator, verbose: bool = True) -> DiscoImageModel:
    """Train encoder and denoiser end to end on the data's device; returns the model in eval mode with its
    EMA weights."""
    model = DiscoImageModel(cfg=cfg, shape=train.shape, num_classes=num_classes_of(cfg, train)).to(train.images.device)
    loss_fn = EDMLoss(P_mean=cfg.P_mean, P_std=cfg.P_std, sigma_data=float(cfg.sigma_data))

    def batch_loss(x0: torch.Tensor, cond: torch.Tensor | None, g: torch.Generator) -> torch.Tensor:
        return disco_loss(model, loss_fn, x0, cond, g, temperature=cfg.gumbel_temperature, latent_dropout=cfg.latent_dropout)

    ema = fit(
        "disco", model, batch_loss, train, steps=cfg.train_steps, batch_size=cfg.batch_size, lr=cfg.lr,
        ema_decay=cfg.ema_decay, conditional=cfg.conditional, generator=generator, verbose=verbose,
    )
    ema.copy_to(model)
    return model.eval()


def train_prior(
    cfg: ImagesConfig, codes: torch.Tensor, cond: torch.Tensor | None, *, generator: torch.Generator, verbose: bool = True
) -> tuple[ARPrior, dict[str, Any]]:
    """Fit the AR prior to the frozen encoder's ``codes`` ``[N, m]`` (``cond``: one-hot classes or None).

    A seeded ``prior_val_fraction`` of the codes is held out; every ``prior_eval_every`` steps the
    held-out cross-entropy is measured and the best weights are kept (early stopping: a prior over a
    few thousand code sequences overfits quickly). Returns the prior (eval mode) and its figures:
    ``cross_entropy`` (training codes) and ``val_cross_entropy`` (held-out codes), in nats per token,
    and ``best_step``, plus ``prior_calibration``'s (the temperature chosen on the held-out codes).
    """
    n = codes.shape[0]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.split_seed)).to(codes.device)
    n_val = int(round(cfg.prior_val_fraction * n))
    val, fit_idx = order[:n_val], order[n_val:]
    pick = lambda index: (codes[index], None if cond is None else cond[index])  # noqa: E731
    prior = build_prior(cfg, cond.shape[1] if cond is not None else 0).to(codes.device)
    opt = torch.optim.AdamW(prior.parameters(), lr=cfg.prior_lr, weight_decay=0.01)

    @torch.no_grad()
    def held_out() -> float:
        prior.eval()
        value = float(prior.loss(*pick(val))) if n_val else float("nan")
        prior.train()
        return value

    best, best_step, best_state = float("inf"), 0, None
    prior.train()
    for step in range(1, cfg.prior_steps + 1):
        idx = torch.randint(0, fit_idx.shape[0], (cfg.prior_batch_size,), generator=generator, device=generator.device)
        loss = prior.loss(*pick(fit_idx[idx.to(codes.device)]))
        optimizer_step(opt, loss, prior.parameters())
        if n_val and (step % cfg.prior_eval_every == 0 or step == cfg.prior_steps):
            value = held_out()
            if value < best:
                best, best_step = value, step
                best_state = {key: t.detach().clone() for key, t in prior.state_dict().items()}
    if best_state is not None:
        prior.load_state_dict(best_state)
    else:
        best_step = cfg.prior_steps
    prior.eval()
    with torch.no_grad():
        figures: dict[str, Any] = {
            "cross_entropy": float(prior.loss(*pick(fit_idx))), "val_cross_entropy": held_out(), "best_step": best_step,
        }
    prior.eval()
    figures.update(prior_calibration(cfg, prior, codes, fit_idx, val, cond))
    log(
        f"  [prior] best of {cfg.prior_steps} steps at {best_step}: cross-entropy {figures['cross_entropy']:.3f} train, "
        f"{figures['val_cross_entropy']:.3f} held out (nats/token; uniform {math.log(cfg.k):.3f}); "
        f"temperature {figures['temperature']:g} (held-out NLL "
        + ", ".join(f"{t:g}: {v:.3f}" for t, v in figures["val_nll_by_temperature"].items()) + ")",
        verbose,
    )
    return prior, figures


def prior_calibration(
    cfg: ImagesConfig,
    prior: ARPrior,
    codes: torch.Tensor,
    fit_idx: torch.Tensor,
    val: torch.Tensor,
    cond: torch.Tensor | None,
) -> dict[str, Any]:
    """The prior's temperature, chosen on the held-out codes, and how well its code frequencies match.

    ``temperature``: the candidate of ``prior_temperatures`` with the lowest held-out NLL (or the config's
    fixed ``prior_temperature``); ``val_nll_by_temperature``. For an unconditional prior small enough to
    tabulate: ``marginal_tv_fit`` / ``marginal_tv_val``, the total-variation distance between the prior's
    per-latent code frequencies (at that temperature) and the encoder's on the fitted / held-out training
    images (mean over latents), and ``marginal_tv_fit_val`` between those two image sets (the noise floor
    of a held-out set this size).
    """
    vcond = None if cond is None else cond[val]
    out: dict[str, Any] = {}
    if len(val):
        chosen, nll = choose_temperature(prior, codes[val], cfg.prior_temperatures, cond=vcond)
        out["val_nll_by_temperature"] = nll
    else:
        chosen = 1.0
    out["temperature"] = float(cfg.prior_temperature) if cfg.prior_temperature is not None else chosen
    if cond is None and cfg.k**cfg.m <= MAX_TABLE and len(val):
        seqs, probs = joint_table(prior, temperature=out["temperature"], max_sequences=MAX_TABLE)
        marg = table_marginals(seqs, probs, cfg.k)
        out["marginal_tv_fit"] = float(marginal_gap(marg, codes[fit_idx], cfg.k).mean())
        out["marginal_tv_val"] = float(marginal_gap(marg, codes[val], cfg.k).mean())
        out["marginal_tv_fit_val"] = float(marginal_gap(codes[fit_idx], codes[val], cfg.k).mean())
    return out


def train_feature_classifier(cfg: ImagesConfig, train: ImageSet, test: ImageSet, *, verbose: bool = True) -> tuple[FeatureClassifier, float]:
    """Train the metric's classifier on the training split from ``classifier_seed`` (on the data's device);
    returns it and its accuracy on the test split (needs labels)."""
    if train.labels is None:
        raise ValueError(f"{cfg.data}: the Frechet-distance classifier needs class labels, and this data set has none")
    g = generator_on(cfg.classifier_seed, train.images.device)
    torch.manual_seed(cfg.classifier_seed)  # the initial weights
    clf = build_classifier(cfg, train.shape, train.num_classes).to(train.images.device)
    train_classifier(clf, train.images, train.labels, steps=cfg.classifier_steps, generator=g)
    acc = class_accuracy(clf, test.images, test.labels)
    log(f"  [classifier] {cfg.classifier_steps} steps, test accuracy {acc:.4f}", verbose)
    return clf, acc

