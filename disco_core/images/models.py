"""The networks of the image experiment, built from an ``ImagesConfig``.

The baseline and the DisCo model share one U-Net architecture (``build_unet``; ``m = 0`` for the
baseline); ``DiscoImageModel`` adds the encoder of m global latents of k codes. ``build_prior`` is the AR
prior over those codes and ``build_classifier`` the small CNN whose features the Frechet distance uses.
"""

from __future__ import annotations

import torch
from torch import nn

from disco_core.diffusion.precond import EDMPrecond
from disco_core.images.config import ImagesConfig
from disco_core.images.datasets import ImageSet
from disco_core.images.encoder import ImageEncoder
from disco_core.images.metrics import FeatureClassifier
from disco_core.images.unet import UNet
from disco_core.latents.quantize import quantize_global
from disco_core.prior.ar_transformer import ARPrior


def num_classes_of(cfg: ImagesConfig, data: ImageSet) -> int:
    """Classes the denoisers are conditioned on (0: unconditional)."""
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

