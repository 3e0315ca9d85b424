"""discodock.models: the equivariant score network, the latent encoder and the AR prior for docking."""

from discodock.models.config import (
    EncoderConfig,
    FeatureDims,
    LatentConfig,
    ModelConfig,
    PriorConfig,
    ScoreNetConfig,
    TrunkConfig,
    load_model_config,
    with_latent,
)
from discodock.models.latent_encoder import LatentEncoder
from discodock.models.latents import codes_to_global, codes_to_latents, codes_to_local, item_batch
from discodock.models.prior import DockingPrior
from discodock.models.score_net import ScoreNet

__all__ = [
    "DockingPrior",
    "EncoderConfig",
    "FeatureDims",
    "LatentConfig",
    "LatentEncoder",
    "ModelConfig",
    "PriorConfig",
    "ScoreNet",
    "ScoreNetConfig",
    "TrunkConfig",
    "codes_to_global",
    "codes_to_latents",
    "codes_to_local",
    "item_batch",
    "load_model_config",
    "with_latent",
]
