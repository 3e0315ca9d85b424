"""The full docking run configuration: model + diffusion + data + training + sampling defaults.

One YAML file (``configs/docking/<name>.yaml``) holds all five sections; the resolved
:class:`DockingConfig` (defaults filled in) is written beside every checkpoint and travels inside it, so a
checkpoint alone rebuilds its networks and knows how it wants to be sampled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disco_core.config import from_dict, load_yaml, to_dict
from discodock.errors import ConfigError
from discodock.models.config import PRESETS, ModelConfig, config_dir, model_config_from_dict


@dataclass
class DiffusionConfig:
    """Noise ranges of the three pose components (DiffDock's geometric schedules).

    Translation in Angstrom, rotation and torsion in radians. ``tr_max`` is the spread of the translation
    prior around the site centre: 19 A covers a whole protein (blind); pocket mode uses a few Angstrom.
    """

    tr_min: float = 0.1
    tr_max: float = 19.0
    rot_min: float = 0.03
    rot_max: float = 1.55
    tor_min: float = 0.0314
    tor_max: float = 3.1416

    def schedule(self):
        from discodock.diffusion.noise import PoseNoiseSchedule

        return PoseNoiseSchedule(**dataclasses.asdict(self))


@dataclass
class DataConfig:
    """How complexes become training graphs.

    ``mode``: "pocket" (receptor cropped to ``pocket_radius`` A around a site centre = crystal ligand centroid
    + noise in training, a user's ``--pocket-center`` at inference). ``pocket_noise_shape`` "gaussian":
    isotropic Gaussian of ``pocket_noise`` A per axis; "ball": uniform in a ball of radius ``pocket_noise`` A
    (how far a user's site, a crystal-ligand centroid or a box centre, lies from the true centroid) or "blind" (whole receptor, site = receptor centre). ``max_heavy_atoms`` / ``max_residues``
    skip very large complexes in training.
    """

    mode: str = "pocket"
    pocket_radius: float = 20.0
    pocket_noise: float = 2.0
    pocket_noise_shape: str = "gaussian"
    receptor_radius: float = 15.0
    receptor_max_neighbours: int = 24
    max_heavy_atoms: int = 80
    max_residues: int = 2000
    conformer_matching: bool = True

    def __post_init__(self) -> None:
        if self.mode not in ("pocket", "blind"):
            raise ConfigError(None, f"data mode must be 'pocket' or 'blind', got {self.mode!r}")
        if self.pocket_noise_shape not in ("gaussian", "ball"):
            raise ConfigError(None, f"pocket_noise_shape must be 'gaussian' or 'ball', got {self.pocket_noise_shape!r}")


@dataclass
class TrainConfig:
    """Optimisation of each stage. Steps count optimiser updates; learning rates are AdamW's."""

    steps: int = 20000
    batch_size: int = 4
    lr: float = 1e-3
    # Score stage: constant lr until lr_decay_start, then linear to final_lr at lr_decay_end (default: steps).
    # An explicit end keeps the schedule fixed when a run is stopped early with --steps and resumed.
    lr_decay_start: int | None = None
    lr_decay_end: int | None = None
    final_lr: float = 1e-5
    # Score stage: start from these weights (an exported or training checkpoint with the same networks), e.g.
    # a blind run warm-started from a pocket model; kept in the config so the checkpoint says where it began.
    init_from: str | None = None
    weight_decay: float = 0.0
    grad_clip: float = 10.0
    ema_decay: float = 0.999
    log_every: int = 10
    val_every: int = 250
    val_batches: int = 16
    val_times: tuple[float, ...] = (0.25, 0.5, 0.75)  # diffusion times the validation loss is measured at
    ckpt_every: int = 250
    seed: int = 0
    num_workers: int = 0
    prior_steps: int = 3000
    prior_lr: float = 1e-3
    confidence_steps: int = 2000
    confidence_samples: int = 4

    def __post_init__(self) -> None:
        # caught when the config loads, not at step lr_decay_start of a long run
        if self.lr_decay_start is not None and self.lr_decay_end is not None \
                and self.lr_decay_end <= self.lr_decay_start:
            raise ConfigError(None, f"train.lr_decay_end ({self.lr_decay_end}) must be after "
                                    f"train.lr_decay_start ({self.lr_decay_start})")


@dataclass
class SamplingConfig:
    """Defaults of ``discodock dock`` for this checkpoint (command-line flags override them)."""

    steps: int = 20
    samples: int = 10
    ode: bool = False
    temperature: float = 1.0
    prior_temperature: float = 1.0
    rank: str = "confidence"
    refine: str = "none"  # none | vina: Vina local optimisation of each pose before ranking


@dataclass
class DockingConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def docking_config_from_dict(data: dict[str, Any] | None, *, source: str | Path | None = None) -> DockingConfig:
    data = dict(data or {})
    unknown = sorted(set(data) - {"model", "diffusion", "data", "train", "sampling"})
    if unknown:
        raise ConfigError(source, f"unknown config section(s): {', '.join(unknown)}")
    try:
        return DockingConfig(
            model=model_config_from_dict(data.get("model"), source=source),
            diffusion=from_dict(DiffusionConfig, data.get("diffusion")),
            data=from_dict(DataConfig, data.get("data")),
            train=from_dict(TrainConfig, data.get("train")),
            sampling=from_dict(SamplingConfig, data.get("sampling")),
        )
    except ConfigError as err:
        raise ConfigError(source, err.problem) from None
    except (TypeError, ValueError) as err:
        raise ConfigError(source, str(err)) from None


def load_docking_config(path_or_name: str | Path, overrides: dict[str, Any] | None = None) -> DockingConfig:
    """A config file, or a preset name resolved to ``configs/docking/<name>.yaml`` (or the in-code model preset
    when the repository's configs folder is absent). ``overrides``: ``{"train.steps": 100, ...}``."""
    text = str(path_or_name)
    is_name = not text.endswith((".yaml", ".yml")) and "/" not in text
    path = config_dir() / f"{text}.yaml" if is_name else Path(text)
    if path.is_file():
        try:
            data = load_yaml(path)
        except Exception as err:
            raise ConfigError(path, f"not a valid YAML file ({type(err).__name__})") from None
    elif is_name and text in PRESETS:
        data = {"model": PRESETS[text]}
    else:
        raise ConfigError(path, "config file not found")
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})
        target = data[section]
        *parents, leaf = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = value
    return docking_config_from_dict(data, source=path)
