"""The full docking run configuration: model + diffusion + data + training + sampling defaults.

One YAML file (a path, or a preset packaged as ``discodock/configs/<name>.yaml``) holds all five sections; the resolved
:class:`DockingConfig` (defaults filled in) is written beside every checkpoint and travels inside it, so a
checkpoint alone rebuilds its networks and knows how it wants to be sampled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disco_core.config import from_dict, load_yaml, to_dict
from discodock.diffusion.noise import DiffusionConfig
from discodock.errors import ConfigError
from discodock.models.config import ModelConfig, model_config_from_dict, preset_path


@dataclass
class DataConfig:
    """How complexes become training graphs.

    ``mode``: "pocket" (receptor cropped to ``pocket_radius`` A around a site centre = crystal ligand centroid
    + noise in training, a user's ``--pocket-center`` at inference) or "blind" (whole receptor, site =
    receptor centre). Training's site noise: ``pocket_noise_shape`` "gaussian", an isotropic Gaussian of
    ``pocket_noise`` A per axis; "ball", uniform in a ball of radius ``pocket_noise`` A (how far a user's
    site, a crystal-ligand centroid or a box centre, lies from the true centroid). ``max_heavy_atoms`` /
    ``max_residues`` skip very large complexes in training. ``pocket_atoms`` (pocket mode): the protein's heavy
    atoms within ``atom_radius`` A of the site become nodes too, each linked to its residue and to at most
    ``atom_max_neighbours`` atoms within ``atom_edge_radius`` A (:mod:`discodock.data.receptor_atoms`).
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
    pocket_atoms: bool = False
    atom_radius: float = 12.0
    atom_edge_radius: float = 5.0
    atom_max_neighbours: int = 8

    def atom_view(self) -> dict[str, Any]:
        """The receptor-atom arguments of ``build_complex`` / ``site_view`` (empty: no atom nodes)."""
        if not self.pocket_atoms:
            return {}
        return {"atom_radius": self.atom_radius, "atom_edge_radius": self.atom_edge_radius,
                "atom_max_neighbours": self.atom_max_neighbours}

    def __post_init__(self) -> None:
        if self.pocket_atoms and self.mode != "pocket":
            raise ConfigError(None, "data.pocket_atoms needs data.mode 'pocket' (atoms are cropped around the site)")
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
    refine: str = "none"  # none | vina | search: Vina local optimisation, or a Monte Carlo search then it
    search_iterations: int = 30  # refine=search: Monte Carlo steps per chain
    search_chains: int = 4  # refine=search: chains started from each sampled pose
    random_starts: int = 0  # refine=search: extra starts, the conformer at the site in random orientations
    search_keep: int = 0  # refine=search: poses kept for Vina's optimisation, best by map score first (0: all)


@dataclass
class DockingConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def to_checkpoint_dict(self) -> dict[str, Any]:
        """What a checkpoint stores: the resolved config with its layout version (see :func:`migrate_config`)."""
        return {**to_dict(self), "config_version": CONFIG_VERSION}


def docking_config_from_dict(data: dict[str, Any] | None, *, source: str | Path | None = None) -> DockingConfig:
    """Build a :class:`DockingConfig`; missing keys take the defaults. A checkpoint's stored config goes
    through :func:`migrate_config` first (its defaults may have been others)."""
    data = dict(data or {})
    version = data.pop("config_version", None)
    if version is not None and version > CONFIG_VERSION:
        raise ConfigError(source, f"config version {version} is newer than this discodock understands "
                                  f"({CONFIG_VERSION}); upgrade discodock")
    unknown = sorted(set(data) - {"model", "diffusion", "data", "train", "sampling"})
    if unknown:
        raise ConfigError(source, f"unknown config section(s): {', '.join(unknown)}")
    try:
        cfg = DockingConfig(
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
    atom_nets = [name for name in ("score", "encoder", "prior") if getattr(cfg.model, name).pocket_atoms]
    if atom_nets and not cfg.data.pocket_atoms:
        raise ConfigError(source, f"model.{atom_nets[0]}.pocket_atoms needs data.pocket_atoms: true (the graphs "
                                  "must carry the receptor atoms)")
    return cfg


def load_docking_config(path_or_name: str | Path, overrides: dict[str, Any] | None = None) -> DockingConfig:
    """A config file, or a packaged preset by name (``tiny``, ``cpu``, ``cpu_site``...).
    ``overrides``: ``{"train.steps": 100, ...}``."""
    path = preset_path(path_or_name)
    try:
        data = load_yaml(path)
    except Exception as err:
        raise ConfigError(path, f"not a valid YAML file ({type(err).__name__})") from None
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})
        target = data[section]
        *parents, leaf = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = value
    return docking_config_from_dict(data, source=path)


#: Version of the config layout written into checkpoints (``config_version``); see :func:`migrate_config`.
CONFIG_VERSION = 3


def migrate_config(raw: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's stored config brought to :data:`CONFIG_VERSION`, one explicit step per version.

    - 1 -> 2 (checkpoints before 2026-11-28): the torsion head had l = 1 neighbour directions and no
      dihedral term; the later defaults would build other networks, so the old values are written in.
    - 2 -> 3 (2026-12-07): the version is recorded; every key added since (site features, side-chain
      vectors, contact latents, site-noise shape) defaults to the old behaviour.
    Checkpoints made before versioning carry no ``config_version``: 1 when their score section lacks
    ``tor_edge_lmax``, else 2.
    """
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    model = data.setdefault("model", {})
    score = dict(model.get("score") or {})
    version = data.pop("config_version", None)
    if version is None:
        version = 1 if "tor_edge_lmax" not in score else 2
    if version > CONFIG_VERSION:
        raise ConfigError(None, f"config version {version} is newer than this discodock understands "
                                f"({CONFIG_VERSION}); upgrade discodock")
    if version < 2:
        score.update(tor_edge_lmax=1, tor_fourier=0)
        model["score"] = score
    return data
