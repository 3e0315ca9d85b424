"""The joint distribution of a small global prior by enumeration, and draws from it by inverse CDF."""

from __future__ import annotations

import itertools

import torch

from disco_core.prior.ar_transformer import ARPrior


@torch.no_grad()
def prior_codes_by_inverse_cdf(
    prior: ARPrior, u: torch.Tensor, *, temperature: float = 1.0, max_sequences: int = 4096
) -> torch.Tensor:
    """Codes ``[n, m]`` from uniforms ``u`` ``[n]`` by inverse CDF of the prior's joint distribution.

    Enumerates all k^m token sequences (so only for small codebooks); with stratified or quasi-random
    ``u`` this draws codes in almost exactly their prior proportions. ``temperature`` tempers the joint
    (for m = 1 the same as tempering the token's logits).
    """
    if prior.k**prior.m > max_sequences:
        raise ValueError(f"k^m = {prior.k ** prior.m} sequences is too many to enumerate")
    seqs = torch.tensor(list(itertools.product(range(prior.k), repeat=prior.m)), dtype=torch.long)
    probs = (prior.log_prob(seqs) / temperature).softmax(0)
    cdf = probs.cumsum(0)
    idx = torch.searchsorted(cdf, u.to(cdf).contiguous()).clamp_max(len(seqs) - 1)
    return seqs[idx]

