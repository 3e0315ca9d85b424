"""Sample quality for small image sets: a Frechet distance in the feature space of a small classifier.

This is **not** ImageNet FID. FID uses features of an Inception network trained on ImageNet; on 8 x 8
digits those features mean little, so here the features are the hidden layer of a small CNN trained to
classify the *training* split of the same data (``FeatureClassifier``). The number is comparable only
between runs that use the same classifier (same data, split, architecture and seed), which the pipeline
guarantees by training it once per run from a fixed seed. The same classifier gives the class accuracy of
class-conditional samples.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from disco_core.training.step import optimizer_step

from disco_core.images.unet import _groups


class FeatureClassifier(nn.Module):
    """A small CNN classifier whose hidden layer (``feature_dim`` values) is the Frechet feature space.

    Args:
        in_channels: image channels.
        num_classes: output classes.
        channels: width of each convolutional stage (each stage after the first halves the resolution).
        feature_dim: size of the hidden (feature) layer.
        pool: side of the pooled grid before the hidden layer.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: tuple[int, ...] | list[int] = (32, 64),
        feature_dim: int = 64,
        pool: int = 2,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_channels
        for i, out in enumerate(channels):
            layers += [nn.Conv2d(width, out, 3, stride=1 if i == 0 else 2, padding=1), nn.GroupNorm(_groups(out), out), nn.SiLU()]
            width = out
        layers += [nn.AdaptiveAvgPool2d(pool), nn.Flatten(), nn.Linear(width * pool * pool, feature_dim), nn.SiLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(feature_dim, num_classes)
        self.feature_dim, self.num_classes = int(feature_dim), int(num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden-layer features ``[B, feature_dim]`` of images ``[B, C, H, W]`` in [-1, 1]."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, num_classes]``."""
        return self.head(self.features(x))


def train_classifier(
    classifier: FeatureClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 128,
    lr: float = 2e-3,
    noise_std: float = 0.1,
    generator: torch.Generator | None = None,
) -> FeatureClassifier:
    """Fit ``classifier`` by cross-entropy on ``images`` ``[N, C, H, W]``, ``labels`` ``[N]``; returns it in eval mode.

    Runs on the device of the classifier and the data; ``generator`` may live on any device.

    ``noise_std`` adds Gaussian pixel noise to each batch, so imperfect samples still land on features
    that vary smoothly with their quality rather than on arbitrary ones.
    """
    opt = torch.optim.Adam(classifier.parameters(), lr=lr)
    classifier.train()
    for _ in range(steps):
        idx = torch.randint(0, images.shape[0], (batch_size,), generator=generator, device=_device_of(generator))
        x = images[idx.to(images.device)]
        if noise_std > 0:
            x = x + noise_std * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=_device_of(generator)).to(x.device)
        loss = F.cross_entropy(classifier(x), labels[idx.to(labels.device)])
        optimizer_step(opt, loss, classifier.parameters())
    return classifier.eval()


def _device_of(generator: torch.Generator | None) -> torch.device | None:
    """Random draws happen on the generator's device (a CPU generator cannot fill a CUDA tensor)."""
    return None if generator is None else generator.device


@torch.no_grad()
def extract_features(classifier: FeatureClassifier, images: torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """Features ``[N, feature_dim]`` of ``images`` ``[N, C, H, W]``, in batches, in eval mode."""
    classifier.eval()
    return torch.cat([classifier.features(images[i : i + batch_size]) for i in range(0, images.shape[0], batch_size)])


@torch.no_grad()
def class_accuracy(classifier: FeatureClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` the classifier assigns to ``labels`` (for class-conditional samples)."""
    classifier.eval()
    pred = torch.cat([classifier(images[i : i + 1024]).argmax(-1) for i in range(0, images.shape[0], 1024)])
    return float((pred == labels.to(pred.device)).double().mean())


@torch.no_grad()
def class_statistics(
    classifier: FeatureClassifier, images: torch.Tensor, class_freq: torch.Tensor, *, confident: float = 0.9
) -> dict[str, float]:
    """How the classifier sees a sample set, without reference images.

    Returns ``ambiguous``: the fraction of images whose top class probability is below ``confident``
    (smudges and half-formed digits), and ``class_kl``: KL(predicted class histogram || ``class_freq``)
    in nats (0 when the samples' classes come in the data's proportions; a prior that over-draws some
    classes raises it).
    """
    classifier.eval()
    probs = torch.cat([classifier(images[i : i + 1024]).softmax(-1) for i in range(0, images.shape[0], 1024)])
    top = probs.max(-1)
    hist = torch.bincount(top.indices, minlength=probs.shape[1]).double()
    hist = hist / hist.sum()
    ref = class_freq.double() / class_freq.double().sum()
    kl = torch.special.xlogy(hist, hist) - torch.special.xlogy(hist, ref)
    return {"ambiguous": float((top.values < confident).double().mean()), "class_kl": float(kl.sum())}


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative rounding eigenvalues -> 0)."""
    vals, vecs = np.linalg.eigh(matrix)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets ``a`` ``[n, d]`` and ``b`` ``[n', d]``.

    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), in float64. The symmetric form of the
    cross term keeps it real and stable where a plain ``sqrtm(S_a S_b)`` picks up imaginary rounding.
    Both sets need at least 2 rows. Zero for a set against itself; it grows as the sets drift apart.
    """
    a_np = a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)
    b_np = b.detach().cpu().double().numpy() if isinstance(b, torch.Tensor) else np.asarray(b, dtype=np.float64)
    if a_np.ndim != 2 or b_np.ndim != 2 or a_np.shape[1] != b_np.shape[1] or min(len(a_np), len(b_np)) < 2:
        raise ValueError(f"need two [n >= 2, d] feature arrays of the same d, got {a_np.shape} and {b_np.shape}")
    mu_a, mu_b = a_np.mean(0), b_np.mean(0)
    cov_a = np.atleast_2d(np.cov(a_np, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b_np, rowvar=False))
    root_a = _sqrtm_psd(cov_a)
    inner = root_a @ cov_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(0.5 * (inner + inner.T)), 0.0, None)).sum()
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)
    return max(value, 0.0)
