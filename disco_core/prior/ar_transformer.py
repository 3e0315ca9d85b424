"""Autoregressive priors over discrete latents: p(z) = prod_j p(z_j | z_<j, context).

At inference there is no clean sample to encode, so a prior proposes the latents. It is trained by
cross-entropy on codes that the frozen encoder produced (DisCo-Diff, Xu et al. 2024).

* ``ARPrior``: global latents, m tokens of k codes, conditioned on a context vector.
* ``PointerARPrior``: pointer latents, each token an item of the example (its own variable-size
  vocabulary), scored by a pointer head (query . item key) masked to that example's items.

Both feed the sequence [start, z_0, ..., z_{m-2}] to a causal transformer; output j predicts z_j, so the
distribution of token j depends only on the context and tokens < j.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disco_core.latents.segment import num_segments, segment_count, segment_max, segment_mean, to_dense
from disco_core.prior.sampling import sample_categorical
from disco_core.prior.transformer import CausalTransformer


class ARPrior(nn.Module):
    """Causal transformer prior over m global latent tokens with k codes each.

    Args:
        m: number of latent tokens.
        k: codes per token.
        cond_dim: size of the context vector (0: unconditional).
        d_model, n_layers, n_heads, dropout: transformer size.
    """

    def __init__(
        self,
        *,
        m: int,
        k: int,
        cond_dim: int = 0,
        d_model: int = 128,
        n_layers: int = 2,
        n_heads: int = 4,
        dropout: float = 0.0,
    ):
        super().__init__()
        if m < 1 or k < 1:
            raise ValueError(f"need m >= 1 and k >= 1, got m={m}, k={k}")
        self.m, self.k, self.cond_dim = int(m), int(k), int(cond_dim)
        self.start = nn.Parameter(torch.zeros(d_model))
        self.cond_proj = nn.Linear(cond_dim, d_model) if cond_dim else None
        self.token_emb = nn.Embedding(k, d_model)
        self.pos_emb = nn.Parameter(torch.randn(m, d_model) * 0.02)
        self.transformer = CausalTransformer(
            d_model=d_model, n_layers=n_layers, n_heads=n_heads, dropout=dropout
        )
        self.head = nn.Linear(d_model, k)

    def _start_token(self, cond: Tensor | None, batch_size: int | None) -> Tensor:
        if self.cond_dim:
            if cond is None:
                raise ValueError(f"this prior needs a context vector of size {self.cond_dim}")
            cond = cond.reshape(cond.shape[0], -1)
            return self.start + self.cond_proj(cond.to(self.start.dtype))
        if cond is not None:
            raise ValueError("this prior was built with cond_dim=0 but was given a context vector")
        if batch_size is None:
            raise ValueError("an unconditional prior needs batch_size")
        return self.start.expand(batch_size, -1)

    def _hidden(self, prefix: Tensor, start: Tensor) -> Tensor:
        """Hidden states [B, L+1, d] for the sequence [start, prefix] (prefix [B, L] tokens, L < m)."""
        x = torch.cat([start[:, None], self.token_emb(prefix)], dim=1)
        return self.transformer(x + self.pos_emb[: x.shape[1]])

    def _check_tokens(self, tokens: Tensor) -> None:
        if tokens.dim() != 2 or tokens.shape[1] != self.m:
            raise ValueError(f"expected tokens [B, {self.m}], got shape {tuple(tokens.shape)}")

    def logits(self, tokens: Tensor, cond: Tensor | None = None) -> Tensor:
        """Teacher-forced logits [B, m, k]: entry j is the distribution of token j given tokens < j."""
        self._check_tokens(tokens)
        start = self._start_token(cond, tokens.shape[0])
        return self.head(self._hidden(tokens[:, :-1].long(), start))

    def log_prob(self, tokens: Tensor, cond: Tensor | None = None) -> Tensor:
        """log p(tokens | cond): [B]."""
        logp = self.logits(tokens, cond).log_softmax(-1)
        return logp.gather(-1, tokens.long()[..., None])[..., 0].sum(-1)

    def loss(self, tokens: Tensor, cond: Tensor | None = None) -> Tensor:
        """Mean cross-entropy per token (nats)."""
        logits = self.logits(tokens, cond)
        return F.cross_entropy(logits.reshape(-1, self.k), tokens.long().reshape(-1))

    @torch.no_grad()
    def sample(
        self,
        cond: Tensor | None = None,
        *,
        batch_size: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Draw tokens [B, m] one at a time (B from ``cond``, or ``batch_size`` when unconditional)."""
        start = self._start_token(cond, batch_size)
        tokens = torch.zeros(start.shape[0], 0, dtype=torch.long, device=start.device)
        for _ in range(self.m):
            logits = self.head(self._hidden(tokens, start)[:, -1])
            nxt = sample_categorical(logits, temperature=temperature, top_k=top_k, generator=generator)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        return tokens


class PointerARPrior(nn.Module):
    """Causal transformer prior over m pointer latents; each token is one item of the example.

    Items arrive packed as ``item_emb`` [N, item_dim] with example index ``batch`` [N]. The items are
    pooled (mean and max) into the start token; token j's input is the embedding of the item chosen by
    latent j; output j is a query whose dot product with every item key of that example gives the
    logits of latent j, normalised over that example's items only.

    Args:
        m: number of pointer latents.
        item_dim: size of the per-item embeddings.
        d_model, n_layers, n_heads, dropout: transformer size.
    """

    def __init__(
        self,
        *,
        m: int,
        item_dim: int,
        d_model: int = 128,
        n_layers: int = 2,
        n_heads: int = 4,
        dropout: float = 0.0,
    ):
        super().__init__()
        if m < 1:
            raise ValueError(f"need m >= 1, got {m}")
        self.m, self.item_dim, self.d_model = int(m), int(item_dim), int(d_model)
        self.item_proj = nn.Sequential(nn.Linear(item_dim, d_model), nn.SiLU(), nn.Linear(d_model, d_model))
        self.context = nn.Sequential(nn.Linear(2 * d_model, d_model), nn.SiLU(), nn.Linear(d_model, d_model))
        self.start = nn.Parameter(torch.zeros(d_model))
        self.pos_emb = nn.Parameter(torch.randn(m, d_model) * 0.02)
        self.transformer = CausalTransformer(
            d_model=d_model, n_layers=n_layers, n_heads=n_heads, dropout=dropout
        )
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)

    def _encode_items(self, item_emb: Tensor, batch: Tensor, num_examples: int | None):
        if item_emb.dim() != 2 or item_emb.shape[1] != self.item_dim:
            raise ValueError(f"expected item embeddings [N, {self.item_dim}], got {tuple(item_emb.shape)}")
        b = num_segments(batch, num_examples)
        if b and bool((segment_count(batch, b) == 0).any()):
            raise ValueError("every example needs at least one item")
        h = self.item_proj(item_emb.to(self.start.dtype))
        pooled = torch.cat([segment_mean(h, batch, b), segment_max(h, batch, b)], dim=-1)
        start = self.start + self.context(pooled)
        keys, mask, index = to_dense(self.key(h), batch, b)
        return h, start, keys, mask, index

    def _hidden(self, h: Tensor, start: Tensor, prefix: Tensor) -> Tensor:
        """Hidden states [B, L+1, d] for [start, items chosen by ``prefix``] (prefix [B, L] global indices)."""
        x = torch.cat([start[:, None], h[prefix]], dim=1)
        return self.transformer(x + self.pos_emb[: x.shape[1]])

    def _scores(self, hidden: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
        """Pointer logits [B, L, width]: query . key / sqrt(d), -inf on padding slots (``mask`` [B, width] or
        per latent [B, L, width])."""
        scores = torch.einsum("bld,bnd->bln", self.query(hidden), keys) / math.sqrt(self.d_model)
        return scores.masked_fill(~(mask if mask.dim() == 3 else mask[:, None, :]), float("-inf"))

    def _allowed_dense(self, allowed: Tensor | None, batch: Tensor, mask: Tensor) -> Tensor:
        """Per-latent slot mask [B, m, width]: padding and items a latent may not pick are False."""
        if allowed is None:
            return mask[:, None, :].expand(-1, self.m, -1)
        if allowed.shape != (batch.numel(), self.m):
            raise ValueError(f"allowed must be [N, {self.m}], got {tuple(allowed.shape)}")
        dense, _, _ = to_dense(allowed.to(torch.float32), batch, mask.shape[0])
        return (dense > 0.5).transpose(1, 2) & mask[:, None, :]

    def _check_codes(self, codes: Tensor, batch: Tensor) -> None:
        if codes.dim() != 2 or codes.shape[1] != self.m:
            raise ValueError(f"expected codes [B, {self.m}], got shape {tuple(codes.shape)}")
        owner = batch[codes]
        rows = torch.arange(codes.shape[0], device=codes.device)[:, None]
        if not bool((owner == rows).all()):
            raise ValueError("a pointer code points at an item of another example")

    def logits(
        self, codes: Tensor, item_emb: Tensor, batch: Tensor, *, num_examples: int | None = None,
        allowed: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Teacher-forced pointer logits in dense form.

        ``allowed`` [N, m] bool, optional: the items latent j may pick (e.g. a ligand atom for the first).
        Returns ``logits`` [B, m, width] (-inf on padding and disallowed items) and ``index`` [B, width]: the
        global item index of each slot (-1 on padding). Entry j depends only on items and codes < j.
        """
        h, start, keys, mask, index = self._encode_items(item_emb, batch, num_examples or codes.shape[0])
        self._check_codes(codes, batch)
        hidden = self._hidden(h, start, codes[:, :-1].long())
        return self._scores(hidden, keys, self._allowed_dense(allowed, batch, mask)), index

    def log_prob(
        self, codes: Tensor, item_emb: Tensor, batch: Tensor, *, num_examples: int | None = None,
        allowed: Tensor | None = None,
    ) -> Tensor:
        """log p(codes | items): [B]; ``codes`` [B, m] are global item indices."""
        logits, index = self.logits(codes, item_emb, batch, num_examples=num_examples, allowed=allowed)
        logp = logits.log_softmax(-1)
        # Slot of each chosen item in its example's dense row.
        slot = torch.empty(batch.numel(), dtype=torch.long, device=batch.device)
        valid = index >= 0
        slot[index[valid]] = valid.nonzero()[:, 1]
        return logp.gather(-1, slot[codes.long()][..., None])[..., 0].sum(-1)

    def loss(
        self, codes: Tensor, item_emb: Tensor, batch: Tensor, *, num_examples: int | None = None
    ) -> Tensor:
        """Mean cross-entropy per latent (nats)."""
        return -self.log_prob(codes, item_emb, batch, num_examples=num_examples).mean() / self.m

    @torch.no_grad()
    def sample(
        self,
        item_emb: Tensor,
        batch: Tensor,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
        num_examples: int | None = None,
        allowed: Tensor | None = None,
    ) -> Tensor:
        """Draw codes [B, m] (global item indices, each inside its own example) one latent at a time;
        ``allowed`` as in :meth:`logits`."""
        h, start, keys, mask, index = self._encode_items(item_emb, batch, num_examples)
        per_latent = self._allowed_dense(allowed, batch, mask)
        codes = torch.zeros(start.shape[0], 0, dtype=torch.long, device=start.device)
        for j in range(self.m):
            hidden = self._hidden(h, start, codes)[:, -1:]
            scores = self._scores(hidden, keys, per_latent[:, j])[:, 0]
            slot = sample_categorical(
                scores, temperature=temperature, top_k=top_k, generator=generator, mask=per_latent[:, j]
            )
            codes = torch.cat([codes, index.gather(1, slot[:, None])], dim=1)
        return codes
