"""DisCo-Diff on a small image set: train an EDM baseline and a DisCo model, fit the prior, sample, evaluate.

Two denoisers share one U-Net architecture and one training budget: the baseline, and the DisCo variant
whose U-Net also reads m global latents of k codes produced by an ``ImageEncoder`` of the clean image
(straight-through Gumbel-softmax, trained end to end with the plain EDM denoising loss, latent dropout
p). An autoregressive transformer prior over the codes is fitted afterwards on codes of the frozen
encoder. Both models are sampled with Heun's method on the probability-flow ODE from the *same* starting
noise (and, for class-conditional models, the same labels); the DisCo model draws its latents from the
prior. Sample quality is a Frechet distance in the features of a small classifier trained on the training
split (``disco_core.images.metrics``; not ImageNet FID) against the held-out test split; the straightness
of the ODE paths is the paper's mean curvature.

Run folder layout (``out``): ``baseline.pt``, ``disco.pt``, ``prior.pt``, ``classifier.pt`` (checkpoints
with the resolved config, EMA weights), ``config.yaml``, ``samples_<model>.npy`` / ``.png`` / ``.json``
and ``images.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from disco_core.config import from_dict, load_yaml
from disco_core.diffusion.curvature import mean_curvature
from disco_core.diffusion.guidance import GuidedDenoiser
from disco_core.diffusion.loss import EDMLoss
from disco_core.diffusion.precond import EDMPrecond
from disco_core.diffusion.samplers import CallCounter, heun_sampler
from disco_core.diffusion.schedules import EDMSchedule
from disco_core.images.datasets import ImageSet, load_images, split
from disco_core.images.encoder import ImageEncoder
from disco_core.images.metrics import (
    FeatureClassifier,
    class_accuracy,
    class_statistics,
    extract_features,
    frechet_distance,
    train_classifier,
)
from disco_core.images.unet import UNet
from disco_core.latents.dropout import drop_mask
from disco_core.latents.quantize import codebook_perplexity, codes_to_onehot, quantize_global
from disco_core.prior.ar_transformer import ARPrior
from disco_core.training import EMA, load_checkpoint, save_checkpoint, seed_everything

MODELS = ("baseline", "disco")
RESULT_KEYS = (
    "fd_baseline",
    "fd_disco",
    "fd_disco_oracle",
    "nfe",
    "curvature_baseline",
    "curvature_disco",
    "codebook_perplexity",
    "prior_cross_entropy",
    "prior_val_cross_entropy",
    "class_accuracy_baseline",
    "class_accuracy_disco",
    "ambiguous_baseline",
    "ambiguous_disco",
    "class_kl_baseline",
    "class_kl_disco",
    "classifier_test_accuracy",
    "n_samples",
    "n_test",
    "metric",
    "seed",
    "seconds",
    "cpu_seconds",
)
METRIC_NOTE = (
    "Frechet distance in the hidden-layer features of a small CNN trained on the training split "
    "(not ImageNet FID), test split vs samples"
)


@dataclass
class ImagesConfig:
    """Everything the image experiment needs. Defaults: a CPU-sized run on scikit-learn's digits."""

    # data
    data: str = "digits"  # "digits", a .npy/.npz file or a folder of images
    labels: str | None = None  # optional .npy of integer labels for a .npy image array
    image_size: int | None = None  # None: native size (digits: 8 x 8)
    test_fraction: float = 0.2
    split_seed: int = 0  # fixed, so every run holds out the same images
    conditional: bool = False  # class-conditional denoisers (needs labels)
    # U-Net (shared by both models)
    channels: int = 16
    channel_mult: list[int] = field(default_factory=lambda: [1, 2])
    num_blocks: int = 1
    attn_resolutions: list[int] = field(default_factory=lambda: [4])
    emb_dim: int = 128
    dropout: float = 0.0
    # EDM training (shared by both models)
    sigma_data: float | None = None  # None: the training images' standard deviation
    P_mean: float = -1.2
    P_std: float = 1.2
    train_steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-3
    ema_decay: float = 0.999
    # latents (DisCo model)
    m: int = 4
    k: int = 16
    encoder_channels: list[int] = field(default_factory=lambda: [32, 64])
    gumbel_temperature: float = 1.0
    latent_dropout: float = 0.1
    guidance: float = 0.0  # classifier-free guidance weight over the latents at sampling time
    # prior
    prior_steps: int = 1000
    prior_val_fraction: float = 0.1  # held-out training codes for early stopping
    prior_eval_every: int = 50
    prior_batch_size: int = 256
    prior_lr: float = 1e-3
    prior_d_model: int = 128
    prior_layers: int = 2
    prior_heads: int = 4
    prior_dropout: float = 0.1
    prior_temperature: float = 1.0
    # sampling
    num_steps: int = 18  # Heun steps; NFE = 2 * num_steps - 1
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0
    n_samples: int = 1000
    oracle: bool = True  # also sample DisCo with the encoder's latents of the test images (upper bound)
    # metric
    classifier_steps: int = 1000
    classifier_channels: list[int] = field(default_factory=lambda: [32, 64])
    feature_dim: int = 64
    classifier_seed: int = 0  # fixed, so FD is comparable across training seeds
    grid: int = 10  # the sample figures show grid x grid images


def load_config(path: str | Path | None = None, **overrides: Any) -> ImagesConfig:
    """Defaults, then the YAML file at ``path`` (if any), then keyword ``overrides``.

    Raises ``ValueError`` naming the file for an unreadable file or an unknown option.
    """
    try:
        data = load_yaml(path) if path is not None else {}
    except FileNotFoundError:
        raise ValueError(f"{path}: config file not found") from None
    except Exception as exc:  # a YAML syntax error
        raise ValueError(f"{path}: not a readable YAML config ({type(exc).__name__})") from exc
    data.update(overrides)
    try:
        cfg = from_dict(ImagesConfig, data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path or 'config'}: {exc}") from None
    _check_config(cfg, path)
    return cfg


def _check_config(cfg: ImagesConfig, source: str | Path | None) -> None:
    where = source or "config"
    if cfg.m < 1 or cfg.k < 2:
        raise ValueError(f"{where}: the DisCo model needs m >= 1 latents of k >= 2 codes, got m={cfg.m}, k={cfg.k}")
    if cfg.num_steps < 2 or cfg.train_steps < 1 or cfg.n_samples < 2:
        raise ValueError(f"{where}: need num_steps >= 2, train_steps >= 1 and n_samples >= 2")
    if not 0.0 <= cfg.latent_dropout <= 1.0:
        raise ValueError(f"{where}: latent_dropout must be in [0, 1], got {cfg.latent_dropout}")


def _log(msg: str, verbose: bool) -> None:
    if verbose:
        print(msg, flush=True)


# ---------------------------------------------------------------------------------------------- data


def load_data(cfg: ImagesConfig) -> tuple[ImageSet, ImageSet]:
    """The fixed (``split_seed``) train / test split of ``cfg.data``."""
    data = load_images(cfg.data, size=cfg.image_size, labels=cfg.labels)
    if cfg.conditional and data.labels is None:
        raise ValueError(f"{cfg.data}: conditional: true needs class labels, and this data set has none")
    return split(data, test_fraction=cfg.test_fraction, seed=cfg.split_seed)


def resolve(cfg: ImagesConfig, train: ImageSet) -> ImagesConfig:
    """Fill in what the data decide (``sigma_data``); this resolved config goes into every checkpoint."""
    if cfg.sigma_data is None:
        cfg = dataclasses.replace(cfg, sigma_data=round(float(train.images.std()), 4))
    return cfg


# -------------------------------------------------------------------------------------------- models


def _num_classes(cfg: ImagesConfig, data: ImageSet) -> int:
    return data.num_classes if cfg.conditional else 0


def build_unet(cfg: ImagesConfig, shape: tuple[int, int, int], num_classes: int, *, m: int = 0) -> UNet:
    """The raw U-Net of either model (``m = 0``: the baseline)."""
    channels, height, width = shape
    if height != width:
        raise ValueError(f"images must be square, got {height} x {width}")
    return UNet(
        in_channels=channels, image_size=height, channels=cfg.channels, channel_mult=tuple(cfg.channel_mult),
        num_blocks=cfg.num_blocks, attn_resolutions=tuple(cfg.attn_resolutions), emb_dim=cfg.emb_dim,
        num_classes=num_classes, m=m, k=cfg.k if m else 0, dropout=cfg.dropout,
    )


def build_baseline(cfg: ImagesConfig, shape: tuple[int, int, int], num_classes: int) -> EDMPrecond:
    """The EDM baseline denoiser ``D(x, sigma, cond)``."""
    return EDMPrecond(model=build_unet(cfg, shape, num_classes), sigma_data=float(cfg.sigma_data))


class DiscoImageModel(nn.Module):
    """Encoder + latent-conditioned denoiser of the DisCo model, trained together.

    ``denoiser(x, sigma, cond, latents)`` takes one-hot latents ``[B, m, k]`` (all-zero rows or ``None``:
    dropped latents); ``encoder(x0, cond)`` gives their logits.
    """

    def __init__(self, *, cfg: ImagesConfig, shape: tuple[int, int, int], num_classes: int):
        super().__init__()
        self.m, self.k = cfg.m, cfg.k
        self.encoder = ImageEncoder(
            in_channels=shape[0], m=cfg.m, k=cfg.k, channels=tuple(cfg.encoder_channels), num_classes=num_classes
        )
        self.denoiser = EDMPrecond(model=build_unet(cfg, shape, num_classes, m=cfg.m), sigma_data=float(cfg.sigma_data))

    @torch.no_grad()
    def encode_codes(self, x0: torch.Tensor, cond: torch.Tensor | None = None, *, batch_size: int = 1024) -> torch.Tensor:
        """The frozen encoder's most likely codes ``[N, m]`` (what the prior learns to predict)."""
        out = []
        for i in range(0, x0.shape[0], batch_size):
            c = None if cond is None else cond[i : i + batch_size]
            out.append(quantize_global(self.encoder(x0[i : i + batch_size], c), temperature=0.0, sample=False)[1])
        return torch.cat(out)


def build_prior(cfg: ImagesConfig, num_classes: int) -> ARPrior:
    return ARPrior(
        m=cfg.m, k=cfg.k, cond_dim=num_classes, d_model=cfg.prior_d_model, n_layers=cfg.prior_layers,
        n_heads=cfg.prior_heads, dropout=cfg.prior_dropout,
    )


def build_classifier(cfg: ImagesConfig, shape: tuple[int, int, int], num_classes: int) -> FeatureClassifier:
    return FeatureClassifier(
        in_channels=shape[0], num_classes=num_classes, channels=tuple(cfg.classifier_channels), feature_dim=cfg.feature_dim
    )


# ------------------------------------------------------------------------------------------ training


def _generator(seed: int, device: torch.device | str) -> torch.Generator:
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
    """Adam with cosine decay over ``steps`` random batches; returns the EMA of ``model``'s weights.

    ``batch_loss(x0, cond, generator)`` gives the scalar loss of one batch (``cond``: one-hot classes
    or None). Both denoisers go through here, so they get the same budget.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))
    ema = EMA(model, decay=ema_decay, warmup=True)
    model.train()
    running, t0 = None, time.perf_counter()
    report_every = max(steps // 5, 1)
    for step in range(steps):
        idx = torch.randint(0, len(data), (batch_size,), generator=generator, device=generator.device)
        idx = idx.to(data.images.device)
        cond = data.onehot(idx) if conditional else None
        loss = batch_loss(data.images[idx], cond, generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        ema.update(model)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % report_every == 0 or step + 1 == steps:
            _log(f"  [{name}] step {step + 1}/{steps}  loss {running:.4f}  ({time.perf_counter() - t0:.0f} s)", verbose)
    return ema


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
    model = build_baseline(cfg, train.shape, _num_classes(cfg, train)).to(train.images.device)
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
    model = DiscoImageModel(cfg=cfg, shape=train.shape, num_classes=_num_classes(cfg, train)).to(train.images.device)
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
) -> tuple[ARPrior, dict[str, float]]:
    """Fit the AR prior to the frozen encoder's ``codes`` ``[N, m]`` (``cond``: one-hot classes or None).

    A seeded ``prior_val_fraction`` of the codes is held out; every ``prior_eval_every`` steps the
    held-out cross-entropy is measured and the best weights are kept (early stopping: a prior over a
    few thousand code sequences overfits quickly). Returns the prior (eval mode) and its figures:
    ``cross_entropy`` (training codes) and ``val_cross_entropy`` (held-out codes), in nats per token,
    and ``best_step``.
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
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
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
        figures = {"cross_entropy": float(prior.loss(*pick(fit_idx))), "val_cross_entropy": held_out(), "best_step": best_step}
    prior.eval()
    _log(
        f"  [prior] best of {cfg.prior_steps} steps at {best_step}: cross-entropy {figures['cross_entropy']:.3f} train, "
        f"{figures['val_cross_entropy']:.3f} held out (nats/token; uniform {math.log(cfg.k):.3f})", verbose,
    )
    return prior, figures


def train_feature_classifier(cfg: ImagesConfig, train: ImageSet, test: ImageSet, *, verbose: bool = True) -> tuple[FeatureClassifier, float]:
    """Train the metric's classifier on the training split from ``classifier_seed`` (on the data's device);
    returns it and its accuracy on the test split (needs labels)."""
    if train.labels is None:
        raise ValueError(f"{cfg.data}: the Frechet-distance classifier needs class labels, and this data set has none")
    g = _generator(cfg.classifier_seed, train.images.device)
    torch.manual_seed(cfg.classifier_seed)  # the initial weights
    clf = build_classifier(cfg, train.shape, train.num_classes).to(train.images.device)
    train_classifier(clf, train.images, train.labels, steps=cfg.classifier_steps, generator=g)
    acc = class_accuracy(clf, test.images, test.labels)
    _log(f"  [classifier] {cfg.classifier_steps} steps, test accuracy {acc:.4f}", verbose)
    return clf, acc


# ------------------------------------------------------------------------------------------ sampling


def sigmas_for(cfg: ImagesConfig) -> torch.Tensor:
    return EDMSchedule(sigma_min=cfg.sigma_min, sigma_max=cfg.sigma_max, rho=cfg.rho).sigmas(cfg.num_steps)


def sampling_inputs(
    cfg: ImagesConfig, shape: tuple[int, int, int], num_classes: int, *, n: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Starting noise ``x_T`` ``[n, C, H, W]`` (scaled to sigma_max) and, if conditional, balanced labels
    ``[n]`` (class i % num_classes). Both models get the same, so their difference is the models'."""
    g = torch.Generator().manual_seed(seed)
    x_T = cfg.sigma_max * torch.randn((n, *shape), generator=g)
    labels = torch.arange(n) % num_classes if num_classes else None
    return x_T, labels


@torch.no_grad()
def sample_images(
    denoiser: Callable[..., torch.Tensor],
    x_T: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    cond: torch.Tensor | None = None,
    latents: torch.Tensor | None = None,
    batch_size: int = 500,
) -> tuple[torch.Tensor, float, int]:
    """Heun-sample in batches: returns images ``[n, C, H, W]`` clamped to [-1, 1], the mean ODE curvature
    of their paths, and the NFE per sample."""
    images, curvatures, nfe = [], [], 0
    for i in range(0, x_T.shape[0], batch_size):
        part = slice(i, i + batch_size)
        counter = CallCounter(denoiser)
        x0, traj = heun_sampler(
            counter, x_T[part], sigmas, cond=None if cond is None else cond[part],
            latents=None if latents is None else latents[part], return_trajectory=True,
        )
        images.append(x0.clamp(-1, 1).cpu())
        curvatures.append(mean_curvature(traj) * x0.shape[0])
        nfe = counter.calls
    return torch.cat(images), sum(curvatures) / x_T.shape[0], nfe


def save_grid(path: str | Path, images: torch.Tensor, *, grid: int, scale: int = 4) -> None:
    """Write the first ``grid * grid`` images ``[N, C, H, W]`` in [-1, 1] as one PNG (nearest-neighbour
    upscaled by ``scale``, a 1-pixel light border between tiles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(grid * grid, images.shape[0])
    rows = math.ceil(n / grid)
    c, h, w = images.shape[1:]
    x = ((images[:n].clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    x = x.repeat(scale, axis=1).repeat(scale, axis=2)
    hs, ws = h * scale + 1, w * scale + 1
    canvas = np.full((rows * hs + 1, grid * ws + 1, c), 0.75, dtype=np.float32)
    for j in range(n):
        r, q = divmod(j, grid)
        canvas[1 + r * hs : (r + 1) * hs, 1 + q * ws : (q + 1) * ws] = x[j]
    if c == 1:
        # Digits are dark ink on light paper in sklearn's convention (0 = background): show ink dark.
        plt.imsave(path, 1.0 - canvas[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        plt.imsave(path, canvas)


# ---------------------------------------------------------------------------------- run folder steps


def _save_model(path: Path, model: nn.Module, cfg: ImagesConfig, *, step: int, extra: dict[str, Any]) -> None:
    save_checkpoint(path, state={"model": model.state_dict()}, config=cfg, step=step, extra=extra)


def _extra(data: ImageSet, num_classes: int) -> dict[str, Any]:
    return {"shape": list(data.shape), "num_classes": int(num_classes), "data_classes": int(data.num_classes)}


def train_step(
    cfg: ImagesConfig,
    out: str | Path,
    *,
    seed: int = 0,
    what: tuple[str, ...] = ("classifier", "baseline", "disco", "prior"),
    device: torch.device | str = "cpu",
    verbose: bool = True,
) -> dict[str, float]:
    """Train the named parts on ``device`` and write their checkpoints into ``out``; returns training figures.

    The prior needs ``disco.pt`` (trained now or earlier in the same folder).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(what) - {"classifier", "baseline", "disco", "prior"})
    if unknown:
        raise ValueError(f"unknown part(s) to train: {', '.join(unknown)}")
    train, test = load_data(cfg)
    cfg = resolve(cfg, train)
    train, test = train.to(device), test.to(device)
    seed_everything(seed)
    num_classes = _num_classes(cfg, train)
    extra = _extra(train, num_classes)
    figures: dict[str, float] = {}
    _log(
        f"images: {cfg.data}, {len(train)} train / {len(test)} test images of shape {train.shape}, "
        f"sigma_data {cfg.sigma_data}, seed {seed}", verbose,
    )
    if "classifier" in what:
        clf, acc = train_feature_classifier(cfg, train, test, verbose=verbose)
        _save_model(out / "classifier.pt", clf, cfg, step=cfg.classifier_steps, extra={**extra, "test_accuracy": acc})
        figures["classifier_test_accuracy"] = acc
    if "baseline" in what:
        torch.manual_seed(seed)
        model = train_baseline(cfg, train, generator=_generator(seed + 1_000_003, device), verbose=verbose)
        _save_model(out / "baseline.pt", model, cfg, step=cfg.train_steps, extra=extra)
    if "disco" in what:
        torch.manual_seed(seed)  # same initial U-Net weights as the baseline where the layers coincide
        disco = train_disco(cfg, train, generator=_generator(seed + 2_000_003, device), verbose=verbose)
        _save_model(out / "disco.pt", disco, cfg, step=cfg.train_steps, extra=extra)
    if "prior" in what:
        disco = load_disco(out)[0].to(device)
        cond = train.onehot() if cfg.conditional else None
        codes = disco.encode_codes(train.images, cond)
        perplexity = codebook_perplexity(codes, cfg.k)
        _log(f"  codebook perplexity {perplexity:.2f} of {cfg.k} codes (mean over {cfg.m} latents)", verbose)
        prior, fig = train_prior(cfg, codes, cond, generator=_generator(seed + 3_000_003, device), verbose=verbose)
        _save_model(out / "prior.pt", prior, cfg, step=fig["best_step"], extra={**extra, "codebook_perplexity": perplexity, **fig})
        figures.update(codebook_perplexity=perplexity, prior_cross_entropy=fig["cross_entropy"],
                       prior_val_cross_entropy=fig["val_cross_entropy"])
    return figures


def _config_of(ckpt: dict[str, Any], path: Path) -> ImagesConfig:
    try:
        return from_dict(ImagesConfig, ckpt["config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: checkpoint config does not match this code ({exc})") from None


def _restore(path: Path, model: nn.Module, ckpt: dict[str, Any]) -> None:
    try:
        model.load_state_dict(ckpt["state"]["model"])
    except (KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: weights do not fit the model its config describes ({first})") from None


def load_baseline(out: str | Path) -> tuple[EDMPrecond, ImagesConfig, dict[str, Any]]:
    path = Path(out) / "baseline.pt"
    ckpt = load_checkpoint(path)
    cfg, extra = _config_of(ckpt, path), ckpt["extra"]
    model = build_baseline(cfg, tuple(extra["shape"]), extra["num_classes"])
    _restore(path, model, ckpt)
    return model.eval(), cfg, extra


def load_disco(out: str | Path) -> tuple[DiscoImageModel, ImagesConfig, dict[str, Any]]:
    path = Path(out) / "disco.pt"
    ckpt = load_checkpoint(path)
    cfg, extra = _config_of(ckpt, path), ckpt["extra"]
    model = DiscoImageModel(cfg=cfg, shape=tuple(extra["shape"]), num_classes=extra["num_classes"])
    _restore(path, model, ckpt)
    return model.eval(), cfg, extra


def load_prior(out: str | Path) -> tuple[ARPrior, dict[str, Any]]:
    path = Path(out) / "prior.pt"
    ckpt = load_checkpoint(path)
    cfg, extra = _config_of(ckpt, path), ckpt["extra"]
    prior = build_prior(cfg, extra["num_classes"])
    _restore(path, prior, ckpt)
    return prior.eval(), extra


def load_classifier(out: str | Path) -> tuple[FeatureClassifier, dict[str, Any]]:
    path = Path(out) / "classifier.pt"
    ckpt = load_checkpoint(path)
    cfg, extra = _config_of(ckpt, path), ckpt["extra"]
    clf = build_classifier(cfg, tuple(extra["shape"]), extra["data_classes"])
    _restore(path, clf, ckpt)
    return clf.eval(), extra


def sample_step(
    out: str | Path,
    *,
    models: tuple[str, ...] = MODELS,
    seed: int = 0,
    n: int | None = None,
    num_steps: int | None = None,
    prior_temperature: float | None = None,
    guidance: float | None = None,
    device: torch.device | str = "cpu",
    verbose: bool = True,
) -> dict[str, dict[str, Any]]:
    """Sample the named models of the run folder ``out`` on ``device``; writes ``samples_<model>.npy/.png/.json``.

    ``n``, ``num_steps``, ``prior_temperature`` and ``guidance`` override the config's values. Every model starts from
    the same noise (drawn from ``seed``); DisCo draws its latents from the prior with ``seed`` too.
    """
    out = Path(out)
    unknown = sorted(set(models) - set(MODELS) - {"disco_oracle"})
    if unknown:
        raise ValueError(f"unknown model(s) to sample: {', '.join(unknown)}")
    info: dict[str, dict[str, Any]] = {}
    for name in models:
        if name == "baseline":
            model, cfg, extra = load_baseline(out)
            model.to(device)
        else:
            disco, cfg, extra = load_disco(out)
            disco.to(device)
        changes = {"num_steps": num_steps, "prior_temperature": prior_temperature, "guidance": guidance}
        cfg = dataclasses.replace(cfg, **{key: value for key, value in changes.items() if value is not None})
        shape, num_classes = tuple(extra["shape"]), extra["num_classes"]
        count = n or cfg.n_samples
        sigmas = sigmas_for(cfg)
        x_T, labels = sampling_inputs(cfg, shape, num_classes, n=count, seed=seed)
        x_T = x_T.to(device)
        cond = None if labels is None else nn.functional.one_hot(labels, num_classes).float().to(device)
        meta: dict[str, Any] = {}
        t0 = time.perf_counter()
        if name == "baseline":
            images, curv, nfe = sample_images(model, x_T, sigmas.to(device), cond=cond)
        else:
            if name == "disco":
                prior = load_prior(out)[0].to(device)
                codes = prior.sample(cond, batch_size=count, temperature=cfg.prior_temperature,
                                     generator=torch.Generator().manual_seed(seed + 7))
            else:  # oracle: the encoder's codes of the test images (an upper bound, not a generative model)
                test = load_data(cfg)[1].to(device)
                test_cond = test.onehot() if num_classes else None
                codes = disco.encode_codes(test.images, test_cond)
                reps = math.ceil(count / len(test))
                codes = codes.repeat(reps, 1)[:count]
                if num_classes:
                    labels = test.labels.repeat(reps)[:count].cpu()
                    cond = nn.functional.one_hot(labels, num_classes).float().to(device)
            latents = codes_to_onehot(codes, cfg.k)
            denoiser = GuidedDenoiser(denoiser=disco.denoiser, w=cfg.guidance) if cfg.guidance else disco.denoiser
            images, curv, nfe = sample_images(denoiser, x_T, sigmas.to(device), cond=cond, latents=latents)
            meta["codebook_perplexity_samples"] = codebook_perplexity(codes.cpu(), cfg.k)
        if name != "baseline":
            meta.update(prior_temperature=cfg.prior_temperature, guidance=cfg.guidance)
        meta.update(nfe=nfe, curvature=curv, n=count, num_steps=cfg.num_steps, seed=seed,
                    seconds=time.perf_counter() - t0)
        np.save(out / f"samples_{name}.npy", images.numpy())
        if labels is not None:
            np.save(out / f"labels_{name}.npy", labels.numpy())
        save_grid(out / f"samples_{name}.png", _grid_order(images, labels, cfg.grid), grid=cfg.grid)
        (out / f"samples_{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
        _log(f"  [sample {name}] {count} images, NFE {nfe}, curvature {curv:.4g}, {meta['seconds']:.0f} s", verbose)
        info[name] = meta
    return info


def _grid_order(images: torch.Tensor, labels: torch.Tensor | None, grid: int) -> torch.Tensor:
    """With labels, put class c's first samples in column c (so each column of the grid is one class)."""
    if labels is None:
        return images
    num = int(labels.max()) + 1
    if num > grid:
        return images
    picks = [torch.nonzero(labels == c).flatten()[:grid] for c in range(num)]
    rows = min(len(p) for p in picks)
    order = torch.stack([p[:rows] for p in picks], dim=1).flatten()
    return images[order]


def _load_samples(out: Path, name: str) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, Any]]:
    path = out / f"samples_{name}.npy"
    if not path.is_file():
        raise ValueError(f"{path}: no samples; run the 'sample' step first")
    images = torch.from_numpy(np.load(path, allow_pickle=False))
    label_path = out / f"labels_{name}.npy"
    labels = torch.from_numpy(np.load(label_path, allow_pickle=False)) if label_path.is_file() else None
    meta = json.loads((out / f"samples_{name}.json").read_text())
    return images, labels, meta


def eval_step(out: str | Path, *, timing: dict[str, float] | None = None, verbose: bool = True) -> dict[str, Any]:
    """Score the samples of the run folder ``out`` against the test split (on the CPU); writes
    ``out/images.json``. ``timing`` (``seconds``, ``cpu_seconds``) is recorded as given, or kept from an
    earlier ``images.json`` of the same folder."""
    out = Path(out)
    clf, clf_extra = load_classifier(out)
    _, cfg, _ = load_baseline(out)
    train, test = load_data(cfg)
    class_freq = torch.bincount(train.labels, minlength=train.num_classes)
    test_features = extract_features(clf, test.images)
    result: dict[str, Any] = {
        "metric": METRIC_NOTE,
        "n_test": len(test),
        "classifier_test_accuracy": clf_extra.get("test_accuracy"),
    }
    names = ["baseline", "disco"] + (["disco_oracle"] if (out / "samples_disco_oracle.npy").is_file() else [])
    nfes = set()
    for name in names:
        images, labels, meta = _load_samples(out, name)
        result[f"fd_{name}"] = frechet_distance(extract_features(clf, images), test_features)
        if name in MODELS:
            result[f"curvature_{name}"] = meta["curvature"]
            nfes.add(meta["nfe"])
            result["n_samples"], result["seed"] = meta["n"], meta["seed"]
            if labels is not None:
                result[f"class_accuracy_{name}"] = class_accuracy(clf, images, labels)
            stats = class_statistics(clf, images, class_freq)
            result[f"ambiguous_{name}"] = stats["ambiguous"]
            result[f"class_kl_{name}"] = stats["class_kl"]
    if len(nfes) != 1:
        raise ValueError(f"{out}: baseline and DisCo samples were drawn at different NFE ({sorted(nfes)}); resample")
    result["nfe"] = nfes.pop()
    prior_path = out / "prior.pt"
    if prior_path.is_file():
        prior_extra = load_checkpoint(prior_path)["extra"]
        result["codebook_perplexity"] = prior_extra.get("codebook_perplexity")
        result["prior_cross_entropy"] = prior_extra.get("cross_entropy")
        result["prior_val_cross_entropy"] = prior_extra.get("val_cross_entropy")
    if timing is None and (out / "images.json").is_file():
        timing = {k: v for k, v in json.loads((out / "images.json").read_text()).items() if k in ("seconds", "cpu_seconds")}
    result.update(timing or {})
    result = {key: result[key] for key in RESULT_KEYS if key in result and result[key] is not None}
    (out / "images.json").write_text(json.dumps(result, indent=2) + "\n")
    _log("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items() if k != "metric"), verbose)
    return result


def run_images(
    out: str | Path,
    *,
    config: ImagesConfig | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    verbose: bool = True,
) -> dict[str, Any]:
    """Train everything, sample both models at the same NFE, evaluate; writes ``out/images.json`` and the
    sample figures and returns the result dict (with the whole run's wall time in ``seconds`` and this
    process's CPU time in ``cpu_seconds``, which other work on a shared machine does not inflate)."""
    t0, c0 = time.perf_counter(), time.process_time()
    cfg = config or ImagesConfig()
    train_step(cfg, out, seed=seed, device=device, verbose=verbose)
    models = MODELS + (("disco_oracle",) if cfg.oracle else ())
    sample_step(out, models=models, seed=seed, device=device, verbose=verbose)
    # The times cover training and sampling; scoring takes a second or two more.
    timing = {"seconds": round(time.perf_counter() - t0, 1), "cpu_seconds": round(time.process_time() - c0, 1)}
    result = eval_step(out, timing=timing, verbose=False)
    _log("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items() if k != "metric"), verbose)
    return result
