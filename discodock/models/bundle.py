"""The networks of one checkpoint as one module, and reading / writing them.

:class:`DockingModels` holds the score net, the latent encoder and the AR prior (when latents are on) and the
confidence model (when trained). :func:`load_models` rebuilds them from the config stored inside a checkpoint
(migrated to the current layout by :func:`discodock.config.migrate_config`); :func:`export_weights` writes the
small inference checkpoint that ``discodock dock`` loads. Inference reads checkpoints through here only, so it
never imports training code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from disco_core.training import load_checkpoint, save_checkpoint
from disco_core.training.checkpoint import CheckpointLoadError
from discodock.config import DockingConfig, docking_config_from_dict, migrate_config
from discodock.errors import CheckpointError, ConfigError
from discodock.models.confidence import ConfidenceModel
from discodock.models.config import ModelConfig
from discodock.models.latent_encoder import LatentEncoder
from discodock.models.prior import DockingPrior
from discodock.models.score_net import ScoreNet


class DockingModels(nn.Module):
    """The networks of one checkpoint: score net, latent encoder and prior (when latents are on), confidence."""

    def __init__(self, cfg: ModelConfig, *, with_confidence: bool = False):
        super().__init__()
        self.cfg = cfg
        self.score = ScoreNet(cfg)
        self.encoder = LatentEncoder(cfg) if cfg.latent.active else None
        self.prior = DockingPrior(cfg) if cfg.latent.active else None
        self.confidence = ConfidenceModel(cfg) if with_confidence else None

    def add_confidence(self) -> None:
        if self.confidence is None:
            self.confidence = ConfidenceModel(self.cfg)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto``: the GPU when there is one, else the CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device", "CUDA was asked for but no CUDA device is available")
    return device


def export_weights(models: DockingModels, cfg: DockingConfig, path: str | Path, *, step: int,
                   extra: dict[str, Any] | None = None) -> Path:
    """A small inference checkpoint: model weights (EMA when called inside ``ema.applied_to``) + config."""
    state = {"models": {k: v.detach().cpu() for k, v in models.state_dict().items()}}
    return save_checkpoint(path, state=state, config=cfg.to_checkpoint_dict(), step=step,
                           extra={"kind": "weights", **(extra or {})})


def read_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The raw checkpoint dict; a file that is not one raises CheckpointError (one line)."""
    try:
        return load_checkpoint(path, map_location=device)
    except CheckpointLoadError as err:
        raise CheckpointError(None, str(err)) from None


def checkpoint_config(ckpt: dict[str, Any], *, source: str | Path | None = None) -> DockingConfig:
    """The run config stored in a checkpoint, migrated to the current layout."""
    return docking_config_from_dict(migrate_config(ckpt["config"]), source=source)


def load_models(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[DockingModels, DockingConfig, dict]:
    """Rebuild the networks of a checkpoint (training state or exported weights) from the config inside it."""
    ckpt = read_checkpoint(path, device)
    try:
        cfg = checkpoint_config(ckpt, source=path)
        state = ckpt["state"]["models"]
    except (KeyError, TypeError, AttributeError):
        raise CheckpointError(path, "not a discodock checkpoint (no model weights or config inside)") from None
    has_conf = any(k.startswith("confidence.") for k in state)
    models = DockingModels(cfg.model, with_confidence=has_conf)
    missing, unexpected = models.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith(("prior.", "confidence.")) for k in missing):
        raise CheckpointError(path, f"weights do not match the config inside it "
                                    f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    ckpt["missing"] = missing
    return models.to(device).eval(), cfg, ckpt
