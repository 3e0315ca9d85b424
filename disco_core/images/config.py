"""Settings of the image experiment (``ImagesConfig``), read from YAML, and what the data decide.

``load_config`` layers defaults, a YAML file and keyword overrides; ``load_data`` gives the fixed
train / test split a config names; ``resolve`` fills in ``sigma_data`` from the training images (the
resolved config is what every checkpoint stores).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disco_core.config import from_dict, load_yaml
from disco_core.images.datasets import ImageSet, load_images, split


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
    prior_temperature: float | None = None  # None: chosen among prior_temperatures on the held-out codes
    prior_temperatures: list[float] = field(default_factory=lambda: [0.8, 0.9, 1.0, 1.1, 1.25])
    # sampling
    num_steps: int = 18  # Heun steps; NFE = 2 * num_steps - 1
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0
    n_samples: int = 1000
    # Scrambled-Sobol starting noise (shared by all models) and the prior's codes by inverse CDF of its
    # joint from one more Sobol coordinate, so a sample's code frequencies are the prior's own
    # (unconditional priors with k^m <= 65,536); false: i.i.d. noise and ancestral draws.
    quasi_random: bool = True
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
    if cfg.prior_temperature is not None and not cfg.prior_temperature > 0:
        raise ValueError(f"{where}: prior_temperature must be > 0 (or null: chosen on held-out codes)")
    if not cfg.prior_temperatures or min(cfg.prior_temperatures) <= 0:
        raise ValueError(f"{where}: prior_temperatures must be a non-empty list of positive numbers")
    if not 0.0 <= cfg.latent_dropout <= 1.0:
        raise ValueError(f"{where}: latent_dropout must be in [0, 1], got {cfg.latent_dropout}")


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

