"""Training of the toy experiment: the baseline and the DisCo encoder + denoiser (same budget), then the prior."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from disco_core.diffusion.loss import EDMLoss
from disco_core.diffusion.precond import EDMPrecond
from disco_core.latents.dropout import drop_mask
from disco_core.latents.encoder import MLPEncoder
from disco_core.latents.quantize import codebook_perplexity, quantize_global
from disco_core.latents.usage import usage_deficit
from disco_core.prior.ar_transformer import ARPrior
from disco_core.toy.config import ToyConfig
from disco_core.toy.mixtures import RingMixture
from disco_core.toy.models import ToyMLP
from disco_core.training import EMA, optimizer_step, seed_everything
from disco_core.training.fit import fit_with_ema


def log(msg: str, verbose: bool) -> None:
    if verbose:
        print(msg, flush=True)


class DiscoModel(nn.Module):
    """Encoder + preconditioned denoiser of the DisCo variant, trained together."""

    def __init__(self, *, cfg: ToyConfig, sigma_data: float):
        super().__init__()
        self.encoder = MLPEncoder(
            in_dim=2, m=cfg.m, k=cfg.k, hidden=cfg.encoder_hidden, layers=cfg.encoder_layers
        )
        net = ToyMLP(dim=2, hidden=cfg.hidden, layers=cfg.layers, m=cfg.m, k=cfg.k, latent_dim=cfg.latent_dim)
        self.denoiser = EDMPrecond(model=net, sigma_data=sigma_data)



def _train(
    name: str,
    model: nn.Module,
    batch_loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    data: torch.Tensor,
    cfg: ToyConfig,
    generator: torch.Generator,
    verbose: bool,
) -> EMA:
    """``fit_with_ema`` over random batches of ``data``. Both variants go through here."""
    return fit_with_ema(
        model, lambda idx, g: batch_loss(data[idx], g), n=data.shape[0], steps=cfg.train_steps,
        batch_size=cfg.batch_size, lr=cfg.lr, ema_decay=cfg.ema_decay, generator=generator, name=name, verbose=verbose,
    )


def _train_prior(
    prior: ARPrior, codes: torch.Tensor, cfg: ToyConfig, generator: torch.Generator, verbose: bool
) -> None:
    """Cross-entropy on cached codes, large batches, cosine decay: W2 is very sensitive to mode weights
    (a prior 2 percentage points off on a few codes took W2 from 0.12 to 0.50 in one of our runs)."""
    opt = torch.optim.Adam(prior.parameters(), lr=cfg.prior_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, cfg.prior_steps) / cfg.prior_steps))
    )
    batch = min(cfg.prior_batch_size, codes.shape[0])
    for step in range(cfg.prior_steps):
        idx = torch.randperm(codes.shape[0], generator=generator)[:batch]
        loss = prior.loss(codes[idx])
        optimizer_step(opt, loss, prior.parameters())
        sched.step()
    log(f"  [prior] {cfg.prior_steps} steps, final cross-entropy {loss.item():.4f} nats", verbose)


@dataclass
class ToyModels:
    """The trained pieces of one toy run (all in eval mode, EMA weights loaded)."""

    mixture: RingMixture
    data: torch.Tensor  # [n_train, 2] training points
    baseline: EDMPrecond
    disco: DiscoModel
    prior: ARPrior
    train_codes: torch.Tensor  # [n_train, m] codes of the frozen encoder


def train_toy(cfg: ToyConfig, *, seed: int, verbose: bool = True) -> ToyModels:
    """Draw the data and train the baseline, the DisCo encoder + denoiser, then the prior.

    Both denoisers get the same architecture, optimiser, steps and batch size.
    """
    g_data = seed_everything(seed)
    g_base = torch.Generator().manual_seed(seed + 1_000_003)
    g_disco = torch.Generator().manual_seed(seed + 2_000_003)

    mixture = RingMixture(num_modes=cfg.num_modes, radius=cfg.radius, std=cfg.std)
    data = mixture.sample(cfg.n_train, generator=g_data, stratified=cfg.stratified_train)
    sigma_data = float(data.std()) if cfg.sigma_data is None else float(cfg.sigma_data)
    loss_fn = EDMLoss(P_mean=cfg.P_mean, P_std=cfg.P_std, sigma_data=sigma_data)
    log(f"toy: seed {seed}, {cfg.n_train} points, sigma_data {sigma_data:.3f}, {cfg.train_steps} steps each", verbose)

    base = EDMPrecond(model=ToyMLP(dim=2, hidden=cfg.hidden, layers=cfg.layers), sigma_data=sigma_data)
    ema = _train("baseline", base, lambda x0, g: loss_fn(base, x0, generator=g).mean(), data, cfg, g_base, verbose)
    ema.copy_to(base)
    base.eval()

    disco = DiscoModel(cfg=cfg, sigma_data=sigma_data)

    def disco_loss(x0: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        logits = disco.encoder(x0)
        onehot, _ = quantize_global(logits, temperature=cfg.gumbel_temperature, generator=g)
        if cfg.latent_dropout > 0:
            keep = drop_mask(x0.shape[0], p=cfg.latent_dropout, generator=g)
            onehot = onehot * keep[:, None, None].to(onehot)  # all-zero one-hot = dropped latent
        loss = loss_fn(disco.denoiser, x0, latents=onehot, generator=g).mean()
        if cfg.usage_weight > 0:
            loss = loss + cfg.usage_weight * usage_deficit(logits)
        return loss

    ema = _train("disco", disco, disco_loss, data, cfg, g_disco, verbose)
    ema.copy_to(disco)
    disco.eval()

    with torch.no_grad():
        _, train_codes = quantize_global(disco.encoder(data), temperature=0.0, sample=False)
    log(f"  codebook perplexity {codebook_perplexity(train_codes, cfg.k):.2f} of {cfg.k} codes", verbose)
    prior = ARPrior(m=cfg.m, k=cfg.k, d_model=cfg.prior_d_model, n_layers=cfg.prior_layers, n_heads=cfg.prior_heads)
    _train_prior(prior, train_codes, cfg, g_disco, verbose)
    prior.eval()
    return ToyModels(mixture=mixture, data=data, baseline=base, disco=disco, prior=prior, train_codes=train_codes)

