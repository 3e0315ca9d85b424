"""Settings of the toy experiment (``ToyConfig``): the paper's where it gives one, else what we measured to
work here (the reasons are in ``disco_core.toy.runner``'s docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disco_core.config import from_dict, load_yaml


@dataclass
class ToyConfig:
    """Everything the toy experiment needs. Defaults are the paper's setting where it gives one, and
    otherwise what we measured to work in ~2 minutes on 2 CPU cores (see ``disco_core.toy.runner``)."""

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

