"""The docking AR prior: predicts the latents from the protein and the ligand graph, without the crystal pose.

An invariant graph encoder (the trunk, no noise level) reads the complex with the ligand as an RDKit
conformer placed at the site (pocket mode) or the protein centre (blind mode) in a random orientation;
the caller builds the batch with those positions. Its rotation-invariant node features become per-item
embeddings for :class:`disco_core.prior.PointerARPrior` (pointer latents), or are pooled into a context
vector for :class:`disco_core.prior.ARPrior` (global latents). Trained by cross-entropy on codes cached
from the frozen encoder.
"""

from __future__ import annotations

import torch
from disco_core.prior import ARPrior, PointerARPrior
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.models.config import ModelConfig
from discodock.models.latent_encoder import run_unconditioned_trunk
from discodock.models.latents import LatentDict, codes_to_latents, item_batch, num_graphs, pointer_allowed
from discodock.models.layers import mlp
from discodock.models.trunk import ComplexTrunk


class DockingPrior(nn.Module):
    """p(codes | protein, ligand graph), autoregressive over the m latents.

    Args:
        cfg: model config; uses ``cfg.prior`` (sizes), ``cfg.latent`` (mode, m, k), ``cfg.features``.

    Pointer codes are global item indices of the batch (ligand atoms first, then residues; see
    :mod:`discodock.models.latents`); global codes are in [0, k).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if not cfg.latent.active:
            raise ValueError("a prior needs latents (latent mode 'pointer' or 'global' with m > 0)")
        self.cfg = cfg
        pc, latent = cfg.prior, cfg.latent
        self.mode = latent.mode
        self.trunk = ComplexTrunk(pc, features=cfg.features, invariant_output=True)
        n_inv = self.trunk.num_invariant
        transformer = dict(d_model=pc.d_model, n_layers=pc.n_layers, n_heads=pc.n_heads)
        if self.mode == "pointer":
            self.lig_item = mlp(n_inv, pc.ns, pc.item_dim)
            self.rec_item = mlp(n_inv, pc.ns, pc.item_dim)
            self.ar: nn.Module = PointerARPrior(m=latent.m, item_dim=pc.item_dim, **transformer)
        else:
            self.context = mlp(2 * n_inv, 2 * pc.ns, pc.item_dim)
            self.ar = ARPrior(m=latent.m, k=latent.k, cond_dim=pc.item_dim, **transformer)

    def embed(self, batch: HeteroData) -> tuple[Tensor, Tensor | None]:
        """Pointer: item embeddings [N + R, item_dim] and the item batch; global: context [B, item_dim], None."""
        out = run_unconditioned_trunk(self.trunk, batch, batch[K.LIGAND][K.POS])
        if self.mode == "pointer":
            lig, rec = out.invariants()
            return torch.cat([self.lig_item(lig), self.rec_item(rec)], dim=0), item_batch(batch)
        return self.context(out.pooled()), None

    def log_prob(self, batch: HeteroData, codes: Tensor) -> Tensor:
        """log p(codes | complex): [B]."""
        emb, items = self.embed(batch)
        if self.mode == "pointer":
            return self.ar.log_prob(codes, emb, items, num_examples=num_graphs(batch),
                                    allowed=pointer_allowed(batch, self.cfg.latent))
        return self.ar.log_prob(codes, emb)

    def loss(self, batch: HeteroData, codes: Tensor) -> Tensor:
        """Mean cross-entropy per latent (nats)."""
        return -self.log_prob(batch, codes).mean() / self.cfg.latent.m

    @torch.no_grad()
    def sample(
        self,
        batch: HeteroData,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Draw codes [B, m], one latent at a time (temperature > 1 flattens, 0 takes the argmax)."""
        emb, items = self.embed(batch)
        if self.mode == "pointer":
            return self.ar.sample(
                emb, items, temperature=temperature, top_k=top_k, generator=generator, num_examples=num_graphs(batch),
                allowed=pointer_allowed(batch, self.cfg.latent),
            )
        return self.ar.sample(emb, temperature=temperature, top_k=top_k, generator=generator)

    def to_latents(self, batch: HeteroData, codes: Tensor) -> LatentDict | None:
        """The score net's latents dict for ``codes`` (all examples kept)."""
        return codes_to_latents(batch, codes, latent=self.cfg.latent)
