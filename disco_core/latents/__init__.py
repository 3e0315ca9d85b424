"""disco_core.latents: discrete latents (straight-through Gumbel quantizers, dropout, encoders, monitoring)."""

from disco_core.latents.dropout import LatentDropout, drop_mask
from disco_core.latents.encoder import MLPEncoder
from disco_core.latents.quantize import (
    codebook_perplexity,
    codebook_usage,
    codes_to_onehot,
    gumbel_noise,
    gumbel_softmax_st,
    pointer_codes_to_onehot,
    pointer_perplexity,
    pointer_usage,
    quantize_global,
    quantize_pointer,
)
from disco_core.latents.segment import (
    segment_argmax,
    segment_log_softmax,
    segment_max,
    segment_mean,
    segment_softmax,
    segment_sum,
    to_dense,
)

__all__ = [
    "LatentDropout",
    "MLPEncoder",
    "codebook_perplexity",
    "codebook_usage",
    "codes_to_onehot",
    "drop_mask",
    "gumbel_noise",
    "gumbel_softmax_st",
    "pointer_codes_to_onehot",
    "pointer_perplexity",
    "pointer_usage",
    "quantize_global",
    "quantize_pointer",
    "segment_argmax",
    "segment_log_softmax",
    "segment_max",
    "segment_mean",
    "segment_softmax",
    "segment_sum",
    "to_dense",
]
