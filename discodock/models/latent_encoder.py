"""The DisCo-Diff latent encoder for docking: reads the crystal complex, outputs discrete latents.

A smaller copy of the score network's trunk (no noise level) runs over the complex with the ligand at its
crystal pose. Its rotation-invariant node features give, per latent, one logit per node (pointer latents:
each latent picks a ligand atom or a residue) or, pooled per complex, m x k logits (global latents). The
latents are quantised with the straight-through Gumbel-softmax of :mod:`disco_core.latents` and trained
end to end through the score loss.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from disco_core.latents import drop_mask, quantize_global, quantize_pointer
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from discodock.data.pocket import crystal_pose
from discodock.models.config import ModelConfig
from discodock.models.latents import LatentDict, item_batch, num_graphs, onehot_to_latents, pointer_allowed
from discodock.models.layers import mlp
from discodock.models.trunk import ComplexTrunk, TrunkOutput


class EncoderLogits(NamedTuple):
    """Pointer mode: ``logits`` [N + R, m] and ``item_batch`` [N + R]; global mode: [B, m, k] and None."""

    logits: Tensor
    item_batch: Tensor | None


def run_unconditioned_trunk(trunk: ComplexTrunk, batch: HeteroData, lig_pos: Tensor) -> TrunkOutput:
    """The trunk with no noise level and no latents, cross edges within ``cross_base``."""
    b = num_graphs(batch)
    cutoff = torch.full((b,), trunk.cfg.cross_base, dtype=lig_pos.dtype, device=lig_pos.device)
    return trunk(batch, lig_pos=lig_pos, cross_cutoff=cutoff)


class LatentEncoder(nn.Module):
    """Crystal complex -> latent logits, and quantised latents for the score network.

    Args:
        cfg: model config; uses ``cfg.encoder`` (sizes), ``cfg.latent`` (mode, m, k), ``cfg.features``.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if not cfg.latent.active:
            raise ValueError("a latent encoder needs latents (latent mode 'pointer' or 'global' with m > 0)")
        self.cfg = cfg
        self.mode, self.m, self.k = cfg.latent.mode, cfg.latent.m, cfg.latent.k
        self.trunk = ComplexTrunk(cfg.encoder, features=cfg.features, invariant_output=True)
        n_inv = self.trunk.num_invariant
        ns = cfg.encoder.ns
        if self.mode == "pointer":
            # Separate heads: atoms and residues are different kinds of items.
            self.lig_head = mlp(n_inv, ns, self.m)
            self.rec_head = mlp(n_inv, ns, self.m)
        else:
            self.head = mlp(2 * n_inv, 2 * ns, self.m * self.k)

    def forward(self, batch: HeteroData, *, ligand_pos: Tensor | None = None) -> EncoderLogits:
        """Latent logits of the complex(es).

        Args:
            batch: complex graph(s).
            ligand_pos: [N, 3] ligand pose to read; default :func:`discodock.data.pocket.crystal_pose`.
        """
        pos = crystal_pose(batch) if ligand_pos is None else ligand_pos
        out = run_unconditioned_trunk(self.trunk, batch, pos)
        if self.mode == "pointer":
            lig, rec = out.invariants()
            logits = torch.cat([self.lig_head(lig), self.rec_head(rec)], dim=0)
            allowed = pointer_allowed(batch, self.cfg.latent)
            if allowed is not None:
                logits = logits.masked_fill(~allowed, float("-inf"))
            return EncoderLogits(logits, item_batch(batch))
        return EncoderLogits(self.head(out.pooled()).view(-1, self.m, self.k), None)

    def encode(
        self,
        batch: HeteroData,
        *,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        sample: bool = True,
        p_drop: float = 0.0,
        ligand_pos: Tensor | None = None,
    ) -> LatentDict:
        """Quantised latents as the score net's latents dict, plus ``"codes"`` [B, m].

        Args:
            temperature: Gumbel-softmax temperature (1 in training).
            generator: source of the Gumbel noise and of the dropout draws.
            sample: False for the deterministic argmax (e.g. to cache codes for the prior).
            p_drop: probability of dropping each example's latents (``keep`` False); the training loop
                passes ``cfg.latent.dropout``.
            ligand_pos: as in :meth:`forward`.

        Pointer codes are global item indices (see :mod:`discodock.models.latents`).
        """
        logits, items = self(batch, ligand_pos=ligand_pos)
        b = num_graphs(batch)
        if self.mode == "pointer":
            onehot, codes = quantize_pointer(
                logits, items, temperature=temperature, generator=generator, sample=sample, num_examples=b
            )
        else:
            onehot, codes = quantize_global(logits, temperature=temperature, generator=generator, sample=sample)
        keep = (
            drop_mask(b, p=p_drop, generator=generator, device=logits.device)
            if p_drop > 0
            else torch.ones(b, dtype=torch.bool, device=logits.device)
        )
        latents = onehot_to_latents(batch, onehot, mode=self.mode, keep=keep)
        latents["codes"] = codes
        return latents
