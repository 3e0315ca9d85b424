"""The settings of one docking run, with the checkpoint supplying every default.

Each field left ``None`` means "what the checkpoint recommends" (its ``sampling`` config section, chosen on
validation data when the weights were made; ``pocket_radius`` from its ``data`` section). Run settings are
resolved once, at the start of a run, by :func:`resolve_settings`; command-line flags default to ``None``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from discodock.config import DockingConfig
from discodock.errors import ConfigError


@dataclass
class DockSettings:
    """Sampling options. Temperatures: ``prior_temperature`` > 1 flattens the latent prior, ``temperature``
    < 1 sharpens the diffusion (the paper used > 1 and < 1). ``pocket_radius`` in Angstrom. ``None``: the
    checkpoint's value."""

    samples: int | None = None
    steps: int | None = None
    latents: str = "prior"  # prior | none | oracle (benchmark only: needs the crystal pose)
    prior_temperature: float | None = None
    temperature: float | None = None
    ode: bool | None = None
    pocket_radius: float | None = None
    refine: str | None = None  # none | vina | search
    search_iterations: int | None = None  # refine=search: Monte Carlo steps per chain
    search_chains: int | None = None  # refine=search: chains per sampled pose
    random_starts: int | None = None  # refine=search: extra starts in random orientations at the site
    search_keep: int | None = None  # refine=search: searched poses kept for Vina's optimisation (0: all)
    rank: str | None = None  # confidence | vina | learned
    batch_size: int | None = None
    max_heavy_atoms: int = 150
    ligand_index: int | None = None  # record of a multi-molecule SDF/mol2 (1 = first; None: first, warned)
    keep_het: str = "auto"  # hetero groups in Vina's receptor: auto | none | all | "HEM,NAD,ZN" (data.hetero)
    progress: bool = False
    warnings: list[str] = field(default_factory=list)


RANKINGS = ("confidence", "vina", "learned")
DEFAULT_SITES = 4  # blind docking: predicted sites docked in (chosen on val_pocket, docs/benchmarks/blind_sites_val)
REFINEMENTS = ("none", "vina", "search")

# DockSettings field -> SamplingConfig field that supplies its default.
_FROM_CHECKPOINT = ("samples", "steps", "prior_temperature", "temperature", "ode", "refine", "rank",
                    "search_iterations", "search_chains", "random_starts", "search_keep")


def check_settings(settings: DockSettings) -> None:
    """ConfigError for a value no run can use; ``None`` (the checkpoint's) passes. The command line calls it
    before any work, :func:`resolve_settings` again on the resolved values."""
    for name in ("steps", "search_iterations", "search_chains", "batch_size"):
        value = getattr(settings, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name.replace('_', '-')}", f"must be at least 1, got {value}")
    for name in ("samples", "random_starts", "search_keep"):  # 0 samples: the search from random starts alone
        value = getattr(settings, name)
        if value is not None and value < 0:
            raise ConfigError(f"--{name.replace('_', '-')}", f"must be 0 or more, got {value}")
    # Judged on what is known: a caller that knows only --refine (the web form) gets the same answer early.
    if settings.samples == 0 and (settings.refine not in (None, "search") or settings.random_starts == 0):
        given = " and ".join(f"--{name.replace('_', '-')} {value}" for name, value in
                             (("refine", settings.refine), ("random_starts", settings.random_starts))
                             if value is not None)
        raise ConfigError("--samples", f"0 samples (the search from random starts alone) leaves no pose with {given}: "
                                       "give --samples N, or --refine search with --random-starts N")
    if settings.refine is not None and settings.refine not in REFINEMENTS:
        raise ConfigError("--refine", f"expected none, vina or search, got {settings.refine!r}")
    if settings.rank is not None and settings.rank not in RANKINGS:
        raise ConfigError("--rank", f"expected one of {', '.join(RANKINGS)}, got {settings.rank!r}")


def resolve_settings(settings: DockSettings, cfg: DockingConfig) -> DockSettings:
    """``settings`` with every ``None`` replaced by the checkpoint's recommendation; checks the values."""
    fill = {name: getattr(cfg.sampling, name) for name in _FROM_CHECKPOINT if getattr(settings, name) is None}
    if settings.pocket_radius is None:
        fill["pocket_radius"] = cfg.data.pocket_radius
    out = dataclasses.replace(settings, **fill)
    check_settings(out)
    return out
