"""The DisCo-Diff paper's 2-D experiment: does one discrete latent straighten the ODE and sharpen samples?

Data: 8 Gaussians (std 0.2) on a circle of radius 3. Two EDM denoisers with the same MLP and the same
training budget: the baseline, and the DisCo variant whose MLP also reads one latent of 8 codes produced
by an encoder of the clean sample (straight-through Gumbel-softmax, trained end to end with the
denoising loss). An autoregressive prior over the code is fitted afterwards on codes of the frozen
encoder. Both are sampled with Heun's method on the probability-flow ODE (50 steps, 99 NFE) and compared
by the exact 2-Wasserstein distance to fresh data and by the mean curvature of their ODE paths.

Measurement choices, each found necessary on this machine:
- W2 on a few thousand points is dominated by random mode counts (two independent 2,000-point samples
  of the *true* mixture are ~0.3 apart, the paper's baseline number). So W2 uses quasi-random
  (scrambled Sobol) draws of each sampler's inputs (starting noise, and the code by inverse CDF of the
  prior) against a mode-stratified reference set (floor ~0.07), and the training set has exactly
  1,000 points per mode. ``iid_check=True`` prints the plain i.i.d. estimates as well.
- Curvature is averaged over ODE states with sigma >= ``curvature_sigma_min`` (0.1, half a mode's
  std). Below it the ODE velocity is O(sigma) and its direction is the network's residual error, so
  the discrete curvature there is large for any learned model and swamps the mean; the all-state
  mean is printed too.
- Codebook: with Gumbel temperature 1 and the plain loss, neighbouring codes merge late in training
  (perplexity 3-5 of 8, one code serving 3-6 modes, and then W2 is *worse* than the baseline's).
  Temperature 0.5 plus a small usage-entropy bonus (``usage_deficit``) keeps all 8 codes, one per mode.
- ``P_mean = 0``: EDM's -1.2 assumes sigma_data = 0.5; here sigma_data ~ 2.1, and the baseline's
  W2 was best near 0 (0.52 at -1.2, 0.34 at 0, 0.45 at 0.5, 0.64 at 1.0; one seed).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from disco_core.config import from_dict, load_yaml
from disco_core.diffusion.curvature import mean_curvature, wasserstein2
from disco_core.diffusion.loss import EDMLoss
from disco_core.diffusion.precond import EDMPrecond
from disco_core.diffusion.samplers import CallCounter, heun_sampler
from disco_core.diffusion.schedules import EDMSchedule
from disco_core.latents.dropout import drop_mask
from disco_core.latents.encoder import MLPEncoder
from disco_core.latents.quantize import codebook_perplexity, codes_to_onehot, quantize_global
from disco_core.prior.ar_transformer import ARPrior
from disco_core.toy.mixtures import RingMixture
from disco_core.toy.models import ToyMLP
from disco_core.training import EMA, seed_everything

RESULT_KEYS = (
    "w2_baseline",
    "w2_disco",
    "curvature_baseline",
    "curvature_disco",
    "codebook_perplexity",
    "seconds",
    "seed",
)


@dataclass
class ToyConfig:
    """Everything the toy experiment needs. Defaults are the paper's setting where it gives one, and
    otherwise what we measured to work in ~2 minutes on 2 CPU cores (see the module docstring)."""

    # data (DisCo-Diff: 8 modes, radius 3, std 0.2, 8,000 points)
    num_modes: int = 8
    radius: float = 3.0
    std: float = 0.2
    n_train: int = 8000
    stratified_train: bool = True  # exactly n_train / num_modes points per mode
    # denoiser: identical architecture, optimiser and budget for both variants
    hidden: int = 128
    layers: int = 4
    sigma_data: float | None = None  # None: the training data's standard deviation (~2.13)
    P_mean: float = 0.0  # ln(sigma) ~ N(P_mean, P_std^2); EDM's -1.2 is tuned for sigma_data = 0.5
    P_std: float = 1.2
    train_steps: int = 3000
    batch_size: int = 256
    lr: float = 2e-3  # Adam, cosine decay to 0
    ema_decay: float = 0.999
    # latents (DisCo variant): one latent of eight codes
    m: int = 1
    k: int = 8
    latent_dim: int = 32
    encoder_hidden: int = 128
    encoder_layers: int = 3
    gumbel_temperature: float = 0.5  # straight-through Gumbel; at 1.0 codes merge late in training
    latent_dropout: float = 0.0
    usage_weight: float = 0.1  # codebook-usage entropy bonus against code merging (0: plain loss)
    # prior (fitted after the encoder is frozen)
    prior_steps: int = 300
    prior_lr: float = 3e-3
    prior_batch_size: int = 4096
    prior_d_model: int = 64
    prior_layers: int = 2
    prior_heads: int = 4
    prior_temperature: float = 1.0
    # sampling and evaluation: Heun, EDM time steps
    num_steps: int = 50
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0
    n_eval: int = 2000
    curvature_sigma_min: float = 0.1  # curvature averaged over ODE states with sigma >= this
    n_plot_paths: int = 24


def load_config(path: str | Path | None = None, **overrides: Any) -> ToyConfig:
    """Defaults, then the YAML file at ``path`` (if any), then keyword ``overrides``."""
    data = load_yaml(path) if path is not None else {}
    data.update(overrides)
    return from_dict(ToyConfig, data)


class DiscoModel(nn.Module):
    """Encoder + preconditioned denoiser of the DisCo variant, trained together."""

    def __init__(self, *, cfg: ToyConfig, sigma_data: float):
        super().__init__()
        self.encoder = MLPEncoder(
            in_dim=2, m=cfg.m, k=cfg.k, hidden=cfg.encoder_hidden, layers=cfg.encoder_layers
        )
        net = ToyMLP(dim=2, hidden=cfg.hidden, layers=cfg.layers, m=cfg.m, k=cfg.k, latent_dim=cfg.latent_dim)
        self.denoiser = EDMPrecond(model=net, sigma_data=sigma_data)


def usage_deficit(logits: torch.Tensor) -> torch.Tensor:
    """log k minus the entropy of the batch-averaged code distribution, averaged over the m latents.

    0 when the batch uses all k codes equally. Straight-through Gumbel training with the plain
    denoising loss lets neighbouring codes merge (one code ends up serving several modes: perplexity
    3-5 of 8 here); this small bonus on *marginal* usage keeps them apart without asking any single
    example's code to be uncertain (wav2vec 2.0's diversity term plays the same role).
    """
    p = logits.softmax(-1).mean(0)  # [m, k]
    entropy = -torch.special.xlogy(p, p).sum(-1)
    return (math.log(logits.shape[-1]) - entropy).mean()


def _log(msg: str, verbose: bool) -> None:
    if verbose:
        print(msg, flush=True)


def _train(
    name: str,
    model: nn.Module,
    batch_loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    data: torch.Tensor,
    cfg: ToyConfig,
    generator: torch.Generator,
    verbose: bool,
) -> EMA:
    """Adam with cosine decay; returns the EMA of ``model``'s weights. Both variants go through here."""
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, cfg.train_steps) / cfg.train_steps))
    )
    ema = EMA(model, decay=cfg.ema_decay, warmup=True)
    running = None
    report_every = max(cfg.train_steps // 5, 1)
    for step in range(cfg.train_steps):
        idx = torch.randint(0, data.shape[0], (cfg.batch_size,), generator=generator)
        loss = batch_loss(data[idx], generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        ema.update(model)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % report_every == 0 or step + 1 == cfg.train_steps:
            _log(f"  [{name}] step {step + 1}/{cfg.train_steps}  loss {running:.4f}", verbose)
    return ema


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
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    _log(f"  [prior] {cfg.prior_steps} steps, final cross-entropy {loss.item():.4f} nats", verbose)


@torch.no_grad()
def prior_codes_by_inverse_cdf(
    prior: ARPrior, u: torch.Tensor, *, temperature: float = 1.0, max_sequences: int = 4096
) -> torch.Tensor:
    """Codes ``[n, m]`` from uniforms ``u`` ``[n]`` by inverse CDF of the prior's joint distribution.

    Enumerates all k^m token sequences (so only for small codebooks); with stratified or quasi-random
    ``u`` this draws codes in almost exactly their prior proportions. ``temperature`` tempers the joint
    (for m = 1 the same as tempering the token's logits).
    """
    if prior.k**prior.m > max_sequences:
        raise ValueError(f"k^m = {prior.k ** prior.m} sequences is too many to enumerate")
    seqs = torch.tensor(list(itertools.product(range(prior.k), repeat=prior.m)), dtype=torch.long)
    probs = (prior.log_prob(seqs) / temperature).softmax(0)
    cdf = probs.cumsum(0)
    idx = torch.searchsorted(cdf, u.to(cdf).contiguous()).clamp_max(len(seqs) - 1)
    return seqs[idx]


def _qmc_inputs(n: int, dims: int, seed: int) -> torch.Tensor:
    """``n`` scrambled Sobol points in [0, 1)^dims."""
    engine = torch.quasirandom.SobolEngine(dims, scramble=True, seed=seed)
    return engine.draw(n).clamp(1e-7, 1 - 1e-7)


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
    _log(f"toy: seed {seed}, {cfg.n_train} points, sigma_data {sigma_data:.3f}, {cfg.train_steps} steps each", verbose)

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
    _log(f"  codebook perplexity {codebook_perplexity(train_codes, cfg.k):.2f} of {cfg.k} codes", verbose)
    prior = ARPrior(m=cfg.m, k=cfg.k, d_model=cfg.prior_d_model, n_layers=cfg.prior_layers, n_heads=cfg.prior_heads)
    _train_prior(prior, train_codes, cfg, g_disco, verbose)
    prior.eval()
    return ToyModels(mixture=mixture, data=data, baseline=base, disco=disco, prior=prior, train_codes=train_codes)


@dataclass
class ToySamples:
    """Samples and ODE paths of both variants from the same starting noise."""

    sigmas: torch.Tensor  # [num_steps + 1] noise level of each trajectory state
    x_T: torch.Tensor  # [n, 2]
    codes: torch.Tensor  # [n, m] latent codes drawn from the prior
    baseline: torch.Tensor  # [n, 2]
    disco: torch.Tensor  # [n, 2]
    traj_baseline: torch.Tensor  # [num_steps + 1, n, 2]
    traj_disco: torch.Tensor  # [num_steps + 1, n, 2]
    nfe: int  # denoiser calls per sample


def sample_toy(models: ToyModels, cfg: ToyConfig, *, seed: int) -> ToySamples:
    """Heun on the probability-flow ODE for both variants, inputs drawn quasi-randomly (see module doc)."""
    sigmas = EDMSchedule(sigma_min=cfg.sigma_min, sigma_max=cfg.sigma_max, rho=cfg.rho).sigmas(cfg.num_steps)
    u = _qmc_inputs(cfg.n_eval, 3, seed)
    x_T = cfg.sigma_max * torch.special.ndtri(u[:, :2])
    codes = prior_codes_by_inverse_cdf(models.prior, u[:, 2], temperature=cfg.prior_temperature)
    counter = CallCounter(models.baseline)
    x_base, traj_base = heun_sampler(counter, x_T, sigmas, return_trajectory=True)
    x_disco, traj_disco = heun_sampler(
        models.disco.denoiser, x_T, sigmas, latents=codes_to_onehot(codes, cfg.k), return_trajectory=True
    )
    return ToySamples(sigmas, x_T, codes, x_base, x_disco, traj_base, traj_disco, counter.calls)


def _iid_check(models: ToyModels, cfg: ToyConfig, generator: torch.Generator) -> None:
    """Print W2 from plain i.i.d. draws (noisier: random mode counts dominate them)."""
    sigmas = EDMSchedule(sigma_min=cfg.sigma_min, sigma_max=cfg.sigma_max, rho=cfg.rho).sigmas(cfg.num_steps)
    x_T = cfg.sigma_max * torch.randn(cfg.n_eval, 2, generator=generator)
    codes = models.prior.sample(batch_size=cfg.n_eval, temperature=cfg.prior_temperature, generator=generator)
    ref = models.mixture.sample(cfg.n_eval, generator=generator)
    w2_b = wasserstein2(heun_sampler(models.baseline, x_T, sigmas), ref)
    x_d = heun_sampler(models.disco.denoiser, x_T, sigmas, latents=codes_to_onehot(codes, cfg.k))
    w2_d = wasserstein2(x_d, ref)
    floor = wasserstein2(models.mixture.sample(cfg.n_eval, generator=generator), ref)
    print(f"  i.i.d. W2: baseline {w2_b:.3f}, disco {w2_d:.3f} (true data vs data: {floor:.3f})", flush=True)


def run_toy(
    out_dir: str | Path,
    *,
    seed: int = 0,
    config: ToyConfig | None = None,
    verbose: bool = True,
    plot: bool = True,
    iid_check: bool = False,
    **overrides: Any,
) -> dict[str, float | int]:
    """Train both variants, sample, measure, write ``out_dir/toy.json`` (and ``toy.png``); return the dict.

    ``overrides`` replace fields of ``config`` (e.g. ``train_steps=300`` for a quick run).
    ``iid_check`` also prints W2 from plain i.i.d. draws (noisier; a few seconds more).
    """
    t0 = time.perf_counter()
    cfg = dataclasses.replace(config or ToyConfig(), **overrides)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    models = train_toy(cfg, seed=seed, verbose=verbose)
    s = sample_toy(models, cfg, seed=seed)
    _log(f"  Heun, {cfg.num_steps} steps, NFE {s.nfe} per sample", verbose)

    g_eval = torch.Generator().manual_seed(seed + 3_000_003)
    reference = models.mixture.sample(cfg.n_eval, generator=g_eval, stratified=True)
    upper = s.sigmas >= cfg.curvature_sigma_min  # a prefix: sigmas decrease
    upper[:3] = True  # curvature needs at least three states
    result: dict[str, float | int] = {
        "w2_baseline": wasserstein2(s.baseline, reference),
        "w2_disco": wasserstein2(s.disco, reference),
        "curvature_baseline": mean_curvature(s.traj_baseline[upper]),
        "curvature_disco": mean_curvature(s.traj_disco[upper]),
        "codebook_perplexity": codebook_perplexity(models.train_codes, cfg.k),
    }
    _log(
        f"  mean curvature over all {cfg.num_steps + 1} states (incl. sigma < {cfg.curvature_sigma_min}): "
        f"baseline {mean_curvature(s.traj_baseline):.3g}, disco {mean_curvature(s.traj_disco):.3g}",
        verbose,
    )
    if iid_check:
        _iid_check(models, cfg, g_eval)
    if plot:
        from disco_core.toy.plot import plot_toy

        n = min(cfg.n_plot_paths, cfg.n_eval)
        plot_toy(
            out / "toy.png",
            data=reference,
            samples={"baseline": s.baseline, "DisCo": s.disco},
            trajectories={"baseline": s.traj_baseline[:, :n], "DisCo": s.traj_disco[:, :n]},
            codes=s.codes[:n, 0],
            titles={
                "baseline": f"baseline  W2 {result['w2_baseline']:.3f}  curv. {result['curvature_baseline']:.2f}",
                "DisCo": f"DisCo  W2 {result['w2_disco']:.3f}  curv. {result['curvature_disco']:.2f}",
            },
        )
    result["seconds"] = time.perf_counter() - t0
    result["seed"] = int(seed)
    result = {key: result[key] for key in RESULT_KEYS}
    (out / "toy.json").write_text(json.dumps(result, indent=2) + "\n")
    _log("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()), verbose)
    return result
