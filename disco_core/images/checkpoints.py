"""The run folder's checkpoints: each part's EMA weights with the resolved config and what rebuilds it.

``extra`` records the image shape and class counts, so ``load_*`` rebuild the exact network from the
file alone; a checkpoint whose config or weights do not fit this code raises ``ValueError`` naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from disco_core.config import from_dict
from disco_core.diffusion.precond import EDMPrecond
from disco_core.images.config import ImagesConfig
from disco_core.images.datasets import ImageSet
from disco_core.images.metrics import FeatureClassifier
from disco_core.images.models import (
    DiscoImageModel,
    build_baseline,
    build_classifier,
    build_prior,
)
from disco_core.prior.ar_transformer import ARPrior
from disco_core.training import load_checkpoint, save_checkpoint


def save_model(path: Path, model: nn.Module, cfg: ImagesConfig, *, step: int, extra: dict[str, Any]) -> None:
    save_checkpoint(path, state={"model": model.state_dict()}, config=cfg, step=step, extra=extra)


def shape_extra(data: ImageSet, num_classes: int) -> dict[str, Any]:
    """What a checkpoint needs besides its config to rebuild its network."""
    return {"shape": list(data.shape), "num_classes": int(num_classes), "data_classes": int(data.num_classes)}


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

