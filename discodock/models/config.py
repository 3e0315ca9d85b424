"""Model sizes and settings as dataclasses, with named presets and a YAML loader.

A docking config file has a top-level ``model:`` mapping (training and data sections live beside it):

.. code-block:: yaml

    model:
      latent: {mode: pointer, m: 2, dropout: 0.1}
      score: {ns: 16, nv: 4, num_layers: 4, sh_lmax: 1}
      encoder: {ns: 8, nv: 2, num_layers: 2}
      prior: {ns: 8, nv: 2, num_layers: 2, d_model: 64}

Missing keys take the defaults below. The presets (``tiny``, ``cpu``, ``cpu_site``, ``diffdock_s``, ``diffdock``
...) are whole docking configs packaged as ``discodock/configs/<name>.yaml``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disco_core.config import from_dict, load_yaml
from discodock.errors import ConfigError

LATENT_MODES = ("none", "pointer", "global")


@dataclass
class LatentConfig:
    """Discrete latents shared by the score network, the encoder and the prior.

    ``mode``: "none" (plain DiffDock), "pointer" (each of ``m`` latents picks one node of the complex) or
    "global" (``m`` latents of ``k`` codes each). ``m = 0`` also means no latents. ``dropout``: probability
    that an example's latents are dropped in training (labels zeroed, a learned null embedding added).
    """

    mode: str = "pointer"
    m: int = 2
    k: int = 0
    dropout: float = 0.1
    # "any": each pointer latent may pick any node; "contact": the first picks a ligand atom and the others
    # receptor residues, so together they name a contact (which atom sits where) rather than only a place.
    pointer_targets: str = "any"

    def __post_init__(self) -> None:
        if self.mode not in LATENT_MODES:
            raise ConfigError(None, f"latent mode must be one of {', '.join(LATENT_MODES)}, got {self.mode!r}")
        if self.m < 0:
            raise ConfigError(None, f"latent m must be >= 0, got {self.m}")
        if self.mode == "global" and self.m > 0 and self.k < 1:
            raise ConfigError(None, f"global latents need k >= 1 codes per latent, got k={self.k}")
        if not 0.0 <= self.dropout <= 1.0:
            raise ConfigError(None, f"latent dropout must be in [0, 1], got {self.dropout}")
        if self.pointer_targets not in ("any", "contact"):
            raise ConfigError(None, f"pointer_targets must be 'any' or 'contact', got {self.pointer_targets!r}")
        if self.pointer_targets == "contact" and self.mode == "pointer" and self.m < 2:
            raise ConfigError(None, "contact pointer latents need m >= 2 (a ligand atom and a residue)")

    @property
    def active(self) -> bool:
        """True when the networks are conditioned on latents."""
        return self.mode != "none" and self.m > 0


def _ligand_dim() -> int:
    from discodock.data.featurize import LIGAND_FEATURE_DIM

    return LIGAND_FEATURE_DIM


def _bond_dim() -> int:
    from discodock.data.featurize import BOND_FEATURE_DIM

    return BOND_FEATURE_DIM


def _receptor_atom_dim() -> int:
    from discodock.data.receptor_atoms import ATOM_FEATURE_DIM

    return ATOM_FEATURE_DIM


def _residue_dim() -> int:
    from discodock.data.featurize import RESIDUE_FEATURE_DIM

    return RESIDUE_FEATURE_DIM


@dataclass
class FeatureDims:
    """Widths of the input features (defaults: those of ``discodock.data.featurize``).

    ``receptor_emb``: width of the optional per-residue embedding ``EMB`` (0: not used).
    """

    ligand: int = field(default_factory=_ligand_dim)
    bond: int = field(default_factory=_bond_dim)
    receptor: int = field(default_factory=_residue_dim)
    receptor_emb: int = 0
    receptor_atom: int = field(default_factory=_receptor_atom_dim)


@dataclass
class TrunkConfig:
    """The equivariant graph network over ligand atoms and receptor residues.

    Channels: ``ns`` scalars (and pseudo-scalars), ``nv`` vectors per irrep type with l >= 1, spherical
    harmonics up to ``sh_lmax`` (1 or 2). Distances in Angstrom: ligand radius graph ``ligand_radius``
    (at most ``ligand_max_neighbors`` per atom); receptor edges come precomputed with the data and
    ``receptor_radius`` only sets the range of their radial basis; ligand-receptor cross edges within
    ``cross_base + cross_per_sigma * sigma_tr`` of each other (at most ``cross_max_neighbors`` residues per
    ligand atom, None: no cap), radial basis up to ``cross_rbf_max``. ``backbone_vectors``: give each
    residue its N - CA and C - CA vectors as input vector features; ``sidechain_vectors`` adds its
    side-chain centroid - CA. ``site_features``: every node also gets the radial basis of its distance to
    the binding site (POCKET_CENTER, up to ``site_rbf_max`` Angstrom) and each residue the vector from its
    C-alpha to the site, so the network knows where the user said the ligand binds. ``pocket_atoms``: the
    receptor heavy atoms near the site (data.pocket_atoms) are nodes too (:mod:`discodock.models.pocket_atoms`):
    ligand-atom edges within ``atom_cross_radius`` (at most ``atom_cross_max_neighbors`` atoms per ligand atom),
    atom-atom and atom-residue edges from the data, radial basis up to ``atom_rbf_max``.
    """

    ns: int = 16
    nv: int = 4
    num_layers: int = 3
    sh_lmax: int = 1
    num_radial: int = 32
    ligand_radius: float = 5.0
    ligand_max_neighbors: int = 24
    receptor_radius: float = 15.0
    cross_base: float = 20.0
    cross_per_sigma: float = 3.0
    cross_max_neighbors: int | None = None
    cross_rbf_max: float = 60.0
    backbone_vectors: bool = True
    sidechain_vectors: bool = False
    site_features: bool = False
    site_rbf_max: float = 20.0
    pocket_atoms: bool = False
    atom_cross_radius: float = 6.0
    atom_cross_max_neighbors: int | None = 16
    atom_rbf_max: float = 8.0
    norm: str = "layer"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.sh_lmax not in (1, 2):
            raise ConfigError(None, f"sh_lmax must be 1 or 2, got {self.sh_lmax}")
        if self.ns < 1 or self.nv < 0 or self.num_layers < 1:
            raise ConfigError(None, f"need ns >= 1, nv >= 0, num_layers >= 1 (got {self.ns}, {self.nv}, {self.num_layers})")
        if self.norm not in ("layer", "none"):
            raise ConfigError(None, f"norm must be 'layer' or 'none', got {self.norm!r}")


@dataclass
class ScoreNetConfig(TrunkConfig):
    """Score network: the trunk plus its noise-level embedding and output heads.

    ``sigma_embed_dim``: sinusoidal features per pose component (three components). ``center_rbf_max``:
    range (Angstrom) of the radial basis of atom-to-centre distances in the translation/rotation head;
    ``tor_radius``: atoms within this distance of a rotatable bond's centre feed its torsion score;
    ``tor_edge_lmax``: spherical-harmonic degree of a neighbour's direction in the torsion head. With 2, the
    head can form the sign-free torque ``w . (d x a)(a . d)`` of a neighbour's vector feature ``w`` about the
    bond axis ``a`` directly; with 1 (checkpoints before 2026-11-28) a torsion's pseudo-scalar must come from
    the trunk's few pseudo-vector channels, and the torsion loss did not fall. ``tor_fourier``: the torsion
    score also gets ``c + sum_k a_k cos(k phi) + b_k sin(k phi)``, k = 1..tor_fourier, where phi is the bond's
    dihedral angle and the coefficients come from the bond's invariant features: the derivative of a
    torsion potential whose shape the chemistry and the pocket set (0: no such term). ``contact_pull``
    (contact latents only): the translation and rotation scores also get learned gains times the vector
    from the picked ligand atom to the picked residue's side-chain centroid, and times the torque that
    vector exerts about the ligand centre, so a contact latent can say how to move and turn the ligand
    without a detour through the trunk's message passing.
    """

    num_layers: int = 4
    sigma_embed_dim: int = 16
    center_rbf_max: float = 30.0
    tor_radius: float = 5.0
    tor_edge_lmax: int = 2
    tor_fourier: int = 3
    contact_pull: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tor_edge_lmax not in (1, 2):
            raise ConfigError(None, f"tor_edge_lmax must be 1 or 2, got {self.tor_edge_lmax}")
        if self.tor_fourier < 0:
            raise ConfigError(None, f"tor_fourier must be >= 0, got {self.tor_fourier}")


@dataclass
class EncoderConfig(TrunkConfig):
    """Latent encoder over the crystal complex (no noise level: cross edges within ``cross_base``)."""

    ns: int = 8
    nv: int = 2
    num_layers: int = 2
    num_radial: int = 16
    cross_per_sigma: float = 0.0


@dataclass
class PriorConfig(EncoderConfig):
    """AR prior: an invariant graph encoder (the encoder-sized trunk) feeding a causal transformer.

    ``item_dim``: per-item (pointer) or context (global) embedding width; ``d_model``, ``n_layers``,
    ``n_heads``: the transformer.
    """

    item_dim: int = 32
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4


@dataclass
class ModelConfig:
    """Everything needed to build the score network, the latent encoder and the prior."""

    latent: LatentConfig = field(default_factory=LatentConfig)
    features: FeatureDims = field(default_factory=FeatureDims)
    score: ScoreNetConfig = field(default_factory=ScoreNetConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)

    def __post_init__(self) -> None:
        contact = self.latent.active and self.latent.mode == "pointer" and self.latent.pointer_targets == "contact"
        if self.score.contact_pull and not contact:
            raise ConfigError(None, "score.contact_pull needs contact latents (latent.mode: pointer, "
                                    "pointer_targets: contact)")


def preset_dir() -> Path:
    """The packaged preset configs, ``discodock/configs/<name>.yaml``: the one place presets live."""
    return Path(__file__).resolve().parents[1] / "configs"


def preset_names() -> list[str]:
    return sorted(p.stem for p in preset_dir().glob("*.yaml"))


def preset_path(path_or_name: str | Path) -> Path:
    """A config file path as given, or a preset name (``tiny``, ``cpu``, ...) resolved to its packaged YAML.

    Raises:
        ConfigError: an unknown preset name or a missing file.
    """
    text = str(path_or_name)
    if text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_file():
            raise ConfigError(path, "config file not found")
        return path
    path = preset_dir() / f"{text}.yaml"
    if not path.is_file():
        raise ConfigError(text, f"unknown config; presets are {', '.join(preset_names())}")
    return path


def model_config_from_dict(data: dict[str, Any] | None, *, source: str | Path | None = None) -> ModelConfig:
    """Build a :class:`ModelConfig` from a ``model:`` mapping; bad keys or values raise ConfigError."""
    if data is not None and not isinstance(data, dict):
        raise ConfigError(source, "the 'model' section must be a mapping")
    try:
        return from_dict(ModelConfig, data)
    except ConfigError as err:
        raise ConfigError(source, err.problem) from None
    except (TypeError, ValueError) as err:
        raise ConfigError(source, str(err)) from None


def load_model_config(path_or_name: str | Path) -> ModelConfig:
    """The ``model:`` section of a YAML file or of a packaged preset (a file without one gives the defaults)."""
    path = preset_path(path_or_name)
    try:
        data = load_yaml(path)
    except Exception as err:  # yaml errors carry multi-line messages; keep one line
        raise ConfigError(path, f"not a valid YAML file ({type(err).__name__})") from None
    return model_config_from_dict(data.get("model"), source=path)


def with_latent(cfg: ModelConfig, **changes: Any) -> ModelConfig:
    """A copy of ``cfg`` with latent settings changed (e.g. ``mode="none"`` for the m = 0 ablation)."""
    return dataclasses.replace(cfg, latent=dataclasses.replace(cfg.latent, **changes))
